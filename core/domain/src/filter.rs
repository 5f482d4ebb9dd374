//! Filters over client cards (PRODUCT C7, C8): the conditions a list, an export
//! or a bulk action selects cards by. One predicate, so a filter selects the
//! same cards in the list a person sees and in the bulk action they start.

use crate::Millis;
use crate::client::{Client, ClientKind, matches_terms, search_terms, search_tokens};
use crate::ids::UserId;
use crate::phone::phone_time_zones;
use crate::user::FieldError;
use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A span of the local day, `from` inclusive, `to` exclusive, in minutes after
/// midnight. `to < from` wraps past midnight (22:00-06:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayWindow {
    pub from: u16,
    pub to: u16,
}

impl DayWindow {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<DayWindow, String> {
        let bad = || format!("{text:?}: expected HH:MM-HH:MM, e.g. 09:00-21:00");
        let (from, to) = text.trim().split_once('-').ok_or_else(bad)?;
        let minutes = |s: &str| -> Option<u16> {
            let (h, m) = s.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
        };
        let (from, to) = (minutes(from).ok_or_else(bad)?, minutes(to).ok_or_else(bad)?);
        if from == to {
            return Err(format!("{text:?}: the window is empty"));
        }
        Ok(DayWindow { from, to })
    }

    pub fn contains(&self, minute_of_day: u16) -> bool {
        if self.from < self.to {
            (self.from..self.to).contains(&minute_of_day)
        } else {
            minute_of_day >= self.from || minute_of_day < self.to
        }
    }
}

/// The conditions a card must meet; an empty filter selects every card.
/// Lists within one condition are alternatives (any tag of `tags`), the
/// conditions together must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientFilter {
    /// Words of names and city, e-mails, phone digits, each a prefix (as search).
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub kind: Option<ClientKind>,
    /// The card has at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The card belongs to one of these users.
    #[serde(default)]
    pub responsible: Vec<UserId>,
    #[serde(default)]
    pub client_type: Option<String>,
    /// Changed at or after this instant.
    #[serde(default)]
    pub modified_from: Option<Millis>,
    /// Changed before this instant.
    #[serde(default)]
    pub modified_to: Option<Millis>,
    /// Nobody has called the client yet.
    #[serde(default)]
    pub not_called: bool,
    /// It is now within this span of the day where the client is.
    #[serde(default)]
    pub local_time: Option<DayWindow>,
}

/// What a filter needs besides the card.
#[derive(Debug, Clone, Copy)]
pub struct FilterContext {
    pub now: Millis,
    /// The zone of a client whose number and city say nothing (the caller's own).
    pub fallback_zone: Tz,
}

/// Where nothing else says where a client is.
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Moscow;

impl FilterContext {
    /// `zone`: an IANA name (the caller's profile zone); unknown or absent → [`DEFAULT_ZONE`].
    pub fn new(now: Millis, zone: Option<&str>) -> FilterContext {
        FilterContext {
            now,
            fallback_zone: zone.and_then(|z| z.parse().ok()).unwrap_or(DEFAULT_ZONE),
        }
    }

    /// The instant a day `YYYY-MM-DD` begins in the fallback zone.
    pub fn day_start(&self, date: &str) -> Result<Millis, String> {
        self.midnight(parse_day(date)?)
    }

    /// The instant the day after `YYYY-MM-DD` begins: the end of a period that includes it.
    pub fn day_end(&self, date: &str) -> Result<Millis, String> {
        let next = parse_day(date)?
            .succ_opt()
            .ok_or_else(|| format!("{date:?} is the last day there is"))?;
        self.midnight(next)
    }

    /// `YYYY-MM-DD HH:MM` of an instant in the fallback zone, as exports show it.
    pub fn local_text(&self, at: Millis) -> String {
        match self.fallback_zone.timestamp_millis_opt(at).single() {
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => String::new(),
        }
    }

    fn midnight(&self, day: chrono::NaiveDate) -> Result<Millis, String> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        // A midnight skipped by a clock change starts the day an hour later.
        [midnight, midnight + chrono::Duration::hours(1)]
            .into_iter()
            .find_map(|t| self.fallback_zone.from_local_datetime(&t).earliest())
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| format!("{day} has no midnight in {}", self.fallback_zone))
    }
}

