//! The numbering plans of the `phonenumber` crate's metadata (libphonenumber's), with
//! their patterns compiled once, for the two questions every phone cell of an import asks:
//! how the crate parses a string of digits (with or without a leading `+`), and whether the
//! number it gets is valid.
//!
//! The crate answers both at ≈ 8 µs a number: each of its pattern matches locks a shared LRU
//! of 100 compiled regexes, hashes the pattern text to find its entry and recompiles the
//! pattern when a plan of another country pushed it out. These functions walk the same steps
//! as the crate's `parse`, `is_valid` and E.164 formatting (0.3.10), quirks included (a
//! national prefix may be stripped twice; patterns match a prefix of the number, not all of
//! it), so that they give the crate's answers; where the crate would panic or the metadata
//! is not as these steps expect, they answer [`Unsure`] and the caller asks the crate.
//! The differential test next to this module holds them to the crate.

use phonenumber::country;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

/// The crate would do something these steps do not follow; ask the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unsure;

pub(super) type Answer<T> = Result<T, Unsure>;

/// A parsed number: calling code and national significant number, leading zeros kept
/// (as the crate prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Number {
    pub code: u16,
    pub national: String,
}

impl Number {
    pub fn e164(&self) -> String {
        format!("+{}{}", self.code, self.national)
    }
}

/// Bounds of a national significant number in the crate (`consts`).
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;

/// Parses `digits` (ASCII digits only; `plus`: written after a `+`) as
/// `phonenumber::parse(region, …)` does. `Ok(None)`: the crate's parse fails.
pub(super) fn parse(region: Option<&str>, plus: bool, digits: &str) -> Answer<Option<Number>> {
    debug_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    // The crate's viability check: two digits, or three after a `+`.
    if digits.len() < if plus { 3 } else { 2 } {
        return Ok(None);
    }
    let home = match region {
        Some(id) => Some(plans().region(id).ok_or(Unsure)?),
        None => None,
    };
    let mut national = digits;
    let mut from_number = plus;
    if let Some(home) = home {
        // The default region's international prefix (RU `810`), unless a 0 follows it.
        if let Some(idd) = &home.compiled()?.idd
            && let Some(m) = idd.find(national)
            && !national[m.end()..].starts_with('0')
        {
            national = &national[m.end()..];
            from_number = true;
        }
    }
    let code = if from_number {
        if national.len() <= MIN_NSN || national.starts_with('0') {
            return Ok(None);
        }
        let found = (1..=3).find_map(|len| {
            let code: u16 = national[..len].parse().ok()?;
            plans().codes.contains_key(&code).then_some((code, len))
        });
        let Some((code, len)) = found else {
            return Ok(None);
        };
        national = &national[len..];
        code
    } else {
        let Some(home) = home else {
            return Ok(None);
        };
        let code = home.meta.country_code();
        let written = code.to_string();
        if national.starts_with(&written)
            && (!matches(&home.compiled()?.general, national)
                || !length(home.meta, national.len()).is_possible())
        {
            national = &national[written.len()..];
        }
        code
    };

    let meta = match home {
        Some(home) => Some(home),
        None => source_for(code, national.trim_start_matches('0'))?,
    };
    let mut national = Cow::Borrowed(national);
    if let Some(meta) = meta {
        let mut potential = national_number(meta, &national)?;
        if let Some(prefix) = meta.meta.national_prefix()
            && potential.starts_with(prefix)
        {
            potential = Cow::Owned(potential[prefix.len()..].to_string());
        }
        if length(meta.meta, potential.len()) != Length::TooShort {
            national = Cow::Owned(potential.into_owned());
        }
    }
    if !(MIN_NSN..=MAX_NSN).contains(&national.len()) {
        return Ok(None);
    }
    // The crate keeps the leading zeros as a count and the rest as a u64 below 2^56.
    let rest = national.trim_start_matches('0');
    match rest.parse::<u64>() {
        Ok(value) if value < 1 << 56 => Ok(Some(Number {
            code,
            national: national.into_owned(),
        })),
        _ => Ok(None),
    }
}

/// `phonenumber::is_valid`: the plan the number belongs to gives it a type.
pub(super) fn is_valid(number: &Number) -> Answer<bool> {
    match source_for(number.code, &number.national)? {
        Some(region) => known_type(region, &number.national),
        None => Ok(false),
    }
}

