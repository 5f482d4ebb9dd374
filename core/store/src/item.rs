//! The item port: a single table of versioned items addressed by partition key
//! (`pk`) and sort key (`sk`), with up to [`GSI_COUNT`] secondary indexes.
//!
//! Semantics every backend keeps (the conformance suite checks them):
//! - Sort keys order by their UTF-8 bytes; queries return items in that order.
//! - Each item has a version, 1 on create, +1 on every write.
//! - A write with a [`Condition`] that does not hold fails with
//!   `StoreError::ConditionFailed` and changes nothing.
//! - [`ItemStore::transact`] applies all operations or none.
//! - Index entries are written in the same atomic step as the item.
//! - [`ItemStore::write_batch`] writes many unconditional puts and deletes in
//!   bulk; each item (with its index entries) is written whole, but the batch as
//!   a whole is not atomic on every backend.

use crate::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub const GSI_COUNT: usize = 3;
/// Most operations in one transaction (DynamoDB's limit).
pub const MAX_TRANSACT_OPS: usize = 100;
/// Largest item body in bytes (DynamoDB allows 400 KB per item including keys).
pub const MAX_BODY_BYTES: usize = 350 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// Keys are non-empty, at most 1 KiB, and free of NUL (the embedded
    /// backend's separator) — checked by every backend before any write.
    fn corrupt(&self, e: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("{}/{}: {e}", self.pk, self.sk))
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        for (name, v) in [("pk", &self.pk), ("sk", &self.sk)] {
            if v.is_empty() || v.len() > 1024 || v.contains('\0') {
                return Err(StoreError::Invalid(format!(
                    "{name} must be 1-1024 bytes without NUL"
                )));
            }
        }
        Ok(())
    }
}

/// A secondary index. Each is a (pk, sk) pair an item may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub const ALL: [Index; GSI_COUNT] = [Index::Gsi1, Index::Gsi2, Index::Gsi3];
    pub fn slot(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        ["gsi1", "gsi2", "gsi3"][self.slot()]
    }
}

