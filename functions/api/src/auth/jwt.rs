//! Access tokens: HS256 JWTs with `iss`, `aud`, `exp` and `iat`, the algorithm
//! pinned. Expiry is checked against the API's [`crate::Clock`], not the system
//! clock, so it is testable on virtual time.

use crate::ApiConfig;
use crate::error::ApiError;
use callisto_domain::Millis;
use callisto_domain::ids::{TenantId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("the JWT secret and the mail secret must be at least 32 bytes")]
pub struct WeakSecret;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    tid: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub tenant: TenantId,
    pub user: UserId,
    pub expires_at: Millis,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn new(config: &ApiConfig) -> Result<JwtKeys, WeakSecret> {
        if config.jwt_secret.len() < 32 {
            return Err(WeakSecret);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked in `verify` against the injected clock.
        validation.validate_exp = false;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(&config.jwt_secret),
            decoding: DecodingKey::from_secret(&config.jwt_secret),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_secs: config.access_ttl_secs,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, tenant: &TenantId, user: &UserId, now: Millis) -> Result<String, ApiError> {
        let iat = now / 1000;
        let claims = Claims {
            sub: user.to_string(),
            tid: tenant.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            exp: iat + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str, now: Millis) -> Result<TokenClaims, ApiError> {
        let invalid = |why: &str| {
            ApiError::unauthenticated("invalid_token", format!("access token rejected: {why}"))
        };
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => invalid("bad signature"),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    invalid("algorithm not allowed")
                }
                ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                ErrorKind::InvalidAudience => invalid("wrong audience"),
                ErrorKind::MissingRequiredClaim(c) => invalid(&format!("missing claim {c}")),
                _ => invalid("malformed token"),
            })?;
        let c = data.claims;
        if now / 1000 >= c.exp {
            return Err(ApiError::unauthenticated(
                "token_expired",
                "access token expired; refresh it",
            ));
        }
        Ok(TokenClaims {
            tenant: TenantId::parse(c.tid).map_err(|_| invalid("bad tenant"))?,
            user: UserId::parse(c.sub).map_err(|_| invalid("bad subject"))?,
            expires_at: c.exp * 1000,
        })
    }
}
