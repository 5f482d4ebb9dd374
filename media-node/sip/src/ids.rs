//! Deterministic identifiers (branches, tags, Call-IDs, nonces, cnonces).
//! The node seeds this from the OS once; tests seed it with a constant so
//! every id, and so every byte sent, is reproducible.

use crate::headers::via::MAGIC_COOKIE;

/// SplitMix64: tiny, fast and good enough for unique-looking ids. The ids are
/// not secrets (digest nonces are protected by an HMAC, not by this).
#[derive(Debug, Clone)]
pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn new(seed: u64) -> Ids {
        Ids { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 16 lowercase hex digits.
    pub fn hex(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }

    /// A Via branch with the RFC 3261 magic cookie.
    pub fn branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.hex())
    }

    /// A From/To tag.
    pub fn tag(&mut self) -> String {
        self.hex()
    }

    /// A Call-ID, `<random>@<host>` when a host is given.
    pub fn call_id(&mut self, host: Option<&str>) -> String {
        let id = format!("{}{}", self.hex(), self.hex());
        match host {
            Some(h) => format!("{id}@{h}"),
            None => id,
        }
    }
}
