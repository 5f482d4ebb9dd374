//! Duplicate search and merge (PRODUCT C9). A search runs as a job over the
//! cards in scope and keeps one group per matching value (a phone in E.164 or
//! an e-mail) shared by two or more cards of the chosen kinds. Organizations
//! match only organizations and contacts only contacts; two contacts that both
//! sit inside organizations never match (the seed: not within one
//! organization, nor between contacts of different ones), the rule of
//! [`crate::import::may_pair`]. Names never match.
//!
//! A merge keeps the base card's fields, fills its empty ones from the
//! duplicates ([`merge_into`]), and moves the contacts of merged organizations
//! to the base organization.

use crate::Millis;
use crate::access::{Principal, Role, Scope};
use crate::client::{Client, ClientKind};
use crate::ids::{ActivityId, ClientId, GroupId, TenantId, UserId};
use crate::import::{MergeError, merge_into};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Duplicate-search ids reuse the activity id type's alphabet (ULIDs).
pub type DedupId = ActivityId;

/// Most users one search may name.
pub const MAX_CHOSEN_USERS: usize = 100;
/// Most members kept in one group; a value shared by more cards (a placeholder
/// number, say) keeps the first ones by id and counts the rest.
pub const MAX_GROUP_MEMBERS: usize = 500;

/// What two cards matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    Phone,
    Email,
}

/// Which cards are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objects {
    Contacts,
    Organizations,
    Both,
}

impl Objects {
    pub fn includes(self, kind: ClientKind) -> bool {
        matches!(
            (self, kind),
            (Objects::Both, _)
                | (Objects::Contacts, ClientKind::Contact)
                | (Objects::Organizations, ClientKind::Organization)
        )
    }
}

/// Whose cards are searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchScope {
    /// Every card the searcher sees.
    Account,
    /// The searcher's own cards.
    Own,
    /// The cards of these users (that the searcher sees).
    Users(Vec<UserId>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchSettings {
    pub by_phone: bool,
    pub by_email: bool,
    pub objects: Objects,
    pub scope: SearchScope,
}

/// One listing the job scans: the whole tenant, a group's cards, or a user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    All,
    Group(GroupId),
    User(UserId),
}

/// Who started a search, kept with the job so the worker applies the same
/// scope rule ([`Principal::sees`]) to every card it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Searcher {
    pub user: UserId,
    pub role: Role,
    pub group: Option<GroupId>,
}

impl Searcher {
    pub fn of(p: &Principal) -> Searcher {
        Searcher {
            user: p.user.clone(),
            role: p.role,
            group: p.group.clone(),
        }
    }

    pub fn principal(&self, tenant: &TenantId) -> Principal {
        Principal {
            tenant: tenant.clone(),
            user: self.user.clone(),
            role: self.role,
            group: self.group.clone(),
        }
    }
}

