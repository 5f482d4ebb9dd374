//! Telephony set-up (PRODUCT B2): the company's SIP trunk and the agents' own
//! SIP accounts for desk phones, softphones and the browser.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use callisto_domain::access::Permission;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{
    SipCredentials, SipTransport, Trunk, TrunkReach, TrunkStatus, sip_username,
};
use callisto_domain::user::UserStatus;
use md5::Md5;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The trunk as the settings page shows it; the password is never sent back.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkView {
    pub enabled: bool,
    pub name: String,
    /// E.164, e.g. `+74951234567`.
    pub number: String,
    pub host: String,
    pub port: u16,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    pub login: String,
    /// Empty: the host is the SIP domain.
    pub domain: String,
    pub register: bool,
    /// The node checks the trunk with OPTIONS (see `reach`).
    pub qualify: bool,
    /// Whether a password is stored (it is never returned).
    pub password_set: bool,
}

/// The platform's registration to the trunk as last known.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkStatusView {
    /// `disabled`, `not_registering`, `registering`, `registered` or `failed`.
    pub state: String,
    /// `registered`: until when (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// `failed`: the SIP status of the refusal; absent when the trunk did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// `failed`: why, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether the trunk answers the node's OPTIONS (only for a checked trunk).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkReachView {
    /// `reachable` or `unreachable`.
    pub state: String,
    /// `reachable`: the answer's round trip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
    /// `reachable`: when it last answered; `unreachable`: since when it has not.
    pub at: i64,
}

impl From<&TrunkReach> for TrunkReachView {
    fn from(r: &TrunkReach) -> TrunkReachView {
        match r {
            TrunkReach::Reachable { rtt_ms, at } => TrunkReachView {
                state: "reachable".into(),
                rtt_ms: Some(*rtt_ms),
                at: *at,
            },
            TrunkReach::Unreachable { since } => TrunkReachView {
                state: "unreachable".into(),
                rtt_ms: None,
                at: *since,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkSettings {
    pub configured: bool,
    pub trunk: Option<TrunkView>,
    pub status: Option<TrunkStatusView>,
    /// For a trunk checked with OPTIONS, once the node has tried.
    pub reach: Option<TrunkReachView>,
    /// Send back with the next save; 0 while no trunk is configured.
    pub version: u64,
}

/// The trunk's settings. `password` omitted keeps the stored one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkBody {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub name: String,
    /// As typed; numbers without a country code take the company's phone region.
    pub number: String,
    /// Host name or IPv4 address, without `sip:`, port or path.
    pub host: String,
    /// The transport's default (5060, TLS 5061) when absent.
    pub port: Option<u16>,
    /// `udp` (default), `tcp` or `tls`.
    pub transport: Option<String>,
    pub login: String,
    /// SIP domain when it differs from the host.
    #[serde(default)]
    pub domain: String,
    /// Register to the trunk (default); `false` for trunks that admit by address.
    #[serde(default = "yes")]
    pub register: bool,
    /// Omitted: keep the stored password; `""` removes it.
    pub password: Option<String>,
    /// Check the trunk with OPTIONS (default off: some carriers treat them as abuse).
    #[serde(default)]
    pub qualify: bool,
    /// The `version` last read; 0 for the first save.
    pub version: u64,
}

fn yes() -> bool {
    true
}

fn transport_name(t: SipTransport) -> &'static str {
    match t {
        SipTransport::Udp => "udp",
        SipTransport::Tcp => "tcp",
        SipTransport::Tls => "tls",
    }
}

impl From<&Trunk> for TrunkView {
    fn from(t: &Trunk) -> TrunkView {
        TrunkView {
            enabled: t.enabled,
            name: t.name.clone(),
            number: t.number.clone(),
            host: t.host.clone(),
            port: t.port,
            transport: transport_name(t.transport).into(),
            login: t.login.clone(),
            domain: t.domain.clone(),
            register: t.register,
            qualify: t.qualify,
            password_set: !t.password.is_empty(),
        }
    }
}

impl From<&TrunkStatus> for TrunkStatusView {
    fn from(s: &TrunkStatus) -> TrunkStatusView {
        let view = |state: &str| TrunkStatusView {
            state: state.into(),
            until: None,
            code: None,
            reason: None,
        };
        match s {
            TrunkStatus::Disabled => view("disabled"),
            TrunkStatus::NotRegistering => view("not_registering"),
            TrunkStatus::Registering => view("registering"),
            TrunkStatus::Registered { until } => TrunkStatusView {
                until: Some(*until),
                ..view("registered")
            },
            TrunkStatus::Failed { code, reason } => TrunkStatusView {
                code: *code,
                reason: Some(reason.clone()),
                ..view("failed")
            },
        }
    }
}

/// What the page should show right after a save, until the media node reports.
fn initial_status(t: &Trunk) -> TrunkStatus {
    if !t.enabled {
        TrunkStatus::Disabled
    } else if !t.register {
        TrunkStatus::NotRegistering
    } else {
        TrunkStatus::Registering
    }
}

async fn trunk_settings(state: &AppState, t: &TenantId) -> Result<TrunkSettings, ApiError> {
    let trunk = state.repos.telephony.trunk(t).await?;
    let status = match &trunk {
        Some(_) => state.repos.telephony.trunk_status(t).await?,
        None => None,
    };
    let reach = match &trunk {
        Some(v) if v.value.qualify => state.repos.telephony.trunk_reach(t).await?,
        _ => None,
    };
    Ok(TrunkSettings {
        configured: trunk.is_some(),
        trunk: trunk.as_ref().map(|v| TrunkView::from(&v.value)),
        status: status.as_ref().map(TrunkStatusView::from),
        reach: reach.as_ref().map(TrunkReachView::from),
        version: trunk.map_or(0, |v| v.version),
    })
}

#[utoipa::path(get, path = "/api/company/trunk", tag = "telephony", security(("bearer" = [])),
    responses((status = 200, body = TrunkSettings), (status = 403, body = ErrorBody)))]
