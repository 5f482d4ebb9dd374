//! Whole calls on a virtual clock: what the node is told to do on each leg,
//! and the call record each call ends with.
#![allow(clippy::unwrap_used)]

use callisto_domain::agent_state::AgentState;
use callisto_domain::call::{CallId, Direction, HangupSide, Outcome};
use callisto_domain::ids::{TenantId, UserId};
use callisto_engine::{
    CallSummary, Caller as RouteCaller, Command, Dest, Directory, Engine, EngineConfig,
    IncomingCall, LegId, OriginatedCall, Plan, Refusal, Route, Target, away, route,
};

const T0: i64 = 1_796_000_000_000;

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn trunk_target(number: &str) -> Target {
    Target {
        user: None,
        dest: Dest::Trunk {
            number: number.into(),
            caller_id: "+74951234567".into(),
        },
    }
}

fn device(u: &str) -> Target {
    Target {
        user: Some(user(u)),
        dest: Dest::Device {
            contact: format!("sip:{u}@127.0.0.1:5070"),
        },
    }
}

fn incoming(direction: Direction, agent: Option<&str>, plan: Plan) -> IncomingCall {
    IncomingCall {
        call: CallId::parse("call1").unwrap(),
        tenant: TenantId::parse("t").unwrap(),
        direction,
        from: "+79123456789".into(),
        to: "+74951234567".into(),
        agent: agent.map(user),
        client: None,
        line: Some("Main".into()),
        plan,
    }
}

/// Ann calls a customer through the trunk; returns the engine with her leg
/// (A) and the trunk's ringing leg (B).
fn outbound_call(config: EngineConfig) -> (Engine, LegId, LegId) {
    let mut e = Engine::new(config);
    let plan = Plan::Dial {
        targets: vec![trunk_target("+79123456789")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Outbound, Some("ann"), plan))
        .unwrap();
    let [b] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    (e, a, b)
}

fn drain(e: &mut Engine) -> Vec<Command> {
    std::iter::from_fn(|| e.poll_command()).collect()
}

fn originated(cmds: &[Command]) -> Vec<LegId> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Originate { leg, .. } => Some(*leg),
            _ => None,
        })
        .collect()
}

fn ended(cmds: &[Command]) -> CallSummary {
    cmds.iter()
        .find_map(|c| match c {
            Command::Ended(s) => Some(s.clone()),
            _ => None,
        })
        .expect("the call ended")
}

#[test]
fn outbound_call_rings_answers_bridges_and_ends_with_a_record() {
    let mut e = Engine::new(EngineConfig::default());
    let plan = Plan::Dial {
        targets: vec![trunk_target("+79123456789")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Outbound, Some("ann"), plan))
        .unwrap();
    let cmds = drain(&mut e);
    let [b] = originated(&cmds)[..] else {
        panic!("{cmds:?}")
    };
    e.handle_ringing(T0 + 1_000, b);
    assert_eq!(drain(&mut e), vec![Command::Ring { leg: a }]);
    // A second 180 does not ring the caller twice.
    e.handle_ringing(T0 + 1_500, b);
    assert!(drain(&mut e).is_empty());
    e.handle_answered(T0 + 5_000, b);
    let call = CallId::parse("call1").unwrap();
    assert_eq!(
        drain(&mut e),
        vec![
            Command::Answer { leg: a },
            Command::Bridge {
                call: call.clone(),
                a,
                b
            }
        ]
    );
    assert_eq!(e.calls().len(), 1);
    e.handle_hangup(T0 + 65_000, a, true);
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Hangup { leg: b });
    let s = ended(&cmds);
    assert_eq!(s.outcome, Outcome::Answered);
    assert_eq!(s.hangup, HangupSide::Caller);
    assert_eq!((s.cause.code, s.answered_at), (200, Some(T0 + 5_000)));
    assert_eq!((s.started_at, s.ended_at), (T0, T0 + 65_000));
    assert_eq!(s.agent, Some(user("ann")));
    assert!(s.bridged);
    assert!(e.calls().is_empty());
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn inbound_call_rings_every_agent_and_the_first_to_answer_takes_it() {
    let mut e = Engine::new(EngineConfig::default());
    let plan = Plan::Dial {
        targets: vec![device("ann"), device("bob")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Inbound, None, plan))
        .unwrap();
    let [ann, bob] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_ringing(T0 + 300, ann);
    e.handle_ringing(T0 + 400, bob);
    assert_eq!(drain(&mut e), vec![Command::Ring { leg: a }]);
    e.handle_answered(T0 + 8_000, bob);
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Cancel { leg: ann });
    assert_eq!(cmds[1], Command::Answer { leg: a });
    // Ann's phone answered a moment too late: that leg is hung up at once.
    e.handle_answered(T0 + 8_100, ann);
    assert_eq!(drain(&mut e), vec![Command::Hangup { leg: ann }]);
    e.handle_hangup(T0 + 20_000, bob, true);
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Hangup { leg: a });
    let s = ended(&cmds);
    assert_eq!(s.agent, Some(user("bob")), "the agent who answered");
    assert_eq!(
        (s.outcome, s.hangup),
        (Outcome::Answered, HangupSide::Callee)
    );
}