fn parse_day(date: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{date:?}: expected a date YYYY-MM-DD"))
}

impl ClientFilter {
    pub fn is_empty(&self) -> bool {
        *self == ClientFilter::default()
    }

    /// Checks what a filter can check alone; tags must be well-formed.
    pub fn validate(&self) -> Result<(), FieldError> {
        for tag in &self.tags {
            crate::client::check_tag(tag).map_err(|e| FieldError::new("tags", e.message))?;
        }
        if let (Some(from), Some(to)) = (self.modified_from, self.modified_to)
            && from >= to
        {
            return Err(FieldError::new(
                "modified_to",
                "the end of the period is not after its start",
            ));
        }
        Ok(())
    }

    pub fn matches(&self, c: &Client, ctx: &FilterContext) -> bool {
        if self.kind.is_some_and(|k| c.kind != k) {
            return false;
        }
        if !self.tags.is_empty() && !self.tags.iter().any(|t| c.tags.contains(t)) {
            return false;
        }
        if !self.responsible.is_empty() && !self.responsible.contains(&c.responsible) {
            return false;
        }
        if let Some(ty) = &self.client_type
            && c.client_type.as_deref() != Some(ty.as_str())
        {
            return false;
        }
        if self.modified_from.is_some_and(|from| c.updated_at < from)
            || self.modified_to.is_some_and(|to| c.updated_at >= to)
        {
            return false;
        }
        if self.not_called && c.last_call_at.is_some() {
            return false;
        }
        if let Some(window) = &self.local_time
            && !client_zones(c, ctx.fallback_zone)
                .iter()
                .all(|tz| window.contains(minute_of_day(ctx.now, *tz)))
        {
            return false;
        }
        if let Some(q) = &self.q {
            let terms = search_terms(q);
            if !terms.is_empty() && !matches_terms(&search_tokens(c), &terms) {
                return false;
            }
        }
        true
    }
}

/// Minutes after local midnight at `now` in `tz`.
pub fn minute_of_day(now: Millis, tz: Tz) -> u16 {
    match tz.timestamp_millis_opt(now).single() {
        Some(t) => (t.hour() * 60 + t.minute()) as u16,
        None => 0,
    }
}

/// The zones where a client may be (C7): from the phone numbers, else from the
/// city, else `fallback`. A client with numbers in several zones is in all of them,
/// so a window holds only where it holds for every number.
pub fn client_zones(c: &Client, fallback: Tz) -> Vec<Tz> {
    let mut zones: Vec<Tz> = Vec::new();
    for phone in &c.phones {
        for z in phone_time_zones(phone) {
            if let Ok(tz) = z.parse::<Tz>()
                && !zones.contains(&tz)
            {
                zones.push(tz);
            }
        }
    }
    if zones.is_empty()
        && let Some(tz) = c.city.as_deref().and_then(city_zone)
    {
        zones.push(tz);
    }
    if zones.is_empty() {
        zones.push(fallback);
    }
    zones
}

