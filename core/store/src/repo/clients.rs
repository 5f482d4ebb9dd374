//! Client cards (organizations and contacts) with their lookup entries.
//!
//! Besides the card (`T#<t>` / `CLIENT#<id>`), each live card owns one lookup
//! item per phone (`T#<t>#PHONE#<e164>`) and per e-mail (`T#<t>#EMAIL#<email>`),
//! and a card in the recycle bin owns one bin entry (`T#<t>#BIN` /
//! `<deleted-at>#<id>`). They are written in the same transaction as the card,
//! so lookups never point at a card that says otherwise. Indexes on the card:
//! gsi1 responsible user, gsi2 responsible group, gsi3 organization (for its
//! contacts); a deleted card leaves all three.

use super::{Listing, RepoError, Versioned, encode, listing, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{
    BatchPart, Condition, Index, Item, ItemStore, Key, Query, SortKey, WriteOp, cursor_after,
};
use callisto_domain::access::Scope;
use callisto_domain::activity::{Activity, Notification};
use callisto_domain::client::{self, Client, ClientKind, index_prefixes, index_tokens};
use callisto_domain::ids::{ActivityId, ClientId, TenantId, UserId};
use callisto_domain::import::name_key;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Clients {
    pub(crate) items: Arc<dyn ItemStore>,
}

pub(super) fn client_key(t: &TenantId, id: &ClientId) -> Key {
    tenant_key(t, format!("CLIENT#{id}"))
}

fn card_sk(id: &ClientId) -> String {
    format!("CLIENT#{id}")
}

fn phone_pk(t: &TenantId, e164: &str) -> String {
    format!("{}#PHONE#{e164}", tenant_pk(t))
}

fn email_pk(t: &TenantId, email: &str) -> String {
    format!("{}#EMAIL#{email}", tenant_pk(t))
}

fn org_name_pk(t: &TenantId, key: &str) -> String {
    format!("{}#ORGNAME#{key}", tenant_pk(t))
}

/// Search words are spread over partitions by their first character.
fn word_pk(t: &TenantId, word: &str) -> String {
    format!(
        "{}#WORD#{}",
        tenant_pk(t),
        word.chars().next().unwrap_or('_')
    )
}

/// Cards read per store query while scanning.
const SCAN_PAGE: usize = 500;
const FIRST_WALK_PAGE: usize = 16;

/// The query that lists the cards a scope covers.
pub(super) fn scope_query(t: &TenantId, scope: &Scope) -> Query {
    let prefix = SortKey::Prefix("CLIENT#".into());
    match scope {
        Scope::All => Query::table(tenant_pk(t), prefix),
        Scope::Group(g) => {
            Query::index(Index::Gsi2, format!("{}#RGROUP#{g}", tenant_pk(t)), prefix)
        }
        Scope::Own(u) => Query::index(Index::Gsi1, format!("{}#RESP#{u}", tenant_pk(t)), prefix),
    }
}

fn bin_pk(t: &TenantId) -> String {
    format!("{}#BIN", tenant_pk(t))
}

fn bin_sk(deleted_at: i64, id: &ClientId) -> String {
    format!("{deleted_at:013}#{id}")
}

fn card_item(t: &TenantId, c: &Client) -> Result<Item, StoreError> {
    let mut item = encode(client_key(t, &c.id), c)?;
    if !c.is_deleted() {
        let sk = card_sk(&c.id);
        item = item.with_index(
            Index::Gsi1,
            Key::new(
                format!("{}#RESP#{}", tenant_pk(t), c.responsible),
                sk.clone(),
            ),
        );
        if let Some(g) = &c.responsible_group {
            item = item.with_index(
                Index::Gsi2,
                Key::new(format!("{}#RGROUP#{g}", tenant_pk(t)), sk.clone()),
            );
        }
        if let Some(org) = &c.organization {
            item = item.with_index(
                Index::Gsi3,
                Key::new(format!("{}#ORG#{org}", tenant_pk(t)), sk),
            );
        }
    }
    Ok(item)
}

/// The lookup entries a card owns in its current state.
fn lookups(t: &TenantId, c: &Client) -> Vec<Key> {
    let mut keys = value_lookups(t, c);
    if !c.is_deleted() {
        keys.extend(card_words(c).map(|w| {
            let sk = format!("{w}#{}", c.id);
            Key::new(word_pk(t, &w), sk)
        }));
    }
    keys
}

/// A card's search words as the index keys them.
fn card_words(c: &Client) -> impl Iterator<Item = String> {
    index_tokens(c)
        .into_iter()
        // `#` separates the token from the id in the sort key.
        .filter(|w| !w.contains('#'))
}

/// Cards whose items a bulk create makes per part it hands to the store.
const BUILD_PART_CARDS: usize = 250;
/// Postings per part, about as many items as a part of cards makes.
const BUILD_PART_POSTINGS: usize = 1000;
/// Parts made ahead of the store's writing.
const BUILD_PARTS_AHEAD: usize = 4;

/// Most card ids one posting item lists (≈ 40 bytes each, far inside an item).
const MAX_POSTING_IDS: usize = 1000;

/// The sort key of a posting: the cards of one bulk write that carry `word`,
/// listed in one item, keyed by the first of them. It sorts with the word's
/// one-card entries (`<word>#<id>`), so exact words still come first, and no
/// id holds `*`, so it never meets a one-card entry's key.
fn posting_sk(word: &str, first: &ClientId) -> String {
    format!("{word}#{first}#*")
}

/// A search-index item's body: one card (an entry a card owns) or a
/// posting's cards (written by a bulk create).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum WordHits {
    One(ClientId),
    Many(Vec<ClientId>),
}

