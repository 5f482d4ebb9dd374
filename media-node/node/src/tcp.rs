//! SIP over TCP and TLS (RFC 3261 §18, §26.2): desk phones and softphones
//! that prefer a connection to datagrams, or an encrypted one. Messages are cut from the byte stream by
//! Content-Length (`StreamFramer`); a CRLF CRLF ping gets a CRLF pong
//! (RFC 5626 §3.5.1). A stream that cannot be framed is closed: after a bad
//! message its next one cannot be found.

use crate::flow::{FlowEvent, next_conn};
use callisto_sip::{ConnId, Framed, StreamFramer, Transport};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub(crate) async fn serve(listener: TcpListener, events: mpsc::UnboundedSender<FlowEvent>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let events = events.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, peer, Transport::Tcp, events).await {
                tracing::info!(peer = %peer, error = %e, "SIP TCP connection ended");
            }
        });
    }
}

/// How long a client may take over the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

pub(crate) async fn serve_tls(
    listener: TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    events: mpsc::UnboundedSender<FlowEvent>,
) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (events, tls) = (events.clone(), tls.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE, tls.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return tracing::info!(peer = %peer, error = %e, "SIP TLS handshake failed");
                }
                Err(_) => return tracing::info!(peer = %peer, "SIP TLS handshake timed out"),
            };
            if let Err(e) = connection(stream, peer, Transport::Tls, events).await {
                tracing::info!(peer = %peer, error = %e, "SIP TLS connection ended");
            }
        });
    }
}

/// Opens a connection to a trunk over TCP, or over TLS (`tls`: the connector
/// and the name its certificate must carry). It is a flow like an accepted
/// one; its id and sender come back at once, so requests can go out before
/// the SIP task hears it opened.
pub(crate) async fn connect(
    addr: SocketAddr,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    )>,
    events: mpsc::UnboundedSender<FlowEvent>,
) -> std::io::Result<(ConnId, mpsc::UnboundedSender<Vec<u8>>)> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time");
    let stream = tokio::time::timeout(HANDSHAKE, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out())??;
    let conn = next_conn();
    let (send, outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    match tls {
        None => {
            tokio::spawn(flow(
                stream,
                addr,
                Transport::Tcp,
                conn,
                send.clone(),
                outgoing,
                events,
            ));
        }
        Some((connector, name)) => {
            let stream = tokio::time::timeout(HANDSHAKE, connector.connect(name, stream))
                .await
                .map_err(|_| timed_out())??;
            tokio::spawn(flow(
                stream,
                addr,
                Transport::Tls,
                conn,
                send.clone(),
                outgoing,
                events,
            ));
        }
    }
    Ok((conn, send))
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    events: mpsc::UnboundedSender<FlowEvent>,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (send, outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    flow(stream, peer, transport, next_conn(), send, outgoing, events).await
}

/// Carries one connection: bytes out from `outgoing`, messages in as events.
async fn flow<S>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    conn: ConnId,
    send: mpsc::UnboundedSender<Vec<u8>>,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<FlowEvent>,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let _ = events.send(FlowEvent::Opened {
        conn,
        peer,
        transport,
        send: send.clone(),
    });
    let write = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 16 * 1024];
    let result = loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        framer.push(&buf[..n]);
        let mut broken = None;
        loop {
            match framer.next_message() {
                Ok(Some(Framed::Message(message))) => {
                    let _ = events.send(FlowEvent::Parsed {
                        conn,
                        peer,
                        transport,
                        message,
                    });
                }
                Ok(Some(Framed::KeepAlive)) => {
                    let _ = send.send(b"\r\n".to_vec());
                }
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = broken {
            tracing::info!(peer = %peer, error = %e, "unframeable SIP on a stream; closing");
            break Ok(());
        }
    };
    write.abort();
    let _ = events.send(FlowEvent::Closed { conn });
    result
}
