//! Callisto's pure rules. Nothing here does I/O or reads the clock: time is a
//! parameter (`Millis`), identifiers are made by the caller.

pub mod access;
pub mod activity;
pub mod agent_state;
pub mod bulk;
pub mod call;
pub mod call_result;
pub mod card_settings;
pub mod client;
pub mod duplicates;
pub mod email;
pub mod event;
pub mod filter;
pub mod ids;
pub mod import;
pub mod import_job;
pub mod mail;
pub mod password;
pub mod phone;
pub mod questionnaire;
pub mod scenario;
pub mod script;
pub mod telephony;
pub mod throttle;
pub mod user;
pub mod work_list;

/// Milliseconds since the Unix epoch. Every rule that depends on time takes it as input.
pub type Millis = i64;
