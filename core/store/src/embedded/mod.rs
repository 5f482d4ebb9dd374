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

/// redb's page cache. Its default (1 GiB) lets a long bulk load grow the process
/// by a gigabyte; the OS page cache still holds the file beyond this.
const CACHE_BYTES: usize = 128 * 1024 * 1024;

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
