//! SIP over WebSocket (RFC 7118), the transport of browser agents (JsSIP, SIP.js):
//! one SIP message per WebSocket message, subprotocol `sip`; each connection
//! is a flow (`flow.rs`).

use crate::flow::{FlowEvent, next_conn};
use callisto_sip::{ConnId, Transport};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

/// Largest SIP message accepted on a connection (the SIP parser's own cap).
const MAX_MESSAGE: usize = callisto_sip::MAX_MESSAGE_SIZE;

/// Accepts connections until the listener fails; each gets a task.
pub(crate) async fn serve(listener: TcpListener, events: mpsc::UnboundedSender<FlowEvent>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let conn = next_conn();
        let events = events.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, peer, conn, events).await {
                tracing::info!(peer = %peer, error = %e, "SIP WebSocket connection ended");
            }
        });
    }
}

/// The handshake must offer the `sip` subprotocol (RFC 7118 §4.1); it is echoed back.
#[allow(clippy::result_large_err)] // the signature is tungstenite's callback type
fn accept_sip(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let offers_sip = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("sip"));
    if !offers_sip {
        let mut e = ErrorResponse::new(Some(
            "the WebSocket subprotocol \"sip\" is required (RFC 7118)".into(),
        ));
        *e.status_mut() = StatusCode::BAD_REQUEST;
        return Err(e);
    }
    resp.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    Ok(resp)
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    conn: ConnId,
    events: mpsc::UnboundedSender<FlowEvent>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, accept_sip, Some(config)).await?;
    let (mut sink, mut source) = ws.split();
    let (send, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let transport = Transport::Ws;
    let _ = events.send(FlowEvent::Opened {
        conn,
        peer,
        transport,
        send,
    });
    let writer = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            // SIP is text; browsers' SIP libraries expect text frames.
            let msg = match String::from_utf8(bytes) {
                Ok(text) => Message::text(text),
                Err(e) => Message::binary(e.into_bytes()),
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    let mut result = Ok(());
    while let Some(msg) = source.next().await {
        match msg {
            Ok(Message::Text(t)) => {
                let bytes = t.as_bytes().to_vec();
                let _ = events.send(FlowEvent::Bytes {
                    conn,
                    peer,
                    transport,
                    bytes,
                });
            }
            Ok(Message::Binary(b)) => {
                let _ = events.send(FlowEvent::Bytes {
                    conn,
                    peer,
                    transport,
                    bytes: b.to_vec(),
                });
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    writer.abort();
    let _ = events.send(FlowEvent::Closed { conn });
    result
}
