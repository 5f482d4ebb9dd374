//! A browser agent taking a call: SIP over WebSocket (RFC 7118) and WebRTC.
//! The agent registers over a WebSocket, a customer's call from the carrier
//! (sipp) reaches it over that same connection with a WebRTC offer, and the
//! agent (str0m with full ICE standing in for the browser) hears the customer.

use crate::support;

use callisto_domain::call::{Direction, Outcome};
use callisto_media::g711::ulaw_decode;
use callisto_media::tone::dominant_frequency;
use callisto_sip::{Message, Request, Response, digest, parse_message};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket<S> = tokio_tungstenite::WebSocketStream<S>;

async fn next_sip<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Socket<S>) -> Message {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a SIP message in time")
            .unwrap()
            .unwrap();
        if let Ws::Text(t) = msg {
            return parse_message(t.as_bytes()).unwrap();
        }
    }
}

/// The next SIP message on a stream (TCP or TLS), cut by Content-Length.
async fn next_framed<S: AsyncRead + Unpin>(
    stream: &mut S,
    framer: &mut callisto_sip::StreamFramer,
) -> Message {
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(callisto_sip::Framed::Message(m)) = framer.next_message().unwrap() {
            return *m;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("a SIP message in time")
            .unwrap();
        assert!(n > 0, "the node closed the connection");
        framer.push(&buf[..n]);
    }
}

/// Sends a message written with plain line ends (templates here).
async fn send<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Socket<S>, text: String) {
    send_raw(ws, text.replace('\n', "\r\n")).await;
}

async fn send_raw<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Socket<S>, text: String) {
    ws.send(Ws::text(text)).await.unwrap();
}

