use crate::{BlobStore, ItemStore, Queue};
use std::sync::Arc;

/// The three storage ports a deployable needs, from one backend.
#[derive(Debug, Clone)]
pub struct Stores {
    pub items: Arc<dyn ItemStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn Queue>,
}
