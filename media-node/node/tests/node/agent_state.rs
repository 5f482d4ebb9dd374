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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_call_puts_the_agent_in_wrap_up_and_the_next_customer_gets_480() {
    let s = setup(false).await;
    let company = s.repos.tenants.get(&s.t).await.unwrap();
    let mut t = company.value.clone();
    t.wrap_up_ms = Some(60_000);
    s.repos.tenants.update(&t, company.version).await.unwrap();

    let bob_dir = peer_dir(s.dir.path(), "bob", 1000.0, 8, Wav::Pcm16);
    let phone = Baresip::start(&bob_dir, s.node.sip_addr, &s.bob);
    phone.wait_for("200 OK", Duration::from_secs(10));
    let carrier_dir = peer_dir(s.dir.path(), "carrier", 440.0, 8, Wav::Alaw);
    let node_addr = s.node.sip_addr.to_string();
    let call_in = |xml: &str| {
        Sipp::start(
            &carrier_dir,
            "carrier",
            &[TRUNK_NUMBER, "+79161234567"],
            &[
                &node_addr,
                "-sf",
                scenario(xml).to_str().unwrap(),
                "-p",
                &s.trunk_port.to_string(),
            ],
        )
    };
    call_in("carrier_calls_in.xml")
        .finished(Duration::from_secs(30))
        .await;
    let first = wait_for_calls(&s.repos, &s.t, 1).await.remove(0);
    assert_eq!(first.outcome, Outcome::Answered);

    // Delivering the record started bob's wrap-up, counted from the call's
    // end (written just after the record: wait for it a moment).
    let mut state = None;
    for _ in 0..50 {
        state = s.repos.agent_states.get(&s.t, &s.bob.user).await.unwrap();
        if state.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = state.expect("bob's state was set");
    assert_eq!(
        state.value.state,
        AgentState::WrapUp {
            until: first.ended_at + 60_000
        }
    );

    s.node.refresh().await.unwrap();
    call_in("carrier_calls_in_unavailable.xml")
        .finished(Duration::from_secs(15))
        .await;
    let calls = wait_for_calls(&s.repos, &s.t, 2).await;
    let second = calls.iter().find(|c| c.id != first.id).unwrap();
    assert_eq!((second.outcome, second.cause.code), (Outcome::Failed, 480));
    s.node.shutdown().await;
}
