//! Tags (PRODUCT C6): an administrator sees every tag of the company and may
//! remove one from every card; other users see the tags on the cards they see.

use super::bulk::{BulkView, queue};
use super::selection::{SCAN_BUDGET, context};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::{Permission, Scope};
use callisto_domain::bulk::{BulkAction, BulkId, BulkJob, Selection};
use callisto_domain::filter::ClientFilter;
use serde::Serialize;
use std::collections::BTreeSet;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    /// In alphabetical order.
    pub tags: Vec<String>,
    /// `true` when the caller has more cards than were read to collect these tags.
    pub partial: bool,
}

#[utoipa::path(get, path = "/api/tags", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = TagList)))]
pub async fn list_tags(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TagList>, ApiError> {
    let principal = &caller.principal;
    if principal.scope() == Scope::All {
        let tags = state.repos.tags.list(&principal.tenant).await?;
        return Ok(Json(TagList {
            tags: tags.into_iter().map(|e| e.tag).collect(),
            partial: false,
        }));
    }
    let page = state
        .repos
        .clients
        .scan(
            &principal.tenant,
            &principal.scope(),
            None,
            SCAN_BUDGET,
            SCAN_BUDGET,
            |c| !c.tags.is_empty() && principal.sees(c.ownership()),
        )
        .await?;
    let tags: BTreeSet<String> = page.items.into_iter().flat_map(|c| c.tags).collect();
    Ok(Json(TagList {
        tags: tags.into_iter().collect(),
        partial: page.cursor.is_some(),
    }))
}

/// Removes the tag from the company's list and queues its removal from every card.
#[utoipa::path(delete, path = "/api/tags/{tag}", tag = "clients", security(("bearer" = [])),
    responses((status = 202, body = BulkView, description = "the tag is being removed from every card"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(tag): Path<String>,
) -> Result<(StatusCode, Json<BulkView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    state.repos.tags.remove(t, &tag).await?;
    let now = state.clock.now_ms();
    let job = BulkJob::queued(
        BulkId::parse(super::auth::new_id()).map_err(ApiError::internal)?,
        BulkAction::RemoveTags {
            tags: vec![tag.clone()],
        },
        Selection::Filter {
            filter: ClientFilter {
                tags: vec![tag],
                ..ClientFilter::default()
            },
        },
        caller.user.id.clone(),
        now,
        context(&state, &caller).fallback_zone.name().to_string(),
    );
    queue(&state, &caller, &job).await?;
    Ok((StatusCode::ACCEPTED, Json(BulkView::from(&job))))
}
