//! The import worker (PRODUCT C2): reads a confirmed upload row by row and
//! creates, merges or skips cards by the chosen duplicate policy.
//!
//! At-least-once safe: card and history ids are derived from the import id and
//! the row number, so a row redone after a crash finds its own cards instead of
//! making new ones; progress is saved with a checkpoint row every
//! [`CHECKPOINT_ROWS`] rows and a resumed run starts after it.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::activity::{Activity, ActivityKind};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::ids::{ActivityId, ClientId, TenantId};
use callisto_domain::import::{
    DuplicatePolicy, ImportDefaults, import_duplicate, merge_into, row_to_cards,
};
use callisto_domain::import_job::{ImportId, ImportJob, ImportSettings, ImportStatus};
use callisto_store::Repos;
use callisto_store::blob::BlobStore;
use callisto_store::repo::{IMPORT_QUEUE, Journal, RejectedRow, RepoError, import_source_key};
use callisto_tabular::{Detected, ReadOptions, Reader};
use std::collections::BTreeMap;
use std::path::Path;

/// Rows between two saves of the progress (and of the resume point).
pub const CHECKPOINT_ROWS: u64 = 200;

/// The settings of a confirmed import as reader options.
pub fn read_options(s: &ImportSettings) -> ReadOptions {
    ReadOptions {
        encoding: s.encoding.clone(),
        separator: s.separator,
        sheet: s.sheet.clone(),
    }
}

/// Opens an uploaded file the way the person confirmed it.
pub fn open(
    path: &Path,
    file_name: &str,
    opts: &ReadOptions,
) -> Result<(Detected, Reader), callisto_tabular::TabularError> {
    let detected = callisto_tabular::detect(path, file_name, Some("ru"))?;
    let reader = Reader::open(path, &detected, opts)?;
    Ok((detected, reader))
}

fn derived_client_id(id: &ImportId, row: usize, which: char) -> Result<ClientId, JobError> {
    ClientId::parse(format!("{id}-{row}-{which}")).map_err(|e| JobError::Invalid(e.to_string()))
}

struct Run<'a> {
    repos: &'a Repos,
    t: &'a TenantId,
    job: ImportJob,
    settings: ImportSettings,
    now: Millis,
}

