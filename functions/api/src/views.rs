//! What the API returns: views of domain records without secrets.

use callisto_domain::user::{Group, Tenant, User, UserStatus};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub full_name: String,
    /// `administrator`, `head`, `group_leader` or `manager`.
    pub role: String,
    pub group_id: Option<String>,
    pub short_number: Option<String>,
    /// `active`, `blocked` or `deleted`.
    pub status: String,
    /// IANA zone; null = automatic (the browser's).
    pub time_zone: Option<String>,
    pub support_email: Option<String>,
    pub support_phone: Option<String>,
    pub email_confirmed: bool,
    pub must_change_password: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

pub fn status_name(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Active => "active",
        UserStatus::Blocked => "blocked",
        UserStatus::Deleted => "deleted",
    }
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            id: u.id.to_string(),
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            role: u.role.as_str().into(),
            group_id: u.group.as_ref().map(ToString::to_string),
            short_number: u.short_number.clone(),
            status: status_name(u.status).into(),
            time_zone: u.time_zone.clone(),
            support_email: u.support_email.clone(),
            support_phone: u.support_phone.clone(),
            email_confirmed: u.email_confirmed,
            must_change_password: u.must_change_password,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> GroupView {
        GroupView {
            id: g.id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            created_at: g.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    pub id: String,
    pub name: String,
    pub legal_name: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    /// Region assumed for phone numbers typed without a country code.
    pub phone_region: String,
    pub created_at: i64,
    /// After-call work: seconds an agent stays in wrap-up when a call ends;
    /// null leaves agents available at once.
    pub wrap_up_seconds: Option<i64>,
}

impl From<&Tenant> for CompanyView {
    fn from(t: &Tenant) -> CompanyView {
        CompanyView {
            id: t.id.to_string(),
            name: t.name.clone(),
            legal_name: t.billing.legal_name.clone(),
            inn: t.billing.inn.clone(),
            kpp: t.billing.kpp.clone(),
            phone_region: t.phone_region.clone(),
            created_at: t.created_at,
            wrap_up_seconds: t.wrap_up_ms.map(|ms| ms / 1000),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
