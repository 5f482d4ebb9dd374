//! Transactions on a virtual clock: what a peer sees on the wire and when.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callisto_sip::{
    Config, Endpoint, Event, HeaderName, Message, Method, Peer, Request, Response, Timers,
    Transmit, Transport, TxId, parse_message,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn udp() -> Peer {
    Peer::udp(addr("192.0.2.10:5060"))
}

fn tcp() -> Peer {
    Peer::stream(
        Transport::Tcp,
        addr("192.0.2.10:5060"),
        Some(callisto_sip::ConnId(7)),
    )
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn request(method: &str, branch: &str, transport: &str) -> Request {
    let text = format!(
        "{method} sip:bob@192.0.2.10 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 192.0.2.1:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:proxy.example.com;lr>\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: call-1@192.0.2.1\r\n\
         CSeq: 5 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()).expect("test request") {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn response_to(req: &Request, status: u16, tag: &str) -> Response {
    let resp = Response::from_request(req, status, Some(tag));
    // Through the wire and back, as the peer would send it.
    match parse_message(&resp.to_bytes()).expect("test response") {
        Message::Response(r) => r,
        Message::Request(_) => unreachable!(),
    }
}

struct Harness {
    ep: Endpoint,
    t0: Instant,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(Config::default())
    }

    fn with(cfg: Config) -> Harness {
        Harness {
            ep: Endpoint::new(cfg, 42),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms_: u64) -> Instant {
        self.t0 + ms(ms_)
    }

    fn sent(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.ep.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// Runs timers up to `until_ms`, returning (ms, transmit) for each send.
    fn run(&mut self, until_ms: u64) -> Vec<(u64, Transmit)> {
        let mut out = Vec::new();
        let end = self.at(until_ms);
        while let Some(t) = self.ep.poll_timeout() {
            if t > end {
                break;
            }
            self.ep.handle_timeout(t);
            let at = (t - self.t0).as_millis() as u64;
            out.extend(self.sent().into_iter().map(|x| (at, x)));
        }
        out
    }

    fn recv(&mut self, at_ms: u64, from: Peer, msg: impl Into<Message>) {
        let msg: Message = msg.into();
        // Always through bytes: what the node would really hand over.
        let now = self.at(at_ms);
        self.ep
            .handle_datagram(now, from, &msg.to_bytes())
            .expect("message parses");
    }
}

fn parsed(t: &Transmit) -> Message {
    parse_message(&t.bytes).expect("endpoint sent a valid message")
}

fn sent_request(t: &Transmit) -> Request {
    match parsed(t) {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {}", r.status),
    }
}

fn sent_response(t: &Transmit) -> Response {
    match parsed(t) {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {}", r.method),
    }
}

fn times(sends: &[(u64, Transmit)]) -> Vec<u64> {
    sends.iter().map(|(t, _)| *t).collect()
}

#[test]
fn invite_over_udp_retransmits_with_doubling_then_times_out_at_64_t1() {
    let mut h = Harness::new();
    let tx =
        h.ep.send_request(h.at(0), udp(), request("INVITE", "z9hG4bKc1", "UDP"))
            .unwrap();
    assert_eq!(h.sent().len(), 1);
    let sends = h.run(40_000);
    assert_eq!(times(&sends), [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(h.events(), [Event::Timeout { tx }]);
    assert!(h.ep.is_empty());
}

#[test]
fn invite_over_tcp_is_sent_once_and_still_times_out() {
    let mut h = Harness::new();
    let tx =
        h.ep.send_request(h.at(0), tcp(), request("INVITE", "z9hG4bKc2", "TCP"))
            .unwrap();
    let first = h.sent();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].dest.conn, Some(callisto_sip::ConnId(7)));
    assert!(h.run(31_999).is_empty());
    assert!(h.events().is_empty());
    h.run(32_000);
    assert_eq!(h.events(), [Event::Timeout { tx }]);
}

#[test]
fn non_invite_over_udp_caps_retransmits_at_t2() {
    let mut h = Harness::new();
    let tx =
        h.ep.send_request(h.at(0), udp(), request("OPTIONS", "z9hG4bKc3", "UDP"))
            .unwrap();
    h.sent();
    let sends = h.run(40_000);
    assert_eq!(
        times(&sends),
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(h.events(), [Event::Timeout { tx }]);
}

#[test]
fn timers_are_configurable() {
    let mut h = Harness::with(Config {
        timers: Timers {
            t1: ms(100),
            t2: ms(400),
            t4: ms(1000),
        },
        ..Config::default()
    });
    let tx =
        h.ep.send_request(h.at(0), udp(), request("OPTIONS", "z9hG4bKc4", "UDP"))
            .unwrap();
    h.sent();
    let sends = h.run(10_000);
    assert_eq!(times(&sends)[..5], [100, 300, 700, 1100, 1500]);
    assert_eq!(h.events(), [Event::Timeout { tx }]);
    assert_eq!(*times(&sends).last().unwrap(), 6300);
}

#[test]
fn non_invite_provisional_slows_retransmits_and_final_is_absorbed_until_timer_k() {
    let mut h = Harness::new();
    let req = request("REGISTER", "z9hG4bKc5", "UDP");
    let tx = h.ep.send_request(h.at(0), udp(), req.clone()).unwrap();
    h.sent();
    h.recv(100, udp(), response_to(&req, 100, "r"));
    assert!(
        matches!(&h.events()[..], [Event::Response { tx: t, response }] if *t == tx && response.status == 100)
    );
    // E fires at 500 ms, then every T2 in Proceeding.
    assert_eq!(times(&h.run(9_000)), [500, 4500, 8500]);
    h.recv(9_000, udp(), response_to(&req, 200, "r"));
    assert_eq!(h.events().len(), 1);
    h.recv(9_100, udp(), response_to(&req, 200, "r"));
    assert!(h.events().is_empty(), "retransmitted final absorbed");
    assert!(h.run(13_999).is_empty());
    assert_eq!(h.ep.len(), 1);
    h.run(14_000);
    assert!(h.ep.is_empty(), "Timer K = T4 ended it");
}

#[test]
fn failure_to_invite_is_acked_by_the_transaction() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKc6", "UDP");
    let tx = h.ep.send_request(h.at(0), udp(), req.clone()).unwrap();
    h.sent();
    h.recv(100, udp(), response_to(&req, 486, "callee"));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::Response { tx: t, response }] if *t == tx && response.status == 486)
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    let ack = sent_request(&sent[0]);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, req.uri);
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKc6"));
    assert_eq!(ack.headers.vias().unwrap().len(), 1);
    assert_eq!(ack.headers.to_addr().unwrap().tag(), Some("callee"));
    assert_eq!(ack.headers.from_addr().unwrap().tag(), Some("a1"));
    assert_eq!(ack.headers.call_id().unwrap(), "call-1@192.0.2.1");
    let cseq = ack.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (5, Method::Ack));
    assert_eq!(ack.headers.routes().unwrap().len(), 1);
    // A retransmitted 486 gets the same ACK again and no second event.
    h.recv(600, udp(), response_to(&req, 486, "callee"));
    let again = h.sent();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, sent[0].bytes);
    assert!(h.events().is_empty());
    // No retransmission of the INVITE after the final response.
    assert!(h.run(32_099).is_empty());
    assert_eq!(h.ep.len(), 1);
    h.run(32_100);
    assert!(h.ep.is_empty(), "Timer D ended it");
}

