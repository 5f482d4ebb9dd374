//! Agent state (PRODUCT E4): whether a user takes calls now. Calls are offered
//! only to available agents. Wrap-up after a call ends by itself at `until`:
//! the state a user has at `now` is derived ([`AgentState::at`]), never
//! rewritten by a timer. A user who never set a state is available.

use crate::Millis;
use crate::ids::UserId;
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

/// Longest "not ready" reason.
pub const MAX_REASON_CHARS: usize = 100;
/// Longest wrap-up one may ask for.
pub const MAX_WRAP_UP_MS: Millis = 30 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    #[default]
    Available,
    /// Busy with something else (a break, a meeting): the reason says what.
    NotReady {
        reason: String,
    },
    /// Finishing the last call's paperwork; available again at `until`.
    WrapUp {
        until: Millis,
    },
    /// Do not disturb: calls to the user get "busy".
    Dnd,
    Offline,
}

/// The name of a state, for history rows and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    Available,
    NotReady,
    WrapUp,
    Dnd,
    Offline,
}

impl StateName {
    pub const ALL: [StateName; 5] = [
        StateName::Available,
        StateName::NotReady,
        StateName::WrapUp,
        StateName::Dnd,
        StateName::Offline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateName::Available => "available",
            StateName::NotReady => "not_ready",
            StateName::WrapUp => "wrap_up",
            StateName::Dnd => "dnd",
            StateName::Offline => "offline",
        }
    }

    pub fn parse(field: &'static str, s: &str) -> Result<StateName, FieldError> {
        StateName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("{s:?}: use available, not_ready, wrap_up, dnd or offline"),
                )
            })
    }
}

impl AgentState {
    pub fn name(&self) -> StateName {
        match self {
            AgentState::Available => StateName::Available,
            AgentState::NotReady { .. } => StateName::NotReady,
            AgentState::WrapUp { .. } => StateName::WrapUp,
            AgentState::Dnd => StateName::Dnd,
            AgentState::Offline => StateName::Offline,
        }
    }

    /// The state in force at `now`: a wrap-up whose time is up is available.
    pub fn at(&self, now: Millis) -> AgentState {
        match self {
            AgentState::WrapUp { until } if *until <= now => AgentState::Available,
            other => other.clone(),
        }
    }

    /// Are calls offered to the user at `now`?
    pub fn takes_calls(&self, now: Millis) -> bool {
        self.at(now) == AgentState::Available
    }

    /// Builds a requested state from its name and parameters, checked: a
    /// reason for not ready (trimmed, bounded), a wrap-up of a positive length
    /// up to [`MAX_WRAP_UP_MS`] from `now`; parameters of other states are refused.
    pub fn request(
        name: StateName,
        reason: Option<&str>,
        wrap_up_ms: Option<Millis>,
        now: Millis,
    ) -> Result<AgentState, FieldError> {
        if name != StateName::NotReady && reason.is_some() {
            return Err(FieldError::new("reason", "only not_ready takes a reason"));
        }
        if name != StateName::WrapUp && wrap_up_ms.is_some() {
            return Err(FieldError::new(
                "wrap_up_ms",
                "only wrap_up takes a duration",
            ));
        }
        Ok(match name {
            StateName::Available => AgentState::Available,
            StateName::Dnd => AgentState::Dnd,
            StateName::Offline => AgentState::Offline,
            StateName::NotReady => {
                let reason = reason.map(str::trim).unwrap_or_default();
                if reason.is_empty() {
                    return Err(FieldError::new("reason", "say why you are not ready"));
                }
                if reason.chars().count() > MAX_REASON_CHARS {
                    return Err(FieldError::new(
                        "reason",
                        format!("must be at most {MAX_REASON_CHARS} characters"),
                    ));
                }
                AgentState::NotReady {
                    reason: reason.to_string(),
                }
            }
            StateName::WrapUp => match wrap_up_ms {
                Some(ms @ 1..=MAX_WRAP_UP_MS) => AgentState::WrapUp { until: now + ms },
                _ => {
                    return Err(FieldError::new(
                        "wrap_up_ms",
                        format!("give a wrap-up length of 1 to {MAX_WRAP_UP_MS} ms"),
                    ));
                }
            },
        })
    }
}

/// Checks a change from the state in force (`from`, already [`AgentState::at`]
/// now) to `to`. Wrap-up follows work: an offline user or one in do-not-disturb
/// cannot start one. Going to the same state again is refused (it would only
/// add a row to the history), except a new wrap-up or a new reason.
pub fn check_transition(from: &AgentState, to: &AgentState) -> Result<(), FieldError> {
    if from == to {
        return Err(FieldError::new(
            "state",
            format!("already {}", to.name().as_str()),
        ));
    }
    if matches!(to, AgentState::WrapUp { .. })
        && matches!(from, AgentState::Offline | AgentState::Dnd)
    {
        return Err(FieldError::new(
            "state",
            format!("wrap_up follows work, not {}", from.name().as_str()),
        ));
    }
    Ok(())
}

