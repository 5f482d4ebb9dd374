/// Errors of every storage port. Backend details stay in the message; callers
/// branch on the variant.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write or a transaction's condition did not hold; nothing was written.
    #[error("condition failed: {0}")]
    ConditionFailed(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is invalid for the store (bad key, too many operations…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Stored data could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, network, service error).
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}
