use super::{Listing, RepoError, Versioned, encode, listing, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{Condition, Index, Item, ItemStore, Key, Query, SortKey, WriteOp};
use callisto_domain::ids::{GroupId, TenantId, UserId};
use callisto_domain::user::{User, UserStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a log-in e-mail belongs. E-mails are unique across the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub tenant: TenantId,
    pub user: UserId,
}

#[derive(Debug, Clone)]
pub struct Users {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn user_key(t: &TenantId, u: &UserId) -> Key {
    tenant_key(t, format!("USER#{u}"))
}

fn group_index(t: &TenantId, g: &GroupId) -> String {
    format!("{}#GROUP#{g}", tenant_pk(t))
}

fn directory_key(email: &str) -> Key {
    Key::new(format!("P#EMAIL#{email}"), "LOGIN")
}

fn ext_key(t: &TenantId, n: &str) -> Key {
    tenant_key(t, format!("EXT#{n}"))
}

pub(crate) fn user_item(u: &User) -> Result<Item, StoreError> {
    let mut item = encode(user_key(&u.tenant, &u.id), u)?;
    if let Some(g) = &u.group {
        item = item.with_index(
            Index::Gsi1,
            Key::new(group_index(&u.tenant, g), format!("USER#{}", u.id)),
        );
    }
    Ok(item)
}

pub(crate) fn directory_put(u: &User) -> Result<WriteOp, StoreError> {
    let entry = DirectoryEntry {
        tenant: u.tenant.clone(),
        user: u.id.clone(),
    };
    Ok(WriteOp::Put {
        item: encode(directory_key(&u.email), &entry)?,
        condition: Condition::NotExists,
    })
}

pub(crate) fn ext_claim_put(u: &User) -> Result<Option<WriteOp>, StoreError> {
    u.short_number
        .as_ref()
        .map(|n| {
            let item = encode(ext_key(&u.tenant, n), &u.id)?;
            Ok(WriteOp::Put {
                item,
                condition: Condition::NotExists,
            })
        })
        .transpose()
}

/// The unique claims a user holds: the log-in e-mail and the short number.
/// Deleted users hold none, so both can be reused.
fn claims(u: &User) -> Result<Vec<WriteOp>, StoreError> {
    if u.status == UserStatus::Deleted {
        return Ok(Vec::new());
    }
    let mut ops = vec![directory_put(u)?];
    ops.extend(ext_claim_put(u)?);
    Ok(ops)
}

impl Users {
    pub async fn create(&self, user: &User) -> Result<(), RepoError> {
        let mut ops = vec![WriteOp::Put {
            item: user_item(user)?,
            condition: Condition::NotExists,
        }];
        ops.extend(claims(user)?);
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(self.explain_conflict(user).await),
            other => Ok(other?),
        }
    }

    /// After a failed transaction, names the claim that was taken.
    pub(crate) async fn explain_conflict(&self, user: &User) -> RepoError {
        match self.items.get(&directory_key(&user.email)).await {
            Ok(Some(item)) => match item.decode::<DirectoryEntry>() {
                Ok(e) if e.user != user.id => return RepoError::EmailTaken(user.email.clone()),
                _ => {}
            },
            Err(e) => return e.into(),
            Ok(None) => {}
        }
        if let Some(n) = &user.short_number {
            match self.items.get(&ext_key(&user.tenant, n)).await {
                Ok(Some(item)) if item.decode::<UserId>().ok().as_ref() != Some(&user.id) => {
                    return RepoError::ShortNumberTaken(n.clone());
                }
                Err(e) => return e.into(),
                _ => {}
            }
        }
        RepoError::Stale("user")
    }

    pub async fn get(&self, t: &TenantId, id: &UserId) -> Result<Versioned<User>, RepoError> {
        let item = self
            .items
            .get(&user_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("user"))?;
        Ok(versioned(&item)?)
    }

    /// Users of the tenant in id order (ids are ULIDs, so creation order).
    pub async fn list(
        &self,
        t: &TenantId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<User>, RepoError> {
        let q = Query::table(tenant_pk(t), SortKey::Prefix("USER#".into()))
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    pub async fn list_group(
        &self,
        t: &TenantId,
        g: &GroupId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<User>, RepoError> {
        let q = Query::index(
            Index::Gsi1,
            group_index(t, g),
            SortKey::Prefix("USER#".into()),
        )
        .limit(limit)
        .after(cursor);
        listing(self.items.as_ref(), q).await
    }

    /// Finds the account of a log-in e-mail (already normalised).
    pub async fn find_login(&self, email: &str) -> Result<Option<DirectoryEntry>, RepoError> {
        let item = self.items.get(&directory_key(email)).await?;
        Ok(item.map(|i| i.decode()).transpose()?)
    }

    /// Replaces `old` (read at `version`) with `new`, moving the e-mail and
    /// short-number claims in the same transaction.
    pub async fn update(&self, old: &User, new: &User, version: u64) -> Result<u64, RepoError> {
        if old.id != new.id || old.tenant != new.tenant {
            return Err(StoreError::Invalid("a user's id and tenant never change".into()).into());
        }
        let before = claims(old)?;
        let after = claims(new)?;
        let mut ops = vec![WriteOp::Put {
            item: user_item(new)?,
            condition: Condition::Version(version),
        }];
        for op in &before {
            if !after.iter().any(|a| a.key() == op.key()) {
                ops.push(WriteOp::Delete {
                    key: op.key().clone(),
                    condition: Condition::Exists,
                });
            }
        }
        for op in after {
            if !before.iter().any(|b| b.key() == op.key()) {
                ops.push(op);
            }
        }
        match self.items.transact(ops).await {
            Err(StoreError::ConditionFailed(_)) => Err(self.explain_conflict(new).await),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(version + 1),
        }
    }
}
