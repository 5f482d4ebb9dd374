//! What a company defines for its cards (PRODUCT C1): the client types cards
//! choose from and the custom fields they carry, each with a kind that its
//! values must fit. Values are checked and written in one canonical form.

use crate::client::{Client, MAX_CUSTOM_FIELDS, MAX_FIELD_CHARS};
use crate::import::{Column, Rejection, RowCards};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_CLIENT_TYPES: usize = 50;
pub const MAX_CHOICES: usize = 100;
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    Text,
    /// A number, stored with `.` as the decimal point (`1 500,50` → `1500.50`).
    Number,
    /// A day, stored as `YYYY-MM-DD` (`31.12.2026` is read too).
    Date,
    /// One of `options`.
    Choice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub name: String,
    pub kind: CustomKind,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSettings {
    /// The types a card may have; empty: any text.
    #[serde(default)]
    pub client_types: Vec<String>,
    /// The fields a card may carry besides the built-in ones.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn check_name(field: &str, name: &str, max: usize) -> Result<(), FieldError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > max || n != name {
        return Err(FieldError::new(
            field.to_string(),
            format!("{name:?}: 1-{max} characters without surrounding spaces"),
        ));
    }
    Ok(())
}

fn no_repeats<'a>(field: &str, names: impl Iterator<Item = &'a str>) -> Result<(), FieldError> {
    let mut seen: Vec<&str> = Vec::new();
    for n in names {
        if seen.iter().any(|s| same(s, n)) {
            return Err(FieldError::new(
                field.to_string(),
                format!("{n:?} is listed twice"),
            ));
        }
        seen.push(n);
    }
    Ok(())
}

impl CardSettings {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.client_types.len() > MAX_CLIENT_TYPES {
            return Err(FieldError::new(
                "client_types",
                format!("at most {MAX_CLIENT_TYPES} client types"),
            ));
        }
        for (i, t) in self.client_types.iter().enumerate() {
            check_name(&format!("client_types[{i}]"), t, 50)?;
        }
        no_repeats("client_types", self.client_types.iter().map(String::as_str))?;
        if self.custom_fields.len() > MAX_CUSTOM_FIELDS {
            return Err(FieldError::new(
                "custom_fields",
                format!("at most {MAX_CUSTOM_FIELDS} custom fields"),
            ));
        }
        for (i, f) in self.custom_fields.iter().enumerate() {
            check_name(&format!("custom_fields[{i}].name"), &f.name, MAX_NAME_CHARS)?;
            let options = format!("custom_fields[{i}].options");
            match f.kind {
                CustomKind::Choice if f.options.is_empty() => {
                    return Err(FieldError::new(options, "a choice needs its options"));
                }
                CustomKind::Choice => {
                    if f.options.len() > MAX_CHOICES {
                        return Err(FieldError::new(
                            options,
                            format!("at most {MAX_CHOICES} options"),
                        ));
                    }
                    for o in &f.options {
                        check_name(&options, o, MAX_FIELD_CHARS)?;
                    }
                    no_repeats(&options, f.options.iter().map(String::as_str))?;
                }
                _ if !f.options.is_empty() => {
                    return Err(FieldError::new(options, "only a choice has options"));
                }
                _ => {}
            }
        }
        no_repeats(
            "custom_fields",
            self.custom_fields.iter().map(|f| f.name.as_str()),
        )
    }

    /// The field of this name (compared without case).
    pub fn field(&self, name: &str) -> Option<&CustomField> {
        self.custom_fields.iter().find(|f| same(&f.name, name))
    }

    /// Adds a text field for each name not defined yet (an import that maps a
    /// column to a new custom field defines it).
    pub fn define_text_fields<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if self.field(name).is_none() && !name.trim().is_empty() {
                self.custom_fields.push(CustomField {
                    name: name.trim().to_string(),
                    kind: CustomKind::Text,
                    options: Vec::new(),
                });
            }
        }
    }

    /// Checks a card's type and custom values and writes them in canonical form.
    /// Values the card already had in `before` pass as they are, so removing a
    /// field definition does not block unrelated edits of old cards.
    pub fn check_card(&self, before: Option<&Client>, card: &mut Client) -> Result<(), FieldError> {
        let unchanged_type = before.is_some_and(|b| b.client_type == card.client_type);
        if let Some(t) = &card.client_type
            && !self.client_types.is_empty()
            && !unchanged_type
        {
            let known = self
                .client_types
                .iter()
                .find(|k| same(k, t))
                .ok_or_else(|| {
                    FieldError::new(
                        "client_type",
                        format!(
                            "{t:?} is not a client type here; choose one of: {}",
                            self.client_types.join(", ")
                        ),
                    )
                })?;
            card.client_type = Some(known.clone());
        }
        let mut checked = std::collections::BTreeMap::new();
        for (name, value) in std::mem::take(&mut card.custom) {
            if before.is_some_and(|b| b.custom.get(&name) == Some(&value)) {
                checked.insert(name, value);
                continue;
            }
            let field = format!("custom.{name}");
            let def = self.field(&name).ok_or_else(|| {
                FieldError::new(
                    field.clone(),
                    format!("there is no custom field {name:?}; an administrator defines them"),
                )
            })?;
            let value = custom_value(def, &value).map_err(|m| FieldError::new(field, m))?;
            if !value.is_empty() {
                checked.insert(def.name.clone(), value);
            }
        }
        card.custom = checked;
        Ok(())
    }
}

