//! The bulk-action worker (PRODUCT C8): applies a job's action to each card of
//! its selection with the same history and notifications as a change made in
//! the card, and saves progress as it goes.
//!
//! At-least-once safe: progress (an index into the ids, or a scan cursor) is
//! saved after each batch, and a batch redone after a crash finds its cards
//! already changed, which the action leaves alone.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::access::{Principal, Role};
use callisto_domain::activity::{Activity, ActivityKind, Actor, change_record};
use callisto_domain::bulk::{BulkAction, BulkId, BulkJob, BulkStatus, Selection};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::filter::FilterContext;
use callisto_domain::ids::{ActivityId, ClientId, TenantId};
use callisto_domain::user::{User, UserStatus};
use callisto_store::Repos;
use callisto_store::repo::{BULK_QUEUE, Journal, RepoError};
use std::collections::BTreeMap;

/// Cards handled between two saves of the progress.
pub const BATCH: usize = 100;
/// Cards a filter scan reads per batch at most (a selective filter reads many per match).
const SCAN_READ: usize = 2_000;

fn new_activity_id() -> Result<ActivityId, JobError> {
    ActivityId::parse(ulid::Ulid::new().to_string()).map_err(|e| JobError::Invalid(e.to_string()))
}

struct Run<'a> {
    repos: &'a Repos,
    t: &'a TenantId,
    principal: Principal,
    user: User,
    job: BulkJob,
    now: Millis,
}

