//! E-mail templates (PRODUCT D3): administrators write them, everyone sends
//! them from cards. Subject and body use the five placeholders; a body is
//! HTML (sanitised) or plain text. Up to 10 attachments, kept as blobs under
//! the tenant (`T#<t>/mail-templates/<template>/<attachment>`).

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callisto_domain::access::Permission;
use callisto_domain::ids::{AttachmentId, EmailTemplateId};
use callisto_domain::mail::{Attachment, BodyFormat, EmailTemplate};
use callisto_store::repo::{RepoError, attachment_key};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateRequest {
    pub name: String,
    /// May use %FIRSTNAME%, %LASTNAME%, %PATRONYMIC%, %FIRM_NAME%, %FULLNAME%.
    pub subject: String,
    /// The same placeholders; any other `%WORD%` is refused, naming it.
    #[serde(default)]
    pub body: String,
    /// `html` (default; stored sanitised) or `text`.
    pub format: Option<String>,
    /// PUT: the version read; a template changed since is refused (409 `stale`).
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailTemplateView {
    pub id: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub format: String,
    pub attachments: Vec<AttachmentView>,
    /// Ids of the scenarios sending it; while any does, it cannot be deleted.
    pub scenarios: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl EmailTemplateView {
    fn new(e: &EmailTemplate, version: u64) -> EmailTemplateView {
        EmailTemplateView {
            id: e.id.to_string(),
            name: e.name.clone(),
            subject: e.subject.clone(),
            body: e.body.clone(),
            format: match e.format {
                BodyFormat::Html => "html",
                BodyFormat::Text => "text",
            }
            .into(),
            attachments: e
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    id: a.id.to_string(),
                    name: a.name.clone(),
                    size: a.size,
                    content_type: a.content_type.clone(),
                })
                .collect(),
            scenarios: e.used_by.iter().map(ToString::to_string).collect(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            version,
        }
    }
}

fn parse_format(f: Option<&str>) -> Result<BodyFormat, ApiError> {
    match f {
        None | Some("html") => Ok(BodyFormat::Html),
        Some("text") => Ok(BodyFormat::Text),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("{other:?}: use html or text"),
        )),
    }
}

pub(crate) fn parse_template_id(id: &str) -> Result<EmailTemplateId, ApiError> {
    EmailTemplateId::parse(id).map_err(|_| ApiError::not_found("e-mail template"))
}