impl SearchSettings {
    /// Checks the settings against the searcher and returns the listings to
    /// scan. A manager (anyone whose scope is their own cards) may search only
    /// own cards (the seed); others search what they see.
    pub fn sources(&self, who: &Principal) -> Result<Vec<Source>, FieldError> {
        if !self.by_phone && !self.by_email {
            return Err(FieldError::new(
                "by_phone",
                "match by phone, by e-mail or both",
            ));
        }
        let own_only = matches!(who.scope(), Scope::Own(_));
        match &self.scope {
            SearchScope::Own => Ok(vec![Source::User(who.user.clone())]),
            SearchScope::Account if own_only => Err(FieldError::new(
                "scope",
                "a manager may search duplicates only among own cards",
            )),
            SearchScope::Account => Ok(match who.scope() {
                Scope::All => vec![Source::All],
                // A leader sees the group's cards and their own.
                Scope::Group(g) => vec![Source::Group(g), Source::User(who.user.clone())],
                Scope::Own(u) => vec![Source::User(u)],
            }),
            SearchScope::Users(users) => {
                if users.is_empty() || users.len() > MAX_CHOSEN_USERS {
                    return Err(FieldError::new(
                        "users",
                        format!("choose 1 to {MAX_CHOSEN_USERS} users"),
                    ));
                }
                if own_only && users.iter().any(|u| u != &who.user) {
                    return Err(FieldError::new(
                        "users",
                        "a manager may search duplicates only among own cards",
                    ));
                }
                let mut out: Vec<Source> = Vec::new();
                for u in users {
                    let s = Source::User(u.clone());
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                Ok(out)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// One duplicate search: what was asked, by whom, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupJob {
    pub id: DedupId,
    pub created_by: UserId,
    pub searcher: Searcher,
    pub settings: SearchSettings,
    pub sources: Vec<Source>,
    pub status: DedupStatus,
    pub cards_scanned: u64,
    pub groups_found: u64,
    pub error: Option<String>,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

/// What the search needs of a card (a card decodes into it, other fields ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardKeys {
    pub id: ClientId,
    pub kind: ClientKind,
    #[serde(default)]
    pub organization: Option<ClientId>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    pub responsible: UserId,
    #[serde(default)]
    pub responsible_group: Option<GroupId>,
    #[serde(default)]
    pub deleted_at: Option<Millis>,
}

impl CardKeys {
    pub fn ownership(&self) -> crate::access::Ownership<'_> {
        crate::access::Ownership {
            owner: &self.responsible,
            owner_group: self.responsible_group.as_ref(),
        }
    }
}

/// A group of cards sharing one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    pub by: MatchBy,
    /// The shared phone (E.164) or e-mail: the value to highlight.
    pub value: String,
    pub kind: ClientKind,
    /// Ordered by id (ULIDs: oldest card first), at most [`MAX_GROUP_MEMBERS`].
    pub members: Vec<ClientId>,
    /// Cards sharing the value, including those beyond [`MAX_GROUP_MEMBERS`].
    pub total: usize,
}

/// A value seen once is kept only as its 128-bit hash and the card's number;
/// the second card with it opens an entry in `multi` with the value itself.
const MANY: u32 = 1 << 31;

/// Collects cards and groups them by value. Memory grows with the number of
/// distinct phones and e-mails (a 128-bit hash and a card number each), plus
/// each card's id once; values are kept as text only when shared. Nothing is
/// allocated per value seen once, so a million cards cost tens of megabytes.
#[derive(Default)]
pub struct Grouper {
    /// Card ids, concatenated; `ends[i]` is where card i's id ends.
    ids: String,
    ends: Vec<u32>,
    nested: Vec<bool>,
    by_value: HashMap<u128, u32>,
    multi: Vec<(ClientKind, MatchBy, Box<str>, Vec<u32>)>,
}

impl std::fmt::Debug for Grouper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouper")
            .field("cards", &self.ends.len())
            .field("values", &self.by_value.len())
            .field("shared", &self.multi.len())
            .finish()
    }
}

