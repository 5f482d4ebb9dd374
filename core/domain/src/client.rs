//! Clients of a company (PRODUCT C1): organizations and the contacts nested in
//! them, or standalone contacts. One card type with a kind, so search,
//! responsibility, tags and the recycle bin work the same for both.

use crate::Millis;
use crate::access::Ownership;
use crate::ids::{ClientId, GroupId, ScenarioId, UserId};
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
pub const MAX_PHONES: usize = 10;
pub const MAX_EMAILS: usize = 10;
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
    /// When somebody last called the client; `None`: not called yet (C7).
    #[serde(default)]
    pub last_call_at: Option<Millis>,
    /// The scenarios a "done" result closed the client in: work lists of
    /// those scenarios no longer offer the card (PRODUCT D2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_in: Vec<ScenarioId>,
}

impl Client {
    /// A live card with only what every card has: everything else empty, the
    /// responsible user without a group, created and last changed at `now`.
    pub fn blank(
        id: ClientId,
        kind: ClientKind,
        name: String,
        responsible: UserId,
        now: Millis,
    ) -> Client {
        Client {
            id,
            kind,
            organization: None,
            name,
            first_name: None,
            last_name: None,
            patronymic: None,
            position: None,
            phones: Vec::new(),
            emails: Vec::new(),
            city: None,
            industry: None,
            website: None,
            inn: None,
            description: None,
            tags: Vec::new(),
            client_type: None,
            custom: BTreeMap::new(),
            responsible,
            responsible_group: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: Vec::new(),
        }
    }

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
            last_call_at: None,
            closed_in: vec![],
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

/// Most search tokens kept per card (each is one lookup item).
pub const MAX_SEARCH_TOKENS: usize = 27;

fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let lower = s.to_lowercase();
    if lower.contains('ё') {
        lower.replace('ё', "е")
    } else {
        lower
    }
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !(c.is_alphanumeric() || "@._-+".contains(c)))
        .map(|w| fold(w.trim_matches(|c: char| "@._-+".contains(c))))
        .filter(|w| !w.is_empty() && w.chars().count() <= 64)
}

/// What a card can be found by (C7): the words of its names, position and
/// city, its e-mails whole and by local part, and its phones as digits, whole
/// by the last ten (the national number) and, for +7 numbers, with the
/// trunk prefix 8 as Russians type them.
pub fn search_tokens(c: &Client) -> Vec<String> {
    let texts = [
        Some(&c.name),
        c.first_name.as_ref(),
        c.last_name.as_ref(),
        c.patronymic.as_ref(),
        c.city.as_ref(),
    ];
    let mut out: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !out.contains(&t) && out.len() < MAX_SEARCH_TOKENS {
            out.push(t);
        }
    };
    // Names first: they are what people search by most.
    texts
        .into_iter()
        .flatten()
        .for_each(|t| words(t).for_each(&mut push));
    for p in &c.phones {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        if digits.len() > 10 {
            let national = &digits[digits.len() - 10..];
            // Russians type their numbers with the trunk prefix: 8 912 …
            if digits.len() == 11 && digits.starts_with('7') {
                push(format!("8{national}"));
            }
            push(national.to_string());
        }
        push(digits);
    }
    for e in &c.emails {
        push(fold(e));
        if let Some((local, _)) = e.split_once('@') {
            // "p.petrov" is found by "petrov" too.
            push(fold(local));
            local
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .for_each(|w| push(fold(w)));
        }
    }
    out
}

/// The tokens a search index keeps for a card: its [`search_tokens`] less
/// those another kept token already reaches through [`index_prefixes`], so an
/// imported row writes fewer index items. Dropped: an e-mail's local part
/// (every prefix of it is a prefix of the whole e-mail), and a +7 number's
/// national form `912…` and trunk-prefix form `8…` (their prefixes are
/// reached as `7…` on the digits).
pub fn index_tokens(c: &Client) -> Vec<String> {
    let mut tokens = search_tokens(c);
    let mut implied: Vec<String> = Vec::new();
    for p in &c.phones {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 11
            && tokens.contains(&digits)
            && let Some(national) = digits.strip_prefix('7')
        {
            implied.push(format!("8{national}"));
            implied.push(national.to_string());
        }
    }
    for e in &c.emails {
        if let Some((local, _)) = e.split_once('@')
            && tokens.contains(&fold(e))
        {
            implied.push(fold(local));
        }
    }
    tokens.retain(|t| !implied.contains(t));
    tokens
}

