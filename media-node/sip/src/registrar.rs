//! Registrar (RFC 3261 §10.3) as pure logic: bindings per address of record,
//! expiring on the caller's clock. Authentication happens before, in the TU
//! (see [`crate::digest::DigestServer`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::headers::{Contact, HeaderName, NameAddr};
use crate::ids::Ids;
use crate::message::{Request, Response};
use crate::transaction::Peer;
use crate::uri::Uri;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter requested expiries get `423 Interval Too Brief`.
    pub min_expires: u32,
    /// Longer requested expiries are cut to this.
    pub max_expires: u32,
    /// Used when neither the contact nor the request says.
    pub default_expires: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
        }
    }
}

/// One contact registered for an address of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact as registered (URI and its header parameters).
    pub contact: NameAddr,
    pub expires_at: Instant,
    pub call_id: String,
    pub cseq: u32,
    /// q in thousandths; 1000 when not given.
    pub q: u16,
    /// Where the REGISTER came from (transport, address, connection): calls to
    /// this binding go back through the same flow, so they pass the NAT.
    pub source: Peer,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left, rounded up, for the Contact `expires` parameter.
    pub fn remaining(&self, now: Instant) -> u32 {
        let d = self.expires_at.saturating_duration_since(now);
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

/// The key an address of record is stored under: scheme, user and host
/// (lower-cased), without port or parameters.
pub fn aor_key(uri: &Uri) -> Option<String> {
    let u = uri.as_sip()?;
    Some(format!(
        "{}:{}@{}",
        if u.secure { "sips" } else { "sip" },
        u.user_unescaped().unwrap_or_default(),
        u.host.to_string().to_ascii_lowercase()
    ))
}

#[derive(Debug)]
pub struct Registrar {
    cfg: RegistrarConfig,
    ids: Ids,
    bindings: HashMap<String, Vec<Binding>>,
}

struct Update {
    contact: NameAddr,
    expires: u32,
}

impl Registrar {
    pub fn new(cfg: RegistrarConfig, seed: u64) -> Registrar {
        Registrar {
            cfg,
            ids: Ids::new(seed),
            bindings: HashMap::new(),
        }
    }

    fn reply(&mut self, req: &Request, status: u16) -> Response {
        let tag = self.ids.tag();
        Response::from_request(req, status, Some(&tag))
    }

    /// Processes an authenticated REGISTER from `source` and returns the
    /// response to send (200 with the current bindings, 400, 423 or 500).
    pub fn handle_register(&mut self, now: Instant, source: Peer, req: &Request) -> Response {
        let h = &req.headers;
        let Some(aor) = h.to_addr().ok().and_then(|t| aor_key(&t.uri)) else {
            return self
                .reply(req, 400)
                .with_reason("Bad Request (To is not a SIP URI)");
        };
        let (Ok(call_id), Ok(cseq), Ok(contacts), Ok(expires_hdr)) =
            (h.call_id(), h.cseq(), h.contacts(), h.expires())
        else {
            return self.reply(req, 400);
        };
        let default = expires_hdr.unwrap_or(self.cfg.default_expires);
        let star = contacts.contains(&Contact::Star);
        if star && (contacts.len() != 1 || expires_hdr != Some(0)) {
            return self
                .reply(req, 400)
                .with_reason("Bad Request ('*' needs Expires: 0 and no other contact)");
        }
        let existing = self.bindings.get(&aor).cloned().unwrap_or_default();
        // §10.3 step 6-7: the same Call-ID must move forward in CSeq.
        let out_of_order = |b: &Binding| b.call_id == call_id && cseq.seq <= b.cseq;
        let mut updates = Vec::new();
        if star {
            if existing.iter().any(out_of_order) {
                return self
                    .reply(req, 500)
                    .with_reason("Server Internal Error (CSeq out of order)");
            }
        } else {
            for c in &contacts {
                let Contact::Addr(addr) = c else { continue };
                let expires = c.expires().unwrap_or(default);
                if expires != 0 && expires < self.cfg.min_expires {
                    let mut r = self.reply(req, 423);
                    r.headers
                        .push(HeaderName::MinExpires, self.cfg.min_expires.to_string());
                    return r;
                }
                if existing
                    .iter()
                    .any(|b| b.contact.uri.equivalent(&addr.uri) && out_of_order(b))
                {
                    return self
                        .reply(req, 500)
                        .with_reason("Server Internal Error (CSeq out of order)");
                }
                updates.push(Update {
                    contact: addr.clone(),
                    expires: expires.min(self.cfg.max_expires),
                });
            }
        }
        let list = self.bindings.entry(aor.clone()).or_default();
        list.retain(|b| b.expires_at > now);
        if star {
            list.clear();
        }
        for u in updates {
            list.retain(|b| !b.contact.uri.equivalent(&u.contact.uri));
            if u.expires > 0 {
                let mut contact = u.contact;
                contact.params.remove("expires");
                list.push(Binding {
                    q: Contact::Addr(contact.clone()).q().unwrap_or(1000),
                    contact,
                    expires_at: now + Duration::from_secs(u64::from(u.expires)),
                    call_id: call_id.to_string(),
                    cseq: cseq.seq,
                    source,
                    user_agent: h.user_agent().map(str::to_string),
                });
            }
        }
        let current: Vec<String> = list
            .iter()
            .map(|b| {
                let mut c = b.contact.clone();
                c.params.set("expires", Some(&b.remaining(now).to_string()));
                c.to_string()
            })
            .collect();
        if list.is_empty() {
            self.bindings.remove(&aor);
        }
        let mut r = self.reply(req, 200);
        for c in current {
            r.headers.push(HeaderName::Contact, c);
        }
        r
    }

    /// Live bindings of an address of record, highest q first.
    pub fn lookup(&self, now: Instant, aor: &Uri) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = aor_key(aor)
            .and_then(|k| self.bindings.get(&k))
            .map(|l| l.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.q));
        v
    }

    /// Drops expired bindings; returns how many.
    pub fn purge(&mut self, now: Instant) -> usize {
        let mut n = 0;
        self.bindings.retain(|_, l| {
            let before = l.len();
            l.retain(|b| b.expires_at > now);
            n += before - l.len();
            !l.is_empty()
        });
        n
    }

    /// When the next binding expires (for a purge timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }
}
