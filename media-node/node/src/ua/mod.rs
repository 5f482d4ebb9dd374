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
use crate::flow::FlowEvent;
use crate::guard::Guard;
use crate::relay::{self, EchoSetup, RelayHandle, RelaySetup};
use crate::spool::{Committer, Spool};
use crate::webrtc::{self, WebRtcLeg};

mod commands;
mod control;
mod requests;
mod responses;
mod trunks;
mod waiting;
use crate::{Control, NodeConfig, Originate, OriginateError};
use callisto_domain::Millis;
use callisto_domain::call::{CallId, Direction, RecordingRef};
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::phone::normalize_phone;
use callisto_domain::telephony::{
    SipTransport, Trunk, TrunkReach, TrunkStatus, parse_sip_username, sip_username,
};
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
    ConnId, Dialog, DialogId, Endpoint, Event, Host, Method, NameAddr, Peer, Qualify,
    QualifyConfig, Reachability, RegState, Registrar, RegistrarConfig, Registration,
    RegistrationConfig, Request, Response, SipUri, Transport, TxId, Uri, Via,
};
use callisto_store::Stores;
use callisto_store::repo::{RepoError, Repos};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use trunks::{RefreshState, Refreshed};
use waiting::{Found, Parked, TenantRead, Waiting};

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
    /// The OPTIONS check, for a trunk the company asked to check.
    qualify: Option<Qualify>,
    /// What the check last showed (to keep when it went unreachable).
    reach: Option<TrunkReach>,
    /// A connection to it (TCP, TLS) is being opened.
    connecting: bool,
}

/// A connection opened to a trunk, or why it could not be.
pub(crate) struct TrunkConnected {
    tenant: TenantId,
    addr: SocketAddr,
    transport: Transport,
    result: Result<(ConnId, mpsc::UnboundedSender<Vec<u8>>), String>,
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
    /// Commits finished calls to the spool, batched on its own thread.
    committer: Committer,
    spool_wake: Arc<Notify>,
    legs: HashMap<LegId, Leg>,
    by_tx: HashMap<TxId, LegId>,
    by_dialog: HashMap<DialogId, LegId>,
    /// Bridged calls: the relay and which side each leg is on (an echo
    /// test's one leg is on both).
    relays: HashMap<CallId, (RelayHandle, LegId, LegId)>,
    /// Where each device contact is reached (the binding's flow).
    device_peers: HashMap<String, Peer>,
    trunks: HashMap<TenantId, TrunkState>,
    trunk_by_addr: HashMap<SocketAddr, TenantId>,
    reg_tx: HashMap<TxId, TenantId>,
    /// OPTIONS to trunks waiting for an answer.
    qualify_tx: HashMap<TxId, TenantId>,
    hold_music: Option<Arc<Prompt>>,
    seq: u64,
    /// SIP over WebSocket and secure WebSocket: where they listen.
    ws_local: Option<SocketAddr>,
    wss_local: Option<SocketAddr>,
    /// SIP over TLS: where it listens.
    tls_local: Option<SocketAddr>,
    /// Connections to trunks report to the SIP task like accepted ones.
    flow_events: mpsc::UnboundedSender<FlowEvent>,
    /// Checks the certificates of trunks over TLS.
    trunk_tls: Arc<tokio_rustls::rustls::ClientConfig>,
    /// Open connections of the stream transports (TCP, WebSocket).
    flows: HashMap<ConnId, mpsc::UnboundedSender<Vec<u8>>>,
    /// Browser re-offers answered by their call's relay task come back here.
    reoffered: mpsc::UnboundedSender<Reoffered>,
    reoffered_rx: Option<mpsc::UnboundedReceiver<Reoffered>>,
    /// Trunk connections opened in the background report here.
    trunk_connected: mpsc::UnboundedSender<TrunkConnected>,
    trunk_connected_rx: Option<mpsc::UnboundedReceiver<TrunkConnected>>,
    /// Reads of the companies, done in tasks of their own, report here.
    refresh: RefreshState,
    refreshed: mpsc::UnboundedSender<Refreshed>,
    refreshed_rx: Option<mpsc::UnboundedReceiver<Refreshed>>,
    /// Requests waiting for their company to be read.
    waiting: Waiting,
    /// Companies read on demand, in tasks of their own, report here.
    tenant_read: mpsc::UnboundedSender<TenantRead>,
    tenant_read_rx: Option<mpsc::UnboundedReceiver<TenantRead>>,
}

