//! The company's tag list (`T#<t>#TAGS` / `<tag>`): every tag ever put on a
//! card, so an administrator sees and manages all of them (C6). An entry is
//! written before the first card carrying the tag, so the list never misses a
//! tag in use; it may keep a tag no card carries any more until an
//! administrator removes it.

use super::{RepoError, encode, tenant_pk};
use crate::StoreError;
use crate::item::{Condition, Item, ItemStore, Key, Query, SortKey};
use callisto_domain::Millis;
use callisto_domain::ids::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Tags {
    pub(crate) items: Arc<dyn ItemStore>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagEntry {
    pub tag: String,
    pub created_at: Millis,
    pub created_by: UserId,
}

fn tags_pk(t: &TenantId) -> String {
    format!("{}#TAGS", tenant_pk(t))
}

impl Tags {
    /// Adds the tags not yet in the list; existing entries keep their origin.
    pub async fn register(
        &self,
        t: &TenantId,
        tags: &[String],
        by: &UserId,
        now: Millis,
    ) -> Result<(), RepoError> {
        for tag in tags {
            let entry = TagEntry {
                tag: tag.clone(),
                created_at: now,
                created_by: by.clone(),
            };
            let item = encode(Key::new(tags_pk(t), tag.clone()), &entry)?;
            match self.items.put(item, Condition::NotExists).await {
                Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The whole list, in tag order.
    pub async fn list(&self, t: &TenantId) -> Result<Vec<TagEntry>, RepoError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let q = Query::table(tags_pk(t), SortKey::All)
                .limit(1000)
                .after(cursor);
            let page = self.items.query(q).await?;
            for item in &page.items {
                out.push(Item::decode(item)?);
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Removes a tag from the list (the cards carrying it are changed separately).
    pub async fn remove(&self, t: &TenantId, tag: &str) -> Result<(), RepoError> {
        let key = Key::new(tags_pk(t), tag.to_string());
        match self.items.delete(&key, Condition::Exists).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::NotFound("tag")),
            Err(e) => Err(e.into()),
        }
    }
}
