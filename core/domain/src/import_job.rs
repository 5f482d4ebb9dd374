//! The state of one import (PRODUCT C2): uploaded → queued → running →
//! done or failed, with progress and counts a person can read at any time.
//! The worker saves it with a checkpoint row, so an interrupted import
//! resumes after the last saved row and never loads a row twice.

use crate::Millis;
use crate::ids::{ActivityId, UserId};
use crate::import::{Column, DuplicatePolicy};
use serde::{Deserialize, Serialize};

/// Import ids reuse the activity id type's alphabet (ULIDs).
pub type ImportId = ActivityId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// The file is stored; the preview can be asked for; nothing is written.
    Uploaded,
    Queued,
    Running,
    Done,
    Failed,
}

/// What the person confirmed after the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSettings {
    pub columns: Vec<Column>,
    pub encoding: Option<String>,
    pub separator: Option<u8>,
    pub sheet: Option<String>,
    pub responsible: UserId,
    pub tag: Option<String>,
    pub policy: DuplicatePolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    pub organizations_created: u64,
    pub contacts_created: u64,
    pub merged: u64,
    pub skipped: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: ImportId,
    pub file_name: String,
    pub size: u64,
    pub created_by: UserId,
    pub created_at: Millis,
    pub status: ImportStatus,
    pub settings: Option<ImportSettings>,
    /// Data rows in the file (counted when the import starts).
    pub rows_total: u64,
    /// The last row (as numbered in the file) whose effects are saved.
    pub checkpoint_row: u64,
    pub rows_done: u64,
    pub counts: ImportCounts,
    /// Why the import failed, for a person.
    pub error: Option<String>,
    pub finished_at: Option<Millis>,
}

impl ImportJob {
    /// 0-100, as a progress bar shows it.
    pub fn percent(&self) -> u8 {
        match self.status {
            ImportStatus::Done => 100,
            _ if self.rows_total == 0 => 0,
            _ => ((self.rows_done.min(self.rows_total) * 100) / self.rows_total) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_bounded_and_done_is_full() {
        let mut job = ImportJob {
            id: ImportId::parse("i1").unwrap(),
            file_name: "a.csv".into(),
            size: 1,
            created_by: UserId::parse("u").unwrap(),
            created_at: 0,
            status: ImportStatus::Running,
            settings: None,
            rows_total: 0,
            checkpoint_row: 0,
            rows_done: 0,
            counts: ImportCounts::default(),
            error: None,
            finished_at: None,
        };
        assert_eq!(job.percent(), 0);
        job.rows_total = 3;
        job.rows_done = 1;
        assert_eq!(job.percent(), 33);
        job.rows_done = 9;
        assert_eq!(job.percent(), 100);
        job.rows_done = 0;
        job.status = ImportStatus::Done;
        assert_eq!(job.percent(), 100);
    }
}
