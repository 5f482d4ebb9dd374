//! The phone checks as they were before the compiled plans ([`reference`]: every parse and
//! validity check through the `phonenumber` crate), and a generated corpus on which
//! [`normalize_phone`] must give the same answer, accepted or rejected with the same reason.

use super::*;

/// `normalize_phone` as it read every number through the crate.
fn reference(raw: &str, default_region: &str) -> Result<String, PhoneError> {
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

    let mut candidates = Vec::with_capacity(4);
    if plus {
        candidates.push(digits.clone());
    } else if let Some(id) = region
        && let Some(meta) = DATABASE.by_id(id.as_ref())
    {
        if let Ok(number) = phonenumber::parse(region, &digits)
            && number.is_valid()
        {
            return Ok(number.format().mode(Mode::E164).to_string());
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
    if let Some(found) = candidates.iter().find(|c| exact(c).is_some()) {
        return Ok(format!("+{found}"));
    }
    let first = match region {
        Some(id) if !plus => phonenumber::parse(Some(id), &digits),
        _ => phonenumber::parse(None, format!("+{}", if plus { &digits } else { intl })),
    };
    Err(classify(first, text))
}

/// A small deterministic generator (64-bit LCG): the same corpus on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Russian national numbers: mobile, Moscow, St Petersburg, other areas, 8-800, and
/// codes that are not in use.
fn russian_national(rng: &mut Rng) -> String {
    let area = match rng.below(8) {
        0 | 1 => format!("9{}", rng.digits(2)),
        2 => rng.pick(&["495", "499"]).to_string(),
        3 => "812".to_string(),
        4 => "800".to_string(),
        5 => rng
            .pick(&[
                "343", "383", "401", "846", "423", "391", "301", "818", "861", "872",
            ])
            .to_string(),
        6 => format!("{}{}", rng.pick(&["3", "4", "8"]), rng.digits(2)),
        _ => rng.digits(3),
    };
    format!("{area}{}", rng.digits(7))
}

/// Writes ten national digits as people and spreadsheets do.
fn spell_russian(rng: &mut Rng, n: &str) -> String {
    let (a, b, c, d) = (&n[..3], &n[3..6], &n[6..8], &n[8..]);
    match rng.below(16) {
        0 => format!("+7 {a} {b}-{c}-{d}"),
        1 => format!("+7 ({a}) {b}-{c}-{d}"),
        2 => format!("8 ({a}) {b}-{c}-{d}"),
        3 => format!("8-{a}-{b}-{c}-{d}"),
        4 => format!("8{n}"),
        5 => format!("7{n}"),
        6 => n.to_string(),
        7 => format!("7{n}.0"),
        8 => format!("7.{n}E10"),
        9 => format!("+8 {a} {b} {c} {d}"),
        10 => format!("8.{a}.{b}.{c}.{d}"),
        11 => format!("({a}) {b}-{c}-{d}"),
        12 => format!("+7{n}"),
        13 => format!("8 {a} {b}{c}{d}"),
        14 => format!("+7 {a} {b}-{c}-{d}"),
        _ => format!("810 7 {a} {b} {c} {d}"),
    }
}

/// Calling code and a national number of many countries, from the metadata's examples
/// with their last digits changed.
fn foreign(rng: &mut Rng) -> (u16, String) {
    const REGIONS: &[&str] = &[
        "PL", "DE", "UA", "BY", "KZ", "US", "CA", "GB", "FR", "IT", "ES", "NL", "TR", "CN", "IN",
        "BR", "AR", "MX", "JP", "KR", "AZ", "AM", "GE", "UZ", "KG", "TJ", "IL", "AE", "FI", "EE",
        "LV", "LT", "CZ", "HU", "RS", "NZ", "AU", "CH", "AT", "SE",
    ];
    let meta = DATABASE.by_id(rng.pick(REGIONS)).expect("a known region");
    let d = meta.descriptors();
    let desc = match rng.below(3) {
        0 => d.fixed_line(),
        1 => d.mobile(),
        _ => d.toll_free().or(d.mobile()),
    };
    let example = desc.and_then(|d| d.example()).unwrap_or("12345678");
    let keep = example.len().saturating_sub(rng.below(5));
    let national = format!("{}{}", &example[..keep], rng.digits(example.len() - keep));
    (meta.country_code(), national)
}

fn spell_foreign(rng: &mut Rng, code: u16, national: &str) -> String {
    let mid = national.len() / 2;
    let (a, b) = national.split_at(mid);
    match rng.below(7) {
        0 => format!("+{code} {a} {b}"),
        1 => format!("+{code}{national}"),
        2 => format!("{code} {a}-{b}"),
        3 => format!("{code}{national}"),
        4 => format!("00{code} {national}"),
        5 => format!("810 {code} {national}"),
        _ => format!("+{code} ({a}) {b}"),
    }
}

/// Changes a well-formed spelling into one of the ways a cell goes wrong.
fn damage(rng: &mut Rng, text: &str) -> String {
    let cut = |n: usize| {
        text.chars()
            .take(text.chars().count().saturating_sub(n))
            .collect::<String>()
    };
    match rng.below(9) {
        0 => cut(1 + rng.below(4)),
        1 => {
            let n = 1 + rng.below(4);
            format!("{text}{}", rng.digits(n))
        }
        2 => {
            let n = 1 + rng.below(4);
            format!("{text} доб. {}", rng.digits(n))
        }
        3 => format!("{text} x{}", rng.digits(3)),
        4 => format!("{text} ext.{}", rng.digits(2)),
        5 => {
            let at = rng.below(text.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            format!(
                "{}{}{}",
                &text[..at],
                rng.pick(&["A", "б", "+", "#", "*"]),
                &text[at..]
            )
        }
        6 => format!("{text}.5"),
        7 => text.replace(' ', "\u{a0}"),
        _ => format!(" {text} "),
    }
}

fn corpus(size: usize) -> Vec<String> {
    let mut rng = Rng(20_261_203);
    let mut out = vec![
        "8-800-FLOWERS".to_string(),
        "".to_string(),
        "+".to_string(),
        "00".to_string(),
        "+7".to_string(),
        "7.9123456789E10".to_string(),
        "7.91234567891E10".to_string(),
    ];
    while out.len() < size {
        let text = match rng.below(10) {
            0..=4 => {
                let n = russian_national(&mut rng);
                spell_russian(&mut rng, &n)
            }
            5..=7 => {
                let (code, n) = foreign(&mut rng);
                spell_foreign(&mut rng, code, &n)
            }
            _ => {
                let len = 3 + rng.below(18);
                let d = rng.digits(len);
                if rng.below(3) == 0 {
                    format!("+{d}")
                } else {
                    d
                }
            }
        };
        let text = if rng.below(4) == 0 {
            damage(&mut rng, &text)
        } else {
            text
        };
        out.push(text);
    }
    out
}

#[test]
fn compiled_plans_answer_as_the_crate_did() {
    // Sorted, so that numbers of one country follow each other: the reference's regex
    // cache holds 100 patterns and would compile most of them again for each number of a
    // mixed list (which made this test take minutes).
    let mut inputs = corpus(50_000);
    inputs.sort();
    let mut differ = Vec::new();
    let mut accepted = 0;
    for region in ["RU", "PL", ""] {
        for raw in &inputs {
            let now = normalize_phone(raw, region);
            let before = reference(raw, region);
            accepted += usize::from(before.is_ok());
            if now != before {
                differ.push(format!("{raw:?} in {region:?}: {now:?}, before {before:?}"));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} answers differ, e.g.:\n{}",
        differ.len(),
        3 * inputs.len(),
        differ[..differ.len().min(30)].join("\n")
    );
    // The corpus is not all noise: most well-formed numbers are accepted.
    assert!(accepted > inputs.len(), "{accepted} accepted");
}
