//! The HTTP API, end to end through the one Router (oneshot requests on the embedded store).
//! One test binary per crate: each links the whole product, so separate
//! binaries would multiply link time and disk for nothing.
#![allow(clippy::unwrap_used)]

mod support;

mod auth;
mod bad_input;
mod calls;
mod card_settings;
mod clients;
mod duplicates;
mod events;
mod filters;
mod imports;
mod mail;
mod scenarios;
mod socket;
mod telephony;
mod users;
mod work_lists;
