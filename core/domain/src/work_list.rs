//! Working a list (PRODUCT E1): a scenario and a filter over the base that
//! agents take cards from one at a time, and the rules that decide which card
//! may be offered now.
//!
//! A card is offered when the list's filter selects it, it is not closed for
//! the scenario (a "done" result), it is within the list's calling hours where
//! the client is, it was not called too recently, and nobody else holds it.
//! Holding is a [`Claim`]: the card is the agent's until a result is saved or
//! the claim lapses, so two agents never get the same client.

use crate::Millis;
use crate::call_result::text;
use crate::client::Client;
use crate::filter::{ClientFilter, DayWindow, FilterContext, client_zones, minute_of_day};
use crate::ids::{CallId, CallResultId, ClientId, ScenarioId, UserId, WorkListId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_LIST_NAME_CHARS: usize = 100;
/// Calling hours when a list does not say (local time of the client).
pub const DEFAULT_CALLING_HOURS: DayWindow = DayWindow {
    from: 9 * 60,
    to: 21 * 60,
};
/// A client called less than this long ago is not offered again by default.
pub const DEFAULT_RETRY_AFTER_MIN: u32 = 240;
pub const MAX_RETRY_AFTER_MIN: u32 = 30 * 24 * 60;
/// How long a card stays with the agent it was handed to without a result.
pub const CLAIM_TTL_MS: Millis = 15 * 60 * 1000;
/// Scenarios a card remembers being closed in; the oldest is forgotten first.
pub const MAX_CLOSED_SCENARIOS: usize = 50;
pub const MAX_RESULT_COMMENT_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkList {
    pub id: WorkListId,
    pub name: String,
    pub scenario: ScenarioId,
    /// Which cards of the base the list holds (the same filter as the list of cards).
    pub filter: ClientFilter,
    /// Clients are offered only while it is within these hours where they are.
    pub calling_hours: DayWindow,
    /// A client called less than this many minutes ago is not offered.
    pub retry_after_min: u32,
    pub created_by: UserId,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl WorkList {
    /// Checks the fields and trims the name.
    pub fn normalize(&mut self) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_LIST_NAME_CHARS)?;
        self.filter.validate()?;
        if self.filter.q.is_some() {
            // A text query is answered from the search index, best match first,
            // which has no stable order to walk a list by.
            return Err(FieldError::new(
                "filter.q",
                "a work list cannot select by a text search; use tags, type or responsible",
            ));
        }
        if self.retry_after_min > MAX_RETRY_AFTER_MIN {
            return Err(FieldError::new(
                "retry_after_min",
                format!("must be at most {MAX_RETRY_AFTER_MIN} (30 days)"),
            ));
        }
        Ok(())
    }

    /// Whether `card` may be offered now to an agent working this list;
    /// claims are checked separately, against the store.
    pub fn offers(&self, card: &Client, ctx: &FilterContext) -> Result<(), Skip> {
        if card.is_deleted() || !self.filter.matches(card, ctx) {
            return Err(Skip::NotSelected);
        }
        if card.closed_in.contains(&self.scenario) {
            return Err(Skip::Closed);
        }
        if card
            .last_call_at
            .is_some_and(|at| ctx.now - at < Millis::from(self.retry_after_min) * 60_000)
        {
            return Err(Skip::CalledRecently);
        }
        let hours = self.calling_hours;
        if !client_zones(card, ctx.fallback_zone)
            .iter()
            .all(|tz| hours.contains(minute_of_day(ctx.now, *tz)))
        {
            return Err(Skip::OutsideHours);
        }
        Ok(())
    }
}

/// Why a card of the base is not offered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The list's filter does not select it.
    NotSelected,
    /// A "done" result closed it for the scenario.
    Closed,
    /// Called less than the list's retry interval ago.
    CalledRecently,
    /// It is outside the calling hours where the client is.
    OutsideHours,
    /// Another agent holds it.
    Claimed,
}

/// Counts of the cards passed over while looking for the next one, so an
/// agent told "nothing now" also learns why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub closed: u64,
    pub called_recently: u64,
    pub outside_hours: u64,
    pub claimed: u64,
}

impl Skipped {
    pub fn count(&mut self, skip: Skip) {
        match skip {
            Skip::NotSelected => {}
            Skip::Closed => self.closed += 1,
            Skip::CalledRecently => self.called_recently += 1,
            Skip::OutsideHours => self.outside_hours += 1,
            Skip::Claimed => self.claimed += 1,
        }
    }
}

/// A card handed to an agent: nobody else is given it until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub client: ClientId,
    pub agent: UserId,
    pub list: WorkListId,
    pub since: Millis,
    pub until: Millis,
}

impl Claim {
    pub fn new(client: ClientId, agent: UserId, list: WorkListId, now: Millis) -> Claim {
        Claim {
            client,
            agent,
            list,
            since: now,
            until: now + CLAIM_TTL_MS,
        }
    }

    /// Whether the claim keeps `agent` from the card at `now`.
    pub fn blocks(&self, agent: &UserId, now: Millis) -> bool {
        &self.agent != agent && now < self.until
    }

    pub fn live(&self, now: Millis) -> bool {
        now < self.until
    }
}

/// The result an agent saved for a call, as the call's record shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDisposition {
    pub call: CallId,
    pub client: ClientId,
    pub scenario: ScenarioId,
    pub list: Option<WorkListId>,
    pub result: CallResultId,
    /// The result's name when it was saved (results can be renamed later).
    pub result_name: String,
    pub comment: Option<String>,
    pub agent: UserId,
    pub at: Millis,
}

