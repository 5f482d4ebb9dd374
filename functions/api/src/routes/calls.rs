//! The call log (PRODUCT G3) and call recordings (G2), within the caller's scope.

use super::page_limit;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiQuery;
use crate::views::Paged;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Body};
use callisto_domain::access::{Ownership, Principal, Scope};
use callisto_domain::call::{CallId, CallRecord, month_of, month_span};
use callisto_domain::ids::{ClientId, GroupId, UserId};
use callisto_store::blob::BlobKey;
use callisto_store::repo::{Listing, RepoError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tower::ServiceExt;
use utoipa::{IntoParams, ToSchema};

/// Call records one list request reads at most while filtering by scope; a
/// selective filter returns a short page with a cursor.
const SCAN_BUDGET: usize = 5_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct CauseView {
    /// SIP status (200 for a normal end after an answer).
    pub code: u16,
    pub reason: String,
}

/// One row of the call log.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub id: String,
    /// `outbound`, `inbound`, `internal` or `callback`.
    pub direction: String,
    pub from: String,
    pub to: String,
    /// The company's user on the call.
    pub agent: Option<String>,
    /// The client card the call belongs to.
    pub client: Option<String>,
    /// The line (trunk or incoming number) used.
    pub line: Option<String>,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: i64,
    /// From the start to the answer (or the end, if unanswered).
    pub ring_ms: i64,
    /// From the answer to the end; 0 if unanswered.
    pub talk_ms: i64,
    /// `answered`, `missed`, `no_answer`, `busy`, `cancelled` or `failed`.
    pub outcome: String,
    /// Who ended it: `caller`, `callee` or `system`.
    pub hangup: String,
    pub cause: CauseView,
    pub has_recording: bool,
    /// The result an agent saved for the call (one call's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<SavedResultView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedResultView {
    pub scenario: String,
    pub work_list: Option<String>,
    pub result: String,
    /// The result's name when it was saved.
    pub result_name: String,
    pub comment: Option<String>,
    pub agent: String,
    pub at: i64,
}

/// The serde name of a unit enum value (`"no_answer"`).
fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl From<&CallRecord> for CallView {
    fn from(r: &CallRecord) -> CallView {
        CallView {
            id: r.id.to_string(),
            direction: name(&r.direction),
            from: r.from.clone(),
            to: r.to.clone(),
            agent: r.agent.as_ref().map(ToString::to_string),
            client: r.client.as_ref().map(ToString::to_string),
            line: r.line.clone(),
            started_at: r.started_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            ring_ms: r.ring_ms(),
            talk_ms: r.talk_ms(),
            outcome: name(&r.outcome),
            hangup: name(&r.hangup),
            cause: CauseView {
                code: r.cause.code,
                reason: r.cause.reason.clone(),
            },
            has_recording: r.recording.is_some(),
            result: None,
        }
    }
}

/// Which calls a caller sees: the scope rule applied to the call's agent,
/// whose group is taken from the caller's group's member list.
struct CallScope<'a> {
    principal: &'a Principal,
    group: Option<GroupId>,
    members: HashSet<UserId>,
}

