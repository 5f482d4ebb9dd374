use crate::Clock;
use crate::auth::jwt::{JwtKeys, WeakSecret};
use crate::auth::password::PasswordHasher;
use callisto_store::outbox::Outbox;
use callisto_store::sealed::SealingKey;
use callisto_store::{Repos, Stores};
use std::sync::Arc;

/// Settings of the API, part of each binary's typed config.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// HMAC key for access tokens (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// Base URL of the web app, used in links sent by mail.
    pub public_url: String,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// The digest realm of agents' SIP accounts. Their stored HA1 values are
    /// bound to it: changing it invalidates every SIP password.
    pub sip_realm: String,
    /// Where browsers reach the media node's SIP over (secure) WebSocket, e.g.
    /// `ws://127.0.0.1:5066`; `None` when no node takes browsers.
    pub sip_websocket: Option<String>,
    /// How long before its time an event counts as due (PRODUCT C13); the
    /// reminder job uses its own setting of the same meaning.
    pub event_lead_ms: i64,
    /// The secret SMTP passwords are sealed with (at least 32 bytes; the key
    /// is derived from it with HKDF, decision 012). `new` starts it as the
    /// JWT secret; the binaries set their own.
    pub mail_secret: Vec<u8>,
}

impl ApiConfig {
    pub fn new(jwt_secret: Vec<u8>, public_url: impl Into<String>) -> ApiConfig {
        ApiConfig {
            mail_secret: jwt_secret.clone(),
            jwt_secret,
            issuer: "callisto".into(),
            audience: "callisto-api".into(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            public_url: public_url.into(),
            body_limit: 1024 * 1024,
            sip_realm: "callisto".into(),
            sip_websocket: None,
            event_lead_ms: callisto_domain::event::DEFAULT_LEAD_MS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub repos: Repos,
    pub stores: Stores,
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ApiConfig>,
    pub(crate) jwt: Arc<JwtKeys>,
    pub(crate) hasher: PasswordHasher,
    /// Seals and opens SMTP passwords.
    pub(crate) sealing: Arc<SealingKey>,
}

impl AppState {
    /// Fails if the JWT secret or the mail secret is shorter than 32 bytes.
    pub fn new(
        stores: Stores,
        outbox: Arc<dyn Outbox>,
        clock: Arc<dyn Clock>,
        config: ApiConfig,
    ) -> Result<AppState, WeakSecret> {
        let jwt = Arc::new(JwtKeys::new(&config)?);
        let sealing = Arc::new(SealingKey::derive(&config.mail_secret).map_err(|_| WeakSecret)?);
        Ok(AppState {
            repos: Repos::new(stores.items.clone()),
            stores,
            outbox,
            clock,
            config: Arc::new(config),
            jwt,
            hasher: PasswordHasher::new(),
            sealing,
        })
    }

    /// An argon2id hash, for callers that create users outside a request (seeding).
    pub async fn hash_password(&self, password: &str) -> Result<String, crate::error::ApiError> {
        self.hasher.hash(password).await
    }
}