/// Marks the card closed for `scenario` (a "done" result), forgetting the
/// oldest scenario if the card remembers too many.
pub fn close_in(card: &mut Client, scenario: &ScenarioId) {
    if card.closed_in.contains(scenario) {
        return;
    }
    if card.closed_in.len() >= MAX_CLOSED_SCENARIOS {
        card.closed_in.remove(0);
    }
    card.closed_in.push(scenario.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientKind;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn card(id: &str) -> Client {
        Client {
            id: ClientId::parse(id).unwrap(),
            kind: ClientKind::Contact,
            organization: None,
            name: "Иван Петров".into(),
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
            responsible: UserId::parse("ann").unwrap(),
            responsible_group: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: vec![],
        }
    }

    fn list() -> WorkList {
        WorkList {
            id: WorkListId::parse("L1").unwrap(),
            name: "Spring".into(),
            scenario: ScenarioId::parse("S1").unwrap(),
            filter: ClientFilter {
                tags: vec!["spring".into()],
                ..ClientFilter::default()
            },
            calling_hours: DEFAULT_CALLING_HOURS,
            retry_after_min: 60,
            created_by: UserId::parse("boss").unwrap(),
            created_at: 0,
            updated_at: 0,
        }
    }

    /// 2026-11-23 at `hour`:00 in Moscow.
    fn moscow(hour: u32) -> Millis {
        chrono_tz::Europe::Moscow
            .with_ymd_and_hms(2026, 11, 23, hour, 0, 0)
            .unwrap()
            .timestamp_millis()
    }

    fn ctx(now: Millis) -> FilterContext {
        FilterContext::new(now, Some("Europe/Moscow"))
    }

    fn tagged(phone: &str) -> Client {
        let mut c = card("C1");
        c.tags = vec!["spring".into()];
        c.phones = vec![phone.into()];
        c
    }

    #[test]
    fn offers_a_selected_open_card_within_hours() {
        assert_eq!(
            list().offers(&tagged("+74951234567"), &ctx(moscow(12))),
            Ok(())
        );
    }

    #[test]
    fn passes_over_what_the_filter_does_not_select() {
        let mut c = tagged("+74951234567");
        c.tags.clear();
        assert_eq!(list().offers(&c, &ctx(moscow(12))), Err(Skip::NotSelected));
    }

    #[test]
    fn a_closed_card_is_not_offered_in_that_scenario_only() {
        let mut c = tagged("+74951234567");
        close_in(&mut c, &ScenarioId::parse("S1").unwrap());
        assert_eq!(list().offers(&c, &ctx(moscow(12))), Err(Skip::Closed));
        let mut other = list();
        other.scenario = ScenarioId::parse("S2").unwrap();
        assert_eq!(other.offers(&c, &ctx(moscow(12))), Ok(()));
    }

    #[test]
    fn calling_hours_are_the_clients_own() {
        // 08:00 in Moscow is 15:00 in Vladivostok.
        let vladivostok = tagged("+74232123456");
        let moscow_card = tagged("+74951234567");
        let at = ctx(moscow(8));
        assert_eq!(list().offers(&vladivostok, &at), Ok(()));
        assert_eq!(list().offers(&moscow_card, &at), Err(Skip::OutsideHours));
        // 21:00 is already outside 09:00-21:00.
        assert_eq!(
            list().offers(&moscow_card, &ctx(moscow(21))),
            Err(Skip::OutsideHours)
        );
    }

    #[test]
    fn a_recent_call_holds_the_card_back_for_the_retry_interval() {
        let mut c = tagged("+74951234567");
        c.last_call_at = Some(moscow(12) - 59 * 60_000);
        assert_eq!(
            list().offers(&c, &ctx(moscow(12))),
            Err(Skip::CalledRecently)
        );
        c.last_call_at = Some(moscow(12) - 60 * 60_000);
        assert_eq!(list().offers(&c, &ctx(moscow(12))), Ok(()));
    }

    #[test]
    fn a_claim_blocks_others_until_it_lapses() {
        let ann = UserId::parse("ann").unwrap();
        let bob = UserId::parse("bob").unwrap();
        let claim = Claim::new(
            ClientId::parse("C1").unwrap(),
            ann.clone(),
            WorkListId::parse("L1").unwrap(),
            1_000,
        );
        assert!(claim.blocks(&bob, 1_000 + CLAIM_TTL_MS - 1));
        assert!(!claim.blocks(&ann, 1_000));
        assert!(!claim.blocks(&bob, 1_000 + CLAIM_TTL_MS));
    }

    #[test]
    fn a_card_remembers_a_bounded_number_of_closed_scenarios() {
        let mut c = card("C1");
        for i in 0..=MAX_CLOSED_SCENARIOS {
            close_in(&mut c, &ScenarioId::parse(format!("S{i}")).unwrap());
        }
        close_in(&mut c, &ScenarioId::parse("S7").unwrap());
        assert_eq!(c.closed_in.len(), MAX_CLOSED_SCENARIOS);
        assert_eq!(c.closed_in[0].as_str(), "S1");
    }

    #[test]
    fn a_list_cannot_walk_a_text_search() {
        let mut l = list();
        l.filter.q = Some("ivan".into());
        assert_eq!(l.normalize().unwrap_err().field, "filter.q");
        let mut l = list();
        l.retry_after_min = MAX_RETRY_AFTER_MIN + 1;
        assert_eq!(l.normalize().unwrap_err().field, "retry_after_min");
    }
}
