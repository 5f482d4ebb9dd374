//! Storage ports of Callisto and their backends.
//!
//! Ports (implemented by every backend, checked by one conformance suite):
//! - [`ItemStore`]: a single-table item store with partition/sort keys, three
//!   global secondary indexes, optimistic versions, conditional writes and
//!   all-or-nothing transactions — the shape of DynamoDB, mirrored by redb.
//! - [`BlobStore`]: objects by key (recordings, import files, exports).
//! - [`Queue`]: at-least-once queues with visibility timeout and redelivery.
//!
//! On top of the item port, [`repo`] has one narrow typed repository per
//! aggregate. Repositories build every key from a [`TenantId`], so no caller
//! outside this crate can address another tenant's items.
//!
//! [`TenantId`]: callisto_domain::ids::TenantId

#[cfg(feature = "aws")]
pub mod aws;
pub mod blob;
pub mod embedded;
mod error;
pub mod item;
pub mod outbox;
pub mod queue;
pub mod repo;
pub mod sealed;
pub mod smtp;
mod stores;

pub use blob::BlobStore;
pub use error::StoreError;
pub use item::ItemStore;
pub use queue::Queue;
pub use repo::Repos;
pub use stores::Stores;
