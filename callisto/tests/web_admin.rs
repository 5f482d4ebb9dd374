//! The administration screens in a real browser against `callisto serve`:
//! the team (invite, a field error, block/unblock, edit, groups), the trunk
//! and its registration to a registrar the walk runs, short numbers and SIP
//! passwords, a mail account whose test names the failed stage, Russian, and
//! a manager's view. The walk is tests/browser/admin.mjs; its screenshots
//! land in the target folder's tmp/web-admin-screenshots.

#![allow(clippy::unwrap_used)]

mod support;

use support::{Served, assert_browser_ready};

#[test]
fn an_administrator_keeps_the_team_the_trunk_and_the_mail_accounts() {
    assert_browser_ready();
    let served = Served::start();
    let report = served.walk("admin.mjs", "web-admin-screenshots", &[]);
    assert!(
        report["trunk"]
            .as_str()
            .is_some_and(|s| s.starts_with("Registered")),
        "the trunk's status: {}",
        report["trunk"]
    );
    assert!(
        report["smtp"]
            .as_str()
            .is_some_and(|s| s.contains("connecting to the server")),
        "the mail test: {}",
        report["smtp"]
    );
    println!(
        "trunk: {}; REGISTERs seen: {}; mail test: {}",
        report["trunk"], report["registers"], report["smtp"]
    );
}
