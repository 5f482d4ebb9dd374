//! Client cards: organizations and contacts (PRODUCT C1, C3, C4, C11), with
//! the scope rule deciding which cards a caller sees.

use super::auth::{email_field, new_activity_id, new_id};
use super::page_limit;
use super::selection::{FilterParams, context, filtered_page};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery, present};
use crate::views::Paged;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Role;
use callisto_domain::activity::{
    Activity, ActivityKind, Actor, Edit, MAX_COMMENT_CHARS, change_record,
};
use callisto_domain::client::{
    Client, ClientKind, MAX_DESCRIPTION_CHARS, MAX_FIELD_CHARS, optional_text, person_name,
    search_terms,
};
use callisto_domain::filter::{ClientFilter, FilterContext};
use callisto_domain::ids::ActivityId;
use callisto_domain::ids::{ClientId, UserId};
use callisto_domain::phone::{format_phone, normalize_phone};
use callisto_domain::user::{UserStatus, check_inn};
use callisto_store::repo::{Journal, RepoError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneView {
    pub e164: String,
    /// Formatted for people, e.g. `+7 912 345-67-89`.
    pub display: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub id: String,
    /// `organization` or `contact`.
    pub kind: String,
    pub organization_id: Option<String>,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub patronymic: Option<String>,
    pub position: Option<String>,
    pub phones: Vec<PhoneView>,
    pub emails: Vec<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
    pub inn: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub client_type: Option<String>,
    pub custom: BTreeMap<String, String>,
    pub responsible_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set while the card is in the recycle bin.
    pub deleted_at: Option<i64>,
    /// When somebody last called the client.
    pub last_call_at: Option<i64>,
    /// Scenarios a "done" result closed the client in.
    pub closed_in: Vec<String>,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> ClientView {
        ClientView {
            id: c.id.to_string(),
            kind: match c.kind {
                ClientKind::Organization => "organization",
                ClientKind::Contact => "contact",
            }
            .into(),
            organization_id: c.organization.as_ref().map(ToString::to_string),
            name: c.name.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            patronymic: c.patronymic.clone(),
            position: c.position.clone(),
            phones: c
                .phones
                .iter()
                .map(|p| PhoneView {
                    e164: p.clone(),
                    display: format_phone(p),
                })
                .collect(),
            emails: c.emails.clone(),
            city: c.city.clone(),
            industry: c.industry.clone(),
            website: c.website.clone(),
            inn: c.inn.clone(),
            description: c.description.clone(),
            tags: c.tags.clone(),
            client_type: c.client_type.clone(),
            custom: c.custom.clone(),
            responsible_id: c.responsible.to_string(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            deleted_at: c.deleted_at,
            last_call_at: c.last_call_at,
            closed_in: c.closed_in.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The editable fields of a card. On create, absent means empty; on PATCH,
/// absent means unchanged and `null` clears. Lists replace the whole list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientFields {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub organization_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub patronymic: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
    /// As people type them: `8 (912) 345-67-89`, `+48 601 234 567` …; stored in E.164.
    pub phones: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub inn: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub client_type: Option<Option<String>>,
    pub custom: Option<BTreeMap<String, String>>,
    /// Only an administrator or the current responsible user may change it.
    pub responsible_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// `organization` or `contact`.
    pub kind: String,
    /// Create even if a phone or e-mail already belongs to another card (after the warning).
    #[serde(default)]
    pub allow_duplicates: bool,
    #[serde(flatten)]
    pub fields: ClientFields,
}

fn text(
    field: &'static str,
    v: Option<Option<String>>,
    current: Option<String>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(current),
        Some(v) => Ok(optional_text(field, v.as_deref(), max)?),
    }
}

fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn parse_client_id(field: &str, id: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(id).map_err(|_| ApiError::not_found("client").with_field(field))
}

/// Applies `f` to `card` and checks the result: every request field is validated
/// before anything is written.
async fn apply(
    state: &AppState,
    caller: &Caller,
    card: &mut Client,
    f: ClientFields,
    region: &str,
) -> Result<(), ApiError> {
    let t = &caller.principal.tenant;
    card.first_name = text(
        "first_name",
        f.first_name,
        card.first_name.take(),
        MAX_FIELD_CHARS,
    )?;
    card.last_name = text(
        "last_name",
        f.last_name,
        card.last_name.take(),
        MAX_FIELD_CHARS,
    )?;
    card.patronymic = text(
        "patronymic",
        f.patronymic,
        card.patronymic.take(),
        MAX_FIELD_CHARS,
    )?;
    card.position = text(
        "position",
        f.position,
        card.position.take(),
        MAX_FIELD_CHARS,
    )?;
    card.city = text("city", f.city, card.city.take(), MAX_FIELD_CHARS)?;
    card.industry = text(
        "industry",
        f.industry,
        card.industry.take(),
        MAX_FIELD_CHARS,
    )?;
    card.website = text("website", f.website, card.website.take(), MAX_FIELD_CHARS)?;
    card.description = text(
        "description",
        f.description,
        card.description.take(),
        MAX_DESCRIPTION_CHARS,
    )?;
    card.client_type = text("client_type", f.client_type, card.client_type.take(), 50)?;
    card.inn = text("inn", f.inn, card.inn.take(), 12)?;
    if let Some(inn) = &card.inn {
        check_inn(inn)?;
    }
    card.name = match (card.kind, f.name) {
        (_, Some(n)) => optional_text("name", Some(&n), MAX_FIELD_CHARS)?.unwrap_or_default(),
        (ClientKind::Contact, None) => {
            let person = person_name(
                card.first_name.as_deref(),
                card.last_name.as_deref(),
                card.patronymic.as_deref(),
            );
            if person.is_empty() {
                card.name.clone()
            } else {
                person
            }
        }
        (ClientKind::Organization, None) => card.name.clone(),
    };
    if let Some(phones) = f.phones {
        let mut out = Vec::new();
        for (i, raw) in phones.iter().enumerate() {
            let e164 = normalize_phone(raw, region)
                .map_err(|e| ApiError::invalid(&format!("phones[{i}]"), e.to_string()))?;
            out.push(e164);
        }
        card.phones = unique(out);
    }
    if let Some(emails) = f.emails {
        let mut out = Vec::new();
        for (i, raw) in emails.iter().enumerate() {
            out.push(email_field(raw).map_err(|e| e.with_field(format!("emails[{i}]")))?);
        }
        card.emails = unique(out);
    }
    if let Some(tags) = f.tags {
        card.tags = unique(tags.into_iter().map(|t| t.trim().to_string()));
    }
    if let Some(custom) = f.custom {
        for (k, v) in &custom {
            if k.trim().is_empty() || k.chars().count() > 64 || v.chars().count() > MAX_FIELD_CHARS
            {
                return Err(ApiError::invalid(
                    "custom",
                    format!(
                        "custom field {k:?}: name 1-64 and value up to {MAX_FIELD_CHARS} characters"
                    ),
                ));
            }
        }
        card.custom = custom;
    }
    if let Some(org) = f.organization_id {
        card.organization = match org {
            None => None,
            Some(id) => {
                let id = parse_client_id("organization_id", &id)?;
                let missing = || ApiError::invalid("organization_id", "no such organization");
                let org = match state.repos.clients.get(t, &id).await {
                    Ok(o) => o.value,
                    Err(RepoError::NotFound(_)) => return Err(missing()),
                    Err(e) => return Err(e.into()),
                };
                if org.kind != ClientKind::Organization
                    || org.is_deleted()
                    || !caller.principal.sees(org.ownership())
                {
                    return Err(missing());
                }
                Some(id)
            }
        };
    }
    if let Some(r) = f.responsible_id {
        let is_admin = caller.principal.role == Role::Administrator;
        if !is_admin && card.responsible != caller.user.id {
            return Err(ApiError::forbidden(
                "only an administrator or the responsible user may hand a card over",
            ));
        }
        let missing = || ApiError::invalid("responsible_id", "no such active user");
        let uid = UserId::parse(r).map_err(|_| missing())?;
        let user = match state.repos.users.get(t, &uid).await {
            Ok(u) if u.value.status == UserStatus::Active => u.value,
            Ok(_) | Err(RepoError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        card.responsible = user.id;
        card.responsible_group = user.group;
    }
    card.validate()?;
    Ok(())
}

/// Refuses a card whose phone or e-mail another live card already has (C3),
/// naming the first match; the caller may then insist with `allow_duplicates`.
async fn refuse_duplicates(
    state: &AppState,
    caller: &Caller,
    card: &Client,
) -> Result<(), ApiError> {
    let t = &caller.principal.tenant;
    for (i, p) in card.phones.iter().enumerate() {
        if let Some(other) = state
            .repos
            .clients
            .find_by_phone(t, p)
            .await?
            .into_iter()
            .find(|id| id != &card.id)
        {
            return Err(duplicate(
                state,
                caller,
                &format!("phones[{i}]"),
                &format_phone(p),
                &other,
            )
            .await);
        }
    }
    for (i, e) in card.emails.iter().enumerate() {
        if let Some(other) = state
            .repos
            .clients
            .find_by_email(t, e)
            .await?
            .into_iter()
            .find(|id| id != &card.id)
        {
            return Err(duplicate(state, caller, &format!("emails[{i}]"), e, &other).await);
        }
    }
    Ok(())
}

async fn duplicate(
    state: &AppState,
    caller: &Caller,
    field: &str,
    value: &str,
    other: &ClientId,
) -> ApiError {
    let whose = match state
        .repos
        .clients
        .get(&caller.principal.tenant, other)
        .await
    {
        Ok(c) if caller.principal.sees(c.value.ownership()) => {
            format!("«{}» (id {})", c.value.name, other)
        }
        _ => "a card of another manager".to_string(),
    };
    ApiError::conflict(
        "duplicate",
        format!("{value} already belongs to {whose}; send allow_duplicates: true to create anyway"),
    )
    .with_field(field)
}

#[utoipa::path(post, path = "/api/clients", tag = "clients", security(("bearer" = [])), request_body = CreateClient,
    responses((status = 201, body = ClientView), (status = 409, body = ErrorBody, description = "a phone or e-mail is taken"), (status = 422, body = ErrorBody)))]
pub async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateClient>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let kind = match req.kind.as_str() {
        "organization" => ClientKind::Organization,
        "contact" => ClientKind::Contact,
        other => {
            return Err(ApiError::invalid(
                "kind",
                format!("{other:?}: use organization or contact"),
            ));
        }
    };
    let t = caller.principal.tenant.clone();
    let region = state.repos.tenants.get(&t).await?.value.phone_region;
    let now = state.clock.now_ms();
    let mut card = blank_card(&caller, kind, now)?;
    apply(&state, &caller, &mut card, req.fields, &region).await?;
    let settings = state.repos.tenants.card_settings(&t).await?.value;
    settings.check_card(None, &mut card)?;
    if !req.allow_duplicates {
        refuse_duplicates(&state, &caller, &card).await?;
    }
    let journal = Journal::activity(entry(
        &caller,
        &card,
        ActivityKind::Created,
        now,
        String::new(),
        BTreeMap::new(),
    )?);
    // Listed before the card carries them, so the tag list never misses one (C6).
    state
        .repos
        .tags
        .register(&t, &card.tags, &caller.user.id, now)
        .await?;
    state.repos.clients.create(&t, &card, &journal).await?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&card))))
}

