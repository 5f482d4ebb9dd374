//! SIP transactions (RFC 3261 §17 with the RFC 6026 "Accepted" states),
//! sans-IO in the quinn-proto style: `handle_*(now, …)` in, `poll_*()` out.
//!
//! The endpoint also does two jobs of the UAS/UAC core that every TU would
//! otherwise repeat: it retransmits a 2xx to INVITE until the ACK comes
//! (§13.3.1.4) and re-sends the TU's ACK when a 2xx is retransmitted.

mod build;
mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

pub use types::{Config, ConnId, Event, Peer, Timers, Transmit, Transport, TxError, TxId};

use crate::error::ParseError;
use crate::headers::{HeaderName, Headers, Via};
use crate::ids::Ids;
use crate::message::{Message, Method, Request, Response};
use crate::parse::{bad_request_response, parse_message};
use crate::text::{split_commas, trim};

/// Timer D on unreliable transports: "at least 32 seconds" (§17.1.1.2).
const TIMER_D: Duration = Duration::from_secs(32);

/// The four machines of §17; names follow the RFC's figures.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
}

/// Transaction identity of §17.1.3 (client) and §17.2.3 (server).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client {
        branch: String,
        method: Method,
    },
    Server {
        branch: String,
        sent_by: String,
        method: Method,
    },
}

#[derive(Debug)]
struct Tx {
    kind: Kind,
    state: State,
    key: Key,
    peer: Peer,
    request: Request,
    request_bytes: Vec<u8>,
    /// Server: the last response sent, re-sent on request retransmissions.
    last_response: Option<Vec<u8>>,
    /// Client INVITE: the ACK for a failure response.
    ack_bytes: Option<Vec<u8>>,
    /// Timer A, E, G, or the 2xx retransmission: (due, current interval).
    retrans: Option<(Instant, Duration)>,
    /// Timer B, F or H.
    timeout: Option<Instant>,
    /// Timer D, I, J, K, L or M: the transaction ends.
    end: Option<Instant>,
    /// Server INVITE: when to send 100 Trying if the TU is silent.
    trying: Option<Instant>,
    /// Client INVITE: a CANCEL waiting for the first provisional (§9.1).
    pending_cancel: Option<(TxId, Request)>,
    /// Client INVITE in Accepted: To tags seen in 2xx, with the TU's ACK for each.
    accepted: Vec<(Option<String>, Option<Vec<u8>>)>,
    /// Server INVITE in Accepted: (Call-ID, CSeq number, From tag) an ACK must carry.
    ack_match: Option<AckMatch>,
    acked: bool,
    /// Where the transaction sits in the endpoint's timer queue.
    scheduled: Option<Instant>,
}

/// (Call-ID, CSeq number, From tag): what the ACK of a 2xx must carry.
type AckMatch = (String, u32, Option<String>);

