//! [`BlobStore`] on one S3 bucket; the object key is the [`BlobKey`] itself.

use super::sdk_error;
use crate::StoreError;
use crate::blob::{Blob, BlobKey, BlobStore};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use callisto_domain::ids::TenantId;
use std::path::Path;
use tokio::io::AsyncWriteExt;

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

#[derive(Debug, Clone)]
pub(crate) struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub(crate) fn new(client: Client, bucket: String) -> S3Blobs {
        S3Blobs { client, bucket }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(
        &self,
        key: &BlobKey,
        data: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let content_type = if content_type.is_empty() {
            DEFAULT_CONTENT_TYPE
        } else {
            content_type
        };
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| sdk_error(format!("PutObject {}", key.as_str()), e))?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(sdk_error(format!("GetObject {}", key.as_str()), e)),
        };
        let content_type = out
            .content_type()
            .unwrap_or(DEFAULT_CONTENT_TYPE)
            .to_string();
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| sdk_error(format!("GetObject {}: reading body", key.as_str()), e))?
            .into_bytes()
            .to_vec();
        Ok(Some(Blob { data, content_type }))
    }

    async fn download_to(&self, key: &BlobKey, dest: &Path) -> Result<Option<u64>, StoreError> {
        let mut out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(sdk_error(format!("GetObject {}", key.as_str()), e)),
        };
        let local = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(local)?;
        let mut size = 0u64;
        while let Some(bytes) = out
            .body
            .try_next()
            .await
            .map_err(|e| sdk_error(format!("GetObject {}: reading body", key.as_str()), e))?
        {
            file.write_all(&bytes).await.map_err(local)?;
            size += bytes.len() as u64;
        }
        file.flush().await.map_err(local)?;
        Ok(Some(size))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| sdk_error(format!("DeleteObject {}", key.as_str()), e))?;
        Ok(())
    }

    async fn list(&self, tenant: &TenantId, path_prefix: &str) -> Result<Vec<BlobKey>, StoreError> {
        let tenant_prefix = BlobKey::tenant_prefix(tenant);
        let prefix = format!("{tenant_prefix}{path_prefix}");
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(format!("ListObjectsV2 {prefix}"), e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.starts_with(&tenant_prefix))
                    .map(|k| BlobKey::from_stored(k.to_string())),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; the port promises it, so make sure.
        keys.sort();
        Ok(keys)
    }
}

/// Creates the bucket unless this account already owns it.
pub(super) async fn create_bucket(
    client: &Client,
    bucket: &str,
    region: &str,
) -> Result<(), StoreError> {
    let mut req = client.create_bucket().bucket(bucket);
    // us-east-1 is the default location and must not be named.
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {
            tracing::info!(bucket, "created S3 bucket");
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            tracing::debug!(bucket, "S3 bucket exists");
            Ok(())
        }
        Err(e) => Err(sdk_error(format!("CreateBucket {bucket}"), e)),
    }
}
