//! The web app in a real browser against `callisto serve` as a person starts
//! it, with a sipp carrier as the company's trunk that answers the agent's
//! call, and the check page's echo test through the media node. The walk
//! itself is tests/browser/webapp.mjs (playwright-core driving Debian's
//! chromium); its screenshots land in the target folder's tmp/web-screenshots.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use support::{Running, Served, assert_browser_ready, udp_port};

#[test]
fn a_person_logs_in_searches_calls_from_a_work_list_switches_language_and_signs_up() {
    assert_browser_ready();
    assert!(
        Command::new("sipp").arg("-v").output().is_ok(),
        "sipp is not installed: run scripts/install-system-deps.sh test"
    );

    let work = tempfile::tempdir().unwrap();
    // The company's carrier: sipp answers one call (its built-in UAS) and
    // hangs up when the agent does.
    let carrier = udp_port();
    let _carrier = Running(
        Command::new("sipp")
            .current_dir(work.path())
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &carrier.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &udp_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "120s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let served = Served::start();
    let report = served.walk(
        "webapp.mjs",
        "web-screenshots",
        &[
            "--carrier".into(),
            carrier.to_string().into(),
            "--node-sip".into(),
            served.sip.to_string().into(),
        ],
    );
    assert!(
        report["call"]
            .as_str()
            .is_some_and(|c| c.starts_with("answered")),
        "the call from the card: {}",
        report["call"]
    );
    assert!(
        report["incoming"]
            .as_str()
            .is_some_and(|c| c.starts_with("answered")),
        "the customer's call: {}",
        report["incoming"]
    );
    // The check page's echo test went through the node and came back as
    // the fake microphone's 1 kHz, with the RTP path's figures shown.
    let echo = &report["echo"];
    assert!(
        echo["frequency"]
            .as_f64()
            .is_some_and(|f| (f - 1000.0).abs() < 30.0),
        "the echo test: {echo}"
    );
    println!(
        "web app load: {}; call: {}; incoming: {}; echo: {}",
        report["load"], report["call"], report["incoming"], echo
    );
}
