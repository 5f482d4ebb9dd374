//! Phone numbers as the product stores them: E.164 (`+74951234567`), shown formatted
//! (C2, C7, C9). Regions are ISO 3166 alpha-2 strings ("RU", "PL").
//!
//! What [`normalize_phone`] accepts, in order:
//! - an extension is dropped: everything from `доб`, `ext` or an `x`/`х` followed by digits
//!   (`"+7 495 123-45-67 доб. 123"` → `+74951234567`); the product keeps no extensions;
//! - a cell that XLSX handed over as a float is read back: `79123456789.0`, `7.9123456789E10`;
//! - spaces, dashes, dots, brackets and `/` are ignored; a `+` may only lead; any other
//!   character (letters, vanity numbers like `8-800-FLOWERS`) gives [`PhoneError::NotANumber`];
//! - the digits are tried as a number of the default region first (so `8 912…`, `7 912…` and a
//!   bare `912…` are Russian for an RU account: the seed's "Russian analogue wins" rule); then
//!   `7`/`8`/`+8` followed by ten digits starting with 3, 4, 8 or 9 as `+7` (any account); then,
//!   written without `+`, as an international number (`48 601 234 567` → `+48601234567`,
//!   a leading `00` is an international prefix).
//!
//! A candidate counts only if the `phonenumber` crate (Google's libphonenumber metadata) calls
//! it *valid*, not merely *possible*: a wrong number in a call list costs a call, so we would
//! rather reject it at import with a reason the person can fix.

use phonenumber::{Mode, PhoneNumber, country, metadata::DATABASE};

#[cfg(test)]
mod differential;
mod plan;

/// Why a piece of text is not a phone number; the raw text is inside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    #[error("{0:?} is too short for a phone number")]
    TooShort(String),
    #[error("{0:?} is too long for a phone number")]
    TooLong(String),
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
}

/// Normalises one phone number to E.164; see the module docs for the rules.
/// An unknown `default_region` means "no default": only international forms are accepted.
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<String, PhoneError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PhoneError::Empty);
    }
    let not_a_number = || PhoneError::NotANumber(text.to_string());
    let main = strip_extension(text).trim();
    let main = excel_float(main).unwrap_or_else(|| main.to_string());
    let (plus, digits) = clean(&main).ok_or_else(not_a_number)?;
    if digits.is_empty() {
        return Err(not_a_number());
    }
    if digits.len() > 20 {
        return Err(PhoneError::TooLong(text.to_string()));
    }
    let region = default_region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .ok();
    let intl = digits.strip_prefix("00").unwrap_or(&digits);

    // Candidates are E.164 digits without the `+`, most likely reading first.
    let mut candidates = Vec::with_capacity(4);
    if plus {
        candidates.push(digits.clone());
    } else if let Some(id) = region
        && let Some(meta) = DATABASE.by_id(id.as_ref())
    {
        // The crate's own national reading knows IDDs (RU `810…`) and carrier codes.
        if let Some(number) = valid_national(id, &digits) {
            return Ok(number);
        }
        let code = meta.country_code();
        if let Some(rest) = meta.national_prefix().and_then(|p| digits.strip_prefix(p)) {
            candidates.push(format!("{code}{rest}"));
        }
        candidates.push(format!("{code}{digits}"));
    }
    if let Some(rest) = russian_trunk(&digits) {
        candidates.push(format!("7{rest}"));
    }
    if !plus {
        candidates.push(intl.to_string());
    }
    if let Some(found) = candidates.iter().find(|c| is_exact(c)) {
        return Ok(format!("+{found}"));
    }
    let first = match region {
        Some(id) if !plus => phonenumber::parse(Some(id), &digits),
        _ => phonenumber::parse(None, format!("+{}", if plus { &digits } else { intl })),
    };
    Err(classify(first, text))
}

/// E.164 of `digits` read as a number of `region` (as `phonenumber::parse` reads it), if
/// that number is valid. The compiled plans answer; the crate only when they are unsure.
fn valid_national(region: country::Id, digits: &str) -> Option<String> {
    let fast = plan::parse(Some(region.as_ref()), false, digits).and_then(|number| match number {
        Some(number) => Ok(plan::is_valid(&number)?.then(|| number.e164())),
        None => Ok(None),
    });
    fast.unwrap_or_else(|plan::Unsure| {
        let number = phonenumber::parse(Some(region), digits).ok()?;
        number
            .is_valid()
            .then(|| number.format().mode(Mode::E164).to_string())
    })
}

