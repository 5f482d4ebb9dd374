//! Digest authentication for SIP (RFC 3261 §22, RFC 2617/7616, SHA-256 per RFC 8760).
//!
//! Server side: stateless nonces (`<time>.<random>.<HMAC>`), so any node that
//! shares the secret checks freshness without storing nonces; passwords are
//! never needed, only HA1 = H(user:realm:password) per algorithm.
//!
//! Replays: each server keeps the highest nonce-count it accepted per nonce
//! until the nonce expires (RFC 7616 §3.4, RFC 2617 §3.2.2), so a captured
//! request sent again is refused. That record lives in one `DigestServer`:
//! servers sharing the secret (several media nodes) each accept a nonce's
//! count once, so a request replayed to *another* node is caught only by the
//! nonce's lifetime. The record is bounded; when full, the oldest nonces are
//! forgotten and then count as stale, never as unused.
//! Client side: the answer to a 401/407 challenge.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

use crate::headers::{Challenge, Credentials};
use crate::ids::Ids;
use crate::message::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// `algorithm` parameter; absent means MD5 (RFC 2617).
    pub fn from_param(p: Option<&str>) -> Option<Algorithm> {
        match p {
            None => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// Lowercase hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// HA1 = H(username:realm:password): what a user store keeps instead of the password.
pub fn ha1(alg: Algorithm, user: &str, realm: &str, password: &str) -> String {
    alg.hash(&format!("{user}:{realm}:{password}"))
}

/// The `response` value of RFC 2617 §3.2.2.1 (qop=auth or none).
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => alg.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => alg.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("not a Digest challenge")]
    NotDigest,
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    #[error("challenge offers only unsupported qop values")]
    UnsupportedQop,
}

