//! E-mail from the card (D3): SMTP accounts (`MAILACCOUNT#<a>`), templates
//! (`EMAILTEMPLATE#<e>`, attachments as blobs under
//! `T#<t>/mail-templates/<e>/<attachment>`), users' signatures (`MAILSIG#<u>`)
//! and the mails queued on [`SEND_QUEUE`] (`MAIL#<m>`, gsi1 by card).
//!
//! Accounts and templates list the scenarios using them (`used_by`, kept by
//! the scenario repository), so one in use is not deleted.

use super::call_results::all_of;
use super::clients::{Journal, update_ops};
use super::{
    Listing, RepoError, Versioned, at_version, encode, listing, put_checked, tenant_key, tenant_pk,
    versioned,
};
use crate::StoreError;
use crate::blob::BlobKey;
use crate::item::{Condition, Index, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::activity::Activity;
use callisto_domain::client::Client;
use callisto_domain::ids::{
    AttachmentId, ClientId, EmailTemplateId, MailAccountId, MailId, TenantId, UserId,
};
use callisto_domain::mail::{EmailTemplate, MailAccount, OutgoingMail};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The queue mails to send wait on; a message's body is the mail id.
pub const SEND_QUEUE: &str = "tenant-mail";

#[derive(Debug, Clone)]
pub struct Mail {
    pub(crate) items: Arc<dyn ItemStore>,
}

pub(crate) fn account_key(t: &TenantId, id: &MailAccountId) -> Key {
    tenant_key(t, format!("MAILACCOUNT#{id}"))
}

pub(crate) fn template_key(t: &TenantId, id: &EmailTemplateId) -> Key {
    tenant_key(t, format!("EMAILTEMPLATE#{id}"))
}

fn signature_key(t: &TenantId, u: &UserId) -> Key {
    tenant_key(t, format!("MAILSIG#{u}"))
}

fn mail_key(t: &TenantId, id: &MailId) -> Key {
    tenant_key(t, format!("MAIL#{id}"))
}

fn client_mails_pk(t: &TenantId, c: &ClientId) -> String {
    format!("{}#MAILS#CLIENT#{c}", tenant_pk(t))
}

/// Where an attachment's bytes are kept.
pub fn attachment_key(
    t: &TenantId,
    template: &EmailTemplateId,
    attachment: &AttachmentId,
) -> Result<BlobKey, StoreError> {
    BlobKey::new(t, &format!("mail-templates/{template}/{attachment}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Signature {
    text: String,
}

impl Mail {
    /// Saves an account: created at `version` 0, else replaced if still at `version`.
    pub async fn save_account(
        &self,
        t: &TenantId,
        a: &MailAccount,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(account_key(t, &a.id), a)?,
            at_version(version),
            "mail account",
        )
        .await
    }

    pub async fn account(
        &self,
        t: &TenantId,
        id: &MailAccountId,
    ) -> Result<Versioned<MailAccount>, RepoError> {
        let item = self
            .items
            .get(&account_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("mail account"))?;
        Ok(versioned(&item)?)
    }

    /// Every account of the company (its own and users'), in creation order.
    pub async fn accounts(&self, t: &TenantId) -> Result<Vec<Versioned<MailAccount>>, RepoError> {
        all_of(self.items.as_ref(), t, "MAILACCOUNT#").await
    }

    /// Deletes an account no scenario uses (else `InUse` naming one).
    pub async fn delete_account(&self, t: &TenantId, id: &MailAccountId) -> Result<(), RepoError> {
        loop {
            let current = self.account(t, id).await?;
            if let Some(s) = current.value.used_by.first() {
                return Err(super::scenarios::in_use(&self.items, t, "mail account", s).await);
            }
            match self
                .items
                .delete(&account_key(t, id), Condition::Version(current.version))
                .await
            {
                Err(StoreError::ConditionFailed(_)) => continue,
                other => return Ok(other?),
            }
        }
    }

    pub async fn save_template(
        &self,
        t: &TenantId,
        e: &EmailTemplate,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(template_key(t, &e.id), e)?,
            at_version(version),
            "e-mail template",
        )
        .await
    }

    pub async fn template(
        &self,
        t: &TenantId,
        id: &EmailTemplateId,
    ) -> Result<Versioned<EmailTemplate>, RepoError> {
        let item = self
            .items
            .get(&template_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("e-mail template"))?;
        Ok(versioned(&item)?)
    }

    pub async fn templates(
        &self,
        t: &TenantId,
    ) -> Result<Vec<Versioned<EmailTemplate>>, RepoError> {
        all_of(self.items.as_ref(), t, "EMAILTEMPLATE#").await
    }

    /// Deletes a template no scenario uses (else `InUse`); returns it, so the
    /// caller removes its attachments' blobs.
    pub async fn delete_template(
        &self,
        t: &TenantId,
        id: &EmailTemplateId,
    ) -> Result<EmailTemplate, RepoError> {
        loop {
            let current = self.template(t, id).await?;
            if let Some(s) = current.value.used_by.first() {
                return Err(super::scenarios::in_use(&self.items, t, "e-mail template", s).await);
            }
            match self
                .items
                .delete(&template_key(t, id), Condition::Version(current.version))
                .await
            {
                Err(StoreError::ConditionFailed(_)) => continue,
                other => {
                    other?;
                    return Ok(current.value);
                }
            }
        }
    }

    /// A user's signature; empty when none was set.
    pub async fn signature(&self, t: &TenantId, u: &UserId) -> Result<String, RepoError> {
        Ok(match self.items.get(&signature_key(t, u)).await? {
            Some(item) => item.decode::<Signature>()?.text,
            None => String::new(),
        })
    }

    pub async fn set_signature(
        &self,
        t: &TenantId,
        u: &UserId,
        text: &str,
    ) -> Result<(), RepoError> {
        let sig = Signature { text: text.into() };
        self.items
            .put(encode(signature_key(t, u), &sig)?, Condition::None)
            .await?;
        Ok(())
    }

    fn mail_item(t: &TenantId, m: &OutgoingMail) -> Result<crate::item::Item, StoreError> {
        Ok(encode(mail_key(t, &m.id), m)?.with_index(
            Index::Gsi1,
            Key::new(client_mails_pk(t, &m.client), m.id.as_str()),
        ))
    }

    /// Saves a new mail; returns its version.
    pub async fn create_mail(&self, t: &TenantId, m: &OutgoingMail) -> Result<u64, RepoError> {
        Ok(self
            .items
            .put(Self::mail_item(t, m)?, Condition::NotExists)
            .await?)
    }

    pub async fn mail(
        &self,
        t: &TenantId,
        id: &MailId,
    ) -> Result<Versioned<OutgoingMail>, RepoError> {
        let item = self
            .items
            .get(&mail_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("mail"))?;
        Ok(versioned(&item)?)
    }

    /// Saves the mail's state if it is still at `version`.
    pub async fn save_mail(
        &self,
        t: &TenantId,
        m: &OutgoingMail,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            Self::mail_item(t, m)?,
            Condition::Version(version),
            "mail",
        )
        .await
    }

    /// The mails sent from a card, newest first.
    pub async fn client_mails(
        &self,
        t: &TenantId,
        c: &ClientId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<OutgoingMail>, RepoError> {
        let q = Query::index(Index::Gsi1, client_mails_pk(t, c), SortKey::All)
            .descending()
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// Marks the mail sent (it was at `version`) and writes its history entry
    /// in the card's transaction (the card read at `card_version`, unchanged),
    /// all or nothing. `Stale` if the mail or the card changed meanwhile.
    pub async fn mark_sent(
        &self,
        t: &TenantId,
        m: &OutgoingMail,
        version: u64,
        card: &Client,
        card_version: u64,
        entry: Activity,
    ) -> Result<(), RepoError> {
        let mut ops = update_ops(t, card, card, card_version, &Journal::activity(entry))?;
        ops.push(WriteOp::Put {
            item: Self::mail_item(t, m)?,
            condition: Condition::Version(version),
        });
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("mail")),
            other => Ok(other?),
        }
    }
}
