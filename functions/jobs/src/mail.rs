//! The mail worker (PRODUCT D3): sends the mails queued from cards through
//! the tenant's SMTP account, writes the "e-mail sent" history entry on the
//! card, and retries failures with backoff.
//!
//! Nothing acknowledged is lost: a queue message is deleted only once the
//! mail's state (sent, or failed for good) is saved; a failed attempt saves
//! the error and the time of the next attempt and leaves the message, which
//! comes back after its visibility timeout. A redelivered message of a mail
//! already sent or failed is acknowledged without sending again.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::activity::{Activity, ActivityKind};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::ids::{ActivityId, MailId, TenantId};
use callisto_domain::mail::{MailStatus, OutgoingMail, Recipient, render};
use callisto_store::Repos;
use callisto_store::repo::{RepoError, SEND_QUEUE, attachment_key};
use callisto_store::sealed::SealingKey;
use callisto_store::smtp::{self, MessageAttachment, OutgoingMessage, SmtpServer};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// What the mail worker needs besides the stores.
#[derive(Debug, Clone)]
pub struct MailJobs {
    /// Opens the SMTP accounts' passwords.
    pub key: Arc<SealingKey>,
    /// How long a received message stays hidden; a mail waiting for its next
    /// attempt is looked at again this often.
    pub visibility: Duration,
}

impl MailJobs {
    pub fn new(key: SealingKey) -> MailJobs {
        MailJobs {
            key: Arc::new(key),
            visibility: Duration::from_secs(60),
        }
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, or failed for good: the message is acknowledged.
    Finished(MailStatus),
    /// Not yet due, or an attempt failed and another follows: the message stays.
    Later,
}

/// Why a mail cannot be sent at all (nothing to retry).
enum Unsendable {
    Gone(String),
    Repo(RepoError),
}

impl From<RepoError> for Unsendable {
    fn from(e: RepoError) -> Unsendable {
        Unsendable::Repo(e)
    }
}

fn gone(what: &str) -> impl Fn(RepoError) -> Unsendable + '_ {
    move |e| match e {
        RepoError::NotFound(_) => Unsendable::Gone(format!("the {what} was deleted")),
        other => Unsendable::Repo(other),
    }
}

struct Prepared {
    server: SmtpServer,
    message: OutgoingMessage,
    card: Client,
    card_version: u64,
}

/// Reads everything the mail needs: card, template, account, signature, attachments.
async fn prepare(
    repos: &Repos,
    stores: &callisto_store::Stores,
    jobs: &MailJobs,
    t: &TenantId,
    mail: &OutgoingMail,
) -> Result<Prepared, Unsendable> {
    let card = repos
        .clients
        .get(t, &mail.client)
        .await
        .map_err(gone("card"))?;
    if card.value.is_deleted() {
        return Err(Unsendable::Gone("the card was deleted".into()));
    }
    let template = repos
        .mail
        .template(t, &mail.template)
        .await
        .map_err(gone("e-mail template"))?
        .value;
    let account = repos
        .mail
        .account(t, &mail.account)
        .await
        .map_err(gone("mail account"))?
        .value;
    let firm_name = match (&card.value.kind, &card.value.organization) {
        (ClientKind::Organization, _) => card.value.name.clone(),
        (ClientKind::Contact, Some(org)) => match repos.clients.get(t, org).await {
            Ok(o) => o.value.name,
            Err(RepoError::NotFound(_)) => String::new(),
            Err(e) => return Err(e.into()),
        },
        (ClientKind::Contact, None) => String::new(),
    };
    let c = &card.value;
    let to = Recipient {
        first_name: c.first_name.clone().unwrap_or_default(),
        last_name: c.last_name.clone().unwrap_or_default(),
        patronymic: c.patronymic.clone().unwrap_or_default(),
        firm_name,
    };
    let signature = repos.mail.signature(t, &mail.by).await?;
    let rendered = render(&template, &to, mail.extra_text.as_deref(), Some(&signature));
    let mut attachments = Vec::new();
    for a in &template.attachments {
        let key = attachment_key(t, &template.id, &a.id)
            .map_err(|e| Unsendable::Repo(RepoError::Store(e)))?;
        let blob = stores
            .blobs
            .get(&key)
            .await
            .map_err(|e| Unsendable::Repo(RepoError::Store(e)))?
            .ok_or_else(|| Unsendable::Gone(format!("the attachment {:?} is missing", a.name)))?;
        attachments.push(MessageAttachment {
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            data: blob.data,
        });
    }
    let password = match &account.sealed_password {
        Some(sealed) => Some(jobs.key.open(t, sealed).map_err(|e| {
            Unsendable::Gone(format!(
                "the mail account's password cannot be read ({e}); enter it again"
            ))
        })?),
        None => None,
    };
    Ok(Prepared {
        server: SmtpServer::for_account(&account, password),
        message: OutgoingMessage {
            from_address: account.from_address.clone(),
            from_name: account.from_name.clone(),
            to: mail.to.clone(),
            subject: rendered.subject,
            body: rendered.body,
            format: rendered.format,
            attachments,
        },
        card: card.value,
        card_version: card.version,
    })
}