/// Client: credentials answering `challenge` for a request `method` to `uri`.
/// `cnonce` should come from [`Ids`]; `nc` counts uses of this nonce (from 1).
pub fn answer(
    challenge: &Challenge,
    method: &Method,
    uri: &str,
    user: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<Credentials, AuthError> {
    if !challenge.is_digest() {
        return Err(AuthError::NotDigest);
    }
    let alg =
        Algorithm::from_param(challenge.get("algorithm")).ok_or(AuthError::UnsupportedAlgorithm)?;
    let realm = challenge.get("realm").ok_or(AuthError::Missing("realm"))?;
    let nonce = challenge.get("nonce").ok_or(AuthError::Missing("nonce"))?;
    let qop = match challenge.get("qop") {
        None => None,
        Some(q) if q.split(',').any(|v| v.trim().eq_ignore_ascii_case("auth")) => Some(()),
        Some(_) => return Err(AuthError::UnsupportedQop),
    };
    let nc = format!("{nc:08x}");
    let h1 = ha1(alg, user, realm, password);
    let resp = response(
        alg,
        &h1,
        nonce,
        method.as_str(),
        uri,
        qop.map(|_| (nc.as_str(), cnonce)),
    );
    let mut c = Credentials::new("Digest");
    c.push("username", user, true);
    c.push("realm", realm, true);
    c.push("nonce", nonce, true);
    c.push("uri", uri, true);
    c.push("response", &resp, true);
    c.push("algorithm", alg.name(), false);
    if qop.is_some() {
        c.push("cnonce", cnonce, true);
        c.push("qop", "auth", false);
        c.push("nc", &nc, false);
    }
    if let Some(o) = challenge.get("opaque") {
        c.push("opaque", o, true);
    }
    Ok(c)
}

/// Outcome of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated as this user.
    Ok { user: String },
    /// Right password, expired nonce: challenge again with `stale=true`.
    Stale,
    /// Right password, but this nonce-count (or a nonce without qop) was
    /// already accepted: a replay, or a client that resent. Challenge again
    /// with `stale=true`: an honest client retries with the fresh nonce
    /// without asking its user, a replayer cannot answer it.
    Replayed,
    /// Answer 401/407 again (or 403 after repeated failures).
    Rejected(&'static str),
}

/// How many nonces a server remembers the count of, by default: at 500
/// fresh challenges a second (the set-up benchmark) nonces live 300 s, so a
/// full record forgets ones about 200 s old, which then get a new challenge.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Server side of digest: challenges and verification for one realm.
#[derive(Clone)]
pub struct DigestServer {
    realm: String,
    secret: Vec<u8>,
    nonce_ttl_secs: u64,
    seen: NonceCounts,
}

impl std::fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .field("nonces_remembered", &self.seen.len())
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl DigestServer {
    /// `secret` is shared by every node of the realm; nonces older than
    /// `nonce_ttl_secs` are stale.
    pub fn new(realm: &str, secret: &[u8], nonce_ttl_secs: u64) -> DigestServer {
        DigestServer {
            realm: realm.to_string(),
            secret: secret.to_vec(),
            nonce_ttl_secs,
            seen: NonceCounts::new(DEFAULT_REPLAY_CAPACITY),
        }
    }

    /// Remembers the counts of at most `capacity` nonces (at least one).
    pub fn with_replay_capacity(mut self, capacity: usize) -> DigestServer {
        self.seen = NonceCounts::new(capacity.max(1));
        self
    }

    /// How many nonces' counts are remembered now.
    pub fn nonces_remembered(&self) -> usize {
        self.seen.len()
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn mac(&self, data: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m = match HmacSha256::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        m.update(self.realm.as_bytes());
        m.update(b"\0");
        m.update(data.as_bytes());
        hex(&m.finalize().into_bytes()[..16])
    }

    fn nonce(&self, now_secs: u64, ids: &mut Ids) -> String {
        let head = format!("{now_secs:x}.{}", ids.hex());
        let mac = self.mac(&head);
        format!("{head}.{mac}")
    }

    /// `Some((issued_at, mac))` when the nonce is one of ours; its MAC names
    /// it in the replay record.
    fn nonce_time(&self, nonce: &str) -> Option<(u64, u128)> {
        let (head, mac) = nonce.rsplit_once('.')?;
        let expected = self.mac(head);
        if !ct_eq(mac.as_bytes(), expected.as_bytes()) {
            return None;
        }
        let issued = u64::from_str_radix(head.split('.').next()?, 16).ok()?;
        Some((issued, u128::from_str_radix(mac, 16).ok()?))
    }

    /// Why [`DigestServer::verify`] would refuse `creds` whatever the stored
    /// HA1 — not Digest, another realm, missing fields, a nonce not issued
    /// with this secret — or `None`. Lets a caller skip looking up the
    /// user for requests that cannot pass.
    pub fn refusal_before_lookup(&self, creds: &Credentials) -> Option<&'static str> {
        self.parse(creds).err()
    }

    fn parse<'c>(&self, creds: &'c Credentials) -> Result<Parsed<'c>, &'static str> {
        if !creds.is_digest() {
            return Err("not Digest credentials");
        }
        if creds.get("realm") != Some(self.realm.as_str()) {
            return Err("wrong realm");
        }
        let (Some(user), Some(nonce), Some(uri), Some(given)) = (
            creds.get("username"),
            creds.get("nonce"),
            creds.get("uri"),
            creds.get("response"),
        ) else {
            return Err("incomplete credentials");
        };
        let Some(alg) = Algorithm::from_param(creds.get("algorithm")) else {
            return Err("unsupported algorithm");
        };
        let Some((issued, id)) = self.nonce_time(nonce) else {
            return Err("nonce not issued here");
        };
        let qop = match creds.get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let (Some(nc), Some(cnonce)) = (creds.get("nc"), creds.get("cnonce")) else {
                    return Err("qop without nc/cnonce");
                };
                // RFC 7616 §3.4: nc-value = 8LHEX (fewer digits let through,
                // as before the count was checked).
                if nc.is_empty() || nc.len() > 8 || u32::from_str_radix(nc, 16).is_err() {
                    return Err("malformed nc");
                }
                Some((nc, cnonce))
            }
            Some(_) => return Err("unsupported qop"),
        };
        Ok(Parsed {
            user,
            nonce,
            uri,
            given,
            alg,
            issued,
            id,
            qop,
        })
    }

    /// A challenge for WWW-Authenticate / Proxy-Authenticate. `now_secs` is
    /// wall-clock seconds (shared by all nodes checking the nonce).
    pub fn challenge(
        &self,
        now_secs: u64,
        alg: Algorithm,
        stale: bool,
        ids: &mut Ids,
    ) -> Challenge {
        let mut c = Challenge::new("Digest");
        c.push("realm", &self.realm, true);
        c.push("nonce", &self.nonce(now_secs, ids), true);
        c.push("opaque", &self.mac("opaque"), true);
        c.push("algorithm", alg.name(), false);
        c.push("qop", "auth", true);
        if stale {
            c.push("stale", "true", false);
        }
        c
    }

    /// Checks `creds` sent with a request of `method` at `now_secs`.
    /// `lookup_ha1(user, alg)` returns the stored HA1 for this realm and
    /// algorithm. An accepted request's nonce-count is remembered, so the
    /// same count on the same nonce is [`Verdict::Replayed`] afterwards.
    pub fn verify(
        &mut self,
        now_secs: u64,
        method: &Method,
        creds: &Credentials,
        lookup_ha1: impl FnOnce(&str, Algorithm) -> Option<String>,
    ) -> Verdict {
        let p = match self.parse(creds) {
            Ok(p) => p,
            Err(why) => return Verdict::Rejected(why),
        };
        let Some(h1) = lookup_ha1(p.user, p.alg) else {
            return Verdict::Rejected("unknown user");
        };
        let expected = response(p.alg, &h1, p.nonce, method.as_str(), p.uri, p.qop);
        if !ct_eq(expected.as_bytes(), p.given.to_ascii_lowercase().as_bytes()) {
            return Verdict::Rejected("wrong response");
        }
        if now_secs.saturating_sub(p.issued) > self.nonce_ttl_secs || p.issued > now_secs + 60 {
            return Verdict::Stale;
        }
        // Only a right response counts: a guess must not use up a count.
        let count = match p.qop {
            Some((nc, _)) => Count::Nc(u32::from_str_radix(nc, 16).unwrap_or(0)),
            None => Count::NoQop,
        };
        let expires = p.issued.saturating_add(self.nonce_ttl_secs);
        if !self.seen.admit(now_secs, p.id, expires, count) {
            return Verdict::Replayed;
        }
        Verdict::Ok {
            user: p.user.to_string(),
        }
    }
}

