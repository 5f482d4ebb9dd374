//! The administration screens in a real browser against `callisto serve`:
//! the team (invite, a field error, block/unblock, edit, groups, agents'
//! states), the trunk and its registration to a registrar the walk runs,
//! short numbers and SIP passwords, a mail account whose test names the
//! failed stage and passes against a real SMTP server, Russian, and a
//! manager's view. The walk is tests/browser/admin.mjs; its screenshots land
//! in the target folder's tmp/web-admin-screenshots.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{Running, Served, assert_browser_ready, root, tcp_port};

/// The SMTP server the mail account is tested against: tests/smtp/smtp_sink.py
/// requiring the login the walk types (its Python from the test virtualenv
/// that scripts/test.sh puts on PATH).
fn smtp_sink(port: u16, dir: &std::path::Path) -> Running {
    let mut child = Command::new("python3")
        .arg(root().join("tests/smtp/smtp_sink.py"))
        .arg(port.to_string())
        .arg(dir)
        .args(["--user", "sales", "--password", "mail-secret-1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd: run through scripts/test.sh, or put the virtualenv of scripts/install-test-deps.sh on PATH");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "the SMTP server did not start (is aiosmtpd installed? scripts/install-test-deps.sh)"
    );
    Running(child)
}

#[test]
fn an_administrator_keeps_the_team_the_trunk_and_the_mail_accounts() {
    assert_browser_ready();
    let mail = tempfile::tempdir().unwrap();
    let smtp = tcp_port();
    let _smtp = smtp_sink(smtp, mail.path());
    let served = Served::start();
    let report = served.walk(
        "admin.mjs",
        "web-admin-screenshots",
        &["--smtp".into(), smtp.to_string().into()],
    );
    assert!(
        report["trunk"]
            .as_str()
            .is_some_and(|s| s.starts_with("Registered")),
        "the trunk's status: {}",
        report["trunk"]
    );
    for (key, said) in [
        ("smtp", "connecting to the server"),
        ("smtpAuth", "logging in"),
        ("smtpOk", "Connection works"),
    ] {
        assert!(
            report[key].as_str().is_some_and(|s| s.contains(said)),
            "the mail test ({key}): {}",
            report[key]
        );
    }
    println!(
        "trunk: {}; REGISTERs seen: {}; mail tests: {} / {} / {}",
        report["trunk"], report["registers"], report["smtp"], report["smtpAuth"], report["smtpOk"]
    );
}
