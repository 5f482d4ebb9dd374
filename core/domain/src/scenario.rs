//! Scenarios (PRODUCT D1): what an agent works by during a call — the script,
//! the results to choose from afterwards, the questionnaire to fill, the mail
//! to send — and who works by it.
//!
//! The e-mail template and the mail account (D3, `mail.rs`) are referred to
//! by id; that they exist is checked where the scenario is saved.

use crate::Millis;
use crate::access::{Ownership, Principal};
use crate::call_result::text;
use crate::ids::{
    CallResultId, EmailTemplateId, GroupId, MailAccountId, QuestionnaireId, ScenarioId, UserId,
};
use crate::phone::normalize_phone;
use crate::script::{MAX_SCRIPT_CHARS, sanitize_script};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_SCENARIO_NAME_CHARS: usize = 100;
pub const MAX_MANAGERS: usize = 500;
/// A scenario's results are kept in step with it in one transaction (at most
/// 100 writes): adding all and removing all of them must fit.
pub const MAX_SCENARIO_RESULTS: usize = 40;
pub const MAX_RESULT_COMMENT_CHARS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioDirection {
    Outgoing,
    /// Opens for calls to `incoming_number`.
    Incoming,
}

/// A result the scenario offers, with the administrator's short hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedResult {
    pub result: CallResultId,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub id: ScenarioId,
    pub name: String,
    /// The users who work by it (the scenario list of a manager shows these).
    pub managers: Vec<UserId>,
    pub direction: ScenarioDirection,
    /// E.164; only for incoming scenarios.
    #[serde(default)]
    pub incoming_number: Option<String>,
    /// Sanitised HTML ([`sanitize_script`]).
    pub script: String,
    /// In the order the agent sees them.
    pub results: Vec<OfferedResult>,
    /// The agent must choose a result before moving to the next card.
    pub result_required: bool,
    /// The next card is dialled without the agent pressing Call.
    pub auto_dial: bool,
    #[serde(default)]
    pub questionnaire: Option<QuestionnaireId>,
    #[serde(default)]
    pub email_template: Option<EmailTemplateId>,
    #[serde(default)]
    pub mail_account: Option<MailAccountId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Scenario {
    /// Checks what can be checked without the store and writes the fields
    /// canonically: trimmed name and comments, the number in E.164 (read with
    /// the company's `phone_region`), the script sanitised. That the results,
    /// the questionnaire, the e-mail template, the mail account and the
    /// managers exist is the caller's to check.
    pub fn normalize(&mut self, phone_region: &str) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_SCENARIO_NAME_CHARS)?;
        if self.managers.len() > MAX_MANAGERS {
            return Err(FieldError::new(
                "managers",
                format!("at most {MAX_MANAGERS} managers"),
            ));
        }
        if let Some(i) = first_repeat(self.managers.iter()) {
            return Err(FieldError::new(
                format!("managers[{i}]"),
                format!("{} is listed twice", self.managers[i]),
            ));
        }
        self.incoming_number = match (self.direction, self.incoming_number.as_deref()) {
            (ScenarioDirection::Incoming, None) => {
                return Err(FieldError::new(
                    "incoming_number",
                    "an incoming scenario needs the number it answers",
                ));
            }
            (ScenarioDirection::Incoming, Some(n)) => Some(
                normalize_phone(n, phone_region)
                    .map_err(|e| FieldError::new("incoming_number", e.to_string()))?,
            ),
            (ScenarioDirection::Outgoing, Some(_)) => {
                return Err(FieldError::new(
                    "incoming_number",
                    "only an incoming scenario has an incoming number",
                ));
            }
            (ScenarioDirection::Outgoing, None) => None,
        };
        if self.script.chars().count() > MAX_SCRIPT_CHARS {
            return Err(FieldError::new(
                "script",
                format!("must be at most {MAX_SCRIPT_CHARS} characters"),
            ));
        }
        self.script = sanitize_script(&self.script);
        if self.results.is_empty() && self.result_required {
            return Err(FieldError::new(
                "results",
                "a result is required before the next card, so list at least one",
            ));
        }
        if self.results.len() > MAX_SCENARIO_RESULTS {
            return Err(FieldError::new(
                "results",
                format!("at most {MAX_SCENARIO_RESULTS} results"),
            ));
        }
        if let Some(i) = first_repeat(self.results.iter().map(|r| &r.result)) {
            return Err(FieldError::new(
                format!("results[{i}].result"),
                format!("{} is listed twice", self.results[i].result),
            ));
        }
        for (i, r) in self.results.iter_mut().enumerate() {
            r.comment = match r.comment.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(c) => Some(text(
                    format!("results[{i}].comment"),
                    c,
                    MAX_RESULT_COMMENT_CHARS,
                )?),
            };
        }
        Ok(())
    }

    /// May this principal read the scenario? The whole company reads every
    /// scenario; others those given to a user in their scope (a manager: his own).
    /// `group_of` tells a manager's group.
    pub fn visible_to(&self, p: &Principal, group_of: impl Fn(&UserId) -> Option<GroupId>) -> bool {
        let groups: Vec<Option<GroupId>> = self.managers.iter().map(&group_of).collect();
        p.sees_any(
            self.managers
                .iter()
                .zip(&groups)
                .map(|(owner, group)| Ownership {
                    owner,
                    owner_group: group.as_ref(),
                }),
        )
    }

    pub fn result_ids(&self) -> impl Iterator<Item = &CallResultId> {
        self.results.iter().map(|r| &r.result)
    }
}