impl Run<'_> {
    /// Applies the action to one card and counts the outcome.
    async fn one(&mut self, id: &ClientId) -> Result<(), JobError> {
        // A card that changes between read and write is read again, a few times.
        for _ in 0..3 {
            let stored = match self.repos.clients.get(self.t, id).await {
                Ok(v) => v,
                Err(RepoError::NotFound(_)) => {
                    return self.refuse("a selected card no longer exists");
                }
                Err(e) => return Err(e.into()),
            };
            let card = stored.value;
            if !self.principal.sees(card.ownership()) {
                return self.refuse("a selected card is not yours to change");
            }
            if card.is_deleted() {
                self.job.counts.unchanged += 1;
                return Ok(());
            }
            if let Err(why) = self.permitted(&card).await? {
                return self.refuse(&why);
            }
            let next = match self.job.action.apply(&card, &self.user.id, self.now) {
                Ok(Some(next)) => next,
                Ok(None) => {
                    self.job.counts.unchanged += 1;
                    return Ok(());
                }
                Err(why) => return self.refuse(&why),
            };
            let journal = self.journal(&card, &next)?;
            match self
                .repos
                .clients
                .update(self.t, &card, &next, stored.version, &journal)
                .await
            {
                Ok(_) => {
                    self.job.counts.changed += 1;
                    return Ok(());
                }
                Err(RepoError::Stale(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.refuse("a selected card kept changing while the action ran")
    }

    /// The rules a change made in the card would meet.
    async fn permitted(&self, card: &Client) -> Result<Result<(), String>, JobError> {
        match &self.job.action {
            BulkAction::Assign { .. }
                if self.principal.role != Role::Administrator
                    && card.responsible != self.user.id =>
            {
                Ok(Err(format!(
                    "«{}» belongs to another user; only an administrator may hand it over",
                    card.name
                )))
            }
            BulkAction::Delete if card.kind == ClientKind::Organization => {
                let live = self
                    .repos
                    .clients
                    .contacts_of(self.t, &card.id)
                    .await?
                    .len();
                Ok(if live > 0 {
                    Err(format!(
                        "the organization «{}» has {live} contact(s); delete or move them first",
                        card.name
                    ))
                } else {
                    Ok(())
                })
            }
            _ => Ok(Ok(())),
        }
    }

    fn journal(&self, old: &Client, new: &Client) -> Result<Journal, JobError> {
        if self.job.action == BulkAction::Delete {
            return Ok(Journal::activity(Activity {
                id: new_activity_id()?,
                client: new.id.clone(),
                at: self.now,
                by: self.user.id.clone(),
                kind: ActivityKind::Deleted,
                text: String::new(),
                details: BTreeMap::from([("bulk".to_string(), self.job.id.to_string())]),
                edited: None,
            }));
        }
        let actor = Actor {
            id: &self.user.id,
            name: &self.user.full_name,
        };
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(new_activity_id()?);
        }
        let (activities, notifications) =
            change_record(actor, old, new, || ids.pop().expect("three ids suffice"));
        Ok(Journal {
            activities,
            notifications,
        })
    }

    fn refuse(&mut self, why: &str) -> Result<(), JobError> {
        self.job.counts.refused += 1;
        self.job.last_refusal = Some(why.to_string());
        Ok(())
    }
}

/// Runs (or resumes) one bulk job to the end.
pub async fn run_bulk(
    repos: &Repos,
    t: &TenantId,
    id: &BulkId,
    now: Millis,
) -> Result<BulkJob, JobError> {
    let stored = repos.bulk.get(t, id).await?;
    let mut version = stored.version;
    let mut job = stored.value;
    if matches!(job.status, BulkStatus::Done | BulkStatus::Failed) {
        return Ok(job);
    }
    let user = match repos.users.get(t, &job.created_by).await {
        Ok(u) if u.value.status == UserStatus::Active => Some(u.value),
        Ok(_) | Err(RepoError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(user) = user else {
        job.status = BulkStatus::Failed;
        job.error = Some("the user who started the action is no longer active".into());
        job.finished_at = Some(now);
        repos.bulk.save(t, &job, version).await?;
        return Ok(job);
    };
    job.status = BulkStatus::Running;
    version = repos.bulk.save(t, &job, version).await?;
    let principal = Principal {
        tenant: t.clone(),
        user: user.id.clone(),
        role: user.role,
        group: user.group.clone(),
    };
    let mut run = Run {
        repos,
        t,
        principal,
        user,
        job,
        now,
    };
    match run.job.selection.clone() {
        Selection::Ids { ids } => {
            let mut at: usize = run
                .job
                .resume
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            while at < ids.len() {
                let end = (at + BATCH).min(ids.len());
                for id in &ids[at..end] {
                    run.one(id).await?;
                }
                at = end;
                run.job.done = at as u64;
                run.job.resume = Some(at.to_string());
                version = repos.bulk.save(t, &run.job, version).await?;
            }
        }
        Selection::Filter { filter } => {
            let ctx = FilterContext {
                now,
                fallback_zone: run
                    .job
                    .fallback_zone
                    .parse()
                    .unwrap_or(chrono_tz::Europe::Moscow),
            };
            let scope = run.principal.scope();
            loop {
                let page = repos
                    .clients
                    .scan(t, &scope, run.job.resume.clone(), BATCH, SCAN_READ, |c| {
                        filter.matches(c, &ctx)
                    })
                    .await?;
                for card in &page.items {
                    run.one(&card.id).await?;
                }
                run.job.done += page.items.len() as u64;
                run.job.resume = page.cursor.clone();
                version = repos.bulk.save(t, &run.job, version).await?;
                if page.cursor.is_none() {
                    break;
                }
            }
        }
    }
    run.job.status = BulkStatus::Done;
    run.job.finished_at = Some(now);
    repos.bulk.save(t, &run.job, version).await?;
    tracing::info!(tenant = %t, bulk = %id, counts = ?run.job.counts, "bulk action done");
    Ok(run.job)
}

/// Takes bulk jobs off the queue and runs them; returns how many ran. A message
/// is deleted only after its job finished, so a crash redelivers it and the job
/// resumes from its saved progress.
pub async fn drain_bulk(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
) -> Result<usize, JobError> {
    drain_bulk_while(repos, stores, now, || true).await
}

/// [`drain_bulk`], taking a new message only while `more()` says so; a job not
/// finished comes back after its visibility timeout and resumes from its progress.
pub async fn drain_bulk_while(
    repos: &Repos,
    stores: &callisto_store::Stores,
    now: impl Fn() -> Millis,
    more: impl Fn() -> bool,
) -> Result<usize, JobError> {
    let mut ran = 0;
    while more() {
        let batch = stores
            .queue
            .receive(BULK_QUEUE, 1, std::time::Duration::from_secs(15 * 60))
            .await?;
        let Some(delivery) = batch.into_iter().next() else {
            return Ok(ran);
        };
        match BulkId::parse(delivery.body.trim()) {
            Ok(id) => {
                let job = run_bulk(repos, &delivery.tenant, &id, now()).await?;
                tracing::info!(tenant = %delivery.tenant, bulk = %id, status = ?job.status, "bulk action finished");
            }
            Err(e) => {
                tracing::error!(body = %delivery.body, error = %e, "dropping a malformed bulk message")
            }
        }
        stores.queue.delete(BULK_QUEUE, &delivery.receipt).await?;
        ran += 1;
    }
    Ok(ran)
}
