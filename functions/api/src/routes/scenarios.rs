//! Scenarios (PRODUCT D1): administrators manage them; everyone else reads
//! those given to a user in their scope (a manager: his own).

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::{Permission, Scope};
use callisto_domain::ids::{
    CallResultId, EmailTemplateId, GroupId, MailAccountId, QuestionnaireId, ScenarioId, UserId,
};
use callisto_domain::scenario::{OfferedResult, Scenario, ScenarioDirection};
use callisto_domain::user::UserStatus;
use callisto_store::repo::{RepoError, Versioned};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferedResultView {
    /// A call result id (`GET /api/call-results`).
    pub result: String,
    /// A hint for the agent, at most 50 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRequest {
    pub name: String,
    /// User ids of the company's users who work by it.
    #[serde(default)]
    pub managers: Vec<String>,
    /// `outgoing` or `incoming`.
    pub direction: String,
    /// For incoming scenarios: the number called, any usual spelling (stored E.164).
    pub incoming_number: Option<String>,
    /// HTML; stored sanitised (p, br, b/strong, i/em, u, lists, h1-h4, links, anchors).
    #[serde(default)]
    pub script: String,
    /// In the order the agent sees them.
    #[serde(default)]
    pub results: Vec<OfferedResultView>,
    /// A result must be chosen before the next card (then `results` must not be empty).
    #[serde(default)]
    pub result_required: bool,
    /// The next card is dialled automatically.
    #[serde(default)]
    pub auto_dial: bool,
    pub questionnaire: Option<String>,
    /// An e-mail template id (`GET /api/email-templates`).
    pub email_template: Option<String>,
    /// A company mail account id (`GET /api/mail-accounts`) the template is sent through.
    pub mail_account: Option<String>,
    /// PUT: the version read; a scenario changed since is refused (409 `stale`).
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioView {
    pub id: String,
    pub name: String,
    pub managers: Vec<String>,
    pub direction: String,
    pub incoming_number: Option<String>,
    /// Sanitised HTML.
    pub script: String,
    pub results: Vec<OfferedResultView>,
    pub result_required: bool,
    pub auto_dial: bool,
    pub questionnaire: Option<String>,
    pub email_template: Option<String>,
    pub mail_account: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Send it back with PUT.
    pub version: u64,
}

impl ScenarioView {
    fn new(s: &Scenario, version: u64) -> ScenarioView {
        ScenarioView {
            id: s.id.to_string(),
            name: s.name.clone(),
            managers: s.managers.iter().map(ToString::to_string).collect(),
            direction: match s.direction {
                ScenarioDirection::Outgoing => "outgoing",
                ScenarioDirection::Incoming => "incoming",
            }
            .into(),
            incoming_number: s.incoming_number.clone(),
            script: s.script.clone(),
            results: s
                .results
                .iter()
                .map(|r| OfferedResultView {
                    result: r.result.to_string(),
                    comment: r.comment.clone(),
                })
                .collect(),
            result_required: s.result_required,
            auto_dial: s.auto_dial,
            questionnaire: s.questionnaire.as_ref().map(ToString::to_string),
            email_template: s.email_template.as_ref().map(ToString::to_string),
            mail_account: s.mail_account.as_ref().map(ToString::to_string),
            created_at: s.created_at,
            updated_at: s.updated_at,
            version,
        }
    }
}

pub(super) fn id_field<T, E>(
    field: &str,
    value: &str,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(value.to_string()).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{value:?} is not an id (1-64 of A-Z, a-z, 0-9, - and _)"),
        )
    })
}

pub(super) fn unknown(field: &str, what: &str, id: &str) -> ApiError {
    ApiError::invalid(field, format!("there is no {what} {id:?} in your company"))
}

