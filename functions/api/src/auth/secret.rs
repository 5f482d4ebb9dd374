//! Opaque tokens (refresh, e-mail confirmation): `<tenant>.<secret>`. The
//! tenant part says which partition holds the record; only the SHA-256 of the
//! 256-bit secret is stored.

use base64::Engine;
use callisto_domain::ids::TenantId;
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueToken {
    pub tenant: TenantId,
    /// Hex SHA-256 of the secret: the storage key.
    pub hash: String,
}

/// A new token string and what to store for it.
pub fn generate(tenant: &TenantId) -> (String, OpaqueToken) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let token = format!("{tenant}.{secret}");
    (
        token,
        OpaqueToken {
            tenant: tenant.clone(),
            hash: hash(&secret),
        },
    )
}

/// `None` for anything that is not a well-formed token.
pub fn parse(token: &str) -> Option<OpaqueToken> {
    let (tenant, secret) = token.trim().split_once('.')?;
    if secret.len() != 43
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(OpaqueToken {
        tenant: TenantId::parse(tenant).ok()?,
        hash: hash(secret),
    })
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random initial password that satisfies the password rule.
pub fn initial_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("Cl{body}7")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_garbage() {
        let t = TenantId::parse("T1").unwrap();
        let (token, stored) = generate(&t);
        assert_eq!(parse(&token), Some(stored));
        for bad in [
            "",
            "T1",
            "T1.",
            "T1.short",
            "bad#tenant.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("{token}x"),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(callisto_domain::password::check_password_rule(&initial_password()).is_ok());
    }
}