#[test]
fn failure_over_tcp_ends_at_once() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKc7", "TCP");
    h.ep.send_request(h.at(0), tcp(), req.clone()).unwrap();
    h.sent();
    h.recv(100, tcp(), response_to(&req, 503, "x"));
    assert_eq!(h.sent().len(), 1, "ACK");
    assert!(h.ep.is_empty(), "Timer D is zero on reliable transports");
}

#[test]
fn invite_2xx_retransmissions_are_absorbed_and_reacked() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKc8", "UDP");
    let tx = h.ep.send_request(h.at(0), udp(), req.clone()).unwrap();
    h.sent();
    h.recv(100, udp(), response_to(&req, 180, "b1"));
    h.recv(200, udp(), response_to(&req, 200, "b1"));
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    let mut ack = Request::new(Method::Ack, req.uri.clone());
    ack.headers = response_to(&req, 200, "b1").headers;
    ack.headers.set(HeaderName::CSeq, "5 ACK");
    h.ep.send_ack(h.at(210), tx, udp(), ack.clone());
    assert_eq!(h.sent().len(), 1);
    h.recv(700, udp(), response_to(&req, 200, "b1"));
    assert!(h.events().is_empty(), "retransmitted 2xx absorbed");
    let re = h.sent();
    assert_eq!(re.len(), 1);
    assert_eq!(sent_request(&re[0]).method, Method::Ack);
    // Another fork answering is a new dialog for the TU.
    h.recv(800, udp(), response_to(&req, 200, "b2"));
    assert_eq!(h.events().len(), 1);
    // Timer M = 64*T1 after the first 2xx, then late 2xx go to the TU as strays.
    h.run(32_200);
    assert!(h.ep.is_empty());
    h.recv(40_000, udp(), response_to(&req, 200, "b1"));
    assert!(matches!(&h.events()[..], [Event::StrayResponse { .. }]));
}

