//! The node's durable hand-off of finished calls: a call's record and its
//! recording are written to a local folder (and fsynced) the moment the call
//! ends; the uploader then puts the recording into the blob store and the
//! record into the item store, and only then removes them. A node that
//! restarts finds what it had not delivered and delivers it; both writes are
//! idempotent, so delivering twice changes nothing.
//!
//! Layout: `<dir>/rec/<call>.wav` (recordings being written), `<dir>/done/<call>.json`
//! (finished calls committed together, named after the first: their records,
//! each naming its recording if any).

use callisto_domain::Millis;
use callisto_domain::agent_state::{AgentStatus, StateChange, after_call};
use callisto_domain::call::{CallRecord, recording_path};
use callisto_store::Stores;
use callisto_store::blob::BlobKey;
use callisto_store::repo::{RepoError, Repos};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spool entry {path} is unreadable: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("delivering call {call}: {message}")]
    Delivery { call: String, message: String },
    #[error("the spool's writer has stopped")]
    Stopped,
    #[error("a spool task failed: {0}")]
    Task(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A finished call waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    pub record: CallRecord,
    /// The recording's file name inside `rec/`, when the call was recorded.
    pub recording_file: Option<String>,
}

/// What an entry file holds: the calls committed together, or (files
/// written before calls were committed in batches) one call.
#[derive(Deserialize)]
#[serde(untagged)]
enum EntryFile {
    Batch(Vec<Finished>),
    One(Box<Finished>),
}

