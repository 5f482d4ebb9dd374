//! Import of a contact base (PRODUCT C2): upload → preview with the guessed
//! column mapping (encoding, separator and sheet can be overridden) → confirm
//! with the target manager, batch tag and duplicate policy → the queued job
//! runs → progress and counts → the rejected rows as a file. Nothing is
//! written to the base before confirm.

use super::auth::new_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use callisto_domain::access::Role;
use callisto_domain::ids::UserId;
use callisto_domain::import::{Column, DuplicatePolicy, check_columns, guess_columns};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_domain::user::UserStatus;
use callisto_store::repo::{IMPORT_QUEUE, RepoError, import_source_key};
use callisto_tabular::{ReadOptions, Reader};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Largest upload; the seed's limit is 3 MB, ours is far above (imports are streamed).
pub const MAX_UPLOAD_BYTES: usize = 200 * 1024 * 1024;
const PREVIEW_ROWS: usize = 20;

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    pub file_name: String,
    pub size: u64,
    /// `uploaded`, `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub percent: u8,
    pub rows_total: u64,
    pub rows_done: u64,
    pub organizations_created: u64,
    pub contacts_created: u64,
    pub merged: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub error: Option<String>,
}

impl From<&ImportJob> for ImportView {
    fn from(j: &ImportJob) -> ImportView {
        let c = &j.counts;
        ImportView {
            id: j.id.to_string(),
            file_name: j.file_name.clone(),
            size: j.size,
            status: serde_json::to_value(j.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            percent: j.percent(),
            rows_total: j.rows_total,
            rows_done: j.rows_done,
            organizations_created: c.organizations_created,
            contacts_created: c.contacts_created,
            merged: c.merged,
            skipped: c.skipped,
            rejected: c.rejected,
            error: j.error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewRow {
    pub number: usize,
    pub cells: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub import: ImportView,
    /// `csv`, `xlsx` or `xls`.
    pub format: String,
    pub encoding: Option<String>,
    pub separator: Option<String>,
    pub sheets: Vec<String>,
    pub header: Vec<String>,
    /// The guessed mapping, one per header column, e.g. `{"target":"phones"}`, `{"target":"skip"}`.
    #[schema(value_type = Vec<Object>)]
    pub columns: Vec<Column>,
    pub rows: Vec<PreviewRow>,
    /// Problems in the previewed rows, e.g. `row 7: cell C7 is a formula error #REF!`.
    pub problems: Vec<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// Read the file in this encoding instead of the recognised one (e.g. `windows-1251`).
    pub encoding: Option<String>,
    /// Use this separator instead of the recognised one: `;`, `,`, `tab` or `|`.
    pub separator: Option<String>,
    pub sheet: Option<String>,
}

fn separator(field: &str, s: Option<&str>) -> Result<Option<u8>, ApiError> {
    match s {
        None => Ok(None),
        Some("tab" | "\t") => Ok(Some(b'\t')),
        Some(s) if s.len() == 1 && ";,|".contains(s) => Ok(Some(s.as_bytes()[0])),
        Some(s) => Err(ApiError::invalid(field, format!("{s:?}: use ; , | or tab"))),
    }
}

/// The job, if the caller may see it (its author or an administrator).
async fn job(state: &AppState, caller: &Caller, id: &str) -> Result<(ImportJob, u64), ApiError> {
    let id = ImportId::parse(id).map_err(|_| ApiError::not_found("import"))?;
    let v = match state.repos.imports.get(&caller.principal.tenant, &id).await {
        Ok(v) => v,
        Err(RepoError::NotFound(_)) => return Err(ApiError::not_found("import")),
        Err(e) => return Err(e.into()),
    };
    if v.value.created_by != caller.user.id && caller.principal.role != Role::Administrator {
        return Err(ApiError::not_found("import"));
    }
    Ok((v.value, v.version))
}

/// Opens the uploaded file in a temporary folder and runs `f` on a reader.
async fn with_reader<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    job: &ImportJob,
    opts: ReadOptions,
    f: impl FnOnce(callisto_tabular::Detected, Reader) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let key = import_source_key(&caller.principal.tenant, &job.id)?;
    // Streamed to the temporary file: a large upload is never held in memory.
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join("source");
    state
        .stores
        .blobs
        .download_to(&key, &path)
        .await?
        .ok_or_else(|| ApiError::not_found("import file"))?;
    let name = job.file_name.clone();
    tokio::task::spawn_blocking(move || {
        let _dir = dir;
        let unreadable = |e: callisto_tabular::TabularError| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable_file",
                e.to_string(),
            )
            .with_field("file")
        };
        let detected = callisto_tabular::detect(&path, &name, Some("ru")).map_err(unreadable)?;
        let reader = Reader::open(&path, &detected, &opts).map_err(unreadable)?;
        Ok(f(detected, reader))
    })
    .await
    .map_err(ApiError::internal)?
}

async fn preview_of(
    state: &AppState,
    caller: &Caller,
    job: &ImportJob,
    p: PreviewParams,
) -> Result<Preview, ApiError> {
    let opts = ReadOptions {
        encoding: p.encoding.clone(),
        separator: separator("separator", p.separator.as_deref())?,
        sheet: p.sheet.clone(),
    };
    let (detected, header, rows, problems) =
        with_reader(state, caller, job, opts, |detected, mut reader| {
            let header = reader.header().to_vec();
            let (mut rows, mut problems) = (Vec::new(), Vec::new());
            for item in reader.by_ref().take(PREVIEW_ROWS) {
                match item {
                    Ok(r) => rows.push(PreviewRow {
                        number: r.number,
                        cells: r.cells,
                    }),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            (detected, header, rows, problems)
        })
        .await?;
    Ok(Preview {
        import: ImportView::from(job),
        format: detected.format.name().to_lowercase(),
        encoding: detected.encoding.clone(),
        separator: detected.separator.map(|b| {
            if b == b'\t' {
                "tab".to_string()
            } else {
                (b as char).to_string()
            }
        }),
        sheets: detected.sheets.clone(),
        columns: guess_columns(&header),
        header,
        rows,
        problems,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file's name; its extension helps recognise the format.
    pub file_name: String,
}

#[utoipa::path(post, path = "/api/imports", tag = "imports", security(("bearer" = [])), params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the CSV, XLSX or XLS file"),
    responses((status = 201, body = Preview), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_import(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Bytes,
) -> Result<(StatusCode, Json<Preview>), ApiError> {
    let name = p.file_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "file_name",
            "give the file's name (1-200 characters)",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::invalid("file", "the file is empty"));
    }
    let t = &caller.principal.tenant;
    let job = ImportJob {
        id: ImportId::parse(new_id()).map_err(ApiError::internal)?,
        file_name: name.to_string(),
        size: body.len() as u64,
        created_by: caller.user.id.clone(),
        created_at: state.clock.now_ms(),
        status: ImportStatus::Uploaded,
        settings: None,
        rows_total: 0,
        checkpoint_row: 0,
        rows_done: 0,
        counts: ImportCounts::default(),
        error: None,
        finished_at: None,
    };
    state
        .stores
        .blobs
        .put(
            &import_source_key(t, &job.id)?,
            body.to_vec(),
            "application/octet-stream",
        )
        .await?;
    state.repos.imports.create(t, &job).await?;
    let preview = preview_of(&state, &caller, &job, PreviewParams::default()).await?;
    Ok((StatusCode::CREATED, Json(preview)))
}

#[utoipa::path(get, path = "/api/imports/{id}/preview", tag = "imports", security(("bearer" = [])), params(PreviewParams),
    responses((status = 200, body = Preview), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PreviewParams>,
) -> Result<Json<Preview>, ApiError> {
    let (job, _) = job(&state, &caller, &id).await?;
    Ok(Json(preview_of(&state, &caller, &job, p).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmImport {
    /// One per header column, as in the preview; `{"target":"skip"}` = do not import.
    #[schema(value_type = Vec<Object>)]
    pub columns: Vec<Column>,
    pub encoding: Option<String>,
    pub separator: Option<String>,
    pub sheet: Option<String>,
    /// The manager the cards go to; default: the caller. Others only for an administrator.
    pub responsible_id: Option<String>,
    /// A tag put on every card of this import.
    pub tag: Option<String>,
    /// `skip`, `merge` (existing data wins, empty fields are filled) or `load_anyway`.
    #[schema(value_type = String)]
    pub duplicate_policy: DuplicatePolicy,
}

#[utoipa::path(post, path = "/api/imports/{id}/confirm", tag = "imports", security(("bearer" = [])), request_body = ConfirmImport,
    responses((status = 202, body = ImportView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm_import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmImport>,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let (mut job, version) = job(&state, &caller, &id).await?;
    if job.status != ImportStatus::Uploaded {
        return Err(ApiError::conflict(
            "already_confirmed",
            "this import was already confirmed",
        ));
    }
    check_columns(&req.columns).map_err(|e| ApiError::invalid("columns", e.to_string()))?;
    let opts = ReadOptions {
        encoding: req.encoding.clone(),
        separator: separator("separator", req.separator.as_deref())?,
        sheet: req.sheet.clone(),
    };
    let width = with_reader(&state, &caller, &job, opts.clone(), |_, reader| {
        reader.header().len()
    })
    .await?;
    if req.columns.len() != width {
        return Err(ApiError::invalid(
            "columns",
            format!(
                "the file has {width} columns; give one mapping per column, got {}",
                req.columns.len()
            ),
        ));
    }
    if let Some(tag) = &req.tag {
        callisto_domain::client::check_tag(tag).map_err(|e| ApiError::invalid("tag", e.message))?;
    }
    let responsible = match &req.responsible_id {
        None => caller.user.id.clone(),
        Some(r) => {
            let missing = || ApiError::invalid("responsible_id", "no such active user");
            let uid = UserId::parse(r.as_str()).map_err(|_| missing())?;
            if uid != caller.user.id && caller.principal.role != Role::Administrator {
                return Err(ApiError::forbidden(
                    "only an administrator may import cards for another user",
                ));
            }
            match state.repos.users.get(&caller.principal.tenant, &uid).await {
                Ok(u) if u.value.status == UserStatus::Active => uid,
                Ok(_) | Err(RepoError::NotFound(_)) => return Err(missing()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    define_custom_fields(&state, &caller, &req.columns).await?;
    if let Some(tag) = &req.tag {
        let now = state.clock.now_ms();
        let (t, by) = (&caller.principal.tenant, &caller.user.id);
        state
            .repos
            .tags
            .register(t, std::slice::from_ref(tag), by, now)
            .await?;
    }
    job.settings = Some(ImportSettings {
        columns: req.columns,
        encoding: opts.encoding,
        separator: opts.separator,
        sheet: opts.sheet,
        responsible,
        tag: req.tag,
        policy: req.duplicate_policy,
    });
    job.status = ImportStatus::Queued;
    let t = &caller.principal.tenant;
    match state.repos.imports.save(t, &job, version).await {
        Err(RepoError::Stale(_)) => {
            return Err(ApiError::conflict(
                "already_confirmed",
                "this import was already confirmed",
            ));
        }
        other => other?,
    };
    // Saved first, then queued: a lost message leaves a visibly queued import, never a lost one.
    state
        .stores
        .queue
        .send(IMPORT_QUEUE, t, job.id.as_str())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ImportView::from(&job))))
}

/// Columns mapped to custom fields the company lacks define them as text
/// fields (C1), when an administrator imports; others are told to ask one.
async fn define_custom_fields(
    state: &AppState,
    caller: &Caller,
    columns: &[Column],
) -> Result<(), ApiError> {
    let names: Vec<&str> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Custom(name) => Some(name.trim()),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let t = &caller.principal.tenant;
    let current = state.repos.tenants.card_settings(t).await?;
    let mut settings = current.value.clone();
    settings.define_text_fields(names.iter().copied());
    if settings == current.value {
        return Ok(());
    }
    if caller.principal.role != Role::Administrator {
        let new: Vec<&str> = names
            .into_iter()
            .filter(|n| current.value.field(n).is_none())
            .collect();
        return Err(ApiError::invalid(
            "columns",
            format!(
                "no custom field {}; an administrator defines them",
                new.join(", ")
            ),
        ));
    }
    settings
        .validate()
        .map_err(|e| ApiError::invalid("columns", e.message))?;
    state
        .repos
        .tenants
        .save_card_settings(t, &settings, current.version)
        .await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/imports/{id}", tag = "imports", security(("bearer" = [])),
    responses((status = 200, body = ImportView), (status = 404, body = ErrorBody)))]
pub async fn get_import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ImportView>, ApiError> {
    Ok(Json(ImportView::from(&job(&state, &caller, &id).await?.0)))
}

#[utoipa::path(get, path = "/api/imports/{id}/rejected", tag = "imports", security(("bearer" = [])),
    responses((status = 200, description = "CSV: row, column, reason, then the row's cells", content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn rejected_rows(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (job, _) = job(&state, &caller, &id).await?;
    let t = &caller.principal.tenant;
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .repos
            .imports
            .rejected(t, &job.id, cursor, 500)
            .await?;
        for r in page.items {
            let mut line = vec![r.row.to_string(), r.column.unwrap_or_default(), r.reason];
            line.extend(r.cells);
            rows.push(line);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut bytes = Vec::new();
    callisto_tabular::write_csv(
        &mut bytes,
        &["Строка / Row", "Колонка / Column", "Причина / Reason"],
        rows,
    )
    .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rejected-{}.csv\"", job.id),
            ),
        ],
        bytes,
    )
        .into_response())
}
