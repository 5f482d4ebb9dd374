//! Users, roles, groups, short numbers and tenant isolation through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::App;

#[tokio::test]
async fn admin_invites_and_roles_limit_what_others_do() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let manager = app
        .invite(&admin, "ivan@acme.ru", "manager", Some("101"))
        .await;
    let me = app.get("/api/me", &manager.access).await;
    assert_eq!(
        (
            me.body["role"].as_str(),
            me.body["must_change_password"].as_bool()
        ),
        (Some("manager"), Some(true))
    );

    // A manager sees the team but cannot change it or the company.
    assert_eq!(
        app.get("/api/users", &manager.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = app
        .post(
            "/api/users",
            Some(&manager.access),
            json!({"email": "x@acme.ru", "full_name": "X", "role": "administrator"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .patch("/api/company", &manager.access, json!({"name": "Mine"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &format!("/api/users/{}", admin.user_id),
            &manager.access,
            json!({"role": "manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/users", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get("/api/company", &admin.access).await.body["name"],
        "Acme"
    );

    // Role changes apply to existing tokens at once.
    let r = app
        .patch(
            &format!("/api/users/{}", manager.user_id),
            &admin.access,
            json!({"role": "head"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.get("/api/me", &manager.access).await.body["role"],
        "head"
    );

    // Invite validation names the field.
    let r = app
        .post(
            "/api/users",
            Some(&admin.access),
            json!({"email": "y@acme.ru", "full_name": "Y", "role": "root"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "role")
    );
    let r = app.post("/api/users", Some(&admin.access), json!({"email": "y@acme.ru", "full_name": "Y", "role": "manager", "short_number": "101"})).await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::CONFLICT, "short_number_taken", "short_number")
    );
    let r = app.post("/api/users", Some(&admin.access), json!({"email": "y@acme.ru", "full_name": "Y", "role": "manager", "short_number": "01"})).await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "short_number")
    );
    let r = app
        .post(
            "/api/users",
            Some(&admin.access),
            json!({"email": "ivan@acme.ru", "full_name": "Y", "role": "manager"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "email_taken"));
    let r = app
        .post(
            "/api/users",
            Some(&admin.access),
            json!({"email": "y@acme.ru", "full_name": "Y", "role": "manager", "group_id": "nope"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "group_id")
    );
    assert_eq!(
        app.get("/api/users", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Company billing details are checked.
    let r = app
        .patch("/api/company", &admin.access, json!({"inn": "7707083894"}))
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "inn")
    );
    let r = app
        .patch(
            "/api/company",
            &admin.access,
            json!({"inn": "7707083893", "kpp": "773601001", "legal_name": "ООО «Акме»"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["inn"].as_str()),
        (StatusCode::OK, Some("7707083893"))
    );
    // The phone region decides how numbers without a country code are read.
    let r = app
        .patch("/api/company", &admin.access, json!({"phone_region": "XX"}))
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "phone_region")
    );
    let r = app
        .patch("/api/company", &admin.access, json!({"phone_region": "PL"}))
        .await;
    assert_eq!(r.body["phone_region"], "PL");
    let c = app
        .post(
            "/api/clients",
            Some(&admin.access),
            json!({"kind": "contact", "last_name": "Nowak", "phones": ["601 234 567"]}),
        )
        .await;
    assert_eq!(c.body["phones"][0]["e164"], "+48601234567", "{:?}", c.body);
}

#[tokio::test]
async fn block_and_delete_take_effect_immediately() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let m = app
        .invite(&admin, "ivan@acme.ru", "manager", Some("101"))
        .await;

    let r = app
        .post(
            &format!("/api/users/{}/block", m.user_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("blocked"))
    );
    let r = app.get("/api/me", &m.access).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "user_blocked")
    );
    assert_eq!(
        app.post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": m.refresh})
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    app.post(
        &format!("/api/users/{}/unblock", m.user_id),
        Some(&admin.access),
        json!({}),
    )
    .await;
    assert_eq!(app.get("/api/me", &m.access).await.status, StatusCode::OK);

    // Nobody can lock themselves out.
    let r = app
        .post(
            &format!("/api/users/{}/block", admin.user_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "self_change"));

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/users/{}", m.user_id),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", &m.access).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Gone from the team, kept for history, and the e-mail and extension are free again.
    assert_eq!(
        app.get("/api/users", &admin.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let all = app
        .get("/api/users?include_deleted=true", &admin.access)
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    app.invite(&admin, "ivan@acme.ru", "manager", Some("101"))
        .await;
}

#[tokio::test]
async fn groups_and_membership() {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let m = app
        .invite(&admin, "ivan@acme.ru", "group_leader", None)
        .await;
    let g = app
        .post(
            "/api/groups",
            Some(&admin.access),
            json!({"name": "Продажи", "description": "Outbound"}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED);
    let gid = g.body["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/api/users/{}", m.user_id),
            &admin.access,
            json!({"group_id": gid}),
        )
        .await;
    assert_eq!(r.body["group_id"], gid);
    let members = app
        .get(&format!("/api/users?group_id={gid}"), &admin.access)
        .await;
    assert_eq!(members.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/groups/{gid}"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "group_not_empty")
    );
    app.patch(
        &format!("/api/users/{}", m.user_id),
        &admin.access,
        json!({"group_id": null}),
    )
    .await;
    let r = app
        .patch(
            &format!("/api/groups/{gid}"),
            &admin.access,
            json!({"name": ""}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "name")
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/groups/{gid}"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        app.get("/api/groups", &admin.access)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn one_tenant_cannot_reach_another() {
    let app = App::new();
    let a = app.company("boss@a.ru").await;
    let b = app.company("boss@b.ru").await;
    let a_user = app.invite(&a, "ivan@a.ru", "manager", Some("101")).await;
    let a_group = app
        .post("/api/groups", Some(&a.access), json!({"name": "A-team"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();

    // B's administrator, naming A's ids, finds nothing and changes nothing.
    let path = format!("/api/users/{}", a_user.user_id);
    assert_eq!(
        app.get(&path, &b.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&path, &b.access, json!({"full_name": "Hacked"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .post(&format!("{path}/block"), Some(&b.access), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&b.access), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/groups/{a_group}"), &b.access)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .get(&format!("/api/users?group_id={a_group}"), &b.access)
        .await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    // Putting a user of B into A's group is refused.
    let r = app
        .patch(
            &format!("/api/users/{}", b.user_id),
            &b.access,
            json!({"group_id": a_group}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "group_id")
    );

    let a_view = app.get(&path, &a.access).await;
    assert_eq!(
        (
            a_view.body["full_name"].as_str(),
            a_view.body["status"].as_str()
        ),
        (Some("Ivan Petrov"), Some("active"))
    );
    let b_team = app.get("/api/users", &b.access).await;
    assert_eq!(b_team.body["items"].as_array().unwrap().len(), 1);
    // Both tenants use short number 100 for their admins: numbers are per tenant.
    assert_eq!(b_team.body["items"][0]["short_number"], "100");
}