fn register(user: &str, cseq: u32, auth: Option<String>) -> String {
    format!(
        "REGISTER sip:callisto SIP/2.0\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-{cseq}\n\
         From: <sip:{user}@callisto>;tag=ws1\nTo: <sip:{user}@callisto>\nCall-ID: ws-reg-1\n\
         CSeq: {cseq} REGISTER\nContact: <sip:bob@df7jal23ls0d.invalid;transport=ws>\nMax-Forwards: 70\n\
         Expires: 300\n{}Content-Length: 0\n\n",
        auth.map(|a| format!("Authorization: {a}\n"))
            .unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_agent_registers_over_websocket_and_takes_a_customers_call() {
    let Setup {
        dir,
        repos,
        t,
        bob,
        trunk_port,
        node,
        ..
    } = setup(true).await;
    let url = format!("ws://{}", node.ws_addr.unwrap());

    // Without the "sip" subprotocol the handshake is refused.
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err()
    );
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "sip");

    // Register with digest, as JsSIP does.
    send(&mut ws, register(&bob.username, 1, None)).await;
    let Message::Response(challenge) = next_sip(&mut ws).await else {
        panic!()
    };
    assert_eq!(challenge.status, 401);
    let ch = challenge.headers.challenges(false).unwrap().remove(0);
    let auth = digest::answer(
        &ch,
        &callisto_sip::Method::Register,
        "sip:callisto",
        &bob.username,
        &bob.password,
        "c0ffee",
        1,
    )
    .unwrap();
    send(&mut ws, register(&bob.username, 2, Some(auth.to_string()))).await;
    let Message::Response(ok) = next_sip(&mut ws).await else {
        panic!()
    };
    assert_eq!(ok.status, 200, "{}", ok.reason);

    // A customer calls the company: the INVITE comes down the WebSocket.
    let carrier_dir = peer_dir(dir.path(), "carrier", 440.0, 8, Wav::Alaw);
    let node_addr = node.sip_addr.to_string();
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[TRUNK_NUMBER, "+79161234567"],
        &[
            &node_addr,
            "-sf",
            scenario("carrier_calls_in.xml").to_str().unwrap(),
            "-p",
            &trunk_port.to_string(),
        ],
    );
    let Message::Request(invite) = next_sip(&mut ws).await else {
        panic!("expected the INVITE")
    };
    assert_eq!(invite.method, callisto_sip::Method::Invite);
    assert_eq!(invite.headers.top_via().unwrap().transport, "WS");
    // The agent is a browser: the node offers WebRTC, the "browser" (str0m
    // with full ICE, as Chromium does) answers it and hears the customer.
    let offer = String::from_utf8(invite.body.clone()).unwrap();
    assert!(
        offer.contains("UDP/TLS/RTP/SAVPF") && offer.contains("a=ice-lite"),
        "{offer}"
    );
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_pcmu(true, false)
        .enable_opus(true, false)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let answer_sdp = rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(&offer).unwrap())
        .unwrap()
        .to_sdp_string();
    let answer = |req: &Request, status: u16, sdp: Option<String>| {
        let mut r = Response::from_request(req, status, Some("bobtag"));
        r.headers.push(
            callisto_sip::HeaderName::Contact,
            "<sip:bob@df7jal23ls0d.invalid;transport=ws>",
        );
        if let Some(sdp) = sdp {
            r.set_body("application/sdp", sdp.into_bytes());
        }
        String::from_utf8(r.to_bytes()).unwrap()
    };
    send_raw(&mut ws, answer(&invite, 180, None)).await;
    send_raw(&mut ws, answer(&invite, 200, Some(answer_sdp))).await;
    let Message::Request(ack) = next_sip(&mut ws).await else {
        panic!("expected the ACK")
    };
    assert_eq!(ack.method, callisto_sip::Method::Ack);

    // The customer's tone (A-law from the carrier) arrives, through DTLS-SRTP.
    let mut heard: Vec<i16> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let give_up = Instant::now() + Duration::from_secs(10);
    while heard.len() < 8000 && Instant::now() < give_up {
        let deadline = loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    sock.send_to(&t.contents, t.destination).await.unwrap();
                }
                Output::Event(Event::MediaData(d)) => {
                    heard.extend(d.data.iter().map(|c| ulaw_decode(*c)));
                }
                Output::Event(_) => {}
            }
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
            Ok(Ok((n, src))) => {
                let input = Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source: src,
                        destination: local,
                        contents: buf[..n].try_into().unwrap(),
                    },
                );
                rtc.handle_input(input).unwrap();
            }
            _ => rtc.handle_input(Input::Timeout(Instant::now())).unwrap(),
        }
    }
    assert!(
        heard.len() >= 8000,
        "the agent heard {} samples",
        heard.len()
    );
    let f = dominant_frequency(&heard[4000..], 8000);
    assert!((f - 440.0).abs() < 25.0, "the agent heard {f} Hz");

    // The customer hangs up: the BYE comes down the WebSocket too.
    let Message::Request(bye) = next_sip(&mut ws).await else {
        panic!("expected the BYE")
    };
    assert_eq!(bye.method, callisto_sip::Method::Bye);
    send_raw(&mut ws, answer(&bye, 200, None)).await;
    carrier.finished(Duration::from_secs(20)).await;
    let r = wait_for_calls(&repos, &t, 1).await.remove(0);
    assert_eq!(
        (r.direction, r.outcome),
        (Direction::Inbound, Outcome::Answered)
    );
    assert_eq!(r.agent.as_ref(), Some(&bob.user));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_websocket_and_sip_over_tls_use_the_configured_certificate() {
    use rustls_pki_types::pem::PemObject;
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = callisto_store::Repos::new(stores.items.clone());
    let (_, _, bob) = company(&repos).await;
    // The certificate an operator configures (here made for the test).
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_pem, key_pem) = (dir.path().join("node.crt"), dir.path().join("node.key"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let mut cfg = callisto_node::NodeConfig::local(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("spool"),
        b"s".to_vec(),
    );
    cfg.wss = Some(callisto_node::TlsConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        cert: cert_pem.clone(),
        key: key_pem.clone(),
    });
    cfg.tls = cfg.wss.clone();
    let node = callisto_node::Node::start(cfg.clone(), stores.clone())
        .await
        .unwrap();

    // A client that trusts that certificate connects with TLS, then WebSocket.
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(&cert_pem).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = std::sync::Arc::new(client);
    let tcp = tokio::net::TcpStream::connect(node.wss_addr.unwrap())
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(client.clone())
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let mut req = format!("wss://localhost:{}/", node.wss_addr.unwrap().port())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(req, tls).await.unwrap();
    send(&mut ws, register(&bob.username, 1, None)).await;
    let Message::Response(challenge) = next_sip(&mut ws).await else {
        panic!()
    };
    assert_eq!(challenge.status, 401);
    let ch = challenge.headers.challenges(false).unwrap().remove(0);
    let auth = digest::answer(
        &ch,
        &callisto_sip::Method::Register,
        "sip:callisto",
        &bob.username,
        &bob.password,
        "c0ffee",
        1,
    )
    .unwrap();
    send(&mut ws, register(&bob.username, 2, Some(auth.to_string()))).await;
    let Message::Response(ok) = next_sip(&mut ws).await else {
        panic!()
    };
    assert_eq!(ok.status, 200, "{}", ok.reason);

    // SIP over TLS: a client that speaks plain text to the TLS port is
    // dropped; a desk phone with TLS registers the same way.
    let mut plain = tokio::net::TcpStream::connect(node.tls_addr.unwrap())
        .await
        .unwrap();
    plain
        .write_all(register(&bob.username, 1, None).as_bytes())
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut sink)).await;
    assert!(
        !String::from_utf8_lossy(&sink).contains("SIP/2.0"),
        "answered in clear text"
    );
    let tcp = tokio::net::TcpStream::connect(node.tls_addr.unwrap())
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(client.clone())
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let mut framer = callisto_sip::StreamFramer::new();
    let over_tls = |cseq, auth| {
        register(&bob.username, cseq, auth)
            .replace("SIP/2.0/WS", "SIP/2.0/TLS")
            .replace("transport=ws", "transport=tls")
            .replace("ws-reg-1", "tls-reg-1")
            .replace('\n', "\r\n")
    };
    tls.write_all(over_tls(1, None).as_bytes()).await.unwrap();
    let Message::Response(challenge) = next_framed(&mut tls, &mut framer).await else {
        panic!()
    };
    assert_eq!(challenge.status, 401);
    let ch = challenge.headers.challenges(false).unwrap().remove(0);
    let auth = digest::answer(
        &ch,
        &callisto_sip::Method::Register,
        "sip:callisto",
        &bob.username,
        &bob.password,
        "c0ffee",
        1,
    )
    .unwrap();
    tls.write_all(over_tls(2, Some(auth.to_string())).as_bytes())
        .await
        .unwrap();
    let Message::Response(ok) = next_framed(&mut tls, &mut framer).await else {
        panic!()
    };
    assert_eq!(ok.status, 200, "{}", ok.reason);
    node.shutdown().await;

    // A key that does not parse stops the node at start, naming the file.
    std::fs::write(&key_pem, "not a key").unwrap();
    let err = callisto_node::Node::start(cfg, stores)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("node.key"), "{err}");
}
