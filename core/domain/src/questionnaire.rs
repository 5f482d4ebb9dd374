//! Questionnaires (PRODUCT D4): questions the agent asks during a call, and
//! the answers of one call, ended as complete, refused or postponed. One
//! questionnaire may serve several scenarios.

use crate::Millis;
use crate::call_result::text;
use crate::card_settings::{CustomField, CustomKind, custom_value};
use crate::ids::{CallId, ClientId, QuestionId, QuestionnaireId, ScenarioId, UserId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_QUESTIONS: usize = 100;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_QUESTION_CHARS: usize = 500;
pub const MAX_OPTION_CHARS: usize = 200;
pub const MAX_TEXT_ANSWER_CHARS: usize = 2000;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    SingleChoice,
    MultipleChoice,
    Text,
    /// Stored with `.` as the decimal point.
    Number,
    /// Stored as `YYYY-MM-DD`.
    Date,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 5] = [
        QuestionKind::SingleChoice,
        QuestionKind::MultipleChoice,
        QuestionKind::Text,
        QuestionKind::Number,
        QuestionKind::Date,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultipleChoice => "multiple_choice",
            QuestionKind::Text => "text",
            QuestionKind::Number => "number",
            QuestionKind::Date => "date",
        }
    }

    pub fn parse(field: String, s: &str) -> Result<QuestionKind, FieldError> {
        QuestionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("{s:?}: use single_choice, multiple_choice, text, number or date"),
                )
            })
    }

    fn is_choice(self) -> bool {
        matches!(
            self,
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable across edits: answers refer to it.
    pub id: QuestionId,
    pub text: String,
    pub kind: QuestionKind,
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Questionnaire {
    pub id: QuestionnaireId,
    pub name: String,
    pub questions: Vec<Question>,
    /// The scenarios that use it; kept by the scenario repository.
    #[serde(default)]
    pub used_by: Vec<ScenarioId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// How the agent ended the questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    /// Every required question answered.
    Complete,
    /// The client would not answer.
    Refused,
    /// To be finished on another call.
    Postponed,
}

impl AnswerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Complete => "complete",
            AnswerStatus::Refused => "refused",
            AnswerStatus::Postponed => "postponed",
        }
    }
}

/// An answer as sent: a number, a text (also a choice or a date), or a list of choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerInput {
    Number(f64),
    Text(String),
    List(Vec<String>),
}

/// An answer as stored, canonical for its question's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    One(String),
    Many(Vec<String>),
}

impl Answer {
    /// As one cell of an export.
    pub fn cell(&self) -> String {
        match self {
            Answer::One(s) => s.clone(),
            Answer::Many(v) => v.join(", "),
        }
    }
}

/// The answers of one call to one questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSheet {
    pub questionnaire: QuestionnaireId,
    pub call: CallId,
    pub client: ClientId,
    /// The scenario the agent worked by, when the call came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioId>,
    pub status: AnswerStatus,
    pub answers: BTreeMap<QuestionId, Answer>,
    /// The agent on the call.
    pub by: UserId,
    pub at: Millis,
}

