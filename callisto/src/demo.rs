//! Seeds the demo company from `samplesdata/demo-tenant.json`. Every step
//! skips what already exists, so a restart (or a crash half-way) converges
//! on the same demo without duplicates.

use anyhow::Context;
use callisto_api::AppState;
use callisto_domain::access::Role;
use callisto_domain::activity::{Activity, ActivityKind};
use callisto_domain::card_settings::CardSettings;
use callisto_domain::client::{Client, ClientKind, person_name};
use callisto_domain::ids::{ActivityId, ClientId, GroupId, TenantId, UserId};
use callisto_domain::phone::normalize_phone;
use callisto_domain::user::{
    BillingDetails, Group, Tenant, User, UserStatus, check_inn, check_kpp,
};
use callisto_store::repo::{Journal, RepoError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    tenant_id: TenantId,
    company: String,
    legal_name: Option<String>,
    inn: Option<String>,
    kpp: Option<String>,
    password: String,
    groups: Vec<DemoGroup>,
    users: Vec<DemoUser>,
    #[serde(default)]
    card_settings: Option<CardSettings>,
    /// The demo base: organizations first, then the contacts nested in them.
    #[serde(default)]
    clients: Vec<DemoClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoClient {
    id: ClientId,
    kind: ClientKind,
    organization: Option<ClientId>,
    name: Option<String>,
    last_name: Option<String>,
    first_name: Option<String>,
    patronymic: Option<String>,
    position: Option<String>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    city: Option<String>,
    industry: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    client_type: Option<String>,
    responsible: UserId,
    #[serde(default)]
    custom: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoGroup {
    id: GroupId,
    name: String,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoUser {
    id: UserId,
    email: String,
    full_name: String,
    role: Role,
    group: Option<GroupId>,
    short_number: Option<String>,
    time_zone: Option<String>,
}

/// What to tell the person who started the product.
#[derive(Debug)]
pub struct DemoSummary {
    pub company: String,
    pub password: String,
    pub logins: Vec<(String, &'static str)>,
}

fn ignore_existing(r: Result<(), RepoError>) -> anyhow::Result<()> {
    match r {
        Ok(()) | Err(RepoError::EmailTaken(_)) => Ok(()),
        Err(RepoError::Store(callisto_store::StoreError::ConditionFailed(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn seed(state: &AppState, file: &Path) -> anyhow::Result<DemoSummary> {
    let text = std::fs::read_to_string(file)?;
    let demo: DemoFile =
        serde_json::from_str(&text).context("demo file does not match the expected shape")?;
    if let Some(inn) = &demo.inn {
        check_inn(inn)?;
    }
    if let Some(kpp) = &demo.kpp {
        check_kpp(kpp)?;
    }
    let repos = &state.repos;
    // The demo company appears as made when first seeded (re-seeding writes nothing new).
    let now = state.clock.now_ms();
    let already = repos
        .users
        .find_login(&demo.users.first().context("demo has no users")?.email)
        .await?;
    // Hash once: every demo user shares the password, and hashing is deliberately slow.
    let hash = state.hash_password(&demo.password).await?;
    let user = |u: &DemoUser| User {
        id: u.id.clone(),
        tenant: demo.tenant_id.clone(),
        email: u.email.clone(),
        full_name: u.full_name.clone(),
        role: u.role,
        group: u.group.clone(),
        short_number: u.short_number.clone(),
        status: UserStatus::Active,
        time_zone: u.time_zone.clone(),
        support_email: None,
        support_phone: None,
        password_hash: hash.clone(),
        email_confirmed: true,
        must_change_password: false,
        created_at: now,
    };
    if already.is_none() {
        let tenant = Tenant {
            id: demo.tenant_id.clone(),
            name: demo.company.clone(),
            promo_code: None,
            billing: BillingDetails {
                legal_name: demo.legal_name.clone(),
                inn: demo.inn.clone(),
                kpp: demo.kpp.clone(),
            },
            phone_region: callisto_domain::user::default_phone_region(),
            created_at: now,
            wrap_up_ms: None,
        };
        let admin = demo
            .users
            .iter()
            .find(|u| u.role == Role::Administrator)
            .context("demo needs an administrator")?;
        ignore_existing(repos.tenants.create_with_admin(&tenant, &user(admin)).await)?;
    }
    for g in &demo.groups {
        let group = Group {
            id: g.id.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            created_at: now,
        };
        ignore_existing(repos.groups.create(&demo.tenant_id, &group).await)?;
    }
    for u in &demo.users {
        if repos.users.find_login(&u.email).await?.is_none() {
            ignore_existing(repos.users.create(&user(u)).await)?;
        }
    }
    seed_base(state, &demo).await?;
    if already.is_none() {
        tracing::info!(tenant = %demo.tenant_id, users = demo.users.len(), clients = demo.clients.len(), "demo company seeded");
    }
    Ok(DemoSummary {
        company: demo.company,
        password: demo.password,
        logins: demo
            .users
            .iter()
            .map(|u| (u.email.clone(), u.role.as_str()))
            .collect(),
    })
}

/// The demo's card settings and client base; each card is created once, with
/// its phones in E.164 and a "created" history entry, as a person would make it.
async fn seed_base(state: &AppState, demo: &DemoFile) -> anyhow::Result<()> {
    let t = &demo.tenant_id;
    let repos = &state.repos;
    let now = state.clock.now_ms();
    let settings = demo.card_settings.clone().unwrap_or_default();
    settings.validate().context("demo card settings")?;
    let current = repos.tenants.card_settings(t).await?;
    if current.version == 0 {
        match repos.tenants.save_card_settings(t, &settings, 0).await {
            Ok(_) | Err(RepoError::Stale(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let region = repos.tenants.get(t).await?.value.phone_region;
    for d in &demo.clients {
        match repos.clients.get(t, &d.id).await {
            Ok(_) => continue,
            Err(RepoError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let owner = demo
            .users
            .iter()
            .find(|u| u.id == d.responsible)
            .with_context(|| format!("demo client {}: no user {}", d.id, d.responsible))?;
        let phones = d
            .phones
            .iter()
            .map(|p| normalize_phone(p, &region))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("demo client {}", d.id))?;
        let name = d.name.clone().unwrap_or_else(|| {
            person_name(
                d.first_name.as_deref(),
                d.last_name.as_deref(),
                d.patronymic.as_deref(),
            )
        });
        let mut card = Client {
            id: d.id.clone(),
            kind: d.kind,
            organization: d.organization.clone(),
            name,
            first_name: d.first_name.clone(),
            last_name: d.last_name.clone(),
            patronymic: d.patronymic.clone(),
            position: d.position.clone(),
            phones,
            emails: d.emails.iter().map(|e| e.to_lowercase()).collect(),
            city: d.city.clone(),
            industry: d.industry.clone(),
            website: None,
            inn: None,
            description: None,
            tags: d.tags.clone(),
            client_type: d.client_type.clone(),
            custom: d.custom.clone(),
            responsible: owner.id.clone(),
            responsible_group: owner.group.clone(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: vec![],
        };
        card.validate()
            .map_err(|e| anyhow::anyhow!("demo client {}: {}: {}", d.id, e.field, e.message))?;
        settings
            .check_card(None, &mut card)
            .map_err(|e| anyhow::anyhow!("demo client {}: {}: {}", d.id, e.field, e.message))?;
        repos.tags.register(t, &card.tags, &owner.id, 0).await?;
        let created = Activity {
            id: ActivityId::parse(format!("{}-created", d.id))?,
            client: card.id.clone(),
            at: now,
            by: owner.id.clone(),
            kind: ActivityKind::Created,
            text: "demo".into(),
            details: BTreeMap::new(),
            edited: None,
        };
        ignore_existing(
            repos
                .clients
                .create(t, &card, &Journal::activity(created))
                .await,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use callisto_api::{ApiConfig, SystemClock};
    use callisto_store::outbox::FolderOutbox;
    use std::sync::Arc;

    #[tokio::test]
    async fn seeding_twice_gives_one_demo() {
        let dir = tempfile::tempdir().unwrap();
        let stores = callisto_store::embedded::open(dir.path()).unwrap();
        let outbox = Arc::new(FolderOutbox::new(dir.path().join("out"), "x@y.z"));
        let state = AppState::new(
            stores,
            outbox,
            Arc::new(SystemClock),
            ApiConfig::new(vec![7; 32], "http://x"),
        )
        .unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samplesdata/demo-tenant.json");
        let first = seed(&state, &file).await.unwrap();
        let second = seed(&state, &file).await.unwrap();
        assert_eq!(first.logins, second.logins);
        let t = TenantId::parse("demo").unwrap();
        let users = state.repos.users.list(&t, None, 100).await.unwrap();
        assert_eq!(users.items.len(), 6);
        assert_eq!(state.repos.groups.list(&t).await.unwrap().len(), 2);
        let base = state
            .repos
            .clients
            .list(&t, &callisto_domain::access::Scope::All, None, 1000)
            .await
            .unwrap();
        assert_eq!(base.items.len(), 21, "the demo base, once");
        // The contacts the sample import files duplicate (their rows 42-44).
        for phone in ["+74951200001", "+74951200002", "+74951200003"] {
            assert_eq!(
                state
                    .repos
                    .clients
                    .find_by_phone(&t, phone)
                    .await
                    .unwrap()
                    .len(),
                1
            );
        }
        let settings = state.repos.tenants.card_settings(&t).await.unwrap().value;
        assert_eq!(settings.client_types.len(), 4);
        let sales = state
            .repos
            .users
            .list_group(&t, &GroupId::parse("sales").unwrap(), None, 100)
            .await
            .unwrap();
        assert_eq!(sales.items.len(), 3);
        assert_eq!(
            state
                .repos
                .tenants
                .get(&t)
                .await
                .unwrap()
                .value
                .billing
                .inn
                .as_deref(),
            Some("7707083893")
        );
    }
}
