//! [`Queue`] on SQS standard queues named `<prefix><queue>`, created on first
//! use. The tenant travels in the message attribute `tenant`.

use super::{build_error, sdk_error};
use crate::StoreError;
use crate::queue::{Delivery, Queue, validate_send};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use callisto_domain::ids::TenantId;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const TENANT_ATTR: &str = "tenant";
/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;
/// SQS returns at most 10 messages per receive.
const MAX_RECEIVE: usize = 10;

#[derive(Debug)]
pub(crate) struct SqsQueue {
    client: Client,
    prefix: String,
    /// Queue name (without prefix) → queue URL.
    urls: Mutex<HashMap<String, String>>,
}

impl SqsQueue {
    pub(crate) fn new(client: Client, prefix: String) -> SqsQueue {
        SqsQueue {
            client,
            prefix,
            urls: Mutex::new(HashMap::new()),
        }
    }

    fn urls(&self) -> MutexGuard<'_, HashMap<String, String>> {
        // The map is only ever inserted into; a poisoned lock still holds valid URLs.
        self.urls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The URL of `queue`, creating the SQS queue if it does not exist.
    async fn url(&self, queue: &str) -> Result<String, StoreError> {
        if let Some(url) = self.urls().get(queue) {
            return Ok(url.clone());
        }
        let name = format!("{}{queue}", self.prefix);
        let url = match self.client.get_queue_url().queue_name(&name).send().await {
            Ok(out) => out.queue_url,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                let out = self
                    .client
                    .create_queue()
                    .queue_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk_error(format!("CreateQueue {name}"), e))?;
                tracing::info!(queue = %name, "created SQS queue");
                out.queue_url
            }
            Err(e) => return Err(sdk_error(format!("GetQueueUrl {name}"), e)),
        };
        let url =
            url.ok_or_else(|| StoreError::Backend(format!("no URL returned for queue {name}")))?;
        self.urls().insert(queue.to_string(), url.clone());
        Ok(url)
    }

    /// Forgets a cached URL whose queue was deleted behind our back.
    fn forget(&self, queue: &str) {
        self.urls().remove(queue);
    }
}

fn visibility_secs(visibility: Duration) -> i32 {
    let secs = visibility.as_secs() + u64::from(visibility.subsec_nanos() > 0);
    // Clamped to 1..=43200, so the conversion cannot fail.
    i32::try_from(secs.clamp(1, MAX_VISIBILITY_SECS)).unwrap_or(1)
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: &str, tenant: &TenantId, body: &str) -> Result<String, StoreError> {
        validate_send(queue, body)?;
        let url = self.url(queue).await?;
        let tenant_attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(tenant.as_str())
            .build()
            .map_err(build_error)?;
        let out = self
            .client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .message_attributes(TENANT_ATTR, tenant_attr)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_invalid_message_contents() => StoreError::Invalid(format!(
                    "queue {queue}: message has characters SQS does not accept"
                )),
                Some(s) if s.is_queue_does_not_exist() => {
                    self.forget(queue);
                    sdk_error(format!("SendMessage {queue}"), e)
                }
                _ => sdk_error(format!("SendMessage {queue}"), e),
            })?;
        out.message_id.ok_or_else(|| {
            StoreError::Backend(format!("SendMessage {queue}: no message id returned"))
        })
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        validate_send(queue, "")?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let url = self.url(queue).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(max.min(MAX_RECEIVE) as i32)
            .visibility_timeout(visibility_secs(visibility))
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names(TENANT_ATTR)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist())
                {
                    self.forget(queue);
                }
                sdk_error(format!("ReceiveMessage {queue}"), e)
            })?;
        let mut deliveries = Vec::new();
        for m in out.messages() {
            let (Some(message_id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                tracing::warn!(queue, "SQS message without id or receipt handle; skipped");
                continue;
            };
            let tenant = m
                .message_attributes()
                .and_then(|a| a.get(TENANT_ATTR))
                .and_then(|v| v.string_value())
                .and_then(|t| TenantId::parse(t).ok());
            let Some(tenant) = tenant else {
                // Not ours to process; it stays hidden for the visibility timeout and
                // then goes back (and to a dead-letter queue, if one is configured).
                tracing::warn!(
                    queue,
                    message_id,
                    "SQS message without a valid tenant attribute; skipped"
                );
                continue;
            };
            let receive_count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1);
            deliveries.push(Delivery {
                message_id: message_id.to_string(),
                receipt: receipt.to_string(),
                tenant,
                body: m.body().unwrap_or_default().to_string(),
                receive_count,
            });
        }
        Ok(deliveries)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        validate_send(queue, "")?;
        if receipt.is_empty() {
            return Err(StoreError::Invalid("empty receipt".into()));
        }
        let url = self.url(queue).await?;
        self.client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_receipt_handle_is_invalid() => {
                    StoreError::Invalid(format!("queue {queue}: invalid receipt"))
                }
                _ => sdk_error(format!("DeleteMessage {queue}"), e),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_and_clamps() {
        assert_eq!(visibility_secs(Duration::ZERO), 1);
        assert_eq!(visibility_secs(Duration::from_millis(1)), 1);
        assert_eq!(visibility_secs(Duration::from_secs(1)), 1);
        assert_eq!(visibility_secs(Duration::from_millis(1500)), 2);
        assert_eq!(visibility_secs(Duration::from_secs(100_000)), 43_200);
    }
}