#[test]
fn unanswered_inbound_call_is_missed_when_the_ring_time_runs_out() {
    let mut e = Engine::new(EngineConfig {
        ring_timeout: 30_000,
        ..EngineConfig::default()
    });
    let plan = Plan::Dial {
        targets: vec![device("ann"), device("bob")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Inbound, None, plan))
        .unwrap();
    let legs = originated(&drain(&mut e));
    assert_eq!(e.poll_timeout(), Some(T0 + 30_000));
    e.handle_timeout(T0 + 29_999);
    assert!(drain(&mut e).is_empty(), "not yet");
    e.handle_timeout(T0 + 30_000);
    let cmds = drain(&mut e);
    assert!(cmds.contains(&Command::Cancel { leg: legs[0] }));
    assert!(cmds.contains(&Command::Cancel { leg: legs[1] }));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::Reject { leg, code: 480, .. } if *leg == a))
    );
    let s = ended(&cmds);
    assert_eq!((s.outcome, s.hangup), (Outcome::Missed, HangupSide::System));
    assert_eq!(s.answered_at, None);
    assert!(!s.bridged);
}

#[test]
fn caller_giving_up_while_ringing_cancels_the_dialled_side() {
    let (mut e, a, b) = outbound_call(EngineConfig::default());
    e.handle_hangup(T0 + 3_000, a, true);
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Cancel { leg: b });
    let s = ended(&cmds);
    assert_eq!(
        (s.outcome, s.hangup),
        (Outcome::Cancelled, HangupSide::Caller)
    );
    assert_eq!(s.cause.code, 487);
    // The trunk's 487 for the cancelled INVITE arrives after: nothing more happens.
    e.handle_failed(T0 + 3_100, b, 487, "Request Terminated");
    assert!(drain(&mut e).is_empty());
}

#[test]
fn busy_and_failing_trunks_reach_the_caller_with_a_fitting_status() {
    for (code, to_caller, outcome) in [
        (486, 486, Outcome::Busy),
        (404, 404, Outcome::Failed),
        (503, 502, Outcome::Failed),
        (480, 480, Outcome::NoAnswer),
    ] {
        let mut e = Engine::new(EngineConfig::default());
        let plan = Plan::Dial {
            targets: vec![trunk_target("+79123456789")],
        };
        let a = e
            .handle_incoming(T0, incoming(Direction::Outbound, Some("ann"), plan))
            .unwrap();
        let [b] = originated(&drain(&mut e))[..] else {
            panic!()
        };
        e.handle_failed(T0 + 2_000, b, code, "because");
        let cmds = drain(&mut e);
        assert_eq!(
            cmds[0],
            Command::Reject {
                leg: a,
                code: to_caller,
                reason: "because".into()
            }
        );
        let s = ended(&cmds);
        assert_eq!((s.outcome, s.cause.code), (outcome, code), "{code}");
    }
}

#[test]
fn one_busy_device_of_several_makes_the_call_busy_only_when_all_fail() {
    let mut e = Engine::new(EngineConfig::default());
    let plan = Plan::Dial {
        targets: vec![device("ann"), device("bob")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Internal, Some("cid"), plan))
        .unwrap();
    let [ann, bob] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_failed(T0 + 1_000, ann, 486, "Busy Here");
    assert!(drain(&mut e).is_empty(), "bob still rings");
    e.handle_failed(T0 + 2_000, bob, 480, "Temporarily Unavailable");
    let cmds = drain(&mut e);
    assert!(matches!(cmds[0], Command::Reject { leg, code: 486, .. } if leg == a));
    assert_eq!(ended(&cmds).outcome, Outcome::Busy);
}