/// [`exact`] answered by the compiled plans, or by the crate when they are unsure.
fn is_exact(digits: &str) -> bool {
    plan::exact(digits).unwrap_or_else(|plan::Unsure| exact(digits).is_some())
}

/// The valid number whose E.164 form is exactly `+{digits}`.
///
/// Works around rust-phonenumber issue #76 (open in 0.3.10): a national number that starts
/// with the national prefix (RU/KZ/BY `8`: St Petersburg 812…, Samara 846…, 8-800…) loses that
/// digit even after `+7`. The crate strips the prefix twice, so writing it twice more gets the
/// number through; the E.164 comparison keeps this honest if the crate's behaviour changes.
fn exact(digits: &str) -> Option<PhoneNumber> {
    let want = format!("+{digits}");
    let ok = |n: &PhoneNumber| n.is_valid() && n.format().mode(Mode::E164).to_string() == want;
    let plain = phonenumber::parse(None, &want).ok()?;
    if ok(&plain) {
        return Some(plain);
    }
    let code = plain.code().value();
    let national = digits.strip_prefix(&code.to_string())?;
    let metas = DATABASE.by_code(&code)?;
    let prefix = metas.iter().find_map(|m| m.national_prefix())?;
    if !national.starts_with(prefix) {
        return None;
    }
    (1..=2)
        .filter_map(|k| {
            phonenumber::parse(None, format!("+{code}{}{national}", prefix.repeat(k))).ok()
        })
        .find(ok)
}

