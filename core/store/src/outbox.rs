//! The mail outbox port: where the product hands over mail to be delivered.
//! Locally, [`FolderOutbox`] writes each message as an `.eml` file and logs it,
//! so sign-up confirmation links and invitations can be read on one laptop.

use crate::{Queue, StoreError};
use async_trait::async_trait;
use callisto_domain::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// The company the mail is sent for.
    pub tenant: TenantId,
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[async_trait]
pub trait Outbox: Send + Sync + std::fmt::Debug {
    /// Returns once the mail is durably accepted for delivery.
    async fn send(&self, mail: Mail) -> Result<(), StoreError>;
}

#[derive(Debug, Clone)]
pub struct FolderOutbox {
    dir: PathBuf,
    from: String,
}

impl FolderOutbox {
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> FolderOutbox {
        FolderOutbox {
            dir: dir.into(),
            from: from.into(),
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

fn header_safe(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[async_trait]
impl Outbox for FolderOutbox {
    async fn send(&self, mail: Mail) -> Result<(), StoreError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(StoreError::backend)?;
        let id = ulid::Ulid::new();
        let eml = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{id}@callisto.local>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            header_safe(&self.from),
            header_safe(&mail.to),
            header_safe(&mail.subject),
            mail.text.replace('\n', "\r\n"),
        );
        let tmp = self.dir.join(format!(".{id}.tmp"));
        let path = self.dir.join(format!("{id}.eml"));
        tokio::fs::write(&tmp, eml)
            .await
            .map_err(StoreError::backend)?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(StoreError::backend)?;
        tracing::info!(to = %mail.to, subject = %mail.subject, file = %path.display(), body = %mail.text, "mail written to outbox");
        Ok(())
    }
}

/// The queue that [`QueueOutbox`] fills; the mail-delivery worker drains it.
pub const MAIL_QUEUE: &str = "mail-outbox";

/// The outbox of the cloud deployment: each mail becomes a durable message on
/// [`MAIL_QUEUE`], so a mail accepted by a Lambda is never lost with it.
#[derive(Debug, Clone)]
pub struct QueueOutbox {
    queue: Arc<dyn Queue>,
}

impl QueueOutbox {
    pub fn new(queue: Arc<dyn Queue>) -> QueueOutbox {
        QueueOutbox { queue }
    }
}

#[async_trait]
impl Outbox for QueueOutbox {
    async fn send(&self, mail: Mail) -> Result<(), StoreError> {
        let body = serde_json::to_string(&mail).map_err(StoreError::backend)?;
        let id = self.queue.send(MAIL_QUEUE, &mail.tenant, &body).await?;
        tracing::info!(tenant = %mail.tenant, to = %mail.to, message_id = %id, "mail queued");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_one_eml_per_mail_without_header_injection() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = FolderOutbox::new(dir.path(), "Callisto <no-reply@callisto.local>");
        outbox
            .send(Mail {
                tenant: TenantId::parse("t1").unwrap(),
                to: "a@b.ru".into(),
                subject: "Hi\r\nBcc: evil@x.ru".into(),
                text: "line1\nline2".into(),
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(eml.contains("Subject: Hi  Bcc: evil@x.ru\r\n"));
        assert!(!eml.contains("\r\nBcc:"));
        assert!(eml.ends_with("line1\r\nline2\r\n"));
    }

    #[tokio::test]
    async fn queue_outbox_enqueues_the_whole_mail() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::embedded::open(dir.path()).unwrap();
        let mail = Mail {
            tenant: TenantId::parse("t1").unwrap(),
            to: "a@b.ru".into(),
            subject: "S".into(),
            text: "T".into(),
        };
        QueueOutbox::new(stores.queue.clone())
            .send(mail.clone())
            .await
            .unwrap();
        let got = stores
            .queue
            .receive(MAIL_QUEUE, 10, std::time::Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].tenant.as_str(), "t1");
        assert_eq!(serde_json::from_str::<Mail>(&got[0].body).unwrap(), mail);
    }
}
