//! Registrar, outbound registration and qualify on a virtual clock.
#![allow(clippy::unwrap_used)] // fixtures built in helpers, outside #[test] fns

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callisto_sip::digest::{self, Algorithm, DigestServer, Verdict};
use callisto_sip::{
    Contact, HeaderName, Host, Ids, Message, Method, NameAddr, Peer, Qualify, QualifyConfig,
    Reachability, RegState, Registrar, RegistrarConfig, Registration, RegistrationConfig, Request,
    Response, Uri, Via, parse_message,
};

fn peer(s: &str) -> Peer {
    Peer::udp(s.parse::<SocketAddr>().expect("address"))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn register(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
    let mut text = format!(
        "REGISTER sip:callisto.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK{call_id}{cseq}\r\n\
         From: <sip:alice@callisto.example>;tag=ua\r\n\
         To: <sip:alice@Callisto.Example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         User-Agent: TestPhone/1.0\r\n"
    );
    for c in contacts {
        text.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        text.push_str(&format!("Expires: {e}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    match parse_message(text.as_bytes()).expect("REGISTER parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("not a request"),
    }
}

fn aor() -> Uri {
    Uri::parse("sip:alice@callisto.example").expect("uri")
}

fn contact_expires(resp: &Response) -> Vec<(String, u32)> {
    resp.headers
        .contacts()
        .unwrap()
        .iter()
        .map(|c| (c.addr().unwrap().uri.to_string(), c.expires().unwrap()))
        .collect()
}

#[test]
fn binds_refreshes_expires_and_looks_up() {
    let mut r = Registrar::new(RegistrarConfig::default(), 1);
    let t0 = Instant::now();
    let nat = peer("203.0.113.9:40000");
    let resp = r.handle_register(
        t0,
        nat,
        &register("c1", 1, &["<sip:alice@10.0.0.5:5060>;q=0.5"], Some(600)),
    );
    assert_eq!(resp.status, 200);
    assert!(resp.headers.to_addr().unwrap().tag().is_some());
    assert_eq!(
        contact_expires(&resp),
        [("sip:alice@10.0.0.5:5060".to_string(), 600)]
    );
    let resp = r.handle_register(
        t0,
        peer("198.51.100.1:5060"),
        &register("c2", 1, &["<sip:alice@192.0.2.50>;expires=120"], None),
    );
    assert_eq!(contact_expires(&resp).len(), 2);

    let live = r.lookup(t0 + secs(10), &aor());
    assert_eq!(live.len(), 2);
    assert_eq!(
        live[0].contact.uri.to_string(),
        "sip:alice@192.0.2.50",
        "q=1.0 first"
    );
    assert_eq!(live[1].source, nat, "the binding remembers its flow");
    assert_eq!(live[1].user_agent.as_deref(), Some("TestPhone/1.0"));

    assert_eq!(
        r.lookup(t0 + secs(121), &aor()).len(),
        1,
        "expired by the clock"
    );
    assert_eq!(r.poll_timeout(), Some(t0 + secs(120)));
    assert_eq!(r.purge(t0 + secs(121)), 1);
    // Refresh with a higher CSeq keeps one binding with the new lifetime.
    let resp = r.handle_register(
        t0 + secs(300),
        nat,
        &register("c1", 2, &["<sip:alice@10.0.0.5:5060>"], Some(900)),
    );
    assert_eq!(
        contact_expires(&resp),
        [("sip:alice@10.0.0.5:5060".to_string(), 900)]
    );
    // Removing one contact with expires=0.
    let resp = r.handle_register(
        t0 + secs(301),
        nat,
        &register("c1", 3, &["<sip:alice@10.0.0.5:5060>;expires=0"], None),
    );
    assert_eq!(resp.status, 200);
    assert!(contact_expires(&resp).is_empty());
    assert!(r.lookup(t0 + secs(302), &aor()).is_empty());
}

#[test]
fn star_removes_everything_only_with_expires_zero() {
    let mut r = Registrar::new(RegistrarConfig::default(), 1);
    let t0 = Instant::now();
    let p = peer("192.0.2.1:5060");
    r.handle_register(
        t0,
        p,
        &register(
            "c1",
            1,
            &["<sip:a@192.0.2.1>", "<sip:a@192.0.2.2>"],
            Some(600),
        ),
    );
    assert_eq!(r.lookup(t0, &aor()).len(), 2);
    assert_eq!(
        r.handle_register(t0, p, &register("c1", 2, &["*"], Some(60)))
            .status,
        400
    );
    assert_eq!(
        r.handle_register(t0, p, &register("c1", 2, &["*"], None))
            .status,
        400
    );
    let resp = r.handle_register(t0, p, &register("c9", 1, &["*"], Some(0)));
    assert_eq!(resp.status, 200);
    assert!(r.lookup(t0, &aor()).is_empty());
}

#[test]
fn cseq_must_grow_within_a_call_id() {
    let mut r = Registrar::new(RegistrarConfig::default(), 1);
    let t0 = Instant::now();
    let p = peer("192.0.2.1:5060");
    r.handle_register(t0, p, &register("c1", 5, &["<sip:a@192.0.2.1>"], Some(600)));
    let resp = r.handle_register(t0, p, &register("c1", 5, &["<sip:a@192.0.2.1>"], Some(600)));
    assert_eq!(resp.status, 500);
    assert_eq!(
        r.handle_register(t0, p, &register("c1", 4, &["*"], Some(0)))
            .status,
        500
    );
    // Another Call-ID may update the same contact.
    assert_eq!(
        r.handle_register(t0, p, &register("c2", 1, &["<sip:a@192.0.2.1>"], Some(600)))
            .status,
        200
    );
}

#[test]
fn too_brief_gets_423_and_too_long_is_cut() {
    let mut r = Registrar::new(RegistrarConfig::default(), 1);
    let t0 = Instant::now();
    let p = peer("192.0.2.1:5060");
    let resp = r.handle_register(t0, p, &register("c1", 1, &["<sip:a@192.0.2.1>"], Some(30)));
    assert_eq!(resp.status, 423);
    assert_eq!(resp.headers.min_expires().unwrap(), Some(60));
    assert!(r.lookup(t0, &aor()).is_empty(), "nothing changed");
    let resp = r.handle_register(
        t0,
        p,
        &register("c1", 2, &["<sip:a@192.0.2.1>"], Some(86_400)),
    );
    assert_eq!(contact_expires(&resp)[0].1, 3600);
    // A query (no Contact) lists the bindings.
    let resp = r.handle_register(t0 + secs(100), p, &register("c1", 3, &[], None));
    assert_eq!(contact_expires(&resp)[0].1, 3500);
}

// ---- outbound registration ----

fn trunk() -> RegistrationConfig {
    RegistrationConfig {
        registrar: Uri::parse("sip:sip.carrier.example").unwrap(),
        aor: Uri::parse("sip:700100@sip.carrier.example").unwrap(),
        contact: NameAddr::new(Uri::parse("sip:700100@203.0.113.20:5060").unwrap()),
        via: Via::new(
            "UDP",
            Host::V4("203.0.113.20".parse().unwrap()),
            Some(5060),
            "",
        ),
        username: "700100".into(),
        password: "trunkpass".into(),
        expires: 600,
        retry_min: secs(30),
        retry_max: secs(300),
        user_agent: Some("Callisto".into()),
    }
}

/// The carrier side: a registrar behind digest auth.
struct Carrier {
    auth: DigestServer,
    registrar: Registrar,
    ids: Ids,
}

impl Carrier {
    fn new() -> Carrier {
        Carrier {
            auth: DigestServer::new("carrier", b"carrier secret", 3600),
            registrar: Registrar::new(RegistrarConfig::default(), 9),
            ids: Ids::new(3),
        }
    }

    fn answer(&mut self, now: Instant, wall: u64, req: &Request) -> Response {
        // Through the wire, as the carrier would read it.
        let Message::Request(req) = parse_message(&req.to_bytes()).expect("REGISTER parses") else {
            panic!("not a request")
        };
        let creds = req.headers.credentials(false).unwrap();
        let ok = creds.first().map(|c| {
            self.auth.verify(wall, &Method::Register, c, |u, alg| {
                (u == "700100").then(|| digest::ha1(alg, u, "carrier", "trunkpass"))
            })
        });
        match ok {
            Some(Verdict::Ok { .. }) => {
                self.registrar
                    .handle_register(now, peer("203.0.113.20:5060"), &req)
            }
            other => {
                let stale = other == Some(Verdict::Stale);
                let mut r = Response::from_request(&req, 401, Some("c"));
                let ch = self
                    .auth
                    .challenge(wall, Algorithm::Sha256, stale, &mut self.ids);
                r.headers.push(HeaderName::WwwAuthenticate, ch.to_string());
                r
            }
        }
    }
}

#[test]
fn trunk_registers_through_a_challenge_and_refreshes_before_expiry() {
    let t0 = Instant::now();
    let mut reg = Registration::new(trunk(), 5);
    let mut carrier = Carrier::new();
    reg.start(t0);
    let first = reg.poll_request().unwrap();
    assert!(first.headers.credentials(false).unwrap().is_empty());
    assert_eq!(first.headers.expires().unwrap(), Some(600));
    assert_eq!(reg.poll_state(), Some(RegState::Registering));
    let challenge = carrier.answer(t0, 1000, &first);
    assert_eq!(challenge.status, 401);
    reg.handle_response(t0, &challenge);
    let second = reg.poll_request().unwrap();
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(
        second.headers.call_id().unwrap(),
        first.headers.call_id().unwrap()
    );
    let ok = carrier.answer(t0, 1000, &second);
    assert_eq!(ok.status, 200);
    reg.handle_response(t0 + Duration::from_millis(40), &ok);
    let expires_at = t0 + Duration::from_millis(40) + secs(600);
    assert_eq!(reg.poll_state(), Some(RegState::Registered { expires_at }));
    // Refresh 30 s before expiry, with credentials for the known nonce.
    assert_eq!(
        reg.poll_timeout(),
        Some(t0 + Duration::from_millis(40) + secs(570))
    );
    reg.handle_timeout(t0 + secs(571));
    let refresh = reg.poll_request().unwrap();
    let creds = refresh.headers.credentials(false).unwrap();
    assert_eq!(creds[0].get("nc"), Some("00000002"));
    let ok = carrier.answer(t0 + secs(571), 1571, &refresh);
    assert_eq!(ok.status, 200);
    reg.handle_response(t0 + secs(571), &ok);
    assert!(matches!(reg.state(), RegState::Registered { .. }));
    // Unregister.
    reg.stop(t0 + secs(600));
    let bye = reg.poll_request().unwrap();
    assert_eq!(bye.headers.expires().unwrap(), Some(0));
    let ok = carrier.answer(t0 + secs(600), 1600, &bye);
    reg.handle_response(t0 + secs(600), &ok);
    assert_eq!(reg.state(), &RegState::Unregistered);
    assert!(
        carrier
            .registrar
            .lookup(
                t0 + secs(601),
                &Uri::parse("sip:700100@sip.carrier.example").unwrap()
            )
            .is_empty()
    );
}

#[test]
fn wrong_password_fails_once_per_nonce_then_backs_off() {
    let t0 = Instant::now();
    let mut cfg = trunk();
    cfg.password = "wrong".into();
    let mut reg = Registration::new(cfg, 5);
    let mut carrier = Carrier::new();
    reg.start(t0);
    let r1 = reg.poll_request().unwrap();
    reg.handle_response(t0, &carrier.answer(t0, 1000, &r1));
    let r2 = reg.poll_request().unwrap();
    let again = carrier.answer(t0, 1000, &r2);
    // The carrier's new nonce differs; a stateful one would repeat it.
    let mut same_nonce = again.clone();
    let ch = r2.headers.credentials(false).unwrap()[0]
        .get("nonce")
        .unwrap()
        .to_string();
    same_nonce.headers.set(
        HeaderName::WwwAuthenticate,
        format!(r#"Digest realm="carrier", nonce="{ch}", algorithm=SHA-256, qop="auth""#),
    );
    reg.handle_response(t0, &same_nonce);
    assert!(
        reg.poll_request().is_none(),
        "the same nonce is not answered twice"
    );
    assert!(matches!(reg.state(), RegState::Failed { status: 401, .. }));
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(30)));
    reg.handle_timeout(t0 + secs(30));
    let r3 = reg.poll_request().unwrap();
    let mut fail = Response::from_request(&r3, 403, Some("x"));
    fail.reason = "Forbidden".into();
    reg.handle_response(t0 + secs(30), &fail);
    assert!(
        matches!(reg.state(), RegState::Failed { status: 403, reason } if reason == "Forbidden")
    );
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(90)), "backoff doubles");
}