/// The index of the first item equal to an earlier one.
fn first_repeat<T: PartialEq>(items: impl Iterator<Item = T>) -> Option<usize> {
    let mut seen: Vec<T> = Vec::new();
    for (i, item) in items.enumerate() {
        if seen.contains(&item) {
            return Some(i);
        }
        seen.push(item);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;
    use crate::ids::TenantId;

    fn rid(s: &str) -> CallResultId {
        CallResultId::parse(s).unwrap()
    }

    fn scenario() -> Scenario {
        Scenario {
            id: ScenarioId::parse("s1").unwrap(),
            name: " Cold calls ".into(),
            managers: vec![UserId::parse("ann").unwrap()],
            direction: ScenarioDirection::Outgoing,
            incoming_number: None,
            script: r##"<p>Hi <a href="#no">no</a></p><h2 id="no">No</h2><script>x()</script>"##
                .into(),
            results: vec![
                OfferedResult {
                    result: rid("agreed"),
                    comment: Some(" send the offer ".into()),
                },
                OfferedResult {
                    result: rid("refused"),
                    comment: Some("  ".into()),
                },
            ],
            result_required: true,
            auto_dial: false,
            questionnaire: None,
            email_template: None,
            mail_account: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn field(s: &mut Scenario) -> String {
        s.normalize("RU").unwrap_err().field.into_owned()
    }

    #[test]
    fn a_scenario_is_written_canonically() {
        let mut s = scenario();
        s.normalize("RU").unwrap();
        assert_eq!(s.name, "Cold calls");
        assert_eq!(s.results[0].comment.as_deref(), Some("send the offer"));
        assert_eq!(s.results[1].comment, None);
        assert!(s.script.contains(r##"href="#no""##) && !s.script.contains("<script"));

        let mut s = scenario();
        s.direction = ScenarioDirection::Incoming;
        s.incoming_number = Some("8 (495) 123-45-67".into());
        s.normalize("RU").unwrap();
        assert_eq!(s.incoming_number.as_deref(), Some("+74951234567"));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut s = scenario();
        s.results.clear();
        assert_eq!(field(&mut s), "results");
        s.result_required = false;
        assert!(
            s.normalize("RU").is_ok(),
            "no results is fine when none is required"
        );

        let mut s = scenario();
        s.name = " ".into();
        assert_eq!(field(&mut s), "name");
        let mut s = scenario();
        s.results[1].comment = Some("x".repeat(51));
        assert_eq!(field(&mut s), "results[1].comment");
        let mut s = scenario();
        s.results[1].result = rid("agreed");
        assert_eq!(field(&mut s), "results[1].result");
        let mut s = scenario();
        s.managers.push(s.managers[0].clone());
        assert_eq!(field(&mut s), "managers[1]");
        let mut s = scenario();
        s.direction = ScenarioDirection::Incoming;
        assert_eq!(field(&mut s), "incoming_number");
        s.incoming_number = Some("12".into());
        assert_eq!(field(&mut s), "incoming_number");
        let mut s = scenario();
        s.incoming_number = Some("+74951234567".into());
        assert_eq!(field(&mut s), "incoming_number");
        let mut s = scenario();
        s.results = (0..41)
            .map(|i| OfferedResult {
                result: rid(&format!("r{i}")),
                comment: None,
            })
            .collect();
        assert_eq!(field(&mut s), "results");
        let mut s = scenario();
        s.script = "x".repeat(MAX_SCRIPT_CHARS + 1);
        assert_eq!(field(&mut s), "script");
    }

    #[test]
    fn managers_read_their_scenarios_only() {
        let p = |role, user: &str, group: Option<&str>| Principal {
            tenant: TenantId::parse("t").unwrap(),
            user: UserId::parse(user).unwrap(),
            role,
            group: group.map(|g| GroupId::parse(g).unwrap()),
        };
        let s = scenario();
        let sales = |_: &UserId| Some(GroupId::parse("sales").unwrap());
        assert!(s.visible_to(&p(Role::Manager, "ann", None), sales));
        assert!(!s.visible_to(&p(Role::Manager, "bob", Some("sales")), sales));
        assert!(s.visible_to(&p(Role::GroupLeader, "lead", Some("sales")), sales));
        assert!(!s.visible_to(&p(Role::GroupLeader, "lead", Some("support")), sales));
        assert!(s.visible_to(&p(Role::Head, "head", None), |_| None));
    }
}
