//! Typed identifiers. They are opaque strings (ULIDs in practice) restricted to a
//! safe alphabet, so they can be embedded in storage keys (`T#<tenant>#…`) without
//! escaping and can never smuggle a key separator.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: expected 1-64 characters of A-Z, a-z, 0-9, '-' or '_'")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

fn valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($name:ident, $kind:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                if valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, value })
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(TenantId, "tenant");
id_type!(UserId, "user");
id_type!(GroupId, "group");
id_type!(ClientId, "client");
id_type!(ActivityId, "activity");
id_type!(CallId, "call");
id_type!(ScenarioId, "scenario");
id_type!(CallResultId, "call result");
id_type!(QuestionnaireId, "questionnaire");
id_type!(QuestionId, "question");
id_type!(EmailTemplateId, "e-mail template");
id_type!(MailAccountId, "mail account");
id_type!(WorkListId, "work list");
id_type!(EventId, "event");
id_type!(AttachmentId, "attachment");
id_type!(MailId, "mail");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_key_separators_and_empty() {
        assert!(TenantId::parse("01HZX3").is_ok());
        assert!(TenantId::parse("a#b").is_err());
        assert!(TenantId::parse("a/b").is_err());
        assert!(UserId::parse("").is_err());
        assert!(GroupId::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn ids_deserialize_with_validation() {
        let ok: Result<UserId, _> = serde_json::from_str("\"u1\"");
        assert!(ok.is_ok());
        let bad: Result<UserId, _> = serde_json::from_str("\"T#x\"");
        assert!(bad.is_err());
    }
}
