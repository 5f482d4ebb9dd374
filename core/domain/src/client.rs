//! Clients of a company (PRODUCT C1): organizations and the contacts nested in
//! them, or standalone contacts. One card type with a kind, so search,
//! responsibility, tags and the recycle bin work the same for both.

use crate::Millis;
use crate::access::Ownership;
use crate::ids::{ClientId, GroupId, UserId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Organization,
    Contact,
}

/// Limits that keep one card inside one storage item and one transaction.
pub const MAX_PHONES: usize = 20;
pub const MAX_EMAILS: usize = 20;
pub const MAX_TAGS: usize = 50;
pub const MAX_CUSTOM_FIELDS: usize = 100;
/// A text field's limit (the seed's import rejects cells over 250 characters).
pub const MAX_FIELD_CHARS: usize = 250;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Deleted cards stay restorable this long (PRODUCT C11).
pub const BIN_RETENTION_MS: Millis = 30 * 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub kind: ClientKind,
    /// For a contact: the organization it belongs to.
    pub organization: Option<ClientId>,
    /// Organization name, or a contact's display name.
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub patronymic: Option<String>,
    pub position: Option<String>,
    /// E.164, in the order entered, without repeats.
    pub phones: Vec<String>,
    /// Normalised (lower-case), without repeats.
    pub emails: Vec<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
    pub inn: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Tenant-defined client type (prospect, customer, VIP …).
    pub client_type: Option<String>,
    /// Tenant-defined fields.
    pub custom: BTreeMap<String, String>,
    pub responsible: UserId,
    /// The responsible user's group when the card was last assigned; the scope rule reads it.
    pub responsible_group: Option<GroupId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Set while the card is in the recycle bin.
    pub deleted_at: Option<Millis>,
    pub deleted_by: Option<UserId>,
}

impl Client {
    pub fn ownership(&self) -> Ownership<'_> {
        Ownership {
            owner: &self.responsible,
            owner_group: self.responsible_group.as_ref(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// May the card still be restored at `now`?
    pub fn restorable(&self, now: Millis) -> bool {
        self.deleted_at.is_some_and(|d| now - d < BIN_RETENTION_MS)
    }

    /// Checks the rules that do not depend on other records.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.name.trim().is_empty() {
            let field = if self.kind == ClientKind::Organization {
                "name"
            } else {
                "last_name"
            };
            return Err(FieldError::new(field, "a card needs a name"));
        }
        if self.kind == ClientKind::Organization && self.organization.is_some() {
            return Err(FieldError::new(
                "organization_id",
                "an organization cannot belong to another organization",
            ));
        }
        let counted = [
            ("phones", self.phones.len(), MAX_PHONES),
            ("emails", self.emails.len(), MAX_EMAILS),
            ("tags", self.tags.len(), MAX_TAGS),
            ("custom", self.custom.len(), MAX_CUSTOM_FIELDS),
        ];
        for (field, n, max) in counted {
            if n > max {
                return Err(FieldError::new(
                    field,
                    format!("at most {max} allowed, got {n}"),
                ));
            }
        }
        for tag in &self.tags {
            check_tag(tag)?;
        }
        Ok(())
    }
}

/// A contact's display name: "Last First Patronymic", as Russian cards show it.
pub fn person_name(first: Option<&str>, last: Option<&str>, patronymic: Option<&str>) -> String {
    [last, first, patronymic]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tags are trimmed, 1-50 characters, and may not contain `;` (the import separator).
pub fn check_tag(tag: &str) -> Result<(), FieldError> {
    let t = tag.trim();
    if t.is_empty() || t.chars().count() > 50 || t.contains(';') || t != tag {
        return Err(FieldError::new(
            "tags",
            format!("{tag:?}: a tag is 1-50 characters, trimmed, without ';'"),
        ));
    }
    Ok(())
}

/// Optional text: trimmed, empty becomes `None`, bounded.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(kind: ClientKind) -> Client {
        Client {
            id: ClientId::parse("c1").unwrap(),
            kind,
            organization: None,
            name: "ООО Ромашка".into(),
            first_name: None,
            last_name: None,
            patronymic: None,
            position: None,
            phones: vec![],
            emails: vec![],
            city: None,
            industry: None,
            website: None,
            inn: None,
            description: None,
            tags: vec![],
            client_type: None,
            custom: BTreeMap::new(),
            responsible: UserId::parse("u1").unwrap(),
            responsible_group: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            deleted_by: None,
        }
    }

    #[test]
    fn names_and_nesting() {
        assert_eq!(
            person_name(Some("Иван"), Some("Петров"), Some("Сергеевич")),
            "Петров Иван Сергеевич"
        );
        assert_eq!(person_name(Some(" Anna "), None, Some("")), "Anna");
        let mut org = card(ClientKind::Organization);
        assert!(org.validate().is_ok());
        org.organization = Some(ClientId::parse("c2").unwrap());
        assert_eq!(org.validate().unwrap_err().field, "organization_id");
        let mut nameless = card(ClientKind::Contact);
        nameless.name = " ".into();
        assert_eq!(nameless.validate().unwrap_err().field, "last_name");
    }

    #[test]
    fn limits_and_tags() {
        let mut c = card(ClientKind::Contact);
        c.phones = (0..21).map(|i| format!("+7912000{i:04}")).collect();
        assert_eq!(c.validate().unwrap_err().field, "phones");
        c.phones.clear();
        c.tags = vec!["VIP".into(), "bad;tag".into()];
        assert_eq!(c.validate().unwrap_err().field, "tags");
        assert!(check_tag(" lead").is_err());
        assert!(check_tag("горячий лид").is_ok());
    }

    #[test]
    fn bin_retention_is_thirty_days() {
        let mut c = card(ClientKind::Contact);
        assert!(!c.restorable(0));
        c.deleted_at = Some(1_000);
        assert!(c.restorable(1_000 + BIN_RETENTION_MS - 1));
        assert!(!c.restorable(1_000 + BIN_RETENTION_MS));
    }

    #[test]
    fn optional_text_trims_and_bounds() {
        assert_eq!(
            optional_text("city", Some("  Москва "), 250)
                .unwrap()
                .as_deref(),
            Some("Москва")
        );
        assert_eq!(optional_text("city", Some("   "), 250).unwrap(), None);
        assert!(optional_text("city", Some(&"я".repeat(251)), 250).is_err());
    }
}
