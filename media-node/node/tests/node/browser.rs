//! A real browser as the agent's softphone: Debian's chromium, driven by
//! playwright-core, runs JsSIP (tests/browser/call.mjs), registers to the node
//! over SIP over WebSocket with the agent's digest credentials and calls a
//! customer through the trunk, whose carrier (sipp) answers and plays a tone.
//!
//! The node answers the browser's WebRTC offer (ICE-lite, DTLS-SRTP): the
//! call is confirmed, the browser hears the carrier's 440 Hz, and the
//! recording holds the browser's 1 kHz microphone on the caller's channel.
//!
//! Needs chromium and the harness's npm packages: scripts/install-browser-deps.sh.

use crate::support;

use callisto_domain::call::{Direction, Outcome};
use callisto_sip::digest::{Algorithm, ha1};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The number bob dials: a Russian mobile written as dialled at home, which
/// leaves through the trunk.
const CUSTOMER: &str = "89123456789";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails (never skips) when the browser or the harness's packages are missing.
pub(crate) fn check_prerequisites() {
    const HOW: &str = "run scripts/install-browser-deps.sh";
    assert!(
        chromium().is_file(),
        "chromium is not installed at {}: {HOW}",
        chromium().display()
    );
    assert!(
        Command::new("node").arg("--version").output().is_ok(),
        "node (20+) is not installed: {HOW}"
    );
    for m in ["playwright-core", "jssip", "esbuild"] {
        assert!(
            harness_dir().join("node_modules").join(m).is_dir(),
            "tests/browser/node_modules/{m} is missing: {HOW}"
        );
    }
}

/// One run of tests/browser/call.mjs; killed when dropped (chromium, on the
/// other end of playwright's pipe, exits with it).
pub(crate) struct Harness {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Harness {
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Harness {
        let (out, err) = (dir.join("harness.stdout"), dir.join("harness.stderr"));
        let child = Command::new("node")
            .arg(harness_dir().join("call.mjs"))
            .args(args)
            .args(["--chromium", chromium().to_str().unwrap()])
            // The browser's profile folder is made here, so even a killed
            // run leaves nothing behind.
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Harness { child, out, err }
    }

    /// Waits for the harness to finish; its exit code and its JSON report.
    pub(crate) fn finish(&mut self, limit: Duration) -> (i32, Value) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the browser harness did not finish in {limit:?}:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = std::fs::read_to_string(&self.out).unwrap();
        let report = out
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .unwrap_or_else(|| panic!("no JSON report from the harness:\n{}", self.logs()));
        (status.code().unwrap_or(-1), report)
    }

    /// [`finish`](Self::finish) off the runtime's threads, so the node keeps
    /// serving the browser meanwhile; the harness comes back for its logs.
    pub(crate) async fn finished(mut self, limit: Duration) -> (i32, Value, Harness) {
        tokio::task::spawn_blocking(move || {
            let (code, report) = self.finish(limit);
            (code, report, self)
        })
        .await
        .unwrap()
    }