/// The lookup entries of a card other than its search words: phones,
/// e-mails and an organization's name, or its recycle-bin entry.
fn value_lookups(t: &TenantId, c: &Client) -> Vec<Key> {
    match c.deleted_at {
        Some(at) => vec![Key::new(bin_pk(t), bin_sk(at, &c.id))],
        None => c
            .phones
            .iter()
            .map(|p| Key::new(phone_pk(t, p), card_sk(&c.id)))
            .chain(
                c.emails
                    .iter()
                    .map(|e| Key::new(email_pk(t, e), card_sk(&c.id))),
            )
            .chain(
                (c.kind == ClientKind::Organization)
                    .then(|| name_key(&c.name))
                    .filter(|k| !k.is_empty())
                    .map(|k| Key::new(org_name_pk(t, &k), card_sk(&c.id))),
            )
            .collect(),
    }
}

fn lookup_put(key: Key, id: &ClientId) -> Result<WriteOp, StoreError> {
    Ok(WriteOp::Put {
        item: encode(key, id)?,
        condition: Condition::None,
    })
}

/// What [`Clients::find_many`] looks cards up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// A phone in E.164.
    Phone(String),
    /// A normalised e-mail.
    Email(String),
    /// An organization's whole name (folded as [`name_key`] folds it).
    OrgName(String),
}

/// One card change for [`Clients::update_many`]: from `old` (read at `version`) to `new`.
#[derive(Debug, Clone, Copy)]
pub struct CardUpdate<'a> {
    pub old: &'a Client,
    pub new: &'a Client,
    pub version: u64,
    pub journal: &'a Journal,
}

/// The operations of one card change: the card at its version, its history,
/// and the lookups that come and go.
pub(super) fn update_ops(
    t: &TenantId,
    old: &Client,
    new: &Client,
    version: u64,
    journal: &Journal,
) -> Result<Vec<WriteOp>, StoreError> {
    if old.id != new.id {
        return Err(StoreError::Invalid("a card's id never changes".into()));
    }
    let (before, after) = (lookups(t, old), lookups(t, new));
    let mut ops = vec![WriteOp::Put {
        item: card_item(t, new)?,
        condition: Condition::Version(version),
    }];
    ops.extend(journal.ops(t)?);
    for k in before.iter().filter(|k| !after.contains(k)) {
        ops.push(WriteOp::Delete {
            key: k.clone(),
            condition: Condition::None,
        });
    }
    for k in after.into_iter().filter(|k| !before.contains(k)) {
        ops.push(lookup_put(k, &new.id)?);
    }
    Ok(ops)
}

pub(super) fn history_pk(t: &TenantId, client: &ClientId) -> String {
    format!("{}#HIST#{client}", tenant_pk(t))
}

fn notes_pk(t: &TenantId, user: &UserId) -> String {
    format!("{}#NOTE#{user}", tenant_pk(t))
}

