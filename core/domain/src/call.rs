//! Call records (CDRs): what the media node writes when a call ends, and what
//! the call log, the card's history and reports read (PRODUCT G2, G3).
//!
//! A record is written once, after the call: its recording (if any) is already
//! in the blob store under [`recording_key`], so a record never points at a
//! recording that is not there.

use crate::Millis;
pub use crate::ids::CallId;
use crate::ids::{ClientId, TenantId, UserId};
use chrono::{DateTime, Datelike};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// An agent called out through the company's trunk.
    Outbound,
    /// A caller reached the company through the trunk.
    Inbound,
    /// Agent to agent by short number.
    Internal,
    /// "Via your phone" (B3): the platform rang the agent's phone, then the customer.
    Callback,
}

/// How the call ended, as the call log shows it (one row colour each, G3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    /// Inbound or internal: nobody answered before the caller gave up or time ran out.
    Missed,
    /// Outbound: the called side rang but did not answer.
    NoAnswer,
    Busy,
    /// The caller gave up before an answer (outbound: the agent hung up while ringing).
    Cancelled,
    /// The call could not be set up: refused by the trunk, unreachable, bad number.
    Failed,
}

/// Who ended an answered call, or who gave up on an unanswered one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupSide {
    Caller,
    Callee,
    /// The platform: a timeout, an error, a forced hang-up.
    System,
}

/// The SIP status that ended the call (200 for a normal BYE after an answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub code: u16,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRef {
    /// Blob key, `T#<tenant>/recordings/<yyyy>/<mm>/<call>.<ext>`.
    pub key: String,
    /// File format: `wav` (stereo PCM, the caller left, the callee right).
    pub format: String,
    pub bytes: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: CallId,
    pub tenant: TenantId,
    pub direction: Direction,
    /// The calling party as presented: E.164 for numbers, the short number for agents.
    pub from: String,
    /// The called party as dialled (normalised to E.164 where it is a number).
    pub to: String,
    /// The company's agent on the call (for internal calls: the caller).
    pub agent: Option<UserId>,
    /// The client card the call was made from or matched to.
    pub client: Option<ClientId>,
    /// The line (trunk or incoming number name) the call used.
    pub line: Option<String>,
    pub started_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    pub outcome: Outcome,
    pub hangup: HangupSide,
    pub cause: Cause,
    pub recording: Option<RecordingRef>,
}

impl CallRecord {
    /// Time from the start until the answer, or until the end if never answered.
    pub fn ring_ms(&self) -> i64 {
        (self.answered_at.unwrap_or(self.ended_at) - self.started_at).max(0)
    }

    /// Conversation time: from the answer to the end; 0 if never answered.
    pub fn talk_ms(&self) -> i64 {
        self.answered_at
            .map(|a| (self.ended_at - a).max(0))
            .unwrap_or(0)
    }

    /// The record's own consistency: an answered call has an answer time inside
    /// the call, an unanswered one has none.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.ended_at < self.started_at {
            return Err("ended_at is before started_at");
        }
        match (self.outcome, self.answered_at) {
            (Outcome::Answered, None) => Err("an answered call needs answered_at"),
            (Outcome::Answered, Some(a)) if a < self.started_at || a > self.ended_at => {
                Err("answered_at is outside the call")
            }
            (o, Some(_)) if o != Outcome::Answered => Err("only an answered call has answered_at"),
            _ => Ok(()),
        }
    }
}

/// `(year, month)` of an instant in UTC: calls are partitioned by the month they started.
pub fn month_of(at: Millis) -> (i32, u32) {
    let t = DateTime::from_timestamp_millis(at).unwrap_or_default();
    (t.year(), t.month())
}

/// The instants a month (UTC) spans: its first millisecond and the first of
/// the next month; `None` for a month that does not exist.
pub fn month_span(year: i32, month: u32) -> Option<(Millis, Millis)> {
    let start = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let ms = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
    };
    Some((ms(start)?, ms(next)?))
}

/// A recording's path inside its tenant's blobs: `recordings/<yyyy>/<mm>/<call>.<ext>`.
pub fn recording_path(call: &CallId, started_at: Millis, ext: &str) -> String {
    let (y, m) = month_of(started_at);
    format!("recordings/{y:04}/{m:02}/{call}.{ext}")
}

/// Where a call's recording is stored: the full blob key.
pub fn recording_key(tenant: &TenantId, call: &CallId, started_at: Millis, ext: &str) -> String {
    format!("T#{tenant}/{}", recording_path(call, started_at, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        CallRecord {
            id: CallId::parse("01JCALL").expect("id"),
            tenant: TenantId::parse("t1").expect("id"),
            direction: Direction::Outbound,
            from: "+74951234567".into(),
            to: "+79123456789".into(),
            agent: None,
            client: None,
            line: None,
            started_at: 1_700_000_000_000,
            answered_at: Some(1_700_000_005_000),
            ended_at: 1_700_000_065_000,
            outcome: Outcome::Answered,
            hangup: HangupSide::Callee,
            cause: Cause {
                code: 200,
                reason: "BYE".into(),
            },
            recording: None,
        }
    }

    #[test]
    fn durations_split_ringing_and_talk() {
        let r = record();
        assert_eq!(r.ring_ms(), 5_000);
        assert_eq!(r.talk_ms(), 60_000);
        let missed = CallRecord {
            answered_at: None,
            outcome: Outcome::NoAnswer,
            ..record()
        };
        assert_eq!(missed.ring_ms(), 65_000);
        assert_eq!(missed.talk_ms(), 0);
    }

    #[test]
    fn inconsistent_records_are_refused() {
        assert!(record().check().is_ok());
        let no_answer_time = CallRecord {
            answered_at: None,
            ..record()
        };
        assert!(no_answer_time.check().is_err());
        let answered_but_busy = CallRecord {
            outcome: Outcome::Busy,
            ..record()
        };
        assert!(answered_but_busy.check().is_err());
        let backwards = CallRecord {
            ended_at: 1,
            ..record()
        };
        assert!(backwards.check().is_err());
    }

    #[test]
    fn months_span_their_days_in_utc() {
        // 2026-12-01 00:00 UTC .. 2027-01-01 00:00 UTC.
        assert_eq!(
            month_span(2026, 12),
            Some((1_796_083_200_000, 1_798_761_600_000))
        );
        let (start, end) = month_span(2024, 2).unwrap();
        assert_eq!((end - start) / 86_400_000, 29);
        assert_eq!(month_of(start), (2024, 2));
        assert_eq!(month_of(end - 1), (2024, 2));
        assert_eq!(month_span(2026, 13), None);
        assert_eq!(month_span(2026, 0), None);
    }

    #[test]
    fn recordings_are_filed_by_tenant_and_month() {
        let r = record();
        // 1 700 000 000 000 ms is 2023-11-14 UTC.
        assert_eq!(
            recording_key(&r.tenant, &r.id, r.started_at, "wav"),
            "T#t1/recordings/2023/11/01JCALL.wav"
        );
    }
}
