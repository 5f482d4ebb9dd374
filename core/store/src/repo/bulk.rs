//! Bulk-action jobs (`T#<t>` / `BULK#<id>`), queued on [`BULK_QUEUE`].

use super::{RepoError, Versioned, encode, put_checked, tenant_key, versioned};
use crate::item::{Condition, ItemStore, Key};
use callisto_domain::bulk::{BulkId, BulkJob};
use callisto_domain::ids::TenantId;
use std::sync::Arc;

/// The queue bulk jobs wait on; a message's body is the job id.
pub const BULK_QUEUE: &str = "bulk";

#[derive(Debug, Clone)]
pub struct BulkJobs {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn job_key(t: &TenantId, id: &BulkId) -> Key {
    tenant_key(t, format!("BULK#{id}"))
}

impl BulkJobs {
    pub async fn create(&self, t: &TenantId, job: &BulkJob) -> Result<(), RepoError> {
        self.items
            .put(encode(job_key(t, &job.id), job)?, Condition::NotExists)
            .await?;
        Ok(())
    }

    pub async fn get(&self, t: &TenantId, id: &BulkId) -> Result<Versioned<BulkJob>, RepoError> {
        let item = self
            .items
            .get(&job_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("bulk action"))?;
        Ok(versioned(&item)?)
    }

    /// Saves the job if nobody else changed it since `version`; returns the new version.
    pub async fn save(&self, t: &TenantId, job: &BulkJob, version: u64) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(job_key(t, &job.id), job)?,
            Condition::Version(version),
            "bulk action",
        )
        .await
    }
}
