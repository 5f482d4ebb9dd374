//! Events and reminders (PRODUCT C13).
//!
//! The event is `T#<t>` / `EVENT#<e>`. Its three index entries sort by due
//! time (`<due_at, 13 digits>#<e>`), so every listing is a range read:
//! gsi1 `T#<t>#EVENTS#CLIENT#<c>` (the card's events), gsi2
//! `T#<t>#EVENTS#USER#<u>` (the assignee's calendar) and, while the event is
//! open and its assignee not yet reminded, gsi3 `T#<t>#EVENTS#REMIND` (what
//! the reminder job reads up to `now + lead`). Creating and closing an event
//! write the card's history entry (and the assignee's notification) in the
//! event's transaction; purging a card from the bin removes its events.

use super::clients::client_key;
use super::{
    Journal, Listing, RepoError, Versioned, encode, listing, tenant_key, tenant_pk, versioned,
};
use crate::StoreError;
use crate::item::{Condition, Index, Item, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::Millis;
use callisto_domain::event::Event;
use callisto_domain::ids::{ClientId, EventId, TenantId, UserId};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Events {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn event_key(t: &TenantId, id: &EventId) -> Key {
    tenant_key(t, format!("EVENT#{id}"))
}

fn due_sk(e: &Event) -> String {
    format!("{:013}#{}", e.due_at, e.id)
}

fn client_pk(t: &TenantId, c: &ClientId) -> String {
    format!("{}#EVENTS#CLIENT#{c}", tenant_pk(t))
}

fn user_pk(t: &TenantId, u: &UserId) -> String {
    format!("{}#EVENTS#USER#{u}", tenant_pk(t))
}

fn remind_pk(t: &TenantId) -> String {
    format!("{}#EVENTS#REMIND", tenant_pk(t))
}

/// Sort keys of due times in `[from, to)`: `Between` is inclusive, and every
/// key of `to - 1` is `<to - 1>#<id>`, below `<to - 1>#~`.
fn due_range(from: Millis, to: Millis) -> SortKey {
    SortKey::Between(format!("{from:013}"), format!("{:013}#~", to - 1))
}

fn event_item(t: &TenantId, e: &Event) -> Result<Item, StoreError> {
    let sk = due_sk(e);
    let mut item = encode(event_key(t, &e.id), e)?
        .with_index(Index::Gsi1, Key::new(client_pk(t, &e.client), sk.clone()))
        .with_index(Index::Gsi2, Key::new(user_pk(t, &e.assignee), sk.clone()));
    if e.awaits_reminder() {
        item = item.with_index(Index::Gsi3, Key::new(remind_pk(t), sk));
    }
    Ok(item)
}

/// The query of a card's events (their index entries carry the events' keys).
pub(super) fn of_client_query(t: &TenantId, client: &ClientId) -> Query {
    Query::index(Index::Gsi1, client_pk(t, client), SortKey::All)
}

impl Events {
    /// The writes that create `event` together with its `journal` (the card's
    /// history entry, e.g. [`callisto_domain::event::created_entry`], and the
    /// assignee's notification, if any), for a caller that adds them to its own
    /// transaction — a "call later" call result creates its call back this way.
    /// The caller makes sure the card exists (it reads or writes it in the same
    /// transaction); [`Events::create`] checks it itself.
    pub fn create_ops(
        t: &TenantId,
        event: &Event,
        journal: &Journal,
    ) -> Result<Vec<WriteOp>, StoreError> {
        let mut ops = vec![WriteOp::Put {
            item: event_item(t, event)?,
            condition: Condition::NotExists,
        }];
        ops.extend(journal.ops(t)?);
        Ok(ops)
    }

    /// Creates `event` with its `journal` in one transaction, if its card exists.
    pub async fn create(
        &self,
        t: &TenantId,
        event: &Event,
        journal: &Journal,
    ) -> Result<(), RepoError> {
        let mut ops = Events::create_ops(t, event, journal)?;
        ops.push(WriteOp::Check {
            key: client_key(t, &event.client),
            condition: Condition::Exists,
        });
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => {
                match self.items.get(&client_key(t, &event.client)).await? {
                    None => Err(RepoError::NotFound("client")),
                    Some(_) => Err(RepoError::Stale("event")),
                }
            }
            other => Ok(other?),
        }
    }

    pub async fn get(&self, t: &TenantId, id: &EventId) -> Result<Versioned<Event>, RepoError> {
        let item = self
            .items
            .get(&event_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("event"))?;
        Ok(versioned(&item)?)
    }

    /// Saves a changed event read at `version`, with its `journal`, atomically.
    pub async fn update(
        &self,
        t: &TenantId,
        event: &Event,
        version: u64,
        journal: &Journal,
    ) -> Result<u64, RepoError> {
        let mut ops = vec![WriteOp::Put {
            item: event_item(t, event)?,
            condition: Condition::Version(version),
        }];
        ops.extend(journal.ops(t)?);
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("event")),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(version + 1),
        }
    }

    /// Deletes an event still at `version`.
    pub async fn delete(&self, t: &TenantId, id: &EventId, version: u64) -> Result<(), RepoError> {
        match self
            .items
            .delete(&event_key(t, id), Condition::Version(version))
            .await
        {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("event")),
            other => Ok(other?),
        }
    }

    /// A card's events by due time, earliest first.
    pub async fn of_client(
        &self,
        t: &TenantId,
        client: &ClientId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<Event>, RepoError> {
        let q = of_client_query(t, client).limit(limit).after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// The events assigned to `user` due in `[from, to)`, earliest first.
    pub async fn calendar(
        &self,
        t: &TenantId,
        user: &UserId,
        from: Millis,
        to: Millis,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<Event>, RepoError> {
        let q = Query::index(Index::Gsi2, user_pk(t, user), due_range(from, to))
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// Open events not yet reminded that are due before `until` (exclusive),
    /// earliest first, at most `limit`, with their versions.
    pub async fn awaiting_reminder(
        &self,
        t: &TenantId,
        until: Millis,
        limit: usize,
    ) -> Result<Vec<Versioned<Event>>, RepoError> {
        let q = Query::index(Index::Gsi3, remind_pk(t), due_range(0, until)).limit(limit);
        let page = self.items.query(q).await?;
        Ok(page.items.iter().map(versioned).collect::<Result<_, _>>()?)
    }
}
