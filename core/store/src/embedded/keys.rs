//! Byte keys of the redb tables. Components are joined with NUL, which keys
//! never contain and which sorts before every other byte, so byte order of the
//! joined key equals the order of (first, second, …) component-wise.

pub const SEP: u8 = 0;
/// Exclusive upper bound just past every key whose component equals a given
/// value: the value followed by 0x01 sorts after "value" and after "value\0…"
/// but before any longer value (keys have no bytes below 0x01 other than SEP).
pub const PAST: u8 = 1;

pub fn join(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(p.as_bytes());
    }
    out
}

pub fn split(key: &[u8]) -> Vec<String> {
    key.split(|b| *b == SEP)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// `prefix` followed by the separator: the start of every key under it.
pub fn under(prefix: &[&str]) -> Vec<u8> {
    let mut k = join(prefix);
    k.push(SEP);
    k
}
