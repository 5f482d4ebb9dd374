//! The node's control API over a live node: the service token, placing a
//! "via your phone" call through a real carrier (sipp), ending it.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use callisto_domain::call::{Direction, HangupSide, Outcome};
use callisto_node::control;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tower::ServiceExt;

const TOKEN: &str = "node-service-token-for-tests";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_placed_through_the_control_api_rings_the_agent_then_the_customer() {
    let Setup {
        dir,
        repos,
        t,
        ann,
        trunk_port,
        node,
        ..
    } = setup(false).await;
    let app = control::router(node.handle(), TOKEN);

    // Health is open; everything else needs the service token.
    let (s, health) = call(&app, "GET", "/health", None, None).await;
    assert_eq!((s, health["status"].as_str()), (StatusCode::OK, Some("ok")));
    assert_eq!(
        call(&app, "GET", "/calls", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "GET", "/calls", Some("wrong"), None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Bad requests name the field; nothing is dialled.
    let place = |to: &str, agent: &str| json!({"tenant": "acme", "agent": agent, "to": to, "agent_phone": "+79990001122"});
    let (s, e) = call(
        &app,
        "POST",
        "/calls",
        Some(TOKEN),
        Some(place("call me", "ann")),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("to"))
    );
    let (s, _) = call(
        &app,
        "POST",
        "/calls",
        Some(TOKEN),
        Some(place("+79123456789", "nobody")),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let devices = json!({"tenant": "acme", "agent": "ann", "to": "+79123456789"});
    let (s, e) = call(&app, "POST", "/calls", Some(TOKEN), Some(devices)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_reachable"))
    );

    // The carrier answers both legs: the agent's mobile, then the customer.
    let carrier_dir = peer_dir(dir.path(), "carrier", 440.0, 10, Wav::Ulaw);
    let carrier = Sipp::start_calls(
        &carrier_dir,
        "carrier",
        &[],
        &[
            "-sf",
            scenario("trunk_answers.xml").to_str().unwrap(),
            "-p",
            &trunk_port.to_string(),
        ],
        2,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, placed) = call(
        &app,
        "POST",
        "/calls",
        Some(TOKEN),
        Some(place("8 912 345-67-89", "ann")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{placed}");
    let id = placed["call"].as_str().unwrap().to_string();
    // Both legs answer within a few seconds; then the call is listed as answered.
    let mut answered = false;
    for _ in 0..50 {
        let (_, list) = call(&app, "GET", "/calls", Some(TOKEN), None).await;
        if list["calls"][0]["answered_at"].is_number() {
            assert_eq!(list["calls"][0]["call"].as_str(), Some(id.as_str()));
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !answered {
        let _ = std::process::Command::new("cp")
            .args(["-r", carrier_dir.to_str().unwrap(), "/tmp/carrier-debug"])
            .status();
    }
    assert!(answered, "the customer never answered:\n{}", carrier.logs());
    // Hold and resume: the customer gets the hold music meanwhile.
    let hold_uri = format!("/calls/{id}/hold");
    let hold = |body: Value| call(&app, "POST", &hold_uri, Some(TOKEN), Some(body));
    assert_eq!(hold(json!({"on": true})).await.0, StatusCode::NO_CONTENT);
    let (s, e) = hold(json!({"on": "yes"})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("on"))
    );
    assert_eq!(hold(json!({"on": false})).await.0, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &app,
        "POST",
        "/calls/01JZZZZZZZZZZZZZZZZZZZZZZZ/hold",
        Some(TOKEN),
        Some(json!({"on": true})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        "POST",
        &format!("/calls/{id}/hold"),
        None,
        Some(json!({"on": true})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, _) = call(
        &app,
        "POST",
        &format!("/calls/{id}/hangup"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &app,
        "POST",
        &format!("/calls/{id}/hangup"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "already over");
    carrier.finished(Duration::from_secs(10)).await;

    let mut record = None;
    for _ in 0..50 {
        let id = callisto_domain::call::CallId::parse(id.clone()).unwrap();
        if let Ok(r) = repos.calls.get(&t, &id).await {
            record = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = record.expect("the call's record");
    assert_eq!(r.direction, Direction::Callback);
    assert_eq!(
        (r.outcome, r.hangup),
        (Outcome::Answered, HangupSide::System)
    );
    assert_eq!(r.agent.as_ref(), Some(&ann.user));
    assert_eq!(
        (r.from.as_str(), r.to.as_str()),
        (TRUNK_NUMBER, "+79123456789")
    );
    assert!(r.recording.is_some());
    node.shutdown().await;
}