impl Tx {
    fn next_due(&self) -> Option<Instant> {
        [
            self.retrans.map(|r| r.0),
            self.timeout,
            self.end,
            self.trying,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// All transactions of one SIP element.
#[derive(Debug)]
pub struct Endpoint {
    cfg: Config,
    ids: Ids,
    next_id: u64,
    txs: BTreeMap<TxId, Tx>,
    keys: HashMap<Key, TxId>,
    /// Each transaction's next timer, in time order: a busy endpoint keeps
    /// tens of thousands of transactions (Timers D, J, K, M hold them for up to
    /// 32 s), so finding the next one due must not visit them all.
    timers: BTreeSet<(Instant, TxId)>,
    /// Server INVITEs in Accepted by what their 2xx's ACK carries (the ACK
    /// comes on a new branch, so it is matched by dialog and CSeq).
    acks: HashMap<AckMatch, TxId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

fn server_key(req: &Request, via: &Via) -> Key {
    let method = if req.method == Method::Ack {
        Method::Invite
    } else {
        req.method.clone()
    };
    let branch = if via.has_rfc3261_branch() {
        via.branch().unwrap_or_default().to_string()
    } else {
        // RFC 2543 peers: identify by the dialog and CSeq instead (§17.2.3).
        let from_tag = req
            .headers
            .from_addr()
            .ok()
            .and_then(|f| f.tag().map(str::to_string));
        let seq = req.headers.cseq().map(|c| c.seq).unwrap_or_default();
        format!(
            "2543|{}|{}|{seq}|{}",
            req.headers.call_id().unwrap_or_default(),
            from_tag.unwrap_or_default(),
            via
        )
    };
    Key::Server {
        branch,
        sent_by: via.sent_by().to_ascii_lowercase(),
        method,
    }
}

/// Replaces the first Via value (which may share its line with others).
pub(crate) fn set_top_via(headers: &mut Headers, via: &Via) {
    if let Some(h) = headers.0.iter_mut().find(|h| h.name == HeaderName::Via) {
        let mut parts: Vec<String> = split_commas(&h.value)
            .into_iter()
            .map(|p| trim(p).to_string())
            .collect();
        if let Some(first) = parts.first_mut() {
            *first = via.to_string();
        }
        h.value = parts.join(", ");
    } else {
        headers.push_front(HeaderName::Via, via.to_string());
    }
}

fn class(status: u16) -> u16 {
    status / 100
}

impl Endpoint {
    /// `seed` drives every branch the endpoint makes.
    pub fn new(cfg: Config, seed: u64) -> Endpoint {
        Endpoint {
            cfg,
            ids: Ids::new(seed),
            next_id: 1,
            txs: BTreeMap::new(),
            keys: HashMap::new(),
            timers: BTreeSet::new(),
            acks: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The seeded id source, for tags and Call-IDs made by the TU.
    pub fn ids(&mut self) -> &mut Ids {
        &mut self.ids
    }

    fn t1(&self) -> Duration {
        self.cfg.timers.t1
    }

    fn alloc(&mut self) -> TxId {
        let id = TxId(self.next_id);
        self.next_id += 1;
        id
    }

    fn transmit(&mut self, dest: Peer, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { dest, bytes });
    }

    fn stamp_server(&self, resp: &mut Response) {
        if let Some(s) = &self.cfg.server_name {
            resp.headers.push(HeaderName::Server, s.clone());
        }
    }

    fn terminate(&mut self, id: TxId) {
        let Some(tx) = self.txs.remove(&id) else {
            return;
        };
        if self.keys.get(&tx.key) == Some(&id) {
            self.keys.remove(&tx.key);
        }
        if let Some(at) = tx.scheduled {
            self.timers.remove(&(at, id));
        }
        if let Some(m) = &tx.ack_match
            && self.acks.get(m) == Some(&id)
        {
            self.acks.remove(m);
        }
    }

    /// Puts the transaction's next timer in the queue after its timers
    /// changed (nothing when it has ended).
    fn reschedule(&mut self, id: TxId) {
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        let due = tx.next_due();
        if due == tx.scheduled {
            return;
        }
        if let Some(at) = tx.scheduled {
            self.timers.remove(&(at, id));
        }
        if let Some(at) = due {
            self.timers.insert((at, id));
        }
        tx.scheduled = due;
    }

    // ---- input ----

    /// Parses a datagram and handles it. A request that does not parse is
    /// answered `400 Bad Request` naming the problem; the error is returned for logging.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: Peer,
        bytes: &[u8],
    ) -> Result<(), ParseError> {
        match parse_message(bytes) {
            Ok(msg) => {
                self.handle_message(now, from, msg);
                Ok(())
            }
            Err(e) => {
                if let Some(mut resp) = bad_request_response(bytes, &e) {
                    self.stamp_server(&mut resp);
                    self.transmit(from, resp.to_bytes());
                }
                Err(e)
            }
        }
    }

    /// Handles a parsed message from `from`.
    pub fn handle_message(&mut self, now: Instant, from: Peer, msg: Message) {
        match msg {
            Message::Request(r) => self.on_request(now, from, r),
            Message::Response(r) => self.on_response(now, r, from),
        }
    }

    /// The transport could not deliver to `dest`: its transactions end.
    pub fn handle_transport_error(&mut self, _now: Instant, dest: Peer) {
        let ids: Vec<TxId> = self
            .txs
            .iter()
            .filter(|(_, tx)| tx.peer == dest)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.events.push_back(Event::TransportError { tx: id });
            self.terminate(id);
        }
    }

    fn on_request(&mut self, now: Instant, from: Peer, mut req: Request) {
        let Ok(mut via) = req.headers.top_via() else {
            return;
        };
        // §18.2.1 received, RFC 3581 rport: responses and registrations then
        // follow the real source through NAT.
        let ip = from.addr.ip();
        let mut stamped = false;
        if via.host.ip() != Some(ip) || via.rport() == Some(None) {
            via.params.set("received", Some(&ip.to_string()));
            stamped = true;
        }
        if via.rport() == Some(None) {
            via.params.set("rport", Some(&from.addr.port().to_string()));
        }
        if stamped {
            set_top_via(&mut req.headers, &via);
        }
        let key = server_key(&req, &via);

        if req.method == Method::Ack {
            self.on_ack(now, from, req, key);
            return;
        }
        if let Some(&id) = self.keys.get(&key) {
            // A retransmission: repeat the last response, if any (§17.2.1, §17.2.2).
            if let Some(tx) = self.txs.get(&id)
                && matches!(tx.kind, Kind::ServerInvite | Kind::ServerNonInvite)
                && matches!(tx.state, State::Proceeding | State::Completed)
                && let Some(b) = tx.last_response.clone()
            {
                let peer = tx.peer;
                self.transmit(peer, b);
            }
            return;
        }
        let id = self.alloc();
        let invite = req.method == Method::Invite;
        let kind = if invite {
            Kind::ServerInvite
        } else {
            Kind::ServerNonInvite
        };
        self.keys.insert(key.clone(), id);
        self.txs.insert(
            id,
            Tx {
                kind,
                state: if invite {
                    State::Proceeding
                } else {
                    State::Trying
                },
                key: key.clone(),
                peer: from,
                request: req.clone(),
                request_bytes: Vec::new(),
                last_response: None,
                ack_bytes: None,
                retrans: None,
                timeout: None,
                end: None,
                trying: invite.then(|| now + self.cfg.trying_delay),
                pending_cancel: None,
                accepted: Vec::new(),
                ack_match: None,
                acked: false,
                scheduled: None,
            },
        );
        self.reschedule(id);
        if req.method == Method::Cancel {
            self.on_cancel(now, id, req, key);
            return;
        }
        self.events.push_back(Event::Request {
            tx: id,
            from,
            request: req,
        });
    }

    fn on_cancel(&mut self, now: Instant, id: TxId, cancel: Request, key: Key) {
        let Key::Server {
            branch, sent_by, ..
        } = key
        else {
            return;
        };
        let invite_key = Key::Server {
            branch,
            sent_by,
            method: Method::Invite,
        };
        let target = self.keys.get(&invite_key).copied();
        let status = if target.is_some() { 200 } else { 481 };
        let mut resp = Response::from_request(&cancel, status, None);
        self.stamp_server(&mut resp);
        let _ = self.send_response(now, id, resp);
        if let Some(inv) = target
            && self
                .txs
                .get(&inv)
                .is_some_and(|t| t.state == State::Proceeding)
        {
            self.events.push_back(Event::Cancelled { tx: inv, cancel });
        }
    }

    fn on_ack(&mut self, now: Instant, from: Peer, ack: Request, key: Key) {
        if let Some(&id) = self.keys.get(&key)
            && let Some(tx) = self.txs.get_mut(&id)
            && tx.kind == Kind::ServerInvite
        {
            if tx.state == State::Completed {
                // §17.2.1: Confirmed absorbs further ACKs until Timer I.
                tx.state = State::Confirmed;
                tx.retrans = None;
                tx.timeout = None;
                if tx.peer.transport.is_reliable() {
                    self.terminate(id);
                } else {
                    tx.end = Some(now + self.cfg.timers.t4);
                    self.reschedule(id);
                }
                return;
            }
            if tx.state == State::Confirmed {
                return;
            }
        }
        // ACK for a 2xx: a new branch, matched by dialog and CSeq number.
        let call_id = ack.headers.call_id().ok().map(str::to_string);
        let seq = ack.headers.cseq().ok().map(|c| c.seq);
        let from_tag = ack
            .headers
            .from_addr()
            .ok()
            .and_then(|f| f.tag().map(str::to_string));
        let found = match (call_id, seq) {
            (Some(c), Some(s)) => self.acks.get(&(c, s, from_tag)).copied(),
            _ => None,
        };
        let found = found.and_then(|id| {
            self.txs
                .get_mut(&id)
                .filter(|tx| tx.state == State::Accepted && tx.kind == Kind::ServerInvite)
                .map(|tx| (id, tx))
        });
        match found {
            Some((id, tx)) => {
                if !tx.acked {
                    tx.acked = true;
                    tx.retrans = None;
                    self.events.push_back(Event::Ack {
                        tx: id,
                        from,
                        request: ack,
                    });
                    self.reschedule(id);
                }
            }
            None => self
                .events
                .push_back(Event::StrayAck { from, request: ack }),
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response, from: Peer) {
        let (Ok(via), Ok(cseq)) = (resp.headers.top_via(), resp.headers.cseq()) else {
            return;
        };
        let key = Key::Client {
            branch: via.branch().unwrap_or_default().to_string(),
            method: cseq.method.clone(),
        };
        let Some(&id) = self.keys.get(&key) else {
            if resp.is_success() && cseq.method == Method::Invite {
                self.events.push_back(Event::StrayResponse {
                    from,
                    response: resp,
                });
            }
            return;
        };
        let t1 = self.t1();
        let t4 = self.cfg.timers.t4;
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        let reliable = tx.peer.transport.is_reliable();
        let c = class(resp.status);
        match (tx.kind, tx.state, c) {
            (Kind::ClientInvite, State::Calling | State::Proceeding, 1) => {
                tx.state = State::Proceeding;
                tx.retrans = None;
                tx.timeout = None;
                let pending = tx.pending_cancel.take();
                let peer = tx.peer;
                self.events.push_back(Event::Response {
                    tx: id,
                    response: resp,
                });
                if let Some((cid, cancel)) = pending {
                    self.start_client(now, cid, peer, cancel);
                }
            }
            (Kind::ClientInvite, State::Calling | State::Proceeding, 2) => {
                // RFC 6026: stay to absorb 2xx retransmissions until Timer M.
                tx.state = State::Accepted;
                tx.retrans = None;
                tx.timeout = None;
                tx.pending_cancel = None;
                tx.end = Some(now + 64 * t1);
                tx.accepted.push((to_tag(&resp), None));
                self.events.push_back(Event::Response {
                    tx: id,
                    response: resp,
                });
            }
            (Kind::ClientInvite, State::Calling | State::Proceeding, _) => {
                tx.state = State::Completed;
                tx.retrans = None;
                tx.timeout = None;
                tx.pending_cancel = None;
                let ack = build::ack_for_failure(&tx.request, &resp).to_bytes();
                tx.ack_bytes = Some(ack.clone());
                let peer = tx.peer;
                if reliable {
                    self.terminate(id);
                } else {
                    tx.end = Some(now + TIMER_D);
                }
                self.transmit(peer, ack);
                self.events.push_back(Event::Response {
                    tx: id,
                    response: resp,
                });
            }
            (Kind::ClientInvite, State::Completed, c) if c >= 3 => {
                if let Some(ack) = tx.ack_bytes.clone() {
                    let peer = tx.peer;
                    self.transmit(peer, ack);
                }
            }
            (Kind::ClientInvite, State::Accepted, 2) => {
                let tag = to_tag(&resp);
                match tx.accepted.iter().find(|(t, _)| *t == tag) {
                    Some((_, Some(ack))) => {
                        let (peer, ack) = (tx.peer, ack.clone());
                        self.transmit(peer, ack);
                    }
                    Some((_, None)) => {}
                    None => {
                        // A 2xx from another fork: a new dialog for the TU.
                        tx.accepted.push((tag, None));
                        self.events.push_back(Event::Response {
                            tx: id,
                            response: resp,
                        });
                    }
                }
            }
            (Kind::ClientNonInvite, State::Trying | State::Proceeding, 1) => {
                tx.state = State::Proceeding;
                self.events.push_back(Event::Response {
                    tx: id,
                    response: resp,
                });
            }
            (Kind::ClientNonInvite, State::Trying | State::Proceeding, _) => {
                tx.state = State::Completed;
                tx.retrans = None;
                tx.timeout = None;
                if reliable {
                    self.terminate(id);
                } else {
                    tx.end = Some(now + t4);
                }
                self.events.push_back(Event::Response {
                    tx: id,
                    response: resp,
                });
            }
            _ => {}
        }
        self.reschedule(id);
    }

    // ---- TU actions ----

    /// Starts a client transaction. The request must carry a Via with the
    /// transport and sent-by; a branch with the magic cookie is added when
    /// missing, and Max-Forwards: 70 when absent.
    pub fn send_request(
        &mut self,
        now: Instant,
        dest: Peer,
        mut req: Request,
    ) -> Result<TxId, TxError> {
        if req.method == Method::Ack {
            return Err(TxError::AckIsNotATransaction);
        }
        let mut via = req
            .headers
            .top_via()
            .map_err(|e| TxError::BadVia(e.to_string()))?;
        if !via.has_rfc3261_branch() {
            via.params.set("branch", Some(&self.ids.branch()));
            set_top_via(&mut req.headers, &via);
        }
        if req.headers.get(&HeaderName::MaxForwards).is_none() {
            req.headers.push(HeaderName::MaxForwards, "70");
        }
        let id = self.alloc();
        self.start_client(now, id, dest, req);
        Ok(id)
    }

    fn start_client(&mut self, now: Instant, id: TxId, dest: Peer, req: Request) {
        let branch = req
            .headers
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let invite = req.method == Method::Invite;
        let key = Key::Client {
            branch,
            method: req.method.clone(),
        };
        let bytes = req.to_bytes();
        let t1 = self.t1();
        let tx = Tx {
            kind: if invite {
                Kind::ClientInvite
            } else {
                Kind::ClientNonInvite
            },
            state: if invite {
                State::Calling
            } else {
                State::Trying
            },
            key: key.clone(),
            peer: dest,
            request: req,
            request_bytes: bytes.clone(),
            last_response: None,
            ack_bytes: None,
            retrans: (!dest.transport.is_reliable()).then_some((now + t1, t1)),
            timeout: Some(now + 64 * t1),
            end: None,
            trying: None,
            pending_cancel: None,
            accepted: Vec::new(),
            ack_match: None,
            acked: false,
            scheduled: None,
        };
        self.keys.insert(key, id);
        self.txs.insert(id, tx);
        self.reschedule(id);
        self.transmit(dest, bytes);
    }

    /// Sends a response on server transaction `tx`.
    pub fn send_response(&mut self, now: Instant, tx: TxId, resp: Response) -> Result<(), TxError> {
        let t1 = self.t1();
        let t = self.txs.get_mut(&tx).ok_or(TxError::Unknown)?;
        let reliable = t.peer.transport.is_reliable();
        let bytes = resp.to_bytes();
        let c = class(resp.status);
        let mut end_now = false;
        match (t.kind, t.state, c) {
            (Kind::ServerInvite, State::Proceeding, 1) => {
                t.trying = None;
            }
            (Kind::ServerInvite, State::Proceeding, 2) => {
                t.trying = None;
                t.state = State::Accepted;
                t.retrans = Some((now + t1, t1));
                t.end = Some(now + 64 * t1);
                let m = (
                    t.request.headers.call_id().unwrap_or_default().to_string(),
                    t.request.headers.cseq().map(|c| c.seq).unwrap_or_default(),
                    t.request
                        .headers
                        .from_addr()
                        .ok()
                        .and_then(|f| f.tag().map(str::to_string)),
                );
                // The oldest transaction keeps an ACK that could match two.
                self.acks.entry(m.clone()).or_insert(tx);
                t.ack_match = Some(m);
            }
            (Kind::ServerInvite, State::Accepted, 2) => {}
            (Kind::ServerInvite, State::Proceeding, _) => {
                t.trying = None;
                t.state = State::Completed;
                t.retrans = (!reliable).then_some((now + t1, t1));
                t.timeout = Some(now + 64 * t1);
            }
            (Kind::ServerNonInvite, State::Trying | State::Proceeding, 1) => {
                t.state = State::Proceeding;
            }
            (Kind::ServerNonInvite, State::Trying | State::Proceeding, _) => {
                t.state = State::Completed;
                if reliable {
                    end_now = true;
                } else {
                    t.end = Some(now + 64 * t1);
                }
            }
            _ => return Err(TxError::WrongState),
        }
        t.last_response = Some(bytes.clone());
        let peer = t.peer;
        self.transmit(peer, bytes);
        if end_now {
            self.terminate(tx);
        } else {
            self.reschedule(tx);
        }
        Ok(())
    }

    /// Cancels a client INVITE transaction (§9.1). The CANCEL goes out once a
    /// provisional response has arrived; its own transaction id is returned.
    pub fn cancel(&mut self, now: Instant, invite: TxId) -> Result<TxId, TxError> {
        let t = self.txs.get(&invite).ok_or(TxError::Unknown)?;
        if t.kind != Kind::ClientInvite || t.pending_cancel.is_some() {
            return Err(TxError::WrongState);
        }
        let state = t.state;
        let peer = t.peer;
        let cancel = build::cancel_for(&t.request);
        let id = self.alloc();
        match state {
            State::Calling => {
                if let Some(t) = self.txs.get_mut(&invite) {
                    t.pending_cancel = Some((id, cancel));
                }
            }
            State::Proceeding => self.start_client(now, id, peer, cancel),
            _ => return Err(TxError::WrongState),
        }
        Ok(id)
    }

    /// Sends the TU's ACK for a 2xx received on client INVITE `invite`; the
    /// endpoint re-sends it when that 2xx is retransmitted.
    pub fn send_ack(&mut self, _now: Instant, invite: TxId, dest: Peer, ack: Request) {
        let bytes = ack.to_bytes();
        let tag = ack
            .headers
            .to_addr()
            .ok()
            .and_then(|t| t.tag().map(str::to_string));
        if let Some(t) = self.txs.get_mut(&invite)
            && t.state == State::Accepted
        {
            match t.accepted.iter_mut().find(|(tg, _)| *tg == tag) {
                Some(entry) => entry.1 = Some(bytes.clone()),
                None => t.accepted.push((tag, Some(bytes.clone()))),
            }
        }
        self.transmit(dest, bytes);
    }

    /// Sends a message outside any transaction (ACK for a 2xx after the
    /// transaction ended, a stateless response).
    pub fn send_stateless(&mut self, dest: Peer, msg: &Message) {
        self.transmit(dest, msg.to_bytes());
    }

    /// The request that started a transaction.
    pub fn request(&self, tx: TxId) -> Option<&Request> {
        self.txs.get(&tx).map(|t| &t.request)
    }

    /// Where a transaction sends: the client's destination or the server's requester.
    pub fn peer(&self, tx: TxId) -> Option<Peer> {
        self.txs.get(&tx).map(|t| t.peer)
    }

    /// Live transactions (for metrics and tests).
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    // ---- timers ----

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TxId> = self
            .timers
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in due {
            self.fire(now, id);
            self.reschedule(id);
        }
    }

    fn fire(&mut self, now: Instant, id: TxId) {
        let t2 = self.cfg.timers.t2;
        // Fire in time order; a late call catches up on every missed expiry.
        while let Some(t) = self.txs.get_mut(&id) {
            let Some(due) = t.next_due().filter(|d| *d <= now) else {
                return;
            };
            if t.trying == Some(due) {
                t.trying = None;
                let mut trying = Response::from_request(&t.request, 100, None);
                if let Some(s) = &self.cfg.server_name {
                    trying.headers.push(HeaderName::Server, s.clone());
                }
                let bytes = trying.to_bytes();
                t.last_response = Some(bytes.clone());
                let peer = t.peer;
                self.transmit(peer, bytes);
            } else if t.timeout == Some(due) {
                self.events.push_back(Event::Timeout { tx: id });
                self.terminate(id);
            } else if t.end == Some(due) {
                if t.kind == Kind::ServerInvite && t.state == State::Accepted && !t.acked {
                    self.events.push_back(Event::Timeout { tx: id });
                }
                self.terminate(id);
            } else if let Some((at, interval)) = t.retrans {
                let next = match (t.kind, t.state) {
                    (Kind::ClientInvite, _) => interval * 2,
                    (Kind::ClientNonInvite, State::Proceeding) => t2,
                    _ => (interval * 2).min(t2),
                };
                t.retrans = Some((at + next, next));
                let bytes = match t.kind {
                    Kind::ClientInvite | Kind::ClientNonInvite => Some(t.request_bytes.clone()),
                    _ => t.last_response.clone(),
                };
                let peer = t.peer;
                if let Some(b) = bytes {
                    self.transmit(peer, b);
                }
            } else {
                return;
            }
        }
    }

    // ---- output ----

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next instant `handle_timeout` must be called at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let next = self.timers.first().map(|(at, _)| *at);
        debug_assert_eq!(
            next,
            self.txs.values().filter_map(Tx::next_due).min(),
            "timer queue out of step with the transactions"
        );
        next
    }
}

fn to_tag(resp: &Response) -> Option<String> {
    resp.headers
        .to_addr()
        .ok()
        .and_then(|t| t.tag().map(str::to_string))
}