// An update deletes the old lookups and writes the new ones in one transaction:
// even a card whose every phone, e-mail and word changes must fit in one.
const _: () = assert!(
    2 * (client::MAX_PHONES + client::MAX_EMAILS + client::MAX_SEARCH_TOKENS + 1) + 1 + 3
        <= crate::item::MAX_TRANSACT_OPS
);

/// What [`Clients::walk`] does with a card it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Take,
    Pass,
    /// End the walk before this card (it is not counted as read).
    Stop,
}

/// The outcome of [`Clients::walk`].
#[derive(Debug, Clone, Default)]
pub struct Walk {
    /// The cards taken, each with the cursor just after it.
    pub taken: Vec<(Client, String)>,
    /// Where to continue; `None` at the end of the cards or after a stop.
    pub cursor: Option<String>,
    /// Cards read (taken, passed over, or in the recycle bin).
    pub read: usize,
    /// `step` ended the walk.
    pub stopped: bool,
    /// The last card read before the walk ended (not one it stopped before).
    pub last: Option<ClientId>,
}

/// History entries and notifications written with a card change, atomically.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub activities: Vec<Activity>,
    pub notifications: Vec<Notification>,
}

impl Journal {
    pub fn activity(a: Activity) -> Journal {
        Journal {
            activities: vec![a],
            notifications: vec![],
        }
    }

    pub(crate) fn ops(&self, t: &TenantId) -> Result<Vec<WriteOp>, StoreError> {
        self.ops_with(t, Condition::NotExists)
    }

    fn ops_with(&self, t: &TenantId, condition: Condition) -> Result<Vec<WriteOp>, StoreError> {
        let mut ops = Vec::new();
        for a in &self.activities {
            let key = Key::new(history_pk(t, &a.client), format!("{:013}#{}", a.at, a.id));
            ops.push(WriteOp::Put {
                item: encode(key, a)?,
                condition,
            });
        }
        for n in &self.notifications {
            let key = Key::new(notes_pk(t, &n.user), format!("{:013}#{}", n.at, n.id));
            ops.push(WriteOp::Put {
                item: encode(key, n)?,
                condition,
            });
        }
        Ok(ops)
    }
}

impl Clients {
    pub async fn create(
        &self,
        t: &TenantId,
        c: &Client,
        journal: &Journal,
    ) -> Result<(), RepoError> {
        let mut ops = vec![WriteOp::Put {
            item: card_item(t, c)?,
            condition: Condition::NotExists,
        }];
        ops.extend(journal.ops(t)?);
        for k in lookups(t, c) {
            ops.push(lookup_put(k, &c.id)?);
        }
        self.items.transact(ops).await?;
        Ok(())
    }

    /// Creates many new cards, each with the same lookups and history entries
    /// [`Clients::create`] writes, except that the search words of the whole
    /// batch are written as postings, one item per word listing its cards,
    /// instead of one item per card and word (most of a card's items; see
    /// docs/decisions/014-search-word-postings.md), in one bulk write
    /// ([`ItemStore::write_batch_parts`]): one redb transaction on the embedded
    /// store, `BatchWriteItem` calls on DynamoDB. The items are made in parts
    /// of [`BUILD_PART_CARDS`] cards and handed over as they are made, so the
    /// store writes one part while the next is made. Not atomic as a whole on
    /// DynamoDB, and unconditional: the cards must be new and their ids the
    /// caller's own (the import derives them from the import and the row), so
    /// that writing the same cards again after an interruption rewrites the
    /// same items and creates nothing twice.
    pub async fn create_many(
        &self,
        t: &TenantId,
        cards: &[(&Client, &Journal)],
    ) -> Result<(), RepoError> {
        let (parts, received) = tokio::sync::mpsc::channel(BUILD_PARTS_AHEAD);
        let write = self.items.write_batch_parts(received);
        let make = async move {
            // Word → the batch's cards carrying it, in batch order (so a batch
            // written again makes the same postings under the same keys).
            let mut words: std::collections::BTreeMap<String, Vec<&ClientId>> = Default::default();
            for part in cards.chunks(BUILD_PART_CARDS) {
                let mut ops = Vec::with_capacity(part.len() * 4);
                for &(c, journal) in part {
                    ops.push(WriteOp::Put {
                        item: card_item(t, c)?,
                        condition: Condition::None,
                    });
                    ops.extend(journal.ops_with(t, Condition::None)?);
                    for k in value_lookups(t, c) {
                        ops.push(lookup_put(k, &c.id)?);
                    }
                    if !c.is_deleted() {
                        for w in card_words(c) {
                            words.entry(w).or_default().push(&c.id);
                        }
                    }
                }
                if parts.send(BatchPart::Ops(ops)).await.is_err() {
                    // The write stopped; its error says why.
                    return Ok(());
                }
            }
            let mut ops = Vec::new();
            for (w, ids) in &words {
                for part in ids.chunks(MAX_POSTING_IDS) {
                    let key = Key::new(word_pk(t, w), posting_sk(w, part[0]));
                    ops.push(WriteOp::Put {
                        item: encode(key, &part)?,
                        condition: Condition::None,
                    });
                }
                if ops.len() >= BUILD_PART_POSTINGS
                    && parts
                        .send(BatchPart::Ops(std::mem::take(&mut ops)))
                        .await
                        .is_err()
                {
                    return Ok(());
                }
            }
            for part in [BatchPart::Ops(ops), BatchPart::End] {
                if parts.send(part).await.is_err() {
                    return Ok(());
                }
            }
            Ok::<(), RepoError>(())
        };
        // Made here and written on the store's side at once.
        let (written, made) = tokio::join!(write, make);
        made?;
        written?;
        Ok(())
    }