/// Splits a cell holding several numbers (by `,`, `;` or line breaks) and normalises each.
/// Returns the distinct numbers in order of appearance and the errors of the parts that failed;
/// empty parts are ignored, so an empty cell gives nothing.
pub fn parse_phone_cell(cell: &str, default_region: &str) -> (Vec<String>, Vec<PhoneError>) {
    let mut numbers: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for part in cell.split([',', ';', '\n', '\r']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        match normalize_phone(part, default_region) {
            Ok(number) if !numbers.contains(&number) => numbers.push(number),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    (numbers, errors)
}

/// The number for people: the international format of its region, e.g. `+7 495 123-45-67`,
/// `+48 601 234 567`. Text that is not a valid E.164 number is returned unchanged.
pub fn format_phone(e164: &str) -> String {
    match parse_valid(e164) {
        Some(number) => number.format().mode(Mode::International).to_string(),
        None => e164.to_string(),
    }
}

/// The ISO region of a valid E.164 number (`+7 701…` is "KZ", `+7 912…` is "RU").
pub fn phone_region(e164: &str) -> Option<String> {
    let id = parse_valid(e164)?.country().id()?;
    Some(id.as_ref().to_string())
}

/// IANA time zones where the number may ring, for the "do not call at night" window (C7).
/// The `phonenumber` crate has no time-zone mapper, so this is a small table of our own:
/// Russian geographic numbers by their 3-digit area code (a zone with the same current
/// offset stands for its neighbours, e.g. Europe/Samara for Ulyanovsk and Saratov); other
/// 4xx and 8xx area codes are European Russia, Europe/Moscow; Russian mobile (9xx),
/// non-geographic (80x) and unlisted 3xx numbers are unknown (empty). Outside Russia only a
/// few single-zone countries are known: PL, DE, UA, BY. Everything else is empty.
pub fn phone_time_zones(e164: &str) -> Vec<String> {
    let Some(number) = parse_valid(e164) else {
        return Vec::new();
    };
    let zone = match number.country().id() {
        Some(country::Id::RU) => russian_zone(&number.national().to_string()),
        Some(country::Id::PL) => Some("Europe/Warsaw"),
        Some(country::Id::DE) => Some("Europe/Berlin"),
        Some(country::Id::UA) => Some("Europe/Kyiv"),
        Some(country::Id::BY) => Some("Europe/Minsk"),
        _ => None,
    };
    zone.into_iter().map(str::to_string).collect()
}

/// Zone and the Russian 3-digit area codes (ABC codes) in it.
const RU_ZONES: &[(&str, &str)] = &[
    ("Europe/Kaliningrad", "401"),
    ("Europe/Samara", "341 842 845 846 848 851"),
    ("Asia/Yekaterinburg", "342 343 345 346 347 349 351 352 353"),
    ("Asia/Omsk", "381"),
    ("Asia/Novosibirsk", "382 383 384 385 388"),
    ("Asia/Krasnoyarsk", "390 391 394"),
    ("Asia/Irkutsk", "301 395"),
    ("Asia/Yakutsk", "302 411 416"),
    ("Asia/Vladivostok", "421 423 426"),
    ("Asia/Magadan", "413 424"),
    ("Asia/Kamchatka", "415 427"),
];

fn russian_zone(national: &str) -> Option<&'static str> {
    let code = national.get(..3)?;
    let listed = RU_ZONES
        .iter()
        .find(|(_, codes)| codes.split(' ').any(|c| c == code));
    match (listed, code.as_bytes()) {
        (Some((zone, _)), _) => Some(zone),
        (None, [b'8', b'0', _]) => None,
        (None, [b'4' | b'8', ..]) => Some("Europe/Moscow"),
        _ => None,
    }
}

fn parse_valid(e164: &str) -> Option<PhoneNumber> {
    let digits = e164.trim().strip_prefix('+')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    exact(digits)
}

/// `7` / `8` + ten digits of a Russian area or mobile code: the ten digits.
fn russian_trunk(digits: &str) -> Option<&str> {
    let rest = digits.strip_prefix(['7', '8'])?;
    (rest.len() == 10 && rest.starts_with(['3', '4', '8', '9'])).then_some(rest)
}

/// Everything before an extension marker, if the part before it holds a digit.
fn strip_extension(text: &str) -> &str {
    for (i, c) in text.char_indices() {
        let head = &text[..i];
        if !"дДeExXхХ".contains(c) || !head.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let tail = text[i..].to_lowercase();
        let after_x = || {
            let rest = tail[c.len_utf8()..].trim_start_matches([' ', '.', ':']);
            rest.starts_with(|d: char| d.is_ascii_digit())
        };
        if tail.starts_with("доб")
            || tail.starts_with("ext")
            || (matches!(c, 'x' | 'X' | 'х' | 'Х') && after_x())
        {
            return head;
        }
    }
    text
}

/// An XLSX cell read as a float: `79123456789.0` or `7.9123456789E10` → `79123456789`.
fn excel_float(text: &str) -> Option<String> {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e)),
        None => (text, "0"),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !all_digits(int) || !(frac.is_empty() || all_digits(frac)) || !all_digits(exponent) {
        return None;
    }
    if text == mantissa && frac.is_empty() {
        return None; // plain digits, nothing to undo
    }
    let shift: usize = exponent.parse().ok().filter(|&e| e <= 20)?;
    let (moved, rest) = frac.split_at(shift.min(frac.len()));
    if rest.bytes().any(|b| b != b'0') {
        return None; // not a whole number: not something Excel made of a phone
    }
    Some(format!("{int}{moved}{}", "0".repeat(shift - moved.len())))
}

/// Digits of a number written with separators, and whether it led with `+`.
fn clean(text: &str) -> Option<(bool, String)> {
    let (plus, body) = match text.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '‐' | '‑' | '–' | '—' | '.' | '(' | ')' | '/' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    Some((plus, digits))
}

/// The reason for the first failed reading, for a person to fix the cell.
fn classify(attempt: Result<PhoneNumber, phonenumber::ParseError>, text: &str) -> PhoneError {
    use phonenumber::ParseError as P;
    let text = text.to_string();
    let number = match attempt {
        Ok(number) => number,
        Err(P::NoNumber | P::TooShortNsn | P::TooShortAfterIdd) => {
            return PhoneError::TooShort(text);
        }
        Err(P::TooLong) => return PhoneError::TooLong(text),
        Err(P::InvalidCountryCode | P::MalformedInteger(_)) => return PhoneError::Invalid(text),
    };
    let len = number.national().to_string().len();
    match length_bounds(number.code().value()) {
        Some((min, _)) if len < min => PhoneError::TooShort(text),
        Some((_, max)) if len > max => PhoneError::TooLong(text),
        _ => PhoneError::Invalid(text),
    }
}

