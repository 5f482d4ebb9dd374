//! The company's call results (PRODUCT D2): everyone reads them (the agent
//! chooses one after a call); administrators manage them.

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, present};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Permission;
use callisto_domain::call_result::{CallResult, ResultKind};
use callisto_domain::ids::CallResultId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CallResultView {
    pub id: String,
    pub name: String,
    /// `normal`; `call_later` (asks for a date and time, makes a reminder); `done` (closes the contact for the scenario).
    pub kind: String,
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// Ids of the scenarios offering it; while any does, it cannot be deleted.
    pub scenarios: Vec<String>,
}

impl From<&CallResult> for CallResultView {
    fn from(r: &CallResult) -> CallResultView {
        CallResultView {
            id: r.id.to_string(),
            name: r.name.clone(),
            kind: r.kind.as_str().into(),
            colour: r.colour.clone(),
            scenarios: r.used_by.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallResultRequest {
    pub name: String,
    /// `normal`, `call_later` or `done`.
    pub kind: String,
    pub colour: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallResultPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    /// `null` removes the colour.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub colour: Option<Option<String>>,
}

/// A result id from the path; a malformed one names nothing that exists.
pub(crate) fn parse_result_id(id: &str) -> Result<CallResultId, ApiError> {
    CallResultId::parse(id).map_err(|_| ApiError::not_found("call result"))
}

#[utoipa::path(get, path = "/api/call-results", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = [CallResultView])))]
pub async fn list_call_results(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CallResultView>>, ApiError> {
    let list = state
        .repos
        .call_results
        .list(&caller.principal.tenant)
        .await?;
    Ok(Json(list.iter().map(CallResultView::from).collect()))
}

#[utoipa::path(post, path = "/api/call-results", tag = "scenarios", security(("bearer" = [])), request_body = CallResultRequest,
    responses((status = 201, body = CallResultView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_call_result(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CallResultRequest>,
) -> Result<(StatusCode, Json<CallResultView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    let mut result = CallResult {
        id: CallResultId::parse(new_id()).map_err(ApiError::internal)?,
        name: req.name,
        kind: ResultKind::parse("kind", &req.kind)?,
        colour: req.colour,
        used_by: Vec::new(),
        created_at: state.clock.now_ms(),
    };
    result.normalize()?;
    state
        .repos
        .call_results
        .create(&caller.principal.tenant, &result)
        .await?;
    Ok((StatusCode::CREATED, Json(CallResultView::from(&result))))
}

#[utoipa::path(patch, path = "/api/call-results/{id}", tag = "scenarios", security(("bearer" = [])), request_body = CallResultPatch,
    responses((status = 200, body = CallResultView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_call_result(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<CallResultPatch>,
) -> Result<Json<CallResultView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let current = state
        .repos
        .call_results
        .get(t, &parse_result_id(&id)?)
        .await?;
    let mut result = current.value;
    if let Some(name) = patch.name {
        result.name = name;
    }
    if let Some(kind) = patch.kind {
        result.kind = ResultKind::parse("kind", &kind)?;
    }
    if let Some(colour) = patch.colour {
        result.colour = colour;
    }
    result.normalize()?;
    state
        .repos
        .call_results
        .update(t, &result, current.version)
        .await?;
    Ok(Json(CallResultView::from(&result)))
}

/// Deletes a result no scenario offers; one in use answers 409 naming the scenario.
#[utoipa::path(delete, path = "/api/call-results/{id}", tag = "scenarios", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a scenario offers it")))]
pub async fn delete_call_result(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSettings)?;
    state
        .repos
        .call_results
        .delete(&caller.principal.tenant, &parse_result_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
