use super::keys::{self, PAST};
use super::{backend, blocking};
use crate::StoreError;
use crate::item::{
    Condition, CursorPos, GSI_COUNT, Item, ItemStore, Key, Page, Query, SortKey, WriteOp,
    cursor_after, validate_batch, validate_transaction,
};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::Arc;

/// `pk \0 sk` → [`Stored`] as JSON.
const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// `gsi_pk \0 gsi_sk \0 pk \0 sk` → empty; the item is read from [`ITEMS`].
const GSI: [TableDefinition<&[u8], &[u8]>; GSI_COUNT] = [
    TableDefinition::new("gsi1"),
    TableDefinition::new("gsi2"),
    TableDefinition::new("gsi3"),
];

#[derive(Serialize, Deserialize)]
struct Stored {
    gsi: [Option<Key>; GSI_COUNT],
    body: serde_json::Value,
    version: u64,
}

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

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let s: Stored = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", key.pk, key.sk)))?;
    Ok(Item {
        key,
        gsi: s.gsi,
        body: s.body,
        version: s.version,
    })
}

struct Tables<'t> {
    items: Table<'t, &'static [u8], &'static [u8]>,
    gsi: Vec<Table<'t, &'static [u8], &'static [u8]>>,
}

impl Tables<'_> {
    fn current(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        match self.items.get(item_key(key).as_slice()).map_err(backend)? {
            Some(v) => Ok(Some(decode(key.clone(), v.value())?)),
            None => Ok(None),
        }
    }

    fn check(&self, key: &Key, condition: Condition) -> Result<Option<Item>, StoreError> {
        let current = self.current(key)?;
        if !condition.holds(current.as_ref().map(|i| i.version)) {
            return Err(StoreError::ConditionFailed(format!(
                "{condition:?} on {}/{}",
                key.pk, key.sk
            )));
        }
        Ok(current)
    }

    fn remove_index_entries(&mut self, old: &Item) -> Result<(), StoreError> {
        for (slot, g) in old.gsi.iter().enumerate() {
            if let Some(g) = g {
                self.gsi[slot]
                    .remove(gsi_key(g, &old.key).as_slice())
                    .map_err(backend)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: WriteOp) -> Result<u64, StoreError> {
        match op {
            WriteOp::Put { item, condition } => {
                let current = self.check(&item.key, condition)?;
                let version = current.as_ref().map_or(1, |c| c.version + 1);
                if let Some(old) = &current {
                    self.remove_index_entries(old)?;
                }
                for (slot, g) in item.gsi.iter().enumerate() {
                    if let Some(g) = g {
                        self.gsi[slot]
                            .insert(gsi_key(g, &item.key).as_slice(), [].as_slice())
                            .map_err(backend)?;
                    }
                }
                let stored = Stored {
                    gsi: item.gsi,
                    body: item.body,
                    version,
                };
                let bytes = serde_json::to_vec(&stored).map_err(backend)?;
                self.items
                    .insert(item_key(&item.key).as_slice(), bytes.as_slice())
                    .map_err(backend)?;
                Ok(version)
            }
            WriteOp::Delete { key, condition } => {
                if let Some(old) = self.check(&key, condition)? {
                    self.remove_index_entries(&old)?;
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
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(backend)?;
            let mut last = 0;
            {
                let mut t = Tables {
                    items: tx.open_table(ITEMS).map_err(backend)?,
                    gsi: GSI
                        .iter()
                        .map(|d| tx.open_table(*d))
                        .collect::<Result<_, _>>()
                        .map_err(backend)?,
                };
                for op in ops {
                    // An error returns before commit; dropping `tx` aborts every op.
                    last = t.apply(op)?;
                }
            }
            tx.commit().map_err(backend)?;
            Ok(last)
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
        item.validate()?;
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
        validate_transaction(&ops)?;
        self.write(ops).await.map(|_| ())
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_batch(&ops)?;
        if ops.is_empty() {
            return Ok(());
        }
        // One write transaction (one fsync) for the whole batch: atomic here.
        self.write(ops).await.map(|_| ())
    }

    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        if q.limit == 0 {
            return Err(StoreError::Invalid("query limit must be at least 1".into()));
        }
        let (lo, hi) = range(&q.pk, &q.sk);
        let cursor = q.cursor.as_deref().map(CursorPos::decode).transpose()?;
        let cursor_key = match (&cursor, q.index) {
            (None, _) => None,
            (Some(c), None) => Some(keys::join(&[&c.pk, &c.sk])),
            (Some(c), Some(_)) => {
                let g = c.gsi.as_ref().ok_or_else(|| {
                    StoreError::Invalid("cursor is not for an index query".into())
                })?;
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

        let tx = self.db.begin_read().map_err(backend)?;
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
                        StoreError::Corrupt(format!(
                            "index entry without item {}/{}",
                            key.pk, key.sk
                        ))
                    })?;
                    decode(key, v.value())?
                }
            };
            page.items.push(item);
        }
        Ok(page)
    }
}
