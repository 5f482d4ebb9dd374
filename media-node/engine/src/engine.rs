//! The B2BUA's call control, sans-IO: the node reports what happened on each
//! leg (`handle_*`), the engine answers with commands (`poll_command`) and
//! asks to be woken at `poll_timeout`. Time is the caller's (`Millis`), so a
//! whole call, timeouts included, runs on a virtual clock in tests.
//!
//! A call has an A side (the caller: an incoming leg, or for originated calls
//! the legs that ring the agent first) and a B side (the legs dialled for it).
//! Several legs on one side ring at once; the first to answer takes the call
//! and the others are cancelled.
//!
//! An echo test (an agent dialling `*43`, [`Plan::Echo`]) has only the A
//! leg: the node answers it and sends its audio back until the caller hangs
//! up or `echo_limit` runs out. It is no conversation with anyone, so it ends
//! in [`Command::EchoEnded`], not in a call record: the call log, reports,
//! wrap-up and per-use billing, all of which read records, never see it.

use callisto_domain::Millis;
use callisto_domain::call::{
    CallId, CallRecord, Cause, Direction, HangupSide, Outcome, RecordingRef,
};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A leg is one SIP dialog (or dialog attempt) of the node with one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// Out through the tenant's trunk.
    Trunk { number: String, caller_id: String },
    /// A registered device (its contact URI, as the registrar holds it).
    Device { contact: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The agent this leg reaches, if it reaches one.
    pub user: Option<UserId>,
    pub dest: Dest,
}

/// What the node decided for a new incoming call (see [`crate::route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Refuse {
        code: u16,
        reason: String,
    },
    Dial {
        targets: Vec<Target>,
    },
    /// The node answers and echoes the caller's audio back (`*43`).
    Echo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    pub call: CallId,
    pub tenant: TenantId,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    /// The calling agent (outbound and internal calls).
    pub agent: Option<UserId>,
    pub client: Option<ClientId>,
    pub line: Option<String>,
    pub plan: Plan,
}

/// A call the platform places itself ("via your phone", click-to-call): it
/// rings `first` (the agent), and once answered dials `then` (the customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginatedCall {
    pub call: CallId,
    pub tenant: TenantId,
    pub direction: Direction,
    pub agent: UserId,
    pub from: String,
    pub to: String,
    pub client: Option<ClientId>,
    pub line: Option<String>,
    pub first: Vec<Target>,
    pub then: Vec<Target>,
}

/// What the node must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Tell the caller's leg it is ringing (180).
    Ring { leg: LegId },
    /// Start a new leg (send an INVITE).
    Originate {
        leg: LegId,
        call: CallId,
        tenant: TenantId,
        target: Target,
    },
    /// Answer the incoming leg (200 OK).
    Answer { leg: LegId },
    /// Refuse the incoming leg with a final status.
    Reject {
        leg: LegId,
        code: u16,
        reason: String,
    },
    /// Give up on an outgoing leg that has not answered (CANCEL).
    Cancel { leg: LegId },
    /// End an established leg (BYE).
    Hangup { leg: LegId },
    /// Join the media of two answered legs, recording both.
    Bridge { call: CallId, a: LegId, b: LegId },
    /// Send every packet the answered leg sends back to it (echo test; not recorded).
    Echo { call: CallId, leg: LegId },
    /// Play (or stop) hold music to a leg whose peer put the call on hold.
    HoldMusic { leg: LegId, on: bool },
    /// The call is over; write its record (after finishing the recording).
    Ended(CallSummary),
    /// An echo test is over: stop its media. It leaves no record.
    EchoEnded { call: CallId },
}

/// Everything a call record needs, but the recording the node adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    pub call: CallId,
    pub tenant: TenantId,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub agent: Option<UserId>,
    pub client: Option<ClientId>,
    pub line: Option<String>,
    pub started_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    pub outcome: Outcome,
    pub hangup: HangupSide,
    pub cause: Cause,
    /// Whether media was bridged (and so recorded).
    pub bridged: bool,
}

