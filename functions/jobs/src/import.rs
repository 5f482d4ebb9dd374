//! The import worker (PRODUCT C2): reads a confirmed upload in chunks of rows
//! and creates, merges or skips cards by the chosen duplicate policy.
//!
//! Per chunk of [`CHUNK_ROWS`] rows: the cards of each row are checked for
//! duplicates against the base (phone, e-mail and organization-name lookups)
//! and against the new cards pending in the chunk (an in-memory index by the
//! same keys), so duplicates inside one file behave as if every row were
//! written at once. The chunk's new cards with their lookups and history are
//! then written in one bulk write; after it, the merges into existing cards
//! (collected in memory like the new cards) as version-conditional updates;
//! and only then the checkpoint is saved. An interrupted bulk write thus has
//! changed no existing card, and the redone chunk decides as the first try did.
//!
//! A chunk is written by a task of its own while the next chunk is read and
//! checked (the two overlap on two cores). One write is in flight at a time,
//! and the next chunk's write starts only after it and its checkpoint landed,
//! so the checkpoint rule above is unchanged. While a chunk is in flight, its
//! cards are indexed in memory and checked against like pending ones; a row
//! that duplicates one of them does not wait for the write: it merges into the
//! card as that chunk writes it, and once that write has landed (before the
//! next chunk is written) the card's version is read, so the merge is a plain
//! conditional update. A card changed by someone in between is merged into as
//! it is then: existing data wins, as in every merge.
//!
//! At-least-once safe: card and history ids are derived from the import id and
//! the row number, and the bulk write is unconditional, so a chunk redone after
//! a crash (even one that landed half-way: DynamoDB batches are not atomic)
//! rewrites the same items instead of making new ones. While redoing, cards
//! this import made for rows past the checkpoint are not taken for duplicates
//! (they are the interrupted attempt's own), and after the redone chunk lands,
//! the interrupted attempt's cards that the redo did not make again are removed.
//! Counts are saved with the checkpoint, so a redone row is not counted twice.

use crate::JobError;
use callisto_domain::Millis;
use callisto_domain::activity::{Activity, ActivityKind};
use callisto_domain::card_settings::{CardSettings, fit_row};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::ids::{ActivityId, ClientId, TenantId};
use callisto_domain::import::{
    Column, DuplicatePolicy, ImportDefaults, RowCards, import_duplicate, merge_into, name_key,
    row_to_cards,
};
use callisto_domain::import_job::{ImportId, ImportJob, ImportSettings, ImportStatus};
use callisto_store::Repos;
use callisto_store::blob::BlobStore;
use callisto_store::repo::{
    CardUpdate, IMPORT_QUEUE, Journal, Lookup, RejectedRow, RepoError, Versioned, import_source_key,
};
use callisto_tabular::{Detected, ReadOptions, Reader};
use foldhash::{HashMap, HashSet};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

/// Rows per chunk: the new cards of a chunk are written in one bulk write, and
/// progress (with the resume point) is saved after each chunk.
pub const CHUNK_ROWS: u64 = 1000;

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

/// The row a card id was derived from, if this import derived it.
fn derived_row(import: &ImportId, card: &ClientId) -> Option<u64> {
    let rest = card
        .as_str()
        .strip_prefix(import.as_str())?
        .strip_prefix('-')?;
    let (row, which) = rest.rsplit_once('-')?;
    matches!(which, "o" | "c").then_some(())?;
    row.parse().ok()
}

/// The duplicate-lookup keys of a card, as the store's lookups have them:
/// phones, e-mails, and an organization's folded name.
fn match_keys(c: &Client) -> Vec<String> {
    let mut keys: Vec<String> = c.phones.iter().map(|p| format!("P {p}")).collect();
    keys.extend(c.emails.iter().map(|e| format!("E {e}")));
    if c.kind == ClientKind::Organization {
        let k = name_key(&c.name);
        if !k.is_empty() {
            keys.push(format!("O {k}"));
        }
    }
    keys
}

/// A card changed by the current chunk, not written yet: a new card, or an
/// existing one with merges.
struct Entry {
    card: Client,
    journal: Journal,
    /// For an existing card: as read, and its version then.
    base: Option<(Client, u64)>,
    /// The base is a card of the chunk in flight, as that chunk writes it:
    /// its version is read once the write lands ([`Run::rebase_on_landed`]).
    /// Until then the version is [`UNKNOWN_VERSION`].
    base_in_flight: bool,
}

