//! Working a list (PRODUCT E1): administrators keep the lists (a scenario and
//! a filter); the scenario's managers take cards from them one at a time,
//! save a result and get the next card.
//!
//! "Next" walks the cards the list selects in id order from where the list
//! stands (shared by its agents), wrapping around once, and claims the first
//! card that may be offered now. A card whose claim another agent won is
//! passed over, so two agents never get the same client.

use super::auth::{new_activity_id, new_id};
use super::clients::{ClientView, entry};
use super::scenarios::{id_field, unknown};
use super::selection::{FilterParams, context, read_scope};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::Millis;
use callisto_domain::access::Permission;
use callisto_domain::activity::ActivityKind;
use callisto_domain::call_result::ResultKind;
use callisto_domain::client::Client;
use callisto_domain::event::{Event, EventKind, check_due_at, created_entry};
use callisto_domain::filter::{DayWindow, FilterContext};
use callisto_domain::ids::EventId;
use callisto_domain::ids::{CallId, CallResultId, ClientId, ScenarioId, WorkListId};
use callisto_domain::scenario::Scenario;
use callisto_domain::work_list::{
    CallDisposition, Claim, DEFAULT_CALLING_HOURS, DEFAULT_RETRY_AFTER_MIN,
    MAX_RESULT_COMMENT_CHARS, Skip, Skipped, WorkList, close_in,
};
use callisto_store::repo::{
    Events, Journal, ListPosition, RepoError, SavedResult, Step, Versioned, call_id_time,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Cards one "next" reads at most before answering; a list whose open cards
/// are rare in the base answers `more: true` and the agent asks again.
pub const NEXT_SCAN_BUDGET: usize = 20_000;
/// Candidates taken per walk: the first that can be claimed is handed out,
/// so one is enough unless another agent claims it first.
const NEXT_PAGE: usize = 1;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkListRequest {
    pub name: String,
    /// The scenario agents work the list by.
    pub scenario: String,
    /// Which cards the list holds; the card list's filter fields (no text search).
    #[serde(default)]
    pub filter: Option<FilterParams>,
    /// `HH:MM-HH:MM` in the client's local time; default 09:00-21:00.
    pub calling_hours: Option<String>,
    /// Minutes before a called client is offered again; default 240.
    pub retry_after_min: Option<u32>,
    /// PUT: the version read; a list changed since is refused (409 `stale`).
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkListView {
    pub id: String,
    pub name: String,
    pub scenario: String,
    /// The filter as stored (tags, responsible, type, not_called, …).
    #[schema(value_type = Object)]
    pub filter: serde_json::Value,
    pub calling_hours: String,
    pub retry_after_min: u32,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

fn hours_text(w: DayWindow) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        w.from / 60,
        w.from % 60,
        w.to / 60,
        w.to % 60
    )
}

impl WorkListView {
    fn new(l: &WorkList, version: u64) -> WorkListView {
        WorkListView {
            id: l.id.to_string(),
            name: l.name.clone(),
            scenario: l.scenario.to_string(),
            filter: serde_json::to_value(&l.filter).unwrap_or_default(),
            calling_hours: hours_text(l.calling_hours),
            retry_after_min: l.retry_after_min,
            created_by: l.created_by.to_string(),
            created_at: l.created_at,
            updated_at: l.updated_at,
            version,
        }
    }
}

/// The scenario of a list, or 409 naming the list whose scenario is gone.
async fn scenario_of(
    state: &AppState,
    caller: &Caller,
    list: &WorkList,
) -> Result<Scenario, ApiError> {
    match state
        .repos
        .scenarios
        .get(&caller.principal.tenant, &list.scenario)
        .await
    {
        Ok(s) => Ok(s.value),
        Err(RepoError::NotFound(_)) => Err(ApiError::conflict(
            "scenario_gone",
            format!(
                "the scenario of work list {:?} was deleted; choose another scenario for it",
                list.name
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Administrators work every list; others the lists of scenarios they are managers of.
fn may_work(caller: &Caller, scenario: &Scenario) -> bool {
    caller.principal.can(Permission::ManageSettings) || scenario.managers.contains(&caller.user.id)
}

async fn list_from(
    state: &AppState,
    caller: &Caller,
    id: WorkListId,
    req: WorkListRequest,
    created_at: Millis,
) -> Result<WorkList, ApiError> {
    let scenario = id_field("scenario", &req.scenario, ScenarioId::parse)?;
    match state
        .repos
        .scenarios
        .get(&caller.principal.tenant, &scenario)
        .await
    {
        Ok(_) => {}
        Err(RepoError::NotFound(_)) => {
            return Err(unknown("scenario", "scenario", &req.scenario));
        }
        Err(e) => return Err(e.into()),
    }
    let ctx = context(state, caller);
    let filter = req
        .filter
        .unwrap_or_default()
        .into_filter(&ctx, StatusCode::UNPROCESSABLE_ENTITY)
        .map_err(|mut e| {
            e.field = e.field.map(|f| format!("filter.{f}"));
            e
        })?;
    let calling_hours = match req.calling_hours.as_deref() {
        Some(h) => DayWindow::parse(h).map_err(|e| ApiError::invalid("calling_hours", e))?,
        None => DEFAULT_CALLING_HOURS,
    };
    let mut list = WorkList {
        id,
        name: req.name,
        scenario,
        filter,
        calling_hours,
        retry_after_min: req.retry_after_min.unwrap_or(DEFAULT_RETRY_AFTER_MIN),
        created_by: caller.user.id.clone(),
        created_at,
        updated_at: state.clock.now_ms(),
    };
    list.normalize()?;
    Ok(list)
}

fn list_id(id: &str) -> Result<WorkListId, ApiError> {
    WorkListId::parse(id.to_string()).map_err(|_| ApiError::not_found("work list"))
}

#[utoipa::path(get, path = "/api/work-lists", tag = "calling", security(("bearer" = [])),
    responses((status = 200, body = [WorkListView])))]
pub async fn list_work_lists(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WorkListView>>, ApiError> {
    let t = &caller.principal.tenant;
    let lists = state.repos.work_lists.list(t).await?;
    let mut out = Vec::new();
    for l in lists {
        let visible = caller.principal.can(Permission::ManageSettings)
            || match state.repos.scenarios.get(t, &l.value.scenario).await {
                Ok(s) => s.value.managers.contains(&caller.user.id),
                Err(RepoError::NotFound(_)) => false,
                Err(e) => return Err(e.into()),
            };
        if visible {
            out.push(WorkListView::new(&l.value, l.version));
        }
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/work-lists", tag = "calling", security(("bearer" = [])), request_body = WorkListRequest,
    responses((status = 201, body = WorkListView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_work_list(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<WorkListRequest>,
) -> Result<(StatusCode, Json<WorkListView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    if req.version.is_some() {
        return Err(ApiError::invalid("version", "a new list has no version"));
    }
    let id = list_id(&new_id())?;
    let list = list_from(&state, &caller, id, req, state.clock.now_ms()).await?;
    state
        .repos
        .work_lists
        .create(&caller.principal.tenant, &list)
        .await?;
    Ok((StatusCode::CREATED, Json(WorkListView::new(&list, 1))))
}

#[utoipa::path(get, path = "/api/work-lists/{id}", tag = "calling", security(("bearer" = [])),
    responses((status = 200, body = WorkListView), (status = 404, body = ErrorBody)))]
pub async fn get_work_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WorkListView>, ApiError> {
    let l = state
        .repos
        .work_lists
        .get(&caller.principal.tenant, &list_id(&id)?)
        .await?;
    if !caller.principal.can(Permission::ManageSettings) {
        let scenario = scenario_of(&state, &caller, &l.value).await?;
        if !may_work(&caller, &scenario) {
            return Err(ApiError::not_found("work list"));
        }
    }
    Ok(Json(WorkListView::new(&l.value, l.version)))
}

#[utoipa::path(put, path = "/api/work-lists/{id}", tag = "calling", security(("bearer" = [])), request_body = WorkListRequest,
    responses((status = 200, body = WorkListView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_work_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WorkListRequest>,
) -> Result<Json<WorkListView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = caller.principal.tenant.clone();
    let old = state.repos.work_lists.get(&t, &list_id(&id)?).await?;
    let version = req
        .version
        .ok_or_else(|| ApiError::invalid("version", "send the version you read"))?;
    let list = list_from(
        &state,
        &caller,
        old.value.id.clone(),
        req,
        old.value.created_at,
    )
    .await?;
    let list = WorkList {
        created_by: old.value.created_by,
        ..list
    };
    let version = state.repos.work_lists.update(&t, &list, version).await?;
    Ok(Json(WorkListView::new(&list, version)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// The version read.
    pub version: u64,
}

#[utoipa::path(delete, path = "/api/work-lists/{id}", tag = "calling", security(("bearer" = [])), params(VersionQuery),
    responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn delete_work_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::json::ApiQuery(q): crate::json::ApiQuery<VersionQuery>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let id = list_id(&id)?;
    state.repos.work_lists.get(t, &id).await?;
    state.repos.work_lists.delete(t, &id, q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedView {
    /// Closed for the scenario by a "done" result.
    pub closed: u64,
    /// Called less than the list's retry interval ago.
    pub called_recently: u64,
    /// Outside the calling hours where the client is.
    pub outside_hours: u64,
    /// Held by other agents.
    pub claimed: u64,
}

impl From<Skipped> for SkippedView {
    fn from(s: Skipped) -> SkippedView {
        SkippedView {
            closed: s.closed,
            called_recently: s.called_recently,
            outside_hours: s.outside_hours,
            claimed: s.claimed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextCard {
    /// The card handed to you, or `null` when none may be offered now.
    pub card: Option<ClientView>,
    /// Until when the card is yours without a saved result.
    pub claimed_until: Option<i64>,
    pub scenario: String,
    /// The scenario dials the card itself (the softphone calls its first number).
    pub auto_dial: bool,
    /// No card found within one request's reading budget, but the list was
    /// not read to its end: ask again.
    pub more: bool,
    /// Cards passed over on the way, by reason.
    pub skipped: SkippedView,
}

/// The walk for the next card: from where the list stands to the end of the
/// base, then from the start back to where it stood.
async fn next_card(
    state: &AppState,
    caller: &Caller,
    list: &WorkList,
    scenario: &Scenario,
    ctx: &FilterContext,
) -> Result<NextCard, ApiError> {
    let t = &caller.principal.tenant;
    let repo = &state.repos.work_lists;
    let principal = &caller.principal;
    let scope = read_scope(principal, &list.filter);
    let start = repo.position(t, &list.id).await?;
    let mut cursor = start.as_ref().map(|p| p.cursor.clone());
    // After wrapping, the walk ends where it began.
    let mut wrapped = start.is_none();
    let mut read = 0usize;
    let mut reached = start.clone();
    let mut skipped = Skipped::default();
    let answer = |card: Option<(&Client, Millis)>, more, skipped: Skipped| NextCard {
        card: card.map(|(c, _)| ClientView::from(c)),
        claimed_until: card.map(|(_, until)| until),
        scenario: scenario.id.to_string(),
        auto_dial: scenario.auto_dial,
        more,
        skipped: skipped.into(),
    };
    while read < NEXT_SCAN_BUDGET {
        let end = if wrapped {
            start.as_ref().map(|p| &p.card)
        } else {
            None
        };
        let walk = state
            .repos
            .clients
            .walk(
                t,
                &scope,
                cursor.take(),
                NEXT_PAGE,
                NEXT_SCAN_BUDGET - read,
                |c| {
                    if end.is_some_and(|end| c.id > *end) {
                        return Step::Stop;
                    }
                    if !principal.sees(c.ownership()) {
                        return Step::Pass;
                    }
                    match list.offers(c, ctx) {
                        Ok(()) => Step::Take,
                        Err(skip) => {
                            skipped.count(skip);
                            Step::Pass
                        }
                    }
                },
            )
            .await?;
        read += walk.read;
        for (card, after) in &walk.taken {
            let claim = Claim::new(
                card.id.clone(),
                caller.user.id.clone(),
                list.id.clone(),
                ctx.now,
            );
            if repo.claim(t, &claim, ctx.now).await? {
                let at = ListPosition {
                    cursor: after.clone(),
                    card: card.id.clone(),
                };
                repo.set_position(t, &list.id, Some(&at)).await?;
                return Ok(answer(Some((card, claim.until)), false, skipped));
            }
            skipped.count(Skip::Claimed);
        }
        match (walk.cursor, walk.last) {
            (Some(c), Some(card)) => {
                reached = Some(ListPosition {
                    cursor: c.clone(),
                    card,
                });
                cursor = Some(c);
            }
            (Some(c), None) => cursor = Some(c),
            (None, _) if !wrapped && !walk.stopped => wrapped = true,
            // Round the whole base once: nothing may be offered now.
            (None, _) => return Ok(answer(None, false, skipped)),
        }
    }
    // Out of budget: the next request goes on from here.
    repo.set_position(t, &list.id, reached.as_ref()).await?;
    Ok(answer(None, true, skipped))
}

#[utoipa::path(post, path = "/api/work-lists/{id}/next", tag = "calling", security(("bearer" = [])),
    responses((status = 200, body = NextCard), (status = 404, body = ErrorBody),
        (status = 409, description = "the scenario wants a result for the card you hold first", body = ErrorBody)))]
pub async fn take_next(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NextCard>, ApiError> {
    let t = caller.principal.tenant.clone();
    let list = state.repos.work_lists.get(&t, &list_id(&id)?).await?.value;
    let scenario = scenario_of(&state, &caller, &list).await?;
    if !may_work(&caller, &scenario) {
        return Err(ApiError::not_found("work list"));
    }
    let ctx = context(&state, &caller);
    release_held(&state, &caller, &list, &scenario, ctx.now).await?;
    Ok(Json(
        next_card(&state, &caller, &list, &scenario, &ctx).await?,
    ))
}

/// Gives back the cards the agent holds from the list before taking another;
/// a scenario that wants a result refuses while one is held without it.
async fn release_held(
    state: &AppState,
    caller: &Caller,
    list: &WorkList,
    scenario: &Scenario,
    now: Millis,
) -> Result<(), ApiError> {
    let t = &caller.principal.tenant;
    for held in state
        .repos
        .work_lists
        .held(t, &list.id, &caller.user.id)
        .await?
    {
        if scenario.result_required && held.value.live(now) {
            return Err(ApiError::conflict(
                "result_required",
                format!(
                    "scenario {:?} wants a result for client {} before the next card",
                    scenario.name, held.value.client
                ),
            )
            .with_field("client"));
        }
        state.repos.work_lists.release(t, &held).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveResultRequest {
    /// The card the result is for.
    pub client: String,
    /// One of the scenario's results.
    pub result: String,
    pub comment: Option<String>,
    /// The call the result is for, when there was one (its id from the softphone).
    pub call: Option<String>,
    /// For a "call later" result: when to call back (ms since the epoch).
    pub call_back_at: Option<i64>,
    /// `true`: answer with the next card ("Save and next"); otherwise stay.
    #[serde(default)]
    pub next: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SaveResultResponse {
    /// The card as saved.
    pub card: ClientView,
    /// With `next: true`: the next card.
    pub next: Option<NextCard>,
}

/// How long after a call started its record may still be on its way from the
/// node (calls last; the node delivers the record when one ends).
const RECORD_GRACE_MS: Millis = 4 * 3600 * 1000;

/// Saving retries this often when the card changed meanwhile (someone edited
/// it while the agent was on the call).
const SAVE_ATTEMPTS: usize = 3;

#[utoipa::path(post, path = "/api/work-lists/{id}/results", tag = "calling", security(("bearer" = [])), request_body = SaveResultRequest,
    responses((status = 200, body = SaveResultResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_result(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SaveResultRequest>,
) -> Result<Json<SaveResultResponse>, ApiError> {
    let t = caller.principal.tenant.clone();
    let list = state.repos.work_lists.get(&t, &list_id(&id)?).await?.value;
    let scenario = scenario_of(&state, &caller, &list).await?;
    if !may_work(&caller, &scenario) {
        return Err(ApiError::not_found("work list"));
    }
    let client = id_field("client", &req.client, ClientId::parse)?;
    let result_id = id_field("result", &req.result, CallResultId::parse)?;
    if !scenario.results.iter().any(|r| r.result == result_id) {
        return Err(ApiError::invalid(
            "result",
            format!(
                "scenario {:?} does not offer result {:?}",
                scenario.name, req.result
            ),
        ));
    }
    let result = match state.repos.call_results.get(&t, &result_id).await {
        Ok(r) => r.value,
        Err(RepoError::NotFound(_)) => {
            return Err(unknown("result", "call result", &req.result));
        }
        Err(e) => return Err(e.into()),
    };
    let comment = match req.comment.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) if c.chars().count() > MAX_RESULT_COMMENT_CHARS => {
            return Err(ApiError::invalid(
                "comment",
                format!("must be at most {MAX_RESULT_COMMENT_CHARS} characters"),
            ));
        }
        Some(c) => Some(c.to_string()),
    };
    let now = state.clock.now_ms();
    let call_back_at = match (result.kind, req.call_back_at) {
        (ResultKind::CallLater, None) => {
            return Err(ApiError::invalid(
                "call_back_at",
                format!("{:?} asks when to call back", result.name),
            ));
        }
        (ResultKind::CallLater, Some(at)) if at <= now => {
            return Err(ApiError::invalid(
                "call_back_at",
                "the call-back time has passed",
            ));
        }
        (ResultKind::CallLater, Some(at)) => Some(check_due_at("call_back_at", at)?),
        // Only "call later" plans a call back.
        (_, _) => None,
    };
    let call = match req.call.as_deref() {
        None => None,
        Some(raw) => Some(call_of(&state, &caller, raw, &client).await?),
    };

    for _ in 0..SAVE_ATTEMPTS {
        let Versioned {
            value: old,
            version,
        } = match state.repos.clients.get(&t, &client).await {
            Ok(c) if !c.value.is_deleted() && caller.principal.sees(c.value.ownership()) => c,
            Ok(_) | Err(RepoError::NotFound(_)) => {
                return Err(ApiError::invalid(
                    "client",
                    format!("there is no client {:?} you can see", req.client),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let claim = state.repos.work_lists.claim_of(&t, &client).await?;
        if let Some(c) = &claim
            && c.value.blocks(&caller.user.id, now)
        {
            return Err(ApiError::conflict(
                "claimed",
                format!("another agent holds client {client} now"),
            )
            .with_field("client"));
        }
        let mut card = old.clone();
        card.last_call_at = Some(
            call.as_ref()
                .map_or(now, |c| c.1)
                .max(old.last_call_at.unwrap_or(0)),
        );
        card.updated_at = now;
        if result.kind == ResultKind::Done {
            close_in(&mut card, &scenario.id);
        }
        let mut details = BTreeMap::from([
            ("scenario".to_string(), scenario.name.clone()),
            ("result".to_string(), result.name.clone()),
        ]);
        if let Some((call, _)) = &call {
            details.insert("call".into(), call.to_string());
        }
        if let Some(at) = call_back_at {
            details.insert("call_back_at".into(), at.to_string());
        }
        let journal = Journal::activity(entry(
            &caller,
            &card,
            ActivityKind::CallResult,
            now,
            comment.clone().unwrap_or_default(),
            details,
        )?);
        let disposition = call.as_ref().map(|(call, _)| CallDisposition {
            call: call.clone(),
            client: client.clone(),
            scenario: scenario.id.clone(),
            list: Some(list.id.clone()),
            result: result.id.clone(),
            result_name: result.name.clone(),
            comment: comment.clone(),
            agent: caller.user.id.clone(),
            at: now,
        });
        // "Call later" plans the call back for the agent, in the same transaction.
        let extra = match call_back_at {
            Some(due_at) => {
                let event = Event {
                    id: EventId::parse(new_id()).map_err(ApiError::internal)?,
                    kind: EventKind::CallBack,
                    client: client.clone(),
                    due_at,
                    assignee: caller.user.id.clone(),
                    author: caller.user.id.clone(),
                    note: comment.clone().unwrap_or_else(|| result.name.clone()),
                    done_at: None,
                    reminded_at: None,
                    created_at: now,
                    updated_at: now,
                };
                let entry = created_entry(&event, new_activity_id());
                Events::create_ops(&t, &event, &Journal::activity(entry))?
            }
            None => vec![],
        };
        let saved = state
            .repos
            .work_lists
            .save_result(
                &t,
                SavedResult {
                    old: &old,
                    new: &card,
                    version,
                    journal: &journal,
                    disposition: disposition.as_ref(),
                    claim: claim.as_ref(),
                    extra,
                },
            )
            .await;
        match saved {
            Ok(_) => {
                let next = if req.next {
                    let ctx = context(&state, &caller);
                    release_held(&state, &caller, &list, &scenario, ctx.now).await?;
                    Some(next_card(&state, &caller, &list, &scenario, &ctx).await?)
                } else {
                    None
                };
                return Ok(Json(SaveResultResponse {
                    card: ClientView::from(&card),
                    next,
                }));
            }
            Err(RepoError::Stale(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RepoError::Stale("client").into())
}

/// The call a result is for: the company's, the agent's own (or any, for an
/// administrator), and not made to another client. Returns it with its start.
async fn call_of(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    client: &ClientId,
) -> Result<(CallId, Millis), ApiError> {
    let unknown = || ApiError::invalid("call", format!("there is no call {raw:?} of yours"));
    let id = callisto_domain::questionnaire::check_call_id(raw).map_err(|_| unknown())?;
    let record = match state.repos.calls.get(&caller.principal.tenant, &id).await {
        Ok(r) => r,
        // The node delivers a record moments after the call ends; an agent
        // saving right after hanging up is told to try again, not refused.
        Err(RepoError::NotFound(_))
            if call_id_time(&id).is_some_and(|at| state.clock.now_ms() - at < RECORD_GRACE_MS) =>
        {
            let mut e = ApiError::conflict(
                "call_pending",
                format!(
                    "call {raw} has just ended and its record is not in yet; try again in a second"
                ),
            )
            .with_field("call");
            e.retry_after = Some(1);
            return Err(e);
        }
        Err(RepoError::NotFound(_)) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    let mine = record.agent.as_ref() == Some(&caller.user.id)
        || caller.principal.can(Permission::ManageSettings);
    if !mine {
        return Err(unknown());
    }
    if record.client.as_ref().is_some_and(|c| c != client) {
        return Err(ApiError::invalid(
            "call",
            format!("call {raw} was with another client"),
        ));
    }
    Ok((id, record.started_at))
}
