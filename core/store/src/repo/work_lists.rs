//! Work lists (E1): the lists, the shared place each list has got to, the
//! claims that keep two agents off one card, and the result saved for a call.
//!
//! Keys: `T#<t>` / `WORKLIST#<list>` for a list, `WLCURSOR#<list>` for where
//! its walk over the base stands, `CLAIM#<client>` for a held card (indexed by
//! `T#<t>#HOLD#<list>#<agent>` so an agent's held cards are one query), and
//! `CALLRES#<call>` for the result saved for a call.

use super::call_results::all_of;
use super::clients::{Journal, update_ops};
use super::{
    RepoError, Versioned, at_version, encode, put_checked, tenant_key, tenant_pk, versioned,
};
use crate::StoreError;
use crate::item::{Condition, Index, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::Millis;
use callisto_domain::client::Client;
use callisto_domain::ids::{CallId, ClientId, TenantId, UserId, WorkListId};
use callisto_domain::work_list::{CallDisposition, Claim, WorkList};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct WorkLists {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn list_key(t: &TenantId, id: &WorkListId) -> Key {
    tenant_key(t, format!("WORKLIST#{id}"))
}

fn cursor_key(t: &TenantId, id: &WorkListId) -> Key {
    tenant_key(t, format!("WLCURSOR#{id}"))
}

fn claim_key(t: &TenantId, client: &ClientId) -> Key {
    tenant_key(t, format!("CLAIM#{client}"))
}

fn hold_pk(t: &TenantId, list: &WorkListId, agent: &UserId) -> String {
    format!("{}#HOLD#{list}#{agent}", tenant_pk(t))
}

fn disposition_key(t: &TenantId, call: &CallId) -> Key {
    tenant_key(t, format!("CALLRES#{call}"))
}

/// Where a list's walk over the base stands: just after `card`, which the
/// store cursor `cursor` points past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPosition {
    pub cursor: String,
    pub card: ClientId,
}

/// A result being saved: the card's change with its history, and what goes
/// with it in the same transaction.
#[derive(Debug)]
pub struct SavedResult<'a> {
    pub old: &'a Client,
    pub new: &'a Client,
    pub version: u64,
    pub journal: &'a Journal,
    /// The result as the call's record shows it, when the result is for a call.
    pub disposition: Option<&'a CallDisposition>,
    /// The agent's claim on the card, released by the save.
    pub claim: Option<&'a Versioned<Claim>>,
    /// Other writes that belong to the save (a call-back reminder).
    pub extra: Vec<WriteOp>,
}

