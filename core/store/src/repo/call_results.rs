use super::{RepoError, Versioned, encode, put_checked, tenant_key, tenant_pk, versioned};
use crate::StoreError;
use crate::item::{Condition, ItemStore, Key, Query, SortKey};
use callisto_domain::call_result::CallResult;
use callisto_domain::ids::{CallResultId, TenantId};
use std::sync::Arc;

/// The company's call results (D2).
#[derive(Debug, Clone)]
pub struct CallResults {
    pub(crate) items: Arc<dyn ItemStore>,
}

pub(crate) fn result_key(t: &TenantId, r: &CallResultId) -> Key {
    tenant_key(t, format!("CALLRESULT#{r}"))
}

/// Reads every item of a prefix in the tenant's partition (lists an
/// administrator keeps, a few hundred at most).
pub(crate) async fn all_of<T: serde::de::DeserializeOwned>(
    items: &dyn ItemStore,
    t: &TenantId,
    prefix: &str,
) -> Result<Vec<Versioned<T>>, RepoError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::table(tenant_pk(t), SortKey::Prefix(prefix.into()))
            .limit(500)
            .after(cursor);
        let page = items.query(q).await?;
        out.extend(
            page.items
                .iter()
                .map(versioned)
                .collect::<Result<Vec<_>, _>>()?,
        );
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

impl CallResults {
    pub async fn create(&self, t: &TenantId, result: &CallResult) -> Result<(), RepoError> {
        self.items
            .put(
                encode(result_key(t, &result.id), result)?,
                Condition::NotExists,
            )
            .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        t: &TenantId,
        id: &CallResultId,
    ) -> Result<Versioned<CallResult>, RepoError> {
        let item = self
            .items
            .get(&result_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("call result"))?;
        Ok(versioned(&item)?)
    }

    /// Every result of the company, in id (creation) order.
    pub async fn list(&self, t: &TenantId) -> Result<Vec<CallResult>, RepoError> {
        Ok(all_of(self.items.as_ref(), t, "CALLRESULT#")
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Saves a changed result if it is still at `version`. `used_by` must be
    /// the one read with that version.
    pub async fn update(
        &self,
        t: &TenantId,
        result: &CallResult,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(result_key(t, &result.id), result)?,
            Condition::Version(version),
            "call result",
        )
        .await
    }

    /// Deletes a result no scenario offers; one in use is refused naming the
    /// scenario. The delete is conditional on the version that showed it
    /// unused, so a scenario saved meanwhile makes it try again.
    pub async fn delete(&self, t: &TenantId, id: &CallResultId) -> Result<(), RepoError> {
        loop {
            let current = self.get(t, id).await?;
            if let Some(s) = current.value.used_by.first() {
                return Err(super::scenarios::in_use(&self.items, t, "call result", s).await);
            }
            match self
                .items
                .delete(&result_key(t, id), Condition::Version(current.version))
                .await
            {
                Err(StoreError::ConditionFailed(_)) => continue,
                other => return Ok(other?),
            }
        }
    }
}