/// An item's body: the aggregate as JSON text. Repositories serialise their
/// aggregates straight into it and read them straight out of it, and backends
/// store the text as it is, so no `serde_json::Value` tree is built on either
/// side (for a bulk load that tree was most of the allocations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Body, StoreError> {
        serde_json::to_string(value)
            .map(Body)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Text a backend stored from a [`Body`]; checked when it is decoded.
    pub(crate) fn from_stored(text: String) -> Body {
        Body(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Size in bytes, as stored.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<serde_json::Value> for Body {
    fn from(value: serde_json::Value) -> Body {
        Body(value.to_string())
    }
}

impl std::fmt::Display for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    pub gsi: [Option<Key>; GSI_COUNT],
    /// The aggregate, serialised as JSON.
    pub body: Body,
    /// Set by the store: 1 after create, +1 per write. Ignored on input.
    pub version: u64,
}

impl Item {
    pub fn new(key: Key, body: impl Into<Body>) -> Item {
        Item {
            key,
            gsi: Default::default(),
            body: body.into(),
            version: 0,
        }
    }

    pub fn with_index(mut self, index: Index, key: Key) -> Item {
        self.gsi[index.slot()] = Some(key);
        self
    }

    /// The key checks of [`validate`](Self::validate) without the body's size,
    /// for a backend that measures the body as it serialises it for storage.
    pub(crate) fn validate_keys(&self) -> Result<(), StoreError> {
        self.key.validate()?;
        for k in self.gsi.iter().flatten() {
            k.validate()?;
        }
        Ok(())
    }

    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(self.body.as_str()).map_err(|e| self.key.corrupt(e))
    }
    /// [`decode`](Self::decode), consuming the item.
    pub fn into_decoded<T: serde::de::DeserializeOwned>(self) -> Result<T, StoreError> {
        self.decode()
    }

    // The embedded backend checks body sizes as it stores them.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        self.validate_keys()?;
        let size = self.body.len();
        if size > MAX_BODY_BYTES {
            return Err(StoreError::Invalid(format!(
                "item body is {size} bytes, limit {MAX_BODY_BYTES}"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    #[default]
    None,
    /// The item must not exist (create).
    NotExists,
    /// The item must exist (update or delete of a known item).
    Exists,
    /// The item must exist at exactly this version (optimistic concurrency).
    Version(u64),
}

impl Condition {
    /// Does the condition hold for an item currently at `current` (None = absent)?
    pub fn holds(self, current: Option<u64>) -> bool {
        match self {
            Condition::None => true,
            Condition::NotExists => current.is_none(),
            Condition::Exists => current.is_some(),
            Condition::Version(v) => current == Some(v),
        }
    }
}

#[derive(Debug, Clone)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    /// Writes nothing; the transaction fails unless the condition holds.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn key(&self) -> &Key {
        match self {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    All,
    Prefix(String),
    /// Inclusive on both ends, like DynamoDB's BETWEEN.
    Between(String, String),
}

impl SortKey {
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortKey::All => true,
            SortKey::Prefix(p) => sk.starts_with(p.as_str()),
            SortKey::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    /// `None` queries the table by `pk`; `Some` queries that index by its pk.
    pub index: Option<Index>,
    pub pk: String,
    pub sk: SortKey,
    pub limit: usize,
    /// Continue after this position (from the previous page's `cursor`).
    pub cursor: Option<String>,
    pub descending: bool,
}

impl Query {
    pub fn table(pk: impl Into<String>, sk: SortKey) -> Query {
        Query {
            index: None,
            pk: pk.into(),
            sk,
            limit: 100,
            cursor: None,
            descending: false,
        }
    }
    pub fn index(index: Index, pk: impl Into<String>, sk: SortKey) -> Query {
        Query {
            index: Some(index),
            ..Query::table(pk, sk)
        }
    }
    pub fn limit(mut self, limit: usize) -> Query {
        self.limit = limit;
        self
    }
    pub fn after(mut self, cursor: Option<String>) -> Query {
        self.cursor = cursor;
        self
    }
    pub fn descending(mut self) -> Query {
        self.descending = true;
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; pass it to [`Query::after`].
    pub cursor: Option<String>,
}

/// The cursor both backends use: the last returned item's position, as JSON in
/// URL-safe base64, so it can travel in a query string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CursorPos {
    pub pk: String,
    pub sk: String,
    /// The index key of the last item, for index queries.
    pub gsi: Option<Key>,
}

impl CursorPos {
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
    pub fn decode(s: &str) -> Result<CursorPos, StoreError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
        serde_json::from_slice(&bytes).map_err(|_| StoreError::Invalid("malformed cursor".into()))
    }
}

/// The cursor that continues a query on `index` after `item`: what both
/// backends return at the end of a full page, and what a caller that stops
/// inside a page (a filtered scan) hands out instead.
pub(crate) fn cursor_after(index: Option<Index>, item: &Item) -> String {
    CursorPos {
        pk: item.key.pk.clone(),
        sk: item.key.sk.clone(),
        gsi: index.and_then(|ix| item.gsi[ix.slot()].clone()),
    }
    .encode()
}

#[async_trait]
pub trait ItemStore: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes the item if the condition holds; returns the new version.
    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError>;
    /// Deletes the item if the condition holds (deleting an absent item with `Condition::None` is a no-op).
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;
    /// All operations or none. At most [`MAX_TRANSACT_OPS`], each on a distinct key.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    async fn query(&self, query: Query) -> Result<Page, StoreError>;
    /// Unconditional puts and deletes in bulk, any number, each on a distinct
    /// key; for loading many new items fast. Each item is written whole with its
    /// index entries, but the batch as a whole is **not atomic** on every
    /// backend (DynamoDB: an error may leave some operations applied), so callers
    /// make it safe to write the same batch again. A put of a new item gets
    /// version 1; overwriting an existing item is allowed but its version is then
    /// backend-defined (embedded: +1, DynamoDB: 1 again), so items that others
    /// update under [`Condition::Version`] should not be batch-overwritten.
    /// Any condition other than [`Condition::None`], a `Check`, or a repeated key
    /// is refused with `StoreError::Invalid` before anything is written.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// [`write_batch`](Self::write_batch) of operations that arrive in parts
    /// while the caller is still making the rest, closed by [`BatchPart::End`].
    /// The same rules hold for the batch as a whole (a key repeated across
    /// parts is refused too). A backend that can hold one write open writes
    /// each part as it comes (the embedded store: one transaction, committed
    /// at the end), so making and writing the operations overlap on two cores;
    /// the default gathers them and writes them together. Either way nothing
    /// is written when the parts stop without their end (their maker failed).
    async fn write_batch_parts(
        &self,
        mut parts: tokio::sync::mpsc::Receiver<BatchPart>,
    ) -> Result<(), StoreError> {
        let mut ops = Vec::new();
        while let Some(part) = parts.recv().await {
            match part {
                BatchPart::Ops(more) => ops.extend(more),
                BatchPart::End => return self.write_batch(ops).await,
            }
        }
        Err(unfinished_batch())
    }

    /// [`get`](Self::get) of many keys, answered in the order of `keys` (a key
    /// may repeat). For a caller that knows a batch of keys at once (the import
    /// checks a whole chunk's duplicates together): the embedded store reads
    /// them in one read transaction, DynamoDB sends the gets concurrently.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// [`query`](Self::query) of many queries, one page each, answered in the
    /// order of `queries`; see [`get_many`](Self::get_many).
    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        let mut out = Vec::with_capacity(queries.len());
        for q in queries {
            out.push(self.query(q).await?);
        }
        Ok(out)
    }
}

/// One part of a bulk write made while the earlier parts are written
/// ([`ItemStore::write_batch_parts`]).
#[derive(Debug)]
pub enum BatchPart {
    Ops(Vec<WriteOp>),
    /// Every part was sent: the batch may land.
    End,
}

/// The error of a bulk write whose parts stopped before their end.
pub(crate) fn unfinished_batch() -> StoreError {
    StoreError::Invalid("a bulk write's parts stopped before its end; nothing was written".into())
}

/// Checks shared by every backend before a bulk write touches storage.
// The embedded backend checks body sizes as it stores them.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(crate) fn validate_batch(ops: &[WriteOp]) -> Result<(), StoreError> {
    validate_batch_with(ops, Item::validate)
}

