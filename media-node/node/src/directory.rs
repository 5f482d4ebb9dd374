//! What the node knows of each tenant when a SIP message arrives: its trunk,
//! its agents with their short numbers, SIP credentials and states (PRODUCT
//! E4). Read from the store (in tasks of their own: the SIP task only looks
//! here) and kept for a short while, so a burst of REGISTERs or INVITEs
//! costs one read per tenant, and a change made in the
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

/// Tenants whose last recheck is remembered before old ones are dropped.
const MAX_RECHECKS_KEPT: usize = 4096;

/// The cache itself; reads happen elsewhere (the SIP task never waits on
/// the store): on demand for one tenant, and all of them periodically.
#[derive(Debug)]
pub struct Directory {
    max_age: Millis,
    tenants: HashMap<TenantId, Arc<TenantEntry>>,
    /// When each tenant was last read again to recheck refused credentials.
    rechecked_at: HashMap<TenantId, Millis>,
}

impl Directory {
    pub fn new(max_age: Millis) -> Directory {
        Directory {
            max_age,
            tenants: HashMap::new(),
            rechecked_at: HashMap::new(),
        }
    }

    /// Whether credentials the cached entry refuses may have `t` read again
    /// now (a password set a moment ago may not be in it yet), at most once
    /// per `every` so a flood of wrong passwords costs one read each time.
    /// Counted from the last such recheck, not from the entry's own read:
    /// a password set just after the periodic reload must work at once.
    pub fn may_recheck(&mut self, t: &TenantId, now: Millis, every: Millis) -> bool {
        if self.rechecked_at.get(t).is_some_and(|&at| now - at < every) {
            return false;
        }
        if self.rechecked_at.len() >= MAX_RECHECKS_KEPT {
            self.rechecked_at.retain(|_, at| now - *at < every);
        }
        self.rechecked_at.insert(t.clone(), now);
        true
    }

    /// The tenant's cached entry while younger than `max_age` (no store
    /// access); `None` when it must be read ([`read_tenant`], away from the
    /// SIP task).
    pub fn fresh(&self, t: &TenantId, now: Millis) -> Option<Arc<TenantEntry>> {
        self.tenants
            .get(t)
            .filter(|e| now - e.loaded_at < self.max_age)
            .cloned()
    }

    /// The cached entry whatever its age.
    pub fn cached_entry(&self, t: &TenantId) -> Option<Arc<TenantEntry>> {
        self.tenants.get(t).cloned()
    }

    /// Takes what an on-demand read of `t` found (`None`: no such tenant),
    /// unless the cache already holds a newer read.
    pub fn apply_read(
        &mut self,
        t: &TenantId,
        read: Option<TenantEntry>,
    ) -> Option<Arc<TenantEntry>> {
        match read {
            Some(e) => {
                if let Some(newer) = self.tenants.get(t).filter(|c| c.loaded_at > e.loaded_at) {
                    return Some(newer.clone());
                }
                let e = Arc::new(e);
                self.tenants.insert(t.clone(), e.clone());
                Some(e)
            }
            None => {
                self.tenants.remove(t);
                None
            }
        }
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

/// One tenant read from the store as of `now`; `None` for an unknown tenant.
pub async fn read_tenant(
    repos: &Repos,
    t: &TenantId,
    now: Millis,
) -> Result<Option<TenantEntry>, RepoError> {
    match load(repos, t, now).await {
        Ok(e) => Ok(Some(e)),
        Err(RepoError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
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
