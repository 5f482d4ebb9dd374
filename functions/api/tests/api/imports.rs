//! Import through the router and the queued worker (PRODUCT C2).

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::App;
use tower::ServiceExt;

async fn upload(app: &App, token: &str, name: &str, bytes: Vec<u8>) -> support::Resp {
    let req = Request::post(format!("/api/imports?file_name={name}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    app.raw(req).await
}

async fn run_worker(app: &App) -> usize {
    let now = app.clock.clone();
    callisto_jobs::import::drain_imports(&app.state.repos, &app.state.stores, move || {
        use callisto_api::Clock;
        now.now_ms()
    })
    .await
    .unwrap()
}

const CSV: &str = "Компания;Фамилия;Имя;Телефон;E-mail;Теги\n\
ООО Ромашка;Петров;Иван;8 (912) 345-67-89, +7 495 123-45-67;ivan@romashka.ru;VIP\n\
;Сидорова;Анна;+48 601 234 567;;\n\
;Без телефона;;нет номера;;\n\
;Кузнецов;Олег;8-912-345-67-89;;повтор\n";

#[tokio::test]
async fn upload_preview_confirm_run_and_read_the_result() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    // Windows-1251, as Excel in a Russian locale saves CSV.
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(CSV);
    let up = upload(&app, &admin.access, "база.csv", cp1251.into_owned()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["encoding"], "windows-1251");
    assert_eq!(up.body["separator"], ";");
    assert_eq!(up.body["header"][1], "Фамилия");
    let columns: Vec<Value> = up.body["columns"].as_array().unwrap().clone();
    let targets: Vec<&str> = columns
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "organization",
            "last_name",
            "first_name",
            "phones",
            "emails",
            "tags"
        ]
    );
    assert_eq!(up.body["rows"].as_array().unwrap().len(), 4);
    let id = up.body["import"]["id"].as_str().unwrap().to_string();
    // Nothing is written before confirm.
    assert!(
        app.get("/api/clients", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A wrong encoding chosen by hand shows in the preview, and can be put back.
    let wrong = app
        .get(
            &format!("/api/imports/{id}/preview?encoding=koi8-r"),
            &admin.access,
        )
        .await;
    assert_ne!(wrong.body["header"][1], "Фамилия");

    // Bad confirmations change nothing.
    let r = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": [{"target": "skip"}], "duplicate_policy": "merge"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "columns")
    );
    let r = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": columns, "duplicate_policy": "sometimes"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "duplicate_policy")
    );

    let ok = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": columns, "duplicate_policy": "merge", "tag": "импорт-1"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{:?}", ok.body);
    assert_eq!(ok.body["status"], "queued");
    let again = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": columns, "duplicate_policy": "merge"}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "already_confirmed")
    );

    assert_eq!(run_worker(&app).await, 1);
    let status = app.get(&format!("/api/imports/{id}"), &admin.access).await;
    assert_eq!(status.body["status"], "done", "{:?}", status.body);
    assert_eq!(status.body["percent"], 100);
    assert_eq!(status.body["rows_total"], 4);
    assert_eq!(status.body["organizations_created"], 1);
    assert_eq!(status.body["contacts_created"], 2, "{:?}", status.body);
    assert_eq!(
        status.body["merged"], 1,
        "the repeated phone merges into Петров"
    );
    assert_eq!(status.body["rejected"], 1);

    let cards = app.get("/api/clients?q=петров", &admin.access).await;
    let petrov = &cards.body["items"][0];
    assert_eq!(petrov["phones"][0]["e164"], "+79123456789");
    assert!(
        petrov["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "импорт-1")
    );
    assert!(
        petrov["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "повтор"),
        "merge fills tags: {petrov:?}"
    );
    assert!(petrov["organization_id"].is_string());
    let petrov_id = petrov["id"].as_str().unwrap().to_string();

    let req = Request::get(format!("/api/imports/{id}/rejected"))
        .header(header::AUTHORIZATION, format!("Bearer {}", admin.access))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("Без телефона") && text.contains("нет номера"),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("4;"),
        "row 4 of the file: {text}"
    );

    // The worker has nothing more to do; the import is not run twice.
    assert_eq!(run_worker(&app).await, 0);
    assert_eq!(
        app.get("/api/clients", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // An imported card sent to the recycle bin is no longer found by search.
    app.call(
        Method::DELETE,
        &format!("/api/clients/{petrov_id}"),
        Some(&admin.access),
        None,
    )
    .await;
    let cards = app.get("/api/clients?q=петров", &admin.access).await;
    assert_eq!(cards.status, StatusCode::OK);
    assert_eq!(
        cards.body["items"].as_array().unwrap().len(),
        0,
        "{:?}",
        cards.body
    );
}

#[tokio::test]
async fn unreadable_files_are_named_and_other_users_imports_are_private() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let r = upload(
        &app,
        &admin.access,
        "x.csv",
        vec![0, 1, 2, 3, 0, 0, 0, 255, 254],
    )
    .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_file", "file")
    );
    let r = upload(&app, &admin.access, "empty.csv", vec![]).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "file")
    );
    let r = upload(
        &app,
        &admin.access,
        "dups.csv",
        "Телефон;телефон\n1;2\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate header"),
        "{:?}",
        r.body
    );

    let up = upload(&app, &admin.access, "ok.csv", CSV.as_bytes().to_vec()).await;
    let id = up.body["import"]["id"].as_str().unwrap();
    let manager = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    assert_eq!(
        app.get(&format!("/api/imports/{id}"), &manager.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn imported_cards_fit_the_company_settings_and_new_custom_columns_define_fields() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let r = app
        .call(
            axum::http::Method::PUT,
            "/api/company/card-settings",
            Some(&admin.access),
            Some(json!({"client_types": ["VIP", "Клиент"], "custom_fields": [{"name": "Бюджет", "kind": "number", "options": []}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let csv = "Фамилия;Телефон;Тип;Бюджет;Источник;Теги\n\
               Иванов;+7 912 000-00-01;vip;1 500;Выставка;\"горячий;осень\"\n\
               Петров;+7 912 000-00-02;Партнёр;10;Сайт;\n\
               Сидоров;+7 912 000-00-03;;много;;\n";
    let columns = json!([
        {"target": "last_name"}, {"target": "phones"}, {"target": "client_type"},
        {"target": "custom", "name": "Бюджет"}, {"target": "custom", "name": "Источник"},
        {"target": "tags"}
    ]);

    // A manager may not define a field by importing.
    let up = upload(&app, &ivan.access, "mine.csv", csv.as_bytes().to_vec()).await;
    let id = up.body["import"]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&ivan.access),
            json!({"columns": columns, "duplicate_policy": "skip"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "columns")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Источник")
    );

    // An administrator's import defines it as a text field.
    let up = upload(&app, &admin.access, "base.csv", csv.as_bytes().to_vec()).await;
    let id = up.body["import"]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": columns, "duplicate_policy": "skip"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let settings = app.get("/api/company/card-settings", &admin.access).await;
    assert_eq!(
        settings.body["custom_fields"][1],
        json!({"name": "Источник", "kind": "text", "options": []})
    );
    run_worker(&app).await;
    let status = app.get(&format!("/api/imports/{id}"), &admin.access).await;
    assert_eq!(
        (
            status.body["contacts_created"].as_u64(),
            status.body["rejected"].as_u64()
        ),
        (Some(1), Some(2)),
        "{:?}",
        status.body
    );
    let card = &app.get("/api/clients", &admin.access).await.body["items"][0];
    assert_eq!(card["client_type"], "VIP");
    assert_eq!(
        card["custom"],
        json!({"Бюджет": "1500", "Источник": "Выставка"})
    );
    let tags = app.get("/api/tags", &admin.access).await;
    assert_eq!(tags.body["tags"], json!(["горячий", "осень"]));

    // The rejected rows name the column and the reason.
    let req = Request::get(format!("/api/imports/{id}/rejected"))
        .header(header::AUTHORIZATION, format!("Bearer {}", admin.access))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("3;Тип;") && lines[1].contains("Партнёр"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("4;Бюджет;") && lines[2].contains("not a number"),
        "{text}"
    );
}

/// The rejected-rows file of an import, as text.
async fn rejected_file(app: &App, token: &str, id: &str) -> String {
    let req = Request::get(format!("/api/imports/{id}/rejected"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn xlsx_preview_and_import_agree_on_a_cell_left_of_the_table() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    // The table starts at B1; A4 holds a note someone typed beside it.
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Фамилия", "Телефон", "Город"].iter().enumerate() {
        ws.write_string(0, c as u16 + 1, *h).unwrap();
    }
    let people = [
        ("Петров", "+7 912 345-67-01", "Москва"),
        ("Сидорова", "+7 912 345-67-02", "Тверь"),
        ("Кузнецов", "+7 912 345-67-03", "Омск"),
        ("Попова", "+7 912 345-67-04", "Пермь"),
        ("Смирнов", "+7 912 345-67-05", "Сочи"),
    ];
    for (r, (name, phone, city)) in people.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 1, *name).unwrap();
        ws.write_string(r, 2, *phone).unwrap();
        ws.write_string(r, 3, *city).unwrap();
    }
    ws.write_string(3, 0, "перезвонить").unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let up = upload(&app, &admin.access, "база.xlsx", bytes).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["format"], "xlsx");
    assert_eq!(up.body["header"], json!(["Фамилия", "Телефон", "Город"]));
    let shown: Vec<u64> = up.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(shown, [2, 3, 5, 6]);
    assert_eq!(
        up.body["rows"][0]["cells"],
        json!(["Петров", "+7 912 345-67-01", "Москва"])
    );
    let problem = "cell A4 is left of the table: the header starts at column B";
    assert_eq!(up.body["problems"], json!([problem]));

    let id = up.body["import"]["id"].as_str().unwrap().to_string();
    let columns = up.body["columns"].clone();
    let ok = app
        .post(
            &format!("/api/imports/{id}/confirm"),
            Some(&admin.access),
            json!({"columns": columns, "duplicate_policy": "merge"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{:?}", ok.body);
    assert_eq!(run_worker(&app).await, 1);
    let status = app.get(&format!("/api/imports/{id}"), &admin.access).await;
    assert_eq!(status.body["status"], "done", "{:?}", status.body);
    assert_eq!(
        (
            &status.body["rows_total"],
            &status.body["rows_done"],
            &status.body["contacts_created"],
            &status.body["rejected"],
            &status.body["percent"]
        ),
        (&json!(5), &json!(5), &json!(4), &json!(1), &json!(100)),
        "{:?}",
        status.body
    );
    // The rows the preview showed are the cards made, with their columns where the preview
    // had them; the row it named is the one rejected, for the same reason.
    let cards = app.get("/api/clients?q=кузнецов", &admin.access).await;
    assert_eq!(cards.body["items"].as_array().unwrap().len(), 0);
    let cards = app.get("/api/clients?q=попова", &admin.access).await;
    assert_eq!(cards.body["items"][0]["phones"][0]["e164"], "+79123456704");
    let text = rejected_file(&app, &admin.access, &id).await;
    let rejected: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rejected.len(), 1, "{text}");
    assert!(
        rejected[0].starts_with("4;") && rejected[0].contains(problem),
        "{text}"
    );
    // With the row's cells inside the table, so it can be fixed and loaded again.
    assert!(
        rejected[0].contains("Кузнецов;+7 912 345-67-03;Омск"),
        "{text}"
    );
}