pub async fn get_trunk(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TrunkSettings>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    Ok(Json(
        trunk_settings(&state, &caller.principal.tenant).await?,
    ))
}

/// Saves the trunk. A changed trunk's status restarts (`registering`,
/// `not_registering` or `disabled`) until the media node reports.
#[utoipa::path(put, path = "/api/company/trunk", tag = "telephony", security(("bearer" = [])), request_body = TrunkBody,
    responses((status = 200, body = TrunkSettings), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_trunk(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TrunkBody>,
) -> Result<Json<TrunkSettings>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let transport = match body.transport.as_deref().map(str::trim) {
        None | Some("udp") => SipTransport::Udp,
        Some("tcp") => SipTransport::Tcp,
        Some("tls") => SipTransport::Tls,
        Some(other) => {
            return Err(ApiError::invalid(
                "transport",
                format!("{other:?}: use udp, tcp or tls"),
            ));
        }
    };
    let region = state.repos.tenants.get(t).await?.value.phone_region;
    let number = callisto_domain::phone::normalize_phone(&body.number, &region).map_err(|e| {
        ApiError::invalid(
            "number",
            format!("{e}; type it with +country code, e.g. +74951234567"),
        )
    })?;
    let current = state.repos.telephony.trunk(t).await?;
    let password = match body.password {
        Some(p) => p,
        None => current
            .as_ref()
            .map(|c| c.value.password.clone())
            .unwrap_or_default(),
    };
    let trunk = Trunk {
        enabled: body.enabled,
        name: body.name.trim().to_string(),
        number,
        host: body.host.trim().to_ascii_lowercase(),
        port: body.port.unwrap_or(transport.default_port()),
        transport,
        login: body.login.trim().to_string(),
        domain: body.domain.trim().to_ascii_lowercase(),
        password,
        register: body.register,
        qualify: body.qualify,
    };
    trunk.validate()?;
    let current_version = current.as_ref().map_or(0, |c| c.version);
    if body.version != current_version {
        return Err(ApiError::conflict(
            "stale",
            "the trunk settings were changed meanwhile; reload them and try again",
        )
        .with_field("version"));
    }
    state
        .repos
        .telephony
        .save_trunk(t, &trunk, body.version)
        .await?;
    let changed = current.as_ref().is_none_or(|c| c.value != trunk);
    if changed || state.repos.telephony.trunk_status(t).await?.is_none() {
        state
            .repos
            .telephony
            .set_trunk_status(t, &initial_status(&trunk))
            .await?;
    }
    tracing::info!(tenant = %t, user = %caller.user.id, changed, "trunk saved");
    Ok(Json(trunk_settings(&state, t).await?))
}

