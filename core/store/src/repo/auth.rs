use super::{RepoError, Versioned, encode, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{Condition, Index, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::Millis;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::throttle::LoginAttempts;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A refresh token as stored: only the SHA-256 of the secret is the key, so a
/// leaked table does not leak usable tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub user: UserId,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A single-use token (e-mail confirmation), also stored by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub user: UserId,
    pub purpose: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn refresh_key(t: &TenantId, hash: &str) -> Key {
    tenant_key(t, format!("REFRESH#{hash}"))
}

fn user_tokens_index(t: &TenantId, u: &UserId) -> String {
    format!("{}#USER#{u}#REFRESH", tenant_pk(t))
}

fn once_key(t: &TenantId, hash: &str) -> Key {
    tenant_key(t, format!("TOKEN#{hash}"))
}

impl Tokens {
    fn refresh_op(t: &TenantId, hash: &str, token: &RefreshToken) -> Result<WriteOp, StoreError> {
        let item = encode(refresh_key(t, hash), token)?.with_index(
            Index::Gsi1,
            Key::new(user_tokens_index(t, &token.user), format!("REFRESH#{hash}")),
        );
        Ok(WriteOp::Put {
            item,
            condition: Condition::NotExists,
        })
    }

    pub async fn put_refresh(
        &self,
        t: &TenantId,
        hash: &str,
        token: &RefreshToken,
    ) -> Result<(), RepoError> {
        self.items
            .transact(vec![Self::refresh_op(t, hash, token)?])
            .await?;
        Ok(())
    }

    pub async fn get_refresh(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> Result<Option<Versioned<RefreshToken>>, RepoError> {
        let item = self.items.get(&refresh_key(t, hash)).await?;
        Ok(item.map(|i| versioned(&i)).transpose()?)
    }

    /// Replaces a refresh token by a new one, once: of two concurrent rotations
    /// of the same token exactly one succeeds, the other gets `Stale`.
    pub async fn rotate_refresh(
        &self,
        t: &TenantId,
        old_hash: &str,
        old_version: u64,
        new_hash: &str,
        new: &RefreshToken,
    ) -> Result<(), RepoError> {
        let ops = vec![
            WriteOp::Delete {
                key: refresh_key(t, old_hash),
                condition: Condition::Version(old_version),
            },
            Self::refresh_op(t, new_hash, new)?,
        ];
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("refresh token")),
            other => Ok(other?),
        }
    }

    pub async fn revoke_refresh(&self, t: &TenantId, hash: &str) -> Result<(), RepoError> {
        self.items
            .delete(&refresh_key(t, hash), Condition::None)
            .await?;
        Ok(())
    }

    /// Revokes every refresh token of a user (password change, block, delete).
    pub async fn revoke_all(&self, t: &TenantId, u: &UserId) -> Result<usize, RepoError> {
        let mut revoked = 0;
        loop {
            let q = Query::index(
                Index::Gsi1,
                user_tokens_index(t, u),
                SortKey::Prefix("REFRESH#".into()),
            )
            .limit(100);
            let page = self.items.query(q).await?;
            if page.items.is_empty() {
                return Ok(revoked);
            }
            for item in page.items {
                self.items.delete(&item.key, Condition::None).await?;
                revoked += 1;
            }
        }
    }

    pub async fn put_once(
        &self,
        t: &TenantId,
        hash: &str,
        token: &OneTimeToken,
    ) -> Result<(), RepoError> {
        self.items
            .put(encode(once_key(t, hash), token)?, Condition::NotExists)
            .await?;
        Ok(())
    }

    /// Reads and consumes a one-time token; a second take finds nothing.
    pub async fn take_once(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> Result<Option<OneTimeToken>, RepoError> {
        let key = once_key(t, hash);
        let Some(item) = self.items.get(&key).await? else {
            return Ok(None);
        };
        match self
            .items
            .delete(&key, Condition::Version(item.version))
            .await
        {
            Err(StoreError::ConditionFailed(_)) => Ok(None),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(Some(item.decode()?)),
        }
    }
}

/// Failed log-in counters per e-mail, shared by every API instance.
#[derive(Debug, Clone)]
pub struct LoginThrottles {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn throttle_key(email: &str) -> Key {
    Key::new(format!("P#THROTTLE#{email}"), "LOGIN")
}

impl LoginThrottles {
    pub async fn get(&self, email: &str) -> Result<Option<Versioned<LoginAttempts>>, RepoError> {
        let item = self.items.get(&throttle_key(email)).await?;
        Ok(item.map(|i| versioned(&i)).transpose()?)
    }

    /// Saves the counters if nobody else changed them since `version` (None = new).
    pub async fn save(
        &self,
        email: &str,
        attempts: &LoginAttempts,
        version: Option<u64>,
    ) -> Result<(), RepoError> {
        let condition = version.map_or(Condition::NotExists, Condition::Version);
        match self
            .items
            .put(encode(throttle_key(email), attempts)?, condition)
            .await
        {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale("login counter")),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    pub async fn clear(&self, email: &str) -> Result<(), RepoError> {
        self.items
            .delete(&throttle_key(email), Condition::None)
            .await?;
        Ok(())
    }
}