impl CallSummary {
    /// A call just begun: nothing answered yet, outcome to be decided.
    #[allow(clippy::too_many_arguments)]
    fn started(
        call: CallId,
        tenant: TenantId,
        direction: Direction,
        (from, to): (String, String),
        agent: Option<UserId>,
        client: Option<ClientId>,
        line: Option<String>,
        now: Millis,
    ) -> CallSummary {
        CallSummary {
            call,
            tenant,
            direction,
            from,
            to,
            agent,
            client,
            line,
            started_at: now,
            answered_at: None,
            ended_at: now,
            outcome: Outcome::Failed,
            hangup: HangupSide::System,
            cause: Cause {
                code: 0,
                reason: String::new(),
            },
            bridged: false,
        }
    }

    /// The call's record, with its recording if it was recorded.
    pub fn into_record(self, recording: Option<RecordingRef>) -> CallRecord {
        CallRecord {
            id: self.call,
            tenant: self.tenant,
            direction: self.direction,
            from: self.from,
            to: self.to,
            agent: self.agent,
            client: self.client,
            line: self.line,
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            outcome: self.outcome,
            hangup: self.hangup,
            cause: self.cause,
            recording,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long the dialled side may ring before the call is given up.
    pub ring_timeout: Millis,
    /// The longest a call may last; then the platform hangs up.
    pub max_duration: Millis,
    /// The longest an echo test may last: long enough to speak and listen a
    /// few times, short enough that a forgotten one does not hold a media port.
    pub echo_limit: Millis,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ring_timeout: 60_000,
            max_duration: 4 * 3600 * 1000,
            echo_limit: 60_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

#[derive(Debug)]
struct Call {
    info: CallSummary,
    /// The answered (or incoming) leg of each side.
    a: Option<LegId>,
    b: Option<LegId>,
    /// Legs ringing on each side, with the agent each reaches.
    ringing: Vec<(LegId, Side, Option<UserId>)>,
    /// Targets to dial once side A answers (originated calls).
    then: Vec<Target>,
    rang_a: bool,
    /// The most telling failure of the B side so far.
    failure: Option<(u16, String)>,
    deadline: Millis,
    a_is_incoming: bool,
    /// An echo test: the A leg only, echoed back by the node.
    echo: bool,
}

#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    calls: HashMap<CallId, Call>,
    legs: HashMap<LegId, CallId>,
    next_leg: u64,
    commands: VecDeque<Command>,
    deadlines: BTreeMap<(Millis, CallId), ()>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("call {0} is already in progress")]
    DuplicateCall(CallId),
    #[error("no call {0}")]
    UnknownCall(CallId),
    #[error("a call needs at least one leg to dial")]
    NothingToDial,
    #[error("call {0} is not answered yet")]
    NotAnswered(CallId),
}

/// A snapshot of a call in progress, for the control API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallView {
    pub call: CallId,
    pub tenant: TenantId,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub agent: Option<UserId>,
    pub started_at: Millis,
    pub answered_at: Option<Millis>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            ..Engine::default()
        }
    }

    fn leg(&mut self) -> LegId {
        self.next_leg += 1;
        LegId(self.next_leg)
    }

    /// A new incoming leg (an INVITE the node received and routed). Returns the
    /// leg's id; the node keys its dialog by it.
    pub fn handle_incoming(&mut self, now: Millis, c: IncomingCall) -> Result<LegId, EngineError> {
        if self.calls.contains_key(&c.call) {
            return Err(EngineError::DuplicateCall(c.call));
        }
        let a = self.leg();
        let info = CallSummary::started(
            c.call.clone(),
            c.tenant.clone(),
            c.direction,
            (c.from, c.to),
            c.agent,
            c.client,
            c.line,
            now,
        );
        let mut call = Call {
            info,
            a: Some(a),
            b: None,
            ringing: Vec::new(),
            then: Vec::new(),
            rang_a: false,
            failure: None,
            deadline: now + self.config.ring_timeout,
            a_is_incoming: true,
            echo: false,
        };
        self.legs.insert(a, c.call.clone());
        match c.plan {
            Plan::Refuse { code, reason } => {
                self.commands.push_back(Command::Reject {
                    leg: a,
                    code,
                    reason: reason.clone(),
                });
                call.failure = Some((code, reason));
                self.calls.insert(c.call.clone(), call);
                self.finish(now, &c.call, Outcome::Failed, HangupSide::System, None);
            }
            Plan::Dial { targets } if targets.is_empty() => {
                return Err(EngineError::NothingToDial);
            }
            Plan::Dial { targets } => {
                self.calls.insert(c.call.clone(), call);
                self.dial(&c.call, Side::B, targets);
                self.arm(&c.call);
            }
            Plan::Echo => {
                call.echo = true;
                call.info.answered_at = Some(now);
                call.deadline = now + self.config.echo_limit;
                tracing::info!(call = %c.call, tenant = %c.tenant,
                    agent = ?call.info.agent, limit_ms = self.config.echo_limit,
                    "echo test answered");
                self.calls.insert(c.call.clone(), call);
                self.commands.push_back(Command::Answer { leg: a });
                self.commands.push_back(Command::Echo {
                    call: c.call.clone(),
                    leg: a,
                });
                self.arm(&c.call);
            }
        }
        Ok(a)
    }

    /// Places a call from the platform: ring the agent first, then the customer.
    pub fn originate(&mut self, now: Millis, c: OriginatedCall) -> Result<(), EngineError> {
        if self.calls.contains_key(&c.call) {
            return Err(EngineError::DuplicateCall(c.call));
        }
        if c.first.is_empty() || c.then.is_empty() {
            return Err(EngineError::NothingToDial);
        }
        let info = CallSummary::started(
            c.call.clone(),
            c.tenant,
            c.direction,
            (c.from, c.to),
            Some(c.agent),
            c.client,
            c.line,
            now,
        );
        self.calls.insert(
            c.call.clone(),
            Call {
                info,
                a: None,
                b: None,
                ringing: Vec::new(),
                then: c.then,
                rang_a: true,
                failure: None,
                deadline: now + self.config.ring_timeout,
                a_is_incoming: false,
                echo: false,
            },
        );
        self.dial(&c.call, Side::A, c.first);
        self.arm(&c.call);
        Ok(())
    }

    fn dial(&mut self, id: &CallId, side: Side, targets: Vec<Target>) {
        let Some(tenant) = self.calls.get(id).map(|c| c.info.tenant.clone()) else {
            return;
        };
        for target in targets {
            let leg = self.leg();
            self.legs.insert(leg, id.clone());
            if let Some(call) = self.calls.get_mut(id) {
                call.ringing.push((leg, side, target.user.clone()));
            }
            self.commands.push_back(Command::Originate {
                leg,
                call: id.clone(),
                tenant: tenant.clone(),
                target,
            });
        }
    }

    fn arm(&mut self, id: &CallId) {
        if let Some(c) = self.calls.get(id) {
            self.deadlines.insert((c.deadline, id.clone()), ());
        }
    }

    fn disarm(&mut self, id: &CallId) {
        if let Some(c) = self.calls.get(id) {
            self.deadlines.remove(&(c.deadline, id.clone()));
        }
    }

    /// An outgoing leg is ringing (180/183).
    pub fn handle_ringing(&mut self, _now: Millis, leg: LegId) {
        let Some(id) = self.legs.get(&leg).cloned() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let on_b = call
            .ringing
            .iter()
            .any(|(l, s, _)| *l == leg && *s == Side::B);
        if on_b && call.a_is_incoming && !call.rang_a {
            call.rang_a = true;
            if let Some(a) = call.a {
                self.commands.push_back(Command::Ring { leg: a });
            }
        }
    }

    /// An outgoing leg answered (2xx).
    pub fn handle_answered(&mut self, now: Millis, leg: LegId) {
        // A leg the call no longer wants (cancelled, or its call is over)
        // answered anyway: end it at once rather than leave it open.
        let Some(call) = self.legs.get(&leg).cloned().and_then(|id| {
            let call = self.calls.get_mut(&id)?;
            Some((id, call))
        }) else {
            self.commands.push_back(Command::Hangup { leg });
            return;
        };
        let (id, call) = call;
        let Some(pos) = call.ringing.iter().position(|(l, _, _)| *l == leg) else {
            // Not ringing any more (the call was taken or given up): a late 2xx.
            self.commands.push_back(Command::Hangup { leg });
            return;
        };
        let (_, side, user) = call.ringing.remove(pos);
        // The first to answer takes it; the other legs of that side stop ringing.
        let others: Vec<LegId> = call
            .ringing
            .iter()
            .filter(|(_, s, _)| *s == side)
            .map(|(l, _, _)| *l)
            .collect();
        call.ringing.retain(|(_, s, _)| *s != side);
        for l in others {
            self.commands.push_back(Command::Cancel { leg: l });
            self.legs.remove(&l);
        }
        match side {
            Side::A => {
                // The agent picked up an originated call: now dial the customer.
                call.a = Some(leg);
                let then = std::mem::take(&mut call.then);
                self.disarm(&id);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.deadline = now + self.config.ring_timeout;
                }
                self.dial(&id, Side::B, then);
                self.arm(&id);
            }
            Side::B => {
                call.b = Some(leg);
                call.info.answered_at = Some(now);
                call.info.bridged = true;
                if call.info.agent.is_none() {
                    call.info.agent = user;
                }
                let a = call.a;
                if call.a_is_incoming
                    && let Some(a) = a
                {
                    self.commands.push_back(Command::Answer { leg: a });
                }
                if let Some(a) = a {
                    self.commands.push_back(Command::Bridge {
                        call: id.clone(),
                        a,
                        b: leg,
                    });
                }
                self.disarm(&id);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.deadline = now + self.config.max_duration;
                }
                self.arm(&id);
            }
        }
    }

    /// An outgoing leg failed with a final status (or could not be sent: code 503).
    pub fn handle_failed(&mut self, now: Millis, leg: LegId, code: u16, reason: &str) {
        let Some(id) = self.legs.remove(&leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(pos) = call.ringing.iter().position(|(l, _, _)| *l == leg) else {
            return;
        };
        let (_, side, _) = call.ringing.remove(pos);
        // Busy is the most telling answer of several ringing devices.
        if call.failure.is_none() || matches!(code, 486 | 600) {
            call.failure = Some((code, reason.to_string()));
        }
        if call.ringing.iter().any(|(_, s, _)| *s == side) {
            return;
        }
        let (code, reason) = call.failure.clone().unwrap_or((code, reason.to_string()));
        let outcome = match code {
            486 | 600 => Outcome::Busy,
            408 | 480 | 487 if side == Side::B && call.a_is_incoming => match call.info.direction {
                Direction::Outbound => Outcome::NoAnswer,
                _ => Outcome::Missed,
            },
            408 | 480 | 487 => Outcome::NoAnswer,
            _ => Outcome::Failed,
        };
        self.release_a(&id, code, &reason);
        self.finish(now, &id, outcome, HangupSide::Callee, None);
    }

    /// A leg ended: BYE on an established leg, CANCEL of the incoming leg, or
    /// the node lost it (transport failure, no media): `by_peer` false.
    pub fn handle_hangup(&mut self, now: Millis, leg: LegId, by_peer: bool) {
        let Some(id) = self.legs.get(&leg).cloned() else {
            return;
        };
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let side = if call.a == Some(leg) {
            Side::A
        } else if call.b == Some(leg) {
            Side::B
        } else {
            // A ringing leg that hung up is a failure of that leg.
            self.handle_failed(now, leg, 487, "Request Terminated");
            return;
        };
        let who = match (by_peer, side) {
            (false, _) => HangupSide::System,
            (true, Side::A) => HangupSide::Caller,
            (true, Side::B) => HangupSide::Callee,
        };
        let answered = call.info.answered_at.is_some();
        let inbound = call.a_is_incoming && call.info.direction != Direction::Outbound;
        // The gone leg gets no command; everything else of the call goes down.
        self.legs.remove(&leg);
        if let Some(c) = self.calls.get_mut(&id) {
            if c.a == Some(leg) {
                c.a = None;
            }
            if c.b == Some(leg) {
                c.b = None;
            }
        }
        self.drop_all(&id);
        if answered {
            self.finish(now, &id, Outcome::Answered, who, Some((200, "BYE")));
        } else {
            let outcome = if inbound {
                Outcome::Missed
            } else {
                Outcome::Cancelled
            };
            self.finish(now, &id, outcome, who, Some((487, "Request Terminated")));
        }
    }

    /// Hold or resume from a leg's peer (re-INVITE with sendonly/inactive).
    pub fn handle_hold(&mut self, _now: Millis, leg: LegId, held: bool) {
        let Some(call) = self.legs.get(&leg).and_then(|id| self.calls.get(id)) else {
            return;
        };
        let other = if call.a == Some(leg) { call.b } else { call.a };
        if let Some(other) = other {
            self.commands.push_back(Command::HoldMusic {
                leg: other,
                on: held,
            });
        }
    }

    /// Puts an answered call on hold from outside (the agent's app, a
    /// supervisor) or takes it off: the customer — the caller of an incoming
    /// call, the called party of any other — hears the hold music meanwhile.
    pub fn hold_call(&mut self, id: &CallId, on: bool) -> Result<(), EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| EngineError::UnknownCall(id.clone()))?;
        let customer = match call.info.direction {
            Direction::Inbound => call.a,
            _ => call.b,
        };
        match (call.info.answered_at, customer) {
            (Some(_), Some(leg)) => {
                self.commands.push_back(Command::HoldMusic { leg, on });
                Ok(())
            }
            _ => Err(EngineError::NotAnswered(id.clone())),
        }
    }

    /// Ends a call from outside (control API, forced hang-up by a supervisor).
    pub fn hangup_call(&mut self, now: Millis, id: &CallId) -> Result<(), EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| EngineError::UnknownCall(id.clone()))?;
        let answered = call.info.answered_at.is_some();
        self.drop_all(id);
        let (outcome, cause) = if answered {
            (Outcome::Answered, (200, "BYE"))
        } else {
            (Outcome::Cancelled, (487, "Request Terminated"))
        };
        self.finish(now, id, outcome, HangupSide::System, Some(cause));
        Ok(())
    }

    /// Wakes the engine: rings that ran out of time, calls over their length.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some(((at, id), ())) = self.deadlines.first_key_value() {
            if *at > now {
                break;
            }
            let id = id.clone();
            self.deadlines.pop_first();
            let Some(call) = self.calls.get(&id) else {
                continue;
            };
            if call.info.answered_at.is_some() {
                self.drop_all(&id);
                self.finish(
                    now,
                    &id,
                    Outcome::Answered,
                    HangupSide::System,
                    Some((200, "BYE")),
                );
            } else {
                let outcome = match call.info.direction {
                    Direction::Inbound | Direction::Internal if call.a_is_incoming => {
                        Outcome::Missed
                    }
                    _ => Outcome::NoAnswer,
                };
                self.drop_all_with(&id, 480, "No Answer");
                self.finish(
                    now,
                    &id,
                    outcome,
                    HangupSide::System,
                    Some((480, "No Answer")),
                );
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Millis> {
        self.deadlines.keys().next().map(|(at, _)| *at)
    }

    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    pub fn calls(&self) -> Vec<CallView> {
        let mut v: Vec<CallView> = self
            .calls
            .values()
            .map(|c| CallView {
                call: c.info.call.clone(),
                tenant: c.info.tenant.clone(),
                direction: c.info.direction,
                from: c.info.from.clone(),
                to: c.info.to.clone(),
                agent: c.info.agent.clone(),
                started_at: c.info.started_at,
                answered_at: c.info.answered_at,
            })
            .collect();
        v.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.call.cmp(&b.call)));
        v
    }

    /// The calling party of a call in progress, as its record will show it.
    pub fn caller(&self, call: &CallId) -> Option<&str> {
        self.calls.get(call).map(|c| c.info.from.as_str())
    }

    /// The number a call in progress was made to, as its record will show it.
    pub fn called(&self, call: &CallId) -> Option<&str> {
        self.calls.get(call).map(|c| c.info.to.as_str())
    }

    /// The name of the company's line a call in progress came in on, if any.
    pub fn line(&self, call: &CallId) -> Option<&str> {
        self.calls.get(call).and_then(|c| c.info.line.as_deref())
    }

    /// The call a leg belongs to.
    pub fn call_of(&self, leg: LegId) -> Option<&CallId> {
        self.legs.get(&leg)
    }

    /// Refuses the incoming A leg (if still unanswered) after the B side failed.
    fn release_a(&mut self, id: &CallId, code: u16, reason: &str) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let (a, incoming) = (call.a, call.a_is_incoming);
        // The A side of an originated call is answered: hang it up instead.
        if let Some(a) = a {
            self.legs.remove(&a);
            if incoming {
                self.commands.push_back(Command::Reject {
                    leg: a,
                    code: sip_status_for_caller(code),
                    reason: reason.to_string(),
                });
            } else {
                self.commands.push_back(Command::Hangup { leg: a });
            }
        }
    }

    fn drop_all(&mut self, id: &CallId) {
        self.drop_all_with(id, 487, "Request Terminated");
    }

    /// Ends every leg of a call: hang up answered legs, cancel ringing ones,
    /// refuse an unanswered incoming one with `code`.
    fn drop_all_with(&mut self, id: &CallId, code: u16, reason: &str) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let ringing = std::mem::take(&mut call.ringing);
        let (a, b, incoming) = (call.a, call.b, call.a_is_incoming);
        let answered = call.info.answered_at.is_some();
        for (l, _, _) in ringing {
            self.legs.remove(&l);
            self.commands.push_back(Command::Cancel { leg: l });
        }
        if let Some(b) = b {
            self.legs.remove(&b);
            self.commands.push_back(Command::Hangup { leg: b });
        }
        if let Some(a) = a {
            self.legs.remove(&a);
            if incoming && !answered {
                self.commands.push_back(Command::Reject {
                    leg: a,
                    code,
                    reason: reason.to_string(),
                });
            } else {
                self.commands.push_back(Command::Hangup { leg: a });
            }
        }
    }

    fn finish(
        &mut self,
        now: Millis,
        id: &CallId,
        outcome: Outcome,
        hangup: HangupSide,
        cause: Option<(u16, &str)>,
    ) {
        self.disarm(id);
        let Some(call) = self.calls.remove(id) else {
            return;
        };
        self.legs.retain(|_, c| c != id);
        let mut info = call.info;
        if call.echo {
            tracing::info!(call = %info.call, tenant = %info.tenant, agent = ?info.agent,
                hangup = ?hangup, duration_ms = now - info.started_at, "echo test ended");
            self.commands
                .push_back(Command::EchoEnded { call: info.call });
            return;
        }
        info.ended_at = now;
        info.outcome = outcome;
        info.hangup = hangup;
        let (code, reason) = match (cause, call.failure) {
            (Some((c, r)), _) => (c, r.to_string()),
            (None, Some((c, r))) => (c, r),
            (None, None) => (500, "Server Internal Error".to_string()),
        };
        info.cause = Cause { code, reason };
        tracing::info!(call = %info.call, tenant = %info.tenant, outcome = ?info.outcome,
            hangup = ?info.hangup, code = info.cause.code, "call ended");
        self.commands.push_back(Command::Ended(info));
    }
}

/// The status the caller gets when every dialled leg failed: busy stays busy,
/// server trouble on the far side becomes 502 for our caller, the rest passes.
fn sip_status_for_caller(code: u16) -> u16 {
    match code {
        400..=499 | 600..=699 => code,
        500..=599 => 502,
        _ => 500,
    }
}