#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    pub fn open(dir: &Path) -> Result<Spool, SpoolError> {
        for sub in ["rec", "done"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(io(&p))?;
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the recorder writes a call's recording while the call lasts.
    pub fn recording_file(&self, call: &str) -> PathBuf {
        self.dir.join("rec").join(format!("{call}.wav"))
    }

    /// Hands a finished call over for delivery. Durable when this returns:
    /// the recording (if any) and the entry are on disk.
    pub fn commit(&self, record: &CallRecord, recorded: bool) -> Result<(), SpoolError> {
        self.commit_many(&[(record, recorded)])
            .pop()
            .unwrap_or(Err(SpoolError::Stopped))
    }

    /// Hands finished calls over for delivery, one result per call in order.
    /// Each call that succeeded is durable when this returns. The calls share
    /// one entry file, so a batch costs one entry fsync and one folder fsync
    /// (each recording is still synced on its own).
    pub fn commit_many(&self, calls: &[(&CallRecord, bool)]) -> Vec<Result<(), SpoolError>> {
        let mut results: Vec<Result<(), SpoolError>> = calls
            .iter()
            .map(|(record, recorded)| self.sync_recording(record, *recorded))
            .collect();
        let entries: Vec<Finished> = calls
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|((record, recorded), _)| Finished {
                record: (*record).clone(),
                recording_file: recorded.then(|| format!("{}.wav", record.id)),
            })
            .collect();
        if let Some(first) = entries.first() {
            let path = self.entry_path(first.record.id.as_str());
            if let Err(e) = self.write_entries(&path, &entries) {
                for r in results.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(SpoolError::Io {
                        path: path.clone(),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    });
                }
            }
        }
        results
    }

    /// Entry files are named after their first call, so names sort by time
    /// (call ids are ULIDs) and no two batches share one.
    fn entry_path(&self, call: &str) -> PathBuf {
        self.dir.join("done").join(format!("{call}.json"))
    }

    /// A call's recording, if it has one, made durable.
    fn sync_recording(&self, record: &CallRecord, recorded: bool) -> Result<(), SpoolError> {
        if recorded {
            let path = self.recording_file(record.id.as_str());
            let f = std::fs::File::open(&path).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
        }
        Ok(())
    }

    /// Writes `entries` to `path` durably: to a temporary file, synced,
    /// renamed into place, and the folder synced so the rename survives a crash.
    fn write_entries(&self, path: &Path, entries: &[Finished]) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(entries)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(self.dir.join("done"))?.sync_all()
    }

    /// A writer on a thread of its own that commits the calls handed to it,
    /// those that end together in one batch ([`Spool::commit_many`]). It
    /// stops when every [`Committer`] is dropped.
    pub fn committer(&self) -> Committer {
        let (tx, rx) = std::sync::mpsc::channel::<CommitRequest>();
        let spool = self.clone();
        std::thread::Builder::new()
            .name("spool-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < COMMIT_BATCH
                        && let Ok(more) = rx.try_recv()
                    {
                        batch.push(more);
                    }
                    let calls: Vec<(&CallRecord, bool)> =
                        batch.iter().map(|r| (&r.record, r.recorded)).collect();
                    let results = spool.commit_many(&calls);
                    for (req, result) in batch.into_iter().zip(results) {
                        let _ = req.done.send(result);
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "spool writer not started"));
        Committer { tx }
    }

    /// Entries waiting for delivery, oldest call first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let done = self.dir.join("done");
        let mut out: Vec<PathBuf> = std::fs::read_dir(&done)
            .map_err(io(&done))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Delivers one entry file's calls: each recording first (the record
    /// points at it), then the records in one store write, then the local
    /// files go. A call that cannot be delivered stays in the file for the
    /// next round; the others are not held back by it. Returns how many
    /// calls were delivered.
    pub async fn deliver(&self, entry: &Path, stores: &Stores) -> Result<usize, SpoolError> {
        let path = entry.to_path_buf();
        let calls = off_runtime(move || read_entry(&path)).await?;
        let mut kept = Vec::new();
        let mut uploaded = Vec::new();
        // Recordings go up a few at a time: each put waits for its fsyncs.
        let mut calls = calls.into_iter().peekable();
        while calls.peek().is_some() {
            let wave: Vec<Finished> = calls.by_ref().take(UPLOADS_AT_ONCE).collect();
            let puts = wave.into_iter().map(|mut f| async move {
                let result = self.upload_recording(&mut f, stores).await;
                (f, result)
            });
            for (f, result) in futures_util::future::join_all(puts).await {
                match result {
                    Ok(()) => uploaded.push(f),
                    Err(e) => {
                        tracing::warn!(call = %f.record.id, error = %e, "recording not delivered; will retry");
                        kept.push(f);
                    }
                }
            }
        }
        let repos = Repos::new(stores.items.clone());
        let records: Vec<CallRecord> = uploaded.iter().map(|f| f.record.clone()).collect();
        let results = repos.calls.record_many(&records).await;
        let mut delivered = Vec::new();
        for (f, result) in uploaded.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    // The call is kept whatever happens to the agent's state.
                    if let Err(e) = start_wrap_up(&repos, &f.record).await {
                        tracing::warn!(call = %f.record.id, error = %e, "wrap-up not started");
                    }
                    delivered.push(f);
                }
                Err(e) => {
                    tracing::warn!(call = %f.record.id, error = %e, "call record not delivered; will retry");
                    kept.push(f);
                }
            }
        }
        let count = delivered.len();
        let (spool, path) = (self.clone(), entry.to_path_buf());
        off_runtime(move || spool.settle(&path, kept, &delivered)).await?;
        Ok(count)
    }

    /// After a delivery: the entry file keeps only the calls not delivered
    /// (or goes), then the delivered calls' recordings go. The entry goes
    /// first: a crash between the two leaves a delivered recording's local
    /// copy behind, never an entry without its file.
    fn settle(
        &self,
        entry: &Path,
        mut kept: Vec<Finished>,
        delivered: &[Finished],
    ) -> Result<(), SpoolError> {
        if kept.is_empty() {
            std::fs::remove_file(entry).map_err(io(entry))?;
        } else if !delivered.is_empty() {
            kept.sort_by(|a, b| a.record.id.as_str().cmp(b.record.id.as_str()));
            self.write_entries(entry, &kept).map_err(io(entry))?;
        }
        for f in delivered {
            if let Some(file) = &f.recording_file {
                let path = self.dir.join("rec").join(file);
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
            tracing::info!(call = %f.record.id, recorded = f.recording_file.is_some(), "call delivered");
        }
        Ok(())
    }

    /// Puts a call's recording, if it has one, into the blob store and points
    /// its record at it.
    async fn upload_recording(&self, f: &mut Finished, stores: &Stores) -> Result<(), SpoolError> {
        let Some(file) = &f.recording_file else {
            return Ok(());
        };
        let fail = |message: String| SpoolError::Delivery {
            call: f.record.id.to_string(),
            message,
        };
        let path = self.dir.join("rec").join(file);
        let data = off_runtime(move || std::fs::read(&path).map_err(io(&path))).await?;
        let rel = recording_path(&f.record.id, f.record.started_at, "wav");
        let key = BlobKey::new(&f.record.tenant, &rel).map_err(|e| fail(e.to_string()))?;
        let len = data.len() as u64;
        stores
            .blobs
            .put(&key, data, "audio/wav")
            .await
            .map_err(|e| fail(e.to_string()))?;
        if let Some(r) = f.record.recording.as_mut() {
            r.key = key.as_str().to_string();
            r.bytes = len;
        }
        Ok(())
    }

    /// Delivers everything pending; returns how many calls were delivered.
    /// A call that fails stays for the next round.
    pub async fn drain(&self, stores: &Stores) -> Result<usize, SpoolError> {
        let mut delivered = 0;
        let spool = self.clone();
        for entry in off_runtime(move || spool.pending()).await? {
            match self.deliver(&entry, stores).await {
                Ok(n) => delivered += n,
                Err(e) => {
                    tracing::warn!(error = %e, entry = %entry.display(), "delivery failed; will retry")
                }
            }
        }
        Ok(delivered)
    }

    /// Delivers until `stop` resolves: at start (what a previous run left),
    /// after each commit (`wake`), and every `retry` while something is left.
    pub async fn run(
        self,
        stores: Stores,
        wake: std::sync::Arc<tokio::sync::Notify>,
        retry: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.drain(&stores).await {
                tracing::error!(error = %e, "spool unreadable");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(retry) => {}
            }
        }
    }
}

