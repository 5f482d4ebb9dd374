//! Calls through a running node with real SIP peers (`sipp`) on 127.0.0.1:
//! signalling, the media both ways (checked in the recording), and the call
//! record and recording that land in the store.

use crate::support;

use callisto_domain::call::{Direction, HangupSide, Outcome};
use callisto_domain::telephony::{TrunkReach, TrunkStatus};
use callisto_store::Repos;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calls_out_through_the_trunk_and_the_call_is_recorded() {
    agent_calls_out("u1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_tcp_calls_out_the_same_way() {
    agent_calls_out("t1").await;
}

/// An agent's phone (sipp, over UDP `u1` or TCP `t1`) registers, calls a
/// customer through the trunk and hangs up after 3 s.
async fn agent_calls_out(transport: &str) {
    let Setup {
        dir,
        stores,
        repos,
        t,
        ann,
        trunk_port,
        node,
        ..
    } = setup(false).await;

    let agent_dir = peer_dir(dir.path(), "agent", 1000.0, 6, Wav::Ulaw);
    let carrier_dir = peer_dir(dir.path(), "carrier", 440.0, 6, Wav::Ulaw);
    let trunk_port_s = trunk_port.to_string();
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[],
        &[
            "-sf",
            scenario("trunk_answers.xml").to_str().unwrap(),
            "-p",
            &trunk_port_s,
        ],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let phone = Sipp::agent_calls(&agent_dir, node.sip_addr, &ann, "89123456789", transport);
    phone.finished(Duration::from_secs(40)).await;
    carrier.finished(Duration::from_secs(10)).await;

    let calls = wait_for_calls(&repos, &t, 1).await;
    let call = &calls[0];
    assert_eq!(call.direction, Direction::Outbound);
    assert_eq!(call.outcome, Outcome::Answered);
    assert_eq!(call.hangup, HangupSide::Caller, "the agent hung up");
    assert_eq!(call.agent.as_ref(), Some(&ann.user));
    assert_eq!(
        call.from, TRUNK_NUMBER,
        "the customer sees the company's number"
    );
    assert_eq!(
        call.to, "+79123456789",
        "dialled as 8 912…, stored in E.164"
    );
    assert_eq!(call.line.as_deref(), Some("Main line"));
    assert!(
        (2_500..6_000).contains(&call.talk_ms()),
        "talked {} ms",
        call.talk_ms()
    );
    assert!(call.ring_ms() >= 400, "the carrier rang for 500 ms");

    // The recording holds each party on its own channel: what the node received
    // from the agent (left) and from the carrier (right).
    let rec = call.recording.clone().expect("recorded");
    assert!(rec.key.starts_with("T#acme/"), "{}", rec.key);
    let (left, right) = recording(&stores, call).await;
    assert!(left.len() >= 8000 * 2, "{} samples", left.len());
    let (f_left, f_right) = (tone_at(&left), tone_at(&right));
    assert!((f_left - 1000.0).abs() < 25.0, "agent channel {f_left} Hz");
    assert!(
        (f_right - 440.0).abs() < 25.0,
        "carrier channel {f_right} Hz"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_calling_the_company_reaches_the_registered_agent_and_both_hear_each_other() {
    let s = setup(false).await;
    // Bob's softphone (baresip) registers and answers automatically.
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 8, Wav::Pcm16);
    let phone = Baresip::start(&bob_dir, s.node.sip_addr, &s.bob);
    phone.wait_for("200 OK", Duration::from_secs(10));

    let carrier_dir = peer_dir(s.dir.path(), "carrier", 440.0, 8, Wav::Alaw);
    let node_addr = s.node.sip_addr.to_string();
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[TRUNK_NUMBER, "+79161234567"],
        &[
            &node_addr,
            "-sf",
            scenario("carrier_calls_in.xml").to_str().unwrap(),
            "-p",
            &s.trunk_port.to_string(),
        ],
    );
    carrier.finished(Duration::from_secs(30)).await;

    let calls = wait_for_calls(&s.repos, &s.t, 1).await;
    let call = &calls[0];
    assert_eq!(call.direction, Direction::Inbound);
    assert_eq!(call.outcome, Outcome::Answered);
    assert_eq!(call.hangup, HangupSide::Caller, "the customer hung up");
    assert_eq!(call.agent.as_ref(), Some(&s.bob.user), "bob answered");
    assert_eq!(
        (call.from.as_str(), call.to.as_str()),
        ("+79161234567", TRUNK_NUMBER)
    );
    assert_eq!(call.line.as_deref(), Some("Main line"));

    // The carrier spoke A-law, bob's phone took the node's PCMU offer: the
    // recording and bob's ears both have the customer's tone.
    let (left, right) = recording(&s.stores, call).await;
    let (caller, agent) = (tone_at(&left), tone_at(&right));
    assert!(
        (caller - 440.0).abs() < 25.0,
        "customer channel {caller} Hz"
    );
    assert!((agent - 1000.0).abs() < 25.0, "agent channel {agent} Hz");
    let heard = phone.heard();
    assert!(heard.len() >= 8000, "bob heard {} samples", heard.len());
    let f = tone_at(&heard);
    assert!((f - 440.0).abs() < 25.0, "bob heard {f} Hz");
    s.node.shutdown().await;
}

/// The trunk's registration as the settings page shows it, once it settles.
async fn trunk_status_after(repos: &Repos, t: &callisto_domain::ids::TenantId) -> TrunkStatus {
    for _ in 0..100 {
        match repos.telephony.trunk_status(t).await.unwrap() {
            Some(s @ (TrunkStatus::Registered { .. } | TrunkStatus::Failed { .. })) => return s,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the trunk registration never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_registers_to_the_carrier_and_shows_why_when_it_cannot() {
    for (password, expect_ok) in [("trunk-pass", true), ("wrong", false)] {
        let s = setup(false).await;
        let carrier_dir = s.dir.path().join("registrar");
        std::fs::create_dir_all(&carrier_dir).unwrap();
        let port = free_port();
        let carrier = Sipp::start(
            &carrier_dir,
            "registrar",
            &["acme-trunk", "trunk-pass"],
            &[
                "-sf",
                scenario("carrier_registrar.xml").to_str().unwrap(),
                "-p",
                &port.to_string(),
            ],
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut tr = trunk(port, true);
        tr.password = password.into();
        replace_trunk(&s, &tr).await;
        s.node.refresh().await.unwrap();
        let status = trunk_status_after(&s.repos, &s.t).await;
        if expect_ok {
            assert!(
                matches!(status, TrunkStatus::Registered { .. }),
                "{status:?}"
            );
        } else {
            assert_eq!(
                status,
                TrunkStatus::Failed {
                    code: Some(403),
                    reason: "Forbidden".into()
                }
            );
        }
        carrier.finished(Duration::from_secs(10)).await;
        s.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_registers_to_a_carrier_over_tcp_on_a_connection_it_opens() {
    let s = setup(false).await;
    let carrier_dir = s.dir.path().join("registrar-tcp");
    std::fs::create_dir_all(&carrier_dir).unwrap();
    let port = free_port();
    let carrier = Sipp::start(
        &carrier_dir,
        "registrar",
        &["acme-trunk", "trunk-pass"],
        &[
            "-sf",
            scenario("carrier_registrar.xml").to_str().unwrap(),
            "-t",
            "t1",
            "-p",
            &port.to_string(),
        ],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tr = trunk(port, true);
    tr.transport = callisto_domain::telephony::SipTransport::Tcp;
    replace_trunk(&s, &tr).await;
    s.node.refresh().await.unwrap();
    let status = trunk_status_after(&s.repos, &s.t).await;
    assert!(
        matches!(status, TrunkStatus::Registered { .. }),
        "{status:?}\n{}",
        carrier.logs()
    );
    carrier.finished(Duration::from_secs(10)).await;
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_over_tls_is_reached_only_with_a_certificate_the_node_trusts() {
    use callisto_sip::{Framed, HeaderName, Message, StreamFramer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The carrier's TLS side: a private CA's certificate for "localhost";
    // it answers one REGISTER with 200 OK and keeps the binding 600 s.
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let ca = dir.path().join("carrier-ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let server = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let carrier = tokio::spawn(async move {
        let mut handshakes = 0;
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            handshakes += 1;
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue; // a client that does not trust us
            };
            let mut framer = StreamFramer::new();
            let mut buf = vec![0u8; 4096];
            loop {
                if let Some(Framed::Message(m)) = framer.next_message().unwrap() {
                    let Message::Request(req) = *m else { continue };
                    let mut ok = callisto_sip::Response::from_request(&req, 200, Some("reg"));
                    if let Some(c) = req.headers.get(&HeaderName::Contact) {
                        ok.headers
                            .push(HeaderName::Contact, format!("{c};expires=600"));
                    }
                    tls.write_all(&ok.to_bytes()).await.unwrap();
                    return (handshakes, req);
                }
                let n = tls.read(&mut buf).await.unwrap();
                assert!(n > 0, "the node closed the connection");
                framer.push(&buf[..n]);
            }
        }
    });

    for trust in [false, true] {
        let store_dir = dir.path().join(format!("node-{trust}"));
        let stores = callisto_store::embedded::open(&store_dir.join("store")).unwrap();
        let repos = Repos::new(stores.items.clone());
        let (t, _, _) = company(&repos).await;
        let mut tr = trunk(port, true);
        tr.host = "localhost".into();
        tr.transport = callisto_domain::telephony::SipTransport::Tls;
        repos.telephony.save_trunk(&t, &tr, 0).await.unwrap();
        let mut cfg = callisto_node::NodeConfig::local(
            "127.0.0.1:0".parse().unwrap(),
            store_dir.join("spool"),
            b"s".to_vec(),
        );
        cfg.trunk_ca = trust.then(|| ca.clone());
        let node = callisto_node::Node::start(cfg, stores).await.unwrap();
        node.refresh().await.unwrap();
        let status = trunk_status_after(&repos, &t).await;
        if trust {
            assert!(
                matches!(status, TrunkStatus::Registered { .. }),
                "{status:?}"
            );
        } else {
            let TrunkStatus::Failed { code: None, reason } = &status else {
                panic!("{status:?}")
            };
            assert!(reason.contains("TLS connection"), "{reason}");
        }
        node.shutdown().await;
    }
    let (handshakes, register) = tokio::time::timeout(Duration::from_secs(10), carrier)
        .await
        .unwrap()
        .unwrap();
    assert!(
        handshakes >= 2,
        "the untrusting node tried (and was refused) before the trusting one"
    );
    assert!(
        register.uri.to_string().starts_with("sip:localhost"),
        "{}",
        register.uri
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_checked_with_options_shows_it_answers() {
    let s = setup(false).await;
    let carrier_dir = s.dir.path().join("options");
    std::fs::create_dir_all(&carrier_dir).unwrap();
    let port = free_port();
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[],
        &[
            "-sf",
            scenario("carrier_answers_options.xml").to_str().unwrap(),
            "-p",
            &port.to_string(),
        ],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tr = trunk(port, false);
    tr.qualify = true;
    replace_trunk(&s, &tr).await;
    s.node.refresh().await.unwrap();
    let mut reach = None;
    for _ in 0..100 {
        reach = s.repos.telephony.trunk_reach(&s.t).await.unwrap();
        if reach.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(TrunkReach::Reachable { rtt_ms, .. }) = reach else {
        panic!(
            "the trunk's answer was not seen: {reach:?}\n{}",
            carrier.logs()
        );
    };
    assert!(rtt_ms < 1_000, "a round trip on 127.0.0.1 took {rtt_ms} ms");
    carrier.finished(Duration::from_secs(10)).await;
    s.node.shutdown().await;
}

/// The trunk's check as the store shows it, once `done` says it is what we wait for.
async fn wait_for_reach(s: &Setup, what: &str, done: impl Fn(&TrunkReach) -> bool) -> TrunkReach {
    for _ in 0..200 {
        if let Some(r) = s.repos.telephony.trunk_reach(&s.t).await.unwrap()
            && done(&r)
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what}: the trunk's check shows {:?}",
        s.repos.telephony.trunk_reach(&s.t).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_that_stops_answering_options_is_shown_unreachable_until_it_answers_again() {
    // T1 of 20 ms: an OPTIONS nobody answers fails (Timer F, 64 × T1) in 1.28 s.
    let s = setup_with(false, |cfg| {
        cfg.sip_timers.t1 = Duration::from_millis(20);
        cfg.sip_timers.t2 = Duration::from_millis(160);
        cfg.trunk_check_every = Duration::from_millis(500);
    })
    .await;
    let carrier = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut tr = trunk(carrier.local_addr().unwrap().port(), false);
    tr.qualify = true;
    replace_trunk(&s, &tr).await;
    s.node.refresh().await.unwrap();

    // The carrier takes the OPTIONS (and their retransmissions) and says nothing.
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), carrier.recv_from(&mut buf))
        .await
        .expect("the node checks the trunk")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"OPTIONS sip:"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let silent = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        // Silent for 3 s: Timer F (1.28 s) has fired by then.
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        let mut seen = 1;
        while let Ok(Ok(_)) = tokio::time::timeout_at(until, carrier.recv_from(&mut buf)).await {
            seen += 1;
        }
        (carrier, seen)
    });
    let down = wait_for_reach(&s, "no answer", |r| {
        matches!(r, TrunkReach::Unreachable { .. })
    })
    .await;
    let TrunkReach::Unreachable { since } = down else {
        unreachable!()
    };

    // Once the carrier answers again, the next check shows it.
    let (carrier, seen) = silent.await.unwrap();
    assert!(
        seen >= 2,
        "the unanswered OPTIONS was sent again ({seen} seen)"
    );
    let answering = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, from) = carrier.recv_from(&mut buf).await.unwrap();
            let Ok(callisto_sip::Message::Request(req)) = callisto_sip::parse_message(&buf[..n])
            else {
                continue;
            };
            let ok = callisto_sip::Response::from_request(&req, 200, Some("carrier"));
            carrier.send_to(&ok.to_bytes(), from).await.unwrap();
        }
    });
    let up = wait_for_reach(&s, "answers again", |r| {
        matches!(r, TrunkReach::Reachable { .. })
    })
    .await;
    let TrunkReach::Reachable { at, .. } = up else {
        unreachable!()
    };
    assert!(
        at > since,
        "reachable at {at}, after being down since {since}"
    );
    answering.abort();
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_whose_host_does_not_resolve_is_shown_failed_naming_the_host() {
    let s = setup(false).await;
    let mut tr = trunk(s.trunk_port, true);
    tr.host = "carrier.invalid".into();
    replace_trunk(&s, &tr).await;
    s.node.refresh().await.unwrap();
    let status = s.repos.telephony.trunk_status(&s.t).await.unwrap();
    let Some(TrunkStatus::Failed { code: None, reason }) = &status else {
        panic!("{status:?}");
    };
    assert!(reason.contains("carrier.invalid"), "{reason}");
    // The SIP side goes on: an agent still registers.
    let phone_dir = peer_dir(s.dir.path(), "bob", 1000.0, 8, Wav::Pcm16);
    let phone = Baresip::start(&phone_dir, s.node.sip_addr, &s.bob);
    phone.wait_for("200 OK", Duration::from_secs(10));
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_call_each_other_by_short_number() {
    let s = setup(false).await;
    // Bob (extension 102) on baresip answers; ann dials 102 from sipp.
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 8, Wav::Pcm16);
    let bob_phone = Baresip::start(&bob_dir, s.node.sip_addr, &s.bob);
    bob_phone.wait_for("200 OK", Duration::from_secs(10));
    let ann_dir = peer_dir(s.dir.path(), "ann", 440.0, 8, Wav::Ulaw);
    let ann_phone = Sipp::agent_calls(&ann_dir, s.node.sip_addr, &s.ann, "102", "u1");
    ann_phone.finished(Duration::from_secs(30)).await;

    let calls = wait_for_calls(&s.repos, &s.t, 1).await;
    let call = &calls[0];
    assert_eq!(
        (call.direction, call.outcome),
        (Direction::Internal, Outcome::Answered)
    );
    assert_eq!(call.agent.as_ref(), Some(&s.ann.user), "the caller");
    assert_eq!((call.from.as_str(), call.to.as_str()), ("101", "102"));
    assert_eq!(call.line, None, "no trunk was used");
    let (left, right) = recording(&s.stores, call).await;
    let (ann_side, bob_side) = (tone_at(&left), tone_at(&right));
    assert!((ann_side - 440.0).abs() < 25.0, "ann sent {ann_side} Hz");
    assert!((bob_side - 1000.0).abs() < 25.0, "bob sent {bob_side} Hz");
    let heard = bob_phone.heard();
    assert!(heard.len() >= 8000, "bob heard {} samples", heard.len());
    let f = tone_at(&heard);
    assert!((f - 440.0).abs() < 25.0, "bob heard {f} Hz");
    s.node.shutdown().await;
}

/// baresip (1.0 on libre 1.1) refreshing its registration under the replay
/// check: each refresh goes out without credentials and answers the node's
/// fresh challenge with nonce-count 1, so every registration registers. (A
/// phone that reuses its nonce with a rising count is the raw client of
/// `bad_input::a_replayed_register_is_challenged_again_while_a_rising_count_registers`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_refreshing_its_registration_registers_again() {
    let s = setup(false).await;
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 1, Wav::Pcm16);
    // 60 s is the shortest registration the node takes; libre refreshes before it ends.
    let phone = Baresip::start_with(&bob_dir, s.node.sip_addr, &s.bob, 60, &["-s"]);
    let mut nonces = Vec::new();
    for (i, limit) in [10, 80].into_iter().enumerate() {
        let sent = phone.wait_for("nc=00000001", Duration::from_secs(limit));
        let answer = phone.wait_for("SIP/2.0 ", Duration::from_secs(5));
        assert!(
            answer.lines().last().unwrap().contains("200 OK"),
            "registration {i} refused:\n{sent}{answer}"
        );
        nonces.push(last_nonce(&sent).map(String::from));
    }
    assert_ne!(
        nonces[0], nonces[1],
        "each registration had its own challenge"
    );
    s.node.shutdown().await;
}

/// The nonce of the last credentials (or challenge) in a SIP trace.
fn last_nonce(trace: &str) -> Option<&str> {
    let at = trace.rfind("nonce=\"")? + "nonce=\"".len();
    trace[at..].split('"').next()
}
