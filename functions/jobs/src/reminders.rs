//! The due-reminder pass (PRODUCT C13): every open event due within the lead
//! time whose assignee was not reminded yet gets a notification for the
//! assignee, and a mail when they have an e-mail. Marking the event reminded
//! and writing the notification are one transaction conditional on the
//! event's version, so a re-run (or a second runner) never notifies twice;
//! the mail goes to the outbox only after that transaction landed.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::event::{Event, reminder_notice};
use callisto_domain::ids::{ActivityId, TenantId};
use callisto_domain::user::UserStatus;
use callisto_store::Repos;
use callisto_store::outbox::{Mail, Outbox};
use callisto_store::repo::{Journal, RepoError};

/// Events read per query.
const PAGE: usize = 100;

/// Where reminders go and how early.
#[derive(Debug, Clone, Copy)]
pub struct Reminders<'a> {
    pub outbox: &'a dyn Outbox,
    /// How long before its time an event is reminded.
    pub lead: Millis,
}

/// Reminds the assignees of one tenant's events due before `now + lead`;
/// returns how many were reminded.
pub async fn remind_due(
    repos: &Repos,
    reminders: Reminders<'_>,
    tenant: &TenantId,
    now: Millis,
) -> Result<usize, JobError> {
    let mut reminded = 0;
    loop {
        // Each reminded event leaves the index, so every pass starts from the beginning.
        let due = repos
            .events
            .awaiting_reminder(tenant, now + reminders.lead + 1, PAGE)
            .await?;
        if due.is_empty() {
            return Ok(reminded);
        }
        let mut progressed = false;
        for stored in due {
            if remind_one(repos, reminders, tenant, stored.value, stored.version, now).await? {
                reminded += 1;
                progressed = true;
            }
        }
        // Only events changed meanwhile were left: they wait for the next run.
        if !progressed {
            return Ok(reminded);
        }
    }
}

/// Reminds one event; `false` when someone changed it meanwhile (it is read
/// again on the next pass if it still awaits a reminder).
async fn remind_one(
    repos: &Repos,
    reminders: Reminders<'_>,
    tenant: &TenantId,
    event: Event,
    version: u64,
    now: Millis,
) -> Result<bool, JobError> {
    let card_name = match repos.clients.get(tenant, &event.client).await {
        Ok(c) => c.value.name,
        Err(RepoError::NotFound(_)) => String::new(),
        Err(e) => return Err(e.into()),
    };
    let id = ActivityId::parse(format!("remind-{}", event.id))
        .map_err(|e| JobError::Invalid(e.to_string()))?;
    let notice = reminder_notice(&event, &card_name, now, reminders.lead, id);
    let marked = Event {
        reminded_at: Some(now),
        ..event
    };
    let journal = Journal {
        activities: Vec::new(),
        notifications: vec![notice.clone()],
    };
    match repos
        .events
        .update(tenant, &marked, version, &journal)
        .await
    {
        Ok(_) => {}
        Err(RepoError::Stale(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let assignee = match repos.users.get(tenant, &marked.assignee).await {
        Ok(u) => Some(u.value),
        Err(RepoError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(user) = assignee.filter(|u| u.status == UserStatus::Active && !u.email.is_empty()) {
        let mail = Mail {
            tenant: tenant.clone(),
            to: user.email,
            subject: notice.text.clone(),
            text: format!("{}\n\n{}", notice.text, marked.note),
        };
        // Marked already: a mail that cannot be handed over is logged, not retried,
        // so nobody is mailed twice; the notification is in the app either way.
        if let Err(e) = reminders.outbox.send(mail).await {
            tracing::error!(tenant = %tenant, event = %marked.id, error = %e, "reminder mail not sent");
        }
    }
    Ok(true)
}

/// The reminder pass over every tenant; returns how many events were reminded.
pub async fn remind_all(
    repos: &Repos,
    reminders: Reminders<'_>,
    now: Millis,
) -> Result<usize, JobError> {
    let mut reminded = 0;
    let mut cursor = None;
    loop {
        let page = repos.tenants.list_ids(cursor, 100).await?;
        for tenant in &page.items {
            let n = remind_due(repos, reminders, tenant, now).await?;
            if n > 0 {
                tracing::info!(tenant = %tenant, reminded = n, "event reminders sent");
            }
            reminded += n;
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(reminded),
        }
    }
}
