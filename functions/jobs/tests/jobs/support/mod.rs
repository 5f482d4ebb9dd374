//! A company to run jobs in, shared by the worker tests.

use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus, default_phone_region};
use callisto_store::Repos;

/// Creates company `tenant` with its administrator `admin`; returns the administrator.
pub async fn company(repos: &Repos, tenant: &str, admin: &str) -> User {
    let t = TenantId::parse(tenant).unwrap();
    let user = User {
        id: UserId::parse(admin).unwrap(),
        tenant: t.clone(),
        email: format!("{admin}@{tenant}.ru"),
        full_name: "Admin".into(),
        role: Role::Administrator,
        group: None,
        short_number: None,
        status: UserStatus::Active,
        time_zone: None,
        support_email: None,
        support_phone: None,
        password_hash: "x".into(),
        email_confirmed: true,
        must_change_password: false,
        created_at: 0,
    };
    let company = Tenant {
        id: t,
        name: tenant.to_uppercase(),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: default_phone_region(),
        created_at: 0,
        wrap_up_ms: None,
    };
    repos
        .tenants
        .create_with_admin(&company, &user)
        .await
        .unwrap();
    user
}
