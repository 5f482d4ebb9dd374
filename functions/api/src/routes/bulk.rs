//! Bulk actions (PRODUCT C4, C6, C8): tag, untag, hand over or delete a
//! selection of cards or everything a filter selects. The request queues a job
//! and answers 202; `GET /api/bulk/{id}` shows its progress and result.

use super::auth::new_id;
use super::selection::{FilterParams, context};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Role;
use callisto_domain::bulk::{BulkAction, BulkId, BulkJob, BulkStatus, MAX_SELECTED_IDS, Selection};
use callisto_domain::ids::{ClientId, UserId};
use callisto_domain::user::UserStatus;
use callisto_store::repo::{BULK_QUEUE, RepoError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// `add_tags`, `remove_tags`, `assign` or `delete`.
    pub action: String,
    /// For `add_tags` / `remove_tags`.
    pub tags: Option<Vec<String>>,
    /// For `assign`: the new responsible user.
    pub responsible_id: Option<String>,
    /// The selection: these cards (at most 10 000) …
    pub ids: Option<Vec<String>>,
    /// … or every card this filter selects among those you see (`{}`: all of them).
    pub filter: Option<FilterParams>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkView {
    pub id: String,
    /// `add_tags`, `remove_tags`, `assign` or `delete`.
    pub action: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Cards examined so far.
    pub done: u64,
    /// Cards selected, when known in advance (a list of ids).
    pub total: Option<u64>,
    pub changed: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// Why the last refused card was refused.
    pub last_refusal: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<&BulkJob> for BulkView {
    fn from(j: &BulkJob) -> BulkView {
        let action = match j.action {
            BulkAction::AddTags { .. } => "add_tags",
            BulkAction::RemoveTags { .. } => "remove_tags",
            BulkAction::Assign { .. } => "assign",
            BulkAction::Delete => "delete",
        };
        let status = match j.status {
            BulkStatus::Queued => "queued",
            BulkStatus::Running => "running",
            BulkStatus::Done => "done",
            BulkStatus::Failed => "failed",
        };
        BulkView {
            id: j.id.to_string(),
            action: action.into(),
            status: status.into(),
            done: j.done,
            total: j.total,
            changed: j.counts.changed,
            unchanged: j.counts.unchanged,
            refused: j.counts.refused,
            last_refusal: j.last_refusal.clone(),
            error: j.error.clone(),
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

async fn action_of(
    state: &AppState,
    caller: &Caller,
    req: &BulkRequest,
) -> Result<BulkAction, ApiError> {
    let tags = || {
        req.tags
            .clone()
            .map(|tags| tags.into_iter().map(|t| t.trim().to_string()).collect())
            .ok_or_else(|| ApiError::invalid("tags", "name the tags"))
    };
    let action = match req.action.as_str() {
        "add_tags" => BulkAction::AddTags { tags: tags()? },
        "remove_tags" => BulkAction::RemoveTags { tags: tags()? },
        "delete" => BulkAction::Delete,
        "assign" => {
            let missing = || ApiError::invalid("responsible_id", "no such active user");
            let raw = req.responsible_id.as_deref().ok_or_else(|| {
                ApiError::invalid("responsible_id", "name the new responsible user")
            })?;
            let id = UserId::parse(raw).map_err(|_| missing())?;
            let user = match state.repos.users.get(&caller.principal.tenant, &id).await {
                Ok(u) if u.value.status == UserStatus::Active => u.value,
                Ok(_) | Err(RepoError::NotFound(_)) => return Err(missing()),
                Err(e) => return Err(e.into()),
            };
            BulkAction::Assign {
                user: user.id,
                group: user.group,
            }
        }
        other => {
            return Err(ApiError::invalid(
                "action",
                format!("{other:?}: use add_tags, remove_tags, assign or delete"),
            ));
        }
    };
    action.validate()?;
    Ok(action)
}

#[utoipa::path(post, path = "/api/clients/bulk", tag = "clients", security(("bearer" = [])), request_body = BulkRequest,
    responses((status = 202, body = BulkView), (status = 422, body = ErrorBody)))]
pub async fn start_bulk(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<(StatusCode, Json<BulkView>), ApiError> {
    let t = &caller.principal.tenant;
    let action = action_of(&state, &caller, &req).await?;
    let ctx = context(&state, &caller);
    let selection = match (req.ids, req.filter) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_SELECTED_IDS {
                return Err(ApiError::invalid(
                    "ids",
                    format!("select 1-{MAX_SELECTED_IDS} cards, or use a filter"),
                ));
            }
            let mut parsed = Vec::with_capacity(ids.len());
            for (i, id) in ids.into_iter().enumerate() {
                let id = ClientId::parse(id)
                    .map_err(|e| ApiError::invalid(&format!("ids[{i}]"), e.to_string()))?;
                if !parsed.contains(&id) {
                    parsed.push(id);
                }
            }
            Selection::Ids { ids: parsed }
        }
        (None, Some(filter)) => Selection::Filter {
            filter: filter
                .into_filter(&ctx, StatusCode::UNPROCESSABLE_ENTITY)
                .map_err(|e| {
                    let field = format!("filter.{}", e.field.as_deref().unwrap_or_default());
                    e.with_field(field)
                })?,
        },
        _ => {
            return Err(ApiError::invalid(
                "ids",
                "give either ids or a filter (an empty filter {} selects every card you see)",
            ));
        }
    };
    let now = state.clock.now_ms();
    if let BulkAction::AddTags { tags } = &action {
        // Listed before any card carries them, so the tag list never misses one.
        state
            .repos
            .tags
            .register(t, tags, &caller.user.id, now)
            .await?;
    }
    let job = BulkJob::queued(
        BulkId::parse(new_id()).map_err(ApiError::internal)?,
        action,
        selection,
        caller.user.id.clone(),
        now,
        ctx.fallback_zone.name().to_string(),
    );
    queue(&state, &caller, &job).await?;
    Ok((StatusCode::ACCEPTED, Json(BulkView::from(&job))))
}

/// Saves the job, then queues it: a lost message leaves a visibly queued job, never a lost one.
pub(crate) async fn queue(
    state: &AppState,
    caller: &Caller,
    job: &BulkJob,
) -> Result<(), ApiError> {
    let t = &caller.principal.tenant;
    state.repos.bulk.create(t, job).await?;
    state
        .stores
        .queue
        .send(BULK_QUEUE, t, job.id.as_str())
        .await?;
    tracing::info!(tenant = %t, user = %caller.user.id, bulk = %job.id, "bulk action queued");
    Ok(())
}

#[utoipa::path(get, path = "/api/bulk/{id}", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = BulkView), (status = 404, body = ErrorBody)))]
pub async fn get_bulk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<BulkView>, ApiError> {
    let not_found = || ApiError::not_found("bulk action");
    let id = BulkId::parse(id).map_err(|_| not_found())?;
    let job = match state.repos.bulk.get(&caller.principal.tenant, &id).await {
        Ok(j) => j.value,
        Err(RepoError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    // Only its author and administrators see a job.
    if job.created_by != caller.user.id && caller.principal.role != Role::Administrator {
        return Err(not_found());
    }
    Ok(Json(BulkView::from(&job)))
}
