//! The activity history of a card (PRODUCT C5) and notifications to users
//! (C4: the new owner of a card is told). Entries are facts: who did what,
//! when; they are written in the same transaction as the change they record.

use crate::Millis;
use crate::ids::{ActivityId, ClientId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Created,
    Updated,
    ResponsibleChanged,
    Deleted,
    Restored,
    Comment,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Created,
        ActivityKind::Updated,
        ActivityKind::ResponsibleChanged,
        ActivityKind::Deleted,
        ActivityKind::Restored,
        ActivityKind::Comment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Updated => "updated",
            ActivityKind::ResponsibleChanged => "responsible_changed",
            ActivityKind::Deleted => "deleted",
            ActivityKind::Restored => "restored",
            ActivityKind::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: ActivityId,
    pub client: ClientId,
    pub at: Millis,
    pub by: UserId,
    pub kind: ActivityKind,
    /// Free text (a comment) or a short summary.
    pub text: String,
    /// Structured facts, e.g. `from`/`to` of a hand-over, or the changed field names.
    pub details: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: ActivityId,
    pub user: UserId,
    pub at: Millis,
    pub text: String,
    pub client: Option<ClientId>,
}

/// Longest comment.
pub const MAX_COMMENT_CHARS: usize = 5_000;
