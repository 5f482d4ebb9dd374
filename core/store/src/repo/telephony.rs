//! Telephony set-up: the company's trunk (`T#<t>` / `TRUNK`), the media node's
//! view of its registration (`TRUNKSTATUS`) and agents' SIP credentials
//! (`SIPCRED#<u>`).

use super::{
    RepoError, Versioned, at_version, encode, put_checked, tenant_key, tenant_pk, versioned,
};
use crate::StoreError;
use crate::item::{Condition, ItemStore, Query, SortKey};
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{SipCredentials, Trunk, TrunkReach, TrunkStatus};
use std::sync::Arc;

const TRUNK_SK: &str = "TRUNK";
const TRUNK_STATUS_SK: &str = "TRUNKSTATUS";
const TRUNK_REACH_SK: &str = "TRUNKREACH";

fn credentials_sk(u: &UserId) -> String {
    format!("SIPCRED#{u}")
}

#[derive(Debug, Clone)]
pub struct Telephony {
    pub(crate) items: Arc<dyn ItemStore>,
}

impl Telephony {
    /// The company's trunk; `None` until one is configured.
    pub async fn trunk(&self, t: &TenantId) -> Result<Option<Versioned<Trunk>>, RepoError> {
        match self.items.get(&tenant_key(t, TRUNK_SK)).await? {
            Some(item) => Ok(Some(versioned(&item)?)),
            None => Ok(None),
        }
    }

    /// Saves the trunk if nobody changed it since `version` (0: never saved).
    pub async fn save_trunk(
        &self,
        t: &TenantId,
        trunk: &Trunk,
        version: u64,
    ) -> Result<u64, RepoError> {
        let condition = at_version(version);
        put_checked(
            self.items.as_ref(),
            encode(tenant_key(t, TRUNK_SK), trunk)?,
            condition,
            "trunk settings",
        )
        .await
    }

    /// The registration state the media node last reported.
    pub async fn trunk_status(&self, t: &TenantId) -> Result<Option<TrunkStatus>, RepoError> {
        match self.items.get(&tenant_key(t, TRUNK_STATUS_SK)).await? {
            Some(item) => Ok(Some(item.into_decoded()?)),
            None => Ok(None),
        }
    }

    pub async fn set_trunk_status(&self, t: &TenantId, s: &TrunkStatus) -> Result<(), RepoError> {
        let item = encode(tenant_key(t, TRUNK_STATUS_SK), s)?;
        self.items.put(item, Condition::None).await?;
        Ok(())
    }

    /// Whether the trunk answered the node's last OPTIONS, if it is checked.
    pub async fn trunk_reach(&self, t: &TenantId) -> Result<Option<TrunkReach>, RepoError> {
        match self.items.get(&tenant_key(t, TRUNK_REACH_SK)).await? {
            Some(item) => Ok(Some(item.into_decoded()?)),
            None => Ok(None),
        }
    }

    pub async fn set_trunk_reach(&self, t: &TenantId, r: &TrunkReach) -> Result<(), RepoError> {
        let item = encode(tenant_key(t, TRUNK_REACH_SK), r)?;
        self.items.put(item, Condition::None).await?;
        Ok(())
    }

    pub async fn sip_credentials(
        &self,
        t: &TenantId,
        u: &UserId,
    ) -> Result<Option<SipCredentials>, RepoError> {
        match self.items.get(&tenant_key(t, credentials_sk(u))).await? {
            Some(item) => Ok(Some(item.into_decoded()?)),
            None => Ok(None),
        }
    }

    /// Every agent's SIP credentials in the company, by user.
    pub async fn all_sip_credentials(
        &self,
        t: &TenantId,
    ) -> Result<Vec<(UserId, SipCredentials)>, RepoError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let q = Query::table(tenant_pk(t), SortKey::Prefix("SIPCRED#".into()))
                .limit(500)
                .after(cursor);
            let page = self.items.query(q).await?;
            for item in page.items {
                let user = item
                    .key
                    .sk
                    .strip_prefix("SIPCRED#")
                    .and_then(|u| UserId::parse(u).ok())
                    .ok_or_else(|| StoreError::Invalid(format!("bad key {}", item.key.sk)))?;
                out.push((user, item.into_decoded()?));
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn save_sip_credentials(
        &self,
        t: &TenantId,
        u: &UserId,
        c: &SipCredentials,
    ) -> Result<(), RepoError> {
        let item = encode(tenant_key(t, credentials_sk(u)), c)?;
        self.items.put(item, Condition::None).await?;
        Ok(())
    }
}
