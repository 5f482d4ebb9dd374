//! The node's SIP side: one task that owns the SIP socket, the transaction
//! endpoint, the registrar and the call engine, and turns SIP into the
//! engine's leg events and the engine's commands back into SIP and media.
//!
//! Agents (browser or SIP phone) authenticate with digest against the HA1s the
//! web app stored; the company's trunk is recognised by its address. Every
//! leg has its own RTP socket; once two legs are bridged, a relay task carries
//! their media and records it, and when the call ends its record and
//! recording go to the spool, which delivers them to the store.

use crate::bridge::{LegMedia, Side};
use crate::directory::{Directory, TenantEntry};
use crate::guard::Guard;
use crate::relay::{self, RelayHandle, RelaySetup};
use crate::spool::Spool;
use crate::webrtc::{self, WebRtcLeg};
use crate::ws::WsEvent;
use crate::{CallInfo, Control, NodeConfig, Originate, OriginateError};
use callisto_domain::Millis;
use callisto_domain::call::{CallId, Direction, RecordingRef};
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::phone::normalize_phone;
use callisto_domain::telephony::{Trunk, TrunkStatus, parse_sip_username, sip_username};
use callisto_engine::{
    Caller, Command, Dest, Engine, IncomingCall, LegId, OriginatedCall, Plan, Route, Target,
    TrunkLine,
};
use callisto_media::codec::CodecSpec;
use callisto_media::recorder::Prompt;
use callisto_sdp::{Codec, Session};
use callisto_sip::digest::{self, Algorithm, DigestServer, Verdict};
use callisto_sip::headers::HeaderName;
use callisto_sip::{
    ConnId, Dialog, DialogId, Endpoint, Event, Host, Method, NameAddr, Peer, RegState, Registrar,
    RegistrarConfig, Registration, RegistrationConfig, Request, Response, SipUri, Transport, TxId,
    Uri, Via,
};
use callisto_store::Stores;
use callisto_store::repo::Repos;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, watch};

/// Audio codecs the node relays without transcoding, in its order of preference.
const CODECS: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO";

fn wall_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

#[derive(Debug)]
struct Leg {
    call: CallId,
    /// Where this leg's SIP goes.
    peer: Peer,
    /// The leg's INVITE (received, or the last one sent).
    invite: Request,
    tx: TxId,
    incoming: bool,
    dialog: Option<Dialog>,
    rtp: Arc<UdpSocket>,
    /// Incoming legs: the peer's offer.
    offer: Option<Session>,
    media: Option<LegMedia>,
    final_sent: bool,
    /// Outgoing legs: the trunk whose credentials answer a challenge, once.
    trunk: Option<Trunk>,
    auth_tried: bool,
    cancelled: bool,
    /// A browser leg: its offer (incoming) as sent, and its WebRTC session
    /// once negotiated (handed to the relay when bridged).
    webrtc_offer: Option<String>,
    webrtc: Option<WebRtcLeg>,
    /// Outgoing browser legs: our offer awaiting the browser's answer.
    pending_offer: Option<str0m::change::SdpPendingOffer>,
}

#[derive(Debug)]
struct TrunkState {
    trunk: Trunk,
    peer: Peer,
    registration: Option<Registration>,
}

#[derive(Debug)]
pub(crate) struct Ua {
    cfg: Arc<NodeConfig>,
    sock: Arc<UdpSocket>,
    local: SocketAddr,
    endpoint: Endpoint,
    registrar: Registrar,
    digest: DigestServer,
    guard: Guard,
    engine: Engine,
    directory: Directory,
    repos: Repos,
    spool: Spool,
    spool_wake: Arc<Notify>,
    legs: HashMap<LegId, Leg>,
    by_tx: HashMap<TxId, LegId>,
    by_dialog: HashMap<DialogId, LegId>,
    /// Bridged calls: the relay and which side each leg is on.
    relays: HashMap<CallId, (RelayHandle, LegId, LegId)>,
    /// Where each device contact is reached (the binding's flow).
    device_peers: HashMap<String, Peer>,
    trunks: HashMap<TenantId, TrunkState>,
    trunk_by_addr: HashMap<SocketAddr, TenantId>,
    reg_tx: HashMap<TxId, TenantId>,
    hold_music: Option<Arc<Prompt>>,
    seq: u64,
    /// SIP over WebSocket: where it listens, and the open connections.
    ws_local: Option<SocketAddr>,
    ws_conns: HashMap<ConnId, mpsc::UnboundedSender<Vec<u8>>>,
}