impl Entry {
    /// Takes the state of a base that was in flight as it landed (`stored`,
    /// `None` when gone); see [`Run::rebase_on_landed`]. Returns whether the
    /// card to write is now based on a different card than the one merged into.
    fn rebase(&mut self, stored: Option<Versioned<Client>>, now: Millis) -> Result<bool, JobError> {
        self.base_in_flight = false;
        let (Some(stored), Some((base, version))) =
            (stored.filter(|s| !s.value.is_deleted()), self.base.as_mut())
        else {
            return Ok(false);
        };
        *version = stored.version;
        if stored.value == *base {
            return Ok(false);
        }
        let mut rebased = stored.value.clone();
        merge_into(&mut rebased, &self.card).map_err(|e| JobError::Invalid(e.to_string()))?;
        rebased.updated_at = now;
        self.card = rebased;
        *base = stored.value;
        Ok(true)
    }
}

/// The version of a base not read yet. Stored versions start at 1, so an
/// update conditional on it never lands: a merge whose card is gone by the
/// time its version is read is skipped, as any merge into a changed card is.
const UNKNOWN_VERSION: u64 = 0;

/// Most history entries an existing card collects in one chunk before its
/// update is written early, so one update stays within a store transaction.
const MAX_MERGES_PER_UPDATE: usize = 40;

/// The cards the current chunk creates or merges into, not written yet.
#[derive(Default)]
struct Pending {
    entries: Vec<Entry>,
    by_id: HashMap<ClientId, usize>,
    /// Match key → positions in `entries`.
    by_key: HashMap<String, Vec<usize>>,
}

impl Pending {
    fn index(&mut self, at: usize) {
        for k in match_keys(&self.entries[at].card) {
            let slot = self.by_key.entry(k).or_default();
            if !slot.contains(&at) {
                slot.push(at);
            }
        }
    }

    fn add(&mut self, entry: Entry) -> usize {
        let at = self.entries.len();
        self.by_id.insert(entry.card.id.clone(), at);
        self.entries.push(entry);
        self.index(at);
        at
    }
}

/// What the base holds for the match keys of a chunk's cards, read for the
/// whole chunk at once before its rows are checked (two batched reads instead
/// of a few lookups and reads per card). The chunk's own writes land after
/// it is checked, and a card it changes early is then pending (and so no
/// longer taken from here), so the answers stay current for the whole chunk.
#[derive(Default)]
struct Prefetched {
    /// Match key → the cards the base lookups list under it.
    ids: HashMap<String, Vec<ClientId>>,
    /// Those cards as read, with their versions (`None`: gone meanwhile).
    cards: HashMap<ClientId, Option<(Client, u64)>>,
}

/// Where a duplicate was found.
enum Duplicate {
    /// An existing card the chunk has not touched, read at this version, or
    /// (`None`) a card of the chunk in flight as that chunk writes it.
    Base(Box<Client>, Option<u64>),
    /// A card the chunk creates or already merged into (position in [`Pending::entries`]).
    Pending(usize),
}

/// Where a duplicate candidate comes from; candidates are tried in id order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Base,
    Pending(usize),
    /// Position in the in-flight chunk's entries.
    InFlight(usize),
}

/// The previous chunk, written by a task of its own while the current one is
/// checked: its cards as they are being written, indexed like [`Pending`].
struct InFlight {
    cards: Arc<Pending>,
    /// The write, until it is awaited; it answers the job's new version.
    write: Option<tokio::task::JoinHandle<Result<u64, JobError>>>,
}

