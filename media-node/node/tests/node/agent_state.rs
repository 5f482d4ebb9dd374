//! Calls are offered only to available agents (PRODUCT E4): the node reads
//! the agents' states through its directory before offering a call.

use crate::support;

use callisto_domain::agent_state::{AgentState, AgentStatus, StateChange};
use callisto_domain::call::{Direction, Outcome};
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_calling_while_the_only_registered_agent_is_in_dnd_gets_480() {
    let s = setup(false).await;
    // Bob's softphone registers and would answer at once if offered the call.
    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 4, Wav::Pcm16);
    let phone = Baresip::start(&bob_dir, s.node.sip_addr, &s.bob);
    phone.wait_for("200 OK", Duration::from_secs(10));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let status = AgentStatus {
        user: s.bob.user.clone(),
        state: AgentState::Dnd,
        since: now,
    };
    let change = StateChange {
        user: s.bob.user.clone(),
        from: AgentState::Available,
        to: AgentState::Dnd,
        at: now,
    };
    s.repos
        .agent_states
        .set(&s.t, &status, 0, &change)
        .await
        .unwrap();
    // The directory is cached briefly; a refresh reads the new state now.
    s.node.refresh().await.unwrap();

    let carrier_dir = peer_dir(s.dir.path(), "carrier", 440.0, 2, Wav::Alaw);
    let node_addr = s.node.sip_addr.to_string();
    let carrier = Sipp::start(
        &carrier_dir,
        "carrier",
        &[TRUNK_NUMBER, "+79161234567"],
        &[
            &node_addr,
            "-sf",
            scenario("carrier_calls_in_unavailable.xml")
                .to_str()
                .unwrap(),
            "-p",
            &s.trunk_port.to_string(),
        ],
    );
    carrier.finished(Duration::from_secs(15)).await;

    let calls = wait_for_calls(&s.repos, &s.t, 1).await;
    let call = &calls[0];
    assert_eq!(call.direction, Direction::Inbound);
    assert_eq!((call.outcome, call.cause.code), (Outcome::Failed, 480));
    assert_eq!(call.agent, None, "nobody was offered the call");
    s.node.shutdown().await;
}
