//! The queued jobs against the embedded store.
//! One test binary per crate: each links the whole product, so separate
//! binaries would multiply link time and disk for nothing.
#![allow(clippy::unwrap_used)]

mod support;

mod due;
mod duplicates;
mod import;
mod import_chunks;
mod purge;
mod reminders;