#[test]
fn refused_calls_are_rejected_and_still_recorded() {
    let mut e = Engine::new(EngineConfig::default());
    let plan = Plan::Refuse {
        code: 403,
        reason: "No Trunk Configured".into(),
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Outbound, Some("ann"), plan))
        .unwrap();
    let cmds = drain(&mut e);
    assert!(matches!(&cmds[0], Command::Reject { leg, code: 403, .. } if *leg == a));
    let s = ended(&cmds);
    assert_eq!((s.outcome, s.cause.code), (Outcome::Failed, 403));
    assert_eq!(s.cause.reason, "No Trunk Configured");
    // The same call id cannot start twice while running, and is free once ended.
    assert!(e.calls().is_empty());
}

#[test]
fn callback_rings_the_agent_first_then_the_customer() {
    let mut e = Engine::new(EngineConfig::default());
    let call = CallId::parse("cb1").unwrap();
    e.originate(
        T0,
        OriginatedCall {
            call: call.clone(),
            tenant: TenantId::parse("t").unwrap(),
            direction: Direction::Callback,
            agent: user("ann"),
            from: "+74951234567".into(),
            to: "+79123456789".into(),
            client: None,
            line: Some("Main".into()),
            first: vec![trunk_target("+79990001122")],
            then: vec![trunk_target("+79123456789")],
        },
    )
    .unwrap();
    let cmds = drain(&mut e);
    let [agent_leg] = originated(&cmds)[..] else {
        panic!()
    };
    assert!(matches!(&cmds[0], Command::Originate { target, .. }
        if target.dest == trunk_target("+79990001122").dest));
    e.handle_ringing(T0 + 500, agent_leg);
    assert!(drain(&mut e).is_empty(), "no caller leg to ring");
    e.handle_answered(T0 + 4_000, agent_leg);
    let [customer] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_answered(T0 + 9_000, customer);
    assert_eq!(
        drain(&mut e),
        vec![Command::Bridge {
            call,
            a: agent_leg,
            b: customer
        }]
    );
    e.handle_hangup(T0 + 30_000, customer, true);
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Hangup { leg: agent_leg });
    let s = ended(&cmds);
    assert_eq!(s.direction, Direction::Callback);
    assert_eq!(
        s.answered_at,
        Some(T0 + 9_000),
        "talk starts when the customer answers"
    );
}

#[test]
fn callback_whose_customer_is_busy_hangs_up_the_agent() {
    let mut e = Engine::new(EngineConfig::default());
    e.originate(
        T0,
        OriginatedCall {
            call: CallId::parse("cb2").unwrap(),
            tenant: TenantId::parse("t").unwrap(),
            direction: Direction::Callback,
            agent: user("ann"),
            from: "+74951234567".into(),
            to: "+79123456789".into(),
            client: None,
            line: None,
            first: vec![device("ann")],
            then: vec![trunk_target("+79123456789")],
        },
    )
    .unwrap();
    let [agent_leg] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_answered(T0 + 1_000, agent_leg);
    let [customer] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_failed(T0 + 3_000, customer, 486, "Busy Here");
    let cmds = drain(&mut e);
    assert_eq!(cmds[0], Command::Hangup { leg: agent_leg });
    assert_eq!(ended(&cmds).outcome, Outcome::Busy);
}

#[test]
fn long_calls_are_ended_by_the_platform_and_hold_plays_music() {
    let (mut e, a, b) = outbound_call(EngineConfig {
        ring_timeout: 60_000,
        max_duration: 600_000,
        ..EngineConfig::default()
    });
    e.handle_answered(T0 + 1_000, b);
    drain(&mut e);
    // Answering replaced the ring deadline with the call's length limit.
    assert_eq!(e.poll_timeout(), Some(T0 + 601_000));
    e.handle_hold(T0 + 2_000, a, true);
    assert_eq!(drain(&mut e), vec![Command::HoldMusic { leg: b, on: true }]);
    e.handle_hold(T0 + 3_000, a, false);
    assert_eq!(
        drain(&mut e),
        vec![Command::HoldMusic { leg: b, on: false }]
    );
    e.handle_timeout(T0 + 601_000);
    let cmds = drain(&mut e);
    assert!(cmds.contains(&Command::Hangup { leg: a }));
    assert!(cmds.contains(&Command::Hangup { leg: b }));
    let s = ended(&cmds);
    assert_eq!(
        (s.outcome, s.hangup),
        (Outcome::Answered, HangupSide::System)
    );
}

