//! Embedded backend for one machine: a redb file for items and queues (index
//! entries written in the same transaction as their item) and a folder for blobs.
//! Everything lives under one data directory and survives restarts.

mod blobs;
mod items;
mod keys;
mod queue;

pub use blobs::FolderBlobs;
pub use items::RedbItems;
pub use queue::RedbQueue;

use crate::{StoreError, Stores};
use std::path::Path;
use std::sync::Arc;

/// redb's page cache, set explicitly: a bound on what the store keeps in the
/// process (a long bulk load fills it and stays there), large enough that a
/// scan over a million cards is served from it. 128 MiB made the 1 000 000-card
/// duplicate search half as fast again (docs/benchmarks.md). The OS page cache
/// holds the file beyond this.
const CACHE_BYTES: usize = 1024 * 1024 * 1024;

/// Opens (creating if needed) the embedded stores under `data_dir`:
/// `callisto.redb` for items and queues, `blobs/` for objects.
pub fn open(data_dir: &Path) -> Result<Stores, StoreError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| StoreError::Backend(format!("{}: {e}", data_dir.display())))?;
    let db = redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(data_dir.join("callisto.redb"))
        .map_err(|e| {
            StoreError::Backend(format!("{}: {e}", data_dir.join("callisto.redb").display()))
        })?;
    let db = Arc::new(db);
    Ok(Stores {
        items: Arc::new(RedbItems::new(db.clone())?),
        blobs: Arc::new(FolderBlobs::open(&data_dir.join("blobs"))?),
        queue: Arc::new(RedbQueue::new(db)?),
    })
}

fn backend<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Runs blocking storage work off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(backend)?
}