impl Ua {
    pub(crate) fn new(
        cfg: Arc<NodeConfig>,
        sock: Arc<UdpSocket>,
        stores: &Stores,
        spool: Spool,
        spool_wake: Arc<Notify>,
        ws_local: Option<SocketAddr>,
    ) -> std::io::Result<Ua> {
        let local = sock.local_addr()?;
        let seed = u64::from(std::process::id()) ^ wall_ms() as u64;
        let hold_music = match &cfg.hold_music {
            Some(p) => match std::fs::File::open(p)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    Prompt::from_wav(std::io::BufReader::new(f)).map_err(|e| e.to_string())
                }) {
                Ok(m) => Some(Arc::new(m)),
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "hold music not loaded; holds are silent");
                    None
                }
            },
            None => None,
        };
        let repos = Repos::new(stores.items.clone());
        Ok(Ua {
            endpoint: Endpoint::new(
                callisto_sip::Config {
                    server_name: Some("Callisto".into()),
                    ..callisto_sip::Config::default()
                },
                seed,
            ),
            registrar: Registrar::new(RegistrarConfig::default(), seed ^ 0x5eed),
            digest: DigestServer::new(&cfg.realm, &cfg.nonce_secret, 300),
            guard: Guard::new(cfg.guard),
            engine: Engine::new(cfg.engine),
            directory: Directory::new(repos.clone(), cfg.directory_max_age.as_millis() as Millis),
            repos,
            spool,
            spool_wake,
            legs: HashMap::new(),
            by_tx: HashMap::new(),
            by_dialog: HashMap::new(),
            relays: HashMap::new(),
            device_peers: HashMap::new(),
            trunks: HashMap::new(),
            trunk_by_addr: HashMap::new(),
            reg_tx: HashMap::new(),
            hold_music,
            seq: seed,
            ws_local,
            ws_conns: HashMap::new(),
            cfg,
            sock,
            local,
        })
    }

    pub(crate) async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut ws: mpsc::UnboundedReceiver<WsEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut buf = vec![0u8; 65_536];
        let mut housekeeping = tokio::time::interval(self.cfg.trunk_refresh);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, src)) => self.on_datagram(&buf[..n], src),
                    Err(e) => tracing::warn!(error = %e, "SIP socket receive failed"),
                },
                _ = tokio::time::sleep_until(deadline.into()) => self.on_timeout(),
                Some(ev) = ws.recv() => self.on_ws(ev),
                c = control.recv() => match c {
                    Some(c) => self.on_control(c).await,
                    None => break,
                },
                _ = housekeeping.tick() => self.housekeeping().await,
                _ = stop.changed() => break,
            }
            self.pump().await;
        }
        // Calls still up are ended by the platform so their records are kept.
        let now = wall_ms();
        for call in self.engine.calls() {
            let _ = self.engine.hangup_call(now, &call.call);
        }
        self.pump().await;
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let mut d = now + Duration::from_secs(1);
        for t in [
            self.endpoint.poll_timeout(),
            self.registrar.poll_timeout(),
            self.engine
                .poll_timeout()
                .map(|ms| now + Duration::from_millis((ms - wall_ms()).max(0) as u64)),
        ]
        .into_iter()
        .flatten()
        .chain(
            self.trunks
                .values()
                .filter_map(|t| t.registration.as_ref()?.poll_timeout()),
        ) {
            d = d.min(t);
        }
        d
    }

    fn on_datagram(&mut self, bytes: &[u8], src: SocketAddr) {
        let now = Instant::now();
        if self.guard.is_banned(now, src.ip()) {
            return;
        }
        // CRLF keep-alives (RFC 5626) carry nothing.
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        if let Err(e) = self.endpoint.handle_datagram(now, Peer::udp(src), bytes) {
            // A request got its 400 naming the problem; log why, once per packet.
            tracing::info!(source = %src, error = %e, "malformed SIP message");
        }
    }

    fn on_ws(&mut self, ev: WsEvent) {
        match ev {
            WsEvent::Opened { conn, peer, send } => {
                tracing::debug!(conn = conn.0, peer = %peer, "SIP WebSocket opened");
                self.ws_conns.insert(conn, send);
            }
            WsEvent::Message { conn, peer, bytes } => {
                let now = Instant::now();
                if self.guard.is_banned(now, peer.ip()) {
                    return;
                }
                let from = Peer::stream(Transport::Ws, peer, Some(conn));
                if let Err(e) = self.endpoint.handle_datagram(now, from, &bytes) {
                    tracing::info!(source = %peer, error = %e, "malformed SIP message on WebSocket");
                }
            }
            WsEvent::Closed { conn } => {
                self.ws_conns.remove(&conn);
            }
        }
    }

    fn on_timeout(&mut self) {
        let now = Instant::now();
        self.endpoint.handle_timeout(now);
        self.registrar.purge(now);
        self.engine.handle_timeout(wall_ms());
        for t in self.trunks.values_mut() {
            if let Some(r) = t.registration.as_mut() {
                r.handle_timeout(now);
            }
        }
    }

    /// Carries out everything the state machines asked for, until none has more.
    async fn pump(&mut self) {
        loop {
            let mut busy = false;
            while let Some(ev) = self.endpoint.poll_event() {
                busy = true;
                self.on_event(ev).await;
            }
            while let Some(cmd) = self.engine.poll_command() {
                busy = true;
                self.on_command(cmd).await;
            }
            busy |= self.pump_registrations().await;
            while let Some(t) = self.endpoint.poll_transmit() {
                if t.dest.transport == Transport::Ws {
                    let sent = t
                        .dest
                        .conn
                        .and_then(|c| self.ws_conns.get(&c))
                        .is_some_and(|tx| tx.send(t.bytes).is_ok());
                    if !sent {
                        // The phone's connection is gone: its transactions fail now.
                        self.endpoint.handle_transport_error(Instant::now(), t.dest);
                        busy = true;
                    }
                } else if let Err(e) = self.sock.send_to(&t.bytes, t.dest.addr).await {
                    tracing::debug!(dest = %t.dest.addr, error = %e, "SIP send failed");
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn respond(&mut self, tx: TxId, resp: Response) {
        if let Err(e) = self.endpoint.send_response(Instant::now(), tx, resp) {
            tracing::debug!(error = %e, "response not sent");
        }
    }

    fn reply(&mut self, tx: TxId, req: &Request, status: u16, reason: Option<&str>) {
        let tag = self.endpoint.ids().tag();
        let mut resp = Response::from_request(req, status, Some(&tag));
        if let Some(r) = reason {
            resp = resp.with_reason(r);
        }
        if status == 405 || status == 200 && req.method == Method::Options {
            resp.headers.push(HeaderName::Allow, ALLOW);
        }
        self.respond(tx, resp);
    }

    /// A Via for a request to `peer`: the transport and address it leaves by.
    fn via(&mut self, peer: Peer) -> Via {
        let branch = self.endpoint.ids().branch();
        let (token, addr) = match (peer.transport, self.ws_local) {
            (Transport::Ws, Some(ws)) => ("WS", ws),
            _ => ("UDP", self.local),
        };
        Via::new(
            token,
            Host::parse(&addr.ip().to_string())
                .unwrap_or_else(|_| Host::Domain("localhost".into())),
            Some(addr.port()),
            &branch,
        )
    }

    fn local_uri(&self, user: &str) -> SipUri {
        let host = Host::parse(&self.local.ip().to_string())
            .unwrap_or_else(|_| Host::Domain("localhost".into()));
        SipUri::new(host)
            .with_user(user)
            .with_port(self.local.port())
    }

    /// The node's Contact towards `peer` (on WebSocket flows, `;transport=ws`).
    fn contact_for(&self, peer: Peer) -> NameAddr {
        match (peer.transport, self.ws_local) {
            (Transport::Ws, Some(ws)) => {
                let host = Host::parse(&ws.ip().to_string())
                    .unwrap_or_else(|_| Host::Domain("localhost".into()));
                let uri = SipUri::new(host)
                    .with_user("callisto")
                    .with_port(ws.port())
                    .with_param("transport", Some("ws"));
                NameAddr::new(Uri::Sip(uri))
            }
            _ => NameAddr::new(Uri::Sip(self.local_uri("callisto"))),
        }
    }

    fn next_random(&mut self) -> u64 {
        self.endpoint.ids().next_u64()
    }

    // ---- requests -------------------------------------------------------

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Request { tx, from, request } => self.on_request(tx, from, request).await,
            Event::Response { tx, response } => self.on_response(tx, response).await,
            Event::Cancelled { tx, .. } => {
                if let Some(&leg) = self.by_tx.get(&tx) {
                    self.final_response(leg, 487, "Request Terminated");
                    self.engine.handle_hangup(wall_ms(), leg, true);
                    self.drop_leg(leg);
                }
            }
            Event::Timeout { tx } | Event::TransportError { tx } => {
                if let Some(t) = self.reg_tx.remove(&tx) {
                    if let Some(r) = self
                        .trunks
                        .get_mut(&t)
                        .and_then(|t| t.registration.as_mut())
                    {
                        r.handle_tx_timeout(Instant::now());
                    }
                } else if let Some(&leg) = self.by_tx.get(&tx) {
                    let incoming = self.legs.get(&leg).is_some_and(|l| l.incoming);
                    if incoming {
                        // Our answer was never acknowledged: the caller is gone.
                        self.engine.handle_hangup(wall_ms(), leg, false);
                    } else {
                        self.engine
                            .handle_failed(wall_ms(), leg, 408, "Request Timeout");
                    }
                    self.drop_leg(leg);
                }
            }
            Event::Ack { .. } | Event::StrayAck { .. } | Event::StrayResponse { .. } => {}
        }
    }

    async fn on_request(&mut self, tx: TxId, from: Peer, req: Request) {
        let in_dialog = req
            .headers
            .to_addr()
            .ok()
            .is_some_and(|to| to.tag().is_some());
        if in_dialog {
            return self.on_dialog_request(tx, req);
        }
        match req.method {
            Method::Register => self.on_register(tx, from, req).await,
            Method::Invite => self.on_invite(tx, from, req).await,
            Method::Options => self.reply(tx, &req, 200, None),
            Method::Bye | Method::Info => self.reply(tx, &req, 481, None),
            Method::Other(ref m) => {
                tracing::info!(method = %m, source = %from.addr, "unknown method");
                self.reply(tx, &req, 501, None)
            }
            _ => self.reply(tx, &req, 405, None),
        }
    }

    /// Checks an agent's digest credentials; answers the challenge or the
    /// refusal itself and returns `None` unless the agent is who it says.
    async fn authenticate(
        &mut self,
        tx: TxId,
        from: Peer,
        req: &Request,
    ) -> Option<(Arc<TenantEntry>, UserId)> {
        let now_secs = wall_ms() as u64 / 1000;
        let creds = req
            .headers
            .credentials(false)
            .ok()
            .and_then(|c| c.into_iter().find(|c| c.is_digest()));
        let Some(creds) = creds else {
            self.challenge(tx, req, false);
            return None;
        };
        let username = creds.get("username").unwrap_or_default().to_string();
        let entry = match parse_sip_username(&username) {
            Some((t, u)) => match self.directory.tenant(&t, wall_ms()).await {
                Ok(Some(e)) => Some((e, u)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "directory unavailable");
                    self.reply(tx, req, 503, Some("Service Unavailable (directory)"));
                    return None;
                }
            },
            None => None,
        };
        let verdict = self.digest.verify(now_secs, &req.method, &creds, |_, alg| {
            let (e, u) = entry.as_ref()?;
            e.agent(u)?;
            let c = e.credentials.get(u)?;
            Some(match alg {
                Algorithm::Md5 => c.ha1_md5.clone(),
                Algorithm::Sha256 => c.ha1_sha256.clone(),
            })
        });
        match verdict {
            Verdict::Ok { .. } => {
                self.guard.success(from.addr.ip());
                entry
            }
            Verdict::Stale => {
                self.challenge(tx, req, true);
                None
            }
            Verdict::Rejected(why) => {
                tracing::info!(source = %from.addr, user = %username, reason = why, "authentication failed");
                if self.guard.failure(Instant::now(), from.addr.ip()) {
                    tracing::warn!(source = %from.addr, "too many failed authentications; address banned");
                }
                self.reply(tx, req, 403, Some(&format!("Forbidden ({why})")));
                None
            }
        }
    }

    fn challenge(&mut self, tx: TxId, req: &Request, stale: bool) {
        let now_secs = wall_ms() as u64 / 1000;
        let tag = self.endpoint.ids().tag();
        let mut resp = Response::from_request(req, 401, Some(&tag));
        // MD5 first: many clients (JsSIP, sipp, older desk phones) answer the
        // first challenge and know no SHA-256; those that do pick it from the second.
        let algorithms: &[Algorithm] = if self.cfg.sha256_challenge {
            &[Algorithm::Md5, Algorithm::Sha256]
        } else {
            &[Algorithm::Md5]
        };
        for &alg in algorithms {
            let c = self
                .digest
                .challenge(now_secs, alg, stale, self.endpoint.ids());
            resp.headers
                .push(HeaderName::WwwAuthenticate, c.to_string());
        }
        self.respond(tx, resp);
    }

    async fn on_register(&mut self, tx: TxId, from: Peer, mut req: Request) {
        let Some((entry, user)) = self.authenticate(tx, from, &req).await else {
            return;
        };
        // An agent registers its own account only.
        let own = sip_username(&entry.tenant, &user);
        let to_user = req
            .headers
            .to_addr()
            .ok()
            .and_then(|to| to.uri.as_sip().and_then(|u| u.user_unescaped()));
        if to_user.as_deref() != Some(own.as_str()) {
            return self.reply(tx, &req, 403, Some("Forbidden (not your account)"));
        }
        // Bindings are kept under the node's realm whatever host the phone used.
        let aor = self.aor(&own);
        req.headers
            .set(HeaderName::To, NameAddr::new(aor).to_string());
        let resp = self.registrar.handle_register(Instant::now(), from, &req);
        tracing::info!(user = %own, source = %from.addr, status = resp.status, "register");
        self.respond(tx, resp);
    }

    fn aor(&self, username: &str) -> Uri {
        Uri::Sip(SipUri::new(Host::Domain(self.cfg.realm.clone())).with_user(username))
    }

    /// Devices an agent can be reached on now.
    fn devices(&mut self, tenant: &TenantId, user: &UserId) -> Vec<Target> {
        let aor = self.aor(&sip_username(tenant, user));
        let bindings: Vec<(String, Peer)> = self
            .registrar
            .lookup(Instant::now(), &aor)
            .into_iter()
            .map(|b| (b.contact.uri.to_string(), b.source))
            .collect();
        bindings
            .into_iter()
            .map(|(contact, peer)| {
                self.device_peers.insert(contact.clone(), peer);
                Target {
                    user: Some(user.clone()),
                    dest: Dest::Device { contact },
                }
            })
            .collect()
    }

    async fn on_invite(&mut self, tx: TxId, from: Peer, req: Request) {
        let body = req.body.clone();
        let offer_text = std::str::from_utf8(&body).unwrap_or_default();
        let offer = match std::str::from_utf8(&req.body)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|s| Session::parse(s).map_err(|e| e.to_string()))
        {
            Ok(o) => o,
            Err(_) if req.body.is_empty() => {
                return self.reply(
                    tx,
                    &req,
                    488,
                    Some("Not Acceptable Here (an SDP offer is required)"),
                );
            }
            Err(e) => return self.reply(tx, &req, 400, Some(&format!("Bad Request (SDP: {e})"))),
        };
        if offer.first_audio(&CODECS).is_none() {
            return self.reply(tx, &req, 488, Some("Not Acceptable Here (no PCMU or PCMA)"));
        }
        let dialled = req
            .uri
            .as_sip()
            .and_then(|u| u.user_unescaped())
            .unwrap_or_default();
        let caller_user = req
            .headers
            .from_addr()
            .ok()
            .and_then(|f| f.uri.as_sip().and_then(|u| u.user_unescaped()))
            .unwrap_or_default();

        // The trunk is known by its address; anyone else is an agent who must log in.
        let (entry, caller) = match self.trunk_by_addr.get(&from.addr).cloned() {
            Some(t) => match self.directory.tenant(&t, wall_ms()).await {
                Ok(Some(e)) => (e, Caller::Trunk),
                _ => return self.reply(tx, &req, 503, None),
            },
            None => match self.authenticate(tx, from, &req).await {
                Some((e, u)) => (e, Caller::Agent(u)),
                None => return,
            },
        };
        let reachable: Vec<UserId> = entry
            .agents
            .iter()
            .map(|a| a.id.clone())
            .filter(|u| !self.devices(&entry.tenant, u).is_empty())
            .collect();
        let dir = callisto_engine::Directory {
            tenant: Some(entry.tenant.clone()),
            phone_region: entry.phone_region.clone(),
            trunk: entry.trunk.as_ref().map(|t| TrunkLine {
                name: t.name.clone(),
                number: t.number.clone(),
            }),
            extensions: entry.extensions(),
            reachable,
        };
        let route = callisto_engine::route(&dir, &caller, &dialled);
        let (direction, from_party, agent) = match &caller {
            Caller::Trunk => (
                Direction::Inbound,
                normalize_phone(&caller_user, &entry.phone_region).unwrap_or(caller_user),
                None,
            ),
            Caller::Agent(u) => {
                let ext = entry
                    .agent(u)
                    .and_then(|a| a.short_number.clone())
                    .unwrap_or_else(|| u.to_string());
                let direction = match route {
                    Ok(Route::Trunk { .. }) | Err(_) => Direction::Outbound,
                    Ok(Route::Agents(_)) => Direction::Internal,
                };
                (direction, ext, Some(u.clone()))
            }
        };
        let (plan, to, line, from_shown) = match route {
            Ok(Route::Trunk {
                number,
                caller_id,
                line,
            }) => {
                let target = Target {
                    user: None,
                    dest: Dest::Trunk {
                        number: number.clone(),
                        caller_id: caller_id.clone(),
                    },
                };
                // What the customer sees is the trunk's number; the agent is in `agent`.
                let plan = Plan::Dial {
                    targets: vec![target],
                };
                (plan, number, Some(line), caller_id)
            }
            Ok(Route::Agents(users)) => {
                let targets: Vec<Target> = users
                    .iter()
                    .flat_map(|u| self.devices(&entry.tenant, u))
                    .collect();
                let line = match caller {
                    Caller::Trunk => entry.trunk.as_ref().map(|t| t.name.clone()),
                    Caller::Agent(_) => None,
                };
                (Plan::Dial { targets }, dialled.clone(), line, from_party)
            }
            Err(refusal) => {
                let (code, reason) = refusal.sip_status();
                tracing::info!(dialled = %dialled, reason = %refusal, "call refused");
                let plan = Plan::Refuse {
                    code,
                    reason: format!("{reason} ({refusal})"),
                };
                (plan, dialled.clone(), None, from_party)
            }
        };
        let now = wall_ms();
        let ulid = ulid::Ulid::from_parts(now as u64, u128::from(self.next_random()));
        let Ok(call) = CallId::parse(ulid.to_string()) else {
            return self.reply(tx, &req, 500, None);
        };
        let rtp = match self.bind_rtp().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "no RTP port");
                return self.reply(tx, &req, 503, Some("Service Unavailable (no media port)"));
            }
        };
        let incoming = IncomingCall {
            call: call.clone(),
            tenant: entry.tenant.clone(),
            direction,
            from: from_shown,
            to,
            agent,
            client: None,
            line,
            plan,
        };
        match self.engine.handle_incoming(now, incoming) {
            Ok(leg) => {
                tracing::info!(call = %call, tenant = %entry.tenant, ?direction, dialled = %dialled, "call started");
                self.by_tx.insert(tx, leg);
                self.legs.insert(
                    leg,
                    Leg {
                        call,
                        peer: from,
                        invite: req,
                        tx,
                        incoming: true,
                        dialog: None,
                        rtp,
                        webrtc_offer: webrtc::is_webrtc(offer_text).then(|| offer_text.to_string()),
                        webrtc: None,
                        pending_offer: None,
                        offer: Some(offer),
                        media: None,
                        final_sent: false,
                        trunk: None,
                        auth_tried: false,
                        cancelled: false,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "call not started");
                self.reply(
                    tx,
                    &req,
                    480,
                    Some("Temporarily Unavailable (nobody to call)"),
                );
            }
        }
    }

    async fn bind_rtp(&self) -> std::io::Result<Arc<UdpSocket>> {
        Ok(Arc::new(UdpSocket::bind((self.cfg.media_ip, 0)).await?))
    }

    fn on_dialog_request(&mut self, tx: TxId, req: Request) {
        let leg = DialogId::of_incoming(&req).and_then(|d| self.by_dialog.get(&d).copied());
        let Some(leg) = leg else {
            return self.reply(tx, &req, 481, None);
        };
        let check = self
            .legs
            .get_mut(&leg)
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(&req));
        if let Some(Err(e)) = check {
            return self.reply(tx, &req, e.status(), None);
        }
        match req.method {
            Method::Bye => {
                self.reply(tx, &req, 200, None);
                self.engine.handle_hangup(wall_ms(), leg, true);
                self.drop_leg(leg);
            }
            Method::Invite => self.on_reinvite(tx, leg, req),
            Method::Ack => {}
            _ => self.reply(tx, &req, 200, None),
        }
    }

    /// A re-INVITE: hold, resume or a new address; answered with the same media.
    fn on_reinvite(&mut self, tx: TxId, leg: LegId, req: Request) {
        let offer = std::str::from_utf8(&req.body)
            .ok()
            .and_then(|s| Session::parse(s).ok());
        let Some(offer) = offer else {
            return self.reply(tx, &req, 488, Some("Not Acceptable Here (SDP required)"));
        };
        let Some(l) = self.legs.get(&leg) else {
            return self.reply(tx, &req, 481, None);
        };
        let port = l.rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let Some(answer) = offer.answer(self.seq, self.cfg.media_ip, port, &CODECS) else {
            return self.reply(tx, &req, 488, None);
        };
        let mut resp = Response::from_request(&req, 200, None);
        if let Some(d) = self.legs.get_mut(&leg).and_then(|l| l.dialog.as_mut()) {
            d.prepare_response(&req, &mut resp);
        }
        resp.set_body("application/sdp", answer.to_string().into_bytes());
        self.respond(tx, resp);
        self.engine.handle_hold(wall_ms(), leg, offer.is_hold());
    }

    // ---- responses ------------------------------------------------------

    async fn on_response(&mut self, tx: TxId, resp: Response) {
        if let Some(t) = self.reg_tx.get(&tx).cloned() {
            if resp.status >= 200 {
                self.reg_tx.remove(&tx);
            }
            if let Some(r) = self
                .trunks
                .get_mut(&t)
                .and_then(|t| t.registration.as_mut())
            {
                r.handle_response(Instant::now(), &resp);
            }
            return;
        }
        let Some(&leg) = self.by_tx.get(&tx) else {
            return;
        };
        let now = wall_ms();
        match resp.status {
            100 => {}
            101..=199 => self.engine.handle_ringing(now, leg),
            200..=299 => self.on_answered(tx, leg, &resp),
            401 | 407 if self.retry_with_credentials(leg, &resp) => {}
            code => {
                self.by_tx.remove(&tx);
                self.engine.handle_failed(now, leg, code, &resp.reason);
                self.drop_leg(leg);
            }
        }
    }

    fn on_answered(&mut self, tx: TxId, leg: LegId, resp: &Response) {
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let contact = self.contact_for(peer);
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.dialog.is_some() {
            return;
        }
        let dialog = match Dialog::uac(&l.invite, resp, contact) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "2xx that forms no dialog");
                return;
            }
        };
        let seq = l.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.ack(seq, &via);
        let peer = l.peer;
        self.by_dialog.insert(dialog.id.clone(), leg);
        let text = std::str::from_utf8(&resp.body).unwrap_or_default();
        let answer = match (l.webrtc.as_mut(), l.pending_offer.take()) {
            (Some(w), Some(pending)) => match w.accept_answer(pending, text) {
                Ok(()) => w.media(),
                Err(e) => {
                    tracing::warn!(error = %e, "browser answer not accepted");
                    None
                }
            },
            _ => Session::parse(text).ok().as_ref().and_then(leg_media),
        };
        l.media = answer;
        l.dialog = Some(dialog);
        let cancelled = l.cancelled;
        self.endpoint.send_ack(Instant::now(), tx, peer, ack);
        if cancelled || answer.is_none() {
            // Answered after we gave up, or with no usable media: end it.
            self.hangup_leg(leg);
            if !cancelled {
                self.engine
                    .handle_failed(wall_ms(), leg, 488, "Not Acceptable Here");
            }
            return;
        }
        self.engine.handle_answered(wall_ms(), leg);
    }

    /// Answers a trunk's challenge once; true if the INVITE was sent again.
    fn retry_with_credentials(&mut self, leg: LegId, resp: &Response) -> bool {
        let proxy = resp.status == 407;
        let Some(challenge) = resp
            .headers
            .challenges(proxy)
            .ok()
            .and_then(|c| c.into_iter().next())
        else {
            return false;
        };
        let cnonce = self.endpoint.ids().hex();
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return false;
        };
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return false;
        };
        let Some(trunk) = l.trunk.clone() else {
            return false;
        };
        if l.auth_tried || l.cancelled {
            return false;
        }
        let uri = l.invite.uri.to_string();
        let Ok(creds) = digest::answer(
            &challenge,
            &Method::Invite,
            &uri,
            &trunk.login,
            &trunk.password,
            &cnonce,
            1,
        ) else {
            return false;
        };
        let mut invite = l.invite.clone();
        invite.headers.remove(&HeaderName::Via);
        invite.headers.push_front(HeaderName::Via, via.to_string());
        let seq = invite.headers.cseq().map(|c| c.seq + 1).unwrap_or(2);
        invite
            .headers
            .set(HeaderName::CSeq, format!("{seq} INVITE"));
        let name = if proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        invite.headers.set(name, creds.to_string());
        l.auth_tried = true;
        let peer = l.peer;
        match self
            .endpoint
            .send_request(Instant::now(), peer, invite.clone())
        {
            Ok(tx) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    self.by_tx.remove(&l.tx);
                    l.tx = tx;
                    l.invite = invite;
                }
                self.by_tx.insert(tx, leg);
                true
            }
            Err(_) => false,
        }
    }

    // ---- engine commands ------------------------------------------------

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Ring { leg } => self.provisional(leg, 180),
            Command::Answer { leg } => self.answer(leg),
            Command::Reject { leg, code, reason } => {
                self.final_response(leg, code, &reason);
                self.drop_leg(leg);
            }
            Command::Originate {
                leg,
                call,
                tenant,
                target,
            } => self.originate(leg, call, tenant, target).await,
            Command::Cancel { leg } => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.cancelled = true;
                    let tx = l.tx;
                    let _ = self.endpoint.cancel(Instant::now(), tx);
                }
            }
            Command::Hangup { leg } => {
                self.hangup_leg(leg);
                self.drop_leg(leg);
            }
            Command::Bridge { call, a, b } => self.bridge(call, a, b),
            Command::HoldMusic { leg, on } => {
                for (relay, a, b) in self.relays.values() {
                    if *a == leg {
                        relay.music(Side::A, on);
                    } else if *b == leg {
                        relay.music(Side::B, on);
                    }
                }
            }
            Command::Ended(summary) => {
                let relay = self.relays.remove(&summary.call).map(|(r, _, _)| r);
                let stale: Vec<LegId> = self
                    .legs
                    .iter()
                    .filter(|(_, l)| l.call == summary.call && !l.cancelled)
                    .map(|(id, _)| *id)
                    .collect();
                for leg in stale {
                    self.drop_leg(leg);
                }
                let spool = self.spool.clone();
                let wake = self.spool_wake.clone();
                tokio::spawn(async move {
                    let duration = match relay {
                        Some(r) => r.stop().await.unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "recording failed");
                            None
                        }),
                        None => None,
                    };
                    let record = summary.into_record(duration.map(|ms| RecordingRef {
                        key: String::new(),
                        format: "wav".into(),
                        bytes: 0,
                        duration_ms: ms,
                    }));
                    // fsync blocks: off the runtime's workers, or every call
                    // and relay on the node waits for the disk.
                    let id = record.id.clone();
                    let recorded = duration.is_some();
                    let committed =
                        tokio::task::spawn_blocking(move || spool.commit(&record, recorded)).await;
                    match committed {
                        Ok(Ok(())) => wake.notify_one(),
                        Ok(Err(e)) => {
                            tracing::error!(call = %id, error = %e, "call record not spooled")
                        }
                        Err(e) => {
                            tracing::error!(call = %id, error = %e, "call record not spooled")
                        }
                    }
                });
            }
        }
    }

    fn ensure_uas_dialog(&mut self, leg: LegId) {
        let tag = self.endpoint.ids().tag();
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let contact = self.contact_for(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.dialog.is_none()
            && let Ok(d) = Dialog::uas(&l.invite, &tag, contact)
        {
            self.by_dialog.insert(d.id.clone(), leg);
            l.dialog = Some(d);
        }
    }

    fn provisional(&mut self, leg: LegId, status: u16) {
        self.ensure_uas_dialog(leg);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.final_sent || !l.incoming {
            return;
        }
        let mut resp = Response::from_request(&l.invite, status, None);
        if let Some(d) = l.dialog.as_mut() {
            d.prepare_response(&l.invite, &mut resp);
        }
        let tx = l.tx;
        self.respond(tx, resp);
    }

    fn answer(&mut self, leg: LegId) {
        self.ensure_uas_dialog(leg);
        let session = self.next_random();
        let ip = self.cfg.media_ip;
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let port = l.rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let answer = if let Some(offer) = &l.webrtc_offer {
            // A browser: ICE-lite and DTLS-SRTP on the leg's socket.
            let local = SocketAddr::new(ip, port);
            match WebRtcLeg::answer(Instant::now(), local, offer) {
                Ok((w, sdp)) => {
                    l.media = w.media();
                    l.webrtc = Some(w);
                    sdp
                }
                Err(e) => {
                    // The browser cannot be answered: refuse it and end the call,
                    // rather than leave it ringing.
                    tracing::warn!(error = %e, "browser offer not answered");
                    let reason = format!("Not Acceptable Here ({e})");
                    self.final_response(leg, 488, &reason);
                    self.engine.handle_hangup(wall_ms(), leg, false);
                    self.drop_leg(leg);
                    return;
                }
            }
        } else {
            let Some(answer) = l
                .offer
                .as_ref()
                .and_then(|o| o.answer(session, ip, port, &CODECS))
            else {
                return;
            };
            l.media = leg_media_of_answer(l.offer.as_ref(), &answer);
            answer.to_string()
        };
        let mut resp = Response::from_request(&l.invite, 200, None);
        if let Some(d) = l.dialog.as_mut() {
            d.prepare_response(&l.invite, &mut resp);
        }
        resp.set_body("application/sdp", answer.into_bytes());
        l.final_sent = true;
        let tx = l.tx;
        self.respond(tx, resp);
    }

    fn final_response(&mut self, leg: LegId, code: u16, reason: &str) {
        let tag = self.endpoint.ids().tag();
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if !l.incoming || l.final_sent {
            return;
        }
        l.final_sent = true;
        let tag = l
            .dialog
            .as_ref()
            .map(|d| d.id.local_tag.clone())
            .unwrap_or(tag);
        let resp = Response::from_request(&l.invite, code, Some(&tag)).with_reason(reason);
        let tx = l.tx;
        self.respond(tx, resp);
    }

    fn hangup_leg(&mut self, leg: LegId) {
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let Some(d) = l.dialog.as_mut() else {
            return;
        };
        if l.incoming && !l.final_sent {
            return;
        }
        let bye = d.request(Method::Bye, &via);
        let peer = l.peer;
        let _ = self.endpoint.send_request(Instant::now(), peer, bye);
    }

    fn drop_leg(&mut self, leg: LegId) {
        if let Some(l) = self.legs.remove(&leg) {
            self.by_tx.remove(&l.tx);
            if let Some(d) = l.dialog {
                self.by_dialog.remove(&d.id);
            }
        }
    }

    async fn originate(&mut self, leg: LegId, call: CallId, tenant: TenantId, target: Target) {
        let now = wall_ms();
        let fail =
            |ua: &mut Ua, code: u16, reason: &str| ua.engine.handle_failed(now, leg, code, reason);
        let rtp = match self.bind_rtp().await {
            Ok(s) => s,
            Err(_) => return fail(self, 503, "Service Unavailable (no media port)"),
        };
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let session = self.next_random();
        let offer = Session::offer(
            session,
            self.cfg.media_ip,
            port,
            &CODECS,
            callisto_sdp::Direction::SendRecv,
        )
        .to_string();
        let from_tag = self.endpoint.ids().tag();
        let call_id = self
            .endpoint
            .ids()
            .call_id(Some(&self.local.ip().to_string()));
        let caller = self
            .engine
            .calls()
            .into_iter()
            .find(|c| c.call == call)
            .map(|c| c.from)
            .unwrap_or_default();
        let (uri, from, to, peer, trunk) = match &target.dest {
            Dest::Trunk { number, caller_id } => {
                let Some(t) = self.trunks.get(&tenant) else {
                    return fail(self, 503, "Service Unavailable (trunk not reachable)");
                };
                let host = Host::parse(&t.trunk.host)
                    .unwrap_or_else(|_| Host::Domain(t.trunk.host.clone()));
                let uri = SipUri::new(host).with_user(number).with_port(t.trunk.port);
                let domain = Host::parse(t.trunk.sip_domain())
                    .unwrap_or_else(|_| Host::Domain(t.trunk.sip_domain().into()));
                let mut from = NameAddr::new(Uri::Sip(
                    SipUri::new(domain.clone()).with_user(&t.trunk.login),
                ));
                from.display = Some(caller_id.clone());
                let to = NameAddr::new(Uri::Sip(SipUri::new(domain).with_user(number)));
                (Uri::Sip(uri), from, to, t.peer, Some(t.trunk.clone()))
            }
            Dest::Device { contact } => {
                let Some(peer) = self.device_peers.get(contact).copied() else {
                    return fail(self, 480, "Temporarily Unavailable (device gone)");
                };
                let Ok(uri) = Uri::parse(contact) else {
                    return fail(self, 400, "Bad contact");
                };
                let user = target
                    .user
                    .as_ref()
                    .map(|u| sip_username(&tenant, u))
                    .unwrap_or_default();
                let mut from = NameAddr::new(Uri::Sip(
                    SipUri::new(Host::Domain(self.cfg.realm.clone())).with_user(&caller),
                ));
                from.display = Some(caller.clone());
                let to = NameAddr::new(self.aor(&user));
                (uri, from, to, peer, None)
            }
        };
        // An agent on a WebSocket is a browser: it gets a WebRTC offer.
        let (offer, browser, pending) = if peer.transport == Transport::Ws {
            let local = SocketAddr::new(self.cfg.media_ip, port);
            match WebRtcLeg::offer(Instant::now(), local) {
                Ok((w, sdp, pending)) => (sdp, Some(w), Some(pending)),
                Err(e) => return fail(self, 500, &format!("Server Internal Error ({e})")),
            }
        } else {
            (offer, None, None)
        };
        let via = self.via(peer);
        let contact = self.contact_for(peer);
        let mut invite = Request::builder(Method::Invite, uri)
            .via(&via)
            .from(&from.with_tag(&from_tag))
            .to(&to)
            .call_id(&call_id)
            .cseq(1)
            .contact(&contact)
            .header(HeaderName::Allow, ALLOW)
            .body("application/sdp", offer.into_bytes())
            .build();
        if let Some(t) = &trunk {
            invite.headers.push(
                HeaderName::Other("P-Asserted-Identity".into()),
                format!("<sip:{}@{}>", t.number, t.sip_domain()),
            );
        }
        match self
            .endpoint
            .send_request(Instant::now(), peer, invite.clone())
        {
            Ok(tx) => {
                self.by_tx.insert(tx, leg);
                self.legs.insert(
                    leg,
                    Leg {
                        call,
                        peer,
                        invite,
                        tx,
                        incoming: false,
                        dialog: None,
                        rtp,
                        offer: None,
                        webrtc_offer: None,
                        webrtc: browser,
                        pending_offer: pending,
                        media: None,
                        final_sent: false,
                        trunk,
                        auth_tried: false,
                        cancelled: false,
                    },
                );
            }
            Err(e) => fail(self, 503, &format!("Service Unavailable ({e})")),
        }
    }

    fn bridge(&mut self, call: CallId, a: LegId, b: LegId) {
        // The relay owns browser legs' WebRTC sessions from now on.
        let wa = self.legs.get_mut(&a).and_then(|l| l.webrtc.take());
        let wb = self.legs.get_mut(&b).and_then(|l| l.webrtc.take());
        let (Some(la), Some(lb)) = (self.legs.get(&a), self.legs.get(&b)) else {
            return;
        };
        let (Some(ma), Some(mb)) = (la.media, lb.media) else {
            tracing::warn!(call = %call, "bridge without negotiated media");
            return;
        };
        let seeds = [self.seq as u32, (self.seq >> 32) as u32];
        let setup = RelaySetup {
            sockets: [la.rtp.clone(), lb.rtp.clone()],
            webrtc: [wa, wb],
            media: [ma, mb],
            recording: Some(self.spool.recording_file(call.as_str())),
            hold_music: self.hold_music.clone(),
            seeds,
        };
        self.seq = self.seq.wrapping_mul(6364136223846793005).wrapping_add(1);
        match relay::spawn(setup) {
            Ok(h) => {
                self.relays.insert(call, (h, a, b));
            }
            Err(e) => tracing::error!(call = %call, error = %e, "media not bridged"),
        }
    }

    // ---- trunks -----------------------------------------------------------

    async fn housekeeping(&mut self) {
        let now = Instant::now();
        self.guard.purge(now);
        if let Err(e) = self.directory.reload_all(wall_ms()).await {
            tracing::warn!(error = %e, "directory not refreshed");
            return;
        }
        let entries: Vec<Arc<TenantEntry>> = self.directory.cached().cloned().collect();
        let mut by_addr = HashMap::new();
        let mut seen = Vec::new();
        for e in entries {
            let Some(trunk) = e.trunk.clone() else {
                continue;
            };
            let addr = match tokio::net::lookup_host((trunk.host.as_str(), trunk.port)).await {
                Ok(mut a) => a.next(),
                Err(_) => None,
            };
            let Some(addr) = addr else {
                self.set_status(
                    &e.tenant,
                    TrunkStatus::Failed {
                        code: None,
                        reason: format!("host {} not found", trunk.host),
                    },
                )
                .await;
                continue;
            };
            by_addr.insert(addr, e.tenant.clone());
            seen.push(e.tenant.clone());
            let changed = self
                .trunks
                .get(&e.tenant)
                .is_none_or(|t| t.trunk != trunk || t.peer.addr != addr);
            if changed {
                let registration = trunk.register.then(|| {
                    let mut r = Registration::new(
                        self.registration_config(&trunk),
                        self.seq ^ addr.port() as u64,
                    );
                    r.start(now);
                    r
                });
                if registration.is_none() {
                    self.set_status(&e.tenant, TrunkStatus::NotRegistering)
                        .await;
                }
                self.trunks.insert(
                    e.tenant.clone(),
                    TrunkState {
                        trunk,
                        peer: Peer::udp(addr),
                        registration,
                    },
                );
            }
        }
        self.trunks.retain(|t, _| seen.contains(t));
        self.trunk_by_addr = by_addr;
    }

    fn registration_config(&self, trunk: &Trunk) -> RegistrationConfig {
        let domain = Host::parse(trunk.sip_domain())
            .unwrap_or_else(|_| Host::Domain(trunk.sip_domain().into()));
        let host = Host::parse(&trunk.host).unwrap_or_else(|_| Host::Domain(trunk.host.clone()));
        RegistrationConfig {
            registrar: Uri::Sip(SipUri::new(host).with_port(trunk.port)),
            aor: Uri::Sip(SipUri::new(domain).with_user(&trunk.login)),
            contact: NameAddr::new(self.local_uri(&trunk.login)),
            via: Via::new(
                "UDP",
                Host::parse(&self.local.ip().to_string())
                    .unwrap_or_else(|_| Host::Domain("localhost".into())),
                Some(self.local.port()),
                "",
            ),
            username: trunk.login.clone(),
            password: trunk.password.clone(),
            expires: 600,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            user_agent: Some("Callisto".into()),
        }
    }

    async fn pump_registrations(&mut self) -> bool {
        let mut busy = false;
        let mut sends = Vec::new();
        let mut states = Vec::new();
        for (t, st) in self.trunks.iter_mut() {
            let Some(r) = st.registration.as_mut() else {
                continue;
            };
            while let Some(req) = r.poll_request() {
                sends.push((t.clone(), st.peer, req));
            }
            while let Some(s) = r.poll_state() {
                states.push((t.clone(), s));
            }
        }
        for (t, peer, mut req) in sends {
            busy = true;
            // The registration leaves the branch to the endpoint.
            let via = self.via(peer);
            req.headers.set(HeaderName::Via, via.to_string());
            match self.endpoint.send_request(Instant::now(), peer, req) {
                Ok(tx) => {
                    self.reg_tx.insert(tx, t);
                }
                Err(e) => tracing::warn!(tenant = %t, error = %e, "REGISTER not sent"),
            }
        }
        for (t, s) in states {
            busy = true;
            let status = match s {
                RegState::Unregistered => TrunkStatus::Disabled,
                RegState::Registering => TrunkStatus::Registering,
                RegState::Registered { expires_at } => TrunkStatus::Registered {
                    until: wall_ms()
                        + expires_at
                            .saturating_duration_since(Instant::now())
                            .as_millis() as Millis,
                },
                RegState::Failed { status, reason } => TrunkStatus::Failed {
                    code: Some(status),
                    reason,
                },
                RegState::Timeout => TrunkStatus::Failed {
                    code: None,
                    reason: "the trunk does not answer".into(),
                },
            };
            tracing::info!(tenant = %t, ?status, "trunk registration");
            self.set_status(&t, status).await;
        }
        busy
    }

    async fn set_status(&self, t: &TenantId, s: TrunkStatus) {
        if let Err(e) = self.repos.telephony.set_trunk_status(t, &s).await {
            tracing::warn!(tenant = %t, error = %e, "trunk status not saved");
        }
    }

    // ---- control --------------------------------------------------------

    async fn originate_call(&mut self, o: Originate) -> Result<CallId, OriginateError> {
        let entry = match self.directory.tenant(&o.tenant, wall_ms()).await {
            Ok(Some(e)) if e.agent(&o.agent).is_some() => e,
            Ok(_) => return Err(OriginateError::UnknownAgent),
            Err(e) => return Err(OriginateError::Engine(e.to_string())),
        };
        let trunk = entry.trunk.as_ref().ok_or(OriginateError::NoTrunk)?;
        let number = |field: &'static str, raw: &str| {
            normalize_phone(raw, &entry.phone_region).map_err(|e| OriginateError::Invalid {
                field,
                message: e.to_string(),
            })
        };
        let to = number("to", &o.to)?;
        let via_trunk = |number: String| Target {
            user: None,
            dest: Dest::Trunk {
                number,
                caller_id: trunk.number.clone(),
            },
        };
        let (direction, first) = match &o.agent_phone {
            Some(p) => (
                Direction::Callback,
                vec![via_trunk(number("agent_phone", p)?)],
            ),
            None => {
                let devices = self.devices(&o.tenant, &o.agent);
                if devices.is_empty() {
                    return Err(OriginateError::NotReachable);
                }
                (Direction::Outbound, devices)
            }
        };
        let now = wall_ms();
        let ulid = ulid::Ulid::from_parts(now as u64, u128::from(self.next_random()));
        let call =
            CallId::parse(ulid.to_string()).map_err(|e| OriginateError::Engine(e.to_string()))?;
        self.engine
            .originate(
                now,
                OriginatedCall {
                    call: call.clone(),
                    tenant: o.tenant.clone(),
                    direction,
                    agent: o.agent.clone(),
                    from: trunk.number.clone(),
                    to: to.clone(),
                    client: None,
                    line: Some(trunk.name.clone()),
                    first,
                    then: vec![via_trunk(to)],
                },
            )
            .map_err(|e| OriginateError::Engine(e.to_string()))?;
        tracing::info!(call = %call, tenant = %o.tenant, agent = %o.agent, ?direction, "call placed");
        Ok(call)
    }

    async fn on_control(&mut self, c: Control) {
        match c {
            Control::Calls(reply) => {
                let calls = self
                    .engine
                    .calls()
                    .into_iter()
                    .map(|c| CallInfo {
                        call: c.call,
                        tenant: c.tenant,
                        direction: c.direction,
                        from: c.from,
                        to: c.to,
                        agent: c.agent,
                        started_at: c.started_at,
                        answered_at: c.answered_at,
                    })
                    .collect();
                let _ = reply.send(calls);
            }
            Control::Hangup(call, reply) => {
                let r = self
                    .engine
                    .hangup_call(wall_ms(), &call)
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Control::Originate(o, reply) => {
                let r = self.originate_call(o).await;
                let _ = reply.send(r);
            }
            Control::Refresh(reply) => {
                self.housekeeping().await;
                let _ = reply.send(());
            }
        }
    }
}

fn codec_spec(c: Codec) -> Option<CodecSpec> {
    match c {
        Codec::Pcmu => Some(CodecSpec::Pcmu),
        Codec::Pcma => Some(CodecSpec::Pcma),
        Codec::Opus => Some(CodecSpec::Opus { pcm_rate: 8000 }),
        Codec::TelephoneEvent => None,
    }
}

/// The media a peer's answer (or offer) settles on.
fn leg_media(s: &Session) -> Option<LegMedia> {
    let f = s.first_audio(&CODECS)?;
    Some(LegMedia {
        remote: s.rtp_addr(),
        codec: codec_spec(f.codec?)?,
        pt: f.pt,
        te_pt: s.telephone_event().map(|t| t.pt),
    })
}

/// The media of an incoming leg once we answered its offer: the peer's
/// address, the codec of our answer.
fn leg_media_of_answer(offer: Option<&Session>, answer: &Session) -> Option<LegMedia> {
    let offer = offer?;
    let f = answer.first_audio(&CODECS)?;
    Some(LegMedia {
        remote: offer.rtp_addr(),
        codec: codec_spec(f.codec?)?,
        pt: f.pt,
        te_pt: answer.telephone_event().map(|t| t.pt),
    })
}