/// An agent's SIP account as their own page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SipAccountView {
    /// The digest user name: `<tenant>.<user>`.
    pub username: String,
    pub realm: String,
    /// Whether a SIP password has been generated (for this realm).
    pub configured: bool,
    /// MD5 of `username:realm:password` in hex, for a browser SIP client's `ha1`
    /// option: it registers without knowing the password, in this realm only.
    pub ha1: Option<String>,
    /// Where a browser softphone connects (SIP over WebSocket), if a node takes browsers.
    pub websocket: Option<String>,
}

/// A freshly generated SIP password, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SipPasswordView {
    pub username: String,
    pub password: String,
    pub realm: String,
}

/// Length of generated SIP passwords: letters and digits only, so they can be
/// typed on a desk phone; 24 of 62 symbols is about 143 bits.
const SIP_PASSWORD_LEN: usize = 24;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digest HA1 values (RFC 7616) of `username:realm:password`: MD5 and SHA-256, hex.
fn ha1s(username: &str, realm: &str, password: &str) -> (String, String) {
    let a1 = format!("{username}:{realm}:{password}");
    (
        hex(&Md5::digest(a1.as_bytes())),
        hex(&Sha256::digest(a1.as_bytes())),
    )
}

/// Generates a new SIP password for a user and stores only its HA1 values.
async fn issue_sip_password(
    state: &AppState,
    t: &TenantId,
    u: &UserId,
) -> Result<SipPasswordView, ApiError> {
    let password: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(SIP_PASSWORD_LEN)
        .map(char::from)
        .collect();
    let username = sip_username(t, u);
    let realm = state.config.sip_realm.clone();
    let (ha1_md5, ha1_sha256) = ha1s(&username, &realm, &password);
    let credentials = SipCredentials {
        realm: realm.clone(),
        ha1_md5,
        ha1_sha256,
        updated_at: state.clock.now_ms(),
    };
    state
        .repos
        .telephony
        .save_sip_credentials(t, u, &credentials)
        .await?;
    Ok(SipPasswordView {
        username,
        password,
        realm,
    })
}

#[utoipa::path(get, path = "/api/me/sip", tag = "telephony", security(("bearer" = [])),
    responses((status = 200, body = SipAccountView), (status = 401, body = ErrorBody)))]
pub async fn get_my_sip(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SipAccountView>, ApiError> {
    let (t, u) = (&caller.principal.tenant, &caller.principal.user);
    let realm = state.config.sip_realm.clone();
    // HA1 values of another realm do not verify here: as good as none.
    let stored = state
        .repos
        .telephony
        .sip_credentials(t, u)
        .await?
        .filter(|c| c.realm == realm);
    Ok(Json(SipAccountView {
        username: sip_username(t, u),
        realm,
        configured: stored.is_some(),
        ha1: stored.map(|c| c.ha1_md5),
        websocket: state.config.sip_websocket.clone(),
    }))
}

/// Generates a new password for the caller's own SIP account (for a desk phone
/// or softphone); the previous one stops working. The password is shown only here.
#[utoipa::path(post, path = "/api/me/sip-password", tag = "telephony", security(("bearer" = [])),
    responses((status = 200, body = SipPasswordView), (status = 401, body = ErrorBody)))]
pub async fn reset_my_sip_password(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SipPasswordView>, ApiError> {
    let (t, u) = (&caller.principal.tenant, &caller.principal.user);
    let view = issue_sip_password(&state, t, u).await?;
    tracing::info!(tenant = %t, user = %u, "own SIP password generated");
    Ok(Json(view))
}

/// An administrator generates a new SIP password for a user of the company.
#[utoipa::path(post, path = "/api/users/{id}/sip-password", tag = "telephony", security(("bearer" = [])),
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = SipPasswordView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_user_sip_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SipPasswordView>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let t = &caller.principal.tenant;
    let id = UserId::parse(&id).map_err(|_| ApiError::not_found("user"))?;
    let user = state.repos.users.get(t, &id).await?;
    if user.value.status == UserStatus::Deleted {
        return Err(ApiError::not_found("user"));
    }
    let view = issue_sip_password(&state, t, &id).await?;
    tracing::info!(tenant = %t, user = %id, by = %caller.user.id, "SIP password reset");
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha1_matches_rfc_2617_example() {
        // RFC 2617 3.5: Mufasa / testrealm@host.com / Circle Of Life.
        let (md5, sha) = ha1s("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(md5, "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(sha.len(), 64);
    }
}
