//! Call records (`T#<t>#CALLS#<yyyy-mm>` / `<call>`), indexed by agent and by
//! client card so the call log, an agent's calls and a card's calls are each one
//! query, newest first.
//!
//! Call ids are ULIDs made when the call starts: they sort by time, and the
//! month partition is read from the id itself, so a record is found by its id
//! alone and no pointer item is needed.

use super::{Listing, RepoError, encode, listing, tenant_pk};
use crate::StoreError;
use crate::item::{Condition, Index, Item, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::call::{CallId, CallRecord, month_of, month_span};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Calls {
    pub(crate) items: Arc<dyn ItemStore>,
}

/// The instant (ms) a call id was made at; `None` if it is not a ULID.
pub fn call_id_time(id: &CallId) -> Option<i64> {
    let ulid = ulid::Ulid::from_string(id.as_str()).ok()?;
    i64::try_from(ulid.timestamp_ms()).ok()
}

fn month_pk(t: &TenantId, year: i32, month: u32) -> String {
    format!("{}#CALLS#{year:04}-{month:02}", tenant_pk(t))
}

fn record_key(t: &TenantId, id: &CallId) -> Result<Key, RepoError> {
    let at = call_id_time(id).ok_or(RepoError::NotFound("call"))?;
    let (y, m) = month_of(at);
    Ok(Key::new(month_pk(t, y, m), id.as_str()))
}

/// The sort keys of the call ids made in one month: ULIDs of its first and
/// last millisecond (the random part from its lowest to its highest value).
fn month_ids(year: i32, month: u32) -> Result<SortKey, RepoError> {
    let (start, end) = month_span(year, month)
        .ok_or_else(|| StoreError::Invalid(format!("no month {year:04}-{month:02}")))?;
    let ms = |at: i64| u64::try_from(at).unwrap_or(0);
    let first = ulid::Ulid::from_parts(ms(start), 0).to_string();
    let last = ulid::Ulid::from_parts(ms(end - 1), u128::MAX).to_string();
    Ok(SortKey::Between(first, last))
}

/// A record's item, indexed by its agent and its client card; refused if the
/// record is inconsistent.
fn record_item(r: &CallRecord) -> Result<Item, RepoError> {
    r.check()
        .map_err(|e| StoreError::Invalid(format!("call record {}: {e}", r.id)))?;
    let mut item = encode(record_key(&r.tenant, &r.id)?, r)?;
    let sk = r.id.as_str().to_string();
    if let Some(agent) = &r.agent {
        item = item.with_index(Index::Gsi1, Key::new(agent_pk(&r.tenant, agent), &sk));
    }
    if let Some(client) = &r.client {
        item = item.with_index(Index::Gsi2, Key::new(client_pk(&r.tenant, client), &sk));
    }
    Ok(item)
}

fn agent_pk(t: &TenantId, u: &UserId) -> String {
    format!("{}#CALLS#USER#{u}", tenant_pk(t))
}

fn client_pk(t: &TenantId, c: &ClientId) -> String {
    format!("{}#CALLS#CLIENT#{c}", tenant_pk(t))
}

impl Calls {
    /// Writes a finished call's record. Writing the same record again (a node
    /// retrying after a restart) changes nothing; a different record under the
    /// same id is refused.
    pub async fn record(&self, r: &CallRecord) -> Result<(), RepoError> {
        let item = record_item(r)?;
        let key = item.key.clone();
        match self.items.put(item, Condition::NotExists).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed(_)) => match self.items.get(&key).await? {
                Some(existing) if existing.decode::<CallRecord>()? == *r => Ok(()),
                _ => Err(RepoError::Stale("call record")),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Many [`record`](Self::record)s, one result per record in order: written
    /// together in as few transactions as they fit (one durable write for
    /// calls that ended together, not one each). A transaction refused because
    /// one of its records is already there (a redelivery) is redone record by
    /// record, so each still gets the answer [`record`](Self::record) gives.
    pub async fn record_many(&self, records: &[CallRecord]) -> Vec<Result<(), RepoError>> {
        let mut out = Vec::with_capacity(records.len());
        for group in records.chunks(crate::item::MAX_TRANSACT_OPS) {
            let mut ops = Vec::with_capacity(group.len());
            let mut refused = Vec::new();
            for (i, r) in group.iter().enumerate() {
                match record_item(r) {
                    Ok(item) => ops.push(WriteOp::Put {
                        item,
                        condition: Condition::NotExists,
                    }),
                    Err(e) => refused.push((i, e)),
                }
            }
            let together = if ops.is_empty() {
                Ok(())
            } else {
                self.items.transact(ops).await
            };
            match together {
                Ok(()) => {
                    let mut results: Vec<Result<(), RepoError>> =
                        group.iter().map(|_| Ok(())).collect();
                    for (i, e) in refused {
                        results[i] = Err(e);
                    }
                    out.extend(results);
                }
                // One of them is there already, or the write failed: each on its own.
                Err(_) => {
                    for r in group {
                        out.push(self.record(r).await);
                    }
                }
            }
        }
        out
    }

    pub async fn get(&self, t: &TenantId, id: &CallId) -> Result<CallRecord, RepoError> {
        let item = self
            .items
            .get(&record_key(t, id)?)
            .await?
            .ok_or(RepoError::NotFound("call"))?;
        Ok(item.into_decoded()?)
    }

    /// The company's calls that started in one month (UTC), newest first.
    pub async fn month(
        &self,
        t: &TenantId,
        year: i32,
        month: u32,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CallRecord>, RepoError> {
        let q = Query::table(month_pk(t, year, month), SortKey::All);
        listing(
            self.items.as_ref(),
            q.descending().limit(limit).after(cursor),
        )
        .await
    }

    /// One agent's calls, newest first.
    pub async fn by_agent(
        &self,
        t: &TenantId,
        agent: &UserId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CallRecord>, RepoError> {
        let q = Query::index(Index::Gsi1, agent_pk(t, agent), SortKey::All);
        listing(
            self.items.as_ref(),
            q.descending().limit(limit).after(cursor),
        )
        .await
    }

    /// One agent's calls that started in one month (UTC), newest first.
    pub async fn agent_month(
        &self,
        t: &TenantId,
        agent: &UserId,
        year: i32,
        month: u32,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CallRecord>, RepoError> {
        let q = Query::index(Index::Gsi1, agent_pk(t, agent), month_ids(year, month)?);
        listing(
            self.items.as_ref(),
            q.descending().limit(limit).after(cursor),
        )
        .await
    }

    /// One card's calls that started in one month (UTC), newest first.
    pub async fn client_month(
        &self,
        t: &TenantId,
        client: &ClientId,
        year: i32,
        month: u32,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CallRecord>, RepoError> {
        let q = Query::index(Index::Gsi2, client_pk(t, client), month_ids(year, month)?);
        listing(
            self.items.as_ref(),
            q.descending().limit(limit).after(cursor),
        )
        .await
    }

    /// The calls made from or matched to one client card, newest first.
    pub async fn by_client(
        &self,
        t: &TenantId,
        client: &ClientId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CallRecord>, RepoError> {
        let q = Query::index(Index::Gsi2, client_pk(t, client), SortKey::All);
        listing(
            self.items.as_ref(),
            q.descending().limit(limit).after(cursor),
        )
        .await
    }
}