#[test]
fn a_forced_hang_up_ends_the_call_and_unknown_legs_are_ignored() {
    let (mut e, a, b) = outbound_call(EngineConfig::default());
    e.handle_answered(T0 + 1_000, b);
    drain(&mut e);
    let call = CallId::parse("call1").unwrap();
    e.hangup_call(T0 + 5_000, &call).unwrap();
    let cmds = drain(&mut e);
    assert!(cmds.contains(&Command::Hangup { leg: a }));
    assert!(cmds.contains(&Command::Hangup { leg: b }));
    assert_eq!(ended(&cmds).hangup, HangupSide::System);
    assert!(e.hangup_call(T0 + 6_000, &call).is_err());
    // Late events for legs of a finished call change nothing.
    e.handle_hangup(T0 + 6_000, b, true);
    e.handle_answered(T0 + 6_000, LegId(999));
    assert_eq!(drain(&mut e), vec![Command::Hangup { leg: LegId(999) }]);
}

/// The tenant's directory as the node builds it at `now`: Ann and Bob are
/// registered; who is away comes from their stored states at that moment.
fn directory_at(now: i64, states: &[(&str, AgentState)]) -> Directory {
    Directory {
        tenant: TenantId::parse("t").ok(),
        phone_region: "RU".into(),
        trunk: None,
        extensions: vec![("101".into(), user("ann")), ("102".into(), user("bob"))],
        reachable: vec![user("ann"), user("bob")],
        away: states
            .iter()
            .filter_map(|(u, s)| away(s, now).map(|why| (user(u), why)))
            .collect(),
    }
}

/// What the node does with a route: dial the agents' devices, echo or refuse.
fn plan(r: Result<Route, Refusal>) -> Plan {
    match r {
        Ok(Route::Echo) => Plan::Echo,
        Ok(Route::Agents(users)) => Plan::Dial {
            targets: users.iter().map(|u| device(u.as_str())).collect(),
        },
        Ok(Route::Trunk { number, .. }) => Plan::Dial {
            targets: vec![trunk_target(&number)],
        },
        Err(refusal) => {
            let (code, reason) = refusal.sip_status();
            Plan::Refuse {
                code,
                reason: reason.into(),
            }
        }
    }
}

#[test]
fn calls_reach_only_available_agents_and_a_wrap_up_ends_on_time() {
    let states = [
        ("ann", AgentState::WrapUp { until: T0 + 30_000 }),
        ("bob", AgentState::Dnd),
    ];
    // A customer calls while Ann wraps up and Bob is in DND: nobody takes it.
    let mut e = Engine::new(EngineConfig::default());
    let r = route(
        &directory_at(T0, &states),
        &RouteCaller::Trunk,
        "+74951234567",
    );
    let a = e
        .handle_incoming(T0, incoming(Direction::Inbound, None, plan(r)))
        .unwrap();
    let cmds = drain(&mut e);
    assert!(matches!(&cmds[0], Command::Reject { leg, code: 480, .. } if *leg == a));
    assert_eq!(ended(&cmds).cause.code, 480);

    // Ann calls Bob's short number: busy, he does not want to be disturbed.
    let r = route(
        &directory_at(T0 + 1_000, &states),
        &RouteCaller::Agent(user("ann")),
        "102",
    );
    assert_eq!(r.clone().unwrap_err().sip_status(), (486, "Busy Here"));

    // Thirty seconds on, Ann's wrap-up is over by itself and the next call rings her only.
    let later = T0 + 30_000;
    let r = route(
        &directory_at(later, &states),
        &RouteCaller::Trunk,
        "+74951234567",
    );
    let mut e = Engine::new(EngineConfig::default());
    e.handle_incoming(later, incoming(Direction::Inbound, None, plan(r)))
        .unwrap();
    let cmds = drain(&mut e);
    let rung: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Originate { target, .. } => target.user.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(rung, vec![user("ann")]);
}