#[utoipa::path(get, path = "/api/email-templates", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = [EmailTemplateView])))]
pub async fn list_email_templates(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<EmailTemplateView>>, ApiError> {
    let all = state.repos.mail.templates(&caller.principal.tenant).await?;
    Ok(Json(
        all.iter()
            .map(|e| EmailTemplateView::new(&e.value, e.version))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/email-templates/{id}", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateView), (status = 404, body = ErrorBody)))]
pub async fn get_email_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EmailTemplateView>, ApiError> {
    let e = state
        .repos
        .mail
        .template(&caller.principal.tenant, &parse_template_id(&id)?)
        .await?;
    Ok(Json(EmailTemplateView::new(&e.value, e.version)))
}

#[utoipa::path(post, path = "/api/email-templates", tag = "mail", security(("bearer" = [])), request_body = EmailTemplateRequest,
    responses((status = 201, body = EmailTemplateView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_email_template(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<EmailTemplateRequest>,
) -> Result<(StatusCode, Json<EmailTemplateView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    if req.version.is_some() {
        return Err(ApiError::invalid(
            "version",
            "a new template has no version; send it when replacing one",
        ));
    }
    let now = state.clock.now_ms();
    let mut e = EmailTemplate {
        id: EmailTemplateId::parse(new_id()).map_err(ApiError::internal)?,
        name: req.name,
        subject: req.subject,
        body: req.body,
        format: parse_format(req.format.as_deref())?,
        attachments: Vec::new(),
        used_by: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    e.normalize()?;
    let version = state
        .repos
        .mail
        .save_template(&caller.principal.tenant, &e, 0)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EmailTemplateView::new(&e, version)),
    ))
}

/// Replaces name, subject, body and format; the attachments stay.
#[utoipa::path(put, path = "/api/email-templates/{id}", tag = "mail", security(("bearer" = [])), request_body = EmailTemplateRequest,
    responses((status = 200, body = EmailTemplateView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_email_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EmailTemplateRequest>,
) -> Result<Json<EmailTemplateView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let current = state
        .repos
        .mail
        .template(t, &parse_template_id(&id)?)
        .await?;
    if req.version.is_some_and(|v| v != current.version) {
        return Err(RepoError::Stale("e-mail template").into());
    }
    let mut e = EmailTemplate {
        name: req.name,
        subject: req.subject,
        body: req.body,
        format: parse_format(req.format.as_deref())?,
        updated_at: state.clock.now_ms(),
        ..current.value
    };
    e.normalize()?;
    let version = state
        .repos
        .mail
        .save_template(t, &e, current.version)
        .await?;
    Ok(Json(EmailTemplateView::new(&e, version)))
}

/// Deletes a template no scenario uses (409 naming the scenario otherwise), with its attachments.
#[utoipa::path(delete, path = "/api/email-templates/{id}", tag = "mail", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a scenario uses it")))]
pub async fn delete_email_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let deleted = state
        .repos
        .mail
        .delete_template(t, &parse_template_id(&id)?)
        .await?;
    for a in &deleted.attachments {
        if let Err(e) = state
            .stores
            .blobs
            .delete(&attachment_key(t, &deleted.id, &a.id)?)
            .await
        {
            tracing::warn!(tenant = %t, template = %deleted.id, error = %e, "an attachment's blob was left behind");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttachmentParams {
    /// The file's name as the recipient sees it.
    pub file_name: String,
}

/// Adds an attachment: the body is the file, its `Content-Type` the file's
/// type. At most 10 per template, 10 MB each and 20 MB together (413 / 422
/// naming `file`).
#[utoipa::path(post, path = "/api/email-templates/{id}/attachments", tag = "mail", security(("bearer" = [])), params(AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file"),
    responses((status = 201, body = EmailTemplateView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<AttachmentParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<EmailTemplateView>), ApiError> {
    caller.require(Permission::ManageSettings)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "one attachment may be at most 10 MB",
            )
            .with_field("file")
        } else {
            ApiError::new(r.status(), "bad_request", r.body_text())
        }
    })?;
    let t = &caller.principal.tenant;
    let current = state
        .repos
        .mail
        .template(t, &parse_template_id(&id)?)
        .await?;
    let name = current
        .value
        .check_new_attachment(&p.file_name, body.len() as u64)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200 && !v.contains(['\r', '\n']))
        .unwrap_or("application/octet-stream")
        .to_string();
    let attachment = Attachment {
        id: AttachmentId::parse(new_id()).map_err(ApiError::internal)?,
        name,
        size: body.len() as u64,
        content_type,
    };
    let key = attachment_key(t, &current.value.id, &attachment.id)?;
    state
        .stores
        .blobs
        .put(&key, body.to_vec(), &attachment.content_type)
        .await?;
    let mut e = current.value;
    e.attachments.push(attachment);
    e.updated_at = state.clock.now_ms();
    match state.repos.mail.save_template(t, &e, current.version).await {
        Ok(version) => Ok((
            StatusCode::CREATED,
            Json(EmailTemplateView::new(&e, version)),
        )),
        Err(err) => {
            // Not listed by the template, so nobody would ever reach it.
            if let Err(e) = state.stores.blobs.delete(&key).await {
                tracing::warn!(tenant = %t, error = %e, "an unsaved attachment's blob was left behind");
            }
            Err(err.into())
        }
    }
}

fn find_attachment<'a>(e: &'a EmailTemplate, id: &str) -> Result<&'a Attachment, ApiError> {
    e.attachments
        .iter()
        .find(|a| a.id.as_str() == id)
        .ok_or_else(|| ApiError::not_found("attachment"))
}

#[utoipa::path(get, path = "/api/email-templates/{id}/attachments/{attachment}", tag = "mail", security(("bearer" = [])),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn get_attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let t = &caller.principal.tenant;
    let e = state
        .repos
        .mail
        .template(t, &parse_template_id(&id)?)
        .await?
        .value;
    let a = find_attachment(&e, &attachment)?;
    let blob = state
        .stores
        .blobs
        .get(&attachment_key(t, &e.id, &a.id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let mut resp = Body::from(blob.data).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String = a
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[utoipa::path(delete, path = "/api/email-templates/{id}/attachments/{attachment}", tag = "mail", security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete_attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Json<EmailTemplateView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let t = &caller.principal.tenant;
    let current = state
        .repos
        .mail
        .template(t, &parse_template_id(&id)?)
        .await?;
    let a = find_attachment(&current.value, &attachment)?.clone();
    let mut e = current.value;
    e.attachments.retain(|x| x.id != a.id);
    e.updated_at = state.clock.now_ms();
    let version = state
        .repos
        .mail
        .save_template(t, &e, current.version)
        .await?;
    if let Err(err) = state
        .stores
        .blobs
        .delete(&attachment_key(t, &e.id, &a.id)?)
        .await
    {
        tracing::warn!(tenant = %t, template = %e.id, error = %err, "an attachment's blob was left behind");
    }
    Ok(Json(EmailTemplateView::new(&e, version)))
}
