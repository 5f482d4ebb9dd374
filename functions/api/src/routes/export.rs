//! Export of client cards to CSV or XLSX (PRODUCT C3, C8, H6): a selection, a
//! search, or every card the caller may see. Built in one request; the file is
//! written to a temporary file, not held as a table in memory.

use super::clients::visible;
use super::selection::{FilterParams, context, filtered_page};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiQuery;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::filter::FilterContext;
use callisto_domain::phone::format_phone;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `xlsx` (default) or `csv` (UTF-8 with BOM, `;`-separated, as Excel opens it).
    pub format: Option<String>,
    /// Comma-separated card ids: export this selection (the filter is then ignored).
    pub ids: Option<String>,
    /// Column headers: `ru` (default) or `en`.
    pub lang: Option<String>,
    /// The filter of `GET /api/clients`: export what the list shows.
    pub q: Option<String>,
    pub kind: Option<String>,
    pub tags: Option<String>,
    pub responsible: Option<String>,
    pub client_type: Option<String>,
    pub modified_from: Option<String>,
    pub modified_to: Option<String>,
    pub not_called: Option<bool>,
    pub local_time: Option<String>,
}

impl ExportParams {
    fn filter(&self) -> FilterParams {
        FilterParams {
            q: self.q.clone(),
            kind: self.kind.clone(),
            tags: self.tags.clone(),
            responsible: self.responsible.clone(),
            client_type: self.client_type.clone(),
            modified_from: self.modified_from.clone(),
            modified_to: self.modified_to.clone(),
            not_called: self.not_called,
            local_time: self.local_time.clone(),
        }
    }
}

const HEADER_RU: [&str; 19] = [
    "ID",
    "Тип",
    "Организация",
    "Фамилия",
    "Имя",
    "Отчество",
    "Название",
    "Должность",
    "Телефоны",
    "E-mail",
    "Город",
    "Отрасль",
    "Сайт",
    "ИНН",
    "Теги",
    "Тип клиента",
    "Ответственный",
    "Комментарий",
    "Изменён",
];
const HEADER_EN: [&str; 19] = [
    "ID",
    "Kind",
    "Organization",
    "Last name",
    "First name",
    "Patronymic",
    "Name",
    "Position",
    "Phones",
    "E-mail",
    "City",
    "Industry",
    "Website",
    "INN",
    "Tags",
    "Client type",
    "Responsible",
    "Comment",
    "Modified",
];
/// More cards than this are refused with advice to narrow the filter; the queued export job lifts it.
pub const MAX_EXPORT_ROWS: usize = 100_000;

fn row(
    c: &Client,
    org_name: &str,
    responsible: &str,
    lang_ru: bool,
    ctx: &FilterContext,
) -> Vec<String> {
    let kind = match (c.kind, lang_ru) {
        (ClientKind::Organization, true) => "Организация",
        (ClientKind::Contact, true) => "Контакт",
        (ClientKind::Organization, false) => "Organization",
        (ClientKind::Contact, false) => "Contact",
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        c.id.to_string(),
        kind.into(),
        org_name.into(),
        opt(&c.last_name),
        opt(&c.first_name),
        opt(&c.patronymic),
        c.name.clone(),
        opt(&c.position),
        c.phones
            .iter()
            .map(|p| format_phone(p))
            .collect::<Vec<_>>()
            .join(", "),
        c.emails.join(", "),
        opt(&c.city),
        opt(&c.industry),
        opt(&c.website),
        opt(&c.inn),
        c.tags.join("; "),
        opt(&c.client_type),
        responsible.into(),
        opt(&c.description),
        ctx.local_text(c.updated_at),
    ]
}

