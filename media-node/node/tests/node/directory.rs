//! A company the node must read from the store: its requests wait for the
//! read while every other company's calls go on, one read serves all of
//! them, and how many may wait is bounded.

use crate::support;

use callisto_node::WaitLimits;
use callisto_sip::digest;
use callisto_sip::{Message, Response, parse_message};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::net::UdpSocket;

/// A phone speaking raw SIP over UDP: sends requests without waiting, and
/// collects final answers by branch.
struct Phone {
    sock: UdpSocket,
    node: SocketAddr,
    n: u32,
}

impl Phone {
    async fn new(node: SocketAddr) -> Phone {
        Phone {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            node,
            n: 0,
        }
    }

    /// A REGISTER of `user`, with `auth` as its Authorization if given.
    fn register(&mut self, user: &str, auth: Option<&str>) -> (String, String) {
        self.n += 1;
        let me = self.sock.local_addr().unwrap();
        let branch = format!("z9hG4bK-dir-{}", self.n);
        let text = format!(
            "REGISTER sip:callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\n\
             From: <sip:{user}@callisto>;tag=t{n}\nTo: <sip:{user}@callisto>\nCall-ID: dir-{n}\n\
             CSeq: 1 REGISTER\nContact: <sip:{user}@{me}>\nMax-Forwards: 70\nExpires: 300\n{auth}Content-Length: 0\n\n",
            n = self.n,
            auth = auth
                .map(|a| format!("Authorization: {a}\n"))
                .unwrap_or_default()
        )
        .replace('\n', "\r\n");
        (branch, text)
    }

    /// An INVITE from `user` to `to` with `auth`, and the CANCEL that would end it.
    fn invite(&mut self, user: &str, to: &str, auth: &str) -> (String, String, String) {
        self.n += 1;
        let me = self.sock.local_addr().unwrap();
        let branch = format!("z9hG4bK-dir-{}", self.n);
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
        let head = |method: &str, extra: &str| {
            format!(
                "{method} sip:{to}@callisto SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch}\n\
                 From: <sip:{user}@callisto>;tag=f{n}\nTo: <sip:{to}@callisto>\nCall-ID: inv-{n}\n\
                 CSeq: 1 {method}\nMax-Forwards: 70\n{extra}",
                n = self.n
            )
            .replace('\n', "\r\n")
        };
        let invite = head(
            "INVITE",
            &format!(
                "Contact: <sip:{user}@{me}>\nAuthorization: {auth}\nContent-Type: application/sdp\nContent-Length: {}\n\n",
                sdp.len()
            ),
        ) + sdp;
        let cancel = head("CANCEL", "Content-Length: 0\n\n");
        (branch, invite, cancel)
    }

    /// The first answer to `branch` with `status`, within `limit`.
    async fn answer_with(&self, branch: &str, status: u16, limit: Duration) -> Option<Response> {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 65_536];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (n, _) = tokio::time::timeout(left, self.sock.recv_from(&mut buf))
                .await
                .ok()?
                .unwrap();
            if let Ok(Message::Response(resp)) = parse_message(&buf[..n])
                && resp.status == status
                && resp
                    .headers
                    .top_via()
                    .ok()
                    .and_then(|v| v.branch().map(String::from))
                    .as_deref()
                    == Some(branch)
            {
                return Some(resp);
            }
        }
    }

    async fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.node).await.unwrap();
    }

    /// Final answers to `branches`, as they come, until all came or `limit`.
    async fn finals(&self, branches: &[String], limit: Duration) -> HashMap<String, Response> {
        let deadline = Instant::now() + limit;
        let mut got = HashMap::new();
        let mut buf = vec![0u8; 65_536];
        while got.len() < branches.len() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            let Ok(r) = tokio::time::timeout(left, self.sock.recv_from(&mut buf)).await else {
                break;
            };
            let (n, _) = r.unwrap();
            if let Ok(Message::Response(resp)) = parse_message(&buf[..n])
                && resp.status >= 200
                && let Some(b) = resp
                    .headers
                    .top_via()
                    .ok()
                    .and_then(|v| v.branch().map(String::from))
                && branches.contains(&b)
            {
                got.insert(b, resp);
            }
        }
        got
    }

    /// Sends a REGISTER and waits for its answer.
    async fn ask(&mut self, user: &str, auth: Option<&str>) -> Response {
        let (branch, text) = self.register(user, auth);
        self.send(&text).await;
        let mut got = self
            .finals(std::slice::from_ref(&branch), Duration::from_secs(5))
            .await;
        got.remove(&branch).expect("an answer")
    }
}