struct Run<'a> {
    repos: &'a Repos,
    t: &'a TenantId,
    job: ImportJob,
    /// The job's stored version, as of the last checkpoint that landed.
    version: u64,
    settings: ImportSettings,
    now: Millis,
    pending: Pending,
    base: Prefetched,
    inflight: Option<InFlight>,
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

    /// A card of this import not yet covered by the checkpoint: left by an
    /// interrupted attempt, and about to be written again (or removed).
    fn unsaved_own(&self, id: &ClientId) -> bool {
        derived_row(&self.job.id, id).is_some_and(|row| row > self.job.checkpoint_row)
    }

    /// Reads what the base holds for the match keys of `cards` (a chunk's
    /// cards, before any is checked); see [`Prefetched`].
    async fn prefetch(&mut self, cards: &[&Client]) -> Result<(), JobError> {
        self.base = Prefetched::default();
        if self.settings.policy == DuplicatePolicy::LoadAnyway {
            return Ok(());
        }
        let mut keys: Vec<String> = Vec::new();
        let mut lookups: Vec<Lookup> = Vec::new();
        let mut seen: HashSet<String> = HashSet::default();
        for card in cards {
            for key in match_keys(card) {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let (kind, value) = key.split_at(2);
                lookups.push(match kind {
                    "P " => Lookup::Phone(value.to_string()),
                    "E " => Lookup::Email(value.to_string()),
                    _ => Lookup::OrgName(card.name.clone()),
                });
                keys.push(key);
            }
        }
        let clients = &self.repos.clients;
        let found = clients.find_many(self.t, &lookups).await?;
        let mut ids: Vec<ClientId> = Vec::new();
        let mut wanted: HashSet<&ClientId> = HashSet::default();
        for list in &found {
            for id in list {
                if !self.unsaved_own(id) && wanted.insert(id) {
                    ids.push(id.clone());
                }
            }
        }
        let read = clients.get_many(self.t, &ids).await?;
        self.base.cards = ids
            .into_iter()
            .zip(read)
            .map(|(id, v)| (id, v.map(|v| (v.value, v.version))))
            .collect();
        self.base.ids = keys.into_iter().zip(found).collect();
        Ok(())
    }

    /// A live card the incoming one duplicates: existing in the base or pending
    /// in this chunk (a pending card is taken as the chunk has changed it).
    /// Candidates are tried key by key (phones, e-mails, name), and by id within
    /// a key, as the lookups list them.
    async fn duplicate(&self, card: &Client) -> Result<Option<Duplicate>, JobError> {
        let clients = &self.repos.clients;
        for key in match_keys(card) {
            let (kind, value) = key.split_at(2);
            let base = match self.base.ids.get(&key) {
                Some(ids) => ids.clone(),
                None => match kind {
                    "P " => clients.find_by_phone(self.t, value).await?,
                    "E " => clients.find_by_email(self.t, value).await?,
                    _ => clients.find_org_by_name(self.t, &card.name).await?,
                },
            };
            let inflight = self.inflight.as_ref().map(|f| &*f.cards);
            let landed = self.inflight.as_ref().is_none_or(|f| f.write.is_none());
            // A card of the chunk in flight is taken as that chunk wrote it,
            // not as the lookups (read before it landed) found it.
            let source = |id: &ClientId| match inflight.and_then(|f| f.by_id.get(id)) {
                Some(&at) => Source::InFlight(at),
                None => Source::Base,
            };
            let mut candidates: Vec<(ClientId, Source)> = base
                .into_iter()
                .filter(|id| !self.unsaved_own(id) && !self.pending.by_id.contains_key(id))
                .map(|id| {
                    let from = source(&id);
                    (id, from)
                })
                .collect();
            if let Some(f) = inflight {
                for &at in f.by_key.get(&key).into_iter().flatten() {
                    let id = &f.entries[at].card.id;
                    if !self.pending.by_id.contains_key(id) {
                        candidates.push((id.clone(), Source::InFlight(at)));
                    }
                }
            }
            for &at in self.pending.by_key.get(&key).into_iter().flatten() {
                candidates.push((
                    self.pending.entries[at].card.id.clone(),
                    Source::Pending(at),
                ));
            }
            candidates.sort();
            candidates.dedup_by(|a, b| a.0 == b.0);
            for (id, source) in candidates {
                if id == card.id {
                    continue;
                }
                match source {
                    Source::Pending(at) => {
                        if import_duplicate(card, &self.pending.entries[at].card) {
                            return Ok(Some(Duplicate::Pending(at)));
                        }
                        continue;
                    }
                    Source::InFlight(at) if !landed => {
                        // Merged into as that chunk writes it, without waiting for the write.
                        if let Some(f) = inflight
                            && import_duplicate(card, &f.entries[at].card)
                        {
                            let written = Box::new(f.entries[at].card.clone());
                            return Ok(Some(Duplicate::Base(written, None)));
                        }
                        continue;
                    }
                    Source::InFlight(_) | Source::Base => {}
                }
                let prefetched = match source {
                    Source::Base => self.base.cards.get(&id),
                    // Landed after the prefetch: read as it is now.
                    _ => None,
                };
                let (existing, version) = match prefetched {
                    // Copied only when it is the one.
                    Some(Some((c, v))) if import_duplicate(card, c) => (c.clone(), *v),
                    Some(_) => continue,
                    None => match clients.get(self.t, &id).await {
                        Ok(v) => (v.value, v.version),
                        Err(RepoError::NotFound(_)) => continue,
                        Err(e) => return Err(e.into()),
                    },
                };
                if import_duplicate(card, &existing) {
                    return Ok(Some(Duplicate::Base(Box::new(existing), Some(version))));
                }
            }
        }
        Ok(None)
    }

    /// Loads one card by the policy; returns the id the row's contact should nest under.
    async fn load(&mut self, card: Client) -> Result<ClientId, JobError> {
        let duplicate = match self.settings.policy {
            DuplicatePolicy::LoadAnyway => None,
            _ => self.duplicate(&card).await?,
        };
        let merge_error = |e: callisto_domain::import::MergeError| JobError::Invalid(e.to_string());
        match (duplicate, self.settings.policy) {
            (Some(Duplicate::Base(base, _)), DuplicatePolicy::Skip) => {
                self.job.counts.skipped += 1;
                Ok(base.id)
            }
            (Some(Duplicate::Pending(at)), DuplicatePolicy::Skip) => {
                self.job.counts.skipped += 1;
                Ok(self.pending.entries[at].card.id.clone())
            }
            (Some(Duplicate::Base(base, version)), _) => {
                let mut merged = (*base).clone();
                let outcome = merge_into(&mut merged, &card).map_err(merge_error)?;
                let id = base.id.clone();
                self.job.counts.merged += 1;
                if outcome.changed {
                    // Written after the chunk's new cards land (see `land`).
                    merged.updated_at = self.now;
                    let mut entry = self.activity(&card, ActivityKind::Updated, "m")?;
                    entry.client = base.id.clone();
                    self.pending.add(Entry {
                        card: merged,
                        journal: Journal::activity(entry),
                        base: Some((*base, version.unwrap_or(UNKNOWN_VERSION))),
                        base_in_flight: version.is_none(),
                    });
                }
                Ok(id)
            }
            (Some(Duplicate::Pending(at)), _) => {
                let mut activity = self.activity(&card, ActivityKind::Updated, "m")?;
                let entry = &mut self.pending.entries[at];
                let outcome = merge_into(&mut entry.card, &card).map_err(merge_error)?;
                let id = entry.card.id.clone();
                if outcome.changed {
                    entry.card.updated_at = self.now;
                    activity.client = id.clone();
                    entry.journal.activities.push(activity);
                    // New phones, e-mails or a name now find this card too.
                    self.pending.index(at);
                    if self.pending.entries[at].base.is_some()
                        && self.pending.entries[at].journal.activities.len()
                            >= MAX_MERGES_PER_UPDATE
                    {
                        self.update_early(at).await?;
                    }
                }
                self.job.counts.merged += 1;
                Ok(id)
            }
            (None, _) => {
                let journal =
                    Journal::activity(self.activity(&card, ActivityKind::Created, "c")?);
                let id = card.id.clone();
                self.count_created(&card);
                self.pending.add(Entry {
                    card,
                    journal,
                    base: None,
                    base_in_flight: false,
                });
                Ok(id)
            }
        }
    }

    /// Writes the merges collected for an existing card now, and goes on
    /// collecting from its new state.
    async fn update_early(&mut self, at: usize) -> Result<(), JobError> {
        if self.pending.entries[at].base_in_flight {
            self.settle().await?;
            self.rebase_on_landed().await?;
        }
        let entry = &mut self.pending.entries[at];
        if let Some((base, version)) = entry.base.take() {
            let journal = std::mem::take(&mut entry.journal);
            let next = update(self.repos, self.t, &base, &entry.card, version, &journal).await?;
            entry.base = Some((entry.card.clone(), next.unwrap_or(version)));
        }
        Ok(())
    }

    fn count_created(&mut self, card: &Client) {
        match card.kind {
            ClientKind::Organization => self.job.counts.organizations_created += 1,
            ClientKind::Contact => self.job.counts.contacts_created += 1,
        }
    }

    /// Hands the chunk to a task that writes it (see [`write_chunk`]) and
    /// saves the checkpoint after it, once the write before it has landed.
    /// A redone chunk is awaited whole: what an interrupted attempt left must
    /// be gone before the next chunk is checked against the base.
    async fn land(&mut self, rows: &[usize], redo: bool, last_row: usize) -> Result<(), JobError> {
        self.settle().await?;
        self.rebase_on_landed().await?;
        let cards = Arc::new(std::mem::take(&mut self.pending));
        self.job.checkpoint_row = last_row as u64;
        let write = write_chunk(
            self.repos.clone(),
            self.t.clone(),
            cards.clone(),
            if redo { rows.to_vec() } else { Vec::new() },
            self.job.clone(),
            self.version,
        );
        let landed = self.inflight.replace(InFlight {
            cards,
            write: Some(tokio::spawn(write)),
        });
        // Freeing a chunk's thousands of cards is a few milliseconds the
        // next chunk's checks need not wait for.
        if let Some(landed) = landed {
            tokio::task::spawn_blocking(move || drop(landed));
        }
        if redo {
            self.settle().await?;
        }
        Ok(())
    }

    /// Reads the versions of the cards this chunk merged into while the chunk
    /// before was writing them, now that it has landed (one batched read). A
    /// card that changed after that chunk wrote it is merged into as it is
    /// now: existing data wins, as in every merge. One that is gone or in the
    /// recycle bin keeps [`UNKNOWN_VERSION`], so its merge is skipped.
    async fn rebase_on_landed(&mut self) -> Result<(), JobError> {
        let waiting: Vec<usize> = (0..self.pending.entries.len())
            .filter(|&at| self.pending.entries[at].base_in_flight)
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let ids: Vec<ClientId> = waiting
            .iter()
            .map(|&at| self.pending.entries[at].card.id.clone())
            .collect();
        let read = self.repos.clients.get_many(self.t, &ids).await?;
        for (at, stored) in waiting.into_iter().zip(read) {
            if self.pending.entries[at].rebase(stored, self.now)? {
                // Phones or e-mails the card got meanwhile find it too.
                self.pending.index(at);
            }
        }
        Ok(())
    }

    /// Waits for the chunk in flight to land (its checkpoint saved); its cards
    /// stay indexed, to be read from the store when a row duplicates one.
    async fn settle(&mut self) -> Result<(), JobError> {
        let Some(write) = self.inflight.as_mut().and_then(|f| f.write.take()) else {
            return Ok(());
        };
        match write.await {
            Ok(landed) => {
                self.version = landed?;
                Ok(())
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(JobError::Invalid(format!("chunk write stopped: {e}"))),
        }
    }
}

