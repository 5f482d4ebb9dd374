//! SMTP accounts (PRODUCT D3): the company's, managed by administrators and
//! used by everyone, and users' own. The password is write-only: sealed at
//! rest (`callisto_store::sealed`), never returned, kept when an update
//! leaves it out. "Test connection" logs in and says where it failed.

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Permission;
use callisto_domain::ids::MailAccountId;
use callisto_domain::mail::{
    MAX_PASSWORD_CHARS, MailAccount, MailAuth, MailSecurity, normalize_signature,
};
use callisto_store::repo::RepoError;
use callisto_store::smtp::{SmtpServer, SmtpStage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailAccountRequest {
    pub name: String,
    /// True: the caller's own account; false (default): the company's (administrators only).
    /// Fixed at creation.
    #[serde(default)]
    pub personal: bool,
    pub from_address: String,
    pub from_name: Option<String>,
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    /// `none`, `plain` or `login`.
    pub auth: String,
    pub login: Option<String>,
    /// Write-only. Left out on update: the stored one is kept.
    pub password: Option<String>,
    /// PUT: the version read; an account changed since is refused (409 `stale`).
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailAccountView {
    pub id: String,
    /// The owning user's id; absent for a company account.
    pub owner: Option<String>,
    pub name: String,
    pub from_address: String,
    pub from_name: Option<String>,
    pub host: String,
    pub port: u16,
    pub security: String,
    pub auth: String,
    pub login: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    /// Ids of the scenarios sending through it; while any does, it cannot be deleted.
    pub scenarios: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

fn security_str(s: MailSecurity) -> &'static str {
    match s {
        MailSecurity::None => "none",
        MailSecurity::Starttls => "starttls",
        MailSecurity::Tls => "tls",
    }
}

fn auth_str(a: MailAuth) -> &'static str {
    match a {
        MailAuth::None => "none",
        MailAuth::Plain => "plain",
        MailAuth::Login => "login",
    }
}

impl MailAccountView {
    fn new(a: &MailAccount, version: u64) -> MailAccountView {
        MailAccountView {
            id: a.id.to_string(),
            owner: a.owner.as_ref().map(ToString::to_string),
            name: a.name.clone(),
            from_address: a.from_address.clone(),
            from_name: a.from_name.clone(),
            host: a.host.clone(),
            port: a.port,
            security: security_str(a.security).into(),
            auth: auth_str(a.auth).into(),
            login: a.login.clone(),
            password_set: a.sealed_password.is_some(),
            scenarios: a.used_by.iter().map(ToString::to_string).collect(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            version,
        }
    }
}

fn parse_security(s: &str) -> Result<MailSecurity, ApiError> {
    match s {
        "none" => Ok(MailSecurity::None),
        "starttls" => Ok(MailSecurity::Starttls),
        "tls" => Ok(MailSecurity::Tls),
        other => Err(ApiError::invalid(
            "security",
            format!("{other:?}: use none, starttls or tls"),
        )),
    }
}

fn parse_auth(s: &str) -> Result<MailAuth, ApiError> {
    match s {
        "none" => Ok(MailAuth::None),
        "plain" => Ok(MailAuth::Plain),
        "login" => Ok(MailAuth::Login),
        other => Err(ApiError::invalid(
            "auth",
            format!("{other:?}: use none, plain or login"),
        )),
    }
}

pub(crate) fn parse_account_id(id: &str) -> Result<MailAccountId, ApiError> {
    MailAccountId::parse(id).map_err(|_| ApiError::not_found("mail account"))
}

/// The account with `id` if the caller may see it (else 404, as for a missing one).
pub(crate) async fn visible_account(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(MailAccount, u64), ApiError> {
    let a = state
        .repos
        .mail
        .account(&caller.principal.tenant, &parse_account_id(id)?)
        .await?;
    if !a.value.visible_to(&caller.principal) {
        return Err(ApiError::not_found("mail account"));
    }
    Ok((a.value, a.version))
}

/// Applies a request to `a` (new or stored): fields, password sealed or kept.
fn apply(
    state: &AppState,
    caller: &Caller,
    a: &mut MailAccount,
    req: MailAccountRequest,
) -> Result<(), ApiError> {
    a.name = req.name;
    a.from_address = req.from_address;
    a.from_name = req.from_name;
    a.host = req.host;
    a.port = req.port;
    a.security = parse_security(&req.security)?;
    a.auth = parse_auth(&req.auth)?;
    a.login = req.login;
    if let Some(pw) = req.password {
        if pw.is_empty() || pw.chars().count() > MAX_PASSWORD_CHARS {
            return Err(ApiError::invalid(
                "password",
                format!("must be 1-{MAX_PASSWORD_CHARS} characters"),
            ));
        }
        a.sealed_password = Some(
            state
                .sealing
                .seal(&caller.principal.tenant, &pw)
                .map_err(ApiError::internal)?,
        );
    }
    if a.auth == MailAuth::None {
        a.login = None;
        a.sealed_password = None;
    }
    a.normalize()?;
    Ok(())
}

#[utoipa::path(get, path = "/api/mail-accounts", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = [MailAccountView])))]
pub async fn list_mail_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MailAccountView>>, ApiError> {
    let all = state.repos.mail.accounts(&caller.principal.tenant).await?;
    Ok(Json(
        all.iter()
            .filter(|a| a.value.visible_to(&caller.principal))
            .map(|a| MailAccountView::new(&a.value, a.version))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/mail-accounts/{id}", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = MailAccountView), (status = 404, body = ErrorBody)))]
pub async fn get_mail_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MailAccountView>, ApiError> {
    let (a, version) = visible_account(&state, &caller, &id).await?;
    Ok(Json(MailAccountView::new(&a, version)))
}

#[utoipa::path(post, path = "/api/mail-accounts", tag = "mail", security(("bearer" = [])), request_body = MailAccountRequest,
    responses((status = 201, body = MailAccountView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_mail_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MailAccountRequest>,
) -> Result<(StatusCode, Json<MailAccountView>), ApiError> {
    if !req.personal {
        caller.require(Permission::ManageSettings)?;
    }
    if req.version.is_some() {
        return Err(ApiError::invalid(
            "version",
            "a new account has no version; send it when replacing one",
        ));
    }
    let now = state.clock.now_ms();
    let mut a = MailAccount {
        id: MailAccountId::parse(new_id()).map_err(ApiError::internal)?,
        owner: req.personal.then(|| caller.user.id.clone()),
        name: String::new(),
        from_address: String::new(),
        from_name: None,
        host: String::new(),
        port: 0,
        security: MailSecurity::None,
        auth: MailAuth::None,
        login: None,
        sealed_password: None,
        used_by: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    apply(&state, &caller, &mut a, req)?;
    let version = state
        .repos
        .mail
        .save_account(&caller.principal.tenant, &a, 0)
        .await?;
    Ok((StatusCode::CREATED, Json(MailAccountView::new(&a, version))))
}

/// Replaces the settings; a password left out keeps the stored one.
#[utoipa::path(put, path = "/api/mail-accounts/{id}", tag = "mail", security(("bearer" = [])), request_body = MailAccountRequest,
    responses((status = 200, body = MailAccountView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_mail_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MailAccountRequest>,
) -> Result<Json<MailAccountView>, ApiError> {
    let (mut a, version) = visible_account(&state, &caller, &id).await?;
    if !a.managed_by(&caller.principal) {
        return Err(ApiError::forbidden(
            "only its owner or an administrator changes this account",
        ));
    }
    if req.personal != a.owner.is_some() {
        return Err(ApiError::invalid(
            "personal",
            "whether an account is personal is fixed when it is created",
        ));
    }
    if req.version.is_some_and(|v| v != version) {
        return Err(RepoError::Stale("mail account").into());
    }
    a.updated_at = state.clock.now_ms();
    apply(&state, &caller, &mut a, req)?;
    let version = state
        .repos
        .mail
        .save_account(&caller.principal.tenant, &a, version)
        .await?;
    Ok(Json(MailAccountView::new(&a, version)))
}

/// Deletes an account no scenario uses; one in use answers 409 naming the scenario.
#[utoipa::path(delete, path = "/api/mail-accounts/{id}", tag = "mail", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a scenario uses it")))]
pub async fn delete_mail_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (a, _) = visible_account(&state, &caller, &id).await?;
    if !a.managed_by(&caller.principal) {
        return Err(ApiError::forbidden(
            "only its owner or an administrator deletes this account",
        ));
    }
    state
        .repos
        .mail
        .delete_account(&caller.principal.tenant, &a.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTest {
    pub ok: bool,
}

/// The SMTP session settings of a stored account, its password opened.
pub(crate) fn smtp_server(
    state: &AppState,
    caller: &Caller,
    a: &MailAccount,
) -> Result<SmtpServer, ApiError> {
    let password = match &a.sealed_password {
        Some(sealed) => Some(
            state
                .sealing
                .open(&caller.principal.tenant, sealed)
                .map_err(|_| {
                    ApiError::invalid(
                        "password",
                        "the stored password cannot be read; enter it again",
                    )
                })?,
        ),
        None => None,
    };
    Ok(SmtpServer::for_account(a, password))
}

/// "Test connection": connects, greets (EHLO), upgrades (STARTTLS/TLS) and
/// logs in as configured, then quits. A failure answers 502 with the stage in
/// `code` (`smtp_connect`, `smtp_starttls`, `smtp_auth`) and the server's words
/// in `message`, e.g. "authentication refused: permanent error (535): …".
#[utoipa::path(post, path = "/api/mail-accounts/{id}/test", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = ConnectionTest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 502, body = ErrorBody, description = "the server could not be reached or refused")))]
pub async fn test_mail_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionTest>, ApiError> {
    let (a, _) = visible_account(&state, &caller, &id).await?;
    if !a.managed_by(&caller.principal) {
        return Err(ApiError::forbidden(
            "only its owner or an administrator tests this account",
        ));
    }
    let server = smtp_server(&state, &caller, &a)?;
    match callisto_store::smtp::test_connection(&server).await {
        Ok(()) => Ok(Json(ConnectionTest { ok: true })),
        Err(e) => {
            let code = match e.stage {
                SmtpStage::Connect => "smtp_connect",
                SmtpStage::Starttls => "smtp_starttls",
                SmtpStage::Auth => "smtp_auth",
                SmtpStage::Message | SmtpStage::Send => "smtp_send",
            };
            Err(ApiError::new(StatusCode::BAD_GATEWAY, code, e.to_string()))
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSignature {
    /// Plain text appended to every mail the user sends (at most 2000 characters).
    pub signature: String,
}

#[utoipa::path(get, path = "/api/me/mail-signature", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = MailSignature)))]
pub async fn get_mail_signature(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MailSignature>, ApiError> {
    let signature = state
        .repos
        .mail
        .signature(&caller.principal.tenant, &caller.user.id)
        .await?;
    Ok(Json(MailSignature { signature }))
}

#[utoipa::path(put, path = "/api/me/mail-signature", tag = "mail", security(("bearer" = [])), request_body = MailSignature,
    responses((status = 200, body = MailSignature), (status = 422, body = ErrorBody)))]
pub async fn put_mail_signature(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MailSignature>,
) -> Result<Json<MailSignature>, ApiError> {
    let signature = normalize_signature(&req.signature)?;
    state
        .repos
        .mail
        .set_signature(&caller.principal.tenant, &caller.user.id, &signature)
        .await?;
    Ok(Json(MailSignature { signature }))
}