#[test]
fn timeout_and_423_are_handled() {
    let t0 = Instant::now();
    let mut cfg = trunk();
    cfg.expires = 30;
    let mut reg = Registration::new(cfg, 5);
    reg.start(t0);
    let r1 = reg.poll_request().unwrap();
    reg.handle_tx_timeout(t0 + secs(32));
    assert_eq!(reg.state(), &RegState::Timeout);
    reg.handle_response(t0 + secs(33), &Response::from_request(&r1, 200, Some("x")));
    assert_eq!(
        reg.state(),
        &RegState::Timeout,
        "late answers to old requests are ignored"
    );
    reg.handle_timeout(t0 + secs(62));
    let r2 = reg.poll_request().unwrap();
    let mut brief = Response::from_request(&r2, 423, Some("x"));
    brief.headers.push(HeaderName::MinExpires, "120");
    reg.handle_response(t0 + secs(62), &brief);
    let r3 = reg.poll_request().unwrap();
    assert_eq!(r3.headers.expires().unwrap(), Some(120));
    let mut ok = Response::from_request(&r3, 200, Some("x"));
    ok.headers.push(
        HeaderName::Contact,
        "<sip:700100@203.0.113.20:5060>;expires=90",
    );
    reg.handle_response(t0 + secs(62), &ok);
    assert_eq!(
        reg.state(),
        &RegState::Registered {
            expires_at: t0 + secs(152)
        }
    );
    assert_eq!(
        reg.poll_timeout(),
        Some(t0 + secs(122)),
        "granted 90 s: refresh at 60 s"
    );
    let _ = Contact::Star;
}

