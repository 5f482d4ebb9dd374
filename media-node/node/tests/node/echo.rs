//! The echo test (`*43`): the node answers an agent's call itself and sends
//! back what it hears, over plain RTP (baresip) and WebRTC (Chromium). What
//! comes back is checked by its frequency, and the test leaves no call record.

use crate::browser::{Harness, check_prerequisites};
use crate::support::*;
use std::time::{Duration, Instant};

/// Waits (bounded) until the node has no call in progress.
async fn no_calls_within(s: &Setup, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let calls = s.node.calls().await.unwrap();
        if calls.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "calls still in progress: {calls:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Nothing reached the spool or the store: no record to list, bill or
/// start a wrap-up from, no recording.
async fn no_record(s: &Setup) {
    // A record is committed to the spool as the call ends and delivered
    // within moments; give a wrongly written one time to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (y, m) = callisto_domain::call::month_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let calls = s
        .repos
        .calls
        .month(&s.t, y, m, None, 50)
        .await
        .unwrap()
        .items;
    assert!(calls.is_empty(), "an echo test left records: {calls:?}");
    // Nor was anything recorded or spooled (a delivered record leaves its
    // file; a recording being written is in rec/).
    for sub in ["rec", "done"] {
        let files: Vec<_> = std::fs::read_dir(s.dir.path().join("spool").join(sub))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(files.is_empty(), "spool/{sub}: {files:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_a_sip_phone_calling_star_43_hears_their_own_tone_and_no_call_is_recorded() {
    let s = setup(false).await;
    // Bob's phone plays 1 kHz, dials *43 once started and quits (BYE) after 8 s.
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 10, Wav::Pcm16);
    let dial = format!("/dial sip:*43@{}", s.node.sip_addr);
    let phone = Baresip::start_with(
        &bob_dir,
        s.node.sip_addr,
        &s.bob,
        300,
        &["-e", &dial, "-t", "8"],
    );
    phone.wait_for("Call established", Duration::from_secs(10));
    let calls = s.node.calls().await.unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].to, "*43");
    // The caller's BYE (baresip quitting) ends it.
    no_calls_within(&s, Duration::from_secs(15)).await;
    let heard = phone.heard();
    assert!(heard.len() >= 16_000, "bob heard {} samples", heard.len());
    let f = tone_at(&heard);
    assert!((f - 1000.0).abs() < 25.0, "bob heard {f} Hz back");
    let mid = heard.len() / 2;
    let window = &heard[mid - 2000..mid + 2000];
    let rms = (window.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 4000.0).sqrt();
    // The tone is sent at -10 dBFS (≈ 10 362 RMS); G.711 both ways keeps it.
    assert!(rms > 5_000.0, "what came back is too quiet: RMS {rms:.0}");
    drop(phone);
    no_record(&s).await;
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_test_left_open_is_ended_by_the_node_at_its_bound() {
    let s = setup_with(false, |c| c.engine.echo_limit = 2_000).await;
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 10, Wav::Pcm16);
    let dial = format!("/dial sip:*43@{}", s.node.sip_addr);
    let phone = Baresip::start_with(&bob_dir, s.node.sip_addr, &s.bob, 300, &["-e", &dial]);
    phone.wait_for("Call established", Duration::from_secs(10));
    // The node hangs up after 2 s: baresip is told so by a BYE (which it
    // reports as the peer resetting the session).
    let said = phone.wait_for("terminated (duration", Duration::from_secs(10));
    assert!(said.contains("session closed"), "{said}");
    no_calls_within(&s, Duration::from_secs(2)).await;
    drop(phone);
    no_record(&s).await;
    s.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_a_browser_calling_star_43_hears_their_own_microphone() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,str0m=warn")
        .with_test_writer()
        .try_init();
    check_prerequisites();
    let s = setup(true).await;
    let ws_url = format!("ws://{}", s.node.ws_addr.unwrap());
    let mic = s.dir.path().join("mic-1k.wav");
    tone_wav(&mic, 1000.0, 20, Wav::Pcm16);
    let ha1 = callisto_sip::digest::ha1(
        callisto_sip::digest::Algorithm::Md5,
        &s.bob.username,
        "callisto",
        &s.bob.password,
    );
    let tmp = s.dir.path().join("harness");
    std::fs::create_dir_all(&tmp).unwrap();
    let harness = Harness::start(
        &tmp,
        &[
            "--ws",
            &ws_url,
            "--user",
            &s.bob.username,
            "--ha1",
            &ha1,
            "--realm",
            "callisto",
            "--number",
            "*43",
            "--audio",
            mic.to_str().unwrap(),
            "--timeout",
            "40",
        ],
    );
    let (code, report, harness) = harness.finished(Duration::from_secs(60)).await;
    let logs = || format!("exit {code}, report:\n{report:#}\n{}", harness.logs());
    assert_eq!(code, 0, "{}", logs());
    assert_eq!(report["call"]["confirmed"], true, "{}", logs());
    let f = report["remote"]["frequency"].as_f64().unwrap_or(0.0);
    let level = report["remote"]["levelDbfs"].as_f64().unwrap_or(-200.0);
    assert!((f - 1000.0).abs() < 25.0, "bob heard {f} Hz; {}", logs());
    assert!(level > -30.0, "bob heard it at {level} dBFS; {}", logs());
    // The browser hung up: the node has nothing left of it.
    no_calls_within(&s, Duration::from_secs(5)).await;
    no_record(&s).await;
    s.node.shutdown().await;
}