/// The index prefixes that together reach every card with a
/// [`search_tokens`] token starting with `term`, given the tokens
/// [`index_tokens`] keeps: the term itself and, for digits, the rest after
/// a leading 8 (the Russian trunk prefix) after 7, and the same digits after
/// 7 (a +7 number's national form).
pub fn index_prefixes(term: &str) -> Vec<String> {
    let mut out = vec![term.to_string()];
    if term.is_empty() || !term.bytes().all(|b| b.is_ascii_digit()) {
        return out;
    }
    if let Some(rest) = term.strip_prefix('8') {
        out.push(format!("7{rest}"));
    }
    // Also after a 7: Kazakh national numbers start with 7 themselves.
    out.push(format!("7{term}"));
    out
}

/// The terms of a search query, folded like [`search_tokens`]. A query that
/// looks like a phone number becomes one digit string, with a leading 8
/// read as the Russian trunk prefix (8 912 … = 7 912 …).
pub fn search_terms(query: &str) -> Vec<String> {
    let q = query.trim();
    let phone_like = q.chars().any(|c| c.is_ascii_digit())
        && q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if phone_like {
        let mut digits: String = q.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 11 && digits.starts_with('8') {
            digits.replace_range(0..1, "7");
        }
        return vec![digits];
    }
    let mut terms: Vec<String> = Vec::new();
    for w in words(q) {
        if !terms.contains(&w) {
            terms.push(w);
        }
    }
    terms
}

/// Does the card match every term (each as a prefix of one of its tokens)?
pub fn matches_terms(tokens: &[String], terms: &[String]) -> bool {
    terms
        .iter()
        .all(|term| tokens.iter().any(|t| t.starts_with(term.as_str())))
}

#[cfg(test)]
mod search_tests {
    use super::*;

    fn person() -> Client {
        Client {
            id: ClientId::parse("c1").unwrap(),
            kind: ClientKind::Contact,
            organization: None,
            name: "Петров Пётр Ильич".into(),
            first_name: Some("Пётр".into()),
            last_name: Some("Петров".into()),
            patronymic: Some("Ильич".into()),
            position: None,
            phones: vec!["+79123456789".into()],
            emails: vec!["p.petrov@romashka.ru".into()],
            city: Some("Нижний Новгород".into()),
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
            last_call_at: None,
            closed_in: vec![],
        }
    }

    #[test]
    fn cards_are_found_by_words_mails_and_phones() {
        let tokens = search_tokens(&person());
        for (query, hit) in [
            ("петр", true),
            ("ПЁТР петров", true),
            ("нижний", true),
            ("новгород петр", true),
            ("romashka", false),
            ("p.petrov@romashka.ru", true),
            ("petrov", true),
            ("8 (912) 345-67-89", true),
            ("+7 912 345", true),
            ("912345", true),
            ("345", false),
            ("8 912 345", true),
            ("8912", true),
            ("иванов", false),
        ] {
            assert_eq!(matches_terms(&tokens, &search_terms(query)), hit, "{query}");
        }
        assert!(tokens.len() <= MAX_SEARCH_TOKENS);
        assert!(search_terms("  ").is_empty());
    }

    #[test]
    fn the_index_keeps_fewer_tokens_but_reaches_every_prefix_of_every_token() {
        let mut card = person();
        card.phones.push("+48601234567".into());
        // A Kazakh number: its national form starts with 7 as well.
        card.phones.push("+77012345678".into());
        card.emails.push("anna@mail.ru".into());
        let all = search_tokens(&card);
        let kept = index_tokens(&card);
        assert!(!kept.contains(&"89123456789".to_string()), "{kept:?}");
        assert!(!kept.contains(&"9123456789".to_string()), "{kept:?}");
        // A foreign number keeps its last ten digits: no variant reaches them.
        assert!(kept.contains(&"8601234567".to_string()), "{kept:?}");
        assert!(!kept.contains(&"p.petrov".to_string()), "{kept:?}");
        assert!(kept.contains(&"79123456789".to_string()), "{kept:?}");
        assert!(kept.contains(&"petrov".to_string()), "{kept:?}");
        assert!(kept.contains(&"anna@mail.ru".to_string()), "{kept:?}");
        assert!(all.len() - kept.len() >= 4, "{all:?} / {kept:?}");
        for token in &all {
            for end in token.char_indices().map(|(i, _)| i).skip(1) {
                let term = &token[..end];
                let reached = index_prefixes(term)
                    .iter()
                    .any(|p| kept.iter().any(|k| k.starts_with(p.as_str())));
                assert!(reached, "{term:?} of {token:?}");
            }
        }
        assert_eq!(index_prefixes("8912"), ["8912", "7912", "78912"]);
        assert_eq!(index_prefixes("912"), ["912", "7912"]);
        assert_eq!(index_prefixes("701"), ["701", "7701"]);
        assert_eq!(index_prefixes("петр"), ["петр"]);
        assert_eq!(index_prefixes("8a"), ["8a"]);
    }
}
