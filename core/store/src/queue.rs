//! The queue port: at-least-once delivery with a visibility timeout. A received
//! message is hidden for the timeout; unless deleted by then (the worker
//! finished), it is delivered again — also after the worker's process died.

use crate::StoreError;
use async_trait::async_trait;
use callisto_domain::ids::TenantId;
use std::time::Duration;

/// Largest message body (SQS's limit is 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// Pass to [`Queue::delete`] when the work is done.
    pub receipt: String,
    pub tenant: TenantId,
    pub body: String,
    /// 1 on first delivery, +1 on every redelivery.
    pub receive_count: u32,
}

#[async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Durably enqueues; returns the message id. Queue names are `[a-z0-9-]{1,64}`.
    async fn send(&self, queue: &str, tenant: &TenantId, body: &str) -> Result<String, StoreError>;
    /// Up to `max` visible messages, each hidden for `visibility`. Does not wait.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError>;
}

pub(crate) fn validate_send(queue: &str, body: &str) -> Result<(), StoreError> {
    let name_ok = !queue.is_empty()
        && queue.len() <= 64
        && queue
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(StoreError::Invalid(format!(
            "queue name {queue:?} must be [a-z0-9-]{{1,64}}"
        )));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(StoreError::Invalid(format!(
            "message is {} bytes, limit {MAX_MESSAGE_BYTES}",
            body.len()
        )));
    }
    Ok(())
}
