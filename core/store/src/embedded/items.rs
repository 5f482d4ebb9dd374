use super::keys::{self, PAST};
use super::{backend, blocking};
use crate::StoreError;
use crate::item::{
    BatchPart, Body, Condition, CursorPos, GSI_COUNT, Item, ItemStore, Key, MAX_BODY_BYTES, Page,
    Query, SortKey, WriteOp, cursor_after, unfinished_batch, validate_batch_keys,
    validate_batch_part, validate_transaction_keys,
};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use std::ops::Bound;
use std::sync::Arc;

/// `pk \0 sk` → the item as [`encode_stored`] lays it out.
const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// `gsi_pk \0 gsi_sk \0 pk \0 sk` → empty; the item is read from [`ITEMS`].
const GSI: [TableDefinition<&[u8], &[u8]>; GSI_COUNT] = [
    TableDefinition::new("gsi1"),
    TableDefinition::new("gsi2"),
    TableDefinition::new("gsi3"),
];

#[derive(Debug, Clone)]
pub struct RedbItems {
    db: Arc<Database>,
}

impl RedbItems {
    pub fn new(db: Arc<Database>) -> Result<RedbItems, StoreError> {
        // Create the tables once so read transactions never meet a missing table.
        let tx = db.begin_write().map_err(backend)?;
        tx.open_table(ITEMS).map_err(backend)?;
        for def in GSI {
            tx.open_table(def).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(RedbItems { db })
    }
}

fn item_key(k: &Key) -> Vec<u8> {
    keys::join(&[&k.pk, &k.sk])
}

fn gsi_key(g: &Key, k: &Key) -> Vec<u8> {
    keys::join(&[&g.pk, &g.sk, &k.pk, &k.sk])
}

/// A stored item: its version (u64, little-endian), then per index slot a
/// presence byte and, when present, the index pk and sk (each a u32
/// little-endian length and its bytes), then the body's JSON text as the
/// repository serialised it: no wrapper object to encode around it, and the
/// version can be set in place. A body over [`MAX_BODY_BYTES`] is refused;
/// this runs inside the write transaction, so a refusal aborts it and nothing
/// is written.
fn encode_stored(item: &Item, version: u64) -> Result<Vec<u8>, StoreError> {
    let keys: usize = item
        .gsi
        .iter()
        .flatten()
        .map(|k| 8 + k.pk.len() + k.sk.len())
        .sum();
    let body = item.body.as_str().as_bytes();
    if body.len() > MAX_BODY_BYTES {
        return Err(StoreError::Invalid(format!(
            "item body is {} bytes, limit {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    let mut out = Vec::with_capacity(8 + GSI_COUNT + keys + body.len());
    out.extend_from_slice(&version.to_le_bytes());
    for g in &item.gsi {
        match g {
            None => out.push(0),
            Some(k) => {
                out.push(1);
                for part in [&k.pk, &k.sk] {
                    out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                    out.extend_from_slice(part.as_bytes());
                }
            }
        }
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// Sets the version of an [`encode_stored`] value.
fn set_version(stored: &mut [u8], version: u64) {
    stored[..8].copy_from_slice(&version.to_le_bytes());
}

/// The version, index keys and the offset of the body in a stored value.
fn decode_head(
    key: &Key,
    bytes: &[u8],
) -> Result<(u64, [Option<Key>; GSI_COUNT], usize), StoreError> {
    let corrupt = || StoreError::Corrupt(format!("{}/{}: truncated item", key.pk, key.sk));
    let take = |at: &mut usize, n: usize| -> Result<&[u8], StoreError> {
        let s = bytes.get(*at..*at + n).ok_or_else(corrupt)?;
        *at += n;
        Ok(s)
    };
    let mut at = 0;
    let version = u64::from_le_bytes(take(&mut at, 8)?.try_into().map_err(|_| corrupt())?);
    let mut gsi: [Option<Key>; GSI_COUNT] = Default::default();
    for slot in &mut gsi {
        if take(&mut at, 1)?[0] == 0 {
            continue;
        }
        let mut parts = [String::new(), String::new()];
        for part in &mut parts {
            let len = u32::from_le_bytes(take(&mut at, 4)?.try_into().map_err(|_| corrupt())?);
            *part =
                String::from_utf8(take(&mut at, len as usize)?.to_vec()).map_err(|_| corrupt())?;
        }
        let [pk, sk] = parts;
        *slot = Some(Key { pk, sk });
    }
    Ok((version, gsi, at))
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let (version, gsi, at) = decode_head(&key, bytes)?;
    // Kept as text: checked when a repository decodes it.
    let body = String::from_utf8(bytes[at..].to_vec())
        .map(Body::from_stored)
        .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", key.pk, key.sk)))?;
    Ok(Item {
        key,
        gsi,
        body,
        version,
    })
}

struct Tables<'t> {
    items: Table<'t, &'static [u8], &'static [u8]>,
    gsi: Vec<Table<'t, &'static [u8], &'static [u8]>>,
}

impl Tables<'_> {
    /// The version and index keys of the item at `key`, if the condition holds.
    #[allow(clippy::type_complexity)]
    fn check(
        &self,
        key: &Key,
        condition: Condition,
    ) -> Result<Option<(u64, [Option<Key>; GSI_COUNT])>, StoreError> {
        let current = match self.items.get(item_key(key).as_slice()).map_err(backend)? {
            Some(v) => {
                let (version, gsi, _) = decode_head(key, v.value())?;
                Some((version, gsi))
            }
            None => None,
        };
        if !condition.holds(current.as_ref().map(|c| c.0)) {
            return Err(StoreError::ConditionFailed(format!(
                "{condition:?} on {}/{}",
                key.pk, key.sk
            )));
        }
        Ok(current)
    }

    fn remove_index_entries(
        &mut self,
        key: &Key,
        gsi: &[Option<Key>; GSI_COUNT],
    ) -> Result<(), StoreError> {
        for (slot, g) in gsi.iter().enumerate() {
            if let Some(g) = g {
                self.gsi[slot]
                    .remove(gsi_key(g, key).as_slice())
                    .map_err(backend)?;
            }
        }
        Ok(())
    }

    fn insert_index_entries(&mut self, item: &Item) -> Result<(), StoreError> {
        for (slot, g) in item.gsi.iter().enumerate() {
            if let Some(g) = g {
                self.gsi[slot]
                    .insert(gsi_key(g, &item.key).as_slice(), [].as_slice())
                    .map_err(backend)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: WriteOp) -> Result<u64, StoreError> {
        match op {
            // Unconditional (the bulk load's every put): written first, and the
            // item it replaced, if any, comes back from the same lookup, so a
            // new key costs one tree walk, not a read and then a write.
            WriteOp::Put {
                item,
                condition: Condition::None,
            } => {
                let key = item_key(&item.key);
                let mut stored = encode_stored(&item, 1)?;
                let replaced = self
                    .items
                    .insert(key.as_slice(), stored.as_slice())
                    .map_err(backend)?
                    .map(|old| decode_head(&item.key, old.value()))
                    .transpose()?;
                let mut version = 1;
                if let Some((old_version, old_gsi, _)) = replaced {
                    version = old_version + 1;
                    self.remove_index_entries(&item.key, &old_gsi)?;
                    set_version(&mut stored, version);
                    self.items
                        .insert(key.as_slice(), stored.as_slice())
                        .map_err(backend)?;
                }
                self.insert_index_entries(&item)?;
                Ok(version)
            }
            WriteOp::Put { item, condition } => {
                let current = self.check(&item.key, condition)?;
                let version = current.as_ref().map_or(1, |c| c.0 + 1);
                if let Some((_, old_gsi)) = &current {
                    self.remove_index_entries(&item.key, old_gsi)?;
                }
                self.insert_index_entries(&item)?;
                let stored = encode_stored(&item, version)?;
                self.items
                    .insert(item_key(&item.key).as_slice(), stored.as_slice())
                    .map_err(backend)?;
                Ok(version)
            }
            WriteOp::Delete {
                key,
                condition: Condition::None,
            } => {
                let removed = self
                    .items
                    .remove(item_key(&key).as_slice())
                    .map_err(backend)?
                    .map(|old| decode_head(&key, old.value()))
                    .transpose()?;
                if let Some((_, old_gsi, _)) = removed {
                    self.remove_index_entries(&key, &old_gsi)?;
                }
                Ok(0)
            }
            WriteOp::Delete { key, condition } => {
                if let Some((_, old_gsi)) = self.check(&key, condition)? {
                    self.remove_index_entries(&key, &old_gsi)?;
                    self.items
                        .remove(item_key(&key).as_slice())
                        .map_err(backend)?;
                }
                Ok(0)
            }
            WriteOp::Check { key, condition } => {
                self.check(&key, condition)?;
                Ok(0)
            }
        }
    }
}

impl RedbItems {
    /// Runs `ops` in one write transaction: committed only if every op succeeds.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<u64, StoreError> {
        self.in_transaction(move |t| {
            let mut last = 0;
            for op in ops {
                last = t.apply(op)?;
            }
            Ok(last)
        })
        .await
    }

    /// Runs `f` on the tables of one write transaction, on a blocking thread;
    /// commits if it succeeds. An error returns before the commit, and
    /// dropping the transaction aborts everything `f` did.
    async fn in_transaction<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(backend)?;
            let out = {
                let mut t = Tables {
                    items: tx.open_table(ITEMS).map_err(backend)?,
                    gsi: GSI
                        .iter()
                        .map(|d| tx.open_table(*d))
                        .collect::<Result<_, _>>()
                        .map_err(backend)?,
                };
                f(&mut t)?
            };
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }
}

/// The byte range of a query over keys laid out as `pk \0 sk [\0 …]`.
fn range(pk: &str, sk: &SortKey) -> (Vec<u8>, Vec<u8>) {
    let start = keys::under(&[pk]);
    match sk {
        SortKey::All => {
            let mut end = keys::join(&[pk]);
            end.push(PAST);
            (start, end)
        }
        SortKey::Prefix(p) => {
            let lo = keys::join(&[pk, p]);
            // 0xFF never occurs in UTF-8, so it bounds every extension of the prefix.
            let mut hi = lo.clone();
            hi.push(0xFF);
            (lo, hi)
        }
        SortKey::Between(a, b) => {
            let mut hi = keys::join(&[pk, b]);
            hi.push(PAST);
            (keys::join(&[pk, a]), hi)
        }
    }
}

#[async_trait]
impl ItemStore for RedbItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        key.validate()?;
        let tx = self.db.begin_read().map_err(backend)?;
        let items = tx.open_table(ITEMS).map_err(backend)?;
        let v = items.get(item_key(key).as_slice()).map_err(backend)?;
        v.map(|v| decode(key.clone(), v.value())).transpose()
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        item.validate_keys()?;
        self.write(vec![WriteOp::Put { item, condition }]).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        key.validate()?;
        self.write(vec![WriteOp::Delete {
            key: key.clone(),
            condition,
        }])
        .await
        .map(|_| ())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction_keys(&ops)?;
        self.write(ops).await.map(|_| ())
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_batch_keys(&ops)?;
        if ops.is_empty() {
            return Ok(());
        }
        // One write transaction (one fsync) for the whole batch: atomic here.
        self.write(ops).await.map(|_| ())
    }

    async fn write_batch_parts(
        &self,
        mut parts: tokio::sync::mpsc::Receiver<BatchPart>,
    ) -> Result<(), StoreError> {
        // Each part is applied as it arrives, while the caller makes the next.
        self.in_transaction(move |t| {
            let mut seen = foldhash::HashSet::default();
            loop {
                match parts.blocking_recv() {
                    Some(BatchPart::Ops(ops)) => {
                        validate_batch_part(&ops, &mut seen)?;
                        for op in ops {
                            t.apply(op)?;
                        }
                    }
                    Some(BatchPart::End) => return Ok(()),
                    None => return Err(unfinished_batch()),
                }
            }
        })
        .await
    }

    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        query_with(&tx, &q)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        for key in keys {
            key.validate()?;
        }
        // One read transaction (one snapshot) for all of them.
        let tx = self.db.begin_read().map_err(backend)?;
        let items = tx.open_table(ITEMS).map_err(backend)?;
        keys.iter()
            .map(|key| {
                let v = items.get(item_key(key).as_slice()).map_err(backend)?;
                v.map(|v| decode(key.clone(), v.value())).transpose()
            })
            .collect()
    }

    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        // One read transaction (one snapshot) for all of them.
        let tx = self.db.begin_read().map_err(backend)?;
        let mut pages = Vec::with_capacity(queries.len());
        for q in &queries {
            pages.push(query_with(&tx, q)?);
        }
        Ok(pages)
    }
}

/// A query in an open read transaction.
fn query_with(tx: &redb::ReadTransaction, q: &Query) -> Result<Page, StoreError> {
    if q.limit == 0 {
        return Err(StoreError::Invalid("query limit must be at least 1".into()));
    }
    let (lo, hi) = range(&q.pk, &q.sk);
    let cursor = q.cursor.as_deref().map(CursorPos::decode).transpose()?;
    let cursor_key = match (&cursor, q.index) {
        (None, _) => None,
        (Some(c), None) => Some(keys::join(&[&c.pk, &c.sk])),
        (Some(c), Some(_)) => {
            let g = c
                .gsi
                .as_ref()
                .ok_or_else(|| StoreError::Invalid("cursor is not for an index query".into()))?;
            Some(gsi_key(g, &Key::new(&c.pk, &c.sk)))
        }
    };
    let (mut start, mut end) = (
        Bound::Included(lo.as_slice()),
        Bound::Excluded(hi.as_slice()),
    );
    if let Some(c) = &cursor_key {
        if q.descending {
            end = Bound::Excluded(c.as_slice());
        } else {
            start = Bound::Excluded(c.as_slice());
        }
    }
    // An exhausted or inverted range (cursor past the end) has nothing more.
    if let (Bound::Excluded(s) | Bound::Included(s), Bound::Excluded(e)) = (start, end)
        && s >= e
    {
        return Ok(Page::default());
    }

    query_in(tx, q, start, end)
}

fn query_in(
    tx: &redb::ReadTransaction,
    q: &Query,
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
) -> Result<Page, StoreError> {
    let items = tx.open_table(ITEMS).map_err(backend)?;
    let table = match q.index {
        None => None,
        Some(i) => Some(tx.open_table(GSI[i.slot()]).map_err(backend)?),
    };
    let iter = match &table {
        None => items.range::<&[u8]>((start, end)),
        Some(t) => t.range::<&[u8]>((start, end)),
    }
    .map_err(backend)?;
    let iter: Box<dyn Iterator<Item = _>> = if q.descending {
        Box::new(iter.rev())
    } else {
        Box::new(iter)
    };

    let mut page = Page::default();
    for entry in iter {
        let (k, v) = entry.map_err(backend)?;
        if page.items.len() == q.limit {
            page.cursor = page.items.last().map(|i| cursor_after(q.index, i));
            break;
        }
        let parts = keys::split(k.value());
        let item = match q.index {
            None => {
                let [pk, sk]: [String; 2] = parts
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("item key".into()))?;
                decode(Key { pk, sk }, v.value())?
            }
            Some(_) => {
                let [_, _, pk, sk]: [String; 4] = parts
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("index key".into()))?;
                let key = Key { pk, sk };
                let v = items.get(item_key(&key).as_slice()).map_err(backend)?;
                let v = v.ok_or_else(|| {
                    StoreError::Corrupt(format!("index entry without item {}/{}", key.pk, key.sk))
                })?;
                decode(key, v.value())?
            }
        };
        page.items.push(item);
    }
    Ok(page)
}
