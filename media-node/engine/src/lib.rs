//! Call control of the media node, sans-IO (see `engine`): routing a new call
//! (`route`), and the B2BUA's calls from the first INVITE to the call record.
//! No sockets, no clock: the node feeds events and time in and carries the
//! commands out.

pub mod engine;
pub mod route;

pub use engine::{
    CallSummary, CallView, Command, Dest, Engine, EngineConfig, EngineError, IncomingCall, LegId,
    OriginatedCall, Plan, Target,
};
pub use route::{Away, Caller, Directory, Refusal, Route, TrunkLine, away, route};
