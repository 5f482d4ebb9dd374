//! Duplicate searches (`T#<t>` / `DEDUP#<id>`) and their groups
//! (`T#<t>#DUPGRP#<id>` / `<n>`, n zero-padded), plus the reads the search
//! and the merge need from client cards: a light scan of the cards in a
//! listing, and copying a card's history to another card.

use super::{
    Listing, RepoError, Versioned, encode, listing, put_checked, tenant_key, tenant_pk, versioned,
};
use crate::StoreError;
use crate::item::{Condition, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::Millis;
use callisto_domain::access::Scope;
use callisto_domain::activity::Activity;
use callisto_domain::duplicates::{CardKeys, DedupId, DedupJob, DuplicateGroup, Source};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The queue started searches wait on; a message's body is the search id.
pub const DEDUP_QUEUE: &str = "dedup";

#[derive(Debug, Clone)]
pub struct Duplicates {
    pub(crate) items: Arc<dyn ItemStore>,
}

/// How a group was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// `merged` or `deleted`.
    pub action: String,
    pub base: ClientId,
    pub cards: Vec<ClientId>,
    pub by: UserId,
    pub at: Millis,
}

/// A stored group: its number within the search, the group, and what was done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub n: u32,
    pub group: DuplicateGroup,
    /// Merges and deletions done on this group, oldest first.
    pub resolutions: Vec<Resolution>,
    /// Set when fewer than two of the members are left.
    pub resolved: bool,
}

fn job_key(t: &TenantId, id: &DedupId) -> Key {
    tenant_key(t, format!("DEDUP#{id}"))
}

fn groups_pk(t: &TenantId, id: &DedupId) -> String {
    format!("{}#DUPGRP#{id}", tenant_pk(t))
}

fn group_sk(n: u32) -> String {
    format!("{n:08}")
}

impl Duplicates {
    pub async fn create(&self, t: &TenantId, job: &DedupJob) -> Result<(), RepoError> {
        self.items
            .put(encode(job_key(t, &job.id), job)?, Condition::NotExists)
            .await?;
        Ok(())
    }

    pub async fn get(&self, t: &TenantId, id: &DedupId) -> Result<Versioned<DedupJob>, RepoError> {
        let item = self
            .items
            .get(&job_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("duplicate search"))?;
        Ok(versioned(&item)?)
    }

    /// Saves the job if nobody else changed it since `version`; returns the new version.
    pub async fn save(&self, t: &TenantId, job: &DedupJob, version: u64) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(job_key(t, &job.id), job)?,
            Condition::Version(version),
            "duplicate search",
        )
        .await
    }

    /// Writes groups under their numbers, replacing what is there (a rerun
    /// of the same search writes the same numbers).
    pub async fn put_groups(
        &self,
        t: &TenantId,
        id: &DedupId,
        groups: &[GroupRecord],
    ) -> Result<(), RepoError> {
        for chunk in groups.chunks(crate::item::MAX_TRANSACT_OPS) {
            let ops = chunk
                .iter()
                .map(|g| {
                    Ok(WriteOp::Put {
                        item: encode(Key::new(groups_pk(t, id), group_sk(g.n)), g)?,
                        condition: Condition::None,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.items.transact(ops).await?;
        }
        Ok(())
    }

    /// Removes the groups numbered `from` and up (left by an earlier run that found more).
    pub async fn delete_groups_from(
        &self,
        t: &TenantId,
        id: &DedupId,
        from: u32,
    ) -> Result<usize, RepoError> {
        let mut removed = 0;
        loop {
            let q = Query::table(
                groups_pk(t, id),
                SortKey::Between(group_sk(from), group_sk(u32::MAX)),
            )
            .limit(crate::item::MAX_TRANSACT_OPS);
            let page = self.items.query(q).await?;
            if page.items.is_empty() {
                return Ok(removed);
            }
            removed += page.items.len();
            let ops = page
                .items
                .into_iter()
                .map(|i| WriteOp::Delete {
                    key: i.key,
                    condition: Condition::None,
                })
                .collect();
            self.items.transact(ops).await?;
        }
    }

    pub async fn group(
        &self,
        t: &TenantId,
        id: &DedupId,
        n: u32,
    ) -> Result<Versioned<GroupRecord>, RepoError> {
        let item = self
            .items
            .get(&Key::new(groups_pk(t, id), group_sk(n)))
            .await?
            .ok_or(RepoError::NotFound("group"))?;
        Ok(versioned(&item)?)
    }

    /// Saves a group if unchanged since `version`.
    pub async fn save_group(
        &self,
        t: &TenantId,
        id: &DedupId,
        group: &GroupRecord,
        version: u64,
    ) -> Result<u64, RepoError> {
        let item = encode(Key::new(groups_pk(t, id), group_sk(group.n)), group)?;
        put_checked(
            self.items.as_ref(),
            item,
            Condition::Version(version),
            "group",
        )
        .await
    }

    /// Groups in number order.
    pub async fn groups(
        &self,
        t: &TenantId,
        id: &DedupId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<GroupRecord>, RepoError> {
        let q = Query::table(groups_pk(t, id), SortKey::All)
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// One page of the cards of a listing, read only for what the search
    /// needs. Cards in the recycle bin are included (the caller skips them);
    /// on the indexes they are absent anyway.
    pub async fn scan(
        &self,
        t: &TenantId,
        source: &Source,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<CardKeys>, RepoError> {
        // The same listings as the scope rule's (`Clients::list`).
        let scope = match source {
            Source::All => Scope::All,
            Source::Group(g) => Scope::Group(g.clone()),
            Source::User(u) => Scope::Own(u.clone()),
        };
        let q = super::clients::scope_query(t, &scope);
        let page = self.items.query(q.limit(limit).after(cursor)).await?;
        let items = page
            .items
            .into_iter()
            .map(crate::item::Item::into_decoded)
            .collect::<Result<_, _>>()?;
        Ok(Listing {
            items,
            cursor: page.cursor,
        })
    }
}

impl super::Clients {
    /// Copies every history entry of `from` into the history of `to` (client
    /// set to `to`, `merged_from` noted). Entries keep their time and id, so a
    /// repeated copy rewrites the same items.
    pub async fn copy_history(
        &self,
        t: &TenantId,
        from: &ClientId,
        to: &ClientId,
    ) -> Result<usize, RepoError> {
        let mut copied = 0;
        let mut cursor = None;
        loop {
            let page = self
                .history(t, from, cursor, crate::item::MAX_TRANSACT_OPS)
                .await?;
            let ops = page
                .items
                .into_iter()
                .map(|a: Activity| {
                    let mut a = Activity {
                        client: to.clone(),
                        ..a
                    };
                    a.details
                        .entry("merged_from".into())
                        .or_insert_with(|| from.to_string());
                    let key = Key::new(
                        super::clients::history_pk(t, to),
                        format!("{:013}#{}", a.at, a.id),
                    );
                    Ok(WriteOp::Put {
                        item: encode(key, &a)?,
                        condition: Condition::None,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            if !ops.is_empty() {
                copied += ops.len();
                self.items.transact(ops).await?;
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(copied),
            }
        }
    }
}
