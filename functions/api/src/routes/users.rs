//! Users of a company: invite, list, edit, block, delete (PRODUCT A2, A6).

use super::auth::{email_field, new_id, password_field};
use super::page_limit;
use crate::AppState;
use crate::auth::{Caller, secret};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery, present};
use crate::views::{Paged, UserView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::{Permission, Role};
use callisto_domain::ids::{GroupId, UserId};
use callisto_domain::user::{User, UserStatus, check_short_number, check_text};
use callisto_store::outbox::Mail;
use callisto_store::repo::RepoError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListParams {
    /// Only members of this group.
    pub group_id: Option<String>,
    /// Include deleted users (they keep their history).
    pub include_deleted: Option<bool>,
    pub cursor: Option<String>,
    /// 1-500, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(UserListParams),
    responses((status = 200, body = Paged<UserView>), (status = 400, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<UserListParams>,
) -> Result<Json<Paged<UserView>>, ApiError> {
    caller.require(Permission::ViewTeam)?;
    let limit = page_limit(p.limit)?;
    let t = &caller.principal.tenant;
    let page = match &p.group_id {
        Some(g) => {
            let g = GroupId::parse(g.as_str())
                .map_err(|_| ApiError::not_found("group").with_field("group_id"))?;
            state.repos.users.list_group(t, &g, p.cursor, limit).await?
        }
        None => state.repos.users.list(t, p.cursor, limit).await?,
    };
    let include_deleted = p.include_deleted.unwrap_or(false);
    let items = page
        .items
        .iter()
        .filter(|u| include_deleted || u.status != UserStatus::Deleted)
        .map(UserView::from)
        .collect();
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}

fn parse_user_id(id: &str) -> Result<UserId, ApiError> {
    UserId::parse(id).map_err(|_| ApiError::not_found("user"))
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    Role::parse(role).ok_or_else(|| {
        ApiError::invalid(
            "role",
            format!("{role:?} is not a role; use administrator, head, group_leader or manager"),
        )
    })
}

async fn existing_group(state: &AppState, caller: &Caller, id: &str) -> Result<GroupId, ApiError> {
    let missing = || ApiError::invalid("group_id", format!("group {id:?} does not exist"));
    let g = GroupId::parse(id).map_err(|_| missing())?;
    match state.repos.groups.get(&caller.principal.tenant, &g).await {
        Ok(_) => Ok(g),
        Err(RepoError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Permission::ViewTeam)?;
    let user = state
        .repos
        .users
        .get(&caller.principal.tenant, &parse_user_id(&id)?)
        .await?;
    Ok(Json(UserView::from(&user.value)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub full_name: String,
    /// `administrator`, `head`, `group_leader` or `manager`.
    pub role: String,
    pub group_id: Option<String>,
    /// 2-6 digits, unique in the company.
    pub short_number: Option<String>,
    /// Initial password; generated when absent. Mailed to the user, who must change it.
    pub password: Option<String>,
}

#[utoipa::path(post, path = "/api/users", tag = "users", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let email = email_field(&req.email)?;
    let full_name = check_text("full_name", &req.full_name, 200)?;
    let role = parse_role(&req.role)?;
    if let Some(n) = &req.short_number {
        check_short_number(n)?;
    }
    let group = match &req.group_id {
        Some(g) => Some(existing_group(&state, &caller, g).await?),
        None => None,
    };
    let password = match &req.password {
        Some(p) => {
            password_field("password", p)?;
            p.clone()
        }
        None => secret::initial_password(),
    };
    let user = User {
        id: UserId::parse(new_id()).map_err(ApiError::internal)?,
        tenant: caller.principal.tenant.clone(),
        email: email.clone(),
        full_name,
        role,
        group,
        short_number: req.short_number.clone(),
        status: UserStatus::Active,
        time_zone: None,
        support_email: None,
        support_phone: None,
        password_hash: state.hasher.hash(&password).await?,
        // The invitee proves the mailbox by logging in with the mailed password.
        email_confirmed: true,
        must_change_password: true,
        created_at: state.clock.now_ms(),
    };
    state.repos.users.create(&user).await?;
    let company = state.repos.tenants.get(&user.tenant).await?.value.name;
    let text = format!(
        "{} invited you to {company} on Callisto.\n\nLog in at {}/login\nE-mail: {email}\nInitial password: {password}\n\n\
         You will be asked to choose your own password.\n",
        caller.user.full_name,
        state.config.public_url.trim_end_matches('/'),
    );
    state
        .outbox
        .send(Mail {
            tenant: user.tenant.clone(),
            to: email,
            subject: format!("You are invited to {company} on Callisto"),
            text,
        })
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(tenant = %user.tenant, user = %user.id, by = %caller.user.id, "user invited");
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub full_name: Option<String>,
    pub role: Option<String>,
    /// null removes the user from their group.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub group_id: Option<Option<String>>,
    /// null removes the short number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub short_number: Option<Option<String>>,
}

/// Loads a user for an administrator's change, refusing changes to oneself
/// that could lock the company out.
async fn target(
    state: &AppState,
    caller: &Caller,
    id: &str,
    self_ok: bool,
) -> Result<(User, u64), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let id = parse_user_id(id)?;
    if id == caller.user.id && !self_ok {
        return Err(ApiError::conflict(
            "self_change",
            "you cannot block, delete or change the role of yourself",
        ));
    }
    let current = state.repos.users.get(&caller.principal.tenant, &id).await?;
    if current.value.status == UserStatus::Deleted {
        return Err(ApiError::not_found("user"));
    }
    Ok((current.value, current.version))
}

#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", security(("bearer" = [])), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    let (old, version) = target(&state, &caller, &id, patch.role.is_none()).await?;
    let mut user = old.clone();
    if let Some(n) = &patch.full_name {
        user.full_name = check_text("full_name", n, 200)?;
    }
    if let Some(r) = &patch.role {
        user.role = parse_role(r)?;
    }
    if let Some(g) = &patch.group_id {
        user.group = match g {
            Some(g) => Some(existing_group(&state, &caller, g).await?),
            None => None,
        };
    }
    if let Some(n) = patch.short_number {
        if let Some(n) = &n {
            check_short_number(n)?;
        }
        user.short_number = n;
    }
    state.repos.users.update(&old, &user, version).await?;
    Ok(Json(UserView::from(&user)))
}

async fn set_status(
    state: &AppState,
    caller: &Caller,
    id: &str,
    status: UserStatus,
) -> Result<User, ApiError> {
    let (old, version) = target(state, caller, id, false).await?;
    let user = User {
        status,
        ..old.clone()
    };
    state.repos.users.update(&old, &user, version).await?;
    if status != UserStatus::Active {
        state
            .repos
            .tokens
            .revoke_all(&user.tenant, &user.id)
            .await?;
    }
    tracing::info!(tenant = %user.tenant, user = %user.id, by = %caller.user.id, status = ?status, "user status changed");
    Ok(user)
}

#[utoipa::path(post, path = "/api/users/{id}/block", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn block_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(
        &set_status(&state, &caller, &id, UserStatus::Blocked).await?,
    )))
}

#[utoipa::path(post, path = "/api/users/{id}/unblock", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody)))]
pub async fn unblock_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(
        &set_status(&state, &caller, &id, UserStatus::Active).await?,
    )))
}

#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "deleted; history is kept, e-mail and short number are freed"), (status = 403, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_status(&state, &caller, &id, UserStatus::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}
