//! What goes in and out of the [`super::Endpoint`].

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::message::{Request, Response};

/// The transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    /// Reliable transports need no retransmissions (§17.1.1.2 and friends).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The Via transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    pub fn from_via_token(s: &str) -> Option<Transport> {
        Some(match s.to_ascii_uppercase().as_str() {
            "UDP" => Transport::Udp,
            "TCP" => Transport::Tcp,
            "TLS" => Transport::Tls,
            "WS" => Transport::Ws,
            "WSS" => Transport::Wss,
            _ => return None,
        })
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// A connection of a stream transport, named by the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The other end of a message: transport, address and, for TCP/TLS/WS flows,
/// the connection it arrived on (responses and in-dialog requests go back on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub conn: Option<ConnId>,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr,
            conn: None,
        }
    }

    pub fn stream(transport: Transport, addr: SocketAddr, conn: Option<ConnId>) -> Peer {
        Peer {
            transport,
            addr,
            conn,
        }
    }
}

/// Bytes for the node to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: Peer,
    pub bytes: Vec<u8>,
}

/// A transaction, client or server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// RFC 3261 timer bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate, 500 ms.
    pub t1: Duration,
    /// Longest retransmit interval of non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network, 5 s.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub timers: Timers,
    /// How long a server INVITE transaction waits for the TU's own provisional
    /// before sending `100 Trying` (§17.2.1 allows 200 ms).
    pub trying_delay: Duration,
    /// Sent in the User-Agent/Server header of responses the endpoint makes itself.
    pub server_name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timers: Timers::default(),
            trying_delay: Duration::from_millis(200),
            server_name: None,
        }
    }
}

/// What the endpoint tells its TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request with the server transaction to answer it on.
    Request {
        tx: TxId,
        from: Peer,
        request: Request,
    },
    /// A response for a client transaction. Retransmitted 2xx with the same
    /// To tag are absorbed (and re-ACKed if the TU gave an ACK).
    Response { tx: TxId, response: Response },
    /// CANCEL for the INVITE server transaction `tx` (already answered 200);
    /// the TU should end the INVITE with `487 Request Terminated`.
    Cancelled { tx: TxId, cancel: Request },
    /// ACK for the 2xx the TU sent on INVITE server transaction `tx`.
    Ack {
        tx: TxId,
        from: Peer,
        request: Request,
    },
    /// No final response (client: Timer B/F), no ACK for a final response
    /// (server: Timer H, or Timer L after a 2xx that was never ACKed).
    Timeout { tx: TxId },
    /// The transport failed to deliver for this transaction.
    TransportError { tx: TxId },
    /// An ACK matching no transaction (e.g. for a 2xx, arriving late).
    StrayAck { from: Peer, request: Request },
    /// A 2xx to INVITE matching no transaction: the TU should ACK it again.
    StrayResponse { from: Peer, response: Response },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("no such transaction")]
    Unknown,
    #[error("the transaction cannot send this now")]
    WrongState,
    #[error("request has no usable Via: {0}")]
    BadVia(String),
    #[error("ACK is sent with send_ack or send_stateless, not as a transaction")]
    AckIsNotATransaction,
}
