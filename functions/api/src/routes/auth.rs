//! Sign-up with e-mail confirmation, log-in with throttling, token refresh
//! with rotation, log-out (PRODUCT A1).

use crate::AppState;
use crate::auth::secret;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::views::UserView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callisto_domain::access::Role;
use callisto_domain::email::normalize_email;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::password::check_password_rule;
use callisto_domain::throttle::LoginAttempts;
use callisto_domain::user::{
    BillingDetails, Tenant, User, UserStatus, check_text, check_time_zone,
};
use callisto_store::outbox::Mail;
use callisto_store::repo::{OneTimeToken, RefreshToken, RepoError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const CONFIRM_TTL_MS: i64 = 3 * 24 * 3600 * 1000;
const CONFIRM_PURPOSE: &str = "confirm_email";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub company_name: String,
    pub email: String,
    /// At least 8 characters with lower case, upper case and a digit.
    pub password: String,
    pub full_name: Option<String>,
    pub promo_code: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub tenant_id: String,
    pub user_id: String,
    /// A confirmation link was mailed; log-in works once it is followed.
    pub confirmation_sent_to: String,
}

pub(crate) fn email_field(raw: &str) -> Result<String, ApiError> {
    normalize_email(raw).map_err(|e| ApiError::invalid("email", e.to_string()))
}

pub(crate) fn password_field(field: &str, pw: &str) -> Result<(), ApiError> {
    check_password_rule(pw).map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// A new ULID, strictly increasing within this process, so records created in
/// the same millisecond still list (and sort in history) in creation order.
/// A fresh id for a history entry or notification.
pub(crate) fn new_activity_id() -> callisto_domain::ids::ActivityId {
    callisto_domain::ids::ActivityId::parse(new_id()).expect("a ULID is a valid id")
}

pub(crate) fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Overflow needs 2^80 ids in one millisecond; fall back to a random one rather than fail.
    generator
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    let company = check_text("company_name", &req.company_name, 200)?;
    let email = email_field(&req.email)?;
    password_field("password", &req.password)?;
    let full_name = match &req.full_name {
        Some(n) => check_text("full_name", n, 200)?,
        None => email.split('@').next().unwrap_or_default().to_string(),
    };
    if let Some(tz) = &req.time_zone {
        check_time_zone(tz)?;
    }
    let promo_code = req
        .promo_code
        .as_deref()
        .map(|p| check_text("promo_code", p, 50))
        .transpose()?;

    let now = state.clock.now_ms();
    let tenant_id = TenantId::parse(new_id()).map_err(ApiError::internal)?;
    let tenant = Tenant {
        id: tenant_id.clone(),
        name: company,
        promo_code,
        billing: BillingDetails::default(),
        phone_region: callisto_domain::user::default_phone_region(),
        created_at: now,
        wrap_up_ms: None,
    };
    let admin = User {
        id: UserId::parse(new_id()).map_err(ApiError::internal)?,
        tenant: tenant_id.clone(),
        email: email.clone(),
        full_name,
        role: Role::Administrator,
        group: None,
        short_number: Some("100".into()),
        status: UserStatus::Active,
        time_zone: req.time_zone.clone(),
        support_email: None,
        support_phone: None,
        password_hash: state.hasher.hash(&req.password).await?,
        email_confirmed: false,
        must_change_password: false,
        created_at: now,
    };
    state
        .repos
        .tenants
        .create_with_admin(&tenant, &admin)
        .await?;
    send_confirmation(&state, &admin, now).await?;
    tracing::info!(tenant = %tenant_id, user = %admin.id, "company signed up");
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            tenant_id: tenant_id.to_string(),
            user_id: admin.id.to_string(),
            confirmation_sent_to: email,
        }),
    ))
}

