//! The node's control API: health, calls in progress, placing a call,
//! holding one and ending one. Everything but health needs the service token the node was
//! configured with (`Authorization: Bearer <token>`): it is for the platform's
//! own services, not for people.

use crate::{NodeHandle, Originate, OriginateError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callisto_domain::call::CallId;
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Clone)]
struct Control {
    node: NodeHandle,
    token: Arc<str>,
}

/// The routes, to be nested under `/node`.
pub fn router(node: NodeHandle, token: &str) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/calls", get(list_calls).post(place_call))
        .route("/calls/{id}/hangup", post(hang_up))
        .route("/calls/{id}/hold", post(hold))
        .with_state(Control {
            node,
            token: token.into(),
        })
}

fn error(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    field: Option<&str>,
) -> Response {
    let mut e = json!({ "code": code, "message": message.into() });
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    (status, Json(json!({ "error": e }))).into_response()
}

fn authorized(c: &Control, headers: &HeaderMap) -> bool {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared in constant time: the token guards call control.
    let ok: bool = given.len() == c.token.len()
        && given
            .bytes()
            .zip(c.token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    ok
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid service token is required",
        None,
    )
}

fn no_such_call() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such call in progress",
        None,
    )
}

fn stopped() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "node_stopped",
        "the media node has stopped",
        None,
    )
}

async fn health(State(c): State<Control>) -> Response {
    match c.node.calls().await {
        Ok(calls) => Json(json!({
            "status": "ok",
            "sip": c.node.sip_addr.to_string(),
            "calls": calls.len(),
        }))
        .into_response(),
        Err(_) => stopped(),
    }
}

async fn list_calls(State(c): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&c, &headers) {
        return unauthorized();
    }
    match c.node.calls().await {
        Ok(calls) => Json(json!({ "calls": calls })).into_response(),
        Err(_) => stopped(),
    }
}

async fn place_call(
    State(c): State<Control>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&c, &headers) {
        return unauthorized();
    }
    let o: Originate = match serde_json::from_slice(&body) {
        Ok(o) => o,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
                None,
            );
        }
    };
    match c.node.originate(o).await {
        Ok(Ok(call)) => (StatusCode::CREATED, Json(json!({ "call": call }))).into_response(),
        Ok(Err(e)) => {
            let (status, code, field) = match &e {
                OriginateError::UnknownAgent => {
                    (StatusCode::NOT_FOUND, "unknown_agent", Some("agent"))
                }
                OriginateError::Invalid { field, .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(*field))
                }
                OriginateError::NoTrunk => (StatusCode::CONFLICT, "no_trunk", None),
                OriginateError::NotReachable => {
                    (StatusCode::CONFLICT, "not_reachable", Some("agent"))
                }
                OriginateError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy", None),
                OriginateError::Engine(_) => (StatusCode::INTERNAL_SERVER_ERROR, "engine", None),
            };
            error(status, code, e.to_string(), field)
        }
        Err(_) => stopped(),
    }
}

async fn hang_up(State(c): State<Control>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&c, &headers) {
        return unauthorized();
    }
    let Ok(call) = CallId::parse(id) else {
        return no_such_call();
    };
    match c.node.hangup(call).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(_)) => no_such_call(),
        Err(_) => stopped(),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    /// `true` puts the call on hold, `false` takes it off.
    on: bool,
}

/// `{"on": true|false}`: the customer hears the hold music while on hold.
async fn hold(
    State(c): State<Control>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&c, &headers) {
        return unauthorized();
    }
    let req: HoldRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
                Some("on"),
            );
        }
    };
    let Ok(call) = CallId::parse(id) else {
        return no_such_call();
    };
    match c.node.hold(call, req.on).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e @ callisto_engine::EngineError::NotAnswered(_))) => {
            error(StatusCode::CONFLICT, "not_answered", e.to_string(), None)
        }
        Ok(Err(_)) => no_such_call(),
        Err(_) => stopped(),
    }
}
