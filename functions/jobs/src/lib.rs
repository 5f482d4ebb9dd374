//! Work that runs outside a request: on a schedule (the daily recycle-bin
//! purge of PRODUCT C11, the event reminders of C13) and from queues (imports,
//! bulk actions, duplicate searches, mail sent from cards). Locally
//! `callisto serve` runs it in-process; on AWS the `callisto-jobs` Lambda runs
//! [`run_due`] once a minute from an EventBridge schedule.

use callisto_domain::Millis;
use callisto_domain::client::BIN_RETENTION_MS;
use callisto_domain::ids::TenantId;
use callisto_store::Repos;
use callisto_store::repo::RepoError;

pub mod bulk;
pub mod duplicates;
pub mod import;
pub mod mail;
pub mod reminders;

pub use reminders::Reminders;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Store(#[from] callisto_store::StoreError),
    #[error("temporary file: {0}")]
    Io(String),
    #[error("{0}")]
    Invalid(String),
}

impl JobError {
    pub(crate) fn io(e: std::io::Error) -> JobError {
        JobError::Io(e.to_string())
    }
}

/// What one scheduled run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScheduledReport {
    pub tenants: usize,
    pub purged: usize,
}

/// Removes for good the cards that have been in a tenant's recycle bin for
/// 30 days or more. Safe to run again after an interruption: each purge is
/// conditional on the card's version, and a card restored meanwhile stays.
pub async fn purge_recycle_bin(
    repos: &Repos,
    tenant: &TenantId,
    now: Millis,
) -> Result<usize, JobError> {
    let cutoff = now - BIN_RETENTION_MS;
    let mut purged = 0;
    loop {
        // Each pass purges what it lists, so the next pass starts from the beginning again.
        let page = repos
            .clients
            .bin(tenant, Some(cutoff + 1), None, 100)
            .await?;
        if page.items.is_empty() {
            return Ok(purged);
        }
        let mut progressed = false;
        for id in &page.items {
            let card = match repos.clients.get(tenant, id).await {
                Ok(c) => c,
                Err(RepoError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if card.value.restorable(now) {
                continue;
            }
            match repos.clients.purge(tenant, &card.value, card.version).await {
                Ok(()) => {
                    purged += 1;
                    progressed = true;
                }
                // Changed meanwhile (restored or edited): leave it for the next run.
                Err(RepoError::Stale(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !progressed {
            return Ok(purged);
        }
    }
}

/// The daily work for every tenant.
pub async fn run_scheduled(repos: &Repos, now: Millis) -> Result<ScheduledReport, JobError> {
    let mut report = ScheduledReport::default();
    let mut cursor = None;
    loop {
        let page = repos.tenants.list_ids(cursor, 100).await?;
        for tenant in &page.items {
            let purged = purge_recycle_bin(repos, tenant, now).await?;
            if purged > 0 {
                tracing::info!(tenant = %tenant, purged, "recycle bin purged");
            }
            report.tenants += 1;
            report.purged += purged;
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(report),
        }
    }
}

/// What one [`run_due`] pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DueReport {
    pub scheduled: ScheduledReport,
    /// Import messages taken off the queue and finished.
    pub imports: usize,
    /// Bulk-action messages taken off the queue and finished.
    pub bulk: usize,
    /// Duplicate-search messages taken off the queue and finished.
    pub duplicates: usize,
    /// Events whose assignees were reminded.
    pub reminded: usize,
    /// Mails sent or failed for good.
    pub mails: usize,
    /// The jobs that failed this pass (each is logged). A queued message that
    /// failed comes back after its visibility timeout and resumes.
    pub failed: Vec<&'static str>,
}

/// Every job once: the scheduled work (cheap when nothing is due), the event
/// reminders, then the import, bulk, duplicate-search and mail queues, drained side by side so a long
/// import does not hold the others up. A new message is taken only while `more()` holds.
/// One job failing does not stop the others.
pub async fn run_due(
    repos: &Repos,
    stores: &callisto_store::Stores,
    reminders: Reminders<'_>,
    mail: &mail::MailJobs,
    now: impl Fn() -> Millis,
    more: impl Fn() -> bool,
) -> DueReport {
    let mut report = DueReport::default();
    match run_scheduled(repos, now()).await {
        Ok(scheduled) => report.scheduled = scheduled,
        Err(e) => {
            tracing::error!(job = "scheduled", error = %e, "job failed");
            report.failed.push("scheduled");
        }
    }
    match reminders::remind_all(repos, reminders, now()).await {
        Ok(n) => report.reminded = n,
        Err(e) => {
            tracing::error!(job = "reminders", error = %e, "job failed");
            report.failed.push("reminders");
        }
    }
    let (imports, bulk, duplicates, mails) = tokio::join!(
        import::drain_imports_while(repos, stores, &now, &more),
        bulk::drain_bulk_while(repos, stores, &now, &more),
        duplicates::drain_duplicates_while(repos, stores, &now, &more),
        mail::drain_mail_while(repos, stores, mail, &now, &more),
    );
    for (job, result, count) in [
        ("imports", imports, &mut report.imports),
        ("bulk", bulk, &mut report.bulk),
        ("duplicates", duplicates, &mut report.duplicates),
        ("mails", mails, &mut report.mails),
    ] {
        match result {
            Ok(n) => *count = n,
            Err(e) => {
                tracing::error!(job, error = %e, "job failed; its message comes back after the visibility timeout");
                report.failed.push(job);
            }
        }
    }
    report
}
