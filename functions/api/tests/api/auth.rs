//! Sign-up, confirmation, log-in, tokens and throttling through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::json;
use support::{App, PASSWORD};

#[tokio::test]
async fn signup_confirm_login_and_profile() {
    let app = App::new();
    let r = app.post("/api/auth/signup", None, json!({"company_name": "Рога и копыта", "email": "Owner@Roga.ru", "password": PASSWORD, "full_name": "Остап Бендер", "time_zone": "Europe/Moscow"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["confirmation_sent_to"], "owner@roga.ru");
    // Before confirmation, log-in is refused with a reason.
    let early = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "owner@roga.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::FORBIDDEN, "email_not_confirmed")
    );

    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("To: owner@roga.ru")
            && mails[0].contains("http://app.test/confirm?token=")
    );
    let token = mails[0]
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let c = app
        .post("/api/auth/confirm", None, json!({ "token": token }))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    // The link works once.
    let again = app
        .post("/api/auth/confirm", None, json!({ "token": token }))
        .await;
    assert_eq!(
        (again.status, again.code(), again.field()),
        (StatusCode::BAD_REQUEST, "invalid_token", "token")
    );

    let s = app.login("OWNER@roga.ru ", PASSWORD).await;
    let me = app.get("/api/me", &s.access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["full_name"].as_str(), me.body["role"].as_str()),
        (Some("Остап Бендер"), Some("administrator"))
    );
    assert_eq!(me.body["time_zone"], "Europe/Moscow");
    assert!(me.body.get("password_hash").is_none());
    let company = app.get("/api/company", &s.access).await;
    assert_eq!(company.body["name"], "Рога и копыта");

    let p = app
        .patch(
            "/api/me",
            &s.access,
            json!({"time_zone": null, "support_phone": "+7 (495) 123-45-67"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["time_zone"], serde_json::Value::Null);
    assert_eq!(p.body["full_name"], "Остап Бендер");
    let bad = app
        .patch("/api/me", &s.access, json!({"time_zone": "Moscow/Kremlin"}))
        .await;
    assert_eq!(
        (bad.status, bad.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "time_zone")
    );
}

#[tokio::test]
async fn signup_rejects_bad_input_and_changes_nothing() {
    let app = App::new();
    let cases = [
        (
            json!({"company_name": "A", "email": "a@a.ru", "password": "secret123"}),
            "password",
            "upper-case",
        ),
        (
            json!({"company_name": "A", "email": "a@a.ru", "password": "Short1"}),
            "password",
            "at least 8",
        ),
        (
            json!({"company_name": "A", "email": "not-an-email", "password": PASSWORD}),
            "email",
            "not an e-mail",
        ),
        (
            json!({"company_name": "   ", "email": "a@a.ru", "password": PASSWORD}),
            "company_name",
            "empty",
        ),
        (
            json!({"company_name": "A", "email": "a@a.ru", "password": PASSWORD, "time_zone": "UTC+3"}),
            "time_zone",
            "IANA",
        ),
    ];
    for (body, field, words) in cases {
        let r = app.post("/api/auth/signup", None, body).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{:?}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(words),
            "{:?}",
            r.body
        );
    }
    assert!(app.mails().is_empty());
    let no_user = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "a@a.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(no_user.code(), "invalid_credentials");

    app.company("boss@acme.ru").await;
    let dup = app
        .post(
            "/api/auth/signup",
            None,
            json!({"company_name": "B", "email": "BOSS@acme.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.code(), dup.field()),
        (StatusCode::CONFLICT, "email_taken", "email")
    );
    assert_eq!(app.mails().len(), 1, "no second confirmation mail");
}

#[tokio::test]
async fn tokens_missing_forged_expired_and_wrong_audience_are_refused() {
    let app = App::new();
    let s = app.company("boss@acme.ru").await;
    assert_eq!(app.get("/api/me", &s.access).await.status, StatusCode::OK);

    let none = app.call(Method::GET, "/api/me", None, None).await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let garbage = app.get("/api/me", "garbage").await;
    assert_eq!(
        (garbage.status, garbage.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Same claims, signed with another key.
    let parts: Vec<&str> = s.access.split('.').collect();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let sign = |alg: jsonwebtoken::Algorithm, key: &[u8], claims: &serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let forged = sign(
        jsonwebtoken::Algorithm::HS256,
        b"another-secret-another-secret-another",
        &claims,
    );
    let r = app.get("/api/me", &forged).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
    // The right key but another algorithm: the algorithm is pinned.
    let other_alg = sign(jsonwebtoken::Algorithm::HS512, support::SECRET, &claims);
    let r = app.get("/api/me", &other_alg).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    // "alg": "none" with no signature.
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let r = app.get("/api/me", &format!("{header}.{}.", parts[1])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Wrong audience, and a token claiming another tenant: signed correctly, still refused.
    let mut aud = claims.clone();
    aud["aud"] = json!("someone-else");
    let r = app
        .get(
            "/api/me",
            &sign(jsonwebtoken::Algorithm::HS256, support::SECRET, &aud),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let mut other_tenant = claims.clone();
    other_tenant["tid"] = json!("01SOMEOTHERTENANT");
    let r = app
        .get(
            "/api/me",
            &sign(
                jsonwebtoken::Algorithm::HS256,
                support::SECRET,
                &other_tenant,
            ),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Expiry, on the virtual clock.
    app.clock.advance(15 * 60 * 1000);
    let r = app.get("/api/me", &s.access).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    // The refresh token still gives a new access token.
    let r = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.get("/api/me", r.body["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_logout_revokes() {
    let app = App::new();
    let s = app.company("boss@acme.ru").await;
    let r1 = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK);
    let next = r1.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(next, s.refresh);
    // The used token is dead.
    let reuse = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(
        (reuse.status, reuse.code()),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );
    let out = app
        .post("/api/auth/logout", None, json!({"refresh_token": next}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app
        .post("/api/auth/refresh", None, json!({"refresh_token": next}))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    for junk in ["", "x.y", "T.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = app
            .post("/api/auth/refresh", None, json!({"refresh_token": junk}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{junk}");
    }
}

#[tokio::test]
async fn login_is_throttled_after_repeated_failures() {
    let app = App::new();
    app.company("boss@acme.ru").await;
    for _ in 0..5 {
        let r = app
            .post(
                "/api/auth/login",
                None,
                json!({"email": "boss@acme.ru", "password": "Wrong1234"}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
    // Locked: even the right password waits, and the answer says how long.
    let r = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "boss@acme.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    // Other accounts are not affected.
    let other = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "nobody@acme.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(15 * 60 * 1000);
    app.login("boss@acme.ru", PASSWORD).await;
}

#[tokio::test]
async fn password_change_revokes_sessions() {
    let app = App::new();
    let s = app.company("boss@acme.ru").await;
    let wrong = app
        .post(
            "/api/me/password",
            Some(&s.access),
            json!({"current_password": "Nope12345", "new_password": "Better123"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "current_password")
    );
    let weak = app
        .post(
            "/api/me/password",
            Some(&s.access),
            json!({"current_password": PASSWORD, "new_password": "weak"}),
        )
        .await;
    assert_eq!(
        (weak.status, weak.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "new_password")
    );
    let ok = app
        .post(
            "/api/me/password",
            Some(&s.access),
            json!({"current_password": PASSWORD, "new_password": "Better123"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    let r = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let old = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "boss@acme.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login("boss@acme.ru", "Better123").await;
}
