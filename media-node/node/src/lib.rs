//! The media node: the only part of the media plane that owns sockets, timers
//! and files. It feeds the sans-IO SIP stack, media processing and call engine
//! and carries out what they ask.

pub mod bridge;
pub mod directory;
pub mod spool;
