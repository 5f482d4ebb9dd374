//! Events and reminders (PRODUCT C13): a call back, a meeting or an e-mail to
//! send, planned on a client card for a user at a date and time. Whether an
//! event is planned, due, overdue or done is derived from `now`; the
//! due-reminder job tells the assignee once, `lead` before it is due.

use crate::Millis;
use crate::activity::{Activity, ActivityKind, Actor, Notification};
use crate::ids::{ActivityId, ClientId, EventId, UserId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest note of an event.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// How long before its time an event is due and its assignee reminded, unless configured.
pub const DEFAULT_LEAD_MS: Millis = 15 * 60_000;
/// Latest time an event may be set for (9999-12-31): due times are 13-digit keys.
pub const MAX_DUE_AT: Millis = 253_402_300_799_999;
/// Widest calendar range one request reads.
pub const MAX_RANGE_MS: Millis = 92 * 24 * 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    CallBack,
    Meeting,
    Email,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [EventKind::CallBack, EventKind::Meeting, EventKind::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CallBack => "call_back",
            EventKind::Meeting => "meeting",
            EventKind::Email => "email",
        }
    }

    /// What people read: "call back", "meeting", "e-mail".
    pub fn label(self) -> &'static str {
        match self {
            EventKind::CallBack => "call back",
            EventKind::Meeting => "meeting",
            EventKind::Email => "e-mail",
        }
    }

    pub fn parse(field: &'static str, s: &str) -> Result<EventKind, FieldError> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(field, format!("{s:?}: use call_back, meeting or email"))
            })
    }
}

/// Where an event stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Its time is more than the lead time away.
    Planned,
    /// Its time is within the lead time.
    Due,
    /// Its time has passed and it is not done.
    Overdue,
    Done,
}

