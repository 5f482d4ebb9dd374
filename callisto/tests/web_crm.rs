//! The contact base beyond the list and the card in a real browser against
//! `callisto serve`: filters kept in the address, a bulk tag with its progress,
//! a CSV export, a duplicate search and merge, the recycle bin, the profile's
//! SIP and password, and an invited user's first log-in. The walk itself is
//! tests/browser/crm.mjs; its screenshots land in the target folder's
//! tmp/crm-screenshots.

#![allow(clippy::unwrap_used)]

mod support;

use support::{Served, assert_browser_ready};

#[test]
fn an_administrator_filters_tags_in_bulk_exports_merges_duplicates_restores_and_changes_password() {
    assert_browser_ready();
    let served = Served::start();
    let report = served.walk("crm.mjs", "crm-screenshots", &[]);
    assert_eq!(report["csv_rows"], 2, "the CSV export: {report}");
    assert!(
        report["bulk"]
            .as_str()
            .is_some_and(|b| b.contains("изменено 2")),
        "the bulk action's result: {}",
        report["bulk"]
    );
    println!(
        "bulk: {}; duplicate groups: {}",
        report["bulk"], report["duplicates"]
    );
}