    /// Waits until the harness has written `needle` to its stderr.
    fn wait_for_stderr(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !std::fs::read_to_string(&self.err)
            .unwrap_or_default()
            .contains(needle)
        {
            assert!(
                Instant::now() < deadline,
                "the harness did not say {needle:?} in {limit:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn logs(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first event of `kind` the softphone reported.
fn event<'a>(report: &'a Value, kind: &str) -> Option<&'a Value> {
    report["events"]
        .as_array()?
        .iter()
        .find(|e| e["type"] == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_a_real_browser_registers_over_websocket_and_calls_a_customer() {
    // The node's log is shown when the test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,str0m=warn")
        .with_test_writer()
        .try_init();
    check_prerequisites();
    let Setup {
        dir,
        stores,
        repos,
        t,
        bob,
        trunk_port,
        node,
        ..
    } = setup(true).await;
    let ws_url = format!("ws://{}", node.ws_addr.unwrap());

    // The carrier answers the customer's line and plays 440 Hz.
    let carrier_dir = peer_dir(dir.path(), "carrier", 440.0, 20, Wav::Ulaw);
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[],
        &[
            "-sf",
            scenario("trunk_answers.xml").to_str().unwrap(),
            "-p",
            &trunk_port.to_string(),
        ],
    );

    // Chromium's fake microphone plays a 1 kHz tone: 16-bit PCM, 8 kHz, mono.
    let mic = dir.path().join("mic-1k.wav");
    tone_wav(&mic, 1000.0, 20, Wav::Pcm16);

    // JsSIP logs in with the MD5 HA1 of the agent's credentials, as a web
    // client that never holds the password does.
    let bob_ha1 = ha1(Algorithm::Md5, &bob.username, "callisto", &bob.password);
    let harness_tmp = dir.path().join("harness");
    std::fs::create_dir_all(&harness_tmp).unwrap();
    let harness = Harness::start(
        &harness_tmp,
        &[
            "--ws",
            &ws_url,
            "--user",
            &bob.username,
            "--ha1",
            &bob_ha1,
            "--realm",
            "callisto",
            "--number",
            CUSTOMER,
            "--hold",
            "--audio",
            mic.to_str().unwrap(),
            "--timeout",
            "45",
        ],
    );
    let (code, report, harness) = harness.finished(Duration::from_secs(60)).await;
    let logs = || format!("exit {code}, report:\n{report:#}\n{}", harness.logs());

    // The browser's own audio works: its fake microphone plays the file.
    let f_mic = report["mic"]["frequency"].as_f64().unwrap_or(0.0);
    assert!(
        (f_mic - 1000.0).abs() < 25.0,
        "microphone at {f_mic} Hz; {}",
        logs()
    );

    // Registration over the WebSocket, with digest.
    assert_eq!(report["registered"], true, "{}", logs());
    assert_eq!(report["registration"]["status"], 200, "{}", logs());
    assert!(event(&report, "connected").is_some(), "{}", logs());

    // The browser offered WebRTC media (ICE, DTLS-SRTP).
    let offer = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "sdp" && e["originator"] == "local")
        .unwrap_or_else(|| panic!("no local offer; {}", logs()));
    assert!(
        offer["media"]
            .as_str()
            .is_some_and(|m| m.contains("UDP/TLS/RTP/SAVPF")),
        "{}",
        logs()
    );

    // The call is confirmed and bob hears the carrier's tone.
    assert_eq!(code, 0, "{}", logs());
    assert_eq!(report["ok"], true, "{}", logs());
    assert_eq!(report["call"]["confirmed"], true, "{}", logs());
    // Hold and resume are re-offers in the browser's WebRTC session; the
    // customer is heard again after the resume.
    assert_eq!(
        (&report["hold"], &report["resume"]),
        (&Value::from("ok"), &Value::from("ok")),
        "{}",
        logs()
    );
    let f = report["remote"]["frequency"].as_f64().unwrap_or(0.0);
    let level = report["remote"]["levelDbfs"].as_f64().unwrap_or(-200.0);
    assert!((f - 440.0).abs() < 25.0, "bob heard {f} Hz; {}", logs());
    assert!(
        level > -40.0,
        "bob heard the tone at {level} dBFS; {}",
        logs()
    );
    // The browser hung up: the carrier saw the whole call through.
    carrier.finished(Duration::from_secs(20)).await;

    let r = wait_for_calls(&repos, &t, 1).await.remove(0);
    assert_eq!(
        (r.direction, r.outcome),
        (Direction::Outbound, Outcome::Answered)
    );
    assert_eq!(r.agent.as_ref(), Some(&bob.user));
    assert_eq!(r.to, "+79123456789");
    // And the other way: the recording's caller channel is what the browser's
    // microphone sent (1 kHz, through DTLS-SRTP), its callee channel the carrier.
    let (left, right) = recording(&stores, &r).await;
    let (browser_side, carrier_side) = (tone_at(&left), tone_at(&right));
    assert!(
        (browser_side - 1000.0).abs() < 25.0,
        "the browser sent {browser_side} Hz"
    );
    assert!(
        (carrier_side - 440.0).abs() < 25.0,
        "the carrier sent {carrier_side} Hz"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_calling_in_rings_the_agent_in_a_real_browser_who_answers_and_hears_them() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,str0m=warn")
        .with_test_writer()
        .try_init();
    check_prerequisites();
    let Setup {
        dir,
        stores,
        repos,
        t,
        bob,
        trunk_port,
        node,
        ..
    } = setup(true).await;
    let ws_url = format!("ws://{}", node.ws_addr.unwrap());

    let mic = dir.path().join("mic-1k.wav");
    tone_wav(&mic, 1000.0, 20, Wav::Pcm16);
    let bob_ha1 = ha1(Algorithm::Md5, &bob.username, "callisto", &bob.password);
    let harness_tmp = dir.path().join("harness");
    std::fs::create_dir_all(&harness_tmp).unwrap();
    let harness = Harness::start(
        &harness_tmp,
        &[
            "--ws",
            &ws_url,
            "--user",
            &bob.username,
            "--ha1",
            &bob_ha1,
            "--answer",
            "--audio",
            mic.to_str().unwrap(),
            "--listen-ms",
            "800",
            "--timeout",
            "45",
        ],
    );
    let harness = tokio::task::spawn_blocking(move || {
        harness.wait_for_stderr("ready to answer", Duration::from_secs(30));
        harness
    })
    .await
    .unwrap();

    // The customer calls the company's number and talks for 3 s.
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
    let (code, report, harness) = harness.finished(Duration::from_secs(60)).await;
    let logs = || format!("exit {code}, report:\n{report:#}\n{}", harness.logs());

    let incoming = event(&report, "incoming").unwrap_or_else(|| panic!("no call rang; {}", logs()));
    assert_eq!(incoming["from"], "+79161234567", "{}", logs());
    assert_eq!(
        (&incoming["line"], &incoming["called"]),
        (&Value::from("Main line"), &Value::from(TRUNK_NUMBER)),
        "the pop-up's line; {}",
        logs()
    );
    assert_eq!(report["call"]["confirmed"], true, "{}", logs());
    let f = report["remote"]["frequency"].as_f64().unwrap_or(0.0);
    assert!((f - 440.0).abs() < 25.0, "bob heard {f} Hz; {}", logs());
    carrier.finished(Duration::from_secs(30)).await;

    let r = wait_for_calls(&repos, &t, 1).await.remove(0);
    assert_eq!(
        (r.direction, r.outcome),
        (Direction::Inbound, Outcome::Answered)
    );
    assert_eq!(r.agent.as_ref(), Some(&bob.user));
    assert_eq!(
        incoming["record"].as_str(),
        Some(r.id.as_str()),
        "the ringing INVITE names the call's record"
    );
    let (left, right) = recording(&stores, &r).await;
    let (customer, agent) = (tone_at(&left), tone_at(&right));
    assert!(
        (customer - 440.0).abs() < 25.0,
        "the customer sent {customer} Hz"
    );
    assert!((agent - 1000.0).abs() < 25.0, "the browser sent {agent} Hz");
    node.shutdown().await;
}
