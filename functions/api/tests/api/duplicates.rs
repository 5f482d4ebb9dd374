//! Duplicates through the router and the queued search (PRODUCT C9).

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{App, Session};

async fn run_worker(app: &App) -> usize {
    let now = app.clock.clone();
    callisto_jobs::duplicates::drain_duplicates(&app.state.repos, &app.state.stores, move || {
        use callisto_api::Clock;
        now.now_ms()
    })
    .await
    .unwrap()
}

async fn card(app: &App, who: &Session, body: Value) -> String {
    let mut body = body;
    body["allow_duplicates"] = json!(true);
    let r = app.post("/api/clients", Some(&who.access), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Starts a search, runs the worker, returns the search id.
async fn searched(app: &App, who: &Session, body: Value) -> String {
    let r = app.post("/api/duplicates", Some(&who.access), body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["status"], "queued");
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(run_worker(app).await, 1);
    let s = app.get(&format!("/api/duplicates/{id}"), &who.access).await;
    assert_eq!(s.body["status"], "done", "{:?}", s.body);
    id
}

async fn groups(app: &App, who: &Session, id: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/duplicates/{id}/groups"), &who.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_manager_searches_only_own_cards() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let olga = app
        .invite(&admin, "olga@acme.ru", "manager", Some("101"))
        .await;
    for _ in 0..2 {
        card(
            &app,
            &admin,
            json!({"kind": "contact", "last_name": "Админов", "phones": ["+7 912 000-00-01"]}),
        )
        .await;
        card(&app, &admin, json!({"kind": "contact", "last_name": "Ольгин", "phones": ["+7 912 000-00-02"], "responsible_id": olga.user_id})).await;
    }
    // A manager may not search the whole account, nor another user's cards.
    let r = app
        .post(
            "/api/duplicates",
            Some(&olga.access),
            json!({"scope": "account"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "scope")
    );
    let r = app
        .post(
            "/api/duplicates",
            Some(&olga.access),
            json!({"scope": "users", "users": [admin.user_id]}),
        )
        .await;
    assert_eq!(r.field(), "users");

    let mine = searched(&app, &olga, json!({})).await;
    let s = app
        .get(&format!("/api/duplicates/{mine}"), &olga.access)
        .await;
    assert_eq!(
        (s.body["scope"].as_str(), s.body["cards_scanned"].as_u64()),
        (Some("own"), Some(2))
    );
    let found = groups(&app, &olga, &mine).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["by"], "phone");
    assert_eq!(found[0]["value"], "+79120000002");
    assert_eq!(found[0]["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        found[0]["members"][0]["responsible"]["id"],
        olga.user_id.as_str()
    );
    assert_eq!(found[0]["members"][0]["name"], "Ольгин");

    let all = searched(
        &app,
        &admin,
        json!({"by_email": false, "objects": "contacts"}),
    )
    .await;
    assert_eq!(groups(&app, &admin, &all).await.len(), 2);
    // Another user's search does not exist for a manager.
    let other = app
        .get(&format!("/api/duplicates/{all}"), &olga.access)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let other = app
        .get(&format!("/api/duplicates/{all}/groups"), &olga.access)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn merge_moves_data_history_and_nested_contacts_and_notifies() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let olga = app
        .invite(&admin, "olga@acme.ru", "manager", Some("101"))
        .await;
    let base = card(&app, &admin, json!({"kind": "organization", "name": "ООО Ромашка", "phones": ["+7 495 123-45-67"], "tags": ["VIP"]})).await;
    let dup = card(&app, &admin, json!({"kind": "organization", "name": "Ромашка ООО", "phones": ["+7 495 123-45-67", "+7 495 765-43-21"], "emails": ["info@romashka.ru"], "city": "Тверь", "tags": ["опт"], "responsible_id": olga.user_id})).await;
    let nested = card(
        &app,
        &olga,
        json!({"kind": "contact", "last_name": "Петров", "organization_id": dup}),
    )
    .await;
    let c = app
        .post(
            &format!("/api/clients/{dup}/comments"),
            Some(&olga.access),
            json!({"text": "звонили, просили КП"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);

    let id = searched(&app, &admin, json!({"objects": "organizations"})).await;
    let found = groups(&app, &admin, &id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(member_ids(&found[0]), [base.clone(), dup.clone()]);
    let n = found[0]["n"].as_u64().unwrap();
    let company = app.get("/api/company", &admin.access).await;
    let t = callisto_domain::ids::TenantId::parse(company.body["id"].as_str().unwrap()).unwrap();
    let dedup = callisto_domain::duplicates::DedupId::parse(id.clone()).unwrap();
    let before = app
        .state
        .repos
        .duplicates
        .group(&t, &dedup, n as u32)
        .await
        .unwrap();

    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/{n}/merge"),
            Some(&admin.access),
            json!({"base": base}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["removed"], json!([dup]));
    assert_eq!(r.body["moved_contacts"], json!([nested]));
    // Base fields stay, empty ones are filled, lists are united.
    let merged = app
        .get(&format!("/api/clients/{base}"), &admin.access)
        .await;
    assert_eq!(merged.body["name"], "ООО Ромашка");
    assert_eq!(merged.body["city"], "Тверь");
    assert_eq!(merged.body["emails"], json!(["info@romashka.ru"]));
    assert_eq!(merged.body["tags"], json!(["VIP", "опт"]));
    assert_eq!(merged.body["phones"].as_array().unwrap().len(), 2);
    // The nested contact now belongs to the base organization.
    let contact = app
        .get(&format!("/api/clients/{nested}"), &admin.access)
        .await;
    assert_eq!(contact.body["organization_id"], base.as_str());
    // The duplicate's history is in the base's, with the merge itself.
    let history = app
        .get(&format!("/api/clients/{base}/history"), &admin.access)
        .await;
    let texts: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"звонили, просили КП"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("merged 1 duplicate")),
        "{texts:?}"
    );
    // The duplicate is in the recycle bin, restorable, with a history entry naming the base.
    assert_eq!(
        app.get(&format!("/api/clients/{dup}"), &admin.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bin = app.get("/api/clients-bin", &admin.access).await;
    assert!(
        bin.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == dup.as_str())
    );
    let dup_history = app
        .get(&format!("/api/clients/{dup}/history"), &admin.access)
        .await;
    assert_eq!(dup_history.body["items"][0]["kind"], "deleted");
    assert_eq!(
        dup_history.body["items"][0]["details"]["merged_into"],
        base.as_str()
    );
    // The manager whose cards were touched is told, once.
    let notes = app.get("/api/notifications", &olga.access).await;
    let notes = notes.body["items"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["text"].as_str().unwrap().contains("Ромашка"));
    // The group is settled; the merged card can still be restored.
    let again = app
        .post(
            &format!("/api/duplicates/{id}/groups/{n}/merge"),
            Some(&admin.access),
            json!({"base": base}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "group_resolved")
    );
    assert!(
        groups(&app, &admin, &id).await[0]["resolved"]
            .as_bool()
            .unwrap()
    );
    let restored = app
        .post(
            &format!("/api/clients/{dup}/restore"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{:?}", restored.body);

    // A merge interrupted before it finished (here: the group not yet marked
    // resolved, the duplicate not yet binned) is run again: it completes, and
    // the base still has one "merged" line, its owner one notification.
    let g = app
        .state
        .repos
        .duplicates
        .group(&t, &dedup, n as u32)
        .await
        .unwrap();
    app.state
        .repos
        .duplicates
        .save_group(&t, &dedup, &before.value, g.version)
        .await
        .unwrap();
    let rerun = app
        .post(
            &format!("/api/duplicates/{id}/groups/{n}/merge"),
            Some(&admin.access),
            json!({"base": base}),
        )
        .await;
    assert_eq!(rerun.status, StatusCode::OK, "{:?}", rerun.body);
    let history = app
        .get(&format!("/api/clients/{base}/history"), &admin.access)
        .await;
    let merges = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["text"]
                .as_str()
                .unwrap()
                .starts_with("merged 1 duplicate")
        })
        .count();
    assert_eq!(merges, 1);
    assert_eq!(
        app.get(&format!("/api/clients/{dup}"), &admin.access)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "binned again"
    );
}

#[tokio::test]
async fn delete_keeps_one_card_and_bins_the_others() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let a = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Первый", "emails": ["same@mail.ru"]}),
    )
    .await;
    let b = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Второй", "emails": ["Same@Mail.ru"]}),
    )
    .await;
    let c = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Третий", "emails": ["same@mail.ru"]}),
    )
    .await;
    let id = searched(&app, &admin, json!({"by_phone": false})).await;
    let found = groups(&app, &admin, &id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["by"], "email");
    assert_eq!(member_ids(&found[0]), [a.clone(), b.clone(), c.clone()]);
    // Only some of them: the group stays open with the rest.
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/0/delete"),
            Some(&admin.access),
            json!({"keep": a, "members": [b]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["removed"], json!([b]));
    let left = groups(&app, &admin, &id).await;
    assert_eq!(member_ids(&left[0]), [a.clone(), c.clone()]);
    assert!(!left[0]["resolved"].as_bool().unwrap());
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/0/delete"),
            Some(&admin.access),
            json!({"keep": a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for gone in [&b, &c] {
        assert_eq!(
            app.get(&format!("/api/clients/{gone}"), &admin.access)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        app.get(&format!("/api/clients/{a}"), &admin.access)
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        groups(&app, &admin, &id).await[0]["resolved"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn a_changed_group_is_refused_naming_the_card_and_bad_input_names_the_field() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let a = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Первый", "phones": ["+7 912 000-00-01"]}),
    )
    .await;
    let b = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Второй", "phones": ["+7 912 000-00-01"]}),
    )
    .await;
    let other = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Чужой", "phones": ["+7 912 000-00-09"]}),
    )
    .await;
    let id = searched(&app, &admin, json!({})).await;
    let merge = |body: Value| {
        let app = &app;
        let token = admin.access.clone();
        let path = format!("/api/duplicates/{id}/groups/0/merge");
        async move { app.post(&path, Some(&token), body).await }
    };
    // The base must be one of the group's cards.
    let r = merge(json!({"base": other})).await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "base")
    );
    let r = merge(json!({"base": a, "members": [other]})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "members")
    );
    let r = merge(json!({"base": a, "members": [a]})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "members")
    );
    let r = merge(json!({"base": a, "bse": a})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/api/duplicates",
            Some(&admin.access),
            json!({"objects": "people"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "objects")
    );
    let r = app
        .post(
            "/api/duplicates",
            Some(&admin.access),
            json!({"by_phone": false, "by_email": false}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "by_phone")
    );
    let r = app
        .post(
            "/api/duplicates/nope/groups/0/merge",
            Some(&admin.access),
            json!({"base": a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/7/merge"),
            Some(&admin.access),
            json!({"base": a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The second card was edited since the search: its number is gone.
    let p = app
        .patch(
            &format!("/api/clients/{b}"),
            &admin.access,
            json!({"phones": ["+7 912 000-00-05"]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    let r = merge(json!({"base": a})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "group_changed")
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&b) && message.contains("Второй"),
        "{message}"
    );
    // Nothing was merged.
    let base = app.get(&format!("/api/clients/{a}"), &admin.access).await;
    assert_eq!(base.body["phones"].as_array().unwrap().len(), 1);
    // A deleted card is named too.
    let id = searched(&app, &admin, json!({})).await;
    assert!(groups(&app, &admin, &id).await.is_empty());
    let c = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Третий", "phones": ["+7 912 000-00-01"]}),
    )
    .await;
    let id = searched(&app, &admin, json!({})).await;
    let del = app
        .call(
            axum::http::Method::DELETE,
            &format!("/api/clients/{c}"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/0/delete"),
            Some(&admin.access),
            json!({"keep": a}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "group_changed")
    );
    assert!(r.body["error"]["message"].as_str().unwrap().contains(&c));
}

#[tokio::test]
async fn contacts_of_organizations_are_not_merged_with_each_other() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let o1 = card(
        &app,
        &admin,
        json!({"kind": "organization", "name": "Альфа"}),
    )
    .await;
    let o2 = card(
        &app,
        &admin,
        json!({"kind": "organization", "name": "Бета"}),
    )
    .await;
    let in1 = card(&app, &admin, json!({"kind": "contact", "last_name": "Первый", "organization_id": o1, "phones": ["+7 912 000-00-01"]})).await;
    let in2 = card(&app, &admin, json!({"kind": "contact", "last_name": "Второй", "organization_id": o2, "phones": ["+7 912 000-00-01"]})).await;
    let id = searched(&app, &admin, json!({})).await;
    // Two nested contacts alone make no group.
    assert!(groups(&app, &admin, &id).await.is_empty());
    let free = card(
        &app,
        &admin,
        json!({"kind": "contact", "last_name": "Свободный", "phones": ["+7 912 000-00-01"]}),
    )
    .await;
    let id = searched(&app, &admin, json!({})).await;
    let found = groups(&app, &admin, &id).await;
    assert_eq!(
        member_ids(&found[0]),
        [in1.clone(), in2.clone(), free.clone()]
    );
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/0/merge"),
            Some(&admin.access),
            json!({"base": in1, "members": [in2]}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "members")
    );
    let r = app
        .post(
            &format!("/api/duplicates/{id}/groups/0/merge"),
            Some(&admin.access),
            json!({"base": in1, "members": [free]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}