impl Run<'_> {
    fn activity(
        &self,
        card: &Client,
        kind: ActivityKind,
        suffix: &str,
    ) -> Result<Activity, JobError> {
        Ok(Activity {
            id: ActivityId::parse(format!("{}-{suffix}", card.id))
                .map_err(|e| JobError::Invalid(e.to_string()))?,
            client: card.id.clone(),
            at: self.now,
            by: self.job.created_by.clone(),
            kind,
            text: format!("import {}", self.job.file_name),
            details: BTreeMap::from([("import".to_string(), self.job.id.to_string())]),
            edited: None,
        })
    }

    /// An existing live card the incoming one duplicates, if any.
    async fn existing_duplicate(&self, card: &Client) -> Result<Option<(Client, u64)>, JobError> {
        let mut candidates: Vec<ClientId> = Vec::new();
        for p in &card.phones {
            candidates.extend(self.repos.clients.find_by_phone(self.t, p).await?);
        }
        for e in &card.emails {
            candidates.extend(self.repos.clients.find_by_email(self.t, e).await?);
        }
        if card.kind == ClientKind::Organization {
            candidates.extend(
                self.repos
                    .clients
                    .find_org_by_name(self.t, &card.name)
                    .await?,
            );
        }
        for id in candidates {
            if id == card.id {
                continue;
            }
            let existing = match self.repos.clients.get(self.t, &id).await {
                Ok(v) => v,
                Err(RepoError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if import_duplicate(card, &existing.value) {
                return Ok(Some((existing.value, existing.version)));
            }
        }
        Ok(None)
    }

    /// Loads one card by the policy; returns the id the row's contact should nest under.
    async fn load(&mut self, card: Client) -> Result<ClientId, JobError> {
        // Created by an earlier, interrupted run of this same row.
        if self.repos.clients.get(self.t, &card.id).await.is_ok() {
            self.count_created(&card);
            return Ok(card.id);
        }
        let duplicate = match self.settings.policy {
            DuplicatePolicy::LoadAnyway => None,
            _ => self.existing_duplicate(&card).await?,
        };
        match (duplicate, self.settings.policy) {
            (Some((base, _)), DuplicatePolicy::Skip) => {
                self.job.counts.skipped += 1;
                Ok(base.id)
            }
            (Some((base, version)), _) => {
                let mut merged = base.clone();
                let outcome =
                    merge_into(&mut merged, &card).map_err(|e| JobError::Invalid(e.to_string()))?;
                if outcome.changed {
                    merged.updated_at = self.now;
                    let mut entry = self.activity(&card, ActivityKind::Updated, "m")?;
                    entry.client = base.id.clone();
                    let journal = Journal::activity(entry);
                    match self
                        .repos
                        .clients
                        .update(self.t, &base, &merged, version, &journal)
                        .await
                    {
                        Ok(_) => {}
                        // The merge entry of this row exists (merged before a crash), or the
                        // card changed this instant: the existing data wins either way.
                        Err(RepoError::Stale(_)) => {
                            tracing::debug!(card = %base.id, "merge skipped: card changed")
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                self.job.counts.merged += 1;
                Ok(base.id)
            }
            (None, _) => {
                let journal =
                    Journal::activity(self.activity(&card, ActivityKind::Created, "c")?);
                self.repos.clients.create(self.t, &card, &journal).await?;
                self.count_created(&card);
                Ok(card.id)
            }
        }
    }

    fn count_created(&mut self, card: &Client) {
        match card.kind {
            ClientKind::Organization => self.job.counts.organizations_created += 1,
            ClientKind::Contact => self.job.counts.contacts_created += 1,
        }
    }
}

/// Runs (or resumes) one confirmed import to the end. A file that cannot be read
/// fails the import with the reason; a storage error is returned so the queue
/// redelivers the message and the import resumes from its checkpoint.
pub async fn run_import(
    repos: &Repos,
    blobs: &dyn BlobStore,
    t: &TenantId,
    id: &ImportId,
    now: Millis,
) -> Result<ImportJob, JobError> {
    let stored = repos.imports.get(t, id).await?;
    let mut version = stored.version;
    let job = stored.value;
    if matches!(
        job.status,
        ImportStatus::Done | ImportStatus::Failed | ImportStatus::Uploaded
    ) {
        return Ok(job);
    }
    let settings = job
        .settings
        .clone()
        .ok_or_else(|| JobError::Invalid(format!("import {id} has no settings")))?;
    let tenant = repos.tenants.get(t).await?.value;
    let responsible = repos.users.get(t, &settings.responsible).await?.value;
    let blob = blobs
        .get(&import_source_key(t, id)?)
        .await?
        .ok_or(RepoError::NotFound("import file"))?;
    let dir = tempfile::tempdir().map_err(JobError::io)?;
    let path = dir.path().join("source");
    tokio::fs::write(&path, &blob.data)
        .await
        .map_err(JobError::io)?;

    let mut run = Run {
        repos,
        t,
        job,
        settings,
        now,
    };
    let opts = read_options(&run.settings);
    let fail = |mut job: ImportJob, why: String| {
        job.status = ImportStatus::Failed;
        job.error = Some(why);
        job.finished_at = Some(now);
        job
    };
    let (_, mut reader) = match open(&path, &run.job.file_name, &opts) {
        Ok(r) => r,
        Err(e) => {
            let job = fail(run.job, e.to_string());
            repos.imports.save(t, &job, version).await?;
            return Ok(job);
        }
    };
    if run.job.status == ImportStatus::Queued {
        // Count once, so the progress bar has a total; reading is cheap next to writing.
        let (_, counter) =
            open(&path, &run.job.file_name, &opts).map_err(|e| JobError::Invalid(e.to_string()))?;
        run.job.rows_total = counter.count() as u64;
        run.job.status = ImportStatus::Running;
        version = repos.imports.save(t, &run.job, version).await?;
    }
    let header = reader.header().to_vec();
    let defaults = ImportDefaults {
        region: tenant.phone_region.clone(),
        responsible: responsible.id.clone(),
        responsible_group: responsible.group.clone(),
        tag: run.settings.tag.clone(),
        now,
    };
    let mut since_checkpoint = 0;
    // Rows are read synchronously between awaits: a row is small, and the worker
    // runs on its own task, off the request path.
    for item in reader.by_ref() {
        let (number, result) = match item {
            Ok(row) => {
                let number = row.number;
                if number as u64 <= run.job.checkpoint_row {
                    continue;
                }
                let ids = (
                    derived_client_id(id, number, 'o')?,
                    derived_client_id(id, number, 'c')?,
                );
                let cards = row_to_cards(
                    number,
                    &header,
                    &run.settings.columns,
                    &row.cells,
                    &defaults,
                    ids,
                );
                (number, cards.map_err(|r| (r.column, r.reason, row.cells)))
            }
            Err(e) => match e.row() {
                Some(n) if n as u64 <= run.job.checkpoint_row => continue,
                Some(n) => (n, Err((None, e.to_string(), Vec::new()))),
                None => {
                    let job = fail(run.job, e.to_string());
                    repos.imports.save(t, &job, version).await?;
                    return Ok(job);
                }
            },
        };
        match result {
            Ok(cards) => {
                let org = match cards.organization {
                    Some(org) => Some(run.load(org).await?),
                    None => None,
                };
                if let Some(mut contact) = cards.contact {
                    if org.is_some() {
                        contact.organization = org;
                    }
                    run.load(contact).await?;
                }
            }
            Err((column, reason, cells)) => {
                let rejected = RejectedRow {
                    row: number as u64,
                    column,
                    reason,
                    cells,
                };
                repos.imports.put_rejected(t, id, &rejected).await?;
                run.job.counts.rejected += 1;
            }
        }
        run.job.rows_done += 1;
        since_checkpoint += 1;
        if since_checkpoint == CHECKPOINT_ROWS {
            run.job.checkpoint_row = number as u64;
            version = repos.imports.save(t, &run.job, version).await?;
            since_checkpoint = 0;
        }
    }
    run.job.status = ImportStatus::Done;
    run.job.finished_at = Some(now);
    repos.imports.save(t, &run.job, version).await?;
    tracing::info!(tenant = %t, import = %id, rows = run.job.rows_done, counts = ?run.job.counts, "import done");
    Ok(run.job)
}

/// Takes confirmed imports off the queue and runs them; returns how many ran.
/// A message is deleted only after its import finished (done or failed), so a
/// crash mid-import redelivers it and the import resumes from its checkpoint.
pub async fn drain_imports(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
) -> Result<usize, JobError> {
    drain_imports_while(repos, stores, now, || true).await
}

/// [`drain_imports`], taking a new message only while `more()` says so (a
/// Lambda stops when its time runs short; a message it did not finish comes
/// back after its visibility timeout and resumes from its checkpoint).
pub async fn drain_imports_while(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
    more: impl Fn() -> bool,
) -> Result<usize, JobError> {
    let mut ran = 0;
    while more() {
        let batch = stores
            .queue
            .receive(IMPORT_QUEUE, 1, std::time::Duration::from_secs(15 * 60))
            .await?;
        let Some(delivery) = batch.into_iter().next() else {
            return Ok(ran);
        };
        match ImportId::parse(delivery.body.trim()) {
            Ok(id) => {
                let job =
                    run_import(repos, stores.blobs.as_ref(), &delivery.tenant, &id, now()).await?;
                tracing::info!(tenant = %delivery.tenant, import = %id, status = ?job.status, "import finished");
            }
            Err(e) => {
                tracing::error!(body = %delivery.body, error = %e, "dropping a malformed import message")
            }
        }
        stores.queue.delete(IMPORT_QUEUE, &delivery.receipt).await?;
        ran += 1;
    }
    Ok(ran)
}