/// Authorization of `agent` answering the challenge in `resp`.
fn answer(resp: &Response, agent: &Agent) -> String {
    answer_for(resp, agent, "REGISTER", "sip:callisto")
}

/// As [`answer`], for a request `method` to `uri`.
fn answer_for(resp: &Response, agent: &Agent, method: &str, uri: &str) -> String {
    let challenge = resp.headers.challenges(false).unwrap().remove(0);
    digest::answer(
        &challenge,
        &callisto_sip::Method::from(method),
        uri,
        &agent.username,
        &agent.password,
        "cafe",
        1,
    )
    .unwrap()
    .to_string()
}

/// A node whose store takes `delay` to read company "slowco" (created
/// after the node started, so the node does not hold it), with the
/// periodic reload of all companies out of the way.
async fn slow_company_node(
    delay: Duration,
    tune: impl FnOnce(&mut callisto_node::NodeConfig),
) -> (Setup, Arc<SlowCompany>, Agent) {
    let mut slow = None;
    let s = setup_over(
        false,
        |items| {
            let w = Arc::new(SlowCompany::new(items, "slowco", delay));
            slow = Some(w.clone());
            w
        },
        |cfg| {
            cfg.trunk_refresh = Duration::from_secs(600);
            tune(cfg);
        },
    )
    .await;
    let (_, sam) = one_agent_company(&s.repos, "slowco", "sam").await;
    (s, slow.unwrap(), sam)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_slow_to_read_holds_up_its_own_requests_only() {
    let delay = Duration::from_secs(8);
    let (s, slow, sam) = slow_company_node(delay, |_| {}).await;

    // Sam (slowco) registers: the challenge needs no read, the answer does.
    let mut phone = Phone::new(s.node.sip_addr).await;
    let challenge = phone.ask(&sam.username, None).await;
    assert_eq!(challenge.status, 401);
    let started = Instant::now();
    let (branch, text) = phone.register(&sam.username, Some(&answer(&challenge, &sam)));
    phone.send(&text).await;
    let waiting = tokio::spawn(async move {
        let mut got = phone
            .finals(std::slice::from_ref(&branch), Duration::from_secs(20))
            .await;
        (Instant::now(), got.remove(&branch))
    });

    // Meanwhile ann (acme, known to the node) registers, calls a customer
    // through the trunk, talks 3 s and hangs up.
    let agent_dir = peer_dir(s.dir.path(), "agent", 1000.0, 6, Wav::Ulaw);
    let carrier_dir = peer_dir(s.dir.path(), "carrier", 440.0, 6, Wav::Ulaw);
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[],
        &[
            "-sf",
            scenario("trunk_answers.xml").to_str().unwrap(),
            "-p",
            &s.trunk_port.to_string(),
        ],
    );
    let call = Sipp::agent_calls(&agent_dir, s.node.sip_addr, &s.ann, "89123456789", "u1");
    call.finished(Duration::from_secs(30)).await;
    carrier.finished(Duration::from_secs(10)).await;
    let call_done = Instant::now();

    // Sam's REGISTER waited for its company's read, and then went through.
    let (answered, resp) = waiting.await.unwrap();
    let resp = resp.expect("sam's REGISTER answered");
    assert_eq!(resp.status, 200, "{}", resp.reason);
    assert!(
        answered >= started + delay,
        "answered after {:?}, before the read could end",
        answered - started
    );
    assert!(
        call_done < answered,
        "ann's call ended {:?} after sam's REGISTER was answered: it waited for slowco's read",
        call_done - answered
    );
    assert_eq!(slow.reads(), 1);
    let calls = wait_for_calls(&s.repos, &s.t, 1).await;
    assert_eq!(calls.len(), 1);
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_for_one_company_share_one_read_and_are_bounded() {
    let (s, slow, sam) = slow_company_node(Duration::from_millis(1500), |cfg| {
        cfg.directory_waiting = WaitLimits {
            per_company: 10,
            total: 100,
        };
    })
    .await;
    let mut phone = Phone::new(s.node.sip_addr).await;
    // Fifteen REGISTERs, each answering a challenge of its own, sent at once.
    let mut challenges = Vec::new();
    for _ in 0..15 {
        challenges.push(phone.ask(&sam.username, None).await);
    }
    let mut branches = Vec::new();
    for c in &challenges {
        let (branch, text) = phone.register(&sam.username, Some(&answer(c, &sam)));
        phone.send(&text).await;
        branches.push(branch);
    }
    let got = phone.finals(&branches, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 15, "every REGISTER answered");
    let status = |b: &String| got[b].status;
    // The first ten waited and registered; the five beyond the bound were
    // told at once to come back.
    assert!(branches[..10].iter().all(|b| status(b) == 200));
    assert!(branches[10..].iter().all(|b| status(b) == 503));
    assert!(got[&branches[14]].reason.contains("waiting"));
    assert_eq!(slow.reads(), 1, "one read of the company for all of them");

    // Once read, the company is served from the cache: no read, no wait.
    let c = phone.ask(&sam.username, None).await;
    let at = Instant::now();
    let resp = phone.ask(&sam.username, Some(&answer(&c, &sam))).await;
    assert_eq!(resp.status, 200);
    assert!(at.elapsed() < Duration::from_secs(1));
    assert_eq!(slow.reads(), 1);
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_waiting_for_its_company_hears_100_at_once_and_can_be_cancelled() {
    let delay = Duration::from_secs(2);
    let (s, slow, sam) = slow_company_node(delay, |_| {}).await;
    let mut phone = Phone::new(s.node.sip_addr).await;
    let uri = "sip:102@callisto";
    let c1 = phone.ask(&sam.username, None).await;
    let c2 = phone.ask(&sam.username, None).await;

    // Sam calls 102 (nobody in slowco): the INVITE waits for the read, and
    // says so at once.
    let started = Instant::now();
    let (first, invite, cancel) =
        phone.invite(&sam.username, "102", &answer_for(&c1, &sam, "INVITE", uri));
    phone.send(&invite).await;
    let trying = phone
        .answer_with(&first, 100, Duration::from_millis(500))
        .await;
    assert!(trying.is_some(), "100 Trying within 500 ms");
    // Cancelled while it waits: ended there, without waiting for the read.
    phone.send(&cancel).await;
    let ended = phone.answer_with(&first, 487, Duration::from_secs(1)).await;
    assert!(ended.is_some(), "487 to the cancelled INVITE");
    assert!(started.elapsed() < delay);

    // Another INVITE rides the same read and gets its answer once it is back.
    let (second, invite, _) =
        phone.invite(&sam.username, "102", &answer_for(&c2, &sam, "INVITE", uri));
    phone.send(&invite).await;
    let resp = phone
        .answer_with(&second, 404, Duration::from_secs(5))
        .await
        .expect("404: no 102 in slowco");
    assert!(started.elapsed() >= delay, "{}", resp.reason);
    assert_eq!(slow.reads(), 1);
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_company_read_answers_its_waiting_requests_503_and_the_next_read_serves() {
    let (s, slow, sam) = slow_company_node(Duration::from_millis(300), |_| {}).await;
    let mut phone = Phone::new(s.node.sip_addr).await;
    slow.set_failing(true);
    let c = phone.ask(&sam.username, None).await;
    let resp = phone.ask(&sam.username, Some(&answer(&c, &sam))).await;
    assert_eq!(resp.status, 503);
    assert!(resp.reason.contains("directory"), "{}", resp.reason);
    // The store is back: the next request reads the company again and registers.
    slow.set_failing(false);
    let c = phone.ask(&sam.username, None).await;
    let resp = phone.ask(&sam.username, Some(&answer(&c, &sam))).await;
    assert_eq!(resp.status, 200, "{}", resp.reason);
    assert_eq!(slow.reads(), 2);
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sip_password_set_just_after_the_node_read_the_company_works_at_once() {
    let s = setup(false).await;
    let mut phone = Phone::new(s.node.sip_addr).await;
    // The node has just read acme (as its periodic reload or another
    // agent's request would), and then bob gets a new password.
    s.node.refresh().await.unwrap();
    let bob = set_sip_password(&s.repos, &s.t, &s.bob.user, "bob-new-pass").await;
    let challenge = phone.ask(&bob.username, None).await;
    let resp = phone
        .ask(&bob.username, Some(&answer(&challenge, &bob)))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.reason);

    // The old password is refused, and so are wrong ones in a row: the
    // company is read again for them at most once a second.
    let challenge = phone.ask(&s.bob.username, None).await;
    let resp = phone
        .ask(&s.bob.username, Some(&answer(&challenge, &s.bob)))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.reason);
}
