//! The scenario administration in a real browser against `callisto serve`:
//! the demo administrator makes a call result, a questionnaire, e-mail
//! templates (one refused for an unknown placeholder), a scenario with a
//! script that links to its own section, and a work list by it; then the
//! calling screen offers that list with the script. The walk is
//! tests/browser/scenarios.mjs; its screenshots land in the target folder's
//! tmp/web-scenarios-screenshots.

#![allow(clippy::unwrap_used)]

mod support;

use support::{Served, assert_browser_ready};

#[test]
fn an_administrator_builds_a_scenario_and_its_work_list_and_an_agent_gets_it() {
    assert_browser_ready();
    let s = Served::start();
    let report = s.walk("scenarios.mjs", "web-scenarios-screenshots", &[]);
    assert_eq!(
        report["placeholder_error"]
            .as_str()
            .map(|e| e.contains("%COMPANY%")),
        Some(true),
        "the unknown placeholder is named at the body field: {}",
        report["placeholder_error"]
    );
    assert_eq!(
        report["offered"],
        serde_json::json!(["Согласен на встречу", "Перезвонить позже"]),
        "the calling screen offers the scenario's results in its order"
    );
    println!("screens: {}", report["shots"]);
}