fn value_hash(kind: ClientKind, by: MatchBy, value: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    // Two SipHash runs with different salts: a collision needs ~2^64 values.
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        (salt, kind, by, value).hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl Grouper {
    pub fn new() -> Grouper {
        Grouper::default()
    }

    fn id(&self, card: u32) -> &str {
        let i = card as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.ids[start..self.ends[i] as usize]
    }

    /// Adds a live card's values (the caller filters kinds and scope).
    pub fn add(&mut self, card: &CardKeys, by_phone: bool, by_email: bool) {
        let index = self.ends.len() as u32;
        let kind = card.kind;
        let mut used = false;
        let phones = card.phones.iter().filter(|_| by_phone);
        let emails = card.emails.iter().filter(|_| by_email);
        let values = phones
            .map(|p| (MatchBy::Phone, p.as_str()))
            .chain(emails.map(|e| (MatchBy::Email, e.as_str())));
        for (by, raw) in values {
            let lower;
            let value = if by == MatchBy::Email && raw.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = raw.to_lowercase();
                lower.as_str()
            } else {
                raw
            };
            let hash = value_hash(kind, by, value);
            match self.by_value.get(&hash).copied() {
                None => {
                    self.by_value.insert(hash, index);
                    used = true;
                }
                Some(slot) if slot & MANY != 0 => {
                    let members = &mut self.multi[(slot & !MANY) as usize].3;
                    if members.last() != Some(&index) {
                        members.push(index);
                        used = true;
                    }
                }
                Some(first) if first != index => {
                    let at = self.multi.len() as u32;
                    self.multi
                        .push((kind, by, value.into(), vec![first, index]));
                    self.by_value.insert(hash, at | MANY);
                    used = true;
                }
                Some(_) => {}
            }
        }
        if used {
            self.ids.push_str(card.id.as_str());
            self.ends.push(self.ids.len() as u32);
            self.nested
                .push(kind == ClientKind::Contact && card.organization.is_some());
        }
    }

    /// The groups, organizations first, then by match kind and value.
    pub fn finish(self) -> Vec<DuplicateGroup> {
        let mut groups = Vec::new();
        for (kind, by, value, members) in &self.multi {
            let mut cards: Vec<(&str, bool)> = members
                .iter()
                .map(|&i| (self.id(i), self.nested[i as usize]))
                .collect();
            cards.sort_unstable();
            // A card met twice (scanned through two sources) counts once.
            cards.dedup_by(|a, b| a.0 == b.0);
            // Nested contacts pair only with standalone ones.
            if cards.len() < 2 || cards.iter().all(|c| c.1) {
                continue;
            }
            let ids: Result<Vec<ClientId>, _> = cards
                .iter()
                .take(MAX_GROUP_MEMBERS)
                .map(|c| ClientId::parse(c.0))
                .collect();
            // Ids come from parsed cards, so they always parse again.
            let Ok(members) = ids else { continue };
            groups.push(DuplicateGroup {
                by: *by,
                value: value.to_string(),
                kind: *kind,
                total: cards.len(),
                members,
            });
        }
        groups.sort_by(|a, b| {
            let order = |k: ClientKind| k == ClientKind::Contact;
            (order(a.kind), a.by, &a.value).cmp(&(order(b.kind), b.by, &b.value))
        });
        groups
    }
}

/// Does the card still carry the value it was grouped by?
pub fn still_matches(card: &Client, by: MatchBy, value: &str) -> bool {
    match by {
        MatchBy::Phone => card.phones.iter().any(|p| p == value),
        MatchBy::Email => card.emails.iter().any(|e| e.eq_ignore_ascii_case(value)),
    }
}

/// What a merge writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The base with the duplicates' data merged in.
    pub merged: Client,
    /// Values that did not fit the base's limits.
    pub dropped: Vec<String>,
    /// Contacts of merged organizations, re-pointed to the base organization.
    pub moved: Vec<Client>,
}