#[test]
fn cancel_waits_for_a_provisional_then_goes_out_with_the_invite_branch() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKc9", "UDP");
    let tx = h.ep.send_request(h.at(0), udp(), req.clone()).unwrap();
    h.sent();
    let ctx = h.ep.cancel(h.at(100), tx).unwrap();
    assert!(h.sent().is_empty(), "no CANCEL before a provisional (§9.1)");
    h.recv(300, udp(), response_to(&req, 180, "b"));
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    let cancel = sent_request(&sent[0]);
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(
        cancel.headers.top_via().unwrap().branch(),
        Some("z9hG4bKc9")
    );
    assert_eq!(cancel.headers.cseq().unwrap().seq, 5);
    assert_eq!(cancel.headers.to_addr().unwrap().tag(), None);
    h.events();
    h.recv(400, udp(), response_to(&cancel, 200, "b"));
    assert!(
        matches!(&h.events()[..], [Event::Response { tx: t, response }] if *t == ctx && response.status == 200)
    );
    h.recv(500, udp(), response_to(&req, 487, "b"));
    assert!(
        matches!(&h.events()[..], [Event::Response { tx: t, response }] if *t == tx && response.status == 487)
    );
    assert_eq!(sent_request(&h.sent()[0]).method, Method::Ack);
}

#[test]
fn server_invite_sends_100_after_200ms_and_repeats_responses_on_retransmits() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs1", "UDP");
    h.recv(0, udp(), req.clone());
    let ev = h.events();
    let Event::Request { tx, from, request } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(*from, udp());
    assert_eq!(request.method, Method::Invite);
    let tx = *tx;
    let s = h.run(199);
    assert!(s.is_empty());
    let s = h.run(200);
    assert_eq!(sent_response(&s[0].1).status, 100);
    // INVITE retransmission: the 100 again, no new event.
    h.recv(500, udp(), req.clone());
    assert!(h.events().is_empty());
    assert_eq!(sent_response(&h.sent()[0]).status, 100);
    // Failure response: retransmitted (Timer G) until ACK.
    let busy = Response::from_request(request, 486, Some("uas"));
    h.ep.send_response(h.at(1000), tx, busy).unwrap();
    assert_eq!(sent_response(&h.sent()[0]).status, 486);
    assert_eq!(times(&h.run(8_600)), [1500, 2500, 4500, 8500]);
    h.recv(8_600, udp(), req.clone());
    assert_eq!(sent_response(&h.sent()[0]).status, 486);
    let mut ack = request.clone();
    ack.method = Method::Ack;
    ack.headers.set(HeaderName::CSeq, "5 ACK");
    ack.headers
        .set(HeaderName::To, "<sip:bob@example.com>;tag=uas");
    h.recv(8_700, udp(), ack.clone());
    assert!(
        h.events().is_empty(),
        "ACK for a failure stays in the transaction"
    );
    assert!(h.run(13_699).is_empty(), "no retransmission after ACK");
    h.recv(9_000, udp(), ack);
    assert!(h.events().is_empty(), "Timer I absorbs ACK retransmissions");
    h.run(13_700);
    assert!(h.ep.is_empty());
}

#[test]
fn server_invite_without_ack_times_out_with_timer_h() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs2", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    h.ep.send_response(h.at(0), tx, Response::from_request(&req, 180, Some("t")))
        .unwrap();
    h.ep.send_response(h.at(0), tx, Response::from_request(&req, 404, Some("t")))
        .unwrap();
    h.sent();
    let s = h.run(40_000);
    assert!(s.iter().all(|(_, t)| sent_response(t).status == 404));
    assert!(s.iter().all(|(at, _)| *at < 32_000));
    assert_eq!(h.events(), [Event::Timeout { tx }]);
}

#[test]
fn early_provisional_from_tu_replaces_100_trying() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs3", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    h.ep.send_response(h.at(50), tx, Response::from_request(&req, 180, Some("t")))
        .unwrap();
    h.sent();
    assert!(h.run(1_000).is_empty(), "no 100 Trying after the TU's 180");
}