/// Whether `+{digits}` parses to a valid number whose E.164 form is exactly that, as
/// `phone::exact` asks the crate (with its work-around for the doubled national prefix).
pub(super) fn exact(digits: &str) -> Answer<bool> {
    let ok = |n: &Number| -> Answer<bool> {
        Ok(is_valid(n)?
            && digits
                .strip_prefix(n.code.to_string().as_str())
                .is_some_and(|rest| rest == n.national))
    };
    let Some(plain) = parse(None, true, digits)? else {
        return Ok(false);
    };
    if ok(&plain)? {
        return Ok(true);
    }
    let code = plain.code;
    let Some(national) = digits.strip_prefix(code.to_string().as_str()) else {
        return Ok(false);
    };
    let Some(prefix) = plans().codes.get(&code).and_then(|c| {
        c.regions
            .iter()
            .find_map(|region| region.meta.national_prefix())
    }) else {
        return Ok(false);
    };
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Unsure);
    }
    if !national.starts_with(prefix) {
        return Ok(false);
    }
    for k in 1..=2 {
        let again = format!("{code}{}{national}", prefix.repeat(k));
        if let Some(n) = parse(None, true, &again)?
            && ok(&n)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The crate's `validator::source_for`: which plan of a calling code a number belongs to.
fn source_for(code: u16, national: &str) -> Answer<Option<&'static Region>> {
    let Some(plan) = plans().codes.get(&code) else {
        return Ok(None);
    };
    match &plan.source {
        Source::Single(found) => Ok(found.map(|i| &plan.regions[i])),
        Source::Shared => {
            for region in &plan.regions {
                let compiled = region.compiled()?;
                let belongs = match &compiled.leading_digits {
                    Some(leading) => leading.is_match(national),
                    None => known_type(region, national)?,
                };
                if belongs {
                    return Ok(Some(region));
                }
            }
            Ok(None)
        }
        Source::Unsure => Err(Unsure),
    }
}

/// The crate's `number_type(…) != Unknown`: the general pattern and one of the types.
fn known_type(region: &Region, national: &str) -> Answer<bool> {
    let compiled = region.compiled()?;
    Ok(matches(&compiled.general, national) && compiled.types.iter().any(|t| matches(t, national)))
}

/// The crate's `helper::national_number`: the national prefix for parsing (and a carrier
/// code) taken off, or rewritten by the transform rule (AR, BR, MX…).
fn national_number<'a>(region: &Region, national: &'a str) -> Answer<Cow<'a, str>> {
    let compiled = region.compiled()?;
    let Some(parsing) = &compiled.national_prefix_for_parsing else {
        return Ok(match region.meta.national_prefix() {
            Some(prefix) if national.starts_with(prefix) => {
                Cow::Borrowed(&national[prefix.len()..])
            }
            _ => Cow::Borrowed(national),
        });
    };
    let Some(captures) = parsing.captures(national) else {
        return Ok(Cow::Borrowed(national));
    };
    let end = captures.get(0).map_or(0, |m| m.end());
    let last = captures.get(captures.len() - 1);
    let transform = region.meta.national_prefix_transform_rule();
    let (Some(transform), Some(_)) = (transform, last) else {
        // The crate's check that the rest still fits compares the number with itself.
        return Ok(Cow::Borrowed(&national[end..]));
    };
    let viable = matches(&compiled.general, national);
    let transformed = parsing.replace(national, transform);
    if viable && !matches(&compiled.general, &transformed) {
        return Ok(Cow::Borrowed(national));
    }
    if captures.get(1).is_none() {
        return Err(Unsure); // the crate unwraps the carrier group here
    }
    Ok(Cow::Owned(transformed.into_owned()))
}

/// The crate's `validator::length` with the general descriptor (`Type::Unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

impl Length {
    fn is_possible(self) -> bool {
        matches!(self, Length::Possible | Length::LocalOnly)
    }
}

fn length(meta: &Metadata, len: usize) -> Length {
    let general = meta.descriptors().general();
    let Ok(len) = u16::try_from(len) else {
        return Length::TooLong;
    };
    let possible = general.possible_length();
    let (Some(&min), Some(&max)) = (possible.first(), possible.last()) else {
        return Length::Invalid;
    };
    if general.possible_local_length().contains(&len) {
        Length::LocalOnly
    } else if len == min {
        Length::Possible
    } else if len < min {
        Length::TooShort
    } else if len > max {
        Length::TooLong
    } else if possible.contains(&len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// A descriptor's pattern, anchored at the start as the crate tests it (a match that
/// begins at the first digit), and its possible lengths.
struct Pattern {
    regex: Regex,
    lengths: &'static [u16],
}

fn matches(pattern: &Pattern, national: &str) -> bool {
    let fits = u16::try_from(national.len()).is_ok_and(|len| pattern.lengths.contains(&len));
    (pattern.lengths.is_empty() || fits) && pattern.regex.is_match(national)
}

/// A metadata pattern as the crate compiles it (whitespace ignored), anchored at the start.
/// The line breaks keep a `#` comment in the source from swallowing the closing bracket.
fn anchored(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:\n{source}\n)"))
        .ignore_whitespace(true)
        .build()
}

/// One region's patterns, compiled the first time a number needs them.
struct Compiled {
    general: Pattern,
    /// The types `number_type` tries, in its order.
    types: Vec<Pattern>,
    idd: Option<Regex>,
    national_prefix_for_parsing: Option<Regex>,
    leading_digits: Option<Regex>,
}

impl Compiled {
    fn new(meta: &'static Metadata) -> Result<Compiled, regex::Error> {
        let d = meta.descriptors();
        let pattern = |desc: &'static Descriptor| -> Result<Pattern, regex::Error> {
            Ok(Pattern {
                regex: anchored(desc.national_number().as_str())?,
                lengths: desc.possible_length(),
            })
        };
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ];
        Ok(Compiled {
            general: pattern(d.general())?,
            types: types
                .into_iter()
                .flatten()
                .map(pattern)
                .collect::<Result<_, _>>()?,
            idd: meta
                .international_prefix()
                .map(|r| anchored(r.as_str()))
                .transpose()?,
            national_prefix_for_parsing: meta
                .national_prefix_for_parsing()
                .map(|r| anchored(r.as_str()))
                .transpose()?,
            leading_digits: meta
                .leading_digits()
                .map(|r| anchored(r.as_str()))
                .transpose()?,
        })
    }
}

