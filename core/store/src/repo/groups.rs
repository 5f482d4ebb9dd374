use super::{RepoError, Users, Versioned, encode, put_checked, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{Condition, Item, ItemStore, Key, Query, SortKey};
use callisto_domain::ids::{GroupId, TenantId};
use callisto_domain::user::Group;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Groups {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn group_key(t: &TenantId, g: &GroupId) -> Key {
    tenant_key(t, format!("GROUP#{g}"))
}

impl Groups {
    pub async fn create(&self, t: &TenantId, group: &Group) -> Result<(), RepoError> {
        self.items
            .put(
                encode(group_key(t, &group.id), group)?,
                Condition::NotExists,
            )
            .await?;
        Ok(())
    }

    pub async fn get(&self, t: &TenantId, id: &GroupId) -> Result<Versioned<Group>, RepoError> {
        let item = self
            .items
            .get(&group_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("group"))?;
        Ok(versioned(&item)?)
    }

    pub async fn list(&self, t: &TenantId) -> Result<Vec<Group>, RepoError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let q = Query::table(tenant_pk(t), SortKey::Prefix("GROUP#".into()))
                .limit(500)
                .after(cursor);
            let page = self.items.query(q).await?;
            out.extend(
                page.items
                    .iter()
                    .map(Item::decode)
                    .collect::<Result<Vec<Group>, _>>()?,
            );
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn update(
        &self,
        t: &TenantId,
        group: &Group,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(group_key(t, &group.id), group)?,
            Condition::Version(version),
            "group",
        )
        .await
    }

    /// Deletes an empty group. A group with members is refused, so no user is
    /// left pointing at a group that no longer exists.
    pub async fn delete(&self, t: &TenantId, id: &GroupId) -> Result<(), RepoError> {
        let members = Users {
            items: self.items.clone(),
        }
        .list_group(t, id, None, 1000)
        .await?;
        let active = members
            .items
            .iter()
            .filter(|u| u.status != callisto_domain::user::UserStatus::Deleted)
            .count();
        if active > 0 {
            return Err(RepoError::GroupNotEmpty(active));
        }
        match self
            .items
            .delete(&group_key(t, id), Condition::Exists)
            .await
        {
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::NotFound("group")),
            other => Ok(other?),
        }
    }
}
