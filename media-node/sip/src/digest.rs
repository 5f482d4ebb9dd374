//! Digest authentication for SIP (RFC 3261 §22, RFC 2617/7616, SHA-256 per RFC 8760).
//!
//! Server side: stateless nonces (`<time>.<random>.<HMAC>`), so any node that
//! shares the secret checks freshness without storing nonces; passwords are
//! never needed, only HA1 = H(user:realm:password) per algorithm.
//! Client side: the answer to a 401/407 challenge.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

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
    /// Answer 401/407 again (or 403 after repeated failures).
    Rejected(&'static str),
}

/// Server side of digest: challenges and verification for one realm.
#[derive(Clone)]
pub struct DigestServer {
    realm: String,
    secret: Vec<u8>,
    nonce_ttl_secs: u64,
}

impl std::fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
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
        }
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

    /// `Some(issued_at)` when the nonce is one of ours.
    fn nonce_time(&self, nonce: &str) -> Option<u64> {
        let (head, mac) = nonce.rsplit_once('.')?;
        let expected = self.mac(head);
        if !ct_eq(mac.as_bytes(), expected.as_bytes()) {
            return None;
        }
        u64::from_str_radix(head.split('.').next()?, 16).ok()
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

    /// Checks `creds` sent with a request of `method`. `lookup_ha1(user, alg)`
    /// returns the stored HA1 for this realm and algorithm.
    pub fn verify(
        &self,
        now_secs: u64,
        method: &Method,
        creds: &Credentials,
        lookup_ha1: impl FnOnce(&str, Algorithm) -> Option<String>,
    ) -> Verdict {
        if !creds.is_digest() {
            return Verdict::Rejected("not Digest credentials");
        }
        if creds.get("realm") != Some(self.realm.as_str()) {
            return Verdict::Rejected("wrong realm");
        }
        let (Some(user), Some(nonce), Some(uri), Some(given)) = (
            creds.get("username"),
            creds.get("nonce"),
            creds.get("uri"),
            creds.get("response"),
        ) else {
            return Verdict::Rejected("incomplete credentials");
        };
        let Some(alg) = Algorithm::from_param(creds.get("algorithm")) else {
            return Verdict::Rejected("unsupported algorithm");
        };
        let Some(issued) = self.nonce_time(nonce) else {
            return Verdict::Rejected("nonce not issued here");
        };
        let qop = match creds.get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let (Some(nc), Some(cnonce)) = (creds.get("nc"), creds.get("cnonce")) else {
                    return Verdict::Rejected("qop without nc/cnonce");
                };
                Some((nc, cnonce))
            }
            Some(_) => return Verdict::Rejected("unsupported qop"),
        };
        let Some(h1) = lookup_ha1(user, alg) else {
            return Verdict::Rejected("unknown user");
        };
        let expected = response(alg, &h1, nonce, method.as_str(), uri, qop);
        if !ct_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes()) {
            return Verdict::Rejected("wrong response");
        }
        if now_secs.saturating_sub(issued) > self.nonce_ttl_secs || issued > now_secs + 60 {
            return Verdict::Stale;
        }
        Verdict::Ok {
            user: user.to_string(),
        }
    }
}

/// Comparison whose time does not depend on where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