/// An answered call's agent goes into the company's after-call wrap-up
/// (PRODUCT E4), unless their state says otherwise ([`after_call`]). A state
/// the agent set meanwhile wins over the wrap-up.
async fn start_wrap_up(repos: &Repos, r: &CallRecord) -> Result<(), RepoError> {
    let (Some(agent), Some(_)) = (&r.agent, r.answered_at) else {
        return Ok(());
    };
    let Some(ms) = repos.tenants.get(&r.tenant).await?.value.wrap_up_ms else {
        return Ok(());
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default();
    let current = repos.agent_states.get(&r.tenant, agent).await?;
    let Some(to) = after_call(current.as_ref().map(|v| &v.value), r.ended_at, ms, now) else {
        return Ok(());
    };
    let from = current
        .as_ref()
        .map(|v| v.value.state.at(now))
        .unwrap_or_default();
    let version = current.map(|v| v.version).unwrap_or(0);
    let status = AgentStatus {
        user: agent.clone(),
        state: to.clone(),
        since: now,
    };
    let change = StateChange {
        user: agent.clone(),
        from,
        to,
        at: now,
    };
    match repos
        .agent_states
        .set(&r.tenant, &status, version, &change)
        .await
    {
        Err(RepoError::Stale(_)) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The calls of an entry file.
fn read_entry(entry: &Path) -> Result<Vec<Finished>, SpoolError> {
    let bytes = std::fs::read(entry).map_err(io(entry))?;
    let file: EntryFile = serde_json::from_slice(&bytes).map_err(|source| SpoolError::Corrupt {
        path: entry.to_path_buf(),
        source,
    })?;
    Ok(match file {
        EntryFile::Batch(calls) => calls,
        EntryFile::One(call) => vec![*call],
    })
}

/// Runs the spool's file work on the blocking pool: an unlink or a rename
/// can wait for the file system's journal while other calls' fsyncs commit
/// it, and the runtime's worker carries every call's signalling.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SpoolError> + Send + 'static,
) -> Result<T, SpoolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SpoolError::Task(e.to_string()))?
}

/// Recordings put into the blob store at once while delivering.
const UPLOADS_AT_ONCE: usize = 16;

/// Calls committed at most in one batch.
const COMMIT_BATCH: usize = 256;

struct CommitRequest {
    record: CallRecord,
    recorded: bool,
    done: tokio::sync::oneshot::Sender<Result<(), SpoolError>>,
}

/// Hands finished calls to the spool's writer thread ([`Spool::committer`]).
#[derive(Debug, Clone)]
pub struct Committer {
    tx: std::sync::mpsc::Sender<CommitRequest>,
}

impl Committer {
    /// Commits a finished call; durable (as [`Spool::commit`]) when it returns `Ok`.
    pub async fn commit(&self, record: CallRecord, recorded: bool) -> Result<(), SpoolError> {
        let (done, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(CommitRequest {
                record,
                recorded,
                done,
            })
            .map_err(|_| SpoolError::Stopped)?;
        rx.await.unwrap_or(Err(SpoolError::Stopped))
    }
}

impl std::fmt::Debug for CommitRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitRequest")
            .field("call", &self.record.id)
            .finish_non_exhaustive()
    }
}