/// Fits an imported row's cards to the settings (C1, C2): a client type or a
/// custom value that does not fit rejects the row, naming the file's column.
pub fn fit_row(
    settings: &CardSettings,
    cards: &mut RowCards,
    row: usize,
    headers: &[String],
    columns: &[Column],
) -> Result<(), Rejection> {
    for card in cards
        .organization
        .iter_mut()
        .chain(cards.contact.iter_mut())
    {
        settings.check_card(None, card).map_err(|e| {
            let target = match e.field.strip_prefix("custom.") {
                Some(name) => columns
                    .iter()
                    .position(|c| matches!(c, Column::Custom(n) if same(n, name))),
                None => columns.iter().position(|c| *c == Column::ClientType),
            };
            Rejection {
                row,
                column: target.and_then(|i| headers.get(i)).cloned(),
                reason: e.message,
            }
        })?;
    }
    Ok(())
}

/// A value as the field's kind stores it, or why it does not fit.
pub fn custom_value(def: &CustomField, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    if v.chars().count() > MAX_FIELD_CHARS {
        return Err(format!("longer than {MAX_FIELD_CHARS} characters"));
    }
    match def.kind {
        CustomKind::Text => Ok(v.to_string()),
        CustomKind::Number => {
            let compact: String = v
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
                .map(|c| if c == ',' { '.' } else { c })
                .collect();
            let number_like = compact.parse::<f64>().is_ok_and(f64::is_finite)
                && compact
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-.".contains(c));
            if number_like {
                Ok(compact)
            } else {
                Err(format!("{v:?} is not a number"))
            }
        }
        CustomKind::Date => ["%Y-%m-%d", "%d.%m.%Y"]
            .iter()
            .find_map(|f| chrono::NaiveDate::parse_from_str(v, f).ok())
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| format!("{v:?} is not a date (YYYY-MM-DD or DD.MM.YYYY)")),
        CustomKind::Choice => def
            .options
            .iter()
            .find(|o| same(o, v))
            .cloned()
            .ok_or_else(|| format!("{v:?} is not one of: {}", def.options.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientKind;
    use crate::ids::{ClientId, UserId};
    use std::collections::BTreeMap;

    fn settings() -> CardSettings {
        CardSettings {
            client_types: vec!["Prospect".into(), "VIP".into()],
            custom_fields: vec![
                CustomField {
                    name: "Budget".into(),
                    kind: CustomKind::Number,
                    options: vec![],
                },
                CustomField {
                    name: "Next fair".into(),
                    kind: CustomKind::Date,
                    options: vec![],
                },
                CustomField {
                    name: "Source".into(),
                    kind: CustomKind::Choice,
                    options: vec!["Expo".into(), "Web".into()],
                },
            ],
        }
    }

    fn card(client_type: Option<&str>, custom: &[(&str, &str)]) -> Client {
        Client {
            id: ClientId::parse("c1").unwrap(),
            kind: ClientKind::Contact,
            organization: None,
            name: "N".into(),
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
            client_type: client_type.map(str::to_string),
            custom: custom
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            responsible: UserId::parse("u1").unwrap(),
            responsible_group: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: vec![],
        }
    }

    #[test]
    fn values_are_checked_and_written_canonically() {
        let s = settings();
        let mut c = card(
            Some("vip"),
            &[
                ("budget", "1 500,50"),
                ("Next fair", "31.12.2026"),
                ("source", "web"),
            ],
        );
        s.check_card(None, &mut c).unwrap();
        assert_eq!(c.client_type.as_deref(), Some("VIP"));
        assert_eq!(c.custom["Budget"], "1500.50");
        assert_eq!(c.custom["Next fair"], "2026-12-31");
        assert_eq!(c.custom["Source"], "Web");
    }

    #[test]
    fn misfits_name_the_field() {
        let s = settings();
        let cases = [
            (card(Some("Partner"), &[]), "client_type"),
            (card(None, &[("Budget", "a lot")]), "custom.Budget"),
            (
                card(None, &[("Next fair", "next spring")]),
                "custom.Next fair",
            ),
            (card(None, &[("Source", "Radio")]), "custom.Source"),
            (card(None, &[("Colour", "red")]), "custom.Colour"),
        ];
        for (mut c, field) in cases {
            assert_eq!(s.check_card(None, &mut c).unwrap_err().field, field);
        }
    }

    #[test]
    fn old_values_pass_after_their_definition_is_gone() {
        let s = CardSettings::default();
        let before = card(None, &[("Legacy", "x")]);
        let mut after = before.clone();
        after.city = Some("Omsk".into());
        s.check_card(Some(&before), &mut after).unwrap();
        assert_eq!(after.custom["Legacy"], "x");
        // Any text type is fine while the company lists none.
        let mut c = card(Some("whatever"), &[]);
        s.check_card(None, &mut c).unwrap();
    }

    #[test]
    fn settings_are_validated() {
        assert!(settings().validate().is_ok());
        let mut s = settings();
        s.client_types.push("vip".into());
        assert_eq!(s.validate().unwrap_err().field, "client_types");
        let mut s = settings();
        s.custom_fields[2].options.clear();
        assert_eq!(s.validate().unwrap_err().field, "custom_fields[2].options");
        let mut s = settings();
        s.custom_fields[0].options.push("x".into());
        assert_eq!(s.validate().unwrap_err().field, "custom_fields[0].options");
        let mut s = settings();
        s.custom_fields[1].name = "budget".into();
        assert_eq!(s.validate().unwrap_err().field, "custom_fields");
        let mut s = settings();
        s.define_text_fields(["Budget", "Region"]);
        assert_eq!(s.custom_fields.len(), 4);
        assert_eq!(s.field("region").unwrap().kind, CustomKind::Text);
    }
}
