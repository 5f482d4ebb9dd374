//! Questionnaires (PRODUCT D4): administrators define them; every user reads
//! them, as agents fill them during calls (answers: `answers.rs`).

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Permission;
use callisto_domain::ids::{QuestionId, QuestionnaireId};
use callisto_domain::questionnaire::{Question, QuestionKind, Questionnaire};
use callisto_store::repo::RepoError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionView {
    /// Stable across edits, answers refer to it; sent without one, a new question gets `q<n>`.
    pub id: Option<String>,
    pub text: String,
    /// `single_choice`, `multiple_choice`, `text`, `number` or `date`.
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    /// The options of a choice.
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireRequest {
    pub name: String,
    pub questions: Vec<QuestionView>,
    /// PUT: the version read; a questionnaire changed since is refused (409 `stale`).
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireView {
    pub id: String,
    pub name: String,
    pub questions: Vec<QuestionView>,
    /// Ids of the scenarios using it; while any does, it cannot be deleted.
    pub scenarios: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl QuestionnaireView {
    fn new(q: &Questionnaire, version: u64) -> QuestionnaireView {
        QuestionnaireView {
            id: q.id.to_string(),
            name: q.name.clone(),
            questions: q
                .questions
                .iter()
                .map(|x| QuestionView {
                    id: Some(x.id.to_string()),
                    text: x.text.clone(),
                    kind: x.kind.as_str().into(),
                    required: x.required,
                    options: x.options.clone(),
                })
                .collect(),
            scenarios: q.used_by.iter().map(ToString::to_string).collect(),
            created_at: q.created_at,
            updated_at: q.updated_at,
            version,
        }
    }
}

pub(crate) fn parse_questionnaire_id(id: &str) -> Result<QuestionnaireId, ApiError> {
    QuestionnaireId::parse(id).map_err(|_| ApiError::not_found("questionnaire"))
}

/// The questions a request describes, checked (ids given, kinds known).
fn questions_from(req: Vec<QuestionView>) -> Result<Vec<Question>, ApiError> {
    let ids = req
        .iter()
        .enumerate()
        .map(|(i, q)| {
            q.id.as_deref()
                .map(|id| {
                    QuestionId::parse(id).map_err(|e| {
                        ApiError::invalid(&format!("questions[{i}].id"), e.to_string())
                    })
                })
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ids = Questionnaire::assign_ids(ids);
    req.into_iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (q, id))| {
            Ok(Question {
                id,
                text: q.text,
                kind: QuestionKind::parse(format!("questions[{i}].kind"), &q.kind)?,
                required: q.required,
                options: q.options,
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/questionnaires", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = [QuestionnaireView])))]
pub async fn list_questionnaires(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<QuestionnaireView>>, ApiError> {
    let all = state
        .repos
        .questionnaires
        .list(&caller.principal.tenant)
        .await?;
    Ok(Json(
        all.iter()
            .map(|q| QuestionnaireView::new(&q.value, q.version))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/questionnaires/{id}", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = QuestionnaireView), (status = 404, body = ErrorBody)))]
pub async fn get_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<QuestionnaireView>, ApiError> {
    let q = state
        .repos
        .questionnaires
        .get(&caller.principal.tenant, &parse_questionnaire_id(&id)?)
        .await?;
    Ok(Json(QuestionnaireView::new(&q.value, q.version)))
}

#[utoipa::path(post, path = "/api/questionnaires", tag = "scenarios", security(("bearer" = [])), request_body = QuestionnaireRequest,
    responses((status = 201, body = QuestionnaireView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<QuestionnaireRequest>,
) -> Result<(StatusCode, Json<QuestionnaireView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    if req.version.is_some() {
        return Err(ApiError::invalid(
            "version",
            "a new questionnaire has no version; send it when replacing one",
        ));
    }
    let now = state.clock.now_ms();
    let mut q = Questionnaire {
        id: QuestionnaireId::parse(new_id()).map_err(ApiError::internal)?,
        name: req.name,
        questions: questions_from(req.questions)?,
        used_by: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    q.normalize()?;
    state
        .repos
        .questionnaires
        .create(&caller.principal.tenant, &q)
        .await?;
    Ok((StatusCode::CREATED, Json(QuestionnaireView::new(&q, 1))))
}

/// Replaces the questions. Answers already given keep their question ids;
/// the export shows the questions as they are now.
#[utoipa::path(put, path = "/api/questionnaires/{id}", tag = "scenarios", security(("bearer" = [])), request_body = QuestionnaireRequest,
    responses((status = 200, body = QuestionnaireView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<QuestionnaireRequest>,
) -> Result<Json<QuestionnaireView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let current = state
        .repos
        .questionnaires
        .get(t, &parse_questionnaire_id(&id)?)
        .await?;
    if req.version.is_some_and(|v| v != current.version) {
        return Err(RepoError::Stale("questionnaire").into());
    }
    let mut q = Questionnaire {
        name: req.name,
        questions: questions_from(req.questions)?,
        updated_at: state.clock.now_ms(),
        ..current.value
    };
    q.normalize()?;
    let version = state
        .repos
        .questionnaires
        .update(t, &q, current.version)
        .await?;
    Ok(Json(QuestionnaireView::new(&q, version)))
}

/// Deletes a questionnaire no scenario uses; one in use answers 409 naming the scenario.
#[utoipa::path(delete, path = "/api/questionnaires/{id}", tag = "scenarios", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a scenario uses it")))]
pub async fn delete_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSettings)?;
    state
        .repos
        .questionnaires
        .delete(&caller.principal.tenant, &parse_questionnaire_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