/// The wrap-up a finished call starts (PRODUCT E4): an agent available when
/// the call ended, and still available at `now`, gets `wrap_up_ms` of
/// after-call work counted from the end. A state set after the call ended,
/// not ready, do-not-disturb and offline are left alone, and so is a call
/// whose wrap-up would be over already; a second delivery of the same call
/// finds the wrap-up in force and changes nothing.
pub fn after_call(
    current: Option<&AgentStatus>,
    ended_at: Millis,
    wrap_up_ms: Millis,
    now: Millis,
) -> Option<AgentState> {
    let until = ended_at + wrap_up_ms.clamp(1, MAX_WRAP_UP_MS);
    let available = current.is_none_or(|c| c.since <= ended_at && c.state.takes_calls(now));
    (available && until > now).then_some(AgentState::WrapUp { until })
}

/// A user's current state as stored, with when it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub user: UserId,
    pub state: AgentState,
    pub since: Millis,
}

/// One change of a user's state, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub user: UserId,
    pub from: AgentState,
    pub to: AgentState,
    pub at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = 1_790_000_000_000;

    #[test]
    fn a_finished_call_starts_wrap_up_only_for_an_available_agent() {
        let u = UserId::parse("ann").unwrap();
        let status = |state, since| AgentStatus {
            user: u.clone(),
            state,
            since,
        };
        let end = T + 60_000;
        let wrap = AgentState::WrapUp {
            until: end + 30_000,
        };
        assert_eq!(after_call(None, end, 30_000, end + 500), Some(wrap.clone()));
        let available = status(AgentState::Available, T);
        assert_eq!(
            after_call(Some(&available), end, 30_000, end + 500),
            Some(wrap.clone())
        );
        // A lapsed wrap-up is available.
        let lapsed = status(AgentState::WrapUp { until: T + 1 }, T);
        assert_eq!(
            after_call(Some(&lapsed), end, 30_000, end),
            Some(wrap.clone())
        );
        // Delivered again: the wrap-up is in force, nothing changes.
        let started = status(wrap, end + 500);
        assert_eq!(after_call(Some(&started), end, 30_000, end + 900), None);
        for busy in [
            AgentState::Dnd,
            AgentState::Offline,
            AgentState::NotReady {
                reason: "обед".into(),
            },
        ] {
            assert_eq!(
                after_call(Some(&status(busy, T)), end, 30_000, end + 500),
                None
            );
        }
        // Set to available after the call ended: the agent chose.
        let chose = status(AgentState::Available, end + 100);
        assert_eq!(after_call(Some(&chose), end, 30_000, end + 500), None);
        // Delivered after the wrap-up would have ended (a node back from a crash).
        assert_eq!(after_call(None, end, 30_000, end + 30_000), None);
    }

    #[test]
    fn wrap_up_ends_by_itself() {
        let s = AgentState::request(StateName::WrapUp, None, Some(30_000), T).unwrap();
        assert_eq!(s, AgentState::WrapUp { until: T + 30_000 });
        assert!(!s.takes_calls(T + 29_999));
        assert_eq!(s.at(T + 29_999), s);
        assert_eq!(s.at(T + 30_000), AgentState::Available);
        assert!(s.takes_calls(T + 30_000));
    }

    #[test]
    fn only_available_agents_take_calls() {
        assert!(AgentState::default().takes_calls(T));
        for s in [
            AgentState::Dnd,
            AgentState::Offline,
            AgentState::NotReady {
                reason: "lunch".into(),
            },
        ] {
            assert!(!s.takes_calls(T), "{s:?}");
        }
    }

    #[test]
    fn requests_are_checked_by_field() {
        let e = AgentState::request(StateName::NotReady, Some("  "), None, T).unwrap_err();
        assert_eq!(e.field, "reason");
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        let e = AgentState::request(StateName::NotReady, Some(&long), None, T).unwrap_err();
        assert_eq!(e.field, "reason");
        let ok = AgentState::request(StateName::NotReady, Some(" lunch "), None, T).unwrap();
        assert_eq!(
            ok,
            AgentState::NotReady {
                reason: "lunch".into()
            }
        );
        for ms in [None, Some(0), Some(MAX_WRAP_UP_MS + 1)] {
            let e = AgentState::request(StateName::WrapUp, None, ms, T).unwrap_err();
            assert_eq!(e.field, "wrap_up_ms");
        }
        let e = AgentState::request(StateName::Dnd, Some("x"), None, T).unwrap_err();
        assert_eq!(e.field, "reason");
        assert_eq!(
            StateName::parse("state", "busy").unwrap_err().field,
            "state"
        );
    }

    #[test]
    fn transitions_are_validated() {
        let wrap = AgentState::WrapUp { until: T };
        assert!(check_transition(&AgentState::Available, &wrap).is_ok());
        assert!(check_transition(&AgentState::Offline, &wrap).is_err());
        assert!(check_transition(&AgentState::Dnd, &wrap).is_err());
        assert!(check_transition(&AgentState::Dnd, &AgentState::Dnd).is_err());
        assert!(check_transition(&AgentState::Offline, &AgentState::Available).is_ok());
        let lunch = AgentState::NotReady {
            reason: "lunch".into(),
        };
        let meeting = AgentState::NotReady {
            reason: "meeting".into(),
        };
        assert!(check_transition(&lunch, &meeting).is_ok());
    }
}
