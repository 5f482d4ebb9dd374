//! Every class of malformed request gets the right 4xx in the error shape.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use support::{App, PASSWORD};

fn post_raw(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(path);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_bodies_are_named() {
    let app = App::new();
    let json_ct = Some("application/json");
    let r = app
        .raw(post_raw("/api/auth/signup", json_ct, "{\"email\": "))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let r = app
        .raw(post_raw(
            "/api/auth/signup",
            json_ct,
            json!({"company_name": "A", "emial": "a@a.ru", "password": PASSWORD}).to_string(),
        ))
        .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "emial")
    );

    let r = app
        .raw(post_raw(
            "/api/auth/signup",
            json_ct,
            json!({"company_name": "A", "email": 42, "password": PASSWORD}).to_string(),
        ))
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "email")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );

    let r = app
        .raw(post_raw(
            "/api/auth/signup",
            json_ct,
            json!({"company_name": "A", "password": PASSWORD}).to_string(),
        ))
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "email")
    );

    let r = app
        .raw(post_raw(
            "/api/auth/signup",
            None,
            json!({"company_name": "A"}).to_string(),
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );

    let huge = json!({"company_name": "x".repeat(2 * 1024 * 1024), "email": "a@a.ru", "password": PASSWORD}).to_string();
    let r = app.raw(post_raw("/api/auth/signup", json_ct, huge)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );

    let r = app
        .call(Method::GET, "/api/no/such/thing", None, None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "no_route"));
    let r = app
        .call(Method::DELETE, "/api/auth/login", None, None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );

    // None of it created anything.
    assert!(app.mails().is_empty());
}

#[tokio::test]
async fn bad_query_strings_are_named() {
    let app = App::new();
    let s = app.company("boss@acme.ru").await;
    let r = app.get("/api/users?limit=lots", &s.access).await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::BAD_REQUEST, "invalid_query", "limit")
    );
    let r = app.get("/api/users?limit=0", &s.access).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "limit"));
    let r = app.get("/api/users?colour=red", &s.access).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "colour"));
    let r = app.get("/api/users?cursor=forged", &s.access).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "cursor")
    );
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let app = App::new();
    let r = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/auth/signup",
        "/api/auth/login",
        "/api/users/{id}",
        "/api/groups",
        "/api/me/password",
        "/api/company",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
    assert!(r.body["components"]["schemas"]["ErrorBody"].is_object());
}