    pub async fn get(&self, t: &TenantId, id: &ClientId) -> Result<Versioned<Client>, RepoError> {
        let item = self
            .items
            .get(&client_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("client"))?;
        Ok(versioned(&item)?)
    }

    /// Replaces `old` (read at `version`) with `new`, moving its lookup entries.
    pub async fn update(
        &self,
        t: &TenantId,
        old: &Client,
        new: &Client,
        version: u64,
        journal: &Journal,
    ) -> Result<u64, RepoError> {
        let ops = update_ops(t, old, new, version, journal)?;
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("client")),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(version + 1),
        }
    }

    /// Many [`update`](Self::update)s, packed into as few transactions as they
    /// fit (each card still changes all-or-nothing with its lookups and history).
    /// A transaction refused because one of its cards changed meanwhile is
    /// redone card by card, so only that card is left alone. Returns, per
    /// update, its new version, or `None` for a card that changed meanwhile.
    pub async fn update_many(
        &self,
        t: &TenantId,
        updates: &[CardUpdate<'_>],
    ) -> Result<Vec<Option<u64>>, RepoError> {
        let mut out = vec![None; updates.len()];
        let mut group: Vec<usize> = Vec::new();
        let mut ops: Vec<WriteOp> = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for (i, u) in updates.iter().enumerate() {
            let mine = update_ops(t, u.old, u.new, u.version, u.journal)?;
            let clash = mine.iter().any(|op| keys.contains(op.key()));
            if !group.is_empty()
                && (clash || ops.len() + mine.len() > crate::item::MAX_TRANSACT_OPS)
            {
                self.land_group(t, updates, &group, std::mem::take(&mut ops), &mut out)
                    .await?;
                group.clear();
                keys.clear();
            }
            keys.extend(mine.iter().map(|op| op.key().clone()));
            ops.extend(mine);
            group.push(i);
        }
        if !group.is_empty() {
            self.land_group(t, updates, &group, ops, &mut out).await?;
        }
        Ok(out)
    }

    async fn land_group(
        &self,
        t: &TenantId,
        updates: &[CardUpdate<'_>],
        group: &[usize],
        ops: Vec<WriteOp>,
        out: &mut [Option<u64>],
    ) -> Result<(), RepoError> {
        match self.items.transact(ops).await {
            Ok(()) => {
                for &i in group {
                    out[i] = Some(updates[i].version + 1);
                }
                Ok(())
            }
            Err(StoreError::ConditionFailed(_)) => {
                for &i in group {
                    let u = &updates[i];
                    out[i] = match self.update(t, u.old, u.new, u.version, u.journal).await {
                        Ok(v) => Some(v),
                        Err(RepoError::Stale(_)) => None,
                        Err(e) => return Err(e),
                    };
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a card for good, with its lookup entries, history and events
    /// (recycle-bin purge). History and events go first: if the purge is
    /// interrupted, the card is still in the bin and the next run finishes it.
    pub async fn purge(&self, t: &TenantId, c: &Client, version: u64) -> Result<(), RepoError> {
        let queries = [
            Query::table(history_pk(t, &c.id), SortKey::All),
            super::events::of_client_query(t, &c.id),
        ];
        for q in queries {
            self.delete_all(q).await?;
        }
        let mut ops = vec![WriteOp::Delete {
            key: client_key(t, &c.id),
            condition: Condition::Version(version),
        }];
        for k in lookups(t, c) {
            ops.push(WriteOp::Delete {
                key: k,
                condition: Condition::None,
            });
        }
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("client")),
            other => Ok(other?),
        }
    }

    /// Deletes every item a query finds, a hundred per transaction.
    async fn delete_all(&self, q: Query) -> Result<(), RepoError> {
        loop {
            let page = self.items.query(q.clone().limit(100)).await?;
            if page.items.is_empty() {
                break;
            }
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
        Ok(())
    }

    /// Live cards the scope may see, newest id last (ids are ULIDs).
    pub async fn list(
        &self,
        t: &TenantId,
        scope: &Scope,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<Client>, RepoError> {
        let page = self
            .items
            .query(scope_query(t, scope).limit(limit).after(cursor))
            .await?;
        let cards: Vec<Client> = page
            .items
            .iter()
            .map(Item::decode)
            .collect::<Result<_, _>>()?;
        Ok(Listing {
            items: cards.into_iter().filter(|c| !c.is_deleted()).collect(),
            cursor: page.cursor,
        })
    }

    /// Live cards in the scope that `keep` accepts, in id order, after `cursor`:
    /// up to `limit` of them, reading at most `max_read` cards. The cursor
    /// continues after the last card read, so a selective filter gives short
    /// pages with a cursor instead of reading a whole base in one call.
    pub async fn scan(
        &self,
        t: &TenantId,
        scope: &Scope,
        cursor: Option<String>,
        limit: usize,
        max_read: usize,
        keep: impl Fn(&Client) -> bool,
    ) -> Result<Listing<Client>, RepoError> {
        let walk = self
            .walk(t, scope, cursor, limit, max_read, |c| {
                if keep(c) { Step::Take } else { Step::Pass }
            })
            .await?;
        Ok(Listing {
            items: walk.taken.into_iter().map(|(c, _)| c).collect(),
            cursor: walk.cursor,
        })
    }

    /// Live cards in the scope in id order after `cursor`, each handed to
    /// `step`, which takes it, passes it over, or ends the walk before it.
    /// Stops after `limit` taken cards or `max_read` cards read; see [`Walk`].
    pub async fn walk(
        &self,
        t: &TenantId,
        scope: &Scope,
        mut cursor: Option<String>,
        limit: usize,
        max_read: usize,
        mut step: impl FnMut(&Client) -> Step,
    ) -> Result<Walk, RepoError> {
        let base = scope_query(t, scope);
        let mut walk = Walk::default();
        // Small reads first: a walk that wants one card often finds it among
        // the first few; each further read doubles, up to a full page.
        let mut page_size = limit.clamp(FIRST_WALK_PAGE, SCAN_PAGE);
        while walk.read < max_read && walk.taken.len() < limit {
            let q = base
                .clone()
                .limit((max_read - walk.read).min(page_size))
                .after(cursor.take());
            page_size = (page_size * 2).min(SCAN_PAGE);
            let page = self.items.query(q).await?;
            for (i, item) in page.items.iter().enumerate() {
                let card: Client = item.decode()?;
                if card.is_deleted() {
                    walk.read += 1;
                    continue;
                }
                let verdict = step(&card);
                if verdict != Step::Stop {
                    walk.last = Some(card.id.clone());
                }
                match verdict {
                    Step::Stop => {
                        walk.stopped = true;
                        walk.cursor = None;
                        return Ok(walk);
                    }
                    Step::Pass => walk.read += 1,
                    Step::Take => {
                        walk.read += 1;
                        walk.taken.push((card, cursor_after(base.index, item)));
                        if walk.taken.len() == limit {
                            let last = i + 1 == page.items.len();
                            walk.cursor = if last {
                                page.cursor.clone()
                            } else {
                                Some(cursor_after(base.index, item))
                            };
                            return Ok(walk);
                        }
                    }
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => {
                    walk.cursor = None;
                    return Ok(walk);
                }
            }
        }
        walk.cursor = cursor;
        Ok(walk)
    }

    /// Live contacts of an organization.
    pub async fn contacts_of(
        &self,
        t: &TenantId,
        org: &ClientId,
    ) -> Result<Vec<Client>, RepoError> {
        let q = Query::index(
            Index::Gsi3,
            format!("{}#ORG#{org}", tenant_pk(t)),
            SortKey::Prefix("CLIENT#".into()),
        )
        .limit(1000);
        let page = self.items.query(q).await?;
        Ok(page
            .items
            .iter()
            .map(Item::decode)
            .collect::<Result<_, _>>()?)
    }

    async fn ids_under(&self, pk: String) -> Result<Vec<ClientId>, RepoError> {
        let page = self
            .items
            .query(Query::table(pk, SortKey::All).limit(1000))
            .await?;
        Ok(page
            .items
            .iter()
            .map(Item::decode)
            .collect::<Result<_, _>>()?)
    }

    /// Live cards with this phone (E.164).
    pub async fn find_by_phone(
        &self,
        t: &TenantId,
        e164: &str,
    ) -> Result<Vec<ClientId>, RepoError> {
        self.ids_under(phone_pk(t, e164)).await
    }

    /// Live organizations with this whole name (compared as [`name_key`] folds it).
    pub async fn find_org_by_name(
        &self,
        t: &TenantId,
        name: &str,
    ) -> Result<Vec<ClientId>, RepoError> {
        let key = name_key(name);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        self.ids_under(org_name_pk(t, &key)).await
    }

    /// Live cards with this e-mail (normalised).
    pub async fn find_by_email(
        &self,
        t: &TenantId,
        email: &str,
    ) -> Result<Vec<ClientId>, RepoError> {
        self.ids_under(email_pk(t, email)).await
    }

    /// The live cards under each lookup, in the order of `lookups`: what
    /// [`find_by_phone`](Self::find_by_phone), [`find_by_email`](Self::find_by_email)
    /// and [`find_org_by_name`](Self::find_org_by_name) answer, read together
    /// (one read transaction on the embedded store, concurrent queries on
    /// DynamoDB) for a caller that checks many cards at once.
    pub async fn find_many(
        &self,
        t: &TenantId,
        lookups: &[Lookup],
    ) -> Result<Vec<Vec<ClientId>>, RepoError> {
        let mut queries = Vec::with_capacity(lookups.len());
        // Position of each lookup's query, `None` for a name that folds to nothing.
        let mut at = Vec::with_capacity(lookups.len());
        for l in lookups {
            let pk = match l {
                Lookup::Phone(e164) => Some(phone_pk(t, e164)),
                Lookup::Email(email) => Some(email_pk(t, email)),
                Lookup::OrgName(name) => Some(name_key(name))
                    .filter(|k| !k.is_empty())
                    .map(|k| org_name_pk(t, &k)),
            };
            at.push(pk.map(|pk| {
                queries.push(Query::table(pk, SortKey::All).limit(1000));
                queries.len() - 1
            }));
        }
        let pages = self.items.query_many(queries).await?;
        at.into_iter()
            .map(|at| match at {
                None => Ok(Vec::new()),
                Some(i) => Ok(pages[i]
                    .items
                    .iter()
                    .map(Item::decode)
                    .collect::<Result<_, _>>()?),
            })
            .collect()
    }

    /// [`get`](Self::get) of many cards read together, in the order of `ids`;
    /// `None` for a card that does not exist.
    pub async fn get_many(
        &self,
        t: &TenantId,
        ids: &[ClientId],
    ) -> Result<Vec<Option<Versioned<Client>>>, RepoError> {
        let keys: Vec<Key> = ids.iter().map(|id| client_key(t, id)).collect();
        let items = self.items.get_many(&keys).await?;
        items
            .into_iter()
            .map(|item| {
                item.map(|item| {
                    let version = item.version;
                    Ok(Versioned {
                        value: item.into_decoded()?,
                        version,
                    })
                })
                .transpose()
            })
            .collect()
    }

    /// Cards in the recycle bin, oldest deletion first, up to `deleted_before` (exclusive) if given.
    pub async fn bin(
        &self,
        t: &TenantId,
        deleted_before: Option<i64>,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<ClientId>, RepoError> {
        let sk = match deleted_before {
            Some(before) => {
                // Entries are `<deleted-at>#<id>`; all deleted before `before` sort below `<before>`.
                SortKey::Between("0".into(), format!("{before:013}"))
            }
            None => SortKey::All,
        };
        listing(
            self.items.as_ref(),
            Query::table(bin_pk(t), sk).limit(limit).after(cursor),
        )
        .await
    }
}

impl Clients {
    /// A card's history, newest first.
    pub async fn history(
        &self,
        t: &TenantId,
        client: &ClientId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<Activity>, RepoError> {
        let q = Query::table(history_pk(t, client), SortKey::All)
            .descending()
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// One history entry of a card with its version, found by its id.
    pub async fn history_entry(
        &self,
        t: &TenantId,
        client: &ClientId,
        id: &ActivityId,
    ) -> Result<Versioned<Activity>, RepoError> {
        let mut cursor = None;
        loop {
            let q = Query::table(history_pk(t, client), SortKey::All)
                .descending()
                .limit(500)
                .after(cursor);
            let page = self.items.query(q).await?;
            for item in &page.items {
                if item.key.sk.ends_with(&format!("#{id}")) {
                    return Ok(versioned(item)?);
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Err(RepoError::NotFound("history entry")),
            }
        }
    }

    /// Saves a corrected entry if nobody changed it since `version`.
    pub async fn save_history_entry(
        &self,
        t: &TenantId,
        entry: &Activity,
        version: u64,
    ) -> Result<(), RepoError> {
        let key = Key::new(
            history_pk(t, &entry.client),
            format!("{:013}#{}", entry.at, entry.id),
        );
        match self
            .items
            .put(encode(key, entry)?, Condition::Version(version))
            .await
        {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("history entry")),
            other => {
                other?;
                Ok(())
            }
        }
    }

    /// A user's notifications, newest first.
    pub async fn notifications(
        &self,
        t: &TenantId,
        user: &UserId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<Notification>, RepoError> {
        let q = Query::table(notes_pk(t, user), SortKey::All)
            .descending()
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }
}

impl Clients {
    /// Ids of cards with a search token starting with `term`, at most `max`,
    /// in token order (so whole-word hits come first). The words a card owns
    /// move with it in every transaction, so such a card is listed while it
    /// is live and carries the word. Cards created in bulk
    /// ([`create_many`](Self::create_many)) are listed through their batch's
    /// postings, which later changes do not rewrite: such a card stays listed
    /// under the words it was created with, also after it changed or went to
    /// the recycle bin. Callers read each card and check it (the API's search
    /// checks that it is live, in scope and matches the query).
    pub async fn search(
        &self,
        t: &TenantId,
        term: &str,
        max: usize,
    ) -> Result<Vec<ClientId>, RepoError> {
        let mut ids: Vec<ClientId> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        if term.is_empty() || term.contains('#') {
            return Ok(ids);
        }
        // The index keeps no token another one reaches: a dropped token's
        // prefixes are looked up through its variant (`8…` as `7…`).
        for prefix in index_prefixes(term) {
            if self.scan_word(t, &prefix, max, &mut ids, &mut seen).await? {
                break;
            }
        }
        Ok(ids)
    }

    /// Adds the cards of index words starting with `prefix` to `ids` until it
    /// holds `max`; true when it does.
    async fn scan_word(
        &self,
        t: &TenantId,
        prefix: &str,
        max: usize,
        ids: &mut Vec<ClientId>,
        seen: &mut std::collections::HashSet<ClientId>,
    ) -> Result<bool, RepoError> {
        let mut cursor = None;
        // Small pages first: a posting can list many cards.
        let mut page_size = 16;
        loop {
            let q = Query::table(word_pk(t, prefix), SortKey::Prefix(prefix.to_string()))
                .limit(page_size.min(max.saturating_sub(ids.len())).max(1))
                .after(cursor);
            page_size = (page_size * 2).min(500);
            let page = self.items.query(q).await?;
            for item in page.items {
                let hits = match item.into_decoded::<WordHits>()? {
                    WordHits::One(id) => vec![id],
                    WordHits::Many(ids) => ids,
                };
                for id in hits {
                    if seen.insert(id.clone()) {
                        ids.push(id);
                        if ids.len() == max {
                            return Ok(true);
                        }
                    }
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(false),
            }
        }
    }
}
