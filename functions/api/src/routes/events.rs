//! Events and reminders (PRODUCT C13): call backs, meetings and e-mails to
//! send, planned on a card for a user. An event is seen by its assignee, its
//! author and whoever sees its card; a calendar is the assignee's, read by
//! them or by someone whose scope covers them (`Principal::sees`).

use super::auth::{new_activity_id, new_id};
use super::clients::visible;
use super::page_limit;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::views::Paged;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Ownership;
use callisto_domain::activity::Actor;
use callisto_domain::client::Client;
use callisto_domain::event::{
    Event, EventKind, assignment_notice, check_due_at, check_note, check_range, created_entry,
    done_entry,
};
use callisto_domain::ids::{EventId, UserId};
use callisto_domain::user::{User, UserStatus};
use callisto_store::outbox::Mail;
use callisto_store::repo::{Journal, RepoError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    /// `call_back`, `meeting` or `email`.
    pub kind: String,
    pub client_id: String,
    /// Milliseconds since the epoch.
    pub due_at: i64,
    pub assignee: String,
    pub author: String,
    pub note: String,
    /// `planned`, `due` (within the reminder lead time), `overdue` or `done`, as of now.
    pub state: String,
    pub done_at: Option<i64>,
    /// When the assignee was reminded.
    pub reminded_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn view(state: &AppState, e: &Event) -> EventView {
    let now = state.clock.now_ms();
    EventView {
        id: e.id.to_string(),
        kind: e.kind.as_str().into(),
        client_id: e.client.to_string(),
        due_at: e.due_at,
        assignee: e.assignee.to_string(),
        author: e.author.to_string(),
        note: e.note.clone(),
        state: e.state(now, state.config.event_lead_ms).as_str().into(),
        done_at: e.done_at,
        reminded_at: e.reminded_at,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    /// `call_back`, `meeting` or `email`.
    pub kind: String,
    pub client_id: String,
    /// Milliseconds since the epoch.
    pub due_at: i64,
    /// A user of the company; the caller if absent. They are notified (and mailed) when it is someone else.
    pub assignee: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEvent {
    pub kind: Option<String>,
    /// A new time; a moved event is reminded again.
    pub due_at: Option<i64>,
    pub assignee: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CalendarParams {
    /// Start of the range (inclusive), milliseconds since the epoch.
    pub from: i64,
    /// End of the range (exclusive); at most 92 days after `from`.
    pub to: i64,
    /// Whose calendar; the caller's if absent.
    pub assignee: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn ownership(u: &User) -> Ownership<'_> {
    Ownership {
        owner: &u.id,
        owner_group: u.group.as_ref(),
    }
}

/// An active user of the caller's company named in `field`.
async fn active_user(
    state: &AppState,
    caller: &Caller,
    field: &'static str,
    id: &str,
) -> Result<User, ApiError> {
    let unknown = || ApiError::invalid(field, format!("no active user {id:?} in the company"));
    let id = UserId::parse(id).map_err(|_| unknown())?;
    match state.repos.users.get(&caller.principal.tenant, &id).await {
        Ok(u) if u.value.status == UserStatus::Active => Ok(u.value),
        Ok(_) | Err(RepoError::NotFound(_)) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

/// An event the caller may see (as assignee, author or through its card) with
/// its version and card; anything else is 404.
async fn visible_event(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Event, u64, Option<Client>), ApiError> {
    let missing = || ApiError::not_found("event");
    let id = EventId::parse(id).map_err(|_| missing())?;
    let t = &caller.principal.tenant;
    let stored = match state.repos.events.get(t, &id).await {
        Ok(e) => e,
        Err(RepoError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let card = match state.repos.clients.get(t, &stored.value.client).await {
        Ok(c) => Some(c.value),
        Err(RepoError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let me = &caller.user.id;
    let seen = &stored.value.assignee == me
        || &stored.value.author == me
        || card
            .as_ref()
            .is_some_and(|c| caller.principal.sees(c.ownership()));
    if !seen {
        return Err(missing());
    }
    Ok((stored.value, stored.version, card))
}

fn actor(caller: &Caller) -> Actor<'_> {
    Actor {
        id: &caller.user.id,
        name: &caller.user.full_name,
    }
}

/// Mails the assignee about an event someone else gave them. The event is
/// saved already, so a failed hand-over to the outbox is logged, not answered.
async fn mail_assignee(state: &AppState, caller: &Caller, assignee: &User, e: &Event, card: &str) {
    if assignee.id == caller.user.id {
        return;
    }
    let mail = Mail {
        tenant: caller.principal.tenant.clone(),
        to: assignee.email.clone(),
        subject: format!("New {}: {card}", e.kind.label()),
        text: format!(
            "{} gave you a {} about «{card}».\n\n{}\n\n{}/clients/{}",
            caller.user.full_name,
            e.kind.label(),
            e.note,
            state.config.public_url,
            e.client
        ),
    };
    if let Err(err) = state.outbox.send(mail).await {
        tracing::error!(error = %err, event = %e.id, "assignment mail not sent");
    }
}

#[utoipa::path(post, path = "/api/events", tag = "events", security(("bearer" = [])), request_body = CreateEvent,
    responses((status = 201, body = EventView), (status = 404, body = ErrorBody, description = "the card is not in scope"), (status = 422, body = ErrorBody)))]
pub async fn create_event(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateEvent>,
) -> Result<(StatusCode, Json<EventView>), ApiError> {
    let kind = EventKind::parse("kind", &req.kind)?;
    let due_at = check_due_at("due_at", req.due_at)?;
    let note = check_note("note", req.note.as_deref().unwrap_or_default())?;
    let (card, _) = match visible(&state, &caller, &req.client_id).await {
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return Err(ApiError::invalid("client_id", "no such client"));
        }
        other => other?,
    };
    if card.is_deleted() {
        return Err(ApiError::invalid(
            "client_id",
            "the client is in the recycle bin",
        ));
    }
    let assignee = match &req.assignee {
        Some(id) => active_user(&state, &caller, "assignee", id).await?,
        None => caller.user.clone(),
    };
    let now = state.clock.now_ms();
    let event = Event {
        id: EventId::parse(new_id()).map_err(ApiError::internal)?,
        kind,
        client: card.id.clone(),
        due_at,
        assignee: assignee.id.clone(),
        author: caller.user.id.clone(),
        note,
        done_at: None,
        reminded_at: None,
        created_at: now,
        updated_at: now,
    };
    let journal = Journal {
        activities: vec![created_entry(&event, new_activity_id())],
        notifications: assignment_notice(actor(&caller), &event, &card.name, new_activity_id())
            .into_iter()
            .collect(),
    };
    state
        .repos
        .events
        .create(&caller.principal.tenant, &event, &journal)
        .await?;
    mail_assignee(&state, &caller, &assignee, &event, &card.name).await;
    Ok((StatusCode::CREATED, Json(view(&state, &event))))
}

#[utoipa::path(get, path = "/api/events/{id}", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = EventView), (status = 404, body = ErrorBody)))]
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let (event, _, _) = visible_event(&state, &caller, &id).await?;
    Ok(Json(view(&state, &event)))
}

#[utoipa::path(patch, path = "/api/events/{id}", tag = "events", security(("bearer" = [])), request_body = PatchEvent,
    responses((status = 200, body = EventView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "done already, or changed meanwhile"), (status = 422, body = ErrorBody)))]
pub async fn update_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PatchEvent>,
) -> Result<Json<EventView>, ApiError> {
    let (old, version, card) = visible_event(&state, &caller, &id).await?;
    if old.done_at.is_some() {
        return Err(ApiError::conflict(
            "event_done",
            "the event is done; it no longer changes",
        ));
    }
    let mut event = old.clone();
    if let Some(kind) = &patch.kind {
        event.kind = EventKind::parse("kind", kind)?;
    }
    if let Some(due_at) = patch.due_at {
        event.reschedule(check_due_at("due_at", due_at)?);
    }
    if let Some(note) = &patch.note {
        event.note = check_note("note", note)?;
    }
    let new_assignee = match &patch.assignee {
        Some(id) if id != old.assignee.as_str() => {
            Some(active_user(&state, &caller, "assignee", id).await?)
        }
        _ => None,
    };
    if let Some(u) = &new_assignee {
        event.assignee = u.id.clone();
    }
    event.updated_at = state.clock.now_ms();
    let card_name = card.as_ref().map_or("", |c| c.name.as_str());
    let journal = Journal {
        activities: Vec::new(),
        notifications: new_assignee
            .as_ref()
            .and_then(|_| assignment_notice(actor(&caller), &event, card_name, new_activity_id()))
            .into_iter()
            .collect(),
    };
    state
        .repos
        .events
        .update(&caller.principal.tenant, &event, version, &journal)
        .await?;
    if let Some(u) = &new_assignee {
        mail_assignee(&state, &caller, u, &event, card_name).await;
    }
    Ok(Json(view(&state, &event)))
}

#[utoipa::path(post, path = "/api/events/{id}/done", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = EventView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn mark_event_done(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let (old, version, _) = visible_event(&state, &caller, &id).await?;
    if old.done_at.is_some() {
        return Err(ApiError::conflict(
            "event_done",
            "the event is done already",
        ));
    }
    let now = state.clock.now_ms();
    let event = Event {
        done_at: Some(now),
        updated_at: now,
        ..old
    };
    let journal = Journal::activity(done_entry(&event, new_activity_id(), &caller.user.id));
    state
        .repos
        .events
        .update(&caller.principal.tenant, &event, version, &journal)
        .await?;
    Ok(Json(view(&state, &event)))
}

#[utoipa::path(delete, path = "/api/events/{id}", tag = "events", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (event, version, _) = visible_event(&state, &caller, &id).await?;
    state
        .repos
        .events
        .delete(&caller.principal.tenant, &event.id, version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A calendar: one user's events due in `[from, to)`, earliest first. Anyone
/// reads their own; reading another's needs a scope that covers them.
#[utoipa::path(get, path = "/api/events", tag = "events", security(("bearer" = [])), params(CalendarParams),
    responses((status = 200, body = Paged<EventView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<CalendarParams>,
) -> Result<Json<Paged<EventView>>, ApiError> {
    check_range(p.from, p.to)?;
    let whose = match &p.assignee {
        None => caller.user.id.clone(),
        Some(id) if id == caller.user.id.as_str() => caller.user.id.clone(),
        Some(id) => {
            let user = active_user(&state, &caller, "assignee", id).await?;
            if !caller.principal.sees(ownership(&user)) {
                return Err(
                    ApiError::forbidden("your role may not see this user's calendar")
                        .with_field("assignee"),
                );
            }
            user.id
        }
    };
    let page = state
        .repos
        .events
        .calendar(
            &caller.principal.tenant,
            &whose,
            p.from,
            p.to,
            p.cursor,
            page_limit(p.limit)?,
        )
        .await?;
    Ok(Json(Paged {
        items: page.items.iter().map(|e| view(&state, e)).collect(),
        cursor: page.cursor,
    }))
}

/// The events of a card (shown in the card), earliest first.
#[utoipa::path(get, path = "/api/clients/{id}/events", tag = "events", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paged<EventView>), (status = 404, body = ErrorBody)))]
pub async fn client_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Paged<EventView>>, ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    let page = state
        .repos
        .events
        .of_client(
            &caller.principal.tenant,
            &card.id,
            p.cursor,
            page_limit(p.limit)?,
        )
        .await?;
    Ok(Json(Paged {
        items: page.items.iter().map(|e| view(&state, e)).collect(),
        cursor: page.cursor,
    }))
}