#[test]
fn the_platform_holds_the_customer_of_an_answered_call() {
    // Outgoing: the called customer hears the music.
    let (mut e, a, b) = outbound_call(EngineConfig::default());
    let id = e.call_of(a).unwrap().clone();
    assert!(matches!(
        e.hold_call(&id, true),
        Err(callisto_engine::EngineError::NotAnswered(_))
    ));
    e.handle_answered(T0 + 1_000, b);
    drain(&mut e);
    e.hold_call(&id, true).unwrap();
    assert_eq!(drain(&mut e), vec![Command::HoldMusic { leg: b, on: true }]);
    e.hold_call(&id, false).unwrap();
    assert_eq!(
        drain(&mut e),
        vec![Command::HoldMusic { leg: b, on: false }]
    );

    // Incoming: the calling customer does.
    let mut e = Engine::new(EngineConfig::default());
    let plan = Plan::Dial {
        targets: vec![device("ann")],
    };
    let a = e
        .handle_incoming(T0, incoming(Direction::Inbound, None, plan))
        .unwrap();
    let [ann] = originated(&drain(&mut e))[..] else {
        panic!()
    };
    e.handle_answered(T0 + 2_000, ann);
    drain(&mut e);
    let id = e.call_of(a).unwrap().clone();
    e.hold_call(&id, true).unwrap();
    assert_eq!(drain(&mut e), vec![Command::HoldMusic { leg: a, on: true }]);

    let gone = CallId::parse("01JZZZZZZZZZZZZZZZZZZZZZZZ").unwrap();
    assert!(matches!(
        e.hold_call(&gone, true),
        Err(callisto_engine::EngineError::UnknownCall(_))
    ));
}

/// Ann dials the echo test: the engine answers her leg and asks for echo.
fn echo_call(config: EngineConfig) -> (Engine, LegId) {
    let mut e = Engine::new(config);
    let call = IncomingCall {
        to: "*43".into(),
        line: None,
        ..incoming(Direction::Internal, Some("ann"), Plan::Echo)
    };
    let a = e.handle_incoming(T0, call).unwrap();
    let id = CallId::parse("call1").unwrap();
    assert_eq!(
        drain(&mut e),
        vec![
            Command::Answer { leg: a },
            Command::Echo { call: id, leg: a }
        ],
        "answered at once, no other leg dialled"
    );
    (e, a)
}

#[test]
fn an_echo_test_is_answered_at_once_and_ends_on_the_callers_bye_without_a_record() {
    let (mut e, a) = echo_call(EngineConfig::default());
    let id = CallId::parse("call1").unwrap();
    assert_eq!(e.calls().len(), 1, "shown as a call in progress");
    // Hold from the caller has nobody to play music to.
    e.handle_hold(T0 + 1_000, a, true);
    assert!(drain(&mut e).is_empty());
    e.handle_hangup(T0 + 5_000, a, true);
    assert_eq!(drain(&mut e), vec![Command::EchoEnded { call: id }]);
    assert!(e.calls().is_empty());
    assert_eq!(e.poll_timeout(), None, "its bound is disarmed");
    assert_eq!(e.call_of(a), None);
}

#[test]
fn an_echo_test_left_open_is_ended_by_the_node_at_its_bound() {
    let (mut e, a) = echo_call(EngineConfig {
        echo_limit: 30_000,
        ..EngineConfig::default()
    });
    let id = CallId::parse("call1").unwrap();
    assert_eq!(e.poll_timeout(), Some(T0 + 30_000));
    e.handle_timeout(T0 + 29_999);
    assert!(drain(&mut e).is_empty(), "not yet");
    e.handle_timeout(T0 + 30_000);
    assert_eq!(
        drain(&mut e),
        vec![Command::Hangup { leg: a }, Command::EchoEnded { call: id }]
    );
    assert!(e.calls().is_empty());
    // A BYE crossing ours finds nothing left.
    e.handle_hangup(T0 + 30_010, a, true);
    assert!(drain(&mut e).is_empty());
}

#[test]
fn a_forced_hang_up_ends_an_echo_test_without_a_record() {
    let (mut e, a) = echo_call(EngineConfig::default());
    let id = CallId::parse("call1").unwrap();
    e.hangup_call(T0 + 2_000, &id).unwrap();
    assert_eq!(
        drain(&mut e),
        vec![Command::Hangup { leg: a }, Command::EchoEnded { call: id }]
    );
}

#[test]
fn agents_dialling_star_43_are_routed_to_the_echo_test() {
    let dir = Directory {
        tenant: TenantId::parse("t").ok(),
        phone_region: "RU".into(),
        extensions: vec![("43".into(), user("bob"))],
        reachable: vec![user("bob")],
        ..Directory::default()
    };
    assert_eq!(
        route(&dir, &RouteCaller::Agent(user("ann")), "*43"),
        Ok(Route::Echo)
    );
    // Short number 43 is still bob's.
    assert_eq!(
        route(&dir, &RouteCaller::Agent(user("ann")), "43"),
        Ok(Route::Agents(vec![user("bob")]))
    );
}
