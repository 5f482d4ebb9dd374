//! Recognising text: binary or not, encoding, separator.

use encoding_rs::Encoding;

use crate::TabularError;

/// A ZIP local file header: XLSX (and any other OOXML/ODF file).
pub(crate) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An OLE2 compound file: XLS (and DOC, MSG …).
pub(crate) const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Separators tried, in order of preference on a tie.
pub(crate) const SEPARATORS: [u8; 4] = [b';', b',', b'\t', b'|'];

/// How many records the separator sniffing looks at.
const SNIFF_RECORDS: usize = 20;

#[derive(Debug)]
pub(crate) struct Sniffed {
    pub encoding: &'static Encoding,
    pub separator: u8,
}

/// Looks at the first bytes of a text file: binary or not, encoding, separator.
/// `truncated` tells that the file goes on after `prefix`.
pub(crate) fn sniff_text(
    prefix: &[u8],
    truncated: bool,
    hint: Option<&str>,
) -> Result<Sniffed, TabularError> {
    let (encoding, body) = match Encoding::for_bom(prefix) {
        Some((encoding, bom_len)) => (encoding, &prefix[bom_len..]),
        None => {
            if looks_binary(prefix) {
                return Err(TabularError::Binary);
            }
            (guess_encoding(prefix, truncated, hint), prefix)
        }
    };
    let (decoded, _) = encoding.decode_without_bom_handling(body);
    // UTF-16 files pass the byte test thanks to their BOM; check the characters too.
    if decoded.contains('\0')
        || control_ratio(
            decoded
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(0x80)),
            decoded.chars().count(),
        )
    {
        return Err(TabularError::Binary);
    }
    let mut text: &str = &decoded;
    if truncated {
        // The last line is cut off; look at whole lines only (unless there is just one).
        if let Some(end) = text.rfind('\n') {
            text = &text[..end];
        }
    }
    if text.trim().is_empty() {
        return Err(TabularError::Empty);
    }
    if looks_like_markup(text) {
        return Err(TabularError::Markup);
    }
    Ok(Sniffed {
        encoding,
        separator: sniff_separator(text),
    })
}

/// The encoding for a name the person chose (any WHATWG label).
pub(crate) fn encoding_for(name: &str) -> Result<&'static Encoding, TabularError> {
    Encoding::for_label(name.trim().as_bytes()).ok_or_else(|| TabularError::UnknownEncoding {
        name: name.to_owned(),
    })
}

/// UTF-8 when the bytes are valid UTF-8 (a character cut at the end of the prefix is fine), else
/// chardetng's guess steered by the tenant's country.
fn guess_encoding(prefix: &[u8], truncated: bool, hint: Option<&str>) -> &'static Encoding {
    match std::str::from_utf8(prefix) {
        Ok(_) => return encoding_rs::UTF_8,
        // An incomplete sequence at the very end of a cut-off prefix.
        Err(e) if e.error_len().is_none() && truncated => return encoding_rs::UTF_8,
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(prefix, !truncated);
    let tld = hint.and_then(tld_for_hint);
    let guess = detector.guess(
        tld.as_deref().map(str::as_bytes),
        chardetng::Utf8Detection::Deny,
    );
    // chardetng answers KOI8-U for all KOI8 text. KOI8-R differs only in eight bytes (box drawing
    // in KOI8-R, Ukrainian letters in KOI8-U); without them the two decode the same, and people
    // know the file as KOI8-R.
    if guess == encoding_rs::KOI8_U && !prefix.iter().any(|b| KOI8_U_ONLY.contains(b)) {
        return encoding_rs::KOI8_R;
    }
    guess
}

/// The bytes KOI8-U decodes differently from KOI8-R (і ї є ґ and their capitals).
const KOI8_U_ONLY: [u8; 8] = [0xA4, 0xA6, 0xA7, 0xAD, 0xB4, 0xB6, 0xB7, 0xBD];

/// A top-level domain for chardetng from a tenant's language or locale: "ru", "ru-RU", "pl_PL",
/// "uk" (Ukrainian → "ua"), "cs" (Czech → "cz") … `None` when it is not two or three letters.
fn tld_for_hint(hint: &str) -> Option<String> {
    let lower = hint.trim().to_ascii_lowercase();
    let mut parts = lower.split(['-', '_', '.']).filter(|p| !p.is_empty());
    let language = parts.next()?;
    // A region, when given, is the country.
    let code = match parts.next() {
        Some(region) if region.len() == 2 => region.to_owned(),
        _ => match language {
            "uk" => "ua".to_owned(),
            "be" => "by".to_owned(),
            "kk" => "kz".to_owned(),
            "cs" => "cz".to_owned(),
            "sr" => "rs".to_owned(),
            "el" => "gr".to_owned(),
            "he" => "il".to_owned(),
            "et" => "ee".to_owned(),
            "sl" => "si".to_owned(),
            "da" => "dk".to_owned(),
            "sv" => "se".to_owned(),
            "ja" => "jp".to_owned(),
            "ko" => "kr".to_owned(),
            "zh" => "cn".to_owned(),
            "en" => "com".to_owned(),
            other => other.to_owned(),
        },
    };
    let ok = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
    ok.then_some(code)
}

