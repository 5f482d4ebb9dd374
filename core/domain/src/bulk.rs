//! Bulk actions on client cards (PRODUCT C4, C6, C8): tag, untag, hand over or
//! delete a selection or everything a filter selects. A bulk action is a job:
//! queued → running → done or failed, with progress a person can read, because
//! a filter may select a whole base.
//!
//! Applying an action to a card that already has its effect changes nothing,
//! so a job redone after a crash never changes a card twice.

use crate::Millis;
use crate::client::{Client, MAX_TAGS, check_tag};
use crate::filter::ClientFilter;
use crate::ids::{ActivityId, ClientId, GroupId, UserId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

/// Bulk job ids are ULIDs, like activity ids.
pub type BulkId = ActivityId;

/// Most ids one selection may name; larger sets are selected by a filter.
pub const MAX_SELECTED_IDS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkAction {
    AddTags {
        tags: Vec<String>,
    },
    RemoveTags {
        tags: Vec<String>,
    },
    /// Hand the cards over to `user` (C4); `group` is the user's group when the job was made.
    Assign {
        user: UserId,
        group: Option<GroupId>,
    },
    /// Move the cards to the recycle bin (C11).
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Selection {
    Ids { ids: Vec<ClientId> },
    Filter { filter: ClientFilter },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkCounts {
    /// Cards the action changed.
    pub changed: u64,
    /// Selected cards that already were as the action makes them.
    pub unchanged: u64,
    /// Selected cards the action may not change (see `last_refusal`).
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJob {
    pub id: BulkId,
    pub action: BulkAction,
    pub selection: Selection,
    pub created_by: UserId,
    pub created_at: Millis,
    /// The zone of clients whose number and city say nothing (the creator's own).
    pub fallback_zone: String,
    pub status: BulkStatus,
    /// Cards examined so far.
    pub done: u64,
    /// Cards to examine, where known in advance (a selection of ids).
    pub total: Option<u64>,
    /// Where a resumed run continues: an index into the ids, or a scan cursor.
    pub resume: Option<String>,
    pub counts: BulkCounts,
    /// Why the last card was refused, for the person reading the result.
    pub last_refusal: Option<String>,
    pub error: Option<String>,
    pub finished_at: Option<Millis>,
}

impl BulkJob {
    /// A job just queued.
    pub fn queued(
        id: BulkId,
        action: BulkAction,
        selection: Selection,
        created_by: UserId,
        created_at: Millis,
        fallback_zone: String,
    ) -> BulkJob {
        let total = match &selection {
            Selection::Ids { ids } => Some(ids.len() as u64),
            Selection::Filter { .. } => None,
        };
        BulkJob {
            id,
            action,
            selection,
            created_by,
            created_at,
            fallback_zone,
            status: BulkStatus::Queued,
            done: 0,
            total,
            resume: None,
            counts: BulkCounts::default(),
            last_refusal: None,
            error: None,
            finished_at: None,
        }
    }
}

impl BulkAction {
    /// Checks the action's own fields.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            BulkAction::AddTags { tags } | BulkAction::RemoveTags { tags } => {
                if tags.is_empty() {
                    return Err(FieldError::new("tags", "name at least one tag"));
                }
                if tags.len() > MAX_TAGS {
                    return Err(FieldError::new(
                        "tags",
                        format!("at most {MAX_TAGS} tags at once"),
                    ));
                }
                tags.iter().try_for_each(|t| check_tag(t))
            }
            BulkAction::Assign { .. } | BulkAction::Delete => Ok(()),
        }
    }

    /// The card after the action, `Ok(None)` if it already was so, or why the
    /// action may not change it. `by` is who acts; deleting needs the card's
    /// live contacts checked by the caller (an organization keeps them).
    pub fn apply(&self, card: &Client, by: &UserId, now: Millis) -> Result<Option<Client>, String> {
        let mut next = card.clone();
        match self {
            BulkAction::AddTags { tags } => {
                for t in tags {
                    if !next.tags.contains(t) {
                        next.tags.push(t.clone());
                    }
                }
                if next.tags.len() > MAX_TAGS {
                    return Err(format!(
                        "«{}» would have more than {MAX_TAGS} tags",
                        card.name
                    ));
                }
            }
            BulkAction::RemoveTags { tags } => next.tags.retain(|t| !tags.contains(t)),
            BulkAction::Assign { user, group } => {
                next.responsible = user.clone();
                next.responsible_group = group.clone();
            }
            BulkAction::Delete if card.is_deleted() => {}
            BulkAction::Delete => {
                next.deleted_at = Some(now);
                next.deleted_by = Some(by.clone());
            }
        }
        if next == *card {
            return Ok(None);
        }
        next.updated_at = now;
        Ok(Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientKind;

    fn card() -> Client {
        Client {
            last_name: Some("Петров".into()),
            tags: vec!["old".into()],
            ..Client::blank(
                ClientId::parse("c1").unwrap(),
                ClientKind::Contact,
                "Петров Пётр".into(),
                UserId::parse("u1").unwrap(),
                1,
            )
        }
    }

    #[test]
    fn an_applied_action_changes_nothing_the_second_time() {
        let by = UserId::parse("admin").unwrap();
        let actions = [
            BulkAction::AddTags {
                tags: vec!["expo".into()],
            },
            BulkAction::RemoveTags {
                tags: vec!["old".into()],
            },
            BulkAction::Assign {
                user: UserId::parse("u2").unwrap(),
                group: Some(GroupId::parse("sales").unwrap()),
            },
            BulkAction::Delete,
        ];
        for action in actions {
            let once = action.apply(&card(), &by, 10).unwrap().unwrap();
            assert_eq!(once.updated_at, 10, "{action:?}");
            assert_eq!(action.apply(&once, &by, 20).unwrap(), None, "{action:?}");
        }
    }

    #[test]
    fn tags_are_checked_and_limited() {
        let empty = BulkAction::AddTags { tags: vec![] };
        assert_eq!(empty.validate().unwrap_err().field, "tags");
        let bad = BulkAction::AddTags {
            tags: vec!["a;b".into()],
        };
        assert_eq!(bad.validate().unwrap_err().field, "tags");
        let many = BulkAction::AddTags {
            tags: (0..MAX_TAGS).map(|i| format!("t{i}")).collect(),
        };
        assert!(many.validate().is_ok());
        let err = many
            .apply(&card(), &UserId::parse("u1").unwrap(), 5)
            .unwrap_err();
        assert!(err.contains("more than 50 tags"), "{err}");
    }

    #[test]
    fn jobs_read_back_as_written() {
        let job = BulkJob::queued(
            BulkId::parse("b1").unwrap(),
            BulkAction::Delete,
            Selection::Filter {
                filter: ClientFilter {
                    tags: vec!["expo".into()],
                    ..ClientFilter::default()
                },
            },
            UserId::parse("u1").unwrap(),
            1,
            "Europe/Moscow".into(),
        );
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains(r#""action":"delete""#), "{json}");
        assert_eq!(serde_json::from_str::<BulkJob>(&json).unwrap(), job);
    }
}
