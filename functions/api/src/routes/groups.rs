//! Groups of users (PRODUCT A2): name and description; a group leader sees their group.

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::views::GroupView;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Permission;
use callisto_domain::ids::GroupId;
use callisto_domain::user::{Group, check_text};
use serde::Deserialize;
use utoipa::ToSchema;

fn parse_group_id(id: &str) -> Result<GroupId, ApiError> {
    GroupId::parse(id).map_err(|_| ApiError::not_found("group"))
}

fn description(d: Option<&str>) -> Result<String, ApiError> {
    match d.map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(d) if d.chars().count() > 1000 => Err(ApiError::invalid(
            "description",
            "must be at most 1000 characters",
        )),
        Some(d) => Ok(d.to_string()),
    }
}

#[utoipa::path(get, path = "/api/groups", tag = "groups", security(("bearer" = [])), responses((status = 200, body = Vec<GroupView>)))]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    caller.require(Permission::ViewTeam)?;
    let groups = state.repos.groups.list(&caller.principal.tenant).await?;
    Ok(Json(groups.iter().map(GroupView::from).collect()))
}

#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups", security(("bearer" = [])),
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    caller.require(Permission::ViewTeam)?;
    let g = state
        .repos
        .groups
        .get(&caller.principal.tenant, &parse_group_id(&id)?)
        .await?;
    Ok(Json(GroupView::from(&g.value)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    pub name: String,
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/groups", tag = "groups", security(("bearer" = [])), request_body = GroupRequest,
    responses((status = 201, body = GroupView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let group = Group {
        id: GroupId::parse(new_id()).map_err(ApiError::internal)?,
        name: check_text("name", &req.name, 100)?,
        description: description(req.description.as_deref())?,
        created_at: state.clock.now_ms(),
    };
    state
        .repos
        .groups
        .create(&caller.principal.tenant, &group)
        .await?;
    Ok((StatusCode::CREATED, Json(GroupView::from(&group))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[utoipa::path(patch, path = "/api/groups/{id}", tag = "groups", security(("bearer" = [])), request_body = GroupPatch,
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> Result<Json<GroupView>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let t = &caller.principal.tenant;
    let current = state.repos.groups.get(t, &parse_group_id(&id)?).await?;
    let mut g = current.value.clone();
    if let Some(n) = &patch.name {
        g.name = check_text("name", n, 100)?;
    }
    if patch.description.is_some() {
        g.description = description(patch.description.as_deref())?;
    }
    state.repos.groups.update(t, &g, current.version).await?;
    Ok(Json(GroupView::from(&g)))
}

#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the group has members")))]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageUsers)?;
    state
        .repos
        .groups
        .delete(&caller.principal.tenant, &parse_group_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
