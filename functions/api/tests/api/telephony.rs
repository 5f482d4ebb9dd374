//! Telephony set-up through the router: the company's trunk and agents' SIP accounts (B2).

use crate::support;

use axum::http::{Method, StatusCode};
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{TrunkReach, TrunkStatus};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{App, Resp};

const TRUNK_PASSWORD: &str = "Tr0nk-Secret!";

fn trunk(version: u64) -> Value {
    json!({
        "enabled": true,
        "name": "Main line",
        "number": "8 495 123-45-67",
        "host": "sip.carrier.example",
        "transport": "udp",
        "login": "0012345",
        "register": true,
        "password": TRUNK_PASSWORD,
        "version": version
    })
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

async fn put_trunk(app: &App, token: &str, body: Value) -> Resp {
    app.call(Method::PUT, "/api/company/trunk", Some(token), Some(body))
        .await
}

fn no_password(r: &Resp) {
    let text = r.body.to_string();
    assert!(!text.contains(TRUNK_PASSWORD), "password leaked: {text}");
    assert!(r.body["trunk"].get("password").is_none());
}

async fn tenant_of(app: &App, email: &str) -> TenantId {
    app.state
        .repos
        .users
        .find_login(email)
        .await
        .unwrap()
        .unwrap()
        .tenant
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn trunk_round_trip_keeps_the_password_and_shows_the_status() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let t = tenant_of(&app, "boss@acme.ru").await;

    let r = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"configured": false, "trunk": null, "status": null, "reach": null, "version": 0})
    );

    // The number typed the local way is stored in E.164; the port follows the transport.
    let r = put_trunk(&app, &admin.access, trunk(0)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    no_password(&r);
    assert_eq!(r.body["configured"], true);
    assert_eq!(r.body["trunk"]["number"], "+74951234567");
    assert_eq!(r.body["trunk"]["port"], 5060);
    assert_eq!(r.body["trunk"]["domain"], "");
    assert_eq!(r.body["trunk"]["password_set"], true);
    assert_eq!(r.body["status"], json!({"state": "registering"}));
    let v1 = r.body["version"].as_u64().unwrap();
    assert!(v1 > 0);
    let got = app.get("/api/company/trunk", &admin.access).await;
    no_password(&got);
    assert_eq!(got.body, r.body);

    // The media node reports; saving the same settings keeps its report.
    app.state
        .repos
        .telephony
        .set_trunk_status(&t, &TrunkStatus::Registered { until: 42 })
        .await
        .unwrap();
    let mut same = trunk(v1);
    same.as_object_mut().unwrap().remove("password");
    let r = put_trunk(&app, &admin.access, same).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["status"],
        json!({"state": "registered", "until": 42})
    );
    let v2 = r.body["version"].as_u64().unwrap();

    // A change without a password keeps the stored one, and restarts the status.
    let body = json!({
        "name": "Backup line", "number": "+7 495 765-43-21", "host": "10.0.0.7",
        "transport": "tls", "login": "acme", "domain": "Carrier.Example", "version": v2
    });
    let r = put_trunk(&app, &admin.access, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    no_password(&r);
    assert_eq!(r.body["trunk"]["port"], 5061);
    assert_eq!(r.body["trunk"]["transport"], "tls");
    assert_eq!(r.body["trunk"]["domain"], "carrier.example");
    assert_eq!(r.body["trunk"]["password_set"], true);
    assert_eq!(r.body["status"], json!({"state": "registering"}));
    let stored = app.state.repos.telephony.trunk(&t).await.unwrap().unwrap();
    assert_eq!(stored.value.password, TRUNK_PASSWORD);
    assert_eq!(stored.value.number, "+74957654321");
    let v3 = r.body["version"].as_u64().unwrap();

    // A stale version is refused and changes nothing.
    for stale in [0, v2] {
        let r = put_trunk(
            &app,
            &admin.access,
            with(trunk(stale), "name", json!("Late")),
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "stale"),
            "{:?}",
            r.body
        );
    }
    let got = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(got.body["trunk"]["name"], "Backup line");

    // Disabled, or admitting by address: the status says so.
    let r = put_trunk(
        &app,
        &admin.access,
        with(trunk(v3), "enabled", json!(false)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], json!({"state": "disabled"}));
    let v4 = r.body["version"].as_u64().unwrap();
    let mut by_address = with(trunk(v4), "register", json!(false));
    by_address["password"] = json!("");
    let r = put_trunk(&app, &admin.access, by_address).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], json!({"state": "not_registering"}));
    assert_eq!(r.body["trunk"]["password_set"], false);

    // A failure reason reaches the page.
    app.state
        .repos
        .telephony
        .set_trunk_status(
            &t,
            &TrunkStatus::Failed {
                code: Some(403),
                reason: "Forbidden".into(),
            },
        )
        .await
        .unwrap();
    let got = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(
        got.body["status"],
        json!({"state": "failed", "code": 403, "reason": "Forbidden"})
    );
}