impl<'a> CallScope<'a> {
    async fn of(state: &AppState, caller: &'a Caller) -> Result<CallScope<'a>, ApiError> {
        let principal = &caller.principal;
        let mut members = HashSet::new();
        let group = match principal.scope() {
            Scope::Group(g) => Some(g),
            Scope::All | Scope::Own(_) => None,
        };
        if let Some(g) = &group {
            let mut cursor = None;
            loop {
                let page = state
                    .repos
                    .users
                    .list_group(&principal.tenant, g, cursor, 500)
                    .await?;
                members.extend(page.items.into_iter().map(|u| u.id));
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(CallScope {
            principal,
            group,
            members,
        })
    }

    fn sees_agent(&self, agent: &UserId) -> bool {
        let owner_group = self.group.as_ref().filter(|_| self.members.contains(agent));
        self.principal.sees(Ownership {
            owner: agent,
            owner_group,
        })
    }

    /// A call nobody of the company took (e.g. missed with no agent) belongs to no one's scope but all.
    fn sees(&self, r: &CallRecord) -> bool {
        match &r.agent {
            Some(a) => self.sees_agent(a),
            None => self.principal.scope() == Scope::All,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallListParams {
    /// `YYYY-MM`, in UTC; the current month when absent.
    pub month: Option<String>,
    /// Only this user's calls. A manager may ask only for their own (the default).
    pub agent: Option<String>,
    /// Only the calls of this client card.
    pub client: Option<String>,
    pub cursor: Option<String>,
    /// 1-500, default 50.
    pub limit: Option<u32>,
}

fn bad_query(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).with_field(field)
}

/// `YYYY-MM` → (year, month).
fn parse_month(s: &str) -> Result<(i32, u32), ApiError> {
    let bad = || bad_query("month", format!("{s:?}: use YYYY-MM, e.g. 2026-11"));
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    month_span(y, m).ok_or_else(bad)?;
    Ok((y, m))
}

/// Where a listing reads from: the month's log, one agent's or one card's calls.
enum Source {
    Month,
    Agent(UserId),
    Client(ClientId),
}

#[utoipa::path(get, path = "/api/calls", tag = "calls", security(("bearer" = [])), params(CallListParams),
    responses((status = 200, body = Paged<CallView>, description = "calls of the month the caller sees, newest first"),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_calls(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<CallListParams>,
) -> Result<Json<Paged<CallView>>, ApiError> {
    let limit = page_limit(p.limit)?;
    let (year, month) = match p.month.as_deref() {
        Some(m) => parse_month(m)?,
        None => month_of(state.clock.now_ms()),
    };
    let agent = match p.agent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(
            UserId::parse(a).map_err(|_| bad_query("agent", format!("{a:?} is not a user id")))?,
        ),
        None => None,
    };
    let client = match p.client.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(
            ClientId::parse(c)
                .map_err(|_| bad_query("client", format!("{c:?} is not a client id")))?,
        ),
        None => None,
    };
    let scope = CallScope::of(&state, &caller).await?;
    if let Some(a) = &agent
        && !scope.sees_agent(a)
    {
        return Err(
            ApiError::forbidden("you may see only the calls of your own scope").with_field("agent"),
        );
    }
    // Read from the narrowest index: the agent's, then the card's, else the month.
    let source = match (agent, caller.principal.scope(), &client) {
        (Some(a), _, _) | (None, Scope::Own(a), _) => Source::Agent(a),
        (None, _, Some(c)) => Source::Client(c.clone()),
        (None, _, None) => Source::Month,
    };
    let keep = |r: &CallRecord| {
        scope.sees(r) && client.as_ref().is_none_or(|c| r.client.as_ref() == Some(c))
    };

    let t = &caller.principal.tenant;
    let calls = &state.repos.calls;
    let mut items = Vec::new();
    let mut cursor = p.cursor;
    let mut read = 0usize;
    for _ in 0..100 {
        let want = limit - items.len();
        let page: Listing<CallRecord> = match &source {
            Source::Month => calls.month(t, year, month, cursor, want).await?,
            Source::Agent(a) => calls.agent_month(t, a, year, month, cursor, want).await?,
            Source::Client(c) => calls.client_month(t, c, year, month, cursor, want).await?,
        };
        read += page.items.len();
        items.extend(page.items.iter().filter(|r| keep(r)).map(CallView::from));
        cursor = page.cursor;
        if items.len() >= limit || cursor.is_none() || read >= SCAN_BUDGET {
            break;
        }
    }
    Ok(Json(Paged { items, cursor }))
}

/// A call the caller may see; 404 for one of another scope or company.
async fn visible_call(state: &AppState, caller: &Caller, id: &str) -> Result<CallRecord, ApiError> {
    let not_found = || ApiError::not_found("call");
    let id = CallId::parse(id).map_err(|_| not_found())?;
    let record = match state.repos.calls.get(&caller.principal.tenant, &id).await {
        Ok(r) => r,
        Err(RepoError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if !CallScope::of(state, caller).await?.sees(&record) {
        return Err(not_found());
    }
    Ok(record)
}

#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    responses((status = 200, body = CallView), (status = 404, body = ErrorBody)))]
pub async fn get_call(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let record = visible_call(&state, &caller, &id).await?;
    let mut view = CallView::from(&record);
    let saved = state
        .repos
        .work_lists
        .disposition(&caller.principal.tenant, &record.id)
        .await?;
    view.result = saved.map(|d| SavedResultView {
        scenario: d.scenario.to_string(),
        work_list: d.list.as_ref().map(ToString::to_string),
        result: d.result.to_string(),
        result_name: d.result_name,
        comment: d.comment,
        agent: d.agent.to_string(),
        at: d.at,
    });
    Ok(Json(view))
}

/// The call's recording as a file (stereo WAV: the caller left, the callee
/// right). Honours `Range`, so a player can seek.
#[utoipa::path(get, path = "/api/calls/{id}/recording", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    responses((status = 200, description = "the recording", content_type = "audio/wav"),
              (status = 206, description = "the requested range of the recording", content_type = "audio/wav"),
              (status = 404, body = ErrorBody, description = "no such call, or the call has no recording")))]
pub async fn call_recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = visible_call(&state, &caller, &id).await?;
    let Some(recording) = &record.recording else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_recording",
            "this call has no recording",
        ));
    };
    let t = &caller.principal.tenant;
    // The key is the record's; it must lie in the caller's company all the same.
    let path = recording
        .key
        .strip_prefix(&BlobKey::tenant_prefix(t))
        .ok_or_else(|| {
            ApiError::internal(format!(
                "recording key {} outside its tenant",
                recording.key
            ))
        })?;
    let key = BlobKey::new(t, path)?;
    let ext = match recording.format.as_str() {
        "" => "wav",
        f if f.len() <= 8 && f.bytes().all(|b| b.is_ascii_alphanumeric()) => f,
        _ => "bin",
    };
    let file = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .map_err(ApiError::internal)?;
    if state
        .stores
        .blobs
        .download_to(&key, file.path())
        .await?
        .is_none()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "recording_missing",
            "the recording of this call is not in the store",
        ));
    }
    let mut req = Request::builder().uri("/");
    if let Some(range) = headers.get(header::RANGE) {
        req = req.header(header::RANGE, range);
    }
    let req = req.body(Body::empty()).map_err(ApiError::internal)?;
    // ServeFile opens the file before answering: the open file outlives its name.
    let resp = tower_http::services::ServeFile::new(file.path())
        .oneshot(req)
        .await
        .map_err(ApiError::internal)?;
    drop(file);
    let mut resp = resp.map(Body::new).into_response();
    let content_type = if ext == "wav" {
        "audio/wav"
    } else {
        "application/octet-stream"
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{}.{ext}\"", record.id);
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    h.remove(header::LAST_MODIFIED);
    tracing::info!(tenant = %t, user = %caller.user.id, call = %record.id, "recording downloaded");
    Ok(resp)
}