/// A call id is the ULID the call was given: 26 characters of Crockford base 32.
pub fn check_call_id(value: &str) -> Result<CallId, FieldError> {
    let v = value.trim().to_ascii_uppercase();
    let crockford = |b: u8| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b));
    let ok = v.len() == 26 && v.bytes().all(crockford) && v.as_bytes()[0] <= b'7';
    match ok.then(|| CallId::parse(v)) {
        Some(Ok(id)) => Ok(id),
        _ => Err(FieldError::new(
            "call",
            format!("{value:?} is not a call id (a ULID)"),
        )),
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl Questionnaire {
    /// Ids for questions sent without one: `q1`, `q2` … skipping those taken.
    pub fn assign_ids(ids: Vec<Option<QuestionId>>) -> Vec<QuestionId> {
        let taken: Vec<QuestionId> = ids.iter().flatten().cloned().collect();
        let mut n = 0;
        ids.into_iter()
            .map(|id| {
                id.unwrap_or_else(|| {
                    loop {
                        n += 1;
                        if let Ok(q) = QuestionId::parse(format!("q{n}"))
                            && !taken.contains(&q)
                        {
                            break q;
                        }
                    }
                })
            })
            .collect()
    }

    /// Checks the definition and writes it canonically (trimmed texts).
    pub fn normalize(&mut self) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_NAME_CHARS)?;
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            return Err(FieldError::new(
                "questions",
                format!("1-{MAX_QUESTIONS} questions"),
            ));
        }
        for i in 0..self.questions.len() {
            let (before, rest) = self.questions.split_at_mut(i);
            let q = &mut rest[0];
            if before.iter().any(|b| b.id == q.id) {
                return Err(FieldError::new(
                    format!("questions[{i}].id"),
                    format!("{} is used by another question", q.id),
                ));
            }
            q.text = text(format!("questions[{i}].text"), &q.text, MAX_QUESTION_CHARS)?;
            let field = format!("questions[{i}].options");
            if !q.kind.is_choice() {
                if !q.options.is_empty() {
                    return Err(FieldError::new(field, "only a choice has options"));
                }
                continue;
            }
            if q.options.is_empty() || q.options.len() > MAX_OPTIONS {
                return Err(FieldError::new(
                    field,
                    format!("a choice needs 1-{MAX_OPTIONS} options"),
                ));
            }
            let mut options: Vec<String> = Vec::with_capacity(q.options.len());
            for o in &q.options {
                let o = text(field.clone(), o, MAX_OPTION_CHARS)?;
                if options.iter().any(|p| same(p, &o)) {
                    return Err(FieldError::new(field, format!("{o:?} is listed twice")));
                }
                options.push(o);
            }
            q.options = options;
        }
        Ok(())
    }

    /// Checks the answers of a call and returns them canonical. Every answer
    /// must fit its question whatever the status; `complete` also needs every
    /// required question answered. Errors name `answers[<question id>]`.
    pub fn check_answers(
        &self,
        status: AnswerStatus,
        answers: BTreeMap<String, Option<AnswerInput>>,
    ) -> Result<BTreeMap<QuestionId, Answer>, FieldError> {
        let mut out = BTreeMap::new();
        for (id, value) in answers {
            let field = format!("answers[{id}]");
            let q = self
                .questions
                .iter()
                .find(|q| q.id.as_str() == id)
                .ok_or_else(|| FieldError::new(field.clone(), "there is no such question here"))?;
            let Some(value) = value else { continue };
            if let Some(a) = answer(q, value).map_err(|m| FieldError::new(field, m))? {
                out.insert(q.id.clone(), a);
            }
        }
        if status == AnswerStatus::Complete
            && let Some(q) = self
                .questions
                .iter()
                .find(|q| q.required && !out.contains_key(&q.id))
        {
            return Err(FieldError::new(
                format!("answers[{}]", q.id),
                format!("{:?} must be answered to complete", q.text),
            ));
        }
        Ok(out)
    }
}

