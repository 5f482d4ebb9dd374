use super::users::{directory_put, ext_claim_put, user_item};
use super::{
    Listing, RepoError, Users, Versioned, at_version, encode, listing, put_checked, tenant_key,
    versioned,
};
use crate::item::{Condition, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::card_settings::CardSettings;
use callisto_domain::ids::TenantId;
use callisto_domain::user::{Tenant, User};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Tenants {
    pub(crate) items: Arc<dyn ItemStore>,
}

const SK: &str = "TENANT";
const CARD_SETTINGS_SK: &str = "CARDSETTINGS";
/// The platform's list of tenants, for scheduled work that visits each one.
const REGISTRY_PK: &str = "P#TENANTS";

impl Tenants {
    /// Creates the tenant and its first administrator in one transaction; fails
    /// with `EmailTaken` (and writes nothing) if the e-mail is registered.
    pub async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError> {
        let mut ops = vec![
            WriteOp::Put {
                item: encode(tenant_key(&tenant.id, SK), tenant)?,
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: user_item(admin)?,
                condition: Condition::NotExists,
            },
            directory_put(admin)?,
            WriteOp::Put {
                item: encode(Key::new(REGISTRY_PK, tenant.id.as_str()), &tenant.id)?,
                condition: Condition::NotExists,
            },
        ];
        ops.extend(ext_claim_put(admin)?);
        match self.items.transact(ops).await {
            Err(crate::StoreError::ConditionFailed(_)) => Err(Users {
                items: self.items.clone(),
            }
            .explain_conflict(admin)
            .await),
            other => Ok(other?),
        }
    }

    /// Every tenant, in id order, a page at a time.
    pub async fn list_ids(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<TenantId>, RepoError> {
        listing(
            self.items.as_ref(),
            Query::table(REGISTRY_PK, SortKey::All)
                .limit(limit)
                .after(cursor),
        )
        .await
    }

    /// The company's card settings (client types, custom fields); version 0 while never saved.
    pub async fn card_settings(&self, t: &TenantId) -> Result<Versioned<CardSettings>, RepoError> {
        match self.items.get(&tenant_key(t, CARD_SETTINGS_SK)).await? {
            Some(item) => Ok(versioned(&item)?),
            None => Ok(Versioned {
                value: CardSettings::default(),
                version: 0,
            }),
        }
    }

    /// Saves the settings if nobody changed them since `version` (0: never saved).
    pub async fn save_card_settings(
        &self,
        t: &TenantId,
        settings: &CardSettings,
        version: u64,
    ) -> Result<u64, RepoError> {
        let condition = at_version(version);
        let item = encode(tenant_key(t, CARD_SETTINGS_SK), settings)?;
        put_checked(self.items.as_ref(), item, condition, "card settings").await
    }

    pub async fn get(&self, t: &TenantId) -> Result<Versioned<Tenant>, RepoError> {
        let item = self
            .items
            .get(&tenant_key(t, SK))
            .await?
            .ok_or(RepoError::NotFound("tenant"))?;
        Ok(versioned(&item)?)
    }

    pub async fn update(&self, tenant: &Tenant, version: u64) -> Result<u64, RepoError> {
        let item = encode(tenant_key(&tenant.id, SK), tenant)?;
        put_checked(
            self.items.as_ref(),
            item,
            Condition::Version(version),
            "company profile",
        )
        .await
    }
}