/// Merges `duplicates` into `base` in order: base fields stay, empty ones are
/// filled, phones, e-mails, tags and custom fields are united within limits.
/// `nested` are the live contacts of the duplicates (for organizations); they
/// move to the base. `now` becomes the changed cards' `updated_at`.
pub fn plan_merge(
    base: &Client,
    duplicates: &[Client],
    nested: &[Client],
    now: Millis,
) -> Result<MergePlan, MergeError> {
    let mut merged = base.clone();
    let mut dropped = Vec::new();
    for d in duplicates {
        let outcome = merge_into(&mut merged, d)?;
        dropped.extend(outcome.dropped);
    }
    merged.updated_at = now;
    let merged_ids: Vec<&ClientId> = duplicates.iter().map(|d| &d.id).collect();
    let moved = if base.kind == ClientKind::Organization {
        nested
            .iter()
            .filter(|c| {
                c.organization
                    .as_ref()
                    .is_some_and(|o| merged_ids.contains(&o))
            })
            .map(|c| Client {
                organization: Some(base.id.clone()),
                updated_at: now,
                ..c.clone()
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(MergePlan {
        merged,
        dropped,
        moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn card(
        i: &str,
        kind: ClientKind,
        org: Option<&str>,
        phones: &[&str],
        emails: &[&str],
    ) -> Client {
        Client {
            id: id(i),
            kind,
            organization: org.map(id),
            name: format!("card {i}"),
            first_name: None,
            last_name: None,
            patronymic: None,
            position: None,
            phones: phones.iter().map(|s| s.to_string()).collect(),
            emails: emails.iter().map(|s| s.to_string()).collect(),
            city: None,
            industry: None,
            website: None,
            inn: None,
            description: None,
            tags: vec![],
            client_type: None,
            custom: BTreeMap::new(),
            responsible: user("u1"),
            responsible_group: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: vec![],
        }
    }

    fn keys(c: &Client) -> CardKeys {
        serde_json::from_value(serde_json::to_value(c).unwrap()).unwrap()
    }

    fn group(cards: &[Client], by_phone: bool, by_email: bool) -> Vec<DuplicateGroup> {
        let mut g = Grouper::new();
        for c in cards {
            g.add(&keys(c), by_phone, by_email);
        }
        g.finish()
    }

    fn p(role: Role, u: &str, g: Option<&str>) -> Principal {
        Principal {
            tenant: TenantId::parse("t").unwrap(),
            user: user(u),
            role,
            group: g.map(|g| GroupId::parse(g).unwrap()),
        }
    }

    const C: ClientKind = ClientKind::Contact;
    const O: ClientKind = ClientKind::Organization;

    #[test]
    fn groups_one_per_shared_value_of_one_kind() {
        let cards = [
            card("c1", C, None, &["+79120000001"], &["a@x.ru"]),
            card("c2", C, None, &["+79120000001"], &["b@x.ru"]),
            card("c3", C, None, &["+79120000009"], &["a@x.ru"]),
            // An organization with the same phone is not a contact's duplicate.
            card("o1", O, None, &["+79120000001"], &[]),
            card("o2", O, None, &["+79120000001"], &[]),
        ];
        let groups = group(&cards, true, true);
        let summary: Vec<(ClientKind, MatchBy, &str, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.kind,
                    g.by,
                    g.value.as_str(),
                    g.members.iter().map(ClientId::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (O, MatchBy::Phone, "+79120000001", vec!["o1", "o2"]),
                (C, MatchBy::Phone, "+79120000001", vec!["c1", "c2"]),
                (C, MatchBy::Email, "a@x.ru", vec!["c1", "c3"]),
            ]
        );
        // By phone only: the e-mail group disappears.
        assert_eq!(group(&cards, true, false).len(), 2);
        assert_eq!(group(&cards, false, true).len(), 1);
    }

    #[test]
    fn no_matching_inside_organizations() {
        let cards = [
            card("c1", C, Some("o1"), &["+79120000001"], &[]),
            card("c2", C, Some("o1"), &["+79120000001"], &[]),
            card("c3", C, Some("o2"), &["+79120000002"], &[]),
            card("c4", C, Some("o3"), &["+79120000002"], &[]),
            card("c5", C, Some("o3"), &["+79120000003"], &[]),
            card("c6", C, None, &["+79120000003"], &[]),
        ];
        let groups = group(&cards, true, true);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].value, "+79120000003");
        assert_eq!(groups[0].members, [id("c5"), id("c6")]);
    }

    #[test]
    fn order_is_deterministic_and_cards_count_once() {
        let cards = [
            card("c9", C, None, &["+79120000001"], &[]),
            card("c1", C, None, &["+79120000001"], &[]),
        ];
        let mut g = Grouper::new();
        for c in cards.iter().chain(cards.iter()) {
            g.add(&keys(c), true, true);
        }
        let groups = g.finish();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, [id("c1"), id("c9")]);
        assert_eq!(groups[0].total, 2);
        // A card alone twice is not a group.
        let mut g = Grouper::new();
        g.add(&keys(&cards[0]), true, true);
        g.add(&keys(&cards[0]), true, true);
        assert!(g.finish().is_empty());
    }

    #[test]
    fn settings_follow_the_scope_rule() {
        let admin = p(Role::Administrator, "a", None);
        let manager = p(Role::Manager, "m", Some("sales"));
        let leader = p(Role::GroupLeader, "l", Some("sales"));
        let s = |scope| SearchSettings {
            by_phone: true,
            by_email: false,
            objects: Objects::Both,
            scope,
        };
        assert_eq!(
            s(SearchScope::Account).sources(&admin).unwrap(),
            [Source::All]
        );
        assert_eq!(
            s(SearchScope::Account).sources(&manager).unwrap_err().field,
            "scope"
        );
        assert_eq!(
            s(SearchScope::Own).sources(&manager).unwrap(),
            [Source::User(user("m"))]
        );
        assert_eq!(
            s(SearchScope::Users(vec![user("x")]))
                .sources(&manager)
                .unwrap_err()
                .field,
            "users"
        );
        assert_eq!(
            s(SearchScope::Users(vec![user("x"), user("x"), user("y")]))
                .sources(&admin)
                .unwrap(),
            [Source::User(user("x")), Source::User(user("y"))]
        );
        assert_eq!(
            s(SearchScope::Users(vec![]))
                .sources(&admin)
                .unwrap_err()
                .field,
            "users"
        );
        assert_eq!(
            s(SearchScope::Account).sources(&leader).unwrap(),
            [
                Source::Group(GroupId::parse("sales").unwrap()),
                Source::User(user("l"))
            ]
        );
        let mut neither = s(SearchScope::Own);
        neither.by_phone = false;
        assert_eq!(neither.sources(&admin).unwrap_err().field, "by_phone");
        assert!(Objects::Contacts.includes(C) && !Objects::Contacts.includes(O));
        assert!(Objects::Both.includes(O) && Objects::Organizations.includes(O));
    }

    #[test]
    fn merge_plan_fills_the_base_and_moves_nested_contacts() {
        let mut base = card("o1", O, None, &["+79120000001"], &[]);
        base.city = Some("Москва".into());
        let mut dup = card(
            "o2",
            O,
            None,
            &["+79120000001", "+79120000002"],
            &["o@x.ru"],
        );
        dup.city = Some("Тверь".into());
        dup.inn = Some("7701234567".into());
        let nested = [
            card("c1", C, Some("o2"), &[], &[]),
            card("c2", C, Some("o9"), &[], &[]),
        ];
        let plan = plan_merge(&base, std::slice::from_ref(&dup), &nested, 42).unwrap();
        assert_eq!(plan.merged.city.as_deref(), Some("Москва"));
        assert_eq!(plan.merged.inn.as_deref(), Some("7701234567"));
        assert_eq!(plan.merged.phones, ["+79120000001", "+79120000002"]);
        assert_eq!(plan.merged.emails, ["o@x.ru"]);
        assert_eq!(plan.merged.updated_at, 42);
        assert_eq!(plan.moved.len(), 1);
        assert_eq!(plan.moved[0].id, id("c1"));
        assert_eq!(plan.moved[0].organization, Some(id("o1")));
        // Kinds never mix.
        let contact = card("c3", C, None, &[], &[]);
        assert!(plan_merge(&base, &[contact], &[], 0).is_err());
    }

    #[test]
    fn a_card_still_matches_its_value() {
        let c = card("c1", C, None, &["+79120000001"], &["A@x.ru"]);
        assert!(still_matches(&c, MatchBy::Phone, "+79120000001"));
        assert!(still_matches(&c, MatchBy::Email, "a@x.ru"));
        assert!(!still_matches(&c, MatchBy::Phone, "+79120000002"));
    }
}