async fn send_confirmation(state: &AppState, user: &User, now: i64) -> Result<(), ApiError> {
    let (token, stored) = secret::generate(&user.tenant);
    let record = OneTimeToken {
        user: user.id.clone(),
        purpose: CONFIRM_PURPOSE.into(),
        expires_at: now + CONFIRM_TTL_MS,
    };
    state
        .repos
        .tokens
        .put_once(&stored.tenant, &stored.hash, &record)
        .await?;
    let link = format!(
        "{}/confirm?token={token}",
        state.config.public_url.trim_end_matches('/')
    );
    let text = format!(
        "Welcome to Callisto!\n\nConfirm your e-mail address to activate your company account:\n{link}\n\nThe link is valid for 3 days.\n\n\
         Подтвердите адрес электронной почты, чтобы активировать аккаунт компании:\n{link}\n"
    );
    state
        .outbox
        .send(Mail {
            tenant: user.tenant.clone(),
            to: user.email.clone(),
            subject: "Confirm your Callisto account".into(),
            text,
        })
        .await
        .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The token from the confirmation link.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmResponse {
    pub email: String,
    pub confirmed: bool,
}

#[utoipa::path(post, path = "/api/auth/confirm", tag = "auth", request_body = ConfirmRequest,
    responses((status = 200, body = ConfirmResponse), (status = 400, body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Json<ConfirmResponse>, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "this confirmation link is invalid, used or expired",
        )
        .with_field("token")
    };
    let parsed = secret::parse(&req.token).ok_or_else(invalid)?;
    let record = state
        .repos
        .tokens
        .take_once(&parsed.tenant, &parsed.hash)
        .await?
        .ok_or_else(invalid)?;
    if record.purpose != CONFIRM_PURPOSE || record.expires_at <= state.clock.now_ms() {
        return Err(invalid());
    }
    // The token is already consumed: retry a concurrent profile edit rather than lose the confirmation.
    for _ in 0..5 {
        let current = state.repos.users.get(&parsed.tenant, &record.user).await?;
        let mut user = current.value.clone();
        user.email_confirmed = true;
        match state
            .repos
            .users
            .update(&current.value, &user, current.version)
            .await
        {
            Ok(_) => {
                return Ok(Json(ConfirmResponse {
                    email: user.email,
                    confirmed: true,
                }));
            }
            Err(RepoError::Stale(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "stale",
        "the account is being changed right now; try the link again",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Long-lived, single-use: each refresh returns a new one.
    pub refresh_token: String,
    pub user: UserView,
}

async fn issue_tokens(state: &AppState, user: &User, now: i64) -> Result<TokenResponse, ApiError> {
    let (refresh_token, stored) = secret::generate(&user.tenant);
    let record = RefreshToken {
        user: user.id.clone(),
        created_at: now,
        expires_at: now + state.config.refresh_ttl_secs * 1000,
    };
    state
        .repos
        .tokens
        .put_refresh(&stored.tenant, &stored.hash, &record)
        .await?;
    Ok(TokenResponse {
        access_token: state.jwt.issue(&user.tenant, &user.id, now)?,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        refresh_token,
        user: UserView::from(user),
    })
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many failed attempts; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let email = normalize_email(&req.email).unwrap_or_else(|_| req.email.trim().to_lowercase());
    let now = state.clock.now_ms();
    let attempts = state.repos.throttles.get(&email).await?;
    if let Some(a) = &attempts
        && let Err(wait_ms) = a.value.check(now)
    {
        let secs = (wait_ms + 999) / 1000;
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "too many failed log-in attempts; try again in {} min",
                (secs + 59) / 60
            ),
        );
        e.retry_after = Some(secs as u64);
        return Err(e);
    }

    let entry = state.repos.users.find_login(&email).await?;
    let user = match &entry {
        Some(e) => Some(state.repos.users.get(&e.tenant, &e.user).await?.value),
        None => None,
    };
    let ok = state
        .hasher
        .verify(
            &req.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            record_failure(&state, &email, attempts.map(|a| (a.value, a.version)), now).await?;
            return Err(ApiError::unauthenticated(
                "invalid_credentials",
                "wrong e-mail or password",
            ));
        }
    };
    if attempts.is_some() {
        state.repos.throttles.clear(&email).await?;
    }
    match user.status {
        UserStatus::Active => {}
        UserStatus::Blocked => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "user_blocked",
                "this user is blocked by an administrator",
            ));
        }
        UserStatus::Deleted => {
            return Err(ApiError::unauthenticated(
                "invalid_credentials",
                "wrong e-mail or password",
            ));
        }
    }
    if !user.email_confirmed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "email_not_confirmed",
            "confirm your e-mail address first: follow the link we sent you",
        ));
    }
    tracing::info!(tenant = %user.tenant, user = %user.id, "logged in");
    Ok(Json(issue_tokens(&state, &user, now).await?))
}

async fn record_failure(
    state: &AppState,
    email: &str,
    current: Option<(LoginAttempts, u64)>,
    now: i64,
) -> Result<(), ApiError> {
    let (mut attempts, version) = match current {
        Some((a, v)) => (a, Some(v)),
        None => (
            LoginAttempts {
                failures: 0,
                window_start: now,
                locked_until: None,
            },
            None,
        ),
    };
    attempts.record_failure(now);
    tracing::warn!(email, failures = attempts.failures, "failed log-in");
    match state.repos.throttles.save(email, &attempts, version).await {
        // A concurrent failure was counted by someone else; one lost count is fine.
        Ok(()) | Err(RepoError::Stale(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_refresh_token",
            "refresh token is invalid, used, revoked or expired; log in again",
        )
    };
    let now = state.clock.now_ms();
    let old = secret::parse(&req.refresh_token).ok_or_else(invalid)?;
    let record = state
        .repos
        .tokens
        .get_refresh(&old.tenant, &old.hash)
        .await?
        .ok_or_else(invalid)?;
    if record.value.expires_at <= now {
        state
            .repos
            .tokens
            .revoke_refresh(&old.tenant, &old.hash)
            .await?;
        return Err(invalid());
    }
    let user = match state.repos.users.get(&old.tenant, &record.value.user).await {
        Ok(u) if u.value.status == UserStatus::Active => u.value,
        Ok(_) | Err(RepoError::NotFound(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    let (new_token, new) = secret::generate(&user.tenant);
    let new_record = RefreshToken {
        user: user.id.clone(),
        created_at: now,
        expires_at: record.value.expires_at,
    };
    match state
        .repos
        .tokens
        .rotate_refresh(
            &old.tenant,
            &old.hash,
            record.version,
            &new.hash,
            &new_record,
        )
        .await
    {
        Ok(()) => {}
        Err(RepoError::Stale(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(TokenResponse {
        access_token: state.jwt.issue(&user.tenant, &user.id, now)?,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        refresh_token: new_token,
        user: UserView::from(&user),
    }))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "the refresh token no longer works")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    if let Some(t) = secret::parse(&req.refresh_token) {
        state
            .repos
            .tokens
            .revoke_refresh(&t.tenant, &t.hash)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
