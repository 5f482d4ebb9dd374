//! What the node knows of each tenant when a SIP message arrives: its trunk,
//! its agents with their short numbers, SIP credentials and states (PRODUCT
//! E4). Read from the store and kept for a short while, so a burst of
//! REGISTERs or INVITEs costs one read per tenant, and a change made in the
//! web app reaches the node within `max_age` (`NodeConfig::directory_max_age`,
//! 5 s by default): an agent who goes to DND may still be offered a call for
//! that long. A wrap-up's end needs no reload: the state is judged at the
//! time of each call.

use callisto_domain::Millis;
use callisto_domain::agent_state::AgentState;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{SipCredentials, Trunk};
use callisto_domain::user::{User, UserStatus};
use callisto_store::repo::{RepoError, Repos};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct TenantEntry {
    pub tenant: TenantId,
    pub phone_region: String,
    /// The enabled trunk, if any.
    pub trunk: Option<Trunk>,
    /// Active users only: blocked and deleted users cannot register or be reached.
    pub agents: Vec<User>,
    pub credentials: HashMap<UserId, SipCredentials>,
    /// Agents' stored states; an agent not listed is available.
    pub states: HashMap<UserId, AgentState>,
    pub loaded_at: Millis,
}

impl TenantEntry {
    pub fn agent(&self, u: &UserId) -> Option<&User> {
        self.agents.iter().find(|a| &a.id == u)
    }

    pub fn extensions(&self) -> Vec<(String, UserId)> {
        self.agents
            .iter()
            .filter_map(|a| a.short_number.clone().map(|n| (n, a.id.clone())))
            .collect()
    }
}

#[derive(Debug)]
pub struct Directory {
    repos: Repos,
    max_age: Millis,
    tenants: HashMap<TenantId, Arc<TenantEntry>>,
}

impl Directory {
    pub fn new(repos: Repos, max_age: Millis) -> Directory {
        Directory {
            repos,
            max_age,
            tenants: HashMap::new(),
        }
    }

    /// The tenant's entry, read again if older than `max_age`; `None` for an
    /// unknown tenant.
    pub async fn tenant(
        &mut self,
        t: &TenantId,
        now: Millis,
    ) -> Result<Option<Arc<TenantEntry>>, RepoError> {
        if let Some(e) = self.tenants.get(t)
            && now - e.loaded_at < self.max_age
        {
            return Ok(Some(e.clone()));
        }
        match load(&self.repos, t, now).await {
            Ok(e) => {
                let e = Arc::new(e);
                self.tenants.insert(t.clone(), e.clone());
                Ok(Some(e))
            }
            Err(RepoError::NotFound(_)) => {
                self.tenants.remove(t);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The tenant's entry read again now, unless the cached one is younger
    /// than `min_age` (which bounds the store reads a flood of bad requests
    /// can cause); `None` for an unknown tenant.
    pub async fn reload(
        &mut self,
        t: &TenantId,
        now: Millis,
        min_age: Millis,
    ) -> Result<Option<Arc<TenantEntry>>, RepoError> {
        if let Some(e) = self.tenants.get(t)
            && now - e.loaded_at < min_age
        {
            return Ok(Some(e.clone()));
        }
        self.tenants.remove(t);
        self.tenant(t, now).await
    }

    /// Takes a fresh read of every tenant ([`load_all`], done away from the
    /// SIP task) as of `at`; an entry read on demand after `at` is kept.
    pub fn replace_all(&mut self, entries: Vec<Arc<TenantEntry>>, at: Millis) {
        let mut fresh: HashMap<TenantId, Arc<TenantEntry>> =
            entries.into_iter().map(|e| (e.tenant.clone(), e)).collect();
        for (t, e) in fresh.iter_mut() {
            if let Some(newer) = self.tenants.get(t).filter(|c| c.loaded_at > at) {
                *e = newer.clone();
            }
        }
        self.tenants = fresh;
    }

    /// Entries as last read (no store access).
    pub fn cached(&self) -> impl Iterator<Item = &Arc<TenantEntry>> {
        self.tenants.values()
    }
}

/// A fresh read of every tenant (for the trunk registrations and for
/// recognising calls that come from a trunk).
pub async fn load_all(repos: &Repos, now: Millis) -> Result<Vec<TenantEntry>, RepoError> {
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let page = repos.tenants.list_ids(cursor, 100).await?;
        for t in page.items {
            all.push(load(repos, &t, now).await?);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

async fn load(repos: &Repos, t: &TenantId, now: Millis) -> Result<TenantEntry, RepoError> {
    let tenant = repos.tenants.get(t).await?.value;
    let trunk = repos
        .telephony
        .trunk(t)
        .await?
        .map(|v| v.value)
        .filter(|tr| tr.enabled);
    let mut agents = Vec::new();
    let mut cursor = None;
    loop {
        let page = repos.users.list(t, cursor, 500).await?;
        agents.extend(
            page.items
                .into_iter()
                .filter(|u| u.status == UserStatus::Active),
        );
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let credentials = repos
        .telephony
        .all_sip_credentials(t)
        .await?
        .into_iter()
        .filter(|(u, _)| agents.iter().any(|a| &a.id == u))
        .collect();
    let states = repos
        .agent_states
        .all(t)
        .await?
        .into_iter()
        .map(|s| (s.user, s.state))
        .collect();
    Ok(TenantEntry {
        tenant: t.clone(),
        phone_region: tenant.phone_region,
        trunk,
        agents,
        credentials,
        states,
        loaded_at: now,
    })
}
