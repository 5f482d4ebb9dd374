//! Agent state (PRODUCT E4): each user sets their own; supervisors (whoever's
//! scope covers the agent) see the current states and the history of changes
//! for reports. The media node offers calls only to available agents; it reads
//! the states through its directory, so a change reaches it within the
//! directory's cache period.

use super::page_limit;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::views::Paged;
use axum::Json;
use axum::extract::{Path, State};
use callisto_domain::access::{Ownership, Role};
use callisto_domain::agent_state::{
    AgentState, AgentStatus, StateChange, StateName, check_transition,
};
use callisto_domain::event::check_range;
use callisto_domain::ids::UserId;
use callisto_domain::user::{User, UserStatus};
use callisto_store::repo::RepoError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct StateView {
    pub user_id: String,
    /// `available`, `not_ready`, `wrap_up`, `dnd` or `offline`, as of now (a
    /// wrap-up whose time is up reads `available`).
    pub state: String,
    /// Why not ready.
    pub reason: Option<String>,
    /// When the wrap-up ends.
    pub wrap_up_until: Option<i64>,
    /// When the state was set; absent for a user who never set one.
    pub since: Option<i64>,
}

fn state_view(user: &UserId, s: &AgentState, since: Option<i64>) -> StateView {
    StateView {
        user_id: user.to_string(),
        state: s.name().as_str().into(),
        reason: match s {
            AgentState::NotReady { reason } => Some(reason.clone()),
            _ => None,
        },
        wrap_up_until: match s {
            AgentState::WrapUp { until } => Some(*until),
            _ => None,
        },
        since,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetState {
    /// `available`, `not_ready`, `wrap_up`, `dnd` or `offline`.
    pub state: String,
    /// Required for `not_ready`, at most 100 characters.
    pub reason: Option<String>,
    /// Required for `wrap_up`: how long, in milliseconds (at most 30 minutes).
    pub wrap_up_ms: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateChangeView {
    pub at: i64,
    pub from: StateView,
    pub to: StateView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StateHistoryParams {
    /// Start (inclusive), milliseconds since the epoch.
    pub from: i64,
    /// End (exclusive); at most 92 days after `from`.
    pub to: i64,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn sees(caller: &Caller, u: &User) -> bool {
    caller.principal.sees(Ownership {
        owner: &u.id,
        owner_group: u.group.as_ref(),
    })
}

#[utoipa::path(get, path = "/api/me/state", tag = "agents", security(("bearer" = [])),
    responses((status = 200, body = StateView)))]
pub async fn get_my_state(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StateView>, ApiError> {
    let now = state.clock.now_ms();
    let t = &caller.principal.tenant;
    let view = match state.repos.agent_states.get(t, &caller.user.id).await? {
        Some(s) => state_view(&caller.user.id, &s.value.state.at(now), Some(s.value.since)),
        None => state_view(&caller.user.id, &AgentState::Available, None),
    };
    Ok(Json(view))
}

#[utoipa::path(put, path = "/api/me/state", tag = "agents", security(("bearer" = [])), request_body = SetState,
    responses((status = 200, body = StateView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_my_state(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SetState>,
) -> Result<Json<StateView>, ApiError> {
    let now = state.clock.now_ms();
    let name = StateName::parse("state", &req.state)?;
    let to = AgentState::request(name, req.reason.as_deref(), req.wrap_up_ms, now)?;
    let t = &caller.principal.tenant;
    let (from, version) = match state.repos.agent_states.get(t, &caller.user.id).await? {
        Some(s) => (s.value.state.at(now), s.version),
        None => (AgentState::Available, 0),
    };
    check_transition(&from, &to)?;
    let status = AgentStatus {
        user: caller.user.id.clone(),
        state: to.clone(),
        since: now,
    };
    let change = StateChange {
        user: caller.user.id.clone(),
        from,
        to,
        at: now,
    };
    state
        .repos
        .agent_states
        .set(t, &status, version, &change)
        .await?;
    Ok(Json(state_view(&status.user, &status.state, Some(now))))
}

/// Every active user's current state in the caller's scope; for
/// administrators, heads and group leaders (managers have their own only).
#[utoipa::path(get, path = "/api/agents/states", tag = "agents", security(("bearer" = [])),
    responses((status = 200, body = [StateView]), (status = 403, body = ErrorBody)))]
pub async fn list_agent_states(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StateView>>, ApiError> {
    if caller.principal.role == Role::Manager {
        return Err(ApiError::forbidden(
            "managers see their own state only (GET /api/me/state)",
        ));
    }
    let now = state.clock.now_ms();
    let t = &caller.principal.tenant;
    let stored = state.repos.agent_states.all(t).await?;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state.repos.users.list(t, cursor, 500).await?;
        for u in page
            .items
            .iter()
            .filter(|u| u.status == UserStatus::Active && sees(&caller, u))
        {
            out.push(match stored.iter().find(|s| s.user == u.id) {
                Some(s) => state_view(&u.id, &s.state.at(now), Some(s.since)),
                None => state_view(&u.id, &AgentState::Available, None),
            });
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(Json(out)),
        }
    }
}

/// One user's state changes in `[from, to)`, oldest first, for reports: the
/// user themselves or someone whose scope covers them.
#[utoipa::path(get, path = "/api/agents/{id}/state-history", tag = "agents", security(("bearer" = [])), params(StateHistoryParams),
    responses((status = 200, body = Paged<StateChangeView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agent_state_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<StateHistoryParams>,
) -> Result<Json<Paged<StateChangeView>>, ApiError> {
    let missing = || ApiError::not_found("user");
    let id = UserId::parse(id).map_err(|_| missing())?;
    let t = &caller.principal.tenant;
    let user = match state.repos.users.get(t, &id).await {
        Ok(u) => u.value,
        Err(RepoError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if user.id != caller.user.id && !sees(&caller, &user) {
        return Err(missing());
    }
    check_range(p.from, p.to)?;
    let page = state
        .repos
        .agent_states
        .history(t, &user.id, p.from, p.to, p.cursor, page_limit(p.limit)?)
        .await?;
    let items = page
        .items
        .iter()
        .map(|c| StateChangeView {
            at: c.at,
            from: state_view(&c.user, &c.from, None),
            to: state_view(&c.user, &c.to, Some(c.at)),
        })
        .collect();
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}