#[test]
fn server_2xx_is_retransmitted_until_the_ack_which_goes_to_the_tu() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs4", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    let ok = Response::from_request(&req, 200, Some("uas"));
    h.ep.send_response(h.at(10), tx, ok).unwrap();
    h.sent();
    assert_eq!(times(&h.run(4_000)), [510, 1510, 3510]);
    // INVITE retransmission in Accepted is absorbed (RFC 6026).
    h.recv(4_000, udp(), req.clone());
    assert!(h.events().is_empty());
    let mut ack = request("ACK", "z9hG4bKnewbranch", "UDP");
    ack.headers
        .set(HeaderName::To, "<sip:bob@example.com>;tag=uas");
    h.recv(4_100, udp(), ack);
    assert!(matches!(&h.events()[..], [Event::Ack { tx: t, .. }] if *t == tx));
    assert!(h.run(40_000).is_empty(), "no 2xx after the ACK");
    assert!(h.events().is_empty());
    assert!(h.ep.is_empty(), "Timer L ended it");
}

#[test]
fn server_2xx_never_acked_is_reported() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs5", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    h.ep.send_response(h.at(0), tx, Response::from_request(&req, 200, Some("u")))
        .unwrap();
    let s = h.run(40_000);
    assert_eq!(*times(&s).last().unwrap(), 31_500);
    assert_eq!(h.events(), [Event::Timeout { tx }]);
}