/// Cities of Russia and its neighbours whose zone differs from Moscow's or
/// which people often write instead of a region, in lower case, Russian and
/// English, `|`-separated. A mobile number says nothing of where its owner is; the city does.
const CITY_ZONES: &[(&str, &str)] = &[
    (
        "Europe/Moscow",
        "москва|moscow|санкт-петербург|петербург|спб|saint petersburg|st. petersburg|казань|kazan|нижний новгород|nizhny novgorod|воронеж|voronezh|ростов-на-дону|rostov-on-don|краснодар|krasnodar|сочи|sochi|ярославль|yaroslavl|тула|tula|волгоград|volgograd",
    ),
    ("Europe/Kaliningrad", "калининград|kaliningrad"),
    (
        "Europe/Samara",
        "самара|samara|тольятти|togliatti|ижевск|izhevsk|ульяновск|ulyanovsk|саратов|saratov|астрахань|astrakhan",
    ),
    (
        "Asia/Yekaterinburg",
        "екатеринбург|yekaterinburg|челябинск|chelyabinsk|уфа|ufa|пермь|perm|тюмень|tyumen|оренбург|orenburg|сургут|surgut|курган|kurgan",
    ),
    ("Asia/Omsk", "омск|omsk"),
    (
        "Asia/Novosibirsk",
        "новосибирск|novosibirsk|томск|tomsk|барнаул|barnaul|кемерово|kemerovo|новокузнецк|novokuznetsk",
    ),
    (
        "Asia/Krasnoyarsk",
        "красноярск|krasnoyarsk|норильск|norilsk|абакан|abakan|кызыл|kyzyl",
    ),
    (
        "Asia/Irkutsk",
        "иркутск|irkutsk|улан-удэ|ulan-ude|братск|bratsk",
    ),
    (
        "Asia/Yakutsk",
        "якутск|yakutsk|чита|chita|благовещенск|blagoveshchensk",
    ),
    (
        "Asia/Vladivostok",
        "владивосток|vladivostok|хабаровск|khabarovsk",
    ),
    (
        "Asia/Magadan",
        "магадан|magadan|южно-сахалинск|yuzhno-sakhalinsk",
    ),
    (
        "Asia/Kamchatka",
        "петропавловск-камчатский|petropavlovsk-kamchatsky",
    ),
    ("Asia/Almaty", "алматы|almaty|астана|astana"),
    ("Europe/Minsk", "минск|minsk"),
    (
        "Europe/Warsaw",
        "варшава|warszawa|warsaw|kraków|krakow|wrocław|wroclaw|gdańsk|gdansk|poznań|poznan|łódź|lodz",
    ),
];

