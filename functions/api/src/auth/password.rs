//! Argon2id password hashes (OWASP parameters: 19 MiB, 2 passes). Hashing
//! runs on the blocking pool, a few at a time, so a burst of log-ins can
//! neither stall the async executor nor exhaust memory.

use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// A hash of a random password, verified against when the e-mail is unknown
/// so that the answer takes as long as for a known one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let pw = ulid::Ulid::new().to_string();
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

impl PasswordHasher {
    pub fn new() -> PasswordHasher {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordHasher {
            permits: Arc::new(Semaphore::new(parallel)),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let pw = password.to_string();
        self.run(move || {
            Argon2::default()
                .hash_password(pw.as_bytes())
                .map(|h| h.to_string())
                .map_err(ApiError::internal)
        })
        .await?
    }

    /// `false` for a wrong password or an unusable stored hash.
    pub async fn verify(
        &self,
        password: &str,
        stored_hash: Option<&str>,
    ) -> Result<bool, ApiError> {
        let pw = password.to_string();
        let hash = stored_hash.map(str::to_string);
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
            known
                && Argon2::default()
                    .verify_password(pw.as_bytes(), hash.as_str())
                    .is_ok()
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }
}