/// Shortest and longest fixed-line or mobile national number under a country calling code
/// (the kinds people put in a call list; RU toll-free allows 14 digits, which would hide typos).
fn length_bounds(code: u16) -> Option<(usize, usize)> {
    let metas = DATABASE.by_code(&code)?;
    let lengths = metas
        .iter()
        .flat_map(|m| [m.descriptors().fixed_line(), m.descriptors().mobile()])
        .flatten()
        .flat_map(|d| d.possible_length().iter().map(|&l| usize::from(l)));
    let (min, max) = lengths.fold((usize::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    (max > 0).then_some((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_russian_foreign_and_excel_forms() {
        let cases = [
            ("+7 (912) 345-67-89", "RU", "+79123456789"),
            ("8-912-345-67-89", "RU", "+79123456789"),
            ("79123456789", "RU", "+79123456789"),
            ("9123456789", "RU", "+79123456789"),
            ("+8 912 345 67 89", "RU", "+79123456789"),
            ("8.912.345.67.89", "RU", "+79123456789"),
            (
                " +7\u{a0}912\u{a0}345\u{2013}67\u{2013}89 ",
                "RU",
                "+79123456789",
            ),
            ("79123456789.0", "RU", "+79123456789"),
            ("7.9123456789E10", "RU", "+79123456789"),
            ("7.9123456789e+10", "RU", "+79123456789"),
            ("4.8601234567E10", "RU", "+48601234567"),
            ("(495) 123-45-67", "RU", "+74951234567"),
            // Area codes starting with the trunk `8` (rust-phonenumber #76).
            ("8 (812) 123-45-67", "RU", "+78121234567"),
            ("812 123 45 67", "RU", "+78121234567"),
            ("+7 846 212-34-56", "RU", "+78462123456"),
            ("8-800-555-35-35", "RU", "+78005553535"),
            ("+375 800 111111", "RU", "+375800111111"),
            // `7`/`8` + a Russian code is +7 in any account; a bare ten digits needs RU.
            ("8 912 345 67 89", "PL", "+79123456789"),
            ("8 (495) 123-45-67", "", "+74951234567"),
            // Foreign numbers get a `+`.
            ("+48 601 234 567", "RU", "+48601234567"),
            ("48601234567", "RU", "+48601234567"),
            ("48 601 234 567", "RU", "+48601234567"),
            ("380501234567", "RU", "+380501234567"),
            ("49 30 1234567", "RU", "+49301234567"),
            ("0048 601 234 567", "RU", "+48601234567"),
            ("810 48 601 234 567", "RU", "+48601234567"),
            ("601 234 567", "pl", "+48601234567"),
            ("+1 202-555-0123", "RU", "+12025550123"),
            ("77012345678", "RU", "+77012345678"),
            // Extensions are dropped.
            ("+7 495 123-45-67 доб. 123", "RU", "+74951234567"),
            ("+7 495 123-45-67 Доб 1", "RU", "+74951234567"),
            ("+7 495 123-45-67 ext.123", "RU", "+74951234567"),
            ("+7 495 123-45-67 x123", "RU", "+74951234567"),
            ("84951234567х12", "RU", "+74951234567"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(
                normalize_phone(raw, region).as_deref(),
                Ok(want),
                "{raw} in {region:?}"
            );
        }
        assert!(normalize_phone("9123456789", "PL").is_err());
    }

    #[test]
    fn errors_name_the_problem() {
        use PhoneError::*;
        type Make = fn(String) -> PhoneError;
        let cases: [(&str, Make); 10] = [
            ("abc", NotANumber),
            ("8-800-FLOWERS", NotANumber),
            ("8 912+345", NotANumber),
            ("---", NotANumber),
            ("7.91234567891E10", NotANumber),
            ("12", TooShort),
            ("8 (495) 12", TooShort),
            ("+7 495 123 45 67 890", TooLong),
            ("99999999999999999999999", TooLong),
            ("+7 100 000-00-00", Invalid),
        ];
        for (raw, error) in cases {
            assert_eq!(normalize_phone(raw, "RU"), Err(error(raw.into())), "{raw}");
        }
        assert_eq!(normalize_phone("  ", "RU"), Err(Empty));
        assert!(matches!(
            normalize_phone("123", "RU"),
            Err(TooShort(_) | Invalid(_))
        ));
        let message = normalize_phone("8 (495) 12", "RU").unwrap_err().to_string();
        assert_eq!(message, r#""8 (495) 12" is too short for a phone number"#);
    }

    #[test]
    fn cells_split_deduplicate_and_skip_empty_parts() {
        let cell = "8 912 345 67 89; +7 (495) 123-45-67, 8-912-345-67-89";
        let (numbers, errors) = parse_phone_cell(cell, "RU");
        assert_eq!(numbers, ["+79123456789", "+74951234567"]);
        assert!(errors.is_empty());
        for empty in ["", " ; ,\n "] {
            assert_eq!(parse_phone_cell(empty, "RU"), (vec![], vec![]));
        }
        let (numbers, errors) = parse_phone_cell("+48 601 234 567\nabc;;123", "RU");
        assert_eq!(numbers, ["+48601234567"]);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], PhoneError::NotANumber("abc".into()));
    }

    #[test]
    fn formats_and_regions() {
        assert_eq!(format_phone("+74951234567"), "+7 495 123-45-67");
        assert_eq!(format_phone("+78121234567"), "+7 812 123-45-67");
        assert_eq!(format_phone("+48601234567"), "+48 601 234 567");
        assert_eq!(format_phone("+49301234567"), "+49 30 1234567");
        assert_eq!(format_phone("not a phone"), "not a phone");
        assert_eq!(format_phone("+7123"), "+7123");
        let region = |n: &str| phone_region(n);
        assert_eq!(region("+79123456789").as_deref(), Some("RU"));
        assert_eq!(region("+78005553535").as_deref(), Some("RU"));
        assert_eq!(region("+77012345678").as_deref(), Some("KZ"));
        assert_eq!(region("+380501234567").as_deref(), Some("UA"));
        assert_eq!(region("garbage"), None);
    }

    #[test]
    fn time_zones() {
        let cases = [
            ("+74951234567", "Europe/Moscow"),
            ("+78121234567", "Europe/Moscow"),
            ("+74012123456", "Europe/Kaliningrad"),
            ("+78462123456", "Europe/Samara"),
            ("+73432123456", "Asia/Yekaterinburg"),
            ("+73812123456", "Asia/Omsk"),
            ("+73832123456", "Asia/Novosibirsk"),
            ("+73912123456", "Asia/Krasnoyarsk"),
            ("+73952123456", "Asia/Irkutsk"),
            ("+74112123456", "Asia/Yakutsk"),
            ("+74232123456", "Asia/Vladivostok"),
            ("+74132123456", "Asia/Magadan"),
            ("+74152123456", "Asia/Kamchatka"),
            ("+48601234567", "Europe/Warsaw"),
            ("+49301234567", "Europe/Berlin"),
            ("+380501234567", "Europe/Kyiv"),
            ("+375291234567", "Europe/Minsk"),
        ];
        for (number, zone) in cases {
            assert_eq!(phone_time_zones(number), [zone], "{number}");
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
        }
        // Mobile, toll-free, Kazakhstan, elsewhere, garbage: unknown.
        for number in [
            "+79123456789",
            "+78005553535",
            "+77012345678",
            "+12025550123",
            "x",
        ] {
            assert!(phone_time_zones(number).is_empty(), "{number}");
        }
        for (zone, _) in RU_ZONES {
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
        }
    }
}

/// Is `region` an ISO 3166 region the numbering plans know (e.g. "RU", "PL")?
pub fn is_known_region(region: &str) -> bool {
    region.len() == 2 && region.parse::<phonenumber::country::Id>().is_ok()
}

#[cfg(test)]
mod region_tests {
    #[test]
    fn known_regions() {
        assert!(
            super::is_known_region("RU")
                && super::is_known_region("PL")
                && super::is_known_region("IS")
        );
        assert!(
            !super::is_known_region("XX")
                && !super::is_known_region("ru")
                && !super::is_known_region("RUS")
        );
    }
}
