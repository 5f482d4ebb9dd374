//! Import jobs (`T#<t>` / `IMPORT#<id>`) and their rejected rows
//! (`T#<t>#IMPREJ#<id>` / `<row>`), kept per row so a resumed import writes
//! each rejection once.

use super::{
    Listing, RepoError, Versioned, encode, listing, put_checked, tenant_key, tenant_pk, versioned,
};
use crate::StoreError;
use crate::blob::BlobKey;
use crate::item::{Condition, ItemStore, Key, Query, SortKey};
use callisto_domain::ids::TenantId;
use callisto_domain::import_job::{ImportId, ImportJob};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The queue confirmed imports wait on; a message's body is the import id.
pub const IMPORT_QUEUE: &str = "imports";

/// Where an import's uploaded file is kept.
pub fn import_source_key(t: &TenantId, id: &ImportId) -> Result<BlobKey, StoreError> {
    BlobKey::new(t, &format!("imports/{id}/source"))
}

#[derive(Debug, Clone)]
pub struct Imports {
    pub(crate) items: Arc<dyn ItemStore>,
}

/// A row the import did not load, with its cells, for the downloadable list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub row: u64,
    pub column: Option<String>,
    pub reason: String,
    pub cells: Vec<String>,
}

fn job_key(t: &TenantId, id: &ImportId) -> Key {
    tenant_key(t, format!("IMPORT#{id}"))
}

fn rejected_pk(t: &TenantId, id: &ImportId) -> String {
    format!("{}#IMPREJ#{id}", tenant_pk(t))
}

impl Imports {
    pub async fn create(&self, t: &TenantId, job: &ImportJob) -> Result<(), RepoError> {
        self.items
            .put(encode(job_key(t, &job.id), job)?, Condition::NotExists)
            .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        t: &TenantId,
        id: &ImportId,
    ) -> Result<Versioned<ImportJob>, RepoError> {
        let item = self
            .items
            .get(&job_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("import"))?;
        Ok(versioned(&item)?)
    }

    /// Saves the job if nobody else changed it since `version`; returns the new version.
    pub async fn save(
        &self,
        t: &TenantId,
        job: &ImportJob,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(job_key(t, &job.id), job)?,
            Condition::Version(version),
            "import",
        )
        .await
    }

    pub async fn put_rejected(
        &self,
        t: &TenantId,
        id: &ImportId,
        row: &RejectedRow,
    ) -> Result<(), RepoError> {
        let key = Key::new(rejected_pk(t, id), format!("{:010}", row.row));
        self.items.put(encode(key, row)?, Condition::None).await?;
        Ok(())
    }

    /// Rejected rows in file order.
    pub async fn rejected(
        &self,
        t: &TenantId,
        id: &ImportId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<RejectedRow>, RepoError> {
        listing(
            self.items.as_ref(),
            Query::table(rejected_pk(t, id), SortKey::All)
                .limit(limit)
                .after(cursor),
        )
        .await
    }
}