async fn selected(
    state: &AppState,
    caller: &Caller,
    p: &ExportParams,
) -> Result<Vec<Client>, ApiError> {
    if let Some(ids) = &p.ids {
        let mut out = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (card, _) = visible(state, caller, id)
                .await
                .map_err(|e| e.with_field("ids"))?;
            if !card.is_deleted() {
                out.push(card);
            }
        }
        return Ok(out);
    }
    let ctx = context(state, caller);
    let filter = p.filter().into_filter(&ctx, StatusCode::BAD_REQUEST)?;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let limit = if filter.q.is_some() {
            MAX_EXPORT_ROWS
        } else {
            500
        };
        let page = filtered_page(state, caller, &filter, &ctx, cursor, limit).await?;
        out.extend(page.items);
        if out.len() > MAX_EXPORT_ROWS {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_rows",
                format!("more than {MAX_EXPORT_ROWS} cards; narrow the filter or select cards"),
            ));
        }
        match page.cursor {
            // A text search answers with its best matches and no cursor.
            Some(c) if filter.q.is_none() => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

#[utoipa::path(get, path = "/api/clients/export", tag = "clients", security(("bearer" = [])), params(ExportParams),
    responses((status = 200, description = "the file", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_clients(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let (xlsx, lang_ru) = file_options(p.format.as_deref(), p.lang.as_deref())?;
    let cards = selected(&state, &caller, &p).await?;
    let ctx = context(&state, &caller);
    let t = &caller.principal.tenant;
    // Names of organizations and responsible users, each looked up once.
    let mut orgs = std::collections::HashMap::new();
    let mut users = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(cards.len());
    for c in &cards {
        let org = match &c.organization {
            Some(o) => match orgs.get(o) {
                Some(name) => String::clone(name),
                None => {
                    let name = state
                        .repos
                        .clients
                        .get(t, o)
                        .await
                        .map(|v| v.value.name)
                        .unwrap_or_default();
                    orgs.insert(o.clone(), name.clone());
                    name
                }
            },
            None => String::new(),
        };
        let responsible = match users.get(&c.responsible) {
            Some(name) => String::clone(name),
            None => {
                let name = state
                    .repos
                    .users
                    .get(t, &c.responsible)
                    .await
                    .map(|u| u.value.full_name)
                    .unwrap_or_default();
                users.insert(c.responsible.clone(), name.clone());
                name
            }
        };
        rows.push(row(c, &org, &responsible, lang_ru, &ctx));
    }
    let header: &[&str] = if lang_ru { &HEADER_RU } else { &HEADER_EN };
    let header = header.iter().map(|h| h.to_string()).collect();
    let (resp, ext) = file_response("contacts", "Contacts", header, rows, xlsx).await?;
    tracing::info!(tenant = %t, user = %caller.user.id, rows = cards.len(), format = ext, "clients exported");
    Ok(resp)
}

/// An export's `format` (`xlsx`, the default, or `csv`) and `lang` (`ru`, the
/// default, or `en`): (XLSX?, Russian headers?); 400 naming the bad parameter.
pub(crate) fn file_options(
    format: Option<&str>,
    lang: Option<&str>,
) -> Result<(bool, bool), ApiError> {
    let bad = |field: &str, msg: &str| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", msg).with_field(field)
    };
    let xlsx = match format {
        None | Some("xlsx") => true,
        Some("csv") => false,
        Some(_) => return Err(bad("format", "format must be xlsx or csv")),
    };
    let ru = match lang {
        None | Some("ru") => true,
        Some("en") => false,
        Some(_) => return Err(bad("lang", "lang must be ru or en")),
    };
    Ok((xlsx, ru))
}

/// Writes `rows` under `header` as XLSX (sheet `sheet`) or CSV off the
/// runtime's workers, and answers with the file `<name>.<ext>`; returns the
/// extension too, for the log.
pub(crate) async fn file_response(
    name: &'static str,
    sheet: &'static str,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    xlsx: bool,
) -> Result<(Response, &'static str), ApiError> {
    let (bytes, content_type, ext) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        if xlsx {
            let file = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
            callisto_tabular::write_xlsx(file.path(), sheet, &header, rows)
                .map_err(ApiError::internal)?;
            let bytes = std::fs::read(file.path()).map_err(ApiError::internal)?;
            Ok((
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ))
        } else {
            let mut bytes = Vec::new();
            callisto_tabular::write_csv(&mut bytes, &header, rows).map_err(ApiError::internal)?;
            Ok((bytes, "text/csv; charset=utf-8", "csv"))
        }
    })
    .await
    .map_err(ApiError::internal)??;
    let resp = (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response();
    Ok((resp, ext))
}
