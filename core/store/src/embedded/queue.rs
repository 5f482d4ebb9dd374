use super::{backend, blocking, keys};
use crate::StoreError;
use crate::queue::{Delivery, Queue, validate_send};
use async_trait::async_trait;
use callisto_domain::ids::TenantId;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `queue \0 message-id` → [`Message`] as JSON. Message ids are ULIDs, so a
/// queue's messages are scanned oldest first.
const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("queue_messages");

#[derive(Serialize, Deserialize)]
struct Message {
    tenant: TenantId,
    body: String,
    /// Hidden until this time (ms since epoch); 0 = visible.
    visible_at: i64,
    receive_count: u32,
}

/// A durable local queue: every send and receive is a committed redb
/// transaction, so an unfinished message reappears after a crash once its
/// visibility timeout has passed.
#[derive(Debug, Clone)]
pub struct RedbQueue {
    db: Arc<Database>,
}

impl RedbQueue {
    pub fn new(db: Arc<Database>) -> Result<RedbQueue, StoreError> {
        let tx = db.begin_write().map_err(backend)?;
        tx.open_table(MESSAGES).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(RedbQueue { db })
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[async_trait]
impl Queue for RedbQueue {
    async fn send(&self, queue: &str, tenant: &TenantId, body: &str) -> Result<String, StoreError> {
        validate_send(queue, body)?;
        let id = ulid::Ulid::new().to_string();
        let key = keys::join(&[queue, &id]);
        let msg = serde_json::to_vec(&Message {
            tenant: tenant.clone(),
            body: body.to_string(),
            visible_at: 0,
            receive_count: 0,
        })
        .map_err(backend)?;
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(MESSAGES)
                .map_err(backend)?
                .insert(key.as_slice(), msg.as_slice())
                .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await?;
        Ok(id)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let prefix = keys::under(&[queue]);
        let db = self.db.clone();
        let hide_ms = visibility.as_millis() as i64;
        blocking(move || {
            let now = now_ms();
            let tx = db.begin_write().map_err(backend)?;
            let mut out = Vec::new();
            {
                let mut table = tx.open_table(MESSAGES).map_err(backend)?;
                let mut due = Vec::new();
                for entry in table.range::<&[u8]>(prefix.as_slice()..).map_err(backend)? {
                    let (k, v) = entry.map_err(backend)?;
                    if !k.value().starts_with(&prefix) || due.len() == max {
                        break;
                    }
                    let msg: Message = serde_json::from_slice(v.value())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if msg.visible_at <= now {
                        due.push((k.value().to_vec(), msg));
                    }
                }
                for (k, mut msg) in due {
                    msg.visible_at = now + hide_ms;
                    msg.receive_count += 1;
                    let bytes = serde_json::to_vec(&msg).map_err(backend)?;
                    table
                        .insert(k.as_slice(), bytes.as_slice())
                        .map_err(backend)?;
                    let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                    out.push(Delivery {
                        receipt: format!("{id}:{}", msg.receive_count),
                        message_id: id,
                        tenant: msg.tenant,
                        body: msg.body,
                        receive_count: msg.receive_count,
                    });
                }
            }
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        let id = receipt
            .split_once(':')
            .map(|(id, _)| id)
            .ok_or_else(|| StoreError::Invalid("malformed receipt".into()))?;
        let key = keys::join(&[queue, id]);
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(MESSAGES)
                .map_err(backend)?
                .remove(key.as_slice())
                .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }
}
