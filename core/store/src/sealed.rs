//! Secrets kept encrypted at rest (SMTP passwords, PRODUCT D3), decision
//! docs/decisions/012-mail-sending.md: AES-256-GCM from aws-lc-rs, the key
//! derived with HKDF-SHA256 from the configured secret (so the same secret
//! used elsewhere still gives a distinct key), a random 96-bit nonce per
//! sealing, and the tenant id as associated data, so a sealed value copied
//! into another tenant's item does not open.
//!
//! Stored form: `v1.<base64(nonce ‖ ciphertext ‖ tag)>`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use callisto_domain::ids::TenantId;

const PREFIX: &str = "v1.";
const INFO: &[u8] = b"callisto mail account passwords v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealing secret must be at least 32 bytes")]
    WeakSecret,
    #[error("the sealed value does not open with this key and tenant")]
    Unreadable,
    #[error("no randomness available for a nonce")]
    Random,
}

/// The key secrets are sealed with.
pub struct SealingKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    /// Derives the key from `secret` (at least 32 bytes).
    pub fn derive(secret: &[u8]) -> Result<SealingKey, SealError> {
        if secret.len() < 32 {
            return Err(SealError::WeakSecret);
        }
        let prk = Salt::new(HKDF_SHA256, &[]).extract(secret);
        let okm = prk
            .expand(&[INFO], &AES_256_GCM)
            .map_err(|_| SealError::WeakSecret)?;
        Ok(SealingKey {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }

    /// Encrypts `plain` for `tenant`.
    pub fn seal(&self, tenant: &TenantId, plain: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(tenant.as_str().as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Unreadable)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out)))
    }

    /// Decrypts what [`seal`](Self::seal) made for the same tenant.
    pub fn open(&self, tenant: &TenantId, sealed: &str) -> Result<String, SealError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD_NO_PAD.decode(b).ok())
            .ok_or(SealError::Unreadable)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Unreadable);
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unreadable)?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(tenant.as_str().as_bytes()), &mut data)
            .map_err(|_| SealError::Unreadable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn a_sealed_password_opens_for_its_tenant_only() {
        let key = SealingKey::derive(&[7; 32]).unwrap();
        let a = key.seal(&t("acme"), "s3cret пароль").unwrap();
        assert!(!a.contains("s3cret"));
        assert_eq!(key.open(&t("acme"), &a).unwrap(), "s3cret пароль");
        assert_eq!(key.open(&t("other"), &a), Err(SealError::Unreadable));
        let b = key.seal(&t("acme"), "s3cret пароль").unwrap();
        assert_ne!(a, b, "a fresh nonce every time");
    }

    #[test]
    fn another_key_or_a_changed_byte_does_not_open() {
        let key = SealingKey::derive(&[7; 32]).unwrap();
        let sealed = key.seal(&t("acme"), "pw").unwrap();
        let other = SealingKey::derive(&[8; 32]).unwrap();
        assert_eq!(other.open(&t("acme"), &sealed), Err(SealError::Unreadable));
        let mut raw = STANDARD_NO_PAD.decode(&sealed[PREFIX.len()..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("{PREFIX}{}", STANDARD_NO_PAD.encode(raw));
        assert_eq!(key.open(&t("acme"), &tampered), Err(SealError::Unreadable));
        assert_eq!(key.open(&t("acme"), "plain"), Err(SealError::Unreadable));
        assert_eq!(
            SealingKey::derive(&[1; 31]).unwrap_err(),
            SealError::WeakSecret
        );
    }
}