#[test]
fn server_non_invite_absorbs_then_repeats_final_until_timer_j() {
    let mut h = Harness::new();
    let req = request("OPTIONS", "z9hG4bKs6", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    h.recv(400, udp(), req.clone());
    assert!(
        h.sent().is_empty() && h.events().is_empty(),
        "absorbed while Trying"
    );
    h.ep.send_response(h.at(500), tx, Response::from_request(&req, 200, Some("t")))
        .unwrap();
    assert_eq!(h.sent().len(), 1);
    assert!(
        h.run(30_000).is_empty(),
        "no retransmission of non-INVITE responses"
    );
    h.recv(30_000, udp(), req.clone());
    assert_eq!(sent_response(&h.sent()[0]).status, 200);
    assert!(h.events().is_empty());
    h.run(32_500);
    assert!(h.ep.is_empty(), "Timer J");
    h.recv(33_000, udp(), req);
    assert!(
        matches!(&h.events()[..], [Event::Request { .. }]),
        "a new transaction after J"
    );
}

#[test]
fn server_non_invite_over_tcp_ends_with_its_final_response() {
    let mut h = Harness::new();
    let req = request("OPTIONS", "z9hG4bKs7", "TCP");
    h.recv(0, tcp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    h.ep.send_response(h.at(1), tx, Response::from_request(&req, 200, Some("t")))
        .unwrap();
    let s = h.sent();
    assert_eq!(s[0].dest, tcp());
    assert!(h.ep.is_empty());
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn cancel_is_answered_and_reported_for_its_invite() {
    let mut h = Harness::new();
    let req = request("INVITE", "z9hG4bKs8", "UDP");
    h.recv(0, udp(), req.clone());
    let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
        panic!()
    };
    let cancel = request("CANCEL", "z9hG4bKs8", "UDP");
    h.recv(100, udp(), cancel.clone());
    let s = h.sent();
    let ok = sent_response(&s[0]);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.cseq().unwrap().method, Method::Cancel);
    assert!(matches!(&h.events()[..], [Event::Cancelled { tx: t, .. }] if *t == tx));
    h.ep.send_response(h.at(110), tx, Response::from_request(&req, 487, Some("t")))
        .unwrap();
    assert_eq!(sent_response(&h.sent()[0]).status, 487);
    // A CANCEL retransmission gets the 200 again, without a second report.
    h.recv(600, udp(), cancel);
    assert_eq!(sent_response(&h.sent()[0]).status, 200);
    assert!(h.events().is_empty());
    // CANCEL for nothing.
    h.recv(700, udp(), request("CANCEL", "z9hG4bKnone", "UDP"));
    assert_eq!(sent_response(&h.sent()[0]).status, 481);
}

#[test]
fn requests_are_stamped_with_received_and_rport() {
    let mut h = Harness::new();
    let mut req = request("REGISTER", "z9hG4bKs9", "UDP");
    req.headers.set(
        HeaderName::Via,
        "SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKs9",
    );
    let nat = Peer::udp(addr("203.0.113.7:40123"));
    h.recv(0, nat, req);
    let Some(Event::Request { tx, request, from }) = h.ep.poll_event() else {
        panic!()
    };
    assert_eq!(from, nat);
    let via = request.headers.top_via().unwrap();
    assert_eq!(via.received(), Some("203.0.113.7"));
    assert_eq!(via.rport(), Some(Some(40123)));
    h.ep.send_response(
        h.at(1),
        tx,
        Response::from_request(&request, 200, Some("t")),
    )
    .unwrap();
    let s = h.sent();
    assert_eq!(s[0].dest, nat, "the answer follows the NAT binding");
    assert_eq!(
        sent_response(&s[0]).headers.top_via().unwrap().rport(),
        Some(Some(40123))
    );
}

#[test]
fn garbage_gets_a_400_naming_the_problem() {
    let mut h = Harness::new();
    let bad = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 99999999999 OPTIONS\r\n\r\n";
    let err = h.ep.handle_datagram(h.at(0), udp(), bad).unwrap_err();
    assert_eq!(err.status(), 400);
    let s = h.sent();
    // The answer copies the broken CSeq as received (§8.2.6), so read it as text.
    let text = String::from_utf8_lossy(&s[0].bytes);
    let status_line = text.lines().next().unwrap();
    assert!(
        status_line.starts_with("SIP/2.0 400 Bad Request ("),
        "{status_line}"
    );
    assert!(status_line.contains("CSeq"), "{status_line}");
    assert!(
        text.contains("\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1;received=192.0.2.10\r\n")
            || text.contains("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"),
        "{text}"
    );
    assert!(
        h.ep.handle_datagram(h.at(0), udp(), b"\x00\xff garbage")
            .is_err()
    );
    assert!(h.sent().is_empty(), "nothing to answer");
}

#[test]
fn branches_come_from_the_seed() {
    let mk = || {
        let mut ep = Endpoint::new(Config::default(), 7);
        let mut req = request("OPTIONS", "x", "UDP");
        req.headers.set(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1");
        ep.send_request(Instant::now(), udp(), req).unwrap();
        ep.poll_transmit().unwrap().bytes
    };
    let a = mk();
    assert_eq!(a, mk());
    let r = match parse_message(&a).unwrap() {
        Message::Request(r) => r,
        _ => unreachable!(),
    };
    assert!(r.headers.top_via().unwrap().has_rfc3261_branch());
}

#[test]
fn transport_error_ends_transactions_to_that_peer() {
    let mut h = Harness::new();
    let tx: TxId =
        h.ep.send_request(h.at(0), tcp(), request("INVITE", "z9hG4bKe1", "TCP"))
            .unwrap();
    h.ep.handle_transport_error(h.at(1), tcp());
    assert_eq!(h.events(), [Event::TransportError { tx }]);
    assert!(h.ep.is_empty());
}

#[test]
fn many_calls_at_once_each_get_their_own_ack_and_timer() {
    let mut h = Harness::new();
    let mut calls = Vec::new();
    for i in 0..500u64 {
        let mut req = request("INVITE", &format!("z9hG4bKmany{i}"), "UDP");
        req.headers.set(HeaderName::CallId, format!("call-{i}"));
        h.recv(i, udp(), req.clone());
        let Some(Event::Request { tx, .. }) = h.ep.poll_event() else {
            panic!()
        };
        h.ep.send_response(h.at(i), tx, Response::from_request(&req, 200, Some("uas")))
            .unwrap();
        calls.push(tx);
    }
    h.sent();
    // The even calls' ACKs come in reverse order; each reaches its own call.
    for i in (0..500usize).rev().filter(|i| i % 2 == 0) {
        let mut ack = request("ACK", &format!("z9hG4bKack{i}"), "UDP");
        ack.headers.set(HeaderName::CallId, format!("call-{i}"));
        ack.headers
            .set(HeaderName::To, "<sip:bob@example.com>;tag=uas");
        h.recv(600, udp(), ack);
        assert!(matches!(&h.events()[..], [Event::Ack { tx, .. }] if *tx == calls[i]));
    }
    // The odd ones were never acknowledged: each is reported once its own
    // 2xx has been retransmitted for 64·T1, in the order they were answered.
    h.run(40_000);
    let timed_out: Vec<_> = h
        .events()
        .into_iter()
        .map(|e| match e {
            Event::Timeout { tx } => tx,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let odd: Vec<_> = calls.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(timed_out, odd);
    assert!(h.ep.is_empty());
    assert_eq!(h.ep.poll_timeout(), None);
}
