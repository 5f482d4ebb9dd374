//! Outbound registration of a trunk (RFC 3261 §10.2) as a state machine:
//! it produces REGISTER requests for the TU to send through the
//! [`crate::Endpoint`] and consumes their responses and timeouts.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::digest;
use crate::headers::{CSeq, Challenge, Contact, HeaderName, NameAddr, Via};
use crate::ids::Ids;
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// Request-URI of the REGISTER (the registrar's domain).
    pub registrar: Uri,
    /// Address of record (To and From).
    pub aor: Uri,
    /// Where the trunk should send calls to us.
    pub contact: NameAddr,
    /// Via template (transport and sent-by); the endpoint adds the branch.
    pub via: Via,
    pub username: String,
    pub password: String,
    /// Requested registration lifetime, seconds.
    pub expires: u32,
    /// First retry delay after a failure; doubles up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub user_agent: Option<String>,
}

/// What the UI shows for a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegState {
    Unregistered,
    Registering,
    Registered {
        expires_at: Instant,
    },
    Failed {
        status: u16,
        reason: String,
    },
    /// No response at all (transaction timeout); retried with backoff.
    Timeout,
}

#[derive(Debug)]
pub struct Registration {
    cfg: RegistrationConfig,
    ids: Ids,
    call_id: String,
    from_tag: String,
    cseq: u32,
    state: RegState,
    /// Requested lifetime; raised by 423 Min-Expires.
    expires: u32,
    /// CSeq of the REGISTER awaiting an answer.
    pending: Option<u32>,
    /// Whether the pending REGISTER removes the binding.
    removing: bool,
    /// Last challenge, reused with a growing nonce count on refreshes.
    challenge: Option<(Challenge, bool)>,
    nc: u32,
    /// Nonce the pending REGISTER answered, to answer each nonce only once.
    answered_nonce: Option<String>,
    failures: u32,
    next_at: Option<Instant>,
    outbox: VecDeque<Request>,
    changes: VecDeque<RegState>,
}

impl Registration {
    pub fn new(cfg: RegistrationConfig, seed: u64) -> Registration {
        let mut ids = Ids::new(seed);
        let host = cfg.via.host.to_string();
        Registration {
            call_id: ids.call_id(Some(&host)),
            from_tag: ids.tag(),
            expires: cfg.expires,
            cfg,
            ids,
            cseq: 0,
            state: RegState::Unregistered,
            pending: None,
            removing: false,
            challenge: None,
            nc: 0,
            answered_nonce: None,
            failures: 0,
            next_at: None,
            outbox: VecDeque::new(),
            changes: VecDeque::new(),
        }
    }

    pub fn state(&self) -> &RegState {
        &self.state
    }

    fn set_state(&mut self, s: RegState) {
        if s != self.state {
            self.state = s.clone();
            self.changes.push_back(s);
        }
    }

    /// Registers now.
    pub fn start(&mut self, _now: Instant) {
        self.removing = false;
        self.send();
    }

    /// Removes the registration (Expires: 0) and stops refreshing.
    pub fn stop(&mut self, _now: Instant) {
        self.removing = true;
        self.next_at = None;
        self.send();
    }

    fn send(&mut self) {
        self.cseq += 1;
        self.pending = Some(self.cseq);
        self.next_at = None;
        let mut req = Request::new(Method::Register, self.cfg.registrar.clone());
        req.headers.push(HeaderName::Via, self.cfg.via.to_string());
        req.headers.push(HeaderName::MaxForwards, "70");
        req.headers.push(
            HeaderName::From,
            NameAddr::new(self.cfg.aor.clone())
                .with_tag(&self.from_tag)
                .to_string(),
        );
        req.headers.push(
            HeaderName::To,
            NameAddr::new(self.cfg.aor.clone()).to_string(),
        );
        req.headers.push(HeaderName::CallId, self.call_id.clone());
        req.headers.push(
            HeaderName::CSeq,
            CSeq::new(self.cseq, Method::Register).to_string(),
        );
        req.headers
            .push(HeaderName::Contact, self.cfg.contact.to_string());
        let expires = if self.removing { 0 } else { self.expires };
        req.headers.push(HeaderName::Expires, expires.to_string());
        if let Some(ua) = &self.cfg.user_agent {
            req.headers.push(HeaderName::UserAgent, ua.clone());
        }
        self.answered_nonce = None;
        if let Some((ch, proxy)) = self.challenge.clone() {
            self.nc += 1;
            let cnonce = self.ids.hex();
            let uri = self.cfg.registrar.to_string();
            if let Ok(c) = digest::answer(
                &ch,
                &Method::Register,
                &uri,
                &self.cfg.username,
                &self.cfg.password,
                &cnonce,
                self.nc,
            ) {
                let name = if proxy {
                    HeaderName::ProxyAuthorization
                } else {
                    HeaderName::Authorization
                };
                req.headers.push(name, c.to_string());
                self.answered_nonce = ch.get("nonce").map(str::to_string);
            }
        }
        if !matches!(self.state, RegState::Registered { .. }) {
            self.set_state(RegState::Registering);
        }
        self.outbox.push_back(req);
    }

