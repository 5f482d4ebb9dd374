//! Selecting client cards by a filter (PRODUCT C7): the filter's fields as
//! requests carry them, and the one way the list, the export and bulk actions
//! walk the cards a filter selects within the caller's scope.

use super::clients::search;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::http::StatusCode;
use callisto_domain::access::{Principal, Scope};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::filter::{ClientFilter, DayWindow, FilterContext};
use callisto_domain::ids::UserId;
use callisto_store::repo::Listing;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Cards one list request reads at most while filtering; a selective filter
/// returns a short page with a cursor rather than reading a whole base.
pub const SCAN_BUDGET: usize = 10_000;

/// A filter's fields, as a bulk action's body carries them; the list and the
/// export take the same names as query parameters.
#[derive(Debug, Default, Clone, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FilterParams {
    /// Words of names and city, e-mails, phone digits (`8 912 345`), each as a prefix.
    pub q: Option<String>,
    /// `organization` or `contact`; both when absent.
    pub kind: Option<String>,
    /// Comma-separated tags: cards with any of them.
    pub tags: Option<String>,
    /// Comma-separated user ids: cards of any of them.
    pub responsible: Option<String>,
    pub client_type: Option<String>,
    /// Changed on or after this day (`YYYY-MM-DD`, in your time zone).
    pub modified_from: Option<String>,
    /// Changed on or before this day (`YYYY-MM-DD`, in your time zone).
    pub modified_to: Option<String>,
    /// `true`: only clients nobody has called yet.
    pub not_called: Option<bool>,
    /// `HH:MM-HH:MM`: only clients for whom it is now within this span of the day,
    /// in their time zone (from the number, else the city, else yours).
    pub local_time: Option<String>,
}

impl FilterParams {
    /// The filter, or an error naming the field; `status` is 400 for a query, 422 for a body.
    pub fn into_filter(
        self,
        ctx: &FilterContext,
        status: StatusCode,
    ) -> Result<ClientFilter, ApiError> {
        let bad = |field: &str, message: String| {
            let code = if status == StatusCode::BAD_REQUEST {
                "invalid_query"
            } else {
                "invalid_field"
            };
            ApiError::new(status, code, message).with_field(field)
        };
        let list = |s: Option<String>| -> Vec<String> {
            s.iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let kind = match self.kind.as_deref() {
            None | Some("") => None,
            Some("organization") => Some(ClientKind::Organization),
            Some("contact") => Some(ClientKind::Contact),
            Some(other) => {
                return Err(bad(
                    "kind",
                    format!("kind {other:?}: use organization or contact"),
                ));
            }
        };
        let mut responsible = Vec::new();
        for id in list(self.responsible) {
            let user = UserId::parse(&id)
                .map_err(|_| bad("responsible", format!("{id:?} is not a user id")))?;
            responsible.push(user);
        }
        let modified_from = match self.modified_from.as_deref() {
            Some(d) => Some(ctx.day_start(d).map_err(|e| bad("modified_from", e))?),
            None => None,
        };
        let modified_to = match self.modified_to.as_deref() {
            // The whole last day counts: the period ends where the next day starts.
            Some(d) => Some(ctx.day_end(d).map_err(|e| bad("modified_to", e))?),
            None => None,
        };
        let local_time = match self.local_time.as_deref() {
            Some(w) => Some(DayWindow::parse(w).map_err(|e| bad("local_time", e))?),
            None => None,
        };
        let filter = ClientFilter {
            q: self.q.filter(|q| !q.trim().is_empty()),
            kind,
            tags: list(self.tags),
            responsible,
            client_type: self.client_type.filter(|t| !t.trim().is_empty()),
            modified_from,
            modified_to,
            not_called: self.not_called.unwrap_or(false),
            local_time,
        };
        filter.validate().map_err(|e| bad(&e.field, e.message))?;
        Ok(filter)
    }
}

/// The filter context of a request: now, and the caller's zone for clients without one.
pub fn context(state: &AppState, caller: &Caller) -> FilterContext {
    FilterContext::new(state.clock.now_ms(), caller.user.time_zone.as_deref())
}

/// The index a walk over the cards `filter` selects reads: one user's cards
/// from that user's index, not from the whole base.
pub fn read_scope(principal: &Principal, filter: &ClientFilter) -> Scope {
    match (principal.scope(), filter.responsible.as_slice()) {
        (Scope::All | Scope::Group(_), [one]) => Scope::Own(one.clone()),
        (scope, _) => scope,
    }
}

/// One page of the cards the filter selects among those the caller sees. A
/// text query is answered from the search index, best matches first, without
/// a cursor; otherwise cards are read in id order from `cursor`.
pub async fn filtered_page(
    state: &AppState,
    caller: &Caller,
    filter: &ClientFilter,
    ctx: &FilterContext,
    cursor: Option<String>,
    limit: usize,
) -> Result<Listing<Client>, ApiError> {
    if filter.q.is_some() {
        let items = search(state, caller, filter, ctx, limit).await?;
        return Ok(Listing {
            items,
            cursor: None,
        });
    }
    let principal = &caller.principal;
    let scope = read_scope(principal, filter);
    let page = state
        .repos
        .clients
        .scan(&principal.tenant, &scope, cursor, limit, SCAN_BUDGET, |c| {
            principal.sees(c.ownership()) && filter.matches(c, ctx)
        })
        .await?;
    Ok(page)
}
