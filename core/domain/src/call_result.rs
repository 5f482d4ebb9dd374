//! Call results (PRODUCT D2): the company's own list of how a call can end
//! ("refused", "agreed", "call later" …). Scenarios offer a choice of them.
//!
//! A result in use by a scenario cannot be deleted: the scenarios that list it
//! are kept on the result (`used_by`) and changed in the same transaction as
//! the scenario, so the refusal cannot be raced. Deleting is refused rather
//! than turned into archiving because an unused result has nothing to keep,
//! and the administrator is told which scenario to edit first.

use crate::Millis;
use crate::ids::{CallResultId, ScenarioId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const MAX_RESULT_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// Recorded, nothing follows.
    Normal,
    /// Asks the agent for a date and time and creates a reminder then.
    CallLater,
    /// Closes the contact for the scenario: it is not offered again.
    Done,
}

impl ResultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultKind::Normal => "normal",
            ResultKind::CallLater => "call_later",
            ResultKind::Done => "done",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<ResultKind, FieldError> {
        [ResultKind::Normal, ResultKind::CallLater, ResultKind::Done]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field.to_string(),
                    format!("{s:?}: use normal, call_later or done"),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallResult {
    pub id: CallResultId,
    pub name: String,
    pub kind: ResultKind,
    /// `#rrggbb`, lower case.
    #[serde(default)]
    pub colour: Option<String>,
    /// The scenarios that offer this result; kept by the scenario repository.
    #[serde(default)]
    pub used_by: Vec<ScenarioId>,
    pub created_at: Millis,
}

/// Trimmed, non-empty, at most `max` characters; the error names `field`.
pub(crate) fn text(
    field: impl Into<Cow<'static, str>>,
    value: &str,
    max: usize,
) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// A colour as `#rrggbb` (lower case), or why it is not one.
pub fn check_colour(value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let hex = v.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(FieldError::new(
            "colour",
            format!("{value:?} is not a colour such as #2e7d32"),
        ))
    }
}

impl CallResult {
    /// Checks the fields an administrator sets and writes them canonically.
    pub fn normalize(&mut self) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_RESULT_NAME_CHARS)?;
        self.colour = self.colour.as_deref().map(check_colour).transpose()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, colour: Option<&str>) -> CallResult {
        CallResult {
            id: CallResultId::parse("r1").unwrap(),
            name: name.into(),
            kind: ResultKind::Normal,
            colour: colour.map(Into::into),
            used_by: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn fields_are_checked_and_named() {
        let mut r = result(" Agreed ", Some("#2E7D32"));
        r.normalize().unwrap();
        assert_eq!(
            (r.name.as_str(), r.colour.as_deref()),
            ("Agreed", Some("#2e7d32"))
        );
        assert_eq!(result("  ", None).normalize().unwrap_err().field, "name");
        assert_eq!(
            result(&"x".repeat(65), None).normalize().unwrap_err().field,
            "name"
        );
        for bad in ["green", "#12345", "#12345g", "2e7d32"] {
            assert_eq!(
                result("A", Some(bad)).normalize().unwrap_err().field,
                "colour"
            );
        }
        assert_eq!(
            ResultKind::parse("kind", "call_later").unwrap(),
            ResultKind::CallLater
        );
        assert_eq!(
            ResultKind::parse("kind", "later").unwrap_err().field,
            "kind"
        );
    }
}