#[tokio::test]
async fn only_administrators_see_and_change_the_trunk() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let head = app.invite(&admin, "head@acme.ru", "head", None).await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    for who in [&head, &ivan] {
        let r = app.get("/api/company/trunk", &who.access).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = put_trunk(&app, &who.access, trunk(0)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(r.body["configured"], false, "nothing was saved");

    // Another company's trunk is its own.
    let r = put_trunk(&app, &admin.access, trunk(0)).await;
    assert_eq!(r.status, StatusCode::OK);
    let other = app.company("boss@other.pl").await;
    let r = app.get("/api/company/trunk", &other.access).await;
    assert_eq!(r.body["configured"], false);
}

#[tokio::test]
async fn bad_trunk_fields_are_named_and_change_nothing() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let mut no_pw = trunk(0);
    no_pw.as_object_mut().unwrap().remove("password");
    let cases = [
        (no_pw, "password"),
        (with(trunk(0), "host", json!("sip:carrier.example")), "host"),
        (
            with(trunk(0), "host", json!("carrier.example:5060")),
            "host",
        ),
        (with(trunk(0), "number", json!("12")), "number"),
        (with(trunk(0), "number", json!("call me")), "number"),
        (with(trunk(0), "port", json!(0)), "port"),
        (with(trunk(0), "port", json!(70000)), "port"),
        (with(trunk(0), "transport", json!("sctp")), "transport"),
        (with(trunk(0), "login", json!("a b")), "login"),
        (with(trunk(0), "name", json!(" ")), "name"),
        (with(trunk(0), "domain", json!("bad domain")), "domain"),
        (with(trunk(0), "colour", json!("red")), "colour"),
    ];
    for (body, field) in cases {
        let r = put_trunk(&app, &admin.access, body.clone()).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{body}: {:?}",
            r.body
        );
        no_password(&r);
    }
    let mut no_version = trunk(0);
    no_version.as_object_mut().unwrap().remove("version");
    let r = put_trunk(&app, &admin.access, no_version).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "version")
    );
    let r = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(r.body["configured"], false);
}

