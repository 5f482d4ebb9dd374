//! Answers to questionnaires (PRODUCT D4): written by the agent on the call
//! for a client in their scope, exported as CSV or XLSX with the rows of the
//! clients the caller may see.

use super::clients::visible;
use super::export::{file_options, file_response};
use super::questionnaires::parse_questionnaire_id;
use super::selection::context;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use callisto_domain::client::Client;
use callisto_domain::ids::{ClientId, ScenarioId};
use callisto_domain::phone::format_phone;
use callisto_domain::questionnaire::{AnswerInput, AnswerSheet, AnswerStatus, check_call_id};
use callisto_store::repo::RepoError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    /// The call's id (a ULID); the same call again replaces its answers.
    pub call: String,
    /// The client card the call is with.
    pub client: String,
    /// The scenario worked by (it must use this questionnaire).
    pub scenario: Option<String>,
    /// `complete` (every required question answered), `refused` or `postponed`.
    pub status: String,
    /// By question id: a text (also a single choice or a date `YYYY-MM-DD`),
    /// a number, or a list of options (multiple choice); `null` or empty: not answered.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersView {
    pub questionnaire: String,
    pub call: String,
    pub client: String,
    pub scenario: Option<String>,
    pub status: String,
    /// By question id: a string, or a list of strings for a multiple choice.
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    pub by: String,
    pub at: i64,
}

impl From<&AnswerSheet> for AnswersView {
    fn from(s: &AnswerSheet) -> AnswersView {
        AnswersView {
            questionnaire: s.questionnaire.to_string(),
            call: s.call.to_string(),
            client: s.client.to_string(),
            scenario: s.scenario.as_ref().map(ToString::to_string),
            status: s.status.as_str().into(),
            answers: serde_json::to_value(&s.answers).unwrap_or_default(),
            by: s.by.to_string(),
            at: s.at,
        }
    }
}

fn status_field(s: &str) -> Result<AnswerStatus, ApiError> {
    match s {
        "complete" => Ok(AnswerStatus::Complete),
        "refused" => Ok(AnswerStatus::Refused),
        "postponed" => Ok(AnswerStatus::Postponed),
        other => Err(ApiError::invalid(
            "status",
            format!("{other:?}: use complete, refused or postponed"),
        )),
    }
}

fn answer_input(id: &str, v: serde_json::Value) -> Result<Option<AnswerInput>, ApiError> {
    use serde_json::Value;
    let bad = || {
        ApiError::invalid(
            &format!("answers[{id}]"),
            "answer with a text, a number or a list of options",
        )
    };
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(AnswerInput::Text(s)),
        Value::Number(n) => Some(AnswerInput::Number(n.as_f64().ok_or_else(bad)?)),
        Value::Array(items) => Some(AnswerInput::List(
            items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?,
        )),
        Value::Bool(_) | Value::Object(_) => return Err(bad()),
    })
}

