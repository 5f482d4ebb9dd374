//! Bad SIP input from the network: each gets the status that names the
//! problem, nothing else changes, and the node keeps serving everyone else.

use crate::support;

use callisto_node::guard::GuardConfig;
use callisto_node::{Node, NodeConfig};
use callisto_sip::digest;
use callisto_sip::{Message, Response, parse_message};
use callisto_store::Repos;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::net::UdpSocket;

struct Client {
    sock: UdpSocket,
    node: SocketAddr,
    n: u32,
}

impl Client {
    async fn new(node: SocketAddr) -> Client {
        Client {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            node,
            n: 0,
        }
    }

    /// Sends `text` (with `{branch}`, `{me}`, `{n}` filled in) and returns the
    /// final response, or `None` if nothing came back within a second.
    async fn send(&mut self, text: &str) -> Option<Response> {
        self.n += 1;
        let me = self.sock.local_addr().unwrap().to_string();
        let branch = format!("z9hG4bK-test-{}", self.n);
        let msg = text
            .replace("{branch}", &branch)
            .replace("{me}", &me)
            .replace("{n}", &self.n.to_string())
            .replace('\n', "\r\n");
        self.sock.send_to(msg.as_bytes(), self.node).await.unwrap();
        let mut buf = vec![0u8; 65_536];
        loop {
            let r =
                tokio::time::timeout(Duration::from_secs(1), self.sock.recv_from(&mut buf)).await;
            let (n, _) = r.ok()?.unwrap();
            // Retransmitted answers to earlier requests (an unacknowledged
            // 401 to INVITE) are not this request's answer.
            if let Ok(Message::Response(resp)) = parse_message(&buf[..n])
                && resp.status >= 200
                && resp
                    .headers
                    .top_via()
                    .ok()
                    .and_then(|v| v.branch().map(String::from))
                    == Some(branch.clone())
            {
                return Some(resp);
            }
        }
    }
}

fn register(user: &str, auth: Option<&str>) -> String {
    format!(
        "REGISTER sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {{me}};branch={{branch}}\n\
         From: <sip:{user}@callisto>;tag=t{{n}}\nTo: <sip:{user}@callisto>\nCall-ID: reg-{{n}}\n\
         CSeq: {{n}} REGISTER\nContact: <sip:{user}@{{me}}>\nMax-Forwards: 70\nExpires: 300\n{}Content-Length: 0\n\n",
        auth.map(|a| format!("Authorization: {a}\n"))
            .unwrap_or_default()
    )
}

/// Authorization for `user` answering the challenge in `resp` (its first use).
fn answer(resp: &Response, method: &str, uri: &str, user: &str, password: &str) -> String {
    answer_nc(resp, method, uri, user, password, 1)
}

/// As [`answer`], for the `nc`-th use of the challenge's nonce.
fn answer_nc(
    resp: &Response,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    nc: u32,
) -> String {
    let challenge = resp.headers.challenges(false).unwrap().remove(0);
    let method = callisto_sip::Method::from(method);
    digest::answer(&challenge, &method, uri, user, password, "cafe", nc)
        .unwrap()
        .to_string()
}

async fn node(guard: GuardConfig) -> (tempfile::TempDir, Node, Agent, Agent) {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let (_, ann, bob) = company(&repos).await;
    let mut cfg = NodeConfig::local(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("spool"),
        b"secret".to_vec(),
    );
    cfg.guard = guard;
    let node = Node::start(cfg, stores).await.unwrap();
    (dir, node, ann, bob)
}