#[tokio::test]
async fn numbers_follow_the_company_region() {
    let app = App::new();
    let admin = app.company("boss@acme.pl").await;
    let r = app
        .patch("/api/company", &admin.access, json!({"phone_region": "PL"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = put_trunk(
        &app,
        &admin.access,
        with(trunk(0), "number", json!("22 123 45 67")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["trunk"]["number"], "+48221234567");
}

#[tokio::test]
async fn agents_get_sip_passwords_stored_only_as_ha1() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let t = tenant_of(&app, "boss@acme.ru").await;
    let ivan_id = UserId::parse(&ivan.user_id).unwrap();
    let username = format!("{t}.{}", ivan.user_id);

    let r = app.get("/api/me/sip", &ivan.access).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"username": username, "realm": "callisto", "configured": false, "ha1": null, "websocket": null})
    );

    let r = app
        .post("/api/me/sip-password", Some(&ivan.access), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["username"], username);
    assert_eq!(r.body["realm"], "callisto");
    let password = r.body["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 20, "{password}");
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));

    // What is stored verifies the password: both digests of user:realm:password.
    let a1 = format!("{username}:callisto:{password}");
    let md5 = hex(&Md5::digest(a1.as_bytes()));
    let sha = hex(&Sha256::digest(a1.as_bytes()));
    let stored = app
        .state
        .repos
        .telephony
        .sip_credentials(&t, &ivan_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.realm.as_str(),
            stored.ha1_md5.as_str(),
            stored.ha1_sha256.as_str()
        ),
        ("callisto", md5.as_str(), sha.as_str())
    );
    assert!(!serde_json::to_string(&stored).unwrap().contains(&password));

    let r = app.get("/api/me/sip", &ivan.access).await;
    assert_eq!(r.body["configured"], true);
    assert_eq!(r.body["ha1"], md5.as_str());
    assert!(!r.body.to_string().contains(&password));

    // Each request makes a new password.
    let again = app
        .post("/api/me/sip-password", Some(&ivan.access), json!({}))
        .await;
    assert_ne!(again.body["password"], password.as_str());

    // An administrator resets it; the manager may not reset anyone's.
    let r = app
        .post(
            &format!("/api/users/{}/sip-password", ivan.user_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["username"], username);
    let reset = r.body["password"].as_str().unwrap().to_string();
    let a1 = format!("{username}:callisto:{reset}");
    let seen = app.get("/api/me/sip", &ivan.access).await;
    assert_eq!(seen.body["ha1"], hex(&Md5::digest(a1.as_bytes())).as_str());
    let r = app
        .post(
            &format!("/api/users/{}/sip-password", admin.user_id),
            Some(&ivan.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Another company's administrator finds no such user; unknown ids neither.
    let other = app.company("boss@other.pl").await;
    for id in [ivan.user_id.as_str(), "nobody", "bad.id"] {
        let r = app
            .post(
                &format!("/api/users/{id}/sip-password"),
                Some(&other.access),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {:?}", r.body);
    }
    let seen = app.get("/api/me/sip", &ivan.access).await;
    assert_eq!(seen.body["ha1"], hex(&Md5::digest(a1.as_bytes())).as_str());
}

#[tokio::test]
async fn openapi_documents_telephony_and_the_call_log() {
    let app = App::new();
    let r = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/company/trunk",
        "/api/me/sip",
        "/api/me/sip-password",
        "/api/users/{id}/sip-password",
        "/api/calls",
        "/api/calls/{id}",
        "/api/calls/{id}/recording",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    assert!(paths["/api/company/trunk"]["put"].is_object());
    for s in [
        "TrunkSettings",
        "TrunkBody",
        "TrunkStatusView",
        "SipAccountView",
        "SipPasswordView",
        "CallView",
    ] {
        assert!(
            r.body["components"]["schemas"][s].is_object(),
            "{s} missing from OpenAPI"
        );
    }
}

#[tokio::test]
async fn a_trunk_checked_with_options_shows_whether_it_answers() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let r = put_trunk(&app, &admin.access, trunk(0)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["trunk"]["qualify"], false, "off unless asked");
    assert_eq!(r.body["reach"], Value::Null);
    let r = put_trunk(
        &app,
        &admin.access,
        with(
            trunk(r.body["version"].as_u64().unwrap()),
            "qualify",
            json!(true),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["trunk"]["qualify"], true);
    assert_eq!(r.body["reach"], Value::Null, "the node has not tried yet");

    // What the media node saw, as the settings page shows it.
    let t = tenant_of(&app, "boss@acme.ru").await;
    let reach = TrunkReach::Reachable {
        rtt_ms: 12,
        at: 1_790_000_000_000,
    };
    app.state
        .repos
        .telephony
        .set_trunk_reach(&t, &reach)
        .await
        .unwrap();
    let r = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(r.body["reach"]["state"], "reachable");
    assert_eq!(r.body["reach"]["rtt_ms"], 12);
    let unreachable = TrunkReach::Unreachable {
        since: 1_790_000_000_000,
    };
    app.state
        .repos
        .telephony
        .set_trunk_reach(&t, &unreachable)
        .await
        .unwrap();
    let r = app.get("/api/company/trunk", &admin.access).await;
    assert_eq!(
        (&r.body["reach"]["state"], &r.body["reach"]["at"]),
        (&json!("unreachable"), &json!(1_790_000_000_000_i64))
    );
}