/// Writes a chunk: its new cards in one bulk write, then its merges into
/// existing cards; removes what an interrupted attempt left for `redo_rows`
/// (the chunk's rows when it is redone) that the redo did not create again;
/// then saves `job` (its checkpoint and counts) over `version`. Returns the
/// job's new version.
async fn write_chunk(
    repos: Repos,
    t: TenantId,
    cards: Arc<Pending>,
    redo_rows: Vec<usize>,
    job: ImportJob,
    version: u64,
) -> Result<u64, JobError> {
    let new: Vec<(&Client, &Journal)> = cards
        .entries
        .iter()
        .filter(|e| e.base.is_none())
        .map(|e| (&e.card, &e.journal))
        .collect();
    if !new.is_empty() {
        repos.clients.create_many(&t, &new).await?;
    }
    // Merges share transactions: one durable write per ~100 operations, not per card.
    let updates: Vec<CardUpdate> = cards
        .entries
        .iter()
        .filter_map(|e| {
            e.base.as_ref().map(|(base, v)| CardUpdate {
                old: base,
                new: &e.card,
                version: *v,
                journal: &e.journal,
            })
        })
        .collect();
    let landed = repos.clients.update_many(&t, &updates).await?;
    for (u, v) in updates.iter().zip(landed) {
        if v.is_none() {
            tracing::debug!(card = %u.old.id, "merge skipped: card changed");
        }
    }
    for &row in &redo_rows {
        for which in ['o', 'c'] {
            let id = derived_client_id(&job.id, row, which)?;
            if cards.by_id.contains_key(&id) {
                continue;
            }
            match repos.clients.get(&t, &id).await {
                Ok(left) => match repos.clients.purge(&t, &left.value, left.version).await {
                    Ok(()) | Err(RepoError::Stale(_)) => {}
                    Err(e) => return Err(e.into()),
                },
                Err(RepoError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(repos.imports.save(&t, &job, version).await?)
}

/// A merge into an existing card, conditional on the version it was read at;
/// returns the new version, or `None` when the card changed meanwhile (or the
/// merge was written before a crash): the existing data wins either way.
async fn update(
    repos: &Repos,
    t: &TenantId,
    base: &Client,
    merged: &Client,
    version: u64,
    journal: &Journal,
) -> Result<Option<u64>, JobError> {
    match repos
        .clients
        .update(t, base, merged, version, journal)
        .await
    {
        Ok(v) => Ok(Some(v)),
        Err(RepoError::Stale(_)) => {
            tracing::debug!(card = %base.id, "merge skipped: card changed");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// What the reading thread needs to turn rows into cards.
struct RowContext {
    header: Vec<String>,
    columns: Vec<Column>,
    defaults: ImportDefaults,
    card_settings: CardSettings,
    import: ImportId,
    checkpoint_row: u64,
}

/// A rejected row: the column at fault (if one), the reason, and its cells.
type RowRejection = (Option<String>, String, Vec<String>);

/// One row read by the reading thread, or why reading stopped.
enum Parsed {
    /// Boxed: a row's cards are large next to the other variants.
    Row(usize, Result<Box<RowCards>, RowRejection>),
    /// The file cannot be read further: the import fails with this reason.
    Fatal(String),
    /// A card id could not be made (never for a valid import id).
    Invalid(String),
}

/// Rows sent to the worker at a time, and batches the channel holds: enough to
/// keep the writer fed while bounding what is read ahead (≈ 2 chunks).
const READ_BATCH: usize = 250;
const READ_AHEAD: usize = 8;

/// Reads the rows after the checkpoint on a blocking thread and turns them
/// into cards. The thread stops at the end of the file, after a fatal error,
/// or when the receiver is dropped (the worker stopped on an error).
fn read_rows(mut reader: Reader, cx: RowContext) -> tokio::sync::mpsc::Receiver<Vec<Parsed>> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(READ_BATCH);
        for item in reader.by_ref() {
            let parsed = match item {
                Ok(row) => {
                    let number = row.number;
                    if number as u64 <= cx.checkpoint_row {
                        continue;
                    }
                    match (
                        derived_client_id(&cx.import, number, 'o'),
                        derived_client_id(&cx.import, number, 'c'),
                    ) {
                        (Ok(o), Ok(c)) => {
                            let columns = &cx.columns;
                            let cards = row_to_cards(
                                number,
                                &cx.header,
                                columns,
                                &row.cells,
                                &cx.defaults,
                                (o, c),
                            )
                            .and_then(|mut cards| {
                                fit_row(&cx.card_settings, &mut cards, number, &cx.header, columns)
                                    .map(|()| cards)
                            });
                            let cards = cards.map(Box::new);
                            Parsed::Row(number, cards.map_err(|r| (r.column, r.reason, row.cells)))
                        }
                        (Err(e), _) | (_, Err(e)) => Parsed::Invalid(e.to_string()),
                    }
                }
                Err(e) => match e.row() {
                    Some(n) if n as u64 <= cx.checkpoint_row => continue,
                    Some(n) => Parsed::Row(n, Err((None, e.to_string(), e.into_row_cells()))),
                    None => Parsed::Fatal(e.to_string()),
                },
            };
            let last = !matches!(parsed, Parsed::Row(..));
            batch.push(parsed);
            if (batch.len() == READ_BATCH || last)
                && tx.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return;
            }
            if last {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
    });
    rx
}

/// The next chunk's rows from the reading thread: [`CHUNK_ROWS`] of them,
/// fewer at the end of the file, or up to the entry that ends reading.
async fn next_chunk(
    rows: &mut tokio::sync::mpsc::Receiver<Vec<Parsed>>,
    carry: &mut VecDeque<Parsed>,
) -> Vec<Parsed> {
    let mut out = Vec::with_capacity(CHUNK_ROWS as usize);
    loop {
        while let Some(parsed) = carry.pop_front() {
            let ends = !matches!(parsed, Parsed::Row(..));
            out.push(parsed);
            if ends || out.len() as u64 == CHUNK_ROWS {
                return out;
            }
        }
        match rows.recv().await {
            Some(batch) => carry.extend(batch),
            None => return out,
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
    let (job, version) = (stored.value, stored.version);
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
    // Streamed to a local file: the upload is never held in memory whole.
    let dir = tempfile::tempdir().map_err(JobError::io)?;
    let path = dir.path().join("source");
    blobs
        .download_to(&import_source_key(t, id)?, &path)
        .await?
        .ok_or(RepoError::NotFound("import file"))?;

    // A run that finds the import running resumes an interrupted one.
    let redo = job.status == ImportStatus::Running;
    let mut run = Run {
        repos,
        t,
        job,
        version,
        settings,
        now,
        pending: Pending::default(),
        base: Prefetched::default(),
        inflight: None,
    };
    let opts = read_options(&run.settings);
    let fail = |mut job: ImportJob, why: String| {
        job.status = ImportStatus::Failed;
        job.error = Some(why);
        job.finished_at = Some(now);
        job
    };
    let (_, reader) = match open(&path, &run.job.file_name, &opts) {
        Ok(r) => r,
        Err(e) => {
            let job = fail(run.job, e.to_string());
            repos.imports.save(t, &job, run.version).await?;
            return Ok(job);
        }
    };
    if run.job.status == ImportStatus::Queued {
        // Count once, so the progress bar has a total: an XLS is held whole
        // and knows its rows, an XLSX declares its range (an upper bound:
        // blank rows in it are skipped); a CSV, or an XLSX declaring no range,
        // is read through once (cheap next to writing).
        let total = match reader.rows_left() {
            Some(n) => n,
            None => open(&path, &run.job.file_name, &opts)
                .map_err(|e| JobError::Invalid(e.to_string()))?
                .1
                .count(),
        };
        run.job.rows_total = total as u64;
        run.job.status = ImportStatus::Running;
        run.version = repos.imports.save(t, &run.job, run.version).await?;
    }
    let header = reader.header().to_vec();
    let defaults = ImportDefaults {
        region: tenant.phone_region.clone(),
        responsible: responsible.id.clone(),
        responsible_group: responsible.group.clone(),
        tag: run.settings.tag.clone(),
        now,
    };
    let card_settings = repos.tenants.card_settings(t).await?.value;
    // The file is read and its rows turned into cards on a thread of their own
    // while the previous rows are checked and written: the two halves of the
    // work overlap on two cores. The channel is bounded, so memory stays flat.
    let rows = read_rows(
        reader,
        RowContext {
            header,
            columns: run.settings.columns.clone(),
            defaults,
            card_settings,
            import: id.clone(),
            checkpoint_row: run.job.checkpoint_row,
        },
    );
    let outcome = run.all_rows(rows, redo).await;
    // Whatever happened, the chunk in flight lands (or fails) before the job
    // is saved or the message goes back to the queue.
    let settled = run.settle().await;
    let fatal = outcome?;
    settled?;
    if let Some(why) = fatal {
        let job = fail(run.job, why);
        repos.imports.save(t, &job, run.version).await?;
        return Ok(job);
    }
    run.job.status = ImportStatus::Done;
    // The total counted at the start may be an upper bound (an XLSX's range);
    // the finished import shows the rows it read.
    run.job.rows_total = run.job.rows_done;
    run.job.finished_at = Some(now);
    repos.imports.save(t, &run.job, run.version).await?;
    tracing::info!(tenant = %t, import = %id, rows = run.job.rows_done, counts = ?run.job.counts, "import done");
    Ok(run.job)
}

impl Run<'_> {
    /// Checks and loads every row the reading thread sends, chunk by chunk;
    /// the last chunk may still be in flight on return. Returns why reading
    /// stopped early when the file cannot be read further.
    async fn all_rows(
        &mut self,
        mut rows: tokio::sync::mpsc::Receiver<Vec<Parsed>>,
        mut redo: bool,
    ) -> Result<Option<String>, JobError> {
        let (repos, t, now) = (self.repos, self.t, self.now);
        let mut listed_tags: HashSet<String> = HashSet::default();
        // Rows of the current chunk (their numbers in the file).
        let mut chunk: Vec<usize> = Vec::with_capacity(CHUNK_ROWS as usize);
        let mut carry: VecDeque<Parsed> = VecDeque::new();
        loop {
            let group = next_chunk(&mut rows, &mut carry).await;
            if group.is_empty() {
                break;
            }
            // Collected first: a lazy iterator held across the await would make
            // the job's future not Send.
            let cards: Vec<&Client> = group
                .iter()
                .filter_map(|p| match p {
                    Parsed::Row(_, Ok(cards)) => Some(cards),
                    _ => None,
                })
                .flat_map(|c| c.organization.iter().chain(c.contact.iter()))
                .collect();
            self.prefetch(&cards).await?;
            for parsed in group {
                let (number, result) = match parsed {
                    Parsed::Row(number, result) => (number, result),
                    Parsed::Fatal(why) => return Ok(Some(why)),
                    Parsed::Invalid(why) => return Err(JobError::Invalid(why)),
                };
                match result {
                    Ok(cards) => {
                        let cards = *cards;
                        // Listed before the cards carrying them land, so the tag list misses none (C6).
                        let new_tags: Vec<String> = cards
                            .organization
                            .iter()
                            .chain(cards.contact.iter())
                            .flat_map(|c| c.tags.iter())
                            .filter(|tag| listed_tags.insert(tag.to_string()))
                            .cloned()
                            .collect();
                        if !new_tags.is_empty() {
                            let by = &self.job.created_by;
                            repos.tags.register(t, &new_tags, by, now).await?;
                        }
                        let org = match cards.organization {
                            Some(org) => Some(self.load(org).await?),
                            None => None,
                        };
                        if let Some(mut contact) = cards.contact {
                            if org.is_some() {
                                contact.organization = org;
                            }
                            self.load(contact).await?;
                        }
                    }
                    Err((column, reason, cells)) => {
                        let rejected = RejectedRow {
                            row: number as u64,
                            column,
                            reason,
                            cells,
                        };
                        repos
                            .imports
                            .put_rejected(t, &self.job.id, &rejected)
                            .await?;
                        self.job.counts.rejected += 1;
                    }
                }
                self.job.rows_done += 1;
                // A sheet declaring fewer rows than it holds must not show more
                // done than in all.
                self.job.rows_total = self.job.rows_total.max(self.job.rows_done);
                chunk.push(number);
                if chunk.len() as u64 == CHUNK_ROWS {
                    self.land(&chunk, redo, number).await?;
                    redo = false;
                    chunk.clear();
                }
            }
        }
        if let Some(&last) = chunk.last() {
            self.land(&chunk, redo, last).await?;
        }
        Ok(None)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use callisto_domain::client::ClientKind;
    use callisto_domain::ids::UserId;

    fn org(website: Option<&str>, phones: &[&str]) -> Client {
        Client {
            phones: phones.iter().map(|p| p.to_string()).collect(),
            website: website.map(str::to_string),
            ..Client::blank(
                ClientId::parse("imp-999-o").unwrap(),
                ClientKind::Organization,
                "ООО Граница".into(),
                UserId::parse("admin").unwrap(),
                1,
            )
        }
    }

    /// A merge of the website into the card the chunk in flight writes.
    fn merge_in_flight() -> Entry {
        let written = org(None, &["+74951234567"]);
        let mut card = written.clone();
        card.website = Some("granica.ru".into());
        Entry {
            card,
            journal: Journal::default(),
            base: Some((written, UNKNOWN_VERSION)),
            base_in_flight: true,
        }
    }

    #[test]
    fn a_base_that_landed_as_written_gives_its_version_and_nothing_else() {
        let mut entry = merge_in_flight();
        let stored = Versioned {
            value: org(None, &["+74951234567"]),
            version: 1,
        };
        assert!(!entry.rebase(Some(stored), 5).unwrap());
        assert!(!entry.base_in_flight);
        assert_eq!(entry.base.as_ref().unwrap().1, 1);
        assert_eq!(entry.card.website.as_deref(), Some("granica.ru"));
    }

    #[test]
    fn a_base_changed_after_it_landed_is_merged_into_as_it_is_then() {
        let mut entry = merge_in_flight();
        // Someone set another website and added a phone in between.
        let stored = Versioned {
            value: org(Some("granica.com"), &["+74951234567", "+74957654321"]),
            version: 2,
        };
        assert!(entry.rebase(Some(stored.clone()), 5).unwrap());
        let (base, version) = entry.base.as_ref().unwrap();
        assert_eq!((base, *version), (&stored.value, 2));
        // Existing data wins; the merge adds nothing it does not fill.
        assert_eq!(entry.card.website.as_deref(), Some("granica.com"));
        assert_eq!(entry.card.phones, stored.value.phones);
        assert_eq!(entry.card.updated_at, 5);
    }

    #[test]
    fn a_base_gone_or_binned_keeps_a_version_no_update_can_match() {
        for stored in [
            None,
            Some(Versioned {
                value: Client {
                    deleted_at: Some(3),
                    ..org(None, &["+74951234567"])
                },
                version: 2,
            }),
        ] {
            let mut entry = merge_in_flight();
            assert!(!entry.rebase(stored, 5).unwrap());
            assert_eq!(entry.base.as_ref().unwrap().1, UNKNOWN_VERSION);
        }
    }
}