    fn retry_later(&mut self, now: Instant, state: RegState) {
        self.pending = None;
        let shift = self.failures.min(16);
        self.failures += 1;
        let delay = self
            .cfg
            .retry_min
            .saturating_mul(1 << shift)
            .min(self.cfg.retry_max);
        self.next_at = Some(now + delay);
        self.set_state(state);
    }

    /// A response to a REGISTER this machine produced.
    pub fn handle_response(&mut self, now: Instant, resp: &Response) {
        let Ok(cseq) = resp.headers.cseq() else {
            return;
        };
        if Some(cseq.seq) != self.pending || resp.status < 200 {
            return;
        }
        match resp.status {
            200..=299 => {
                self.pending = None;
                self.failures = 0;
                if self.removing {
                    self.set_state(RegState::Unregistered);
                    return;
                }
                let granted = self.granted(resp);
                if granted == 0 {
                    self.retry_later(
                        now,
                        RegState::Failed {
                            status: resp.status,
                            reason: "registrar kept no binding".into(),
                        },
                    );
                    return;
                }
                let lifetime = Duration::from_secs(u64::from(granted));
                // Refresh well before expiry: halfway for short lifetimes,
                // 30 s early for long ones.
                let refresh = (lifetime / 2).max(lifetime.saturating_sub(Duration::from_secs(30)));
                self.next_at = Some(now + refresh);
                self.set_state(RegState::Registered {
                    expires_at: now + lifetime,
                });
            }
            401 | 407 => {
                let proxy = resp.status == 407;
                let ch = resp
                    .headers
                    .challenges(proxy)
                    .ok()
                    .and_then(|v| v.into_iter().find(|c| c.is_digest()));
                let Some(ch) = ch else {
                    return self.fail(now, resp, "no digest challenge");
                };
                let stale = ch
                    .get("stale")
                    .is_some_and(|s| s.eq_ignore_ascii_case("true"));
                let nonce = ch.get("nonce").map(str::to_string);
                if nonce == self.answered_nonce && !stale {
                    return self.fail(now, resp, "credentials rejected");
                }
                if digest::Algorithm::from_param(ch.get("algorithm")).is_none() {
                    return self.fail(now, resp, "unsupported digest algorithm");
                }
                self.challenge = Some((ch, proxy));
                self.nc = 0;
                self.send();
            }
            423 => match resp.headers.min_expires() {
                Ok(Some(min)) if min > self.expires => {
                    self.expires = min;
                    self.send();
                }
                _ => self.fail(now, resp, "interval too brief"),
            },
            _ => self.fail(now, resp, ""),
        }
    }

    fn fail(&mut self, now: Instant, resp: &Response, why: &str) {
        let reason = if why.is_empty() {
            resp.reason.clone()
        } else {
            format!("{} ({why})", resp.reason)
        };
        self.retry_later(
            now,
            RegState::Failed {
                status: resp.status,
                reason,
            },
        );
    }

    /// The lifetime the registrar granted our contact.
    fn granted(&self, resp: &Response) -> u32 {
        let ours = resp.headers.contacts().ok().and_then(|cs| {
            cs.into_iter().find(|c| {
                c.addr()
                    .is_some_and(|a| a.uri.equivalent(&self.cfg.contact.uri))
            })
        });
        ours.as_ref()
            .and_then(Contact::expires)
            .or(resp.headers.expires().ok().flatten())
            .unwrap_or(self.expires)
    }

    /// The endpoint reported no response (Timer F) or a transport error.
    pub fn handle_tx_timeout(&mut self, now: Instant) {
        if self.pending.is_some() {
            self.retry_later(now, RegState::Timeout);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_at.is_some_and(|t| t <= now) {
            self.next_at = None;
            self.send();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    /// The next REGISTER to hand to `Endpoint::send_request`.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.outbox.pop_front()
    }

    /// State changes, for the UI.
    pub fn poll_state(&mut self) -> Option<RegState> {
        self.changes.pop_front()
    }
}