impl EventState {
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Planned => "planned",
            EventState::Due => "due",
            EventState::Overdue => "overdue",
            EventState::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub kind: EventKind,
    /// The card it is about.
    pub client: ClientId,
    pub due_at: Millis,
    pub assignee: UserId,
    pub author: UserId,
    /// Trimmed, at most [`MAX_NOTE_CHARS`]; may be empty.
    pub note: String,
    pub done_at: Option<Millis>,
    /// When the assignee was reminded; cleared when the time changes.
    #[serde(default)]
    pub reminded_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Event {
    /// Planned, due within `lead` of its time, overdue once its time passed, or done.
    pub fn state(&self, now: Millis, lead: Millis) -> EventState {
        if self.done_at.is_some() {
            EventState::Done
        } else if now >= self.due_at {
            EventState::Overdue
        } else if now >= self.due_at - lead {
            EventState::Due
        } else {
            EventState::Planned
        }
    }

    /// Open and not reminded yet: the reminder job still has to tell the assignee.
    pub fn awaits_reminder(&self) -> bool {
        self.done_at.is_none() && self.reminded_at.is_none()
    }

    /// Moves the event to another time; a moved event is reminded again.
    pub fn reschedule(&mut self, due_at: Millis) {
        if due_at != self.due_at {
            self.due_at = due_at;
            self.reminded_at = None;
        }
    }
}

/// A note as stored: trimmed, bounded.
pub fn check_note(field: &'static str, note: &str) -> Result<String, FieldError> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.to_string())
}

/// A due time within what keys can hold (the Unix epoch to 9999-12-31).
pub fn check_due_at(field: &'static str, due_at: Millis) -> Result<Millis, FieldError> {
    if (0..=MAX_DUE_AT).contains(&due_at) {
        Ok(due_at)
    } else {
        Err(FieldError::new(
            field,
            "must be a time between 1970 and 9999 in milliseconds since the epoch",
        ))
    }
}

/// A calendar range `[from, to)`: not empty, not reversed, at most [`MAX_RANGE_MS`].
pub fn check_range(from: Millis, to: Millis) -> Result<(), FieldError> {
    check_due_at("from", from)?;
    check_due_at("to", to)?;
    if to <= from {
        return Err(FieldError::new("to", "must be after from"));
    }
    if to - from > MAX_RANGE_MS {
        return Err(FieldError::new("to", "the range may span at most 92 days"));
    }
    Ok(())
}

fn entry(event: &Event, id: ActivityId, kind: ActivityKind, at: Millis, by: &UserId) -> Activity {
    let details = BTreeMap::from([
        ("event".to_string(), event.id.to_string()),
        ("event_kind".to_string(), event.kind.as_str().to_string()),
        ("due_at".to_string(), event.due_at.to_string()),
        ("assignee".to_string(), event.assignee.to_string()),
    ]);
    Activity {
        id,
        client: event.client.clone(),
        at,
        by: by.clone(),
        kind,
        text: event.note.clone(),
        details,
        edited: None,
    }
}

/// The card's history entry of a new event, by its author at its creation.
pub fn created_entry(event: &Event, id: ActivityId) -> Activity {
    entry(
        event,
        id,
        ActivityKind::EventCreated,
        event.created_at,
        &event.author,
    )
}

/// The card's history entry of an event marked done by `by` (at its `done_at`).
pub fn done_entry(event: &Event, id: ActivityId, by: &UserId) -> Activity {
    let at = event.done_at.unwrap_or(event.updated_at);
    entry(event, id, ActivityKind::EventDone, at, by)
}

/// The notification telling the assignee someone else gave them the event;
/// none when they gave it to themselves.
pub fn assignment_notice(
    actor: Actor<'_>,
    event: &Event,
    card_name: &str,
    id: ActivityId,
) -> Option<Notification> {
    (&event.assignee != actor.id).then(|| Notification {
        id,
        user: event.assignee.clone(),
        at: event.updated_at,
        text: format!(
            "{} gave you a {} about «{card_name}»",
            actor.name,
            event.kind.label()
        ),
        client: Some(event.client.clone()),
    })
}

/// The reminder of an event to its assignee, made at `now`.
pub fn reminder_notice(
    event: &Event,
    card_name: &str,
    now: Millis,
    lead: Millis,
    id: ActivityId,
) -> Notification {
    let when = match event.state(now, lead) {
        EventState::Overdue => "is overdue",
        _ => "is due soon",
    };
    Notification {
        id,
        user: event.assignee.clone(),
        at: now,
        text: format!("The {} about «{card_name}» {when}", event.kind.label()),
        client: Some(event.client.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;
    const T: Millis = 1_790_000_000_000;

    fn event() -> Event {
        Event {
            id: EventId::parse("e1").unwrap(),
            kind: EventKind::CallBack,
            client: ClientId::parse("c1").unwrap(),
            due_at: T,
            assignee: UserId::parse("ann").unwrap(),
            author: UserId::parse("bob").unwrap(),
            note: String::new(),
            done_at: None,
            reminded_at: None,
            created_at: T - 60 * MIN,
            updated_at: T - 60 * MIN,
        }
    }

    #[test]
    fn state_follows_the_clock_and_the_lead_time() {
        let e = event();
        let lead = 15 * MIN;
        assert_eq!(e.state(T - 15 * MIN - 1, lead), EventState::Planned);
        assert_eq!(e.state(T - 15 * MIN, lead), EventState::Due);
        assert_eq!(e.state(T - 1, lead), EventState::Due);
        assert_eq!(e.state(T, lead), EventState::Overdue);
        assert_eq!(e.state(T + 1, 0), EventState::Overdue);
        assert_eq!(e.state(T - 1, 0), EventState::Planned);
        let done = Event {
            done_at: Some(T + 5),
            ..event()
        };
        assert_eq!(done.state(T + 10, lead), EventState::Done);
        assert!(!done.awaits_reminder());
    }

    #[test]
    fn a_moved_event_is_reminded_again() {
        let mut e = Event {
            reminded_at: Some(T - 10 * MIN),
            ..event()
        };
        e.reschedule(T);
        assert_eq!(e.reminded_at, Some(T - 10 * MIN));
        e.reschedule(T + 60 * MIN);
        assert!(e.awaits_reminder());
    }

    #[test]
    fn fields_are_checked_by_name() {
        assert_eq!(check_note("note", "  hi ").unwrap(), "hi");
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(check_note("note", &long).unwrap_err().field, "note");
        assert_eq!(check_due_at("due_at", -1).unwrap_err().field, "due_at");
        assert_eq!(EventKind::parse("kind", "party").unwrap_err().field, "kind");
        assert_eq!(EventKind::parse("kind", "email").unwrap(), EventKind::Email);
        assert_eq!(check_range(T, T).unwrap_err().field, "to");
        assert_eq!(
            check_range(T, T + MAX_RANGE_MS + 1).unwrap_err().field,
            "to"
        );
        assert!(check_range(T, T + MAX_RANGE_MS).is_ok());
    }

    #[test]
    fn history_and_notices_name_the_event() {
        let e = event();
        let a = created_entry(&e, ActivityId::parse("a1").unwrap());
        assert_eq!(
            (a.kind, a.at, &a.by),
            (ActivityKind::EventCreated, e.created_at, &e.author)
        );
        assert_eq!(a.details["event"], "e1");
        let bob = UserId::parse("bob").unwrap();
        let actor = Actor {
            id: &bob,
            name: "Bob",
        };
        let n = assignment_notice(actor, &e, "Acme", ActivityId::parse("n1").unwrap()).unwrap();
        assert_eq!(n.user.as_str(), "ann");
        let own = Actor {
            id: &e.assignee,
            name: "Ann",
        };
        assert!(assignment_notice(own, &e, "Acme", ActivityId::parse("n2").unwrap()).is_none());
        let r = reminder_notice(
            &e,
            "Acme",
            T - MIN,
            15 * MIN,
            ActivityId::parse("n3").unwrap(),
        );
        assert!(r.text.contains("due soon"), "{}", r.text);
    }
}
