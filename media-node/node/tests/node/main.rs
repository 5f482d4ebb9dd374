//! The media node with real peers on 127.0.0.1 (sipp, baresip, Chromium).
//! One test binary per crate: each links the whole product, so separate
//! binaries would multiply link time and disk for nothing.
#![allow(clippy::unwrap_used)]

mod support;

mod agent_state;
mod bad_input;
mod bridge;
mod browser;
mod control;
mod directory;
mod echo;
mod sip_calls;
mod spool;
mod webrtc;
mod ws;
