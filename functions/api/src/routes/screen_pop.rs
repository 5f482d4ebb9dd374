//! Screen pop (PRODUCT C12): who is calling. A known number opens the
//! client's card; an unknown one gives a new-lead draft, or a new card when
//! the agent (the company's setting in the app) asks for one.

use super::clients::{ClientView, blank_card, entry};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiQuery;
use axum::Json;
use axum::extract::State;
use callisto_domain::activity::ActivityKind;
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::phone::{format_phone, normalize_phone};
use callisto_domain::scenario::ScenarioDirection;
use callisto_store::repo::{Journal, RepoError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScreenPopQuery {
    /// The caller's number, any usual spelling.
    pub number: String,
    /// The number called (the line): the answer names its incoming scenario.
    pub line: Option<String>,
    /// `true`: an unknown number becomes a new card of yours.
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenPop {
    /// The caller's number in E.164.
    pub number: String,
    /// Formatted for people.
    pub display: String,
    /// `known`: the card is yours to see; `other`: a colleague's client you do
    /// not see; `unknown`: no card has the number; `created`: a new card was made.
    pub status: String,
    pub card: Option<ClientView>,
    /// Cards of yours with this number (the first is `card`).
    pub matches: usize,
    /// For `unknown`: the fields of a new card to offer.
    pub draft: Option<ClientView>,
    /// The incoming scenario of the line called, if one answers it.
    pub scenario: Option<String>,
}

#[utoipa::path(get, path = "/api/screen-pop", tag = "calling", security(("bearer" = [])), params(ScreenPopQuery),
    responses((status = 200, body = ScreenPop), (status = 400, body = ErrorBody)))]
pub async fn screen_pop(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ScreenPopQuery>,
) -> Result<Json<ScreenPop>, ApiError> {
    let t = caller.principal.tenant.clone();
    let region = state.repos.tenants.get(&t).await?.value.phone_region;
    let bad = |field: &str, e: String| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_query", e).with_field(field)
    };
    let number = normalize_phone(&q.number, &region).map_err(|e| bad("number", e.to_string()))?;
    let line = match q.line.as_deref() {
        Some(l) => Some(normalize_phone(l, &region).map_err(|e| bad("line", e.to_string()))?),
        None => None,
    };
    let scenario = match line {
        Some(line) => state
            .repos
            .scenarios
            .list(&t)
            .await?
            .into_iter()
            .find(|s| {
                s.value.direction == ScenarioDirection::Incoming
                    && s.value.incoming_number.as_deref() == Some(line.as_str())
            })
            .map(|s| s.value.id.to_string()),
        None => None,
    };

    let mut mine = Vec::new();
    let mut others = 0;
    for id in state.repos.clients.find_by_phone(&t, &number).await? {
        match state.repos.clients.get(&t, &id).await {
            Ok(c) if c.value.is_deleted() => {}
            Ok(c) if caller.principal.sees(c.value.ownership()) => mine.push(c.value),
            Ok(_) => others += 1,
            Err(RepoError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The most recently changed card first: the one people work with.
    mine.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    let display = format_phone(&number);
    let pop = |status: &str, card: Option<&Client>, draft: Option<&Client>| ScreenPop {
        number: number.clone(),
        display: display.clone(),
        status: status.into(),
        card: card.map(ClientView::from),
        matches: mine.len().max(usize::from(card.is_some())),
        draft: draft.map(ClientView::from),
        scenario: scenario.clone(),
    };
    if let Some(first) = mine.first() {
        return Ok(Json(pop("known", Some(first), None)));
    }
    if others > 0 {
        return Ok(Json(pop("other", None, None)));
    }
    let now = state.clock.now_ms();
    let lead = Client {
        name: display.clone(),
        phones: vec![number.clone()],
        ..blank_card(&caller, ClientKind::Contact, now)?
    };
    if !q.create {
        return Ok(Json(pop("unknown", None, Some(&lead))));
    }
    let journal = Journal::activity(entry(
        &caller,
        &lead,
        ActivityKind::Created,
        now,
        String::new(),
        BTreeMap::from([("source".to_string(), "incoming call".to_string())]),
    )?);
    state.repos.clients.create(&t, &lead, &journal).await?;
    Ok(Json(pop("created", Some(&lead), None)))
}