/// Where the stream transports listen (each `None` when off): Via and
/// Contact headers on their flows name these.
#[derive(Debug, Clone)]
pub(crate) struct StreamListeners {
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    /// Where connections the node opens itself (to trunks) report.
    pub events: mpsc::UnboundedSender<FlowEvent>,
}

/// The TLS client settings of trunk connections: the Mozilla roots built in, and the
/// operator's own CA file if given (a carrier with a private CA).
fn trunk_tls_connector(
    extra_ca: Option<&std::path::Path>,
) -> std::io::Result<Arc<tokio_rustls::rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        for cert in certs {
            let cert =
                cert.map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A browser's re-INVITE (hold, resume) once its WebRTC session answered it.
pub(crate) struct Reoffered {
    tx: TxId,
    req: Request,
    leg: LegId,
    hold: bool,
    answer: Result<String, crate::webrtc::WebRtcError>,
}

impl Ua {
    pub(crate) fn new(
        cfg: Arc<NodeConfig>,
        sock: Arc<UdpSocket>,
        stores: &Stores,
        spool: Spool,
        spool_wake: Arc<Notify>,
        streams: StreamListeners,
    ) -> std::io::Result<Ua> {
        let StreamListeners {
            ws: ws_local,
            wss: wss_local,
            tls: tls_local,
            events: flow_events,
        } = streams;
        let trunk_tls = trunk_tls_connector(cfg.trunk_ca.as_deref())?;
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
        let (reoffered, reoffered_rx) = mpsc::unbounded_channel();
        let (trunk_connected, trunk_connected_rx) = mpsc::unbounded_channel();
        let (refreshed, refreshed_rx) = mpsc::unbounded_channel();
        let (tenant_read, tenant_read_rx) = mpsc::unbounded_channel();
        Ok(Ua {
            endpoint: Endpoint::new(
                callisto_sip::Config {
                    timers: cfg.sip_timers,
                    server_name: Some("Callisto".into()),
                    ..callisto_sip::Config::default()
                },
                seed,
            ),
            registrar: Registrar::new(RegistrarConfig::default(), seed ^ 0x5eed),
            digest: DigestServer::new(&cfg.realm, &cfg.nonce_secret, 300),
            guard: Guard::new(cfg.guard),
            engine: Engine::new(cfg.engine),
            directory: Directory::new(cfg.directory_max_age.as_millis() as Millis),
            repos,
            committer: spool.committer(),
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
            qualify_tx: HashMap::new(),
            hold_music,
            seq: seed,
            ws_local,
            wss_local,
            tls_local,
            flow_events,
            trunk_tls,
            flows: HashMap::new(),
            reoffered,
            reoffered_rx: Some(reoffered_rx),
            trunk_connected,
            trunk_connected_rx: Some(trunk_connected_rx),
            refresh: RefreshState::default(),
            refreshed,
            refreshed_rx: Some(refreshed_rx),
            waiting: Waiting::default(),
            tenant_read,
            tenant_read_rx: Some(tenant_read_rx),
            cfg,
            sock,
            local,
        })
    }

    pub(crate) async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut flows: mpsc::UnboundedReceiver<FlowEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut buf = vec![0u8; 65_536];
        let mut housekeeping = tokio::time::interval(self.cfg.trunk_refresh);
        let mut reoffered = self.reoffered_rx.take().expect("run once");
        let mut trunk_connected = self.trunk_connected_rx.take().expect("run once");
        let mut refreshed = self.refreshed_rx.take().expect("run once");
        let mut tenant_reads = self.tenant_read_rx.take().expect("run once");
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, src)) => self.on_datagram(&buf[..n], src),
                    Err(e) => tracing::warn!(error = %e, "SIP socket receive failed"),
                },
                _ = tokio::time::sleep_until(deadline.into()) => self.on_timeout(),
                Some(ev) = flows.recv() => self.on_flow(ev),
                Some(r) = reoffered.recv() => self.on_reoffered(r),
                Some(c) = trunk_connected.recv() => self.on_trunk_connected(c).await,
                c = control.recv() => match c {
                    Some(c) => self.on_control(c),
                    None => break,
                },
                Some(r) = refreshed.recv() => self.on_refreshed(r).await,
                Some(r) = tenant_reads.recv() => self.on_tenant_read(r).await,
                _ = housekeeping.tick() => self.housekeeping(),
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
        )
        .chain(
            self.trunks
                .values()
                .filter_map(|t| t.qualify.as_ref()?.poll_timeout()),
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

    fn on_flow(&mut self, ev: FlowEvent) {
        let now = Instant::now();
        match ev {
            FlowEvent::Opened {
                conn,
                peer,
                transport,
                send,
            } => {
                tracing::debug!(conn = conn.0, peer = %peer, %transport, "SIP connection opened");
                self.flows.insert(conn, send);
            }
            FlowEvent::Bytes {
                conn,
                peer,
                transport,
                bytes,
            } => {
                if self.guard.is_banned(now, peer.ip()) {
                    return;
                }
                let from = Peer::stream(transport, peer, Some(conn));
                if let Err(e) = self.endpoint.handle_datagram(now, from, &bytes) {
                    tracing::info!(source = %peer, %transport, error = %e, "malformed SIP message");
                }
            }
            FlowEvent::Parsed {
                conn,
                peer,
                transport,
                message,
            } => {
                if !self.guard.is_banned(now, peer.ip()) {
                    let from = Peer::stream(transport, peer, Some(conn));
                    self.endpoint.handle_message(now, from, *message);
                }
            }
            FlowEvent::Closed { conn } => {
                self.flows.remove(&conn);
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
            if let Some(q) = t.qualify.as_mut() {
                q.handle_timeout(now);
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
                if t.dest.transport != Transport::Udp {
                    let sent = t
                        .dest
                        .conn
                        .and_then(|c| self.flows.get(&c))
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
            (Transport::Wss, _) => ("WSS", self.wss_local.unwrap_or(self.local)),
            // TCP listens on the UDP port's number.
            (Transport::Tcp, _) => ("TCP", self.local),
            (Transport::Tls, _) => ("TLS", self.tls_local.unwrap_or(self.local)),
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
        let listener = match peer.transport {
            Transport::Ws => self.ws_local.map(|a| (a, "ws")),
            Transport::Wss => self.wss_local.map(|a| (a, "wss")),
            Transport::Tls => self.tls_local.map(|a| (a, "tls")),
            _ => None,
        };
        match (peer.transport, listener) {
            (Transport::Ws | Transport::Wss | Transport::Tls, Some((ws, scheme))) => {
                let host = Host::parse(&ws.ip().to_string())
                    .unwrap_or_else(|_| Host::Domain("localhost".into()));
                let uri = SipUri::new(host)
                    .with_user("callisto")
                    .with_port(ws.port())
                    .with_param("transport", Some(scheme));
                NameAddr::new(Uri::Sip(uri))
            }
            (Transport::Tcp, _) => NameAddr::new(Uri::Sip(
                self.local_uri("callisto")
                    .with_param("transport", Some("tcp")),
            )),
            _ => NameAddr::new(Uri::Sip(self.local_uri("callisto"))),
        }
    }

    fn next_random(&mut self) -> u64 {
        self.endpoint.ids().next_u64()
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
