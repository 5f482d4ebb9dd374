//! Scenarios, call results and questionnaires (D1, D2, D4) through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
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

async fn result(app: &App, admin: &Session, name: &str, kind: &str) -> String {
    let r = app
        .post(
            "/api/call-results",
            Some(&admin.access),
            json!({"name": name, "kind": kind}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    id(&r)
}

fn survey() -> Value {
    json!({
        "name": "Satisfaction",
        "questions": [
            {"id": "colour", "text": "Favourite colour?", "kind": "single_choice", "required": true, "options": ["Red", "Blue"]},
            {"text": "Sizes?", "kind": "multiple_choice", "options": ["S", "M", "L"]},
            {"text": "Budget?", "kind": "number", "required": true},
            {"text": "Visit on?", "kind": "date"},
            {"text": "Notes", "kind": "text"}
        ]
    })
}

fn assert_invalid(r: &Resp, field: &str, what: &str) {
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, field),
        "{what}: {:?}",
        r.body
    );
}

#[tokio::test]
async fn call_results_are_the_administrators_list() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let r = app
        .post(
            "/api/call-results",
            Some(&admin.access),
            json!({"name": " Call later ", "kind": "call_later", "colour": "#FFA000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        (&r.body["name"], &r.body["kind"], &r.body["colour"]),
        (
            &json!("Call later"),
            &json!("call_later"),
            &json!("#ffa000")
        )
    );
    let later = id(&r);
    let r = app
        .post(
            "/api/call-results",
            Some(&ann.access),
            json!({"name": "Mine", "kind": "normal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    for (body, field) in [
        (json!({"name": "X", "kind": "maybe"}), "kind"),
        (json!({"name": " ", "kind": "done"}), "name"),
        (
            json!({"name": "X", "kind": "done", "colour": "green"}),
            "colour",
        ),
        (
            json!({"name": "X", "kind": "done", "color": "#ffffff"}),
            "color",
        ),
        (json!({"kind": "done"}), "name"),
    ] {
        let r = app
            .post("/api/call-results", Some(&admin.access), body.clone())
            .await;
        assert_invalid(&r, field, &body.to_string());
    }
    let list = app.get("/api/call-results", &ann.access).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body.as_array().unwrap().len(),
        1,
        "bad input made nothing"
    );

    let path = format!("/api/call-results/{later}");
    let r = app
        .patch(
            &path,
            &admin.access,
            json!({"name": "Later", "colour": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["name"], &r.body["colour"]),
        (&json!("Later"), &Value::Null)
    );
    let r = app
        .patch(&path, &admin.access, json!({"kind": "soon"}))
        .await;
    assert_invalid(&r, "kind", "patch kind");
    let r = app.patch(&path, &ann.access, json!({"name": "Mine"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/call-results", &ann.access).await.body[0]["name"],
        "Later"
    );

    // Another company neither sees nor touches it.
    let other = app.company("boss@other.ru").await;
    assert!(
        app.get("/api/call-results", &other.access)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = app
        .patch(&path, &other.access, json!({"name": "Mine"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        delete(&app, &path, &other.access).await.status,
        StatusCode::NOT_FOUND
    );

    // In use by a scenario: 409 naming it, until the scenario lets it go.
    let r = app
        .post(
            "/api/scenarios",
            Some(&admin.access),
            json!({"name": "Cold calls", "direction": "outgoing", "results": [{"result": later}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let scenario = id(&r);
    let r = delete(&app, &path, &admin.access).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "in_use"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Cold calls")
    );
    assert_eq!(
        app.get("/api/call-results", &admin.access).await.body[0]["scenarios"],
        json!([scenario])
    );
    let r = delete(&app, &format!("/api/scenarios/{scenario}"), &admin.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        delete(&app, &path, &ann.access).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&app, &path, &admin.access).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &path, &admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn scenarios_check_every_field_and_managers_read_their_own() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let head = app.invite(&admin, "head@acme.ru", "head", None).await;
    let other = app.company("boss@other.ru").await;
    let agreed = result(&app, &admin, "Agreed", "done").await;
    let refused = result(&app, &admin, "Refused", "normal").await;
    let foreign_result = result(&app, &other, "Theirs", "normal").await;
    let q = app
        .post("/api/questionnaires", Some(&admin.access), survey())
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{:?}", q.body);
    let q = id(&q);
    let tpl = app
        .post(
            "/api/email-templates",
            Some(&admin.access),
            json!({"name": "Offer", "subject": "Offer for %FIRM_NAME%"}),
        )
        .await;
    assert_eq!(tpl.status, StatusCode::CREATED, "{:?}", tpl.body);
    let tpl = id(&tpl);
    let mailbox = app
        .post(
            "/api/mail-accounts",
            Some(&admin.access),
            json!({"name": "Sales", "from_address": "sales@acme.ru", "host": "smtp.acme.ru",
                   "port": 587, "security": "starttls", "auth": "none"}),
        )
        .await;
    assert_eq!(mailbox.status, StatusCode::CREATED, "{:?}", mailbox.body);
    let mailbox = id(&mailbox);

    let good = json!({
        "name": "Cold calls",
        "managers": [ann.user_id],
        "direction": "outgoing",
        "script": r##"<p onclick="steal()">Hello! Interested? <a href="#objections">yes</a> <a href="javascript:alert(1)">x</a></p><script>alert(1)</script><h2 id="objections">Objections</h2>"##,
        "results": [{"result": agreed, "comment": "send the offer"}, {"result": refused}],
        "result_required": true,
        "auto_dial": true,
        "questionnaire": q,
        "email_template": tpl,
        "mail_account": mailbox
    });
    let with = |patch: Value| {
        let mut b = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, field) in [
        (with(json!({"results": []})), "results"),
        (
            with(json!({"results": [{"result": "nope"}]})),
            "results[0].result",
        ),
        (
            with(json!({"results": [{"result": foreign_result}]})),
            "results[0].result",
        ),
        (
            with(json!({"results": [{"result": agreed, "comment": "x".repeat(51)}]})),
            "results[0].comment",
        ),
        (
            with(json!({"results": [{"result": agreed}, {"result": agreed}]})),
            "results[1].result",
        ),
        (
            with(json!({"results": [{"result": "a#b"}]})),
            "results[0].result",
        ),
        (with(json!({"questionnaire": "ghost"})), "questionnaire"),
        (with(json!({"managers": [other.user_id]})), "managers[0]"),
        (with(json!({"managers": ["T#x"]})), "managers[0]"),
        (with(json!({"direction": "sideways"})), "direction"),
        (with(json!({"direction": "incoming"})), "incoming_number"),
        (
            with(json!({"direction": "incoming", "incoming_number": "12"})),
            "incoming_number",
        ),
        (
            with(json!({"incoming_number": "+74951234567"})),
            "incoming_number",
        ),
        (with(json!({"name": ""})), "name"),
        (with(json!({"email_template": "tpl#1"})), "email_template"),
        (with(json!({"mail_account": "a b"})), "mail_account"),
        (with(json!({"version": 1})), "version"),
        (with(json!({"colour": "red"})), "colour"),
    ] {
        let r = app
            .post("/api/scenarios", Some(&admin.access), body.clone())
            .await;
        assert_invalid(&r, field, &body.to_string());
    }
    assert!(
        app.get("/api/scenarios", &admin.access)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.post("/api/scenarios", Some(&ann.access), good.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let r = app
        .post("/api/scenarios", Some(&admin.access), good.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let cold = id(&r);
    let script = r.body["script"].as_str().unwrap();
    assert!(script.contains(r##"href="#objections""##), "{script}");
    assert!(
        script.contains(r#"<h2 id="objections">Objections</h2>"#),
        "{script}"
    );
    for gone in ["<script", "onclick", "javascript:", "alert"] {
        assert!(!script.contains(gone), "{gone} left in {script}");
    }
    assert_eq!(r.body["version"], 1);
    assert_eq!(
        r.body["results"][0],
        json!({"result": agreed, "comment": "send the offer"})
    );
    assert_eq!(
        (&r.body["email_template"], &r.body["mail_account"]),
        (&json!(tpl), &json!(mailbox))
    );
    let r = app
        .post(
            "/api/scenarios",
            Some(&admin.access),
            with(json!({"name": "Inbound", "managers": [bob.user_id], "direction": "incoming",
                        "incoming_number": "8 (495) 123-45-67", "result_required": false, "results": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["incoming_number"], "+74951234567");
    let inbound = id(&r);
    // The number already opens "Inbound": a second scenario for it is refused.
    let r = app
        .post(
            "/api/scenarios",
            Some(&admin.access),
            with(json!({"name": "Inbound 2", "direction": "incoming",
                        "incoming_number": "+7 495 123 45 67", "result_required": false, "results": []})),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "incoming_number"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Inbound")
    );

    // Managers read only the scenarios given to them; the head reads all.
    let names = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&app.get("/api/scenarios", &ann.access).await),
        ["Cold calls"]
    );
    assert_eq!(
        names(&app.get("/api/scenarios", &bob.access).await),
        ["Inbound"]
    );
    assert_eq!(
        names(&app.get("/api/scenarios", &head.access).await),
        ["Cold calls", "Inbound"]
    );
    assert_eq!(
        app.get(&format!("/api/scenarios/{cold}"), &ann.access)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/scenarios/{inbound}"), &ann.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Replacing: the version read, or 409; bad input changes nothing.
    let path = format!("/api/scenarios/{cold}");
    let r = put(
        &app,
        &path,
        &admin.access,
        with(json!({"name": "Warm calls", "version": 7})),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "stale"));
    let r = put(
        &app,
        &path,
        &admin.access,
        with(json!({"results": [], "version": 1})),
    )
    .await;
    assert_invalid(&r, "results", "put without results");
    let r = put(&app, &path, &ann.access, with(json!({"version": 1}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = put(
        &app,
        &path,
        &admin.access,
        with(json!({"name": "Warm calls", "results": [{"result": refused}], "version": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["name"], &r.body["version"]),
        (&json!("Warm calls"), &json!(2))
    );
    let r = app.get(&path, &admin.access).await;
    assert_eq!(
        r.body["results"],
        json!([{"result": refused, "comment": null}])
    );
    // Agreed is no longer offered, so it can go.
    let r = delete(&app, &format!("/api/call-results/{agreed}"), &admin.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Another company finds nothing.
    assert_eq!(
        app.get(&path, &other.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&app, &path, &other.access, good.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&app, &path, &other.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.get("/api/scenarios", &other.access)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        delete(&app, &path, &ann.access).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&app, &path, &admin.access).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&path, &admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn card(app: &App, s: &Session, name: &str, phone: &str) -> String {
    let r = app
        .post(
            "/api/clients",
            Some(&s.access),
            json!({"kind": "contact", "last_name": name, "phones": [phone], "emails": [format!("{}@client.ru", name.to_lowercase())]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    id(&r)
}

const CALL1: &str = "01JD0000000000000000000001";
const CALL2: &str = "01JD0000000000000000000002";

#[tokio::test]
async fn questionnaires_take_answers_per_call_and_export_them() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let other = app.company("boss@other.ru").await;

    for (body, field) in [
        (json!({"name": "S", "questions": []}), "questions"),
        (
            json!({"name": "S", "questions": [{"text": "Q", "kind": "essay"}]}),
            "questions[0].kind",
        ),
        (
            json!({"name": "S", "questions": [{"text": "Q", "kind": "single_choice"}]}),
            "questions[0].options",
        ),
        (
            json!({"name": "S", "questions": [{"text": "Q", "kind": "text", "options": ["a"]}]}),
            "questions[0].options",
        ),
        (
            json!({"name": "S", "questions": [{"id": "a", "text": "Q", "kind": "text"}, {"id": "a", "text": "R", "kind": "text"}]}),
            "questions[1].id",
        ),
        (
            json!({"name": "S", "questions": [{"id": "a#b", "text": "Q", "kind": "text"}]}),
            "questions[0].id",
        ),
        (
            json!({"name": "S", "questions": [{"text": " ", "kind": "text"}]}),
            "questions[0].text",
        ),
        (
            json!({"name": " ", "questions": [{"text": "Q", "kind": "text"}]}),
            "name",
        ),
    ] {
        let r = app
            .post("/api/questionnaires", Some(&admin.access), body.clone())
            .await;
        assert_invalid(&r, field, &body.to_string());
    }
    assert_eq!(
        app.post("/api/questionnaires", Some(&ann.access), survey())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post("/api/questionnaires", Some(&admin.access), survey())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let q = id(&r);
    let ids: Vec<&str> = r.body["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["colour", "q1", "q2", "q3", "q4"]);
    let listed = app.get("/api/questionnaires", &ann.access).await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        1,
        "agents read questionnaires"
    );
    let qpath = format!("/api/questionnaires/{q}");
    assert_eq!(
        app.get(&qpath, &other.access).await.status,
        StatusCode::NOT_FOUND
    );

    let ann_card = card(&app, &ann, "Smirnov", "+79123456789").await;
    let bob_card = card(&app, &bob, "Kuznetsov", "+79123456780").await;
    let apath = format!("{qpath}/answers");
    let answer = |token: &str, body: Value| {
        let (app, apath, token) = (&app, apath.clone(), token.to_string());
        async move { app.post(&apath, Some(&token), body).await }
    };
    let full = json!({"call": CALL1, "client": ann_card, "status": "complete",
        "answers": {"colour": "blue", "q1": ["S", "l"], "q2": "1 500,5", "q3": "31.12.2026", "q4": "call after six"}});
    let with = |patch: Value| {
        let mut b = full.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, field) in [
        (with(json!({"answers": {"colour": "Red"}})), "answers[q2]"),
        (with(json!({"answers": {"q2": 5}})), "answers[colour]"),
        (
            with(json!({"answers": {"colour": "Green", "q2": 5}})),
            "answers[colour]",
        ),
        (
            with(json!({"answers": {"colour": "Red", "q2": "lots"}})),
            "answers[q2]",
        ),
        (
            with(json!({"answers": {"colour": "Red", "q2": 5, "q1": ["XL"]}})),
            "answers[q1]",
        ),
        (
            with(json!({"answers": {"colour": "Red", "q2": 5, "q3": "someday"}})),
            "answers[q3]",
        ),
        (
            with(json!({"answers": {"colour": "Red", "q2": 5, "q4": {"x": 1}}})),
            "answers[q4]",
        ),
        (
            with(json!({"answers": {"colour": "Red", "q2": 5, "ghost": "boo"}})),
            "answers[ghost]",
        ),
        (with(json!({"call": "call-1"})), "call"),
        (with(json!({"status": "done"})), "status"),
        (with(json!({"client": bob_card})), "client"),
        (with(json!({"client": "nobody"})), "client"),
        (with(json!({"extra": 1})), "extra"),
        (with(json!({"scenario": "nonsense"})), "scenario"),
    ] {
        let r = answer(&ann.access, body.clone()).await;
        assert_invalid(&r, field, &body.to_string());
    }
    let r = answer(&ann.access, full.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["answers"],
        json!({"colour": "Blue", "q1": ["S", "L"], "q2": "1500.5", "q3": "2026-12-31", "q4": "call after six"})
    );
    assert_eq!(r.body["by"], ann.user_id.as_str());
    // The same call again replaces its answers; refused needs no answers.
    let r = answer(
        &ann.access,
        with(json!({"status": "refused", "answers": {}})),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("refused"))
    );
    let r = answer(&ann.access, with(json!({"status": "complete"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = answer(&bob.access, json!({"call": CALL2, "client": bob_card, "status": "postponed", "answers": {"colour": "Red"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // The card shows its client's answers; only to those who see the card.
    let shown = app
        .get(&format!("/api/clients/{ann_card}/answers"), &ann.access)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    let sheets = shown.body.as_array().unwrap();
    assert_eq!(sheets.len(), 1, "{:?}", shown.body);
    assert_eq!(
        (&sheets[0]["call"], &sheets[0]["status"]),
        (&json!(CALL1), &json!("complete"))
    );
    assert_eq!(
        app.get(&format!("/api/clients/{ann_card}/answers"), &bob.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app.post(&apath, Some(&other.access), full.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another company's questionnaire"
    );

    // Export: one row per call, a column per question; each sees their clients' rows.
    let csv = |token: &str, query: &str| {
        let (app, path, token) = (&app, format!("{apath}?{query}"), token.to_string());
        async move { app.get(&path, &token).await }
    };
    let r = csv(&admin.access, "format=csv&lang=en").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let text = r
        .body
        .as_str()
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Call;Time;Contact;Phone;E-mail;Status;Agent;Favourite colour?;Sizes?;Budget?;Visit on?;Notes"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with(CALL1), "{text}");
    assert!(lines[1].contains(";Smirnov;+7 912 345-67-89;smirnov@client.ru;complete;Ivan Petrov;Blue;S, L;1500.5;2026-12-31;call after six"), "{text}");
    assert!(
        lines[2].starts_with(CALL2)
            && lines[2].contains(";Kuznetsov;")
            && lines[2].contains(";postponed;Ivan Petrov;Red;;;;"),
        "{text}"
    );
    let r = csv(&ann.access, "format=csv&lang=en").await;
    let text = r.body.as_str().unwrap().to_string();
    assert_eq!(
        text.lines().count(),
        2,
        "ann sees her client's row only: {text}"
    );
    assert!(text.contains("Smirnov") && !text.contains("Kuznetsov"));
    let r = csv(&admin.access, "format=csv").await;
    assert!(r.body.as_str().unwrap().contains("Звонок;Время;Контакт"));
    assert!(r.body.as_str().unwrap().contains(";Завершена;"));
    let r = csv(&admin.access, "format=pdf").await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "format"));
    let r = app
        .call(
            Method::GET,
            &format!("{apath}?format=xlsx"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        app.get(&apath, &other.access).await.status,
        StatusCode::NOT_FOUND
    );

    // Editing keeps question ids; a stale version is refused.
    let mut edited = survey();
    edited["questions"][0]["text"] = json!("Colour?");
    edited["version"] = json!(7);
    let r = put(&app, &qpath, &admin.access, edited.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "stale"));
    edited["version"] = json!(1);
    assert_eq!(
        put(&app, &qpath, &ann.access, edited.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&app, &qpath, &other.access, edited.clone())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = put(&app, &qpath, &admin.access, edited.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["questions"][0]["text"], &r.body["version"]),
        (&json!("Colour?"), &json!(2))
    );
    edited["questions"] = json!([]);
    edited["version"] = json!(2);
    assert_invalid(
        &put(&app, &qpath, &admin.access, edited).await,
        "questions",
        "no questions",
    );

    // Used by a scenario: not deleted until the scenario lets it go.
    let r = app
        .post(
            "/api/scenarios",
            Some(&admin.access),
            json!({"name": "Survey calls", "direction": "outgoing", "questionnaire": q}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // Answers name the scenario worked by, when it uses the questionnaire.
    let a = answer(&ann.access, with(json!({"scenario": id(&r)}))).await;
    assert_eq!(
        (a.status, &a.body["scenario"]),
        (StatusCode::OK, &r.body["id"]),
        "{:?}",
        a.body
    );
    let r = delete(&app, &qpath, &admin.access).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "in_use"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Survey calls")
    );
    assert_eq!(
        delete(&app, &qpath, &other.access).await.status,
        StatusCode::NOT_FOUND
    );
    let spath = format!("/api/scenarios/{}", id(&r_scenario(&app, &admin).await));
    assert_eq!(
        delete(&app, &spath, &admin.access).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &qpath, &ann.access).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&app, &qpath, &admin.access).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&qpath, &admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The company's one scenario.
async fn r_scenario(app: &App, admin: &Session) -> Resp {
    let mut r = app.get("/api/scenarios", &admin.access).await;
    r.body = r.body[0].clone();
    r
}

#[tokio::test]
async fn openapi_documents_scenarios() {
    let app = App::new();
    let r = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/call-results",
        "/api/call-results/{id}",
        "/api/scenarios",
        "/api/scenarios/{id}",
        "/api/questionnaires",
        "/api/questionnaires/{id}",
        "/api/questionnaires/{id}/answers",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
}
