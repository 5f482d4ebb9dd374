//! The company (tenant) profile and billing details (PRODUCT A5).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, present};
use crate::views::CompanyView;
use axum::Json;
use axum::extract::State;
use callisto_domain::access::Permission;
use callisto_domain::user::{check_inn, check_kpp, check_text};
use serde::Deserialize;
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
    state.repos.tenants.update(&t, current.version).await?;
    Ok(Json(CompanyView::from(&t)))
}
