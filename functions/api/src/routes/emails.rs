//! Sending an e-mail from a card (PRODUCT D3): the request queues the mail
//! (202) and the mail worker (`callisto_jobs::mail`) sends it, writes the
//! history entry and retries failures; its state is read here.

use super::auth::new_id;
use super::clients::visible;
use super::email_templates::parse_template_id;
use super::mail_accounts::parse_account_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::email::normalize_email;
use callisto_domain::ids::MailId;
use callisto_domain::mail::{MAX_EXTRA_TEXT_CHARS, MailStatus, OutgoingMail};
use callisto_store::repo::{RepoError, SEND_QUEUE};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailRequest {
    /// An e-mail template id.
    pub template: String,
    /// A mail account id: the company's or the caller's own.
    pub account: String,
    /// The recipient; default the card's first e-mail.
    pub to: Option<String>,
    /// Text added after the template's body, before the signature.
    pub extra_text: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub id: String,
    pub client_id: String,
    pub template: String,
    pub account: String,
    pub to: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    /// Why the last attempt failed (kept while it is retried, and when it failed for good).
    pub last_error: Option<String>,
    /// While queued after a failure: not tried again before this time (ms).
    pub next_attempt_at: Option<i64>,
    /// The subject as sent.
    pub subject: Option<String>,
    pub sent_by: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl From<&OutgoingMail> for EmailView {
    fn from(m: &OutgoingMail) -> EmailView {
        EmailView {
            id: m.id.to_string(),
            client_id: m.client.to_string(),
            template: m.template.to_string(),
            account: m.account.to_string(),
            to: m.to.clone(),
            status: m.status.as_str().into(),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            next_attempt_at: (m.status == MailStatus::Queued && m.attempts > 0)
                .then_some(m.next_attempt_at),
            subject: m.subject.clone(),
            sent_by: m.by.to_string(),
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// Queues a mail from the card through a mail account; 202 with the mail to follow.
#[utoipa::path(post, path = "/api/clients/{id}/emails", tag = "mail", security(("bearer" = [])), request_body = SendEmailRequest,
    responses((status = 202, body = EmailView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send_email(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SendEmailRequest>,
) -> Result<(StatusCode, Json<EmailView>), ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    if card.is_deleted() {
        return Err(ApiError::not_found("client"));
    }
    let t = &caller.principal.tenant;
    let template = match state
        .repos
        .mail
        .template(
            t,
            &parse_template_id(&req.template).map_err(|_| unknown_template())?,
        )
        .await
    {
        Ok(e) => e.value,
        Err(RepoError::NotFound(_)) => return Err(unknown_template()),
        Err(e) => return Err(e.into()),
    };
    let unknown_account = || {
        ApiError::invalid(
            "account",
            "there is no such mail account you may send through",
        )
    };
    let account = match state
        .repos
        .mail
        .account(
            t,
            &parse_account_id(&req.account).map_err(|_| unknown_account())?,
        )
        .await
    {
        Ok(a) if a.value.usable_by(&caller.principal) => a.value,
        Ok(_) | Err(RepoError::NotFound(_)) => return Err(unknown_account()),
        Err(e) => return Err(e.into()),
    };
    let to =
        match req.to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(to) => normalize_email(to).map_err(|e| ApiError::invalid("to", e.to_string()))?,
            None => card.emails.first().cloned().ok_or_else(|| {
                ApiError::invalid("to", "the card has no e-mail address; give one")
            })?,
        };
    let extra_text = match req.extra_text.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(x) if x.chars().count() > MAX_EXTRA_TEXT_CHARS => {
            return Err(ApiError::invalid(
                "extra_text",
                format!("must be at most {MAX_EXTRA_TEXT_CHARS} characters"),
            ));
        }
        Some(x) => Some(x.to_string()),
    };
    let mut mail = OutgoingMail {
        id: MailId::parse(new_id()).map_err(ApiError::internal)?,
        client: card.id.clone(),
        template: template.id,
        account: account.id,
        to,
        extra_text,
        by: caller.user.id.clone(),
        status: MailStatus::Queued,
        attempts: 0,
        last_error: None,
        next_attempt_at: 0,
        subject: None,
        created_at: state.clock.now_ms(),
        sent_at: None,
    };
    // Saved before it is queued, so the worker always finds it.
    let version = state.repos.mail.create_mail(t, &mail).await?;
    if let Err(e) = state
        .stores
        .queue
        .send(SEND_QUEUE, t, mail.id.as_str())
        .await
    {
        mail.give_up("the mail could not be queued; send it again".into());
        state.repos.mail.save_mail(t, &mail, version).await?;
        return Err(ApiError::internal(e));
    }
    Ok((StatusCode::ACCEPTED, Json(EmailView::from(&mail))))
}

fn unknown_template() -> ApiError {
    ApiError::invalid(
        "template",
        "there is no such e-mail template in your company",
    )
}

/// A mail sent from a card: its state, attempts and last error.
#[utoipa::path(get, path = "/api/emails/{id}", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = EmailView), (status = 404, body = ErrorBody)))]
pub async fn get_email(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EmailView>, ApiError> {
    let t = &caller.principal.tenant;
    let id = MailId::parse(id).map_err(|_| ApiError::not_found("mail"))?;
    let mail = state.repos.mail.mail(t, &id).await?.value;
    // Its sender, and whoever sees the card.
    if mail.by != caller.user.id {
        visible(&state, &caller, mail.client.as_str())
            .await
            .map_err(|_| ApiError::not_found("mail"))?;
    }
    Ok(Json(EmailView::from(&mail)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EmailListParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailPage {
    pub items: Vec<EmailView>,
    pub cursor: Option<String>,
}

/// The mails sent from a card, newest first.
#[utoipa::path(get, path = "/api/clients/{id}/emails", tag = "mail", security(("bearer" = [])), params(EmailListParams),
    responses((status = 200, body = EmailPage), (status = 404, body = ErrorBody)))]
pub async fn list_client_emails(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<EmailListParams>,
) -> Result<Json<EmailPage>, ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    let page = state
        .repos
        .mail
        .client_mails(
            &caller.principal.tenant,
            &card.id,
            p.cursor,
            super::page_limit(p.limit)?,
        )
        .await?;
    Ok(Json(EmailPage {
        items: page.items.iter().map(EmailView::from).collect(),
        cursor: page.cursor,
    }))
}
