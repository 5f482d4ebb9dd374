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
/// With `tls`, the connections are WSS: TLS with the node's certificate first.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    events: mpsc::UnboundedSender<FlowEvent>,
) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let conn = next_conn();
        let events = events.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => connection(stream, peer, conn, Transport::Ws, events).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => connection(stream, peer, conn, Transport::Wss, events).await,
                    Err(e) => {
                        tracing::info!(peer = %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::info!(peer = %peer, error = %e, "SIP WebSocket connection ended");
            }
        });
    }
}

/// The TLS side of WSS from a PEM certificate chain and private key.
pub(crate) fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "certificate {}: no certificate in it",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("private key {}: {e}", key.display()))?;
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
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

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    conn: ConnId,
    transport: Transport,
    events: mpsc::UnboundedSender<FlowEvent>,
) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, accept_sip, Some(config)).await?;
    let (mut sink, mut source) = ws.split();
    let (send, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
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
