//! E-mail from the card (D3): SMTP accounts, templates, attachments, sending
//! through the queue to a real SMTP server (aiosmtpd on 127.0.0.1), and the
//! ways it goes wrong.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use callisto_api::Clock;
use callisto_domain::ids::{MailId, TenantId};
use callisto_domain::mail::{MAX_ATTACHMENT_BYTES, MAX_SEND_ATTEMPTS, MailStatus};
use callisto_jobs::mail::{MailJobs, Outcome, drain_mail, send_mail};
use callisto_store::sealed::SealingKey;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::smtp::SmtpSink;
use support::{App, Resp, Session};

async fn put(app: &App, path: &str, token: &str, body: Value) -> Resp {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn delete(app: &App, path: &str, token: &str) -> Resp {
    app.call(Method::DELETE, path, Some(token), None).await
}

fn id(r: &Resp) -> String {
    r.body["id"].as_str().unwrap().to_string()
}

fn assert_invalid(r: &Resp, field: &str) {
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, field),
        "{:?}",
        r.body
    );
}

/// The worker as `callisto serve` runs it, with messages visible again at
/// once so a retry needs no waiting.
fn jobs() -> MailJobs {
    MailJobs {
        key: Arc::new(SealingKey::derive(support::SECRET).unwrap()),
        visibility: Duration::ZERO,
    }
}

async fn drain(app: &App) -> usize {
    let clock = app.clock.clone();
    drain_mail(&app.state.repos, &app.state.stores, &jobs(), move || {
        clock.now_ms()
    })
    .await
    .unwrap()
}

/// The one company of a test.
async fn tenant(app: &App) -> TenantId {
    app.state
        .repos
        .tenants
        .list_ids(None, 10)
        .await
        .unwrap()
        .items[0]
        .clone()
}

fn account_body(port: u16, login: &str, password: &str) -> Value {
    json!({
        "name": "Sales",
        "from_address": "sales@acme.example",
        "from_name": "Acme sales",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "auth": "plain",
        "login": login,
        "password": password,
    })
}

async fn account(app: &App, admin: &Session, body: Value) -> String {
    let r = app
        .post("/api/mail-accounts", Some(&admin.access), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    id(&r)
}

async fn template(app: &App, admin: &Session, subject: &str, body: &str) -> String {
    let r = app
        .post(
            "/api/email-templates",
            Some(&admin.access),
            json!({"name": "Offer", "subject": subject, "body": body}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    id(&r)
}

async fn upload(app: &App, token: &str, template: &str, name: &str, data: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!(
            "/api/email-templates/{template}/attachments?file_name={name}"
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(data))
        .unwrap();
    app.raw(req).await
}

/// A contact Ivan Sergeevich Petrov of "Acme & Co", with an e-mail address.
async fn ivan(app: &App, admin: &Session) -> String {
    let org = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "organization", "name": "Acme & Co"}),
        )
        .await;
    assert_eq!(org.status, StatusCode::CREATED, "{:?}", org.body);
    let c = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "contact", "first_name": "Ivan", "last_name": "Petrov", "patronymic": "Sergeevich",
                   "emails": ["ivan@client.example"], "organization_id": id(&org)}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    id(&c)
}

