//! The media node: the only part of the media plane that owns sockets, timers
//! and files. It feeds the sans-IO SIP stack (`callisto-sip`), media
//! processing (`callisto-media`) and call engine (`callisto-engine`) and
//! carries out what they ask: `ua` speaks SIP, `relay` moves a call's RTP
//! through a `bridge` (or an echo test's back to its caller, `echo`),
//! `spool` hands finished calls to the store.

pub mod bridge;
pub mod control;
pub mod directory;
pub mod echo;
mod flow;
pub mod guard;
pub mod relay;
pub mod spool;
mod tcp;
mod ua;
pub mod webrtc;
mod ws;

use callisto_domain::call::CallId;
use callisto_domain::ids::{TenantId, UserId};
use callisto_engine::EngineConfig;
use callisto_store::Stores;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// The node's settings; `NodeConfig::local` gives the one-machine defaults.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where SIP over UDP is received.
    pub sip_addr: SocketAddr,
    /// Also take SIP over TCP, on the UDP address's port.
    pub tcp: bool,
    /// Where SIP over WebSocket (browser agents, RFC 7118) is received; `None`: off.
    pub ws_addr: Option<SocketAddr>,
    /// SIP over secure WebSocket with the configured certificate; `None`: off.
    pub wss: Option<TlsConfig>,
    /// SIP over TLS (RFC 3261 §26.2, usually port 5061) with the configured certificate; `None`: off.
    pub tls: Option<TlsConfig>,
    /// CA certificates (PEM) trusted for trunks over TLS besides the built-in
    /// Mozilla roots: for a carrier with a private CA.
    pub trunk_ca: Option<PathBuf>,
    /// The address RTP sockets bind to and SDP announces.
    pub media_ip: IpAddr,
    /// Digest realm and domain of agents' SIP accounts (as the API stores them).
    pub realm: String,
    /// Also challenge with SHA-256 (RFC 8760). Off by default: phones built on
    /// libre (baresip) fail the whole challenge when one algorithm is unknown
    /// to them; credentials answering SHA-256 are accepted either way.
    pub sha256_challenge: bool,
    /// Key of the stateless digest nonces; any node with the same key accepts them.
    pub nonce_secret: Vec<u8>,
    /// Where finished calls wait for delivery to the store.
    pub spool_dir: PathBuf,
    /// WAV played to a party on hold (8 kHz mono).
    pub hold_music: Option<PathBuf>,
    pub engine: EngineConfig,
    pub guard: guard::GuardConfig,
    /// How long the node trusts what it read of a tenant (agents, credentials).
    pub directory_max_age: Duration,
    /// How many requests may wait for their company to be read.
    pub directory_waiting: WaitLimits,
    /// How often trunks are re-read (and registrations started for new ones).
    pub trunk_refresh: Duration,
    /// How often a trunk the company asked to check gets OPTIONS.
    pub trunk_check_every: Duration,
    /// The SIP transaction timers (RFC 3261 §17: T1 500 ms, so a request
    /// nobody answers fails after 64 × T1 = 32 s).
    pub sip_timers: callisto_sip::Timers,
}

impl NodeConfig {
    pub fn local(sip_addr: SocketAddr, spool_dir: PathBuf, nonce_secret: Vec<u8>) -> NodeConfig {
        NodeConfig {
            sip_addr,
            tcp: true,
            ws_addr: None,
            wss: None,
            tls: None,
            trunk_ca: None,
            media_ip: sip_addr.ip(),
            realm: "callisto".into(),
            sha256_challenge: false,
            nonce_secret,
            spool_dir,
            hold_music: None,
            engine: EngineConfig::default(),
            guard: guard::GuardConfig::default(),
            directory_max_age: Duration::from_secs(5),
            directory_waiting: WaitLimits::default(),
            trunk_refresh: Duration::from_secs(10),
            trunk_check_every: Duration::from_secs(30),
            sip_timers: callisto_sip::Timers::default(),
        }
    }
}

/// Bounds on the REGISTERs, INVITEs and placed calls that wait while their
/// company is read from the store; beyond them a request gets 503 at once,
/// so a flood for companies the node does not hold cannot grow its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitLimits {
    /// For one company (they share one read).
    pub per_company: usize,
    /// For all companies together.
    pub total: usize,
}

