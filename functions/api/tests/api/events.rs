//! Events and reminders (C13) and agent state (E4) through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{App, Session};

/// The test clock's start.
const NOW: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

async fn card(app: &App, who: &Session, name: &str) -> String {
    let r = app
        .post(
            "/api/clients",
            Some(&who.access),
            json!({"kind": "organization", "name": name}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn event(app: &App, who: &Session, body: Value) -> Value {
    let r = app.post("/api/events", Some(&who.access), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_event_is_planned_then_due_then_overdue_and_its_card_records_it() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let c = card(&app, &admin, "Acme Supplies").await;
    let e = event(
        &app,
        &admin,
        json!({"kind": "call_back", "client_id": c, "due_at": NOW + HOUR, "note": " ask about the invoice "}),
    )
    .await;
    assert_eq!(e["state"], "planned");
    assert_eq!(e["assignee"], admin.user_id.as_str());
    assert_eq!(e["note"], "ask about the invoice");
    let path = format!("/api/events/{}", e["id"].as_str().unwrap());

    // Access tokens last 15 minutes: log in again after moving the clock.
    let state_at = |after: i64| {
        let (app, path) = (&app, &path);
        async move {
            app.clock.advance(after);
            let me = app.login("boss@acme.ru", support::PASSWORD).await;
            let r = app.get(path, &me.access).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            r.body["state"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(state_at(HOUR - 15 * MIN - 1).await, "planned");
    assert_eq!(state_at(1).await, "due");
    assert_eq!(state_at(15 * MIN - 1).await, "due");
    assert_eq!(state_at(1).await, "overdue");
    let admin = app.login("boss@acme.ru", support::PASSWORD).await;

    let done = app
        .post(&format!("{path}/done"), Some(&admin.access), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "done");
    let again = app
        .post(&format!("{path}/done"), Some(&admin.access), json!({}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "event_done")
    );

    let listed = app
        .get(&format!("/api/clients/{c}/events"), &admin.access)
        .await;
    assert_eq!(
        ids(&listed.body),
        vec![e["id"].as_str().unwrap().to_string()]
    );
    let history = app
        .get(&format!("/api/clients/{c}/history"), &admin.access)
        .await;
    let kinds: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["event_done", "event_created", "created"]);

    let gone = app
        .call(Method::DELETE, &path, Some(&admin.access), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path, &admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn giving_an_event_to_someone_else_notifies_and_mails_them() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let c = card(&app, &admin, "Acme Supplies").await;
    let mails_before = app.mails().len();
    let e = event(
        &app,
        &admin,
        json!({"kind": "meeting", "client_id": c, "due_at": NOW + HOUR, "assignee": ann.user_id}),
    )
    .await;
    let notes = app.get("/api/notifications", &ann.access).await;
    let items = notes.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", notes.body);
    assert_eq!(items[0]["client_id"], c.as_str());
    let mails = app.mails();
    assert_eq!(mails.len(), mails_before + 1);
    assert!(mails.last().unwrap().contains("To: ann@acme.ru"));

    // Ann sees it (she is the assignee) though the card is not hers.
    let path = format!("/api/events/{}", e["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &ann.access).await.status, StatusCode::OK);
    // Giving it back to oneself notifies nobody.
    let r = app
        .patch(&path, &admin.access, json!({"assignee": admin.user_id}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let notes = app.get("/api/notifications", &admin.access).await;
    assert!(notes.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_calendar_is_a_range_of_one_users_events_in_their_supervisors_scope() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let c = card(&app, &ann, "Ann's client").await;
    let at = |h: i64| json!({"kind": "call_back", "client_id": c, "due_at": NOW + h * HOUR});
    let late = event(&app, &ann, at(30)).await;
    let early = event(&app, &ann, at(2)).await;
    let _outside = event(&app, &ann, at(48)).await;
    let _edge = event(&app, &ann, at(40)).await;

    let range = format!("from={}&to={}", NOW, NOW + 40 * HOUR);
    let own = app.get(&format!("/api/events?{range}"), &ann.access).await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let want = [&early, &late].map(|e| e["id"].as_str().unwrap().to_string());
    assert_eq!(ids(&own.body), want, "[from, to), earliest first");

    let path = format!("/api/events?{range}&assignee={}", ann.user_id);
    let by_admin = app.get(&path, &admin.access).await;
    assert_eq!(ids(&by_admin.body), want);
    let by_bob = app.get(&path, &bob.access).await;
    assert_eq!(
        (by_bob.status, by_bob.field()),
        (StatusCode::FORBIDDEN, "assignee")
    );
    assert!(
        ids(&app
            .get(&format!("/api/events?{range}"), &bob.access)
            .await
            .body)
        .is_empty()
    );
    // Bob neither sees Ann's card nor her events in it.
    let e = format!("/api/events/{}", early["id"].as_str().unwrap());
    assert_eq!(app.get(&e, &bob.access).await.status, StatusCode::NOT_FOUND);

    let reversed = app
        .get(&format!("/api/events?from={}&to={}", NOW, NOW), &ann.access)
        .await;
    assert_eq!(
        (reversed.status, reversed.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "to")
    );
    for (body, field) in [
        (
            json!({"kind": "party", "client_id": c, "due_at": NOW}),
            "kind",
        ),
        (
            json!({"kind": "email", "client_id": "nope", "due_at": NOW}),
            "client_id",
        ),
        (
            json!({"kind": "email", "client_id": c, "due_at": -5}),
            "due_at",
        ),
        (
            json!({"kind": "email", "client_id": c, "due_at": NOW, "assignee": "ghost"}),
            "assignee",
        ),
    ] {
        let r = app.post("/api/events", Some(&ann.access), body).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn agent_state_changes_are_checked_recorded_and_wrap_up_ends_by_itself() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let put = |who: &Session, body: Value| {
        let token = who.access.clone();
        let app = &app;
        async move {
            app.call(Method::PUT, "/api/me/state", Some(&token), Some(body))
                .await
        }
    };
    let me = app.get("/api/me/state", &ann.access).await;
    assert_eq!(me.body["state"], "available");

    let r = put(&ann, json!({"state": "not_ready"})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason")
    );
    let r = put(&ann, json!({"state": "not_ready", "reason": "lunch"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["reason"], "lunch");
    app.clock.advance(MIN);
    let r = put(&ann, json!({"state": "wrap_up", "wrap_up_ms": 30_000})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    app.clock.advance(29_999);
    assert_eq!(
        app.get("/api/me/state", &ann.access).await.body["state"],
        "wrap_up"
    );
    app.clock.advance(1);
    assert_eq!(
        app.get("/api/me/state", &ann.access).await.body["state"],
        "available"
    );
    let r = put(&ann, json!({"state": "available"})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "state")
    );
    let r = put(&ann, json!({"state": "dnd"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = put(&ann, json!({"state": "wrap_up", "wrap_up_ms": 1000})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "state")
    );

    let states = app.get("/api/agents/states", &admin.access).await;
    assert_eq!(states.status, StatusCode::OK, "{:?}", states.body);
    let ann_state = states
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user_id"] == ann.user_id.as_str())
        .unwrap();
    assert_eq!(ann_state["state"], "dnd");
    let denied = app.get("/api/agents/states", &bob.access).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let history = format!(
        "/api/agents/{}/state-history?from={}&to={}",
        ann.user_id,
        NOW,
        NOW + HOUR
    );
    let h = app.get(&history, &admin.access).await;
    assert_eq!(h.status, StatusCode::OK, "{:?}", h.body);
    let steps: Vec<(&str, &str)> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["from"]["state"].as_str().unwrap(),
                c["to"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("available", "not_ready"),
            ("not_ready", "wrap_up"),
            ("available", "dnd")
        ]
    );
    assert_eq!(app.get(&history, &ann.access).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&history, &bob.access).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn openapi_documents_events_and_agent_state() {
    let app = App::new();
    let r = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/events",
        "/api/events/{id}",
        "/api/events/{id}/done",
        "/api/clients/{id}/events",
        "/api/me/state",
        "/api/agents/states",
        "/api/agents/{id}/state-history",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
}

#[tokio::test]
async fn the_company_sets_after_call_wrap_up_in_seconds() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let r = app.get("/api/company", &admin.access).await;
    assert_eq!(r.body["wrap_up_seconds"], Value::Null, "off by default");
    let r = app
        .patch(
            "/api/company",
            &admin.access,
            json!({"wrap_up_seconds": 45}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["wrap_up_seconds"], 45);
    for bad in [json!(0), json!(1801), json!(-5)] {
        let r = app
            .patch(
                "/api/company",
                &admin.access,
                json!({"wrap_up_seconds": bad}),
            )
            .await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, "wrap_up_seconds"),
            "{bad}: {:?}",
            r.body
        );
    }
    assert_eq!(
        app.get("/api/company", &admin.access).await.body["wrap_up_seconds"],
        45,
        "a refused change leaves it as it was"
    );
    let r = app
        .patch(
            "/api/company",
            &admin.access,
            json!({"wrap_up_seconds": null}),
        )
        .await;
    assert_eq!(r.body["wrap_up_seconds"], Value::Null);
}
