//! The duplicate search worker (PRODUCT C9): reads the live cards in the
//! search's scope page by page, groups them in memory by phone and e-mail
//! ([`Grouper`], memory in proportion to the values, not the cards), writes
//! the groups and marks the search done.
//!
//! At-least-once safe: a redelivered search scans again and writes the same
//! group numbers (the grouping order is deterministic), removing any left
//! over by an earlier run; a finished search is not run again.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::duplicates::{DedupId, DedupJob, DedupStatus, Grouper};
use callisto_domain::ids::TenantId;
use callisto_store::Repos;
use callisto_store::repo::{DEDUP_QUEUE, GroupRecord};

/// Cards read per storage query.
pub const SCAN_PAGE: usize = 5_000;
/// Deliveries of one search before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 3;
/// Cards between two saves of the progress.
pub const PROGRESS_EVERY: u64 = 100_000;

/// Runs one search to the end and returns it.
pub async fn run_dedup(
    repos: &Repos,
    t: &TenantId,
    id: &DedupId,
    now: impl Fn() -> Millis,
) -> Result<DedupJob, JobError> {
    let stored = repos.duplicates.get(t, id).await?;
    let mut version = stored.version;
    let mut job = stored.value;
    if matches!(job.status, DedupStatus::Done | DedupStatus::Failed) {
        return Ok(job);
    }
    job.status = DedupStatus::Running;
    job.started_at = Some(now());
    job.cards_scanned = 0;
    version = repos.duplicates.save(t, &job, version).await?;

    let viewer = job.searcher.principal(t);
    let (by_phone, by_email) = (job.settings.by_phone, job.settings.by_email);
    let mut grouper = Grouper::new();
    let mut since_save = 0;
    for source in &job.sources.clone() {
        let mut cursor = None;
        loop {
            let page = repos.duplicates.scan(t, source, cursor, SCAN_PAGE).await?;
            for card in &page.items {
                if card.deleted_at.is_some()
                    || !job.settings.objects.includes(card.kind)
                    || !viewer.sees(card.ownership())
                {
                    continue;
                }
                grouper.add(card, by_phone, by_email);
                job.cards_scanned += 1;
                since_save += 1;
            }
            if since_save >= PROGRESS_EVERY {
                version = repos.duplicates.save(t, &job, version).await?;
                since_save = 0;
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let records: Vec<GroupRecord> = grouper
        .finish()
        .into_iter()
        .enumerate()
        .map(|(n, group)| GroupRecord {
            n: n as u32,
            group,
            resolutions: Vec::new(),
            resolved: false,
        })
        .collect();
    repos.duplicates.put_groups(t, id, &records).await?;
    repos
        .duplicates
        .delete_groups_from(t, id, records.len() as u32)
        .await?;
    job.groups_found = records.len() as u64;
    job.status = DedupStatus::Done;
    job.finished_at = Some(now());
    repos.duplicates.save(t, &job, version).await?;
    tracing::info!(tenant = %t, search = %id, cards = job.cards_scanned, groups = job.groups_found, "duplicate search done");
    Ok(job)
}

/// Takes started searches off the queue and runs them; returns how many ran.
/// A message is deleted only after its search finished, so a crash
/// redelivers it and the search runs again; after [`MAX_ATTEMPTS`] failed
/// deliveries the search is marked failed with the reason.
pub async fn drain_duplicates(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
) -> Result<usize, JobError> {
    drain_duplicates_while(repos, stores, now, || true).await
}

/// [`drain_duplicates`], taking a new message only while `more()` says so; a
/// search not finished comes back after its visibility timeout and runs again.
pub async fn drain_duplicates_while(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
    more: impl Fn() -> bool,
) -> Result<usize, JobError> {
    let mut ran = 0;
    while more() {
        let batch = stores
            .queue
            .receive(DEDUP_QUEUE, 1, std::time::Duration::from_secs(15 * 60))
            .await?;
        let Some(delivery) = batch.into_iter().next() else {
            return Ok(ran);
        };
        match DedupId::parse(delivery.body.trim()) {
            Ok(id) => match run_dedup(repos, &delivery.tenant, &id, &now).await {
                Ok(job) => {
                    tracing::debug!(tenant = %delivery.tenant, search = %id, status = ?job.status, "search finished")
                }
                // A search removed meanwhile: nothing to do.
                Err(JobError::Repo(callisto_store::repo::RepoError::NotFound(_))) => {}
                // Tried often enough: say so on the search instead of retrying forever.
                Err(e) if delivery.receive_count >= MAX_ATTEMPTS => {
                    tracing::error!(tenant = %delivery.tenant, search = %id, error = %e, "duplicate search failed");
                    let stored = repos.duplicates.get(&delivery.tenant, &id).await?;
                    let failed = DedupJob {
                        status: DedupStatus::Failed,
                        error: Some(format!("the search failed: {e}")),
                        finished_at: Some(now()),
                        ..stored.value
                    };
                    repos
                        .duplicates
                        .save(&delivery.tenant, &failed, stored.version)
                        .await?;
                }
                Err(e) => return Err(e),
            },
            Err(e) => {
                tracing::error!(body = %delivery.body, error = %e, "dropping a malformed search message")
            }
        }
        stores.queue.delete(DEDUP_QUEUE, &delivery.receipt).await?;
        ran += 1;
    }
    Ok(ran)
}