/// The canonical answer, `None` for an empty one, or why it does not fit.
fn answer(q: &Question, value: AnswerInput) -> Result<Option<Answer>, String> {
    let option = |v: &str| {
        q.options
            .iter()
            .find(|o| same(o, v))
            .cloned()
            .ok_or_else(|| format!("{v:?} is not one of: {}", q.options.join(", ")))
    };
    let as_field = |kind| CustomField {
        name: String::new(),
        kind,
        options: Vec::new(),
    };
    let one = |s: String| Ok((!s.is_empty()).then_some(Answer::One(s)));
    match (q.kind, value) {
        (QuestionKind::SingleChoice, AnswerInput::Text(v)) if v.trim().is_empty() => Ok(None),
        (QuestionKind::SingleChoice, AnswerInput::Text(v)) => one(option(&v)?),
        (QuestionKind::SingleChoice, _) => Err("choose one option, as text".into()),
        (QuestionKind::MultipleChoice, AnswerInput::List(vs)) => {
            let mut chosen: Vec<String> = Vec::new();
            for v in vs {
                let o = option(&v)?;
                if chosen.contains(&o) {
                    return Err(format!("{o:?} is chosen twice"));
                }
                chosen.push(o);
            }
            Ok((!chosen.is_empty()).then_some(Answer::Many(chosen)))
        }
        (QuestionKind::MultipleChoice, _) => Err("choose options, as a list".into()),
        (QuestionKind::Text, AnswerInput::Text(v)) => {
            let v = v.trim();
            if v.chars().count() > MAX_TEXT_ANSWER_CHARS {
                return Err(format!("longer than {MAX_TEXT_ANSWER_CHARS} characters"));
            }
            one(v.to_string())
        }
        (QuestionKind::Text, _) => Err("answer with text".into()),
        (QuestionKind::Number, AnswerInput::Number(n)) if n.is_finite() => one(n.to_string()),
        (QuestionKind::Number, AnswerInput::Text(v)) => {
            one(custom_value(&as_field(CustomKind::Number), &v)?)
        }
        (QuestionKind::Number, _) => Err("answer with a number".into()),
        (QuestionKind::Date, AnswerInput::Text(v)) => {
            one(custom_value(&as_field(CustomKind::Date), &v)?)
        }
        (QuestionKind::Date, _) => Err("answer with a date (YYYY-MM-DD)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qid(s: &str) -> QuestionId {
        QuestionId::parse(s).unwrap()
    }

    fn question(id: &str, kind: QuestionKind, required: bool, options: &[&str]) -> Question {
        Question {
            id: qid(id),
            text: format!("Question {id}?"),
            kind,
            required,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn survey() -> Questionnaire {
        Questionnaire {
            id: QuestionnaireId::parse("qn1").unwrap(),
            name: "Satisfaction".into(),
            questions: vec![
                question("colour", QuestionKind::SingleChoice, true, &["Red", "Blue"]),
                question(
                    "sizes",
                    QuestionKind::MultipleChoice,
                    false,
                    &["S", "M", "L"],
                ),
                question("note", QuestionKind::Text, false, &[]),
                question("budget", QuestionKind::Number, true, &[]),
                question("when", QuestionKind::Date, false, &[]),
            ],
            used_by: vec![],
            created_at: 0,
            updated_at: 0,
        }
    }

    fn answers(v: &[(&str, AnswerInput)]) -> BTreeMap<String, Option<AnswerInput>> {
        v.iter()
            .map(|(k, a)| (k.to_string(), Some(a.clone())))
            .collect()
    }

    use AnswerInput::{List, Number, Text};

    #[test]
    fn complete_answers_are_written_canonically() {
        let got = survey()
            .check_answers(
                AnswerStatus::Complete,
                answers(&[
                    ("colour", Text("blue".into())),
                    ("sizes", List(vec!["m".into(), "L".into()])),
                    ("note", Text("  call after 6 ".into())),
                    ("budget", Text("1 500,5".into())),
                    ("when", Text("31.12.2026".into())),
                ]),
            )
            .unwrap();
        assert_eq!(got[&qid("colour")], Answer::One("Blue".into()));
        assert_eq!(
            got[&qid("sizes")],
            Answer::Many(vec!["M".into(), "L".into()])
        );
        assert_eq!(got[&qid("note")], Answer::One("call after 6".into()));
        assert_eq!(got[&qid("budget")], Answer::One("1500.5".into()));
        assert_eq!(got[&qid("when")], Answer::One("2026-12-31".into()));
        let n = survey()
            .check_answers(
                AnswerStatus::Complete,
                answers(&[("colour", Text("Red".into())), ("budget", Number(42.0))]),
            )
            .unwrap();
        assert_eq!(n[&qid("budget")], Answer::One("42".into()));
    }

    #[test]
    fn misfits_and_missing_required_answers_are_named() {
        let s = survey();
        let field = |status, v: &[(&str, AnswerInput)]| {
            s.check_answers(status, answers(v))
                .unwrap_err()
                .field
                .into_owned()
        };
        let ok = [("colour", Text("Red".into())), ("budget", Number(1.0))];
        assert_eq!(field(AnswerStatus::Complete, &ok[..1]), "answers[budget]");
        assert_eq!(field(AnswerStatus::Complete, &[]), "answers[colour]");
        for (id, bad) in [
            ("colour", Text("Green".into())),
            ("colour", List(vec!["Red".into()])),
            ("sizes", List(vec!["XL".into()])),
            ("sizes", List(vec!["S".into(), "s".into()])),
            ("note", Number(1.0)),
            ("note", Text("x".repeat(2001))),
            ("budget", Text("a lot".into())),
            ("when", Text("spring".into())),
            ("ghost", Text("boo".into())),
        ] {
            let mut v = ok.to_vec();
            v.push((id, bad));
            assert_eq!(field(AnswerStatus::Postponed, &v), format!("answers[{id}]"));
        }
        // Refused or postponed need nothing answered; empty answers count as none.
        let none = s
            .check_answers(
                AnswerStatus::Refused,
                answers(&[("colour", Text(" ".into())), ("sizes", List(vec![]))]),
            )
            .unwrap();
        assert!(none.is_empty());
    }

    type Spoil = fn(&mut Questionnaire);

    #[test]
    fn definitions_are_checked() {
        let mut s = survey();
        s.normalize().unwrap();
        let cases: [(Spoil, &str); 6] = [
            (|s| s.name = " ".into(), "name"),
            (|s| s.questions.clear(), "questions"),
            (|s| s.questions[1].id = qid("colour"), "questions[1].id"),
            (|s| s.questions[0].options.clear(), "questions[0].options"),
            (
                |s| s.questions[2].options.push("x".into()),
                "questions[2].options",
            ),
            (|s| s.questions[3].text = "".into(), "questions[3].text"),
        ];
        for (spoil, field) in cases {
            let mut s = survey();
            spoil(&mut s);
            assert_eq!(s.normalize().unwrap_err().field, field);
        }
        let mut s = survey();
        s.questions[0].options.push("red".into());
        assert_eq!(s.normalize().unwrap_err().field, "questions[0].options");
    }

    #[test]
    fn missing_question_ids_are_assigned() {
        let ids = Questionnaire::assign_ids(vec![None, Some(qid("q1")), None]);
        assert_eq!(ids, vec![qid("q2"), qid("q1"), qid("q3")]);
    }

    #[test]
    fn call_ids_are_ulids() {
        assert_eq!(
            check_call_id("01hzx3k5q8v0000000000000aa")
                .unwrap()
                .as_str(),
            "01HZX3K5Q8V0000000000000AA"
        );
        for bad in [
            "",
            "call-1",
            "01HZX3K5Q8V0000000000000A",
            "81HZX3K5Q8V0000000000000AA",
            "01HZX3K5Q8V000000000000LAA",
        ] {
            assert_eq!(check_call_id(bad).unwrap_err().field, "call");
        }
    }
}
