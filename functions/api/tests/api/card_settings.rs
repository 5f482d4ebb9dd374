//! Company-defined client types and custom fields (C1) through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::App;

#[tokio::test]
async fn cards_fit_the_types_and_fields_the_company_defines() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let ivan = app.invite(&admin, "ivan@acme.ru", "manager", None).await;
    let settings = json!({
        "client_types": ["Prospect", "VIP"],
        "custom_fields": [
            {"name": "Budget", "kind": "number", "options": []},
            {"name": "Next fair", "kind": "date", "options": []},
            {"name": "Source", "kind": "choice", "options": ["Expo", "Web"]}
        ]
    });
    let put = |token: String, body: serde_json::Value| {
        let app = &app;
        async move {
            app.call(
                Method::PUT,
                "/api/company/card-settings",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let r = put(ivan.access.clone(), settings.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = put(admin.access.clone(), settings.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let seen = app.get("/api/company/card-settings", &ivan.access).await;
    assert_eq!(
        seen.body, settings,
        "every user reads what the card form needs"
    );

    // Values are checked and stored in one spelling.
    let r = app
        .post("/api/clients", Some(&ivan.access), json!({"kind": "contact", "last_name": "Fit", "client_type": "vip", "custom": {"budget": "1 500,5", "next fair": "31.12.2026", "source": "expo"}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["client_type"], "VIP");
    assert_eq!(
        r.body["custom"],
        json!({"Budget": "1500.5", "Next fair": "2026-12-31", "Source": "Expo"})
    );
    let id = r.body["id"].as_str().unwrap().to_string();

    // Misfits are named and create nothing.
    for (body, field) in [
        (
            json!({"kind": "contact", "last_name": "X", "client_type": "Partner"}),
            "client_type",
        ),
        (
            json!({"kind": "contact", "last_name": "X", "custom": {"Budget": "a lot"}}),
            "custom.Budget",
        ),
        (
            json!({"kind": "contact", "last_name": "X", "custom": {"Next fair": "spring"}}),
            "custom.Next fair",
        ),
        (
            json!({"kind": "contact", "last_name": "X", "custom": {"Source": "Radio"}}),
            "custom.Source",
        ),
        (
            json!({"kind": "contact", "last_name": "X", "custom": {"Colour": "red"}}),
            "custom.Colour",
        ),
    ] {
        let r = app
            .post("/api/clients", Some(&ivan.access), body.clone())
            .await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{body}: {:?}",
            r.body
        );
    }
    let list = app.get("/api/clients", &ivan.access).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Bad settings are named and change nothing.
    for (body, field) in [
        (
            json!({"client_types": [], "custom_fields": [{"name": "A", "kind": "colour"}]}),
            "custom_fields[0].kind",
        ),
        (
            json!({"client_types": [], "custom_fields": [{"name": "A", "kind": "choice"}]}),
            "custom_fields[0].options",
        ),
        (
            json!({"client_types": ["VIP", "vip"], "custom_fields": []}),
            "client_types",
        ),
        (
            json!({"client_types": [], "custom_fields": [{"name": "A", "kind": "text"}, {"name": "a", "kind": "date"}]}),
            "custom_fields",
        ),
        (
            json!({"client_types": [" VIP"], "custom_fields": []}),
            "client_types[0]",
        ),
    ] {
        let r = put(admin.access.clone(), body.clone()).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{body}: {:?}",
            r.body
        );
    }
    assert_eq!(
        app.get("/api/company/card-settings", &admin.access)
            .await
            .body,
        settings
    );

    // A field removed later does not block editing the cards that carry it.
    let r = put(
        admin.access.clone(),
        json!({"client_types": [], "custom_fields": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .patch(
            &format!("/api/clients/{id}"),
            &ivan.access,
            json!({"city": "Omsk"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["custom"]["Budget"], "1500.5");
}