impl Default for WaitLimits {
    fn default() -> Self {
        // A read takes milliseconds; 500 waiting is a second of set-ups at
        // the node's benchmarked rate for one company.
        WaitLimits {
            per_company: 500,
            total: 5_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("SIP socket {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("SIP listener {addr}: {source}")]
    BindListener {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS certificate: {0}")]
    Tls(String),
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error("the node has stopped")]
    Stopped,
}

/// Where a TLS listener (WSS, SIP over TLS) listens and the certificate it
/// shows (PEM files).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub addr: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A call in progress, as the control API lists it.
pub use callisto_engine::CallView as CallInfo;

/// A call the platform places: the agent's phone (or registered devices)
/// rings first, then the customer (PRODUCT B3, "via your phone").
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Originate {
    pub tenant: TenantId,
    pub agent: UserId,
    /// The customer's number, as typed (normalised with the company's region).
    pub to: String,
    /// The agent's own phone number to ring through the trunk; `None` rings
    /// the agent's registered SIP devices.
    pub agent_phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    #[error("unknown company or agent")]
    UnknownAgent,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the company has no enabled trunk")]
    NoTrunk,
    #[error("the agent has no registered device")]
    NotReachable,
    #[error("too many requests wait for the directory; try again")]
    Busy,
    #[error("{0}")]
    Engine(String),
}

#[derive(Debug)]
enum Control {
    Calls(oneshot::Sender<Vec<CallInfo>>),
    Hangup(CallId, oneshot::Sender<Result<(), String>>),
    Hold(
        CallId,
        bool,
        oneshot::Sender<Result<(), callisto_engine::EngineError>>,
    ),
    Originate(Originate, oneshot::Sender<Result<CallId, OriginateError>>),
    /// Re-read trunks now (after a settings change, and in tests).
    Refresh(oneshot::Sender<()>),
}

/// A running node. Dropping it does not stop it; call [`Node::shutdown`].
#[derive(Debug)]
pub struct Node {
    pub sip_addr: SocketAddr,
    /// Where SIP over WebSocket is taken, if it is.
    pub ws_addr: Option<SocketAddr>,
    /// Where SIP over secure WebSocket is taken, if it is.
    pub wss_addr: Option<SocketAddr>,
    /// Where SIP over TLS is taken, if it is.
    pub tls_addr: Option<SocketAddr>,
    handle: NodeHandle,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Accept loops of the stream transports: they run until aborted.
    listeners: Vec<tokio::task::JoinHandle<()>>,
}

/// What the control API and the rest of the process use to ask a node things;
/// cheap to clone.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    pub sip_addr: SocketAddr,
    control: mpsc::UnboundedSender<Control>,
}

impl std::ops::Deref for Node {
    type Target = NodeHandle;
    fn deref(&self) -> &NodeHandle {
        &self.handle
    }
}

/// Binds SIP over UDP and, with `tcp`, over TCP on the same port number. For
/// an address with port 0, the number the kernel gives the UDP socket may be
/// taken for TCP by someone else; then another number is tried.
async fn bind_sip(
    addr: SocketAddr,
    tcp: bool,
) -> Result<(tokio::net::UdpSocket, Option<tokio::net::TcpListener>), NodeError> {
    let bind_err = |addr| move |source| NodeError::Bind { addr, source };
    let mut attempts = 0;
    loop {
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(bind_err(addr))?;
        if !tcp {
            return Ok((sock, None));
        }
        let chosen = sock.local_addr().map_err(bind_err(addr))?;
        match tokio::net::TcpListener::bind(chosen).await {
            Ok(listener) => return Ok((sock, Some(listener))),
            Err(e)
                if addr.port() == 0
                    && e.kind() == std::io::ErrorKind::AddrInUse
                    && attempts < 20 =>
            {
                attempts += 1;
            }
            Err(e) => return Err(bind_err(chosen)(e)),
        }
    }
}

impl Node {
    /// Binds the SIP socket and starts the node's tasks: SIP and calls, and
    /// the delivery of finished calls (including what a previous run left).
    pub async fn start(cfg: NodeConfig, stores: Stores) -> Result<Node, NodeError> {
        let (sock, tcp_listener) = bind_sip(cfg.sip_addr, cfg.tcp).await?;
        let sip_addr = sock.local_addr().map_err(|source| NodeError::Bind {
            addr: cfg.sip_addr,
            source,
        })?;
        let (flow_tx, flow_rx) = mpsc::unbounded_channel();
        let mut listeners = Vec::new();
        if let Some(listener) = tcp_listener {
            listeners.push(tokio::spawn(tcp::serve(listener, flow_tx.clone())));
        }
        let ws_addr = match cfg.ws_addr {
            Some(addr) => {
                let ws_err = |source| NodeError::BindListener { addr, source };
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(ws_err)?;
                let bound = listener.local_addr().map_err(ws_err)?;
                listeners.push(tokio::spawn(ws::serve(listener, None, flow_tx.clone())));
                Some(bound)
            }
            None => None,
        };
        let wss_addr = match &cfg.wss {
            Some(w) => {
                let acceptor = ws::tls_acceptor(&w.cert, &w.key).map_err(NodeError::Tls)?;
                let addr = w.addr;
                let ws_err = |source| NodeError::BindListener { addr, source };
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(ws_err)?;
                let bound = listener.local_addr().map_err(ws_err)?;
                listeners.push(tokio::spawn(ws::serve(
                    listener,
                    Some(acceptor),
                    flow_tx.clone(),
                )));
                Some(bound)
            }
            None => None,
        };
        let tls_addr = match &cfg.tls {
            Some(t) => {
                let acceptor = ws::tls_acceptor(&t.cert, &t.key).map_err(NodeError::Tls)?;
                let addr = t.addr;
                let bind_err = |source| NodeError::BindListener { addr, source };
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(bind_err)?;
                let bound = listener.local_addr().map_err(bind_err)?;
                listeners.push(tokio::spawn(tcp::serve_tls(
                    listener,
                    acceptor,
                    flow_tx.clone(),
                )));
                Some(bound)
            }
            None => None,
        };
        let spool = spool::Spool::open(&cfg.spool_dir)?;
        let wake = Arc::new(Notify::new());
        let cfg = Arc::new(cfg);
        let ua = ua::Ua::new(
            cfg,
            Arc::new(sock),
            &stores,
            spool.clone(),
            wake.clone(),
            ua::StreamListeners {
                ws: ws_addr,
                wss: wss_addr,
                tls: tls_addr,
                events: flow_tx.clone(),
            },
        )
        .map_err(|source| NodeError::Bind {
            addr: sip_addr,
            source,
        })?;
        let (control, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let mut uploader_stop = stopped.clone();
        let tasks = vec![
            tokio::spawn(ua.run(rx, flow_rx, stopped)),
            tokio::spawn(
                spool.run(stores, wake, Duration::from_secs(10), async move {
                    let _ = uploader_stop.changed().await;
                }),
            ),
        ];
        tracing::info!(sip = %sip_addr, ws = ?ws_addr, "media node started");
        Ok(Node {
            sip_addr,
            ws_addr,
            wss_addr,
            tls_addr,
            handle: NodeHandle { sip_addr, control },
            stop,
            tasks,
            listeners,
        })
    }

    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Ends the calls in progress (keeping their records) and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for l in self.listeners {
            l.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

impl NodeHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Control,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(make(tx))
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Calls in progress on this node.
    pub async fn calls(&self) -> Result<Vec<CallInfo>, NodeError> {
        self.ask(Control::Calls).await
    }

    /// Ends a call (both parties hear it end); its record says the platform hung up.
    pub async fn hangup(&self, call: CallId) -> Result<Result<(), String>, NodeError> {
        self.ask(|tx| Control::Hangup(call, tx)).await
    }

    /// Puts an answered call on hold (`on`) or takes it off: the customer
    /// hears the hold music meanwhile.
    pub async fn hold(
        &self,
        call: CallId,
        on: bool,
    ) -> Result<Result<(), callisto_engine::EngineError>, NodeError> {
        self.ask(|tx| Control::Hold(call, on, tx)).await
    }

    /// Re-reads the companies' trunks now.
    pub async fn refresh(&self) -> Result<(), NodeError> {
        self.ask(Control::Refresh).await
    }

    /// Places a call: the agent first, then the customer.
    pub async fn originate(
        &self,
        o: Originate,
    ) -> Result<Result<CallId, OriginateError>, NodeError> {
        self.ask(|tx| Control::Originate(o, tx)).await
    }
}