/// A live card the caller may see, else 404 (another manager's card does not exist for them).
pub(crate) async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Client, u64), ApiError> {
    let id = parse_client_id("id", id)?;
    let card = match state.repos.clients.get(&caller.principal.tenant, &id).await {
        Ok(c) => c,
        Err(RepoError::NotFound(_)) => return Err(ApiError::not_found("client")),
        Err(e) => return Err(e.into()),
    };
    if !caller.principal.sees(card.value.ownership()) {
        return Err(ApiError::not_found("client"));
    }
    Ok((card.value, card.version))
}

#[utoipa::path(get, path = "/api/clients/{id}", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    if card.is_deleted() {
        return Err(ApiError::not_found("client"));
    }
    Ok(Json(ClientView::from(&card)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[serde(default)]
    pub allow_duplicates: bool,
    #[serde(flatten)]
    pub fields: ClientFields,
}

#[utoipa::path(patch, path = "/api/clients/{id}", tag = "clients", security(("bearer" = [])), request_body = UpdateClient,
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateClient>,
) -> Result<Json<ClientView>, ApiError> {
    let (old, version) = visible(&state, &caller, &id).await?;
    if old.is_deleted() {
        return Err(ApiError::not_found("client"));
    }
    let region = state
        .repos
        .tenants
        .get(&caller.principal.tenant)
        .await?
        .value
        .phone_region;
    let mut card = old.clone();
    let checks_contacts = req.fields.phones.is_some() || req.fields.emails.is_some();
    apply(&state, &caller, &mut card, req.fields, &region).await?;
    let settings = state
        .repos
        .tenants
        .card_settings(&caller.principal.tenant)
        .await?
        .value;
    settings.check_card(Some(&old), &mut card)?;
    if checks_contacts && !req.allow_duplicates {
        refuse_duplicates(&state, &caller, &card).await?;
    }
    card.updated_at = state.clock.now_ms();
    let journal = change_journal(&caller, &old, &card)?;
    let added: Vec<String> = card
        .tags
        .iter()
        .filter(|t| !old.tags.contains(t))
        .cloned()
        .collect();
    state
        .repos
        .tags
        .register(
            &caller.principal.tenant,
            &added,
            &caller.user.id,
            card.updated_at,
        )
        .await?;
    state
        .repos
        .clients
        .update(&caller.principal.tenant, &old, &card, version, &journal)
        .await?;
    Ok(Json(ClientView::from(&card)))
}

