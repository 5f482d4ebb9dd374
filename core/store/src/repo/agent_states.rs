//! Agent state (PRODUCT E4): each user's current state (`T#<t>` /
//! `AGENTSTATE#<u>`) and the history of its changes (`T#<t>#STATEHIST#<u>` /
//! `<at, 13 digits>#<seq>`), written together in one transaction conditional
//! on the version of the state read, so no change is missing from the history.

use super::call_results::all_of;
use super::{RepoError, Versioned, encode, listing, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{Condition, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::Millis;
use callisto_domain::agent_state::{AgentStatus, StateChange};
use callisto_domain::ids::{TenantId, UserId};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AgentStates {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn state_key(t: &TenantId, u: &UserId) -> Key {
    tenant_key(t, format!("AGENTSTATE#{u}"))
}

fn history_pk(t: &TenantId, u: &UserId) -> String {
    format!("{}#STATEHIST#{u}", tenant_pk(t))
}

impl AgentStates {
    /// The user's stored state and its version; `None` while never set (available).
    pub async fn get(
        &self,
        t: &TenantId,
        u: &UserId,
    ) -> Result<Option<Versioned<AgentStatus>>, RepoError> {
        match self.items.get(&state_key(t, u)).await? {
            Some(item) => Ok(Some(versioned(&item)?)),
            None => Ok(None),
        }
    }

    /// Every user's stored state (users who never set one are not listed).
    pub async fn all(&self, t: &TenantId) -> Result<Vec<AgentStatus>, RepoError> {
        Ok(all_of(self.items.as_ref(), t, "AGENTSTATE#")
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Saves `status` (the state read at `version`, 0 if never set, changing
    /// as `change` says) and appends `change` to the history, atomically.
    pub async fn set(
        &self,
        t: &TenantId,
        status: &AgentStatus,
        version: u64,
        change: &StateChange,
    ) -> Result<u64, RepoError> {
        let history = Key::new(
            history_pk(t, &status.user),
            // The version makes two changes in the same millisecond distinct.
            format!("{:013}#{:010}", change.at, version + 1),
        );
        let ops = vec![
            WriteOp::Put {
                item: encode(state_key(t, &status.user), status)?,
                condition: super::at_version(version),
            },
            WriteOp::Put {
                item: encode(history, change)?,
                condition: Condition::NotExists,
            },
        ];
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("agent state")),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(version + 1),
        }
    }

    /// The user's changes in `[from, to)`, oldest first, a page at a time.
    pub async fn history(
        &self,
        t: &TenantId,
        u: &UserId,
        from: Millis,
        to: Millis,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<super::Listing<StateChange>, RepoError> {
        let sk = SortKey::Between(format!("{from:013}"), format!("{:013}#~", to - 1));
        let q = Query::table(history_pk(t, u), sk)
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }
}