#[tokio::test]
async fn account_passwords_are_sealed_write_only_and_kept_when_left_out() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let r = app
        .post(
            "/api/mail-accounts",
            Some(&admin.access),
            account_body(587, "sales", "pa55-word"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(!r.body.to_string().contains("pa55-word"), "{:?}", r.body);
    assert_eq!(r.body["password_set"], true);
    let acc = id(&r);

    let t = tenant(&app).await;
    let stored = app
        .state
        .repos
        .mail
        .account(
            &t,
            &callisto_domain::ids::MailAccountId::parse(&acc).unwrap(),
        )
        .await
        .unwrap()
        .value;
    let sealed = stored.sealed_password.clone().unwrap();
    assert!(!sealed.contains("pa55-word"));
    let key = SealingKey::derive(support::SECRET).unwrap();
    assert_eq!(key.open(&t, &sealed).unwrap(), "pa55-word");

    // An update without a password keeps it; the listing never shows it.
    let mut body = account_body(2525, "sales", "x");
    body.as_object_mut().unwrap().remove("password");
    let r = put(
        &app,
        &format!("/api/mail-accounts/{acc}"),
        &admin.access,
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["port"], 2525);
    let again = app
        .state
        .repos
        .mail
        .account(&t, &stored.id)
        .await
        .unwrap()
        .value;
    assert_eq!(again.sealed_password.as_deref(), Some(sealed.as_str()));
    let list = app.get("/api/mail-accounts", &admin.access).await;
    assert!(!list.body.to_string().contains("sealed"), "{:?}", list.body);

    // Bad fields are named.
    let mut bad = account_body(587, "sales", "pw");
    bad["security"] = json!("ssl");
    assert_invalid(
        &app.post("/api/mail-accounts", Some(&admin.access), bad)
            .await,
        "security",
    );
    let mut bad = account_body(587, "sales", "pw");
    bad.as_object_mut().unwrap().remove("password");
    assert_invalid(
        &app.post("/api/mail-accounts", Some(&admin.access), bad)
            .await,
        "password",
    );
    let mut bad = account_body(587, "sales", "pw");
    bad["from_address"] = json!("not-an-address");
    assert_invalid(
        &app.post("/api/mail-accounts", Some(&admin.access), bad)
            .await,
        "from_address",
    );
    let mut bad = account_body(587, "sales", "pw");
    bad["colour"] = json!("red");
    assert_invalid(
        &app.post("/api/mail-accounts", Some(&admin.access), bad)
            .await,
        "colour",
    );
}

#[tokio::test]
async fn company_accounts_are_the_administrators_and_own_accounts_their_users() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let r = app
        .post(
            "/api/mail-accounts",
            Some(&ann.access),
            account_body(587, "a", "pw"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let mut own = account_body(587, "ann", "pw");
    own["personal"] = json!(true);
    let r = app.post("/api/mail-accounts", Some(&ann.access), own).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["owner"], json!(ann.user_id));
    let anns = id(&r);
    let company = account(&app, &admin, account_body(587, "sales", "pw")).await;

    let seen = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let bobs = app.get("/api/mail-accounts", &bob.access).await;
    assert_eq!(seen(&bobs), vec![company.clone()]);
    let admins = app.get("/api/mail-accounts", &admin.access).await;
    assert_eq!(seen(&admins).len(), 2);
    let r = app
        .get(&format!("/api/mail-accounts/{anns}"), &bob.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = delete(&app, &format!("/api/mail-accounts/{company}"), &ann.access).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = delete(&app, &format!("/api/mail-accounts/{anns}"), &admin.access).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a user's own account is his"
    );
    let r = delete(&app, &format!("/api/mail-accounts/{anns}"), &ann.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Signatures are each user's own.
    let r = put(
        &app,
        "/api/me/mail-signature",
        &ann.access,
        json!({"signature": " Ann\nAcme "}),
    )
    .await;
    assert_eq!(r.body["signature"], "Ann\nAcme");
    assert_eq!(
        app.get("/api/me/mail-signature", &ann.access).await.body["signature"],
        "Ann\nAcme"
    );
    assert_eq!(
        app.get("/api/me/mail-signature", &bob.access).await.body["signature"],
        ""
    );
    let long = "x".repeat(2001);
    assert_invalid(
        &put(
            &app,
            "/api/me/mail-signature",
            &ann.access,
            json!({ "signature": long }),
        )
        .await,
        "signature",
    );
}

#[tokio::test]
async fn templates_refuse_unknown_placeholders_by_name() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let r = app
        .post(
            "/api/email-templates",
            Some(&admin.access),
            json!({"name": "Offer", "subject": "Hi %FIRSTNAME%", "body": "Dear %NAME%, 50% off"}),
        )
        .await;
    assert_invalid(&r, "body");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("%NAME%"),
        "{:?}",
        r.body
    );
    let r = app
        .post(
            "/api/email-templates",
            Some(&admin.access),
            json!({"name": "Offer", "subject": "Hi %COMPANY%", "body": ""}),
        )
        .await;
    assert_invalid(&r, "subject");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("%COMPANY%")
    );
    let r = app
        .post(
            "/api/email-templates",
            Some(&admin.access),
            json!({"name": "Offer", "subject": "s", "format": "rtf"}),
        )
        .await;
    assert_invalid(&r, "format");
    let r = app
        .post(
            "/api/email-templates",
            Some(&ann.access),
            json!({"name": "Offer", "subject": "s"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let e = template(
        &app,
        &admin,
        "Offer for %FIRM_NAME%",
        "<p onclick=\"x()\">Dear %FULLNAME%</p><script>y()</script>",
    )
    .await;
    let r = app
        .get(&format!("/api/email-templates/{e}"), &ann.access)
        .await;
    assert_eq!(
        r.body["body"], "<p>Dear %FULLNAME%</p>",
        "sanitised, placeholders kept"
    );
    let r = put(
        &app,
        &format!("/api/email-templates/{e}"),
        &admin.access,
        json!({"name": "Offer", "subject": "x", "body": "%PATRONYMIC% %WHO%", "format": "text"}),
    )
    .await;
    assert_invalid(&r, "body");
    let r = app
        .get(&format!("/api/email-templates/{e}"), &ann.access)
        .await;
    assert_eq!(
        r.body["subject"], "Offer for %FIRM_NAME%",
        "a refused edit changes nothing"
    );
}

#[tokio::test]
async fn attachments_are_kept_as_blobs_within_their_limits() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let e = template(&app, &admin, "s", "b").await;
    let r = upload(&app, &admin.access, &e, "price.pdf", vec![1, 2, 3]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let att = r.body["attachments"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["attachments"][0]["size"], 3);
    let raw = app
        .raw(
            Request::builder()
                .uri(format!("/api/email-templates/{e}/attachments/{att}"))
                .header(header::AUTHORIZATION, format!("Bearer {}", admin.access))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        raw.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );

    // One file over 10 MB: 413 naming the file.
    let big = vec![0u8; MAX_ATTACHMENT_BYTES as usize + 1];
    let r = upload(&app, &admin.access, &e, "big.bin", big).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::PAYLOAD_TOO_LARGE, "file"),
        "{:?}",
        r.body
    );
    // An empty file, a bad name.
    assert_invalid(
        &upload(&app, &admin.access, &e, "empty.bin", vec![]).await,
        "file",
    );
    assert_invalid(
        &upload(&app, &admin.access, &e, "a%2Fb.bin", vec![1]).await,
        "file_name",
    );
    // More than 20 MB together.
    let ten = vec![7u8; MAX_ATTACHMENT_BYTES as usize];
    let r = upload(&app, &admin.access, &e, "a.bin", ten.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = upload(&app, &admin.access, &e, "b.bin", ten).await;
    assert_invalid(&r, "file");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("20 MB"),
        "{:?}",
        r.body
    );
    // More than 10 files.
    let e2 = template(&app, &admin, "s", "b").await;
    for i in 0..10 {
        let r = upload(&app, &admin.access, &e2, &format!("{i}.txt"), vec![b'x']).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let r = upload(&app, &admin.access, &e2, "11.txt", vec![b'x']).await;
    assert_invalid(&r, "file");
    let r = app
        .get(&format!("/api/email-templates/{e2}"), &admin.access)
        .await;
    assert_eq!(r.body["attachments"].as_array().unwrap().len(), 10);

    // Deleting one removes its blob.
    let r = delete(
        &app,
        &format!("/api/email-templates/{e}/attachments/{att}"),
        &admin.access,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .get(
            &format!("/api/email-templates/{e}/attachments/{att}"),
            &admin.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_mail_from_a_card_arrives_rendered_with_its_attachment_and_is_in_the_history() {
    let sink = SmtpSink::start(Some(("sales", "s3cret")));
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let acc = account(&app, &admin, account_body(sink.port, "sales", "s3cret")).await;
    let r = app
        .post(
            &format!("/api/mail-accounts/{acc}/test"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"ok": true})));

    let card = ivan(&app, &admin).await;
    put(
        &app,
        "/api/me/mail-signature",
        &admin.access,
        json!({"signature": "Boss, Acme"}),
    )
    .await;
    let e = template(
        &app,
        &admin,
        "Offer for %FIRM_NAME%",
        "<p>Dear %FIRSTNAME% %PATRONYMIC%,</p><p>for %FULLNAME% (%LASTNAME%)</p>",
    )
    .await;
    let file: Vec<u8> = (0u8..40).collect();
    let r = upload(&app, &admin.access, &e, "price.bin", file.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let r = app
        .post(
            &format!("/api/clients/{card}/emails"),
            Some(&admin.access),
            json!({"template": e, "account": acc, "extra_text": "See you on Monday"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["to"].as_str()),
        (Some("queued"), Some("ivan@client.example"))
    );
    let mail = id(&r);
    assert!(
        sink.messages().is_empty(),
        "queued, not sent in the request"
    );

    assert_eq!(drain(&app).await, 1);
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    // Quoted-printable bodies fold long lines with a trailing `=`.
    let m = &got[0].replace("=\r\n", "").replace("=\n", "");
    for expected in [
        "Subject: Offer for Acme & Co",
        "To: ivan@client.example",
        "sales@acme.example",
        "Dear Ivan Sergeevich,",
        "for Petrov Ivan Sergeevich (Petrov)",
        "See you on Monday",
        "Boss, Acme",
        "price.bin",
    ] {
        assert!(m.contains(expected), "{expected:?} missing from\n{m}");
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&file);
    assert!(
        got[0].contains(&b64),
        "the attachment's bytes are missing from\n{m}"
    );

    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempts"].as_u64()),
        (Some("sent"), Some(1)),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["subject"], "Offer for Acme & Co");
    let h = app
        .get(&format!("/api/clients/{card}/history"), &admin.access)
        .await;
    let entry = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "email")
        .unwrap_or_else(|| panic!("no e-mail entry in {:?}", h.body));
    assert_eq!(entry["details"]["subject"], "Offer for Acme & Co");
    assert_eq!(entry["details"]["to"], "ivan@client.example");
    let listed = app
        .get(&format!("/api/clients/{card}/emails"), &admin.access)
        .await;
    assert_eq!(listed.body["items"][0]["id"], json!(mail));

    // Redelivered, a sent mail is not sent again.
    let t = tenant(&app).await;
    let again = send_mail(
        &app.state.repos,
        &app.state.stores,
        &jobs(),
        &t,
        &MailId::parse(&mail).unwrap(),
        || 0,
    )
    .await
    .unwrap();
    assert_eq!(again, Outcome::Finished(MailStatus::Sent));
    assert_eq!(drain(&app).await, 0);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn refused_authentication_is_named_and_the_mail_is_kept_and_retried() {
    let sink = SmtpSink::start(Some(("sales", "right")));
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let acc = account(&app, &admin, account_body(sink.port, "sales", "wrong")).await;
    let r = app
        .post(
            &format!("/api/mail-accounts/{acc}/test"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_GATEWAY, "smtp_auth"),
        "{:?}",
        r.body
    );
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("authentication refused") && msg.contains("535"),
        "{msg}"
    );

    let card = ivan(&app, &admin).await;
    let e = template(&app, &admin, "Hello %FIRSTNAME%", "<p>Hi</p>").await;
    let path = format!("/api/clients/{card}/emails");
    let send = || {
        app.post(
            &path,
            Some(&admin.access),
            json!({"template": e, "account": acc}),
        )
    };
    let mail = id(&send().await);

    assert_eq!(drain(&app).await, 0, "nothing finished");
    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempts"].as_u64()),
        (Some("queued"), Some(1)),
        "{:?}",
        r.body
    );
    let err = r.body["last_error"].as_str().unwrap();
    assert!(
        err.contains("authentication refused") && err.contains("535"),
        "{err}"
    );
    let next = r.body["next_attempt_at"].as_i64().unwrap();
    assert!(next > app.clock.now_ms());

    // Not due yet: no new attempt.
    assert_eq!(drain(&app).await, 0);
    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(r.body["attempts"], 1);

    // The password is corrected; at the next attempt the kept mail goes out.
    let mut body = account_body(sink.port, "sales", "right");
    body["version"] = json!(null);
    let r = put(
        &app,
        &format!("/api/mail-accounts/{acc}"),
        &admin.access,
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    app.clock.advance(next - app.clock.now_ms());
    assert_eq!(drain(&app).await, 1);
    assert_eq!(sink.messages().len(), 1);
    assert!(sink.messages()[0].contains("Subject: Hello Ivan"));
    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempts"].as_u64()),
        (Some("sent"), Some(2)),
        "{:?}",
        r.body
    );

    // Refused every time: failed after the last attempt, and still there to see.
    let r = put(
        &app,
        &format!("/api/mail-accounts/{acc}"),
        &admin.access,
        account_body(sink.port, "sales", "wrong"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let mail = id(&send().await);
    for _ in 0..MAX_SEND_ATTEMPTS {
        drain(&app).await;
        app.clock.advance(3_600_000);
    }
    let admin = app.login("boss@acme.ru", support::PASSWORD).await;
    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempts"].as_u64()),
        (Some("failed"), Some(u64::from(MAX_SEND_ATTEMPTS))),
        "{:?}",
        r.body
    );
    assert!(r.body["last_error"].as_str().unwrap().contains("535"));
    assert_eq!(sink.messages().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn connection_failures_name_their_stage() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = account(&app, &admin, account_body(port, "sales", "pw")).await;
    let r = app
        .post(
            &format!("/api/mail-accounts/{closed}/test"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_GATEWAY, "smtp_connect"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect")
    );

    // STARTTLS required but not offered: refused, never sent in clear.
    let sink = SmtpSink::start(None);
    let mut body = account_body(sink.port, "sales", "pw");
    body["security"] = json!("starttls");
    let plain = account(&app, &admin, body).await;
    let r = app
        .post(
            &format!("/api/mail-accounts/{plain}/test"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_GATEWAY, "smtp_starttls"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("STARTTLS failed")
    );

    // AUTH configured but the server offers none.
    let no_auth = account(&app, &admin, account_body(sink.port, "sales", "pw")).await;
    let r = app
        .post(
            &format!("/api/mail-accounts/{no_auth}/test"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_GATEWAY, "smtp_auth"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not offer AUTH PLAIN"),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn sending_names_the_bad_field_and_queues_nothing() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let acc = account(&app, &admin, account_body(2525, "sales", "pw")).await;
    let mut own = account_body(2525, "ann", "pw");
    own["personal"] = json!(true);
    let anns = id(&app.post("/api/mail-accounts", Some(&ann.access), own).await);
    let e = template(&app, &admin, "s", "b").await;
    let card = ivan(&app, &admin).await;
    let no_mail = id(&app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "contact", "last_name": "Nomail"}),
        )
        .await);
    let path = format!("/api/clients/{card}/emails");
    for (body, field) in [
        (json!({"template": "nope", "account": acc}), "template"),
        (json!({"template": e, "account": "nope"}), "account"),
        (json!({"template": e, "account": anns}), "account"),
        (
            json!({"template": e, "account": acc, "to": "not-an-address"}),
            "to",
        ),
        (
            json!({"template": e, "account": acc, "extra_text": "x".repeat(5001)}),
            "extra_text",
        ),
        (json!({"template": e, "account": acc, "cc": "x@y.ru"}), "cc"),
    ] {
        assert_invalid(&app.post(&path, Some(&admin.access), body).await, field);
    }
    let r = app
        .post(
            &format!("/api/clients/{no_mail}/emails"),
            Some(&admin.access),
            json!({"template": e, "account": acc}),
        )
        .await;
    assert_invalid(&r, "to");
    let r = app
        .get(&format!("/api/clients/{card}/emails"), &admin.access)
        .await;
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(drain(&app).await, 0);
}

#[tokio::test]
async fn scenarios_refer_only_to_existing_templates_and_company_accounts() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let e = template(&app, &admin, "s", "b").await;
    let acc = account(&app, &admin, account_body(2525, "sales", "pw")).await;
    let mut own = account_body(2525, "boss", "pw");
    own["personal"] = json!(true);
    let mine = id(&app
        .post("/api/mail-accounts", Some(&admin.access), own)
        .await);
    let scenario = |template: &str, account: &str| json!({"name": "Cold calls", "direction": "outgoing", "email_template": template, "mail_account": account});
    for (body, field) in [
        (scenario("nope", &acc), "email_template"),
        (scenario(&e, "nope"), "mail_account"),
        (scenario(&e, &mine), "mail_account"),
    ] {
        assert_invalid(
            &app.post("/api/scenarios", Some(&admin.access), body).await,
            field,
        );
    }
    let r = app
        .post("/api/scenarios", Some(&admin.access), scenario(&e, &acc))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let s = id(&r);
    let r = app
        .get(&format!("/api/email-templates/{e}"), &admin.access)
        .await;
    assert_eq!(r.body["scenarios"], json!([s]));
    for path in [
        format!("/api/email-templates/{e}"),
        format!("/api/mail-accounts/{acc}"),
    ] {
        let r = delete(&app, &path, &admin.access).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "in_use"),
            "{path}: {:?}",
            r.body
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Cold calls")
        );
    }
    let r = delete(&app, &format!("/api/scenarios/{s}"), &admin.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for path in [
        format!("/api/email-templates/{e}"),
        format!("/api/mail-accounts/{acc}"),
    ] {
        let r = delete(&app, &path, &admin.access).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}: {:?}", r.body);
    }
}

#[tokio::test]
async fn a_mail_whose_card_was_deleted_fails_at_once_and_is_kept() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let acc = account(&app, &admin, account_body(2525, "sales", "pw")).await;
    let e = template(&app, &admin, "s", "b").await;
    let card = ivan(&app, &admin).await;
    let r = app
        .post(
            &format!("/api/clients/{card}/emails"),
            Some(&admin.access),
            json!({"template": e, "account": acc}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let mail = id(&r);
    let r = delete(&app, &format!("/api/clients/{card}"), &admin.access).await;
    assert!(r.status.is_success(), "{:?}", r.body);

    assert_eq!(drain(&app).await, 1, "finished: nothing left to retry");
    let r = app.get(&format!("/api/emails/{mail}"), &admin.access).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["last_error"].as_str()),
        (Some("failed"), Some("the card was deleted")),
        "{:?}",
        r.body
    );
    assert_eq!(drain(&app).await, 0, "its message was acknowledged");
}