/// NUL bytes, or more than 5 % control characters (other than tab, line breaks, form feed and
/// escape): a binary file. Bytes ≥ 0x80 are fine — they are letters in legacy encodings.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || control_ratio(bytes.iter().copied(), bytes.len())
}

fn control_ratio(bytes: impl Iterator<Item = u8>, len: usize) -> bool {
    let controls = bytes
        .filter(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)) || b == 0x7F)
        .count();
    controls * 20 > len.max(1)
}

/// An HTML page or XML document (reports saved "as Excel" by web apps and 1C).
fn looks_like_markup(text: &str) -> bool {
    let start = text.trim_start();
    if !start.starts_with('<') {
        return false;
    }
    let head: String = start
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    ["<!doctype", "<html", "<?xml", "<table", "<head", "<body"]
        .iter()
        .any(|tag| head.contains(tag))
}

/// The separator giving the most consistent column count (more than one column) over the first
/// records, quotes respected; on a tie the earlier of `;`, `,`, tab, `|`; `;` when none splits.
pub(crate) fn sniff_separator(text: &str) -> u8 {
    let mut best: Option<(f64, u8)> = None;
    for sep in SEPARATORS {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(sep)
            .from_reader(text.as_bytes());
        let counts: Vec<usize> = reader
            .byte_records()
            .take(SNIFF_RECORDS)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .collect();
        if counts.is_empty() {
            continue;
        }
        // The most frequent column count (the larger one on a tie).
        let mut modal = (0usize, 0usize); // (frequency, count)
        for &c in &counts {
            let freq = counts.iter().filter(|&&x| x == c).count();
            if (freq, c) > modal {
                modal = (freq, c);
            }
        }
        if modal.1 < 2 {
            continue;
        }
        #[allow(clippy::cast_precision_loss)]
        let consistency = modal.0 as f64 / counts.len() as f64;
        if best.is_none_or(|(score, _)| consistency > score) {
            best = Some((consistency, sep));
        }
    }
    best.map_or(b';', |(_, sep)| sep)
}

/// A header cell that is obviously a value: an e-mail or a phone number.
pub(crate) fn looks_like_data(cell: &str) -> bool {
    let cell = cell.trim();
    if let Some((local, domain)) = cell.split_once('@')
        && !local.is_empty()
        && domain.contains('.')
        && !cell.contains(char::is_whitespace)
    {
        return true;
    }
    let digits = cell.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(sniff_separator("a;b;c\n1;2;3\n"), b';');
        assert_eq!(sniff_separator("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_separator("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_separator("a|b\n1|2\n"), b'|');
        // Commas inside cells of a `;` file.
        assert_eq!(
            sniff_separator(
                "Имя;Адрес;Телефон\nИван;Москва, Тверская 1;+7 912, 8 913\nОля;Омск;1\n"
            ),
            b';'
        );
        // Separators inside quotes do not count.
        assert_eq!(sniff_separator("name,note\n\"a;b;c\",x\n\"d;e\",y\n"), b',');
        // A tie goes to `;`.
        assert_eq!(sniff_separator("a;b,c\n1;2,3\n"), b';');
        // One column.
        assert_eq!(sniff_separator("Телефон\n79123456789\n"), b';');
    }

    #[test]
    fn tld_hints() {
        assert_eq!(tld_for_hint("ru").as_deref(), Some("ru"));
        assert_eq!(tld_for_hint("ru-RU").as_deref(), Some("ru"));
        assert_eq!(tld_for_hint("pl_PL").as_deref(), Some("pl"));
        assert_eq!(tld_for_hint("uk").as_deref(), Some("ua"));
        assert_eq!(tld_for_hint("Ру"), None);
        assert_eq!(tld_for_hint(""), None);
    }

    #[test]
    fn binary_and_markup() {
        assert!(looks_binary(b"PK\x01\x02\x00\x00"));
        assert!(!looks_binary("Имя;Телефон\r\n".as_bytes()));
        assert!(looks_like_markup("  <!DOCTYPE html><html><table>"));
        assert!(!looks_like_markup("<Компания>;Телефон"));
    }
}
