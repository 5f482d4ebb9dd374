//! The company (tenant) profile and billing details (PRODUCT A5).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, present};
use crate::views::CompanyView;
use axum::Json;
use axum::extract::State;
use callisto_domain::access::Permission;
use callisto_domain::agent_state::MAX_WRAP_UP_MS;
use callisto_domain::card_settings::{CardSettings, CustomField, CustomKind};
use callisto_domain::user::{check_inn, check_kpp, check_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/company", tag = "company", security(("bearer" = [])), responses((status = 200, body = CompanyView)))]
pub async fn get_company(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CompanyView>, ApiError> {
    let tenant = state.repos.tenants.get(&caller.principal.tenant).await?;
    Ok(Json(CompanyView::from(&tenant.value)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub legal_name: Option<Option<String>>,
    /// 10 or 12 digits with valid check digits.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub inn: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub kpp: Option<Option<String>>,
    /// ISO 3166 region for phone numbers typed without a country code, e.g. `RU`, `PL`.
    pub phone_region: Option<String>,
    /// Seconds of wrap-up after each call (1 to 1800); null turns it off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub wrap_up_seconds: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/api/company", tag = "company", security(("bearer" = [])), request_body = CompanyPatch,
    responses((status = 200, body = CompanyView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_company(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<CompanyPatch>,
) -> Result<Json<CompanyView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let current = state.repos.tenants.get(&caller.principal.tenant).await?;
    let mut t = current.value.clone();
    if let Some(n) = &patch.name {
        t.name = check_text("name", n, 200)?;
    }
    if let Some(v) = patch.legal_name {
        t.billing.legal_name = v.map(|v| check_text("legal_name", &v, 300)).transpose()?;
    }
    if let Some(v) = patch.inn {
        t.billing.inn = v
            .map(|v| check_inn(v.trim()).map(|_| v.trim().to_string()))
            .transpose()?;
    }
    if let Some(v) = patch.kpp {
        t.billing.kpp = v
            .map(|v| check_kpp(v.trim()).map(|_| v.trim().to_string()))
            .transpose()?;
    }
    if let Some(region) = &patch.phone_region {
        if !callisto_domain::phone::is_known_region(region) {
            return Err(ApiError::invalid(
                "phone_region",
                format!("{region:?} is not a region code such as RU or PL"),
            ));
        }
        t.phone_region = region.clone();
    }
    if let Some(v) = patch.wrap_up_seconds {
        let max = MAX_WRAP_UP_MS / 1000;
        t.wrap_up_ms = match v {
            None => None,
            Some(s @ 1..) if s <= max => Some(s * 1000),
            Some(s) => {
                return Err(ApiError::invalid(
                    "wrap_up_seconds",
                    format!("{s} is not 1 to {max} seconds (null turns wrap-up off)"),
                ));
            }
        };
    }
    state.repos.tenants.update(&t, current.version).await?;
    Ok(Json(CompanyView::from(&t)))
}

/// A custom field as the API shows and takes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldView {
    pub name: String,
    /// `text`, `number`, `date` (stored `YYYY-MM-DD`) or `choice`.
    pub kind: String,
    /// The options of a `choice`.
    #[serde(default)]
    pub options: Vec<String>,
}

/// The client types cards choose from (empty: any text) and the custom fields they carry (C1).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardSettingsView {
    pub client_types: Vec<String>,
    pub custom_fields: Vec<CustomFieldView>,
}

impl From<&CardSettings> for CardSettingsView {
    fn from(s: &CardSettings) -> CardSettingsView {
        CardSettingsView {
            client_types: s.client_types.clone(),
            custom_fields: s
                .custom_fields
                .iter()
                .map(|f| CustomFieldView {
                    name: f.name.clone(),
                    kind: match f.kind {
                        CustomKind::Text => "text",
                        CustomKind::Number => "number",
                        CustomKind::Date => "date",
                        CustomKind::Choice => "choice",
                    }
                    .into(),
                    options: f.options.clone(),
                })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/company/card-settings", tag = "company", security(("bearer" = [])),
    responses((status = 200, body = CardSettingsView)))]
pub async fn get_card_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CardSettingsView>, ApiError> {
    let s = state
        .repos
        .tenants
        .card_settings(&caller.principal.tenant)
        .await?;
    Ok(Json(CardSettingsView::from(&s.value)))
}

/// Replaces the card settings. Cards keep the values of a removed field; they
/// are checked against the new settings when next changed.
#[utoipa::path(put, path = "/api/company/card-settings", tag = "company", security(("bearer" = [])), request_body = CardSettingsView,
    responses((status = 200, body = CardSettingsView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_card_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CardSettingsView>,
) -> Result<Json<CardSettingsView>, ApiError> {
    caller.require(Permission::ManageSettings)?;
    let mut custom_fields = Vec::with_capacity(body.custom_fields.len());
    for (i, f) in body.custom_fields.into_iter().enumerate() {
        let kind = match f.kind.as_str() {
            "text" => CustomKind::Text,
            "number" => CustomKind::Number,
            "date" => CustomKind::Date,
            "choice" => CustomKind::Choice,
            other => {
                return Err(ApiError::invalid(
                    &format!("custom_fields[{i}].kind"),
                    format!("{other:?}: use text, number, date or choice"),
                ));
            }
        };
        custom_fields.push(CustomField {
            name: f.name,
            kind,
            options: f.options,
        });
    }
    let settings = CardSettings {
        client_types: body.client_types,
        custom_fields,
    };
    settings.validate()?;
    let t = &caller.principal.tenant;
    let current = state.repos.tenants.card_settings(t).await?;
    state
        .repos
        .tenants
        .save_card_settings(t, &settings, current.version)
        .await?;
    Ok(Json(CardSettingsView::from(&settings)))
}