/// [`validate_batch`] without the bodies' sizes, for a backend that checks
/// them while writing and writes nothing when one is too large.
pub(crate) fn validate_batch_keys(ops: &[WriteOp]) -> Result<(), StoreError> {
    validate_batch_with(ops, Item::validate_keys)
}

/// [`validate_batch_keys`] of one part of a bulk write, `seen` holding the
/// keys of the parts before it.
pub(crate) fn validate_batch_part(
    ops: &[WriteOp],
    seen: &mut foldhash::HashSet<Key>,
) -> Result<(), StoreError> {
    check_batch_ops(ops, Item::validate_keys, |k| seen.insert(k.clone()))
}

fn validate_batch_with(
    ops: &[WriteOp],
    validate: fn(&Item) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(ops.len(), Default::default());
    check_batch_ops(ops, validate, |k| seen.insert(k))
}

/// `first_time` answers whether a key was not met before in the batch.
fn check_batch_ops<'a>(
    ops: &'a [WriteOp],
    validate: fn(&Item) -> Result<(), StoreError>,
    mut first_time: impl FnMut(&'a Key) -> bool,
) -> Result<(), StoreError> {
    for op in ops {
        match op {
            WriteOp::Put {
                item,
                condition: Condition::None,
            } => validate(item)?,
            WriteOp::Delete {
                key,
                condition: Condition::None,
            } => key.validate()?,
            WriteOp::Check { .. } => {
                return Err(StoreError::Invalid(
                    "a bulk write takes puts and deletes only".into(),
                ));
            }
            WriteOp::Put { condition, .. } | WriteOp::Delete { condition, .. } => {
                return Err(StoreError::Invalid(format!(
                    "a bulk write is unconditional, got {condition:?} on {}/{}",
                    op.key().pk,
                    op.key().sk
                )));
            }
        }
        if !first_time(op.key()) {
            return Err(StoreError::Invalid(format!(
                "key {}/{} appears twice in one bulk write",
                op.key().pk,
                op.key().sk
            )));
        }
    }
    Ok(())
}

/// Checks shared by every backend before a transaction touches storage.
// The embedded backend checks body sizes as it stores them.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(crate) fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    validate_transaction_with(ops, Item::validate)
}

/// [`validate_transaction`] without the bodies' sizes (see [`validate_batch_keys`]).
pub(crate) fn validate_transaction_keys(ops: &[WriteOp]) -> Result<(), StoreError> {
    validate_transaction_with(ops, Item::validate_keys)
}

fn validate_transaction_with(
    ops: &[WriteOp],
    validate: fn(&Item) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACT_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction has 1-{MAX_TRANSACT_OPS} operations, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        match op {
            WriteOp::Put { item, .. } => validate(item)?,
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key.validate()?,
        }
        if !seen.insert(op.key()) {
            return Err(StoreError::Invalid(format!(
                "key {}/{} appears twice in one transaction",
                op.key().pk,
                op.key().sk
            )));
        }
    }
    Ok(())
}
