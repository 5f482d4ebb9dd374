//! The caller's own profile and password (PRODUCT A5).

use super::auth::{email_field, password_field};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, present};
use crate::views::UserView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callisto_domain::user::{check_text, check_time_zone};
use serde::Deserialize;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn get_me(caller: Caller) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub full_name: Option<String>,
    /// IANA zone such as `Europe/Moscow`; null = automatic.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub support_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub support_phone: Option<Option<String>>,
}

#[utoipa::path(patch, path = "/api/me", tag = "profile", security(("bearer" = [])), request_body = ProfilePatch,
    responses((status = 200, body = UserView), (status = 422, body = ErrorBody)))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<UserView>, ApiError> {
    let mut user = caller.user.clone();
    if let Some(n) = &patch.full_name {
        user.full_name = check_text("full_name", n, 200)?;
    }
    if let Some(tz) = patch.time_zone {
        if let Some(tz) = &tz {
            check_time_zone(tz)?;
        }
        user.time_zone = tz;
    }
    if let Some(mail) = patch.support_email {
        user.support_email = mail
            .map(|m| email_field(&m).map_err(|e| e.with_field("support_email")))
            .transpose()?;
    }
    if let Some(phone) = patch.support_phone {
        user.support_phone = phone
            .map(|p| check_phone("support_phone", &p))
            .transpose()?;
    }
    state
        .repos
        .users
        .update(&caller.user, &user, caller.version)
        .await?;
    Ok(Json(UserView::from(&user)))
}

/// A phone as typed by a person: digits with optional `+`, spaces, dashes, brackets.
pub(crate) fn check_phone(field: &str, raw: &str) -> Result<String, ApiError> {
    let v = raw.trim();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let ok =
        (5..=15).contains(&digits) && v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{v:?} is not a phone number"),
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/me/password", tag = "profile", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204, description = "changed; all refresh tokens of the user are revoked"), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    if !state
        .hasher
        .verify(&req.current_password, Some(&caller.user.password_hash))
        .await?
    {
        return Err(ApiError::invalid(
            "current_password",
            "the current password is wrong",
        ));
    }
    password_field("new_password", &req.new_password)?;
    if req.new_password == req.current_password {
        return Err(ApiError::invalid(
            "new_password",
            "the new password must differ from the current one",
        ));
    }
    let mut user = caller.user.clone();
    user.password_hash = state.hasher.hash(&req.new_password).await?;
    user.must_change_password = false;
    state
        .repos
        .users
        .update(&caller.user, &user, caller.version)
        .await?;
    state
        .repos
        .tokens
        .revoke_all(&user.tenant, &user.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