/// The filter fields of [`FilterParams`] as query parameters, plus paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClientListParams {
    /// Search: words of names and city, e-mails, phone digits (`8 912 345`), each as a prefix.
    /// Returns up to `limit` best matches without a cursor.
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
    /// `HH:MM-HH:MM`: only clients for whom it is now within this span of their day.
    pub local_time: Option<String>,
    pub cursor: Option<String>,
    /// 1-500, default 50.
    pub limit: Option<u32>,
}

impl ClientListParams {
    fn split(self) -> (FilterParams, Option<String>, Option<u32>) {
        let filter = FilterParams {
            q: self.q,
            kind: self.kind,
            tags: self.tags,
            responsible: self.responsible,
            client_type: self.client_type,
            modified_from: self.modified_from,
            modified_to: self.modified_to,
            not_called: self.not_called,
            local_time: self.local_time,
        };
        (filter, self.cursor, self.limit)
    }
}

/// Cards the caller sees, filtered (C7). Without `q`, a page may hold fewer than
/// `limit` cards and still have a cursor: each request reads a bounded part of the base.
#[utoipa::path(get, path = "/api/clients", tag = "clients", security(("bearer" = [])), params(ClientListParams),
    responses((status = 200, body = Paged<ClientView>), (status = 400, body = ErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ClientListParams>,
) -> Result<Json<Paged<ClientView>>, ApiError> {
    let (filter, cursor, limit) = p.split();
    let limit = page_limit(limit)?;
    let ctx = context(&state, &caller);
    let filter = filter.into_filter(&ctx, StatusCode::BAD_REQUEST)?;
    let page = filtered_page(&state, &caller, &filter, &ctx, cursor, limit).await?;
    Ok(Json(Paged {
        items: page.items.iter().map(ClientView::from).collect(),
        cursor: page.cursor,
    }))
}

#[utoipa::path(delete, path = "/api/clients/{id}", tag = "clients", security(("bearer" = [])),
    responses((status = 204, description = "moved to the recycle bin for 30 days"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (old, version) = visible(&state, &caller, &id).await?;
    if old.is_deleted() {
        return Err(ApiError::not_found("client"));
    }
    let t = &caller.principal.tenant;
    if old.kind == ClientKind::Organization {
        let live = state.repos.clients.contacts_of(t, &old.id).await?.len();
        if live > 0 {
            return Err(ApiError::conflict(
                "has_contacts",
                format!("the organization has {live} contact(s); delete or move them first"),
            ));
        }
    }
    let now = state.clock.now_ms();
    let card = Client {
        deleted_at: Some(now),
        deleted_by: Some(caller.user.id.clone()),
        updated_at: now,
        ..old.clone()
    };
    let journal = Journal::activity(entry(
        &caller,
        &card,
        ActivityKind::Deleted,
        now,
        String::new(),
        BTreeMap::new(),
    )?);
    state
        .repos
        .clients
        .update(t, &old, &card, version, &journal)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/clients/{id}/restore", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn restore_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    let (old, version) = visible(&state, &caller, &id).await?;
    let now = state.clock.now_ms();
    if !old.is_deleted() {
        return Err(ApiError::conflict(
            "not_deleted",
            "the card is not in the recycle bin",
        ));
    }
    if !old.restorable(now) {
        return Err(ApiError::new(
            StatusCode::GONE,
            "expired",
            "the card was deleted more than 30 days ago",
        ));
    }
    let card = Client {
        deleted_at: None,
        deleted_by: None,
        last_call_at: None,
        closed_in: vec![],
        updated_at: now,
        ..old.clone()
    };
    let journal = Journal::activity(entry(
        &caller,
        &card,
        ActivityKind::Restored,
        now,
        String::new(),
        BTreeMap::new(),
    )?);
    state
        .repos
        .clients
        .update(&caller.principal.tenant, &old, &card, version, &journal)
        .await?;
    Ok(Json(ClientView::from(&card)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BinParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/clients-bin", tag = "clients", security(("bearer" = [])), params(BinParams),
    responses((status = 200, body = Paged<ClientView>, description = "deleted cards the caller may see, oldest deletion first")))]
pub async fn list_bin(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<BinParams>,
) -> Result<Json<Paged<ClientView>>, ApiError> {
    let t = &caller.principal.tenant;
    let page = state
        .repos
        .clients
        .bin(t, None, p.cursor, page_limit(p.limit)?)
        .await?;
    let mut items = Vec::new();
    for id in &page.items {
        match state.repos.clients.get(t, id).await {
            Ok(c) if caller.principal.sees(c.value.ownership()) => {
                items.push(ClientView::from(&c.value))
            }
            Ok(_) | Err(RepoError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}

/// A new empty card of `kind`, the caller's own, made at `now`.
pub(super) fn blank_card(caller: &Caller, kind: ClientKind, now: i64) -> Result<Client, ApiError> {
    Ok(Client {
        id: ClientId::parse(new_id()).map_err(ApiError::internal)?,
        kind,
        organization: None,
        name: String::new(),
        first_name: None,
        last_name: None,
        patronymic: None,
        position: None,
        phones: vec![],
        emails: vec![],
        city: None,
        industry: None,
        website: None,
        inn: None,
        description: None,
        tags: vec![],
        client_type: None,
        custom: BTreeMap::new(),
        responsible: caller.user.id.clone(),
        responsible_group: caller.user.group.clone(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        deleted_by: None,
        last_call_at: None,
        closed_in: vec![],
    })
}

/// A history entry by the caller about `card`.
pub(super) fn entry(
    caller: &Caller,
    card: &Client,
    kind: ActivityKind,
    at: i64,
    text: String,
    details: BTreeMap<String, String>,
) -> Result<Activity, ApiError> {
    Ok(Activity {
        id: ActivityId::parse(new_id()).map_err(ApiError::internal)?,
        client: card.id.clone(),
        at,
        by: caller.user.id.clone(),
        kind,
        text,
        details,
        edited: None,
    })
}

/// The history of an edit: which fields changed, and a hand-over with its
/// notification to the new owner (C4).
fn change_journal(caller: &Caller, old: &Client, new: &Client) -> Result<Journal, ApiError> {
    let actor = Actor {
        id: &caller.user.id,
        name: &caller.user.full_name,
    };
    let (activities, notifications) = change_record(actor, old, new, new_activity_id);
    Ok(Journal {
        activities,
        notifications,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: String,
    /// `created`, `updated`, `responsible_changed`, `deleted`, `restored`, `comment`,
    /// `event_created`, `event_done`, `call_result` or `email`.
    pub kind: String,
    pub at: i64,
    pub by: String,
    pub text: String,
    pub details: BTreeMap<String, String>,
    /// When the text was last corrected, and by whom.
    pub edited_at: Option<i64>,
    pub edited_by: Option<String>,
}

impl From<&Activity> for ActivityView {
    fn from(a: &Activity) -> ActivityView {
        ActivityView {
            id: a.id.to_string(),
            kind: a.kind.as_str().into(),
            at: a.at,
            by: a.by.to_string(),
            text: a.text.clone(),
            details: a.details.clone(),
            edited_at: a.edited.as_ref().map(|e| e.at),
            edited_by: a.edited.as_ref().map(|e| e.by.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Only entries of these kinds, comma-separated (C5 type filter).
    pub kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/clients/{id}/history", tag = "clients", security(("bearer" = [])), params(HistoryParams),
    responses((status = 200, body = Paged<ActivityView>, description = "newest first"), (status = 404, body = ErrorBody)))]
pub async fn client_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> Result<Json<Paged<ActivityView>>, ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    let kinds = match &p.kind {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(|k| {
                    ActivityKind::parse(k.trim()).ok_or_else(|| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_query",
                            format!("unknown history kind {k:?}"),
                        )
                        .with_field("kind")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let page = state
        .repos
        .clients
        .history(
            &caller.principal.tenant,
            &card.id,
            p.cursor,
            page_limit(p.limit)?,
        )
        .await?;
    let items = page
        .items
        .iter()
        .filter(|a| kinds.as_ref().is_none_or(|k| k.contains(&a.kind)))
        .map(ActivityView::from)
        .collect();
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
}

/// Corrects the text of a history entry (C5): an administrator or the card's
/// responsible user may; entries the system wrote about changes stay as written.
#[utoipa::path(patch, path = "/api/clients/{id}/history/{entry}", tag = "clients", security(("bearer" = [])), request_body = CommentRequest,
    responses((status = 200, body = ActivityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_history_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, entry)): Path<(String, String)>,
    ApiJson(req): ApiJson<CommentRequest>,
) -> Result<Json<ActivityView>, ApiError> {
    let (card, _) = visible(&state, &caller, &id).await?;
    if caller.principal.role != Role::Administrator && card.responsible != caller.user.id {
        return Err(ApiError::forbidden(
            "only an administrator or the responsible user may edit the history",
        ));
    }
    let missing = || ApiError::not_found("history entry");
    let entry_id = ActivityId::parse(entry).map_err(|_| missing())?;
    let t = &caller.principal.tenant;
    let stored = match state
        .repos
        .clients
        .history_entry(t, &card.id, &entry_id)
        .await
    {
        Ok(e) => e,
        Err(RepoError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if !stored.value.kind.is_editable() {
        return Err(ApiError::conflict(
            "not_editable",
            format!(
                "a {} entry records a change and cannot be edited",
                stored.value.kind.as_str()
            ),
        ));
    }
    let text = optional_text("text", Some(&req.text), MAX_COMMENT_CHARS)?
        .ok_or_else(|| ApiError::invalid("text", "must not be empty"))?;
    let edited = Activity {
        text,
        edited: Some(Edit {
            at: state.clock.now_ms(),
            by: caller.user.id.clone(),
        }),
        ..stored.value
    };
    state
        .repos
        .clients
        .save_history_entry(t, &edited, stored.version)
        .await?;
    Ok(Json(ActivityView::from(&edited)))
}

#[utoipa::path(post, path = "/api/clients/{id}/comments", tag = "clients", security(("bearer" = [])), request_body = CommentRequest,
    responses((status = 201, body = ActivityView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CommentRequest>,
) -> Result<(StatusCode, Json<ActivityView>), ApiError> {
    let (old, version) = visible(&state, &caller, &id).await?;
    if old.is_deleted() {
        return Err(ApiError::not_found("client"));
    }
    let text = optional_text("text", Some(&req.text), MAX_COMMENT_CHARS)?
        .ok_or_else(|| ApiError::invalid("text", "must not be empty"))?;
    let now = state.clock.now_ms();
    let card = Client {
        updated_at: now,
        ..old.clone()
    };
    let comment = entry(
        &caller,
        &card,
        ActivityKind::Comment,
        now,
        text,
        BTreeMap::new(),
    )?;
    let view = ActivityView::from(&comment);
    state
        .repos
        .clients
        .update(
            &caller.principal.tenant,
            &old,
            &card,
            version,
            &Journal::activity(comment),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub at: i64,
    pub text: String,
    pub client_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/notifications", tag = "profile", security(("bearer" = [])), params(NotificationParams),
    responses((status = 200, body = Paged<NotificationView>, description = "the caller's notifications, newest first")))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<NotificationParams>,
) -> Result<Json<Paged<NotificationView>>, ApiError> {
    let page = state
        .repos
        .clients
        .notifications(
            &caller.principal.tenant,
            &caller.user.id,
            p.cursor,
            page_limit(p.limit)?,
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(|n| NotificationView {
            id: n.id.to_string(),
            at: n.at,
            text: n.text.clone(),
            client_id: n.client.as_ref().map(ToString::to_string),
        })
        .collect();
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}

/// How many index hits a search examines: enough for any name people type,
/// bounded so a one-letter query cannot read a whole base.
const SEARCH_SCAN: usize = 2000;

pub(crate) async fn search(
    state: &AppState,
    caller: &Caller,
    filter: &ClientFilter,
    ctx: &FilterContext,
    limit: usize,
) -> Result<Vec<Client>, ApiError> {
    let terms = search_terms(filter.q.as_deref().unwrap_or_default());
    // The longest term is the most selective one to scan the index by.
    let Some(lead) = terms.iter().max_by_key(|t| t.chars().count()) else {
        return Ok(Vec::new());
    };
    let t = &caller.principal.tenant;
    let mut out = Vec::new();
    for id in state.repos.clients.search(t, lead, SEARCH_SCAN).await? {
        let card = match state.repos.clients.get(t, &id).await {
            Ok(c) => c.value,
            Err(RepoError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let wanted = !card.is_deleted()
            && caller.principal.sees(card.ownership())
            && filter.matches(&card, ctx);
        if wanted {
            out.push(card);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}