struct Region {
    meta: &'static Metadata,
    compiled: OnceLock<Option<Compiled>>,
}

impl Region {
    fn compiled(&self) -> Answer<&Compiled> {
        self.compiled
            .get_or_init(|| Compiled::new(self.meta).ok())
            .as_ref()
            .ok_or(Unsure)
    }
}

/// How `source_for` picks the plan of a calling code.
enum Source {
    /// One region (or a non-geographic entity): that plan, or none when the crate
    /// cannot read the region's name.
    Single(Option<usize>),
    /// Several regions (+1, +7…): the first whose leading digits or types fit.
    Shared,
    /// The region lists are not as `source_for` expects them.
    Unsure,
}

struct CodePlan {
    /// The regions of the code in the crate's order: main country first.
    regions: Vec<Region>,
    source: Source,
}

struct Plans {
    codes: HashMap<u16, CodePlan>,
    /// Region name → calling code and place in its list (`Database::by_id`).
    by_region: HashMap<&'static str, (u16, usize)>,
}

impl Plans {
    fn region(&self, id: &str) -> Option<&Region> {
        let (code, i) = self.by_region.get(id)?;
        self.codes.get(code)?.regions.get(*i)
    }
}

fn plans() -> &'static Plans {
    static PLANS: LazyLock<Plans> = LazyLock::new(build);
    &PLANS
}

fn build() -> Plans {
    let database = &*DATABASE;
    let mut codes = HashMap::new();
    // Calling codes have at most three digits; the non-geographic entities (+800, +881…)
    // share the name "001", so a walk over the regions by name would miss all but one.
    for code in 1..1000 {
        let Some(metas) = database.by_code(&code) else {
            continue;
        };
        let names = database.region(&code).unwrap_or_default();
        let place =
            |m: Option<&Metadata>| m.and_then(|m| metas.iter().position(|x| std::ptr::eq(*x, m)));
        let source = match names.as_slice() {
            [] => Source::Unsure,
            ["001"] => Source::Single(Some(0)),
            [name] => match name.parse::<country::Id>() {
                Ok(id) => match place(database.by_id(id.as_ref())) {
                    Some(i) => Source::Single(Some(i)),
                    None => Source::Unsure,
                },
                Err(_) => Source::Single(None),
            },
            names => {
                // `source_for` walks the names and answers with the parsed name's plan;
                // the steps above assume that is the plan at the same place.
                let in_step = names.iter().enumerate().all(|(i, name)| {
                    let by_name = place(database.by_id(*name));
                    let parsed = name.parse::<country::Id>().ok();
                    by_name == Some(i)
                        && parsed.is_some_and(|id| place(database.by_id(id.as_ref())) == Some(i))
                });
                if in_step {
                    Source::Shared
                } else {
                    Source::Unsure
                }
            }
        };
        let regions = metas
            .into_iter()
            .map(|meta| Region {
                meta,
                compiled: OnceLock::new(),
            })
            .collect();
        codes.insert(code, CodePlan { regions, source });
    }
    let mut by_region = HashMap::new();
    for meta in database.iter() {
        let code = meta.country_code();
        let place = codes
            .get(&code)
            .and_then(|plan| plan.regions.iter().position(|r| std::ptr::eq(r.meta, meta)));
        if let Some(i) = place
            && database
                .by_id(meta.id())
                .is_some_and(|m| std::ptr::eq(m, meta))
        {
            by_region.insert(meta.id(), (code, i));
        }
    }
    Plans { codes, by_region }
}