/// The history entry of a sent mail; its id is the mail's, so it is one per mail.
fn history_entry(mail: &OutgoingMail, card: &Client, now: Millis) -> Result<Activity, JobError> {
    Ok(Activity {
        id: ActivityId::parse(mail.id.as_str()).map_err(|e| JobError::Invalid(e.to_string()))?,
        client: card.id.clone(),
        at: now,
        by: mail.by.clone(),
        kind: ActivityKind::Email,
        text: mail.subject.clone().unwrap_or_default(),
        details: BTreeMap::from([
            (
                "subject".to_string(),
                mail.subject.clone().unwrap_or_default(),
            ),
            ("to".to_string(), mail.to.clone()),
            ("mail".to_string(), mail.id.to_string()),
        ]),
        edited: None,
    })
}

/// One attempt at one queued mail, if it is due at `now`.
pub async fn send_mail(
    repos: &Repos,
    stores: &callisto_store::Stores,
    jobs: &MailJobs,
    t: &TenantId,
    id: &MailId,
    now: impl Fn() -> Millis,
) -> Result<Outcome, JobError> {
    let stored = repos.mail.mail(t, id).await?;
    let mut mail = stored.value;
    if mail.status != MailStatus::Queued {
        return Ok(Outcome::Finished(mail.status));
    }
    if now() < mail.next_attempt_at {
        return Ok(Outcome::Later);
    }
    let prepared = match prepare(repos, stores, jobs, t, &mail).await {
        Ok(p) => p,
        Err(Unsendable::Repo(e)) => return Err(e.into()),
        Err(Unsendable::Gone(why)) => {
            tracing::warn!(tenant = %t, mail = %id, reason = %why, "mail cannot be sent");
            mail.give_up(why);
            repos.mail.save_mail(t, &mail, stored.version).await?;
            return Ok(Outcome::Finished(MailStatus::Failed));
        }
    };
    mail.subject = Some(prepared.message.subject.clone());
    if let Err(e) = smtp::send(&prepared.server, &prepared.message).await {
        tracing::warn!(tenant = %t, mail = %id, error = %e, "sending a mail failed");
        mail.attempt_failed(e.to_string(), now());
        repos.mail.save_mail(t, &mail, stored.version).await?;
        return Ok(match mail.status {
            MailStatus::Queued => Outcome::Later,
            other => Outcome::Finished(other),
        });
    }
    let sent_at = now();
    mail.attempts += 1;
    mail.status = MailStatus::Sent;
    mail.sent_at = Some(sent_at);
    mail.last_error = None;
    let (mut card, mut card_version) = (prepared.card, prepared.card_version);
    // The card may change under us (an agent editing it); read it again a few times.
    for _ in 0..5 {
        let entry = history_entry(&mail, &card, sent_at)?;
        match repos
            .mail
            .mark_sent(t, &mail, stored.version, &card, card_version, entry)
            .await
        {
            Ok(()) => return Ok(Outcome::Finished(MailStatus::Sent)),
            Err(RepoError::Stale(_)) => {
                let again = repos.clients.get(t, &card.id).await?;
                (card, card_version) = (again.value, again.version);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(JobError::Repo(RepoError::Stale("card")))
}

/// Takes queued mails off the queue and tries each that is due; returns how
/// many messages were finished (sent or failed for good). A new message is
/// taken only while `more()` holds; a message seen again in the same pass
/// ends it (it waits for a later attempt).
pub async fn drain_mail_while(
    repos: &Repos,
    stores: &callisto_store::Stores,
    jobs: &MailJobs,
    now: impl Fn() -> Millis,
    more: impl Fn() -> bool,
) -> Result<usize, JobError> {
    let mut finished = 0;
    let mut seen = HashSet::new();
    while more() {
        let batch = stores
            .queue
            .receive(SEND_QUEUE, 10, jobs.visibility)
            .await?;
        if batch.is_empty() {
            return Ok(finished);
        }
        let mut fresh = false;
        for delivery in batch {
            if !seen.insert(delivery.message_id.clone()) {
                continue;
            }
            fresh = true;
            let Ok(id) = MailId::parse(delivery.body.trim()) else {
                tracing::error!(body = %delivery.body, "dropping a malformed mail message");
                stores.queue.delete(SEND_QUEUE, &delivery.receipt).await?;
                continue;
            };
            match send_mail(repos, stores, jobs, &delivery.tenant, &id, &now).await {
                Ok(Outcome::Finished(_)) | Err(JobError::Repo(RepoError::NotFound(_))) => {
                    stores.queue.delete(SEND_QUEUE, &delivery.receipt).await?;
                    finished += 1;
                }
                Ok(Outcome::Later) => {}
                // The message stays and comes back; the mail is untouched or saved.
                Err(e) => {
                    tracing::error!(tenant = %delivery.tenant, mail = %id, error = %e, "mail job failed; it will be retried")
                }
            }
        }
        if !fresh {
            return Ok(finished);
        }
    }
    Ok(finished)
}

/// [`drain_mail_while`] until the queue has nothing due.
pub async fn drain_mail(
    repos: &Repos,
    stores: &callisto_store::Stores,
    jobs: &MailJobs,
    now: impl Fn() -> Millis,
) -> Result<usize, JobError> {
    drain_mail_while(repos, stores, jobs, now, || true).await
}
