//! Sans-IO media for the Callisto media node.
//!
//! Everything here is computation on buffers the caller owns: time comes in as
//! a parameter (`now: Instant`), packets come in as byte slices and go out into
//! caller buffers, files are any `Read`/`Write`. Sockets, timers and SRTP belong
//! to `media-node/node`.

pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod recorder;
pub mod rtcp;
pub mod rtp;
pub mod tone;
