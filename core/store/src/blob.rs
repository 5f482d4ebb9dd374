//! The blob port: whole objects by key (recordings, uploaded import files,
//! exports, mail attachments). Keys always start with the tenant.

use crate::StoreError;
use async_trait::async_trait;
use callisto_domain::ids::TenantId;
use std::path::Path;

/// `T#<tenant>/<path>`; the path is relative, `/`-separated, without `.`/`..`
/// segments and made of safe characters, so it maps to a file path and an S3 key alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn new(tenant: &TenantId, path: &str) -> Result<BlobKey, StoreError> {
        let bad = |why: &str| Err(StoreError::Invalid(format!("blob path {path:?}: {why}")));
        if path.is_empty() || path.len() > 900 {
            return bad("must be 1-900 bytes");
        }
        for seg in path.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return bad("empty, '.' or '..' segment");
            }
            if !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.=+@".contains(&b))
            {
                return bad("only A-Z a-z 0-9 - _ . = + @ and '/' are allowed");
            }
        }
        Ok(BlobKey(format!("T#{tenant}/{path}")))
    }

    /// The prefix under which all of a tenant's blobs live.
    pub fn tenant_prefix(tenant: &TenantId) -> String {
        format!("T#{tenant}/")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(s: String) -> BlobKey {
        BlobKey(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub data: Vec<u8>,
    pub content_type: String,
}

#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores the object atomically: readers see the old or the new object, never a part.
    async fn put(&self, key: &BlobKey, data: Vec<u8>, content_type: &str)
    -> Result<(), StoreError>;
    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, StoreError>;
    /// Copies the object into the local file `dest` (created or replaced),
    /// streaming it, so an object of any size costs no more memory than a small
    /// buffer. Returns its size in bytes, or `None` if there is no such object.
    async fn download_to(&self, key: &BlobKey, dest: &Path) -> Result<Option<u64>, StoreError>;
    /// Deleting an absent object is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;
    /// Keys of one tenant under `path_prefix` (relative, may be empty), in byte order.
    async fn list(&self, tenant: &TenantId, path_prefix: &str) -> Result<Vec<BlobKey>, StoreError>;
}