#[tokio::test]
async fn malformed_and_unknown_requests_get_their_status_and_the_node_carries_on() {
    let (_dir, node, _, _) = node(GuardConfig::default()).await;
    let mut c = Client::new(node.sip_addr).await;
    // A header line without a colon: 400, and the reason names the line.
    let bad = c
        .send("OPTIONS sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\nFrom: <sip:x@y>;tag=1\nTo: <sip:callisto>\nCall-ID: bad-{n}\nCSeq: 1 OPTIONS\nthis is no header\nContent-Length: 0\n\n")
        .await
        .expect("an answer");
    assert_eq!(bad.status, 400);
    assert!(
        bad.reason.to_lowercase().contains("header"),
        "{}",
        bad.reason
    );
    // An unknown method: 501.
    let unknown = c
        .send("FROBNICATE sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\nFrom: <sip:x@y>;tag=1\nTo: <sip:callisto>\nCall-ID: u-{n}\nCSeq: 1 FROBNICATE\nMax-Forwards: 70\nContent-Length: 0\n\n")
        .await
        .unwrap();
    assert_eq!(unknown.status, 501);
    // A BYE for no call: 481.
    let stray = c
        .send("BYE sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\nFrom: <sip:x@y>;tag=1\nTo: <sip:callisto>;tag=2\nCall-ID: nocall-{n}\nCSeq: 1 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n")
        .await
        .unwrap();
    assert_eq!(stray.status, 481);
    // Binary garbage and an oversized datagram are dropped; OPTIONS still works.
    c.sock.send_to(&[0xff; 300], node.sip_addr).await.unwrap();
    c.sock
        .send_to(&vec![b'A'; 60_000], node.sip_addr)
        .await
        .unwrap();
    let ok = c
        .send("OPTIONS sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\nFrom: <sip:x@y>;tag=1\nTo: <sip:callisto>\nCall-ID: o-{n}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n")
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(
        ok.headers
            .get(&callisto_sip::HeaderName::Allow)
            .unwrap()
            .contains("INVITE")
    );
    node.shutdown().await;
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_a_guessing_address_is_shut_out_for_a_while() {
    let (_dir, node, ann, bob) = node(GuardConfig {
        max_failures: 3,
        window: Duration::from_secs(60),
        ban: Duration::from_secs(300),
    })
    .await;
    let mut c = Client::new(node.sip_addr).await;
    let challenge = c.send(&register(&ann.username, None)).await.unwrap();
    assert_eq!(challenge.status, 401);
    // The right password registers ann.
    let auth = answer(
        &challenge,
        "REGISTER",
        "sip:callisto",
        &ann.username,
        &ann.password,
    );
    assert_eq!(
        c.send(&register(&ann.username, Some(&auth)))
            .await
            .unwrap()
            .status,
        200
    );
    // Ann's credentials do not register bob's account.
    let challenge = c.send(&register(&bob.username, None)).await.unwrap();
    let auth = answer(
        &challenge,
        "REGISTER",
        "sip:callisto",
        &ann.username,
        &ann.password,
    );
    let resp = c.send(&register(&bob.username, Some(&auth))).await.unwrap();
    assert_eq!(resp.status, 403);
    assert!(resp.reason.contains("not your account"), "{}", resp.reason);

    // A guesser from another address: wrong passwords are 403 until it is banned.
    let mut guesser = Client::new(node.sip_addr).await;
    let challenge = guesser.send(&register(&bob.username, None)).await.unwrap();
    for i in 0..4 {
        let auth = answer(
            &challenge,
            "REGISTER",
            "sip:callisto",
            &bob.username,
            &format!("guess{i}"),
        );
        let resp = guesser
            .send(&register(&bob.username, Some(&auth)))
            .await
            .unwrap();
        assert_eq!(resp.status, 403, "guess {i}");
        assert!(resp.reason.contains("wrong response"), "{}", resp.reason);
    }
    // Banned: the next request is not even answered — the same address is
    // ignored whatever it sends (the guard works per IP, and both clients
    // share 127.0.0.1 here, so ann's phone is shut out too).
    let auth = answer(
        &challenge,
        "REGISTER",
        "sip:callisto",
        &bob.username,
        &bob.password,
    );
    assert!(
        guesser
            .send(&register(&bob.username, Some(&auth)))
            .await
            .is_none()
    );
    node.shutdown().await;
}

#[tokio::test]
async fn calls_stay_inside_the_company_and_need_a_login() {
    let (_dir, node, ann, _) = node(GuardConfig::default()).await;
    let mut c = Client::new(node.sip_addr).await;
    let invite = |to: &str, auth: Option<&str>| {
        let sdp = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 40000 RTP/AVP 0\n";
        format!(
            "INVITE sip:{to}@callisto SIP/2.0\nVia: SIP/2.0/UDP {{me}};branch={{branch}}\n\
             From: <sip:x@callisto>;tag=f{{n}}\nTo: <sip:{to}@callisto>\nCall-ID: inv-{{n}}\nCSeq: 1 INVITE\n\
             Contact: <sip:x@{{me}}>\nMax-Forwards: 70\n{}Content-Type: application/sdp\nContent-Length: {}\n\n{}",
            auth.map(|a| format!("Authorization: {a}\n"))
                .unwrap_or_default(),
            sdp.replace('\n', "\r\n").len(),
            sdp
        )
    };
    // No credentials: challenged.
    let challenge = c.send(&invite("102", None)).await.unwrap();
    assert_eq!(challenge.status, 401);
    // A short number of nobody in ann's company (whatever other companies
    // use it) is not found; an outside number without a trunk is refused.
    let auth = answer(
        &challenge,
        "INVITE",
        "sip:555@callisto",
        &ann.username,
        &ann.password,
    );
    let resp = c.send(&invite("555", Some(&auth))).await.unwrap();
    assert_eq!(resp.status, 404, "{}", resp.reason);
    // The phone reuses the nonce, counting up as RFC 7616 §3.4 asks.
    let auth = answer_nc(
        &challenge,
        "INVITE",
        "sip:+79123456789@callisto",
        &ann.username,
        &ann.password,
        2,
    );
    let resp = c.send(&invite("+79123456789", Some(&auth))).await.unwrap();
    assert_eq!(resp.status, 403);
    assert!(resp.reason.contains("trunk"), "{}", resp.reason);
    // Bob has not registered: 480.
    let auth = answer_nc(
        &challenge,
        "INVITE",
        "sip:102@callisto",
        &ann.username,
        &ann.password,
        3,
    );
    let resp = c.send(&invite("102", Some(&auth))).await.unwrap();
    assert_eq!(
        resp.status,
        480,
        "{} {:?}",
        resp.reason,
        resp.headers.get(&callisto_sip::HeaderName::WwwAuthenticate)
    );
    node.shutdown().await;
}

#[tokio::test]
async fn a_replayed_register_is_challenged_again_while_a_rising_count_registers() {
    let (_dir, node, ann, _) = node(GuardConfig::default()).await;
    let mut c = Client::new(node.sip_addr).await;
    let challenge = c.send(&register(&ann.username, None)).await.unwrap();
    let nonce = |r: &Response| {
        r.headers.challenges(false).unwrap()[0]
            .get("nonce")
            .map(String::from)
    };
    let auth = |r: &Response, nc| {
        answer_nc(
            r,
            "REGISTER",
            "sip:callisto",
            &ann.username,
            &ann.password,
            nc,
        )
    };
    let first = auth(&challenge, 1);
    let resp = c
        .send(&register(&ann.username, Some(&first)))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    // A refresh reusing the nonce with the next count (RFC 7616 §3.4): registered.
    let second = auth(&challenge, 2);
    let resp = c
        .send(&register(&ann.username, Some(&second)))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    // A captured request sent again as a new request (a retransmission of
    // the same transaction would only get its answer again): challenged
    // afresh, stale=true, whichever count it carried.
    for captured in [&first, &second] {
        let replay = c
            .send(&register(&ann.username, Some(captured)))
            .await
            .unwrap();
        assert_eq!(replay.status, 401, "{}", replay.reason);
        let ch = replay.headers.challenges(false).unwrap().remove(0);
        assert_eq!(ch.get("stale"), Some("true"));
        assert_ne!(nonce(&replay), nonce(&challenge), "a fresh nonce");
    }
    // The phone answers the fresh challenge and goes on.
    let fresh = c.send(&register(&ann.username, None)).await.unwrap();
    let resp = c
        .send(&register(&ann.username, Some(&auth(&fresh, 1))))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    node.shutdown().await;
}