#[test]
fn qualify_measures_rtt_and_reports_unreachable() {
    let t0 = Instant::now();
    let mut q = Qualify::new(
        QualifyConfig {
            target: Uri::parse("sip:sip.carrier.example").unwrap(),
            from: Uri::parse("sip:qualify@callisto.example").unwrap(),
            via: Via::new(
                "UDP",
                Host::V4("203.0.113.20".parse().unwrap()),
                Some(5060),
                "",
            ),
            interval: secs(30),
        },
        t0,
        11,
    );
    assert_eq!(q.poll_timeout(), Some(t0));
    q.handle_timeout(t0);
    let o = q.poll_request().unwrap();
    assert_eq!(o.method, Method::Options);
    assert_eq!(q.poll_timeout(), None, "one probe at a time");
    q.handle_response(
        t0 + Duration::from_millis(35),
        &Response::from_request(&o, 405, Some("x")),
    );
    assert_eq!(
        q.state(),
        Reachability::Reachable {
            rtt: Duration::from_millis(35)
        }
    );
    assert_eq!(
        q.poll_state(),
        Some(Reachability::Reachable {
            rtt: Duration::from_millis(35)
        })
    );
    q.handle_timeout(t0 + secs(30));
    let o2 = q.poll_request().unwrap();
    assert_eq!(o2.headers.cseq().unwrap().seq, 2);
    q.handle_tx_timeout(t0 + secs(62));
    assert_eq!(q.poll_state(), Some(Reachability::Unreachable));
    assert_eq!(q.poll_timeout(), Some(t0 + secs(60)));
}
