//! The activity history of a card (PRODUCT C5) and notifications to users
//! (C4: the new owner of a card is told). Entries are facts: who did what,
//! when; they are written in the same transaction as the change they record.

use crate::Millis;
use crate::client::Client;
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
    /// An agent saved a call result from a work list (E1).
    CallResult,
    /// An event (call back, meeting, e-mail) was planned on the card (C13).
    EventCreated,
    /// An event on the card was marked done (C13).
    EventDone,
    /// An e-mail sent from the card (D3): `details` has `subject`, `to` and `mail`.
    Email,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 10] = [
        ActivityKind::Created,
        ActivityKind::Updated,
        ActivityKind::ResponsibleChanged,
        ActivityKind::Deleted,
        ActivityKind::Restored,
        ActivityKind::Comment,
        ActivityKind::CallResult,
        ActivityKind::EventCreated,
        ActivityKind::EventDone,
        ActivityKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Updated => "updated",
            ActivityKind::ResponsibleChanged => "responsible_changed",
            ActivityKind::Deleted => "deleted",
            ActivityKind::Restored => "restored",
            ActivityKind::Comment => "comment",
            ActivityKind::CallResult => "call_result",
            ActivityKind::EventCreated => "event_created",
            ActivityKind::EventDone => "event_done",
            ActivityKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// May people correct the text of entries of this kind? Entries the system
    /// writes about changes are facts and stay as written.
    pub fn is_editable(self) -> bool {
        self == ActivityKind::Comment
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
    /// Set when someone corrected the text after the fact (C5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<Edit>,
}

/// Who last corrected an entry's text, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub at: Millis,
    pub by: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: ActivityId,
    pub user: UserId,
    pub at: Millis,
    pub text: String,
    pub client: Option<ClientId>,
}

/// Who makes a change, as history entries and notifications name them.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: &'a UserId,
    pub name: &'a str,
}

/// The fields a person edits that differ between two states of a card, sorted.
pub fn changed_fields(old: &Client, new: &Client) -> Vec<&'static str> {
    let pairs = [
        ("city", old.city != new.city),
        ("client_type", old.client_type != new.client_type),
        ("custom", old.custom != new.custom),
        ("description", old.description != new.description),
        ("emails", old.emails != new.emails),
        ("first_name", old.first_name != new.first_name),
        ("industry", old.industry != new.industry),
        ("inn", old.inn != new.inn),
        ("last_name", old.last_name != new.last_name),
        ("name", old.name != new.name),
        ("organization", old.organization != new.organization),
        ("patronymic", old.patronymic != new.patronymic),
        ("phones", old.phones != new.phones),
        ("position", old.position != new.position),
        ("tags", old.tags != new.tags),
        ("website", old.website != new.website),
    ];
    pairs
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name)
        .collect()
}

/// The history of an edit made at `new.updated_at` (C4, C5): an entry naming the
/// changed fields, and for a hand-over an entry with `from`/`to` and a
/// notification to the new owner unless they made the change themselves.
pub fn change_record(
    actor: Actor<'_>,
    old: &Client,
    new: &Client,
    mut next_id: impl FnMut() -> ActivityId,
) -> (Vec<Activity>, Vec<Notification>) {
    let mut activities = Vec::new();
    let mut notifications = Vec::new();
    let entry = |id, kind, details| Activity {
        id,
        client: new.id.clone(),
        at: new.updated_at,
        by: actor.id.clone(),
        kind,
        text: String::new(),
        details,
        edited: None,
    };
    let changed = changed_fields(old, new);
    if !changed.is_empty() {
        let details = BTreeMap::from([("fields".to_string(), changed.join(","))]);
        activities.push(entry(next_id(), ActivityKind::Updated, details));
    }
    if old.responsible != new.responsible {
        let details = BTreeMap::from([
            ("from".to_string(), old.responsible.to_string()),
            ("to".to_string(), new.responsible.to_string()),
        ]);
        activities.push(entry(next_id(), ActivityKind::ResponsibleChanged, details));
        if &new.responsible != actor.id {
            notifications.push(Notification {
                id: next_id(),
                user: new.responsible.clone(),
                at: new.updated_at,
                text: format!("{} handed the card «{}» over to you", actor.name, new.name),
                client: Some(new.id.clone()),
            });
        }
    }
    (activities, notifications)
}

/// Longest comment.
pub const MAX_COMMENT_CHARS: usize = 5_000;