/// Stores the answers of a call (201 when new, 200 when they replace the same call's).
#[utoipa::path(post, path = "/api/questionnaires/{id}/answers", tag = "scenarios", security(("bearer" = [])), request_body = AnswersRequest,
    responses((status = 201, body = AnswersView), (status = 200, body = AnswersView, description = "the call's answers replaced"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_answers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AnswersRequest>,
) -> Result<(StatusCode, Json<AnswersView>), ApiError> {
    let t = &caller.principal.tenant;
    let q = state
        .repos
        .questionnaires
        .get(t, &parse_questionnaire_id(&id)?)
        .await?
        .value;
    let call = check_call_id(&req.call)?;
    let status = status_field(&req.status)?;
    let (client, _) = visible(&state, &caller, &req.client).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::invalid("client", "no such client card in your scope")
        } else {
            e
        }
    })?;
    let scenario = match req.scenario.as_deref() {
        None => None,
        Some(raw) => {
            let wrong = || {
                ApiError::invalid(
                    "scenario",
                    format!(
                        "there is no scenario {raw:?} using questionnaire {:?}",
                        q.name
                    ),
                )
            };
            let id = ScenarioId::parse(raw).map_err(|_| wrong())?;
            match state.repos.scenarios.get(t, &id).await {
                Ok(s) if s.value.questionnaire.as_ref() == Some(&q.id) => Some(id),
                Ok(_) | Err(RepoError::NotFound(_)) => return Err(wrong()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut inputs = BTreeMap::new();
    for (qid, v) in req.answers {
        let input = answer_input(&qid, v)?;
        inputs.insert(qid, input);
    }
    let sheet = AnswerSheet {
        questionnaire: q.id.clone(),
        call,
        client: client.id,
        scenario,
        status,
        answers: q.check_answers(status, inputs)?,
        by: caller.user.id.clone(),
        at: state.clock.now_ms(),
    };
    let new = state.repos.questionnaires.save_answers(t, &sheet).await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(AnswersView::from(&sheet))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnswersExportParams {
    /// `xlsx` (default) or `csv` (UTF-8 with BOM, `;`-separated, as Excel opens it).
    pub format: Option<String>,
    /// Column headers: `ru` (default) or `en`.
    pub lang: Option<String>,
}

const HEADER_RU: [&str; 7] = [
    "Звонок",
    "Время",
    "Контакт",
    "Телефон",
    "E-mail",
    "Статус",
    "Менеджер",
];
const HEADER_EN: [&str; 7] = [
    "Call", "Time", "Contact", "Phone", "E-mail", "Status", "Agent",
];

/// More answers than this are refused; a queued export will lift it.
pub const MAX_ANSWER_ROWS: usize = 100_000;

/// The questionnaire's answers, one row per call, one column per question
/// (as the questions are now), for the clients the caller may see.
#[utoipa::path(get, path = "/api/questionnaires/{id}/answers", tag = "scenarios", security(("bearer" = [])), params(AnswersExportParams),
    responses((status = 200, description = "the file", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_answers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<AnswersExportParams>,
) -> Result<Response, ApiError> {
    let (xlsx, ru) = file_options(p.format.as_deref(), p.lang.as_deref())?;
    let t = &caller.principal.tenant;
    let q = state
        .repos
        .questionnaires
        .get(t, &parse_questionnaire_id(&id)?)
        .await?
        .value;
    let ctx = context(&state, &caller);
    // Cards and agents' names, each looked up once.
    let mut cards: HashMap<ClientId, Option<Client>> = HashMap::new();
    let mut agents: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .repos
            .questionnaires
            .answers(t, &q.id, cursor, 500)
            .await?;
        for sheet in page.items {
            if !cards.contains_key(&sheet.client) {
                let card = state.repos.clients.get(t, &sheet.client).await.ok();
                cards.insert(sheet.client.clone(), card.map(|c| c.value));
            }
            let card = cards.get(&sheet.client).cloned().flatten();
            if let Some(c) = &card
                && !caller.principal.sees(c.ownership())
            {
                continue;
            }
            // A deleted card's answers are shown only to those who see everything.
            if card.is_none() && caller.principal.scope() != callisto_domain::access::Scope::All {
                continue;
            }
            let agent = match agents.get(sheet.by.as_str()) {
                Some(n) => n.clone(),
                None => {
                    let n = state
                        .repos
                        .users
                        .get(t, &sheet.by)
                        .await
                        .map(|u| u.value.full_name)
                        .unwrap_or_default();
                    agents.insert(sheet.by.to_string(), n.clone());
                    n
                }
            };
            let status = match (sheet.status, ru) {
                (AnswerStatus::Complete, true) => "Завершена",
                (AnswerStatus::Refused, true) => "Отказ",
                (AnswerStatus::Postponed, true) => "Отложена",
                (s, false) => s.as_str(),
            };
            let mut row = vec![
                sheet.call.to_string(),
                ctx.local_text(sheet.at),
                card.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
                card.as_ref()
                    .map(|c| {
                        c.phones
                            .iter()
                            .map(|p| format_phone(p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                card.as_ref()
                    .map(|c| c.emails.join(", "))
                    .unwrap_or_default(),
                status.into(),
                agent,
            ];
            row.extend(q.questions.iter().map(|question| {
                sheet
                    .answers
                    .get(&question.id)
                    .map(|a| a.cell())
                    .unwrap_or_default()
            }));
            rows.push(row);
            if rows.len() > MAX_ANSWER_ROWS {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "too_many_rows",
                    format!("more than {MAX_ANSWER_ROWS} answers"),
                ));
            }
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let fixed: &[&str] = if ru { &HEADER_RU } else { &HEADER_EN };
    let header: Vec<String> = fixed
        .iter()
        .map(|h| h.to_string())
        .chain(q.questions.iter().map(|x| x.text.clone()))
        .collect();
    let count = rows.len();
    let (resp, ext) = file_response("answers", "Answers", header, rows, xlsx).await?;
    tracing::info!(tenant = %t, user = %caller.user.id, rows = count, format = ext, "answers exported");
    Ok(resp)
}

/// A card's questionnaire answers, as its card shows them.
#[utoipa::path(get, path = "/api/clients/{id}/answers", tag = "scenarios", security(("bearer" = [])),
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = [AnswersView], description = "by questionnaire, then call (oldest first)"),
              (status = 404, body = ErrorBody)))]
pub async fn client_answers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AnswersView>>, ApiError> {
    let (client, _) = visible(&state, &caller, &id).await?;
    let t = &caller.principal.tenant;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .repos
            .questionnaires
            .client_answers(t, &client.id, cursor, 500)
            .await?;
        out.extend(page.items.iter().map(AnswersView::from));
        match page.cursor {
            Some(c) if out.len() < MAX_ANSWER_ROWS => cursor = Some(c),
            _ => return Ok(Json(out)),
        }
    }
}
