//! Connections of the stream transports (TCP, WebSocket): each is a flow with
//! its own [`ConnId`], and what it carries reaches the SIP task as events.
//! Requests and responses for a phone go back on the flow it registered from.

use callisto_sip::{ConnId, Message, Transport};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

#[derive(Debug)]
pub(crate) enum FlowEvent {
    Opened {
        conn: ConnId,
        peer: SocketAddr,
        transport: Transport,
        send: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// One SIP message's bytes (WebSocket: a message per frame).
    Bytes {
        conn: ConnId,
        peer: SocketAddr,
        transport: Transport,
        bytes: Vec<u8>,
    },
    /// A message already cut from a byte stream and parsed (TCP).
    Parsed {
        conn: ConnId,
        peer: SocketAddr,
        transport: Transport,
        message: Box<Message>,
    },
    Closed {
        conn: ConnId,
    },
}

/// Connection ids are unique across every listener of the node.
pub(crate) fn next_conn() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    ConnId(NEXT.fetch_add(1, Ordering::Relaxed))
}
