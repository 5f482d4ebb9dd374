//! Client cards through the router: phones, duplicates, scope, hand-over, recycle bin.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::App;

#[tokio::test]
async fn cards_store_e164_show_formatted_and_warn_on_duplicates() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let r = app
        .post("/api/clients", Some(&admin.access), json!({"kind": "contact", "first_name": "Иван", "last_name": "Петров", "phones": ["8 (912) 345-67-89", "+48 601 234 567", "89123456789"], "emails": ["Ivan@Mail.RU"], "tags": ["VIP"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["name"], "Петров Иван");
    assert_eq!(
        r.body["phones"].as_array().unwrap().len(),
        2,
        "repeats are dropped"
    );
    assert_eq!(r.body["phones"][0]["e164"], "+79123456789");
    assert_eq!(r.body["phones"][1]["e164"], "+48601234567");
    assert_ne!(
        r.body["phones"][0]["display"], "+79123456789",
        "display is formatted"
    );
    assert_eq!(r.body["emails"][0], "ivan@mail.ru");
    assert_eq!(r.body["responsible_id"], admin.user_id.as_str());
    let first = r.body["id"].as_str().unwrap().to_string();

    // The same number typed differently is recognised as a duplicate (C3).
    let dup = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "organization", "name": "ООО Ромашка", "phones": ["+7 912 345 67 89"]}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.code(), dup.field()),
        (StatusCode::CONFLICT, "duplicate", "phones[0]")
    );
    assert!(
        dup.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Петров Иван"),
        "{:?}",
        dup.body
    );
    let dup_mail = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "contact", "last_name": "X", "emails": ["IVAN@mail.ru"]}),
        )
        .await;
    assert_eq!(
        (dup_mail.status, dup_mail.field()),
        (StatusCode::CONFLICT, "emails[0]")
    );
    let anyway = app.post("/api/clients", Some(&admin.access), json!({"kind": "organization", "name": "ООО Ромашка", "phones": ["+7 912 345 67 89"], "allow_duplicates": true})).await;
    assert_eq!(anyway.status, StatusCode::CREATED);

    // Bad input names the field and creates nothing.
    let cases = [
        (
            json!({"kind": "contact", "last_name": "Y", "phones": ["+7 912 000 00 01", "12"]}),
            "phones[1]",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "phones": ["звоните вечером"]}),
            "phones[0]",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "emails": ["nope"]}),
            "emails[0]",
        ),
        (json!({"kind": "person", "last_name": "Y"}), "kind"),
        (json!({"kind": "contact"}), "last_name"),
        (
            json!({"kind": "organization", "name": "Z", "inn": "1234567890"}),
            "inn",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "city": "я".repeat(251)}),
            "city",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "tags": ["a;b"]}),
            "tags",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "organization_id": first}),
            "organization_id",
        ),
        (
            json!({"kind": "contact", "last_name": "Y", "responsible_id": "nobody"}),
            "responsible_id",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/api/clients", Some(&admin.access), body).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{:?}",
            r.body
        );
    }
    assert_eq!(
        app.get("/api/clients", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn managers_see_own_cards_leaders_their_group_admins_all() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let g = app
        .post("/api/groups", Some(&admin.access), json!({"name": "Sales"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let olga = app.invite(&admin, "olga@acme.ru", "manager", None).await;
    let lead = app
        .invite(&admin, "lead@acme.ru", "group_leader", None)
        .await;
    for u in [&ivan.user_id, &lead.user_id] {
        app.patch(
            &format!("/api/users/{u}"),
            &admin.access,
            json!({"group_id": g}),
        )
        .await;
    }
    let mk = |name: &str| json!({"kind": "contact", "last_name": name});
    let ivans = app
        .post("/api/clients", Some(&ivan.access), mk("Ivan's"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/api/clients", Some(&olga.access), mk("Olga's"))
        .await;
    app.post("/api/clients", Some(&admin.access), mk("Admin's"))
        .await;

    let names = |r: &support::Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&app.get("/api/clients", &ivan.access).await),
        ["Ivan's"]
    );
    assert_eq!(
        names(&app.get("/api/clients", &olga.access).await),
        ["Olga's"]
    );
    assert_eq!(
        names(&app.get("/api/clients", &lead.access).await),
        ["Ivan's"]
    );
    assert_eq!(
        names(&app.get("/api/clients", &admin.access).await).len(),
        3
    );
    // Another manager's card does not exist for Olga, to read, change or delete.
    let path = format!("/api/clients/{ivans}");
    assert_eq!(
        app.get(&path, &olga.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&path, &olga.access, json!({"city": "Тверь"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&olga.access), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&path, &lead.access).await.status, StatusCode::OK);

    // Hand-over (C4): the owner gives the card to Olga; then Ivan no longer sees it.
    let r = app
        .patch(&path, &ivan.access, json!({"responsible_id": olga.user_id}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.get(&path, &ivan.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        names(&app.get("/api/clients", &olga.access).await),
        ["Ivan's", "Olga's"] // creation order
    );
    // The group leader sees a card only while it is in the group.
    assert_eq!(
        app.get(&path, &lead.access).await.status,
        StatusCode::NOT_FOUND
    );

    // Another company sees none of it.
    let other = app.company("boss@other.ru").await;
    assert_eq!(
        app.get(&path, &other.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.get("/api/clients", &other.access).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn organizations_nest_contacts_and_the_bin_keeps_cards_thirty_days() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let org = app.post("/api/clients", Some(&admin.access), json!({"kind": "organization", "name": "ООО Ромашка", "inn": "7707083893", "phones": ["+7 495 123-45-67"]})).await;
    assert_eq!(org.status, StatusCode::CREATED, "{:?}", org.body);
    let org_id = org.body["id"].as_str().unwrap().to_string();
    let person = app.post("/api/clients", Some(&admin.access), json!({"kind": "contact", "first_name": "Анна", "organization_id": org_id, "position": "Директор"})).await;
    assert_eq!(person.body["organization_id"], org_id.as_str());
    let pid = person.body["id"].as_str().unwrap().to_string();

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/clients/{org_id}"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "has_contacts"));
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/clients/{pid}"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/clients/{pid}"), &admin.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bin = app.get("/api/clients-bin", &admin.access).await;
    assert_eq!(bin.body["items"][0]["id"], pid.as_str());
    assert!(bin.body["items"][0]["deleted_at"].is_i64());

    let r = app
        .post(
            &format!("/api/clients/{pid}/restore"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/clients/{pid}"), &admin.access)
            .await
            .body["position"],
        "Директор"
    );
    let r = app
        .post(
            &format!("/api/clients/{pid}/restore"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "not_deleted"));

    // The organization's phone is free again once it is deleted, and it can come back within 30 days only.
    app.call(
        Method::DELETE,
        &format!("/api/clients/{pid}"),
        Some(&admin.access),
        None,
    )
    .await;
    app.call(
        Method::DELETE,
        &format!("/api/clients/{org_id}"),
        Some(&admin.access),
        None,
    )
    .await;
    let again = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "organization", "name": "Другая", "phones": ["84951234567"]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    app.clock.advance(30 * 24 * 3600 * 1000);
    let admin = app.login("boss@acme.ru", support::PASSWORD).await;
    let r = app
        .post(
            &format!("/api/clients/{org_id}/restore"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "expired"));
}

#[tokio::test]
async fn history_records_changes_comments_and_hand_overs_with_a_notification() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let olga = app.invite(&admin, "olga@acme.ru", "manager", None).await;
    let id = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "contact", "last_name": "Сидоров"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/clients/{id}");
    app.patch(
        &path,
        &admin.access,
        json!({"city": "Казань", "phones": ["89123456789"]}),
    )
    .await;
    let c = app
        .post(
            &format!("{path}/comments"),
            Some(&admin.access),
            json!({"text": "Просил перезвонить после обеда"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    let empty = app
        .post(
            &format!("{path}/comments"),
            Some(&admin.access),
            json!({"text": "   "}),
        )
        .await;
    assert_eq!(
        (empty.status, empty.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "text")
    );
    assert!(
        app.get("/api/notifications", &olga.access).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.patch(
        &path,
        &admin.access,
        json!({"responsible_id": olga.user_id}),
    )
    .await;

    let h = app.get(&format!("{path}/history"), &admin.access).await;
    let kinds: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["responsible_changed", "comment", "updated", "created"]
    );
    assert_eq!(h.body["items"][2]["details"]["fields"], "city,phones");
    assert_eq!(h.body["items"][0]["details"]["to"], olga.user_id.as_str());
    let only = app
        .get(&format!("{path}/history?kind=comment"), &admin.access)
        .await;
    assert_eq!(only.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        only.body["items"][0]["text"],
        "Просил перезвонить после обеда"
    );
    let bad = app
        .get(&format!("{path}/history?kind=gossip"), &admin.access)
        .await;
    assert_eq!((bad.status, bad.field()), (StatusCode::BAD_REQUEST, "kind"));

    // The new owner is told, and can now read the card's history.
    let notes = app.get("/api/notifications", &olga.access).await;
    assert_eq!(notes.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(notes.body["items"][0]["client_id"], id.as_str());
    assert!(
        notes.body["items"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Сидоров")
    );
    assert_eq!(
        app.get(&format!("{path}/history"), &olga.access)
            .await
            .status,
        StatusCode::OK
    );

    // The responsible user corrects a comment (C5); change records stay as written.
    let comment = only.body["items"][0]["id"].as_str().unwrap();
    let created = h.body["items"][3]["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("{path}/history/{comment}"),
            &olga.access,
            json!({"text": "Просил перезвонить в 15:00"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["edited_by"], olga.user_id.as_str());
    let only = app
        .get(&format!("{path}/history?kind=comment"), &admin.access)
        .await;
    assert_eq!(only.body["items"][0]["text"], "Просил перезвонить в 15:00");
    let r = app
        .patch(
            &format!("{path}/history/{created}"),
            &admin.access,
            json!({"text": "x"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "not_editable"));
    let r = app
        .patch(
            &format!("{path}/history/{comment}"),
            &admin.access,
            json!({"text": " "}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "text")
    );
    let r = app
        .patch(
            &format!("{path}/history/NOSUCHENTRY"),
            &admin.access,
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let r = app
        .patch(
            &format!("{path}/history/{comment}"),
            &ivan.access,
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another manager's card does not exist for him"
    );
}

#[tokio::test]
async fn search_finds_cards_by_name_mail_and_phone_within_scope() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let make = |s: &support::Session, body: serde_json::Value| {
        let token = s.access.clone();
        let app = &app;
        async move {
            assert_eq!(
                app.post("/api/clients", Some(&token), body).await.status,
                StatusCode::CREATED
            )
        }
    };
    make(&ivan, json!({"kind": "contact", "first_name": "Пётр", "last_name": "Петров", "phones": ["8 912 345-67-89"], "emails": ["p.petrov@romashka.ru"], "city": "Нижний Новгород"})).await;
    make(&admin, json!({"kind": "contact", "first_name": "Павел", "last_name": "Петренко", "phones": ["+7 495 000-11-22"]})).await;
    make(
        &admin,
        json!({"kind": "organization", "name": "ООО Ромашка"}),
    )
    .await;

    let found = |q: &str, who: &support::Session| {
        let path = format!(
            "/api/clients?q={}",
            q.replace(' ', "%20").replace('+', "%2B")
        );
        let token = who.access.clone();
        let app = &app;
        async move {
            let r = app.get(&path, &token).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        found("петр", &admin).await,
        ["Петров Пётр", "Петренко Павел"] // in index order: "петр" before "петренко"
    );
    assert_eq!(found("Петров пётр", &admin).await, ["Петров Пётр"]);
    assert_eq!(found("новгород", &admin).await, ["Петров Пётр"]);
    assert_eq!(found("petrov", &admin).await, ["Петров Пётр"]);
    assert_eq!(found("8 912 345", &admin).await, ["Петров Пётр"]);
    assert_eq!(found("+7 495", &admin).await, ["Петренко Павел"]);
    assert_eq!(found("ромашка", &admin).await, ["ООО Ромашка"]);
    assert!(found("сидоров", &admin).await.is_empty());
    // The manager finds only his own cards.
    assert_eq!(found("петр", &ivan).await, ["Петров Пётр"]);
    // Renamed cards are found by the new name only.
    let id = app.get("/api/clients?q=petrov", &admin.access).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/api/clients/{id}"),
        &admin.access,
        json!({"last_name": "Сидоров"}),
    )
    .await;
    assert_eq!(found("сидоров", &admin).await, ["Сидоров Пётр"]);
    assert!(found("петров", &admin).await.is_empty());
}

async fn download(app: &App, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        resp.status(),
        ct,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

fn read_back(bytes: &[u8], name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let detected = callisto_tabular::detect(&path, name, None).unwrap();
    let reader =
        callisto_tabular::Reader::open(&path, &detected, &callisto_tabular::ReadOptions::default())
            .unwrap();
    let header = reader.header().to_vec();
    (header, reader.map(|r| r.unwrap().cells).collect())
}

#[tokio::test]
async fn export_writes_what_the_caller_sees_as_xlsx_or_csv() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let org = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "organization", "name": "ООО Ромашка", "inn": "7707083893"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna = app
        .post("/api/clients", Some(&ivan.access), json!({"kind": "contact", "first_name": "Анна", "last_name": "Иванова", "organization_id": null, "phones": ["89123456789", "+48601234567"], "tags": ["VIP", "=cmd"]}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, ct, bytes) = download(&app, "/api/clients/export?format=csv", &admin.access).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let (header, rows) = read_back(&bytes, "contacts.csv");
    assert_eq!(&header[..4], ["ID", "Тип", "Организация", "Фамилия"]);
    assert_eq!(rows.len(), 2);
    let anna_row = rows.iter().find(|r| r[0] == anna).unwrap();
    assert_eq!(anna_row[6], "Иванова Анна");
    assert!(
        anna_row[8].contains("+7 912 345-67-89") && anna_row[8].contains("+48"),
        "{anna_row:?}"
    );
    assert_eq!(anna_row[16], "Ivan Petrov", "responsible by name");
    // 1_790_000_000_000 ms is 2026-09-21 14:13 UTC: shown in the caller's zone (Moscow).
    assert_eq!(anna_row[18], "2026-09-21 17:13", "modified, local time");

    // The manager's export holds only his card; a selection in English as XLSX.
    let (_, _, bytes) = download(&app, "/api/clients/export?format=csv", &ivan.access).await;
    assert_eq!(read_back(&bytes, "mine.csv").1.len(), 1);
    let (status, ct, bytes) = download(
        &app,
        &format!("/api/clients/export?ids={org}&lang=en"),
        &admin.access,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.contains("spreadsheetml"));
    let (header, rows) = read_back(&bytes, "sel.xlsx");
    assert_eq!(header[1], "Kind");
    assert_eq!(
        (rows.len(), rows[0][6].as_str(), rows[0][13].as_str()),
        (1, "ООО Ромашка", "7707083893")
    );
    // The list's filter selects what is exported (C8).
    let (_, _, bytes) = download(
        &app,
        "/api/clients/export?format=csv&tags=VIP&kind=contact",
        &admin.access,
    )
    .await;
    let rows = read_back(&bytes, "vip.csv").1;
    assert_eq!((rows.len(), rows[0][0].as_str()), (1, anna.as_str()));
    let (_, _, bytes) = download(
        &app,
        "/api/clients/export?format=csv&kind=organization",
        &admin.access,
    )
    .await;
    assert_eq!(read_back(&bytes, "orgs.csv").1[0][0], org);
    let (status, _, _) = download(&app, "/api/clients/export?local_time=late", &admin.access).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Selecting a card the caller may not see is refused, naming the parameter.
    let (status, _, _) = download(
        &app,
        &format!("/api/clients/export?ids={org}"),
        &ivan.access,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = download(&app, "/api/clients/export?format=pdf", &admin.access).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