/// The scenario a request describes, every field checked: its form first,
/// then that the managers, results, questionnaire, e-mail template and mail
/// account are the company's.
async fn scenario_from(
    state: &AppState,
    caller: &Caller,
    id: ScenarioId,
    req: ScenarioRequest,
    created_at: i64,
) -> Result<Scenario, ApiError> {
    let t = &caller.principal.tenant;
    let direction = match req.direction.as_str() {
        "outgoing" => ScenarioDirection::Outgoing,
        "incoming" => ScenarioDirection::Incoming,
        other => {
            return Err(ApiError::invalid(
                "direction",
                format!("{other:?}: use outgoing or incoming"),
            ));
        }
    };
    let managers = req
        .managers
        .iter()
        .enumerate()
        .map(|(i, m)| id_field(&format!("managers[{i}]"), m, UserId::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let results = req
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(OfferedResult {
                result: id_field(
                    &format!("results[{i}].result"),
                    &r.result,
                    CallResultId::parse,
                )?,
                comment: r.comment.clone(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let questionnaire = req
        .questionnaire
        .as_deref()
        .map(|q| id_field("questionnaire", q, QuestionnaireId::parse))
        .transpose()?;
    let email_template = req
        .email_template
        .as_deref()
        .map(|e| id_field("email_template", e, EmailTemplateId::parse))
        .transpose()?;
    let mail_account = req
        .mail_account
        .as_deref()
        .map(|m| id_field("mail_account", m, MailAccountId::parse))
        .transpose()?;
    let mut s = Scenario {
        id,
        name: req.name,
        managers,
        direction,
        incoming_number: req.incoming_number,
        script: req.script,
        results,
        result_required: req.result_required,
        auto_dial: req.auto_dial,
        questionnaire,
        email_template,
        mail_account,
        created_at,
        updated_at: state.clock.now_ms(),
    };
    let region = state.repos.tenants.get(t).await?.value.phone_region;
    s.normalize(&region)?;

    for (i, m) in s.managers.iter().enumerate() {
        let field = format!("managers[{i}]");
        match state.repos.users.get(t, m).await {
            Ok(u) if u.value.status != UserStatus::Deleted => {}
            Ok(_) | Err(RepoError::NotFound(_)) => return Err(unknown(&field, "user", m.as_str())),
            Err(e) => return Err(e.into()),
        }
    }
    let known = state.repos.call_results.list(t).await?;
    for (i, r) in s.results.iter().enumerate() {
        if !known.iter().any(|k| k.id == r.result) {
            return Err(unknown(
                &format!("results[{i}].result"),
                "call result",
                r.result.as_str(),
            ));
        }
    }
    if let Some(q) = &s.questionnaire {
        match state.repos.questionnaires.get(t, q).await {
            Ok(_) => {}
            Err(RepoError::NotFound(_)) => {
                return Err(unknown("questionnaire", "questionnaire", q.as_str()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(e) = &s.email_template {
        match state.repos.mail.template(t, e).await {
            Ok(_) => {}
            Err(RepoError::NotFound(_)) => {
                return Err(unknown("email_template", "e-mail template", e.as_str()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(a) = &s.mail_account {
        match state.repos.mail.account(t, a).await {
            Ok(acc) if acc.value.owner.is_none() => {}
            Ok(_) => {
                return Err(ApiError::invalid(
                    "mail_account",
                    "a scenario sends through a company account, not a user's own",
                ));
            }
            Err(RepoError::NotFound(_)) => {
                return Err(unknown("mail_account", "mail account", a.as_str()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // One number, one incoming scenario: the call would not know which to open.
    if let Some(number) = &s.incoming_number {
        let taken = state
            .repos
            .scenarios
            .list(t)
            .await?
            .into_iter()
            .find(|other| {
                other.value.id != s.id && other.value.incoming_number.as_ref() == Some(number)
            });
        if let Some(other) = taken {
            return Err(ApiError::invalid(
                "incoming_number",
                format!(
                    "{number} already opens scenario {:?}; an incoming number belongs to one scenario",
                    other.value.name
                ),
            ));
        }
    }
    Ok(s)
}

/// Each user's group, when the caller's scope is a group (the only scope that needs them).
async fn groups_of_users(
    state: &AppState,
    caller: &Caller,
) -> Result<HashMap<UserId, Option<GroupId>>, ApiError> {
    let mut out = HashMap::new();
    if !matches!(caller.principal.scope(), Scope::Group(_)) {
        return Ok(out);
    }
    let mut cursor = None;
    loop {
        let page = state
            .repos
            .users
            .list(&caller.principal.tenant, cursor, 500)
            .await?;
        out.extend(page.items.into_iter().map(|u| (u.id, u.group)));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn parse_scenario_id(id: &str) -> Result<ScenarioId, ApiError> {
    ScenarioId::parse(id).map_err(|_| ApiError::not_found("scenario"))
}

/// The scenario if the caller may read it; else 404, as if it did not exist.
async fn readable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Versioned<Scenario>, ApiError> {
    let s = state
        .repos
        .scenarios
        .get(&caller.principal.tenant, &parse_scenario_id(id)?)
        .await?;
    let groups = groups_of_users(state, caller).await?;
    if s.value
        .visible_to(&caller.principal, |u| groups.get(u).cloned().flatten())
    {
        Ok(s)
    } else {
        Err(ApiError::not_found("scenario"))
    }
}

#[utoipa::path(get, path = "/api/scenarios", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = [ScenarioView], description = "the scenarios the caller may read, oldest first")))]
pub async fn list_scenarios(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScenarioView>>, ApiError> {
    let all = state.repos.scenarios.list(&caller.principal.tenant).await?;
    let groups = groups_of_users(&state, &caller).await?;
    Ok(Json(
        all.iter()
            .filter(|s| {
                s.value
                    .visible_to(&caller.principal, |u| groups.get(u).cloned().flatten())
            })
            .map(|s| ScenarioView::new(&s.value, s.version))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/scenarios/{id}", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = ScenarioView), (status = 404, body = ErrorBody)))]
pub async fn get_scenario(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScenarioView>, ApiError> {
    let s = readable(&state, &caller, &id).await?;
    Ok(Json(ScenarioView::new(&s.value, s.version)))
}

#[utoipa::path(post, path = "/api/scenarios", tag = "scenarios", security(("bearer" = [])), request_body = ScenarioRequest,
    responses((status = 201, body = ScenarioView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_scenario(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ScenarioRequest>,
) -> Result<(StatusCode, Json<ScenarioView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    if req.version.is_some() {
        return Err(ApiError::invalid(
            "version",
            "a new scenario has no version; send it when replacing one",
        ));
    }
    let id = ScenarioId::parse(new_id()).map_err(ApiError::internal)?;
    let s = scenario_from(&state, &caller, id, req, state.clock.now_ms()).await?;
    let version = save(&state, &caller, &s, 0).await?;
    Ok((StatusCode::CREATED, Json(ScenarioView::new(&s, version))))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    s: &Scenario,
    version: u64,
) -> Result<u64, ApiError> {
    match state
        .repos
        .scenarios
        .save(&caller.principal.tenant, s, version)
        .await
    {
        // Deleted between the check and the write.
        Err(RepoError::NotFound("call result")) => Err(ApiError::invalid(
            "results",
            "a call result was deleted meanwhile; reload the list",
        )),
        Err(RepoError::NotFound("questionnaire")) => Err(ApiError::invalid(
            "questionnaire",
            "the questionnaire was deleted meanwhile",
        )),
        Err(RepoError::NotFound("e-mail template")) => Err(ApiError::invalid(
            "email_template",
            "the e-mail template was deleted meanwhile",
        )),
        Err(RepoError::NotFound("mail account")) => Err(ApiError::invalid(
            "mail_account",
            "the mail account was deleted meanwhile",
        )),
        other => Ok(other?),
    }
}

/// Replaces the scenario. With `version`, a scenario changed since is refused.
#[utoipa::path(put, path = "/api/scenarios/{id}", tag = "scenarios", security(("bearer" = [])), request_body = ScenarioRequest,
    responses((status = 200, body = ScenarioView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_scenario(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ScenarioRequest>,
) -> Result<Json<ScenarioView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let current = state
        .repos
        .scenarios
        .get(&caller.principal.tenant, &parse_scenario_id(&id)?)
        .await?;
    let version = req.version.unwrap_or(current.version);
    if version != current.version {
        return Err(RepoError::Stale("scenario").into());
    }
    let s = scenario_from(
        &state,
        &caller,
        current.value.id.clone(),
        req,
        current.value.created_at,
    )
    .await?;
    let version = save(&state, &caller, &s, version).await?;
    Ok(Json(ScenarioView::new(&s, version)))
}

#[utoipa::path(delete, path = "/api/scenarios/{id}", tag = "scenarios", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_scenario(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSettings)?;
    state
        .repos
        .scenarios
        .delete(&caller.principal.tenant, &parse_scenario_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
