//! Filters (C7), tags (C6) and bulk actions (C4, C8) through the router and the queued worker.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{App, Session};

async fn run_bulk(app: &App) -> usize {
    let now = app.clock.clone();
    callisto_jobs::bulk::drain_bulk(&app.state.repos, &app.state.stores, move || {
        use callisto_api::Clock;
        now.now_ms()
    })
    .await
    .unwrap()
}

async fn card(app: &App, who: &Session, body: Value) -> String {
    let r = app.post("/api/clients", Some(&who.access), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The session after its access token expired: renewed with the refresh token.
async fn renewed(app: &App, s: Session) -> Session {
    let r = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    Session {
        access: r.body["access_token"].as_str().unwrap().into(),
        refresh: r.body["refresh_token"].as_str().unwrap().into(),
        user_id: s.user_id,
    }
}

/// Names of the cards a list request returns, sorted, and whether a cursor came back.
async fn names(app: &App, who: &Session, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/clients?{query}"), &who.access).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
    let mut out: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn list_filters_by_tag_owner_kind_period_and_local_time() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    // The test clock starts at 2026-09-21 14:13 UTC: 17:13 in Moscow, 00:13 the next day in Vladivostok.
    card(&app, &admin, json!({"kind": "contact", "last_name": "Moscow", "phones": ["+7 495 123-45-67"], "tags": ["vip"]})).await;
    card(&app, &admin, json!({"kind": "contact", "last_name": "Vladivostok", "phones": ["+7 423 212-34-56"], "tags": ["expo"], "client_type": "customer"})).await;
    card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Handed", "responsible_id": ivan.user_id}),
    )
    .await;
    card(
        &app,
        &admin,
        json!({"kind": "organization", "name": "Acme Org", "city": "Novosibirsk"}),
    )
    .await;

    assert_eq!(names(&app, &admin, "tags=vip").await, ["Moscow"]);
    assert_eq!(
        names(&app, &admin, "tags=vip,expo").await,
        ["Moscow", "Vladivostok"]
    );
    assert_eq!(
        names(&app, &admin, &format!("responsible={}", ivan.user_id)).await,
        ["Handed"]
    );
    assert_eq!(names(&app, &admin, "kind=organization").await, ["Acme Org"]);
    assert_eq!(
        names(&app, &admin, "client_type=customer").await,
        ["Vladivostok"]
    );
    assert_eq!(names(&app, &admin, "not_called=true").await.len(), 4);
    // Night in Vladivostok; Novosibirsk (from the city) is at 21:13, after 21:00.
    assert_eq!(
        names(&app, &admin, "local_time=09:00-21:00").await,
        ["Handed", "Moscow"]
    );
    assert_eq!(
        names(&app, &admin, "local_time=09:00-22:00&tags=vip,expo").await,
        ["Moscow"]
    );
    assert_eq!(
        names(&app, &admin, "q=vladiv&tags=expo").await,
        ["Vladivostok"]
    );
    assert!(names(&app, &admin, "q=vladiv&tags=vip").await.is_empty());

    // Two days later one card is edited: the period filters tell it apart.
    app.clock.advance(2 * 24 * 3600 * 1000);
    let admin = renewed(&app, admin).await;
    let ivan = renewed(&app, ivan).await;
    let all = app.get("/api/clients?tags=vip", &admin.access).await;
    let moscow = all.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .patch(
            &format!("/api/clients/{moscow}"),
            &admin.access,
            json!({"city": "Moscow"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        names(&app, &admin, "modified_from=2026-09-23").await,
        ["Moscow"]
    );
    assert_eq!(
        names(&app, &admin, "modified_to=2026-09-22").await,
        ["Acme Org", "Handed", "Vladivostok"]
    );
    assert!(
        names(&app, &admin, "modified_to=2026-09-20")
            .await
            .is_empty()
    );

    // A manager's filter never reaches past his own cards.
    assert_eq!(names(&app, &ivan, "").await, ["Handed"]);
    assert!(names(&app, &ivan, "tags=vip").await.is_empty());
    assert!(
        names(&app, &ivan, &format!("responsible={}", admin.user_id))
            .await
            .is_empty()
    );

    // Paging through a filter: short pages, then the rest by the cursor.
    let first = app
        .get("/api/clients?tags=vip,expo&limit=1", &admin.access)
        .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    let cursor = first.body["cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/clients?tags=vip,expo&limit=5&cursor={cursor}"),
            &admin.access,
        )
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(rest.body["items"][0]["id"], first.body["items"][0]["id"]);

    // Bad filters are named and answer 400.
    for (query, field) in [
        ("local_time=9-21", "local_time"),
        ("modified_from=yesterday", "modified_from"),
        (
            "modified_from=2026-09-23&modified_to=2026-09-01",
            "modified_to",
        ),
        ("responsible=not%20an%20id", "responsible"),
        ("kind=robot", "kind"),
        ("tags=a;b", "tags"),
        ("colour=red", "colour"),
    ] {
        let r = app
            .get(&format!("/api/clients?{query}"), &admin.access)
            .await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::BAD_REQUEST, field),
            "{query}: {:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn bulk_actions_tag_hand_over_and_delete_with_history_and_notifications() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let olga = app.invite(&admin, "olga@acme.ru", "manager", None).await;
    let a = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Alpha"}),
    )
    .await;
    let b = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Beta"}),
    )
    .await;
    let c = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Gamma"}),
    )
    .await;

    // Tag a selection.
    let r = app
        .post(
            "/api/clients/bulk",
            Some(&admin.access),
            json!({"action": "add_tags", "tags": ["hot"], "ids": [a, b]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["total"].as_u64()),
        (Some("queued"), Some(2))
    );
    let job = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(run_bulk(&app).await, 1);
    let done = app.get(&format!("/api/bulk/{job}"), &admin.access).await;
    assert_eq!(done.body["status"], "done", "{:?}", done.body);
    assert_eq!(
        (done.body["changed"].as_u64(), done.body["done"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(names(&app, &admin, "tags=hot").await, ["Alpha", "Beta"]);
    let history = app
        .get(&format!("/api/clients/{a}/history"), &admin.access)
        .await;
    assert_eq!(
        history.body["items"][0]["kind"], "updated",
        "{:?}",
        history.body
    );
    let tags = app.get("/api/tags", &admin.access).await;
    assert_eq!(tags.body["tags"], json!(["hot"]));

    // Hand over everything a filter selects: the new owner is told, the history says so.
    let r = app
        .post(
            "/api/clients/bulk",
            Some(&admin.access),
            json!({"action": "assign", "responsible_id": ivan.user_id, "filter": {"tags": "hot"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    run_bulk(&app).await;
    assert_eq!(names(&app, &ivan, "").await, ["Alpha", "Beta"]);
    let notes = app.get("/api/notifications", &ivan.access).await;
    assert_eq!(
        notes.body["items"].as_array().unwrap().len(),
        2,
        "{:?}",
        notes.body
    );
    let history = app
        .get(&format!("/api/clients/{b}/history"), &ivan.access)
        .await;
    assert!(
        history.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "responsible_changed"),
        "{:?}",
        history.body
    );

    // The same hand-over again changes nothing and tells nobody twice.
    let r = app
        .post(
            "/api/clients/bulk",
            Some(&admin.access),
            json!({"action": "assign", "responsible_id": ivan.user_id, "filter": {"tags": "hot"}}),
        )
        .await;
    run_bulk(&app).await;
    let again = app
        .get(
            &format!("/api/bulk/{}", r.body["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(
        (
            again.body["changed"].as_u64(),
            again.body["unchanged"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let notes = app.get("/api/notifications", &ivan.access).await;
    assert_eq!(notes.body["items"].as_array().unwrap().len(), 2);

    // A manager's selection reaches only his cards; others count as refused.
    let r = app
        .post(
            "/api/clients/bulk",
            Some(&ivan.access),
            json!({"action": "assign", "responsible_id": olga.user_id, "ids": [a, c]}),
        )
        .await;
    let job = r.body["id"].as_str().unwrap().to_string();
    run_bulk(&app).await;
    let done = app.get(&format!("/api/bulk/{job}"), &ivan.access).await;
    assert_eq!(
        (done.body["changed"].as_u64(), done.body["refused"].as_u64()),
        (Some(1), Some(1)),
        "{:?}",
        done.body
    );
    assert!(
        done.body["last_refusal"]
            .as_str()
            .unwrap()
            .contains("not yours")
    );
    assert_eq!(names(&app, &olga, "").await, ["Alpha"]);
    // Another manager does not see the job.
    let hidden = app.get(&format!("/api/bulk/{job}"), &olga.access).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // Delete everything the manager sees: only his card goes to the bin.
    let r = app
        .post(
            "/api/clients/bulk",
            Some(&ivan.access),
            json!({"action": "delete", "filter": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    run_bulk(&app).await;
    assert!(names(&app, &ivan, "").await.is_empty());
    assert_eq!(names(&app, &admin, "").await, ["Alpha", "Gamma"]);
    let bin = app.get("/api/clients-bin", &admin.access).await;
    assert_eq!(bin.body["items"][0]["name"], "Beta");

    // Bad requests are named and queue nothing.
    for (body, field) in [
        (json!({"action": "delete"}), "ids"),
        (json!({"action": "delete", "ids": [a], "filter": {}}), "ids"),
        (json!({"action": "paint", "ids": [a]}), "action"),
        (
            json!({"action": "assign", "responsible_id": "nobody", "ids": [a]}),
            "responsible_id",
        ),
        (json!({"action": "add_tags", "ids": [a]}), "tags"),
        (
            json!({"action": "add_tags", "tags": ["a;b"], "ids": [a]}),
            "tags",
        ),
        (json!({"action": "delete", "ids": [a, "bad id"]}), "ids[1]"),
        (
            json!({"action": "delete", "filter": {"local_time": "noon"}}),
            "filter.local_time",
        ),
        (
            json!({"action": "delete", "filter": {"colour": "red"}}),
            "filter.colour",
        ),
    ] {
        let r = app
            .post("/api/clients/bulk", Some(&admin.access), body.clone())
            .await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{body}: {:?}",
            r.body
        );
    }
    assert_eq!(run_bulk(&app).await, 0, "nothing was queued");
}

#[tokio::test]
async fn tags_admin_sees_all_manager_sees_own_and_admin_removes_one_everywhere() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let olga = app.invite(&admin, "olga@acme.ru", "manager", None).await;
    let boss_card = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "A", "tags": ["vip", "expo"]}),
    )
    .await;
    card(
        &app,
        &ivan,
        json!({"kind": "contact", "last_name": "B", "tags": ["vip", "ivan-list"]}),
    )
    .await;
    card(
        &app,
        &olga,
        json!({"kind": "contact", "last_name": "C", "tags": ["olga-list"]}),
    )
    .await;
    // A tag added by an edit is listed too.
    app.patch(
        &format!("/api/clients/{boss_card}"),
        &admin.access,
        json!({"tags": ["vip", "expo", "spring"]}),
    )
    .await;

    let all = app.get("/api/tags", &admin.access).await;
    assert_eq!(
        all.body["tags"],
        json!(["expo", "ivan-list", "olga-list", "spring", "vip"])
    );
    let own = app.get("/api/tags", &ivan.access).await;
    assert_eq!(own.body["tags"], json!(["ivan-list", "vip"]));

    let r = app
        .call(Method::DELETE, "/api/tags/vip", Some(&ivan.access), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::DELETE, "/api/tags/vip", Some(&admin.access), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    run_bulk(&app).await;
    assert!(names(&app, &admin, "tags=vip").await.is_empty());
    assert_eq!(names(&app, &admin, "tags=expo").await, ["A"]);
    let all = app.get("/api/tags", &admin.access).await;
    assert_eq!(
        all.body["tags"],
        json!(["expo", "ivan-list", "olga-list", "spring"])
    );
    let own = app.get("/api/tags", &ivan.access).await;
    assert_eq!(own.body["tags"], json!(["ivan-list"]));
    let gone = app
        .call(Method::DELETE, "/api/tags/vip", Some(&admin.access), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
