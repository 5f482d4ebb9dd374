//! OPTIONS keep-alive ("qualify"): checks that a trunk or phone answers, and
//! how fast. Any response counts as alive (a 404 or 405 still proves the path).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::headers::{CSeq, HeaderName, NameAddr, Via};
use crate::ids::Ids;
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifyConfig {
    pub target: Uri,
    pub from: Uri,
    /// Via template; the endpoint adds the branch.
    pub via: Via,
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    Unknown,
    Reachable { rtt: Duration },
    Unreachable,
}

#[derive(Debug)]
pub struct Qualify {
    cfg: QualifyConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// CSeq and send time of the OPTIONS awaiting an answer.
    outstanding: Option<(u32, Instant)>,
    next_at: Instant,
    state: Reachability,
    outbox: VecDeque<Request>,
    changes: VecDeque<Reachability>,
}

impl Qualify {
    /// The first OPTIONS goes out at `now`.
    pub fn new(cfg: QualifyConfig, now: Instant, seed: u64) -> Qualify {
        let mut ids = Ids::new(seed);
        let host = cfg.via.host.to_string();
        Qualify {
            call_id: ids.call_id(Some(&host)),
            from_tag: ids.tag(),
            cfg,
            cseq: 0,
            outstanding: None,
            next_at: now,
            state: Reachability::Unknown,
            outbox: VecDeque::new(),
            changes: VecDeque::new(),
        }
    }

    pub fn state(&self) -> Reachability {
        self.state
    }

    fn set_state(&mut self, s: Reachability) {
        let changed = !matches!(
            (self.state, s),
            (
                Reachability::Reachable { .. },
                Reachability::Reachable { .. }
            )
        ) && self.state != s;
        self.state = s;
        if changed {
            self.changes.push_back(s);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_at || self.outstanding.is_some() {
            return;
        }
        self.cseq += 1;
        let mut req = Request::new(Method::Options, self.cfg.target.clone());
        req.headers.push(HeaderName::Via, self.cfg.via.to_string());
        req.headers.push(HeaderName::MaxForwards, "70");
        req.headers.push(
            HeaderName::From,
            NameAddr::new(self.cfg.from.clone())
                .with_tag(&self.from_tag)
                .to_string(),
        );
        req.headers.push(
            HeaderName::To,
            NameAddr::new(self.cfg.target.clone()).to_string(),
        );
        req.headers.push(HeaderName::CallId, self.call_id.clone());
        req.headers.push(
            HeaderName::CSeq,
            CSeq::new(self.cseq, Method::Options).to_string(),
        );
        self.outstanding = Some((self.cseq, now));
        self.next_at = now + self.cfg.interval;
        self.outbox.push_back(req);
    }

    pub fn handle_response(&mut self, now: Instant, resp: &Response) {
        let Some((seq, sent)) = self.outstanding else {
            return;
        };
        if resp.status < 200 || resp.headers.cseq().map(|c| c.seq).ok() != Some(seq) {
            return;
        }
        self.outstanding = None;
        self.set_state(Reachability::Reachable {
            rtt: now.saturating_duration_since(sent),
        });
    }

    /// The endpoint reported Timer F (or a transport error) for our OPTIONS.
    pub fn handle_tx_timeout(&mut self, _now: Instant) {
        if self.outstanding.take().is_some() {
            self.set_state(Reachability::Unreachable);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding.is_none().then_some(self.next_at)
    }

    pub fn poll_request(&mut self) -> Option<Request> {
        self.outbox.pop_front()
    }

    /// Reachability changes (not every RTT sample).
    pub fn poll_state(&mut self) -> Option<Reachability> {
        self.changes.pop_front()
    }
}