impl WorkLists {
    pub async fn create(&self, t: &TenantId, list: &WorkList) -> Result<(), RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(list_key(t, &list.id), list)?,
            Condition::NotExists,
            "work list",
        )
        .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        t: &TenantId,
        id: &WorkListId,
    ) -> Result<Versioned<WorkList>, RepoError> {
        let item = self
            .items
            .get(&list_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("work list"))?;
        Ok(versioned(&item)?)
    }

    /// Every list of the company, in id (creation) order.
    pub async fn list(&self, t: &TenantId) -> Result<Vec<Versioned<WorkList>>, RepoError> {
        all_of(self.items.as_ref(), t, "WORKLIST#").await
    }

    /// Saves a changed list if it is still at `version`.
    pub async fn update(
        &self,
        t: &TenantId,
        list: &WorkList,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(list_key(t, &list.id), list)?,
            at_version(version),
            "work list",
        )
        .await
    }

    pub async fn delete(
        &self,
        t: &TenantId,
        id: &WorkListId,
        version: u64,
    ) -> Result<(), RepoError> {
        let ops = vec![
            WriteOp::Delete {
                key: list_key(t, id),
                condition: Condition::Version(version),
            },
            WriteOp::Delete {
                key: cursor_key(t, id),
                condition: Condition::None,
            },
        ];
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("work list")),
            other => Ok(other?),
        }
    }

    /// Where the list's walk stands (`None`: at the start of the base).
    pub async fn position(
        &self,
        t: &TenantId,
        id: &WorkListId,
    ) -> Result<Option<ListPosition>, RepoError> {
        Ok(match self.items.get(&cursor_key(t, id)).await? {
            Some(item) => item.decode::<Option<ListPosition>>()?,
            None => None,
        })
    }

    /// Moves the list's walk on. Agents working one list share it, and the
    /// last writer wins: a card passed over by a lost write is met again on
    /// the next round, never handed out twice (claims see to that).
    pub async fn set_position(
        &self,
        t: &TenantId,
        id: &WorkListId,
        position: Option<&ListPosition>,
    ) -> Result<(), RepoError> {
        self.items
            .put(encode(cursor_key(t, id), &position)?, Condition::None)
            .await?;
        Ok(())
    }

    /// The claim on a card, live or lapsed.
    pub async fn claim_of(
        &self,
        t: &TenantId,
        client: &ClientId,
    ) -> Result<Option<Versioned<Claim>>, RepoError> {
        Ok(match self.items.get(&claim_key(t, client)).await? {
            Some(item) => Some(versioned(&item)?),
            None => None,
        })
    }

    /// Hands the card to `claim.agent` unless someone else holds it at `now`.
    /// Of two agents claiming one card at once exactly one gets `true`: the
    /// write is conditional on the claim item as it was read.
    pub async fn claim(&self, t: &TenantId, claim: &Claim, now: Millis) -> Result<bool, RepoError> {
        let condition = match self.claim_of(t, &claim.client).await? {
            None => Condition::NotExists,
            Some(held) if held.value.blocks(&claim.agent, now) => return Ok(false),
            Some(held) => Condition::Version(held.version),
        };
        let item = encode(claim_key(t, &claim.client), claim)?.with_index(
            Index::Gsi1,
            Key::new(hold_pk(t, &claim.list, &claim.agent), claim.client.as_str()),
        );
        match self.items.put(item, condition).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The cards `agent` holds from this list, lapsed claims included.
    pub async fn held(
        &self,
        t: &TenantId,
        list: &WorkListId,
        agent: &UserId,
    ) -> Result<Vec<Versioned<Claim>>, RepoError> {
        let q = Query::index(Index::Gsi1, hold_pk(t, list, agent), SortKey::All).limit(100);
        let page = self.items.query(q).await?;
        Ok(page.items.iter().map(versioned).collect::<Result<_, _>>()?)
    }

    /// Gives a held card back, unless the claim changed meanwhile (it lapsed
    /// and someone else took the card).
    pub async fn release(&self, t: &TenantId, claim: &Versioned<Claim>) -> Result<(), RepoError> {
        match self
            .items
            .delete(
                &claim_key(t, &claim.value.client),
                Condition::Version(claim.version),
            )
            .await
        {
            Ok(()) | Err(StoreError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves a result: the card with its history entry, the call's result and
    /// the released claim, all or nothing. A card changed meanwhile is
    /// `Stale("client")`; a claim taken over meanwhile is `Stale("claim")`.
    pub async fn save_result(&self, t: &TenantId, save: SavedResult<'_>) -> Result<u64, RepoError> {
        let mut ops = update_ops(t, save.old, save.new, save.version, save.journal)?;
        if let Some(d) = save.disposition {
            // Saving again for the same call corrects the result.
            ops.push(WriteOp::Put {
                item: encode(disposition_key(t, &d.call), d)?,
                condition: Condition::None,
            });
        }
        if let Some(claim) = save.claim {
            ops.push(WriteOp::Delete {
                key: claim_key(t, &claim.value.client),
                condition: Condition::Version(claim.version),
            });
        }
        ops.extend(save.extra);
        match self.items.transact(ops).await {
            Ok(()) => Ok(save.version + 1),
            Err(StoreError::ConditionFailed(_)) => {
                // Tell which of the two moved, so the agent knows what to reload.
                let card = self
                    .items
                    .get(&super::clients::client_key(t, &save.old.id))
                    .await?;
                if card.is_some_and(|c| c.version != save.version) {
                    Err(RepoError::Stale("client"))
                } else {
                    Err(RepoError::Stale("claim"))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The result saved for a call, if any.
    pub async fn disposition(
        &self,
        t: &TenantId,
        call: &CallId,
    ) -> Result<Option<CallDisposition>, RepoError> {
        Ok(match self.items.get(&disposition_key(t, call)).await? {
            Some(item) => Some(item.into_decoded()?),
            None => None,
        })
    }
}