/// Credentials whose form and nonce check out, before the HA1 is looked up.
struct Parsed<'c> {
    user: &'c str,
    nonce: &'c str,
    uri: &'c str,
    given: &'c str,
    alg: Algorithm,
    issued: u64,
    id: u128,
    qop: Option<(&'c str, &'c str)>,
}

/// What a request says of its place among the uses of its nonce.
#[derive(Debug, Clone, Copy)]
enum Count {
    /// qop=auth with this nc: each use must count higher than the last.
    Nc(u32),
    /// No qop (RFC 2069 style): nothing tells uses apart, so a nonce is good once.
    NoQop,
}

/// The highest nonce-count accepted per nonce (named by its MAC), until the
/// nonce expires; at most `capacity` nonces. Time is an input (`now_secs`).
#[derive(Debug, Clone)]
struct NonceCounts {
    /// nonce → (expiry, highest nc; `u64::MAX` once used without qop).
    counts: HashMap<u128, (u64, u64)>,
    /// The same nonces by expiry, so expired and oldest ones go first.
    by_expiry: BTreeSet<(u64, u128)>,
    capacity: usize,
    /// Nonces expiring at or before this were forgotten to keep the bound:
    /// one of them not in `counts` may have been used, so it is refused.
    forgotten_until: Option<u64>,
}

impl NonceCounts {
    fn new(capacity: usize) -> NonceCounts {
        NonceCounts {
            counts: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity,
            forgotten_until: None,
        }
    }

    fn len(&self) -> usize {
        self.counts.len()
    }

    /// Records a use of nonce `id`; false when it is not above the last one.
    fn admit(&mut self, now_secs: u64, id: u128, expires: u64, count: Count) -> bool {
        self.drop_expired(now_secs);
        let n = match count {
            Count::Nc(nc) => u64::from(nc),
            Count::NoQop => u64::MAX,
        };
        if let Some((_, last)) = self.counts.get_mut(&id) {
            if matches!(count, Count::NoQop) || n <= *last {
                return false;
            }
            *last = n;
            return true;
        }
        if self.forgotten_until.is_some_and(|f| expires <= f) {
            return false;
        }
        self.counts.insert(id, (expires, n));
        self.by_expiry.insert((expires, id));
        while self.counts.len() > self.capacity {
            let Some((oldest, gone)) = self.by_expiry.pop_first() else {
                break;
            };
            self.counts.remove(&gone);
            self.forgotten_until = Some(self.forgotten_until.map_or(oldest, |f| f.max(oldest)));
        }
        true
    }

    fn drop_expired(&mut self, now_secs: u64) {
        while let Some(&(expires, id)) = self.by_expiry.first() {
            if expires >= now_secs {
                break;
            }
            self.by_expiry.pop_first();
            self.counts.remove(&id);
        }
    }
}

/// Comparison whose time does not depend on where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
