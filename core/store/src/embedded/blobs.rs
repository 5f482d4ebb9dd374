use super::backend;
use crate::StoreError;
use crate::blob::{Blob, BlobKey, BlobStore};
use async_trait::async_trait;
use callisto_domain::ids::TenantId;
use std::path::{Path, PathBuf};

/// Blobs as files: `data/<key>` holds the bytes and `meta/<key>` the content
/// type. Writes go to `tmp/` first and are renamed into place, so a reader sees
/// a whole object or none.
#[derive(Debug, Clone)]
pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    pub fn open(root: &Path) -> Result<FolderBlobs, StoreError> {
        for sub in ["data", "meta", "tmp"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| StoreError::Backend(format!("{}: {e}", root.display())))?;
        }
        Ok(FolderBlobs {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, area: &str, key: &BlobKey) -> PathBuf {
        self.root.join(area).join(key.as_str())
    }
}

/// Writes `bytes` to `dest` durably: to a file in `tmp_dir`, synced, renamed
/// into place, and `dest`'s folder synced so the rename survives a crash
/// (callers drop their own copy once a put returns).
fn write_atomically(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = dest.parent().unwrap_or(tmp_dir);
    std::fs::create_dir_all(parent)?;
    let tmp = tmp_dir.join(ulid::Ulid::new().to_string());
    let mut f = std::fs::File::create(&tmp)?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dest)?;
    std::fs::File::open(parent)?.sync_all()
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put(
        &self,
        key: &BlobKey,
        data: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let tmp = self.root.join("tmp");
        let (meta, dest) = (self.path("meta", key), self.path("data", key));
        let content_type = content_type.to_string();
        // One blocking hop for the whole put, not one per file operation.
        super::blocking(move || {
            write_atomically(&tmp, &meta, content_type.as_bytes()).map_err(backend)?;
            write_atomically(&tmp, &dest, &data).map_err(backend)
        })
        .await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, StoreError> {
        let data = match tokio::fs::read(self.path("data", key)).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let content_type = tokio::fs::read_to_string(self.path("meta", key))
            .await
            .unwrap_or_else(|_| "application/octet-stream".to_string());
        Ok(Some(Blob { data, content_type }))
    }

    async fn download_to(&self, key: &BlobKey, dest: &Path) -> Result<Option<u64>, StoreError> {
        // Objects are replaced by rename, so the copy reads one whole version.
        match tokio::fs::copy(self.path("data", key), dest).await {
            Ok(size) => Ok(Some(size)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match tokio::fs::try_exists(self.path("data", key)).await {
                    Ok(false) => Ok(None),
                    _ => Err(StoreError::Backend(format!("{}: {e}", dest.display()))),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        for area in ["data", "meta"] {
            match tokio::fs::remove_file(self.path(area, key)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(())
    }

    async fn list(&self, tenant: &TenantId, path_prefix: &str) -> Result<Vec<BlobKey>, StoreError> {
        let data = self.root.join("data");
        let tenant_prefix = BlobKey::tenant_prefix(tenant);
        let wanted = format!("{tenant_prefix}{path_prefix}");
        let start = data.join(tenant_prefix.trim_end_matches('/'));
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(backend(e)),
                };
                for entry in entries {
                    let path = entry.map_err(backend)?.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if let Ok(rel) = path.strip_prefix(&data) {
                        let key = rel.to_string_lossy().into_owned();
                        if key.starts_with(&wanted) {
                            out.push(BlobKey::from_stored(key));
                        }
                    }
                }
            }
            out.sort();
            Ok(out)
        })
        .await
        .map_err(backend)?
    }
}