/// The zone of a city name as people write it ("г. Новосибирск", "Novosibirsk").
pub fn city_zone(city: &str) -> Option<Tz> {
    let folded = city.trim().to_lowercase().replace('ё', "е");
    let name = folded
        .strip_prefix("г.")
        .or_else(|| folded.strip_prefix("город "))
        .unwrap_or(&folded)
        .trim();
    if name.is_empty() {
        return None;
    }
    CITY_ZONES.iter().find_map(|(zone, names)| {
        names
            .split('|')
            .any(|n| n == name)
            .then(|| zone.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ClientId;
    use std::collections::BTreeMap;

    fn card(phones: &[&str], city: Option<&str>) -> Client {
        Client {
            id: ClientId::parse("c1").unwrap(),
            kind: ClientKind::Contact,
            organization: None,
            name: "Иванов Иван".into(),
            first_name: Some("Иван".into()),
            last_name: Some("Иванов".into()),
            patronymic: None,
            position: None,
            phones: phones.iter().map(|p| p.to_string()).collect(),
            emails: vec!["ivan@example.ru".into()],
            city: city.map(str::to_string),
            industry: None,
            website: None,
            inn: None,
            description: None,
            tags: vec!["vip".into(), "expo".into()],
            client_type: Some("customer".into()),
            custom: BTreeMap::new(),
            responsible: UserId::parse("u1").unwrap(),
            responsible_group: None,
            created_at: 1_000,
            updated_at: 5_000,
            deleted_at: None,
            deleted_by: None,
            last_call_at: None,
            closed_in: vec![],
        }
    }

    fn ctx(now: Millis) -> FilterContext {
        FilterContext {
            now,
            fallback_zone: chrono_tz::Europe::Moscow,
        }
    }

    // 2026-11-23 06:00 UTC: 09:00 in Moscow, 13:00 in Novosibirsk, 16:00 in Vladivostok.
    const MORNING_UTC: Millis = 1_795_413_600_000;

    #[test]
    fn day_window_parses_and_wraps() {
        let w = DayWindow::parse("09:00-21:00").unwrap();
        assert_eq!((w.from, w.to), (540, 1260));
        assert!(w.contains(540) && w.contains(1259) && !w.contains(1260) && !w.contains(100));
        let night = DayWindow::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60) && night.contains(60) && !night.contains(12 * 60));
        assert!(DayWindow::parse("9-21").is_err());
        assert!(DayWindow::parse("25:00-26:00").is_err());
        assert!(DayWindow::parse("10:00-10:00").is_err());
        assert!(DayWindow::parse("00:00-24:00").is_ok());
    }

    #[test]
    fn zones_come_from_numbers_then_city_then_fallback() {
        let moscow = chrono_tz::Europe::Moscow;
        let novosibirsk_landline = card(&["+73832123456"], Some("Москва"));
        assert_eq!(
            client_zones(&novosibirsk_landline, moscow),
            vec![chrono_tz::Asia::Novosibirsk]
        );
        let mobile_in_vladivostok = card(&["+79123456789"], Some("г. Владивосток"));
        assert_eq!(
            client_zones(&mobile_in_vladivostok, moscow),
            vec![chrono_tz::Asia::Vladivostok]
        );
        let unknown = card(&["+79123456789"], Some("Урюпинск"));
        assert_eq!(client_zones(&unknown, moscow), vec![moscow]);
        assert_eq!(city_zone("Saint Petersburg"), Some(moscow));
        assert_eq!(city_zone("петербург"), Some(moscow));
        assert_eq!(city_zone(""), None);
    }

    #[test]
    fn local_time_window_keeps_night_callers_out() {
        let window = ClientFilter {
            local_time: Some(DayWindow::parse("10:00-20:00").unwrap()),
            ..ClientFilter::default()
        };
        // 09:00 in Moscow: too early; 16:00 in Vladivostok: fine.
        assert!(!window.matches(&card(&["+74951234567"], None), &ctx(MORNING_UTC)));
        assert!(window.matches(&card(&["+74232123456"], None), &ctx(MORNING_UTC)));
        // A number in each: one of them is still asleep.
        assert!(!window.matches(
            &card(&["+74232123456", "+74951234567"], None),
            &ctx(MORNING_UTC)
        ));
    }

    #[test]
    fn each_condition_narrows() {
        let c = card(&["+74951234567"], None);
        let cx = ctx(MORNING_UTC);
        let f = |f: ClientFilter| f.matches(&c, &cx);
        assert!(f(ClientFilter::default()));
        assert!(f(ClientFilter {
            tags: vec!["other".into(), "vip".into()],
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            tags: vec!["other".into()],
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            responsible: vec![UserId::parse("u2").unwrap()],
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            kind: Some(ClientKind::Organization),
            ..Default::default()
        }));
        assert!(f(ClientFilter {
            modified_from: Some(5_000),
            modified_to: Some(5_001),
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            modified_to: Some(5_000),
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            client_type: Some("vip".into()),
            ..Default::default()
        }));
        assert!(f(ClientFilter {
            q: Some("иван 495".into()),
            ..Default::default()
        }));
        assert!(!f(ClientFilter {
            q: Some("петров".into()),
            ..Default::default()
        }));
        assert!(f(ClientFilter {
            not_called: true,
            ..Default::default()
        }));
        let called = Client {
            last_call_at: Some(4_000),
            closed_in: vec![],
            ..c.clone()
        };
        assert!(
            !ClientFilter {
                not_called: true,
                ..Default::default()
            }
            .matches(&called, &cx)
        );
    }

    #[test]
    fn days_start_at_local_midnight() {
        let cx = FilterContext::new(0, Some("Asia/Novosibirsk"));
        // 2026-11-23 00:00 +07:00 = 2026-11-22 17:00 UTC.
        assert_eq!(cx.day_start("2026-11-23").unwrap(), 1_795_366_800_000);
        assert_eq!(
            cx.day_end("2026-12-31").unwrap() - cx.day_start("2026-12-31").unwrap(),
            24 * 3600 * 1000
        );
        assert!(cx.day_start("23.11.2026").is_err());
        assert_eq!(cx.local_text(1_795_366_800_000), "2026-11-23 00:00");
        assert_eq!(
            FilterContext::new(0, Some("Mars/Base")).fallback_zone,
            DEFAULT_ZONE
        );
    }

    #[test]
    fn a_backwards_period_is_refused() {
        let f = ClientFilter {
            modified_from: Some(10),
            modified_to: Some(10),
            ..Default::default()
        };
        assert_eq!(f.validate().unwrap_err().field, "modified_to");
    }
}
