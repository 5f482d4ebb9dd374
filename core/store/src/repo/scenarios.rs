use super::call_results::{all_of, result_key};
use super::mail::{account_key, template_key};
use super::questionnaires::questionnaire_key;
use super::{RepoError, Versioned, encode, tenant_key, versioned};
use crate::StoreError;
use crate::item::{Condition, ItemStore, Key, WriteOp};
use callisto_domain::ids::{ScenarioId, TenantId};
use callisto_domain::mail::{EmailTemplate, MailAccount};
use callisto_domain::questionnaire::Questionnaire;
use callisto_domain::scenario::Scenario;
use std::sync::Arc;

/// Scenarios (D1). Each result, questionnaire, e-mail template and mail
/// account a scenario refers to lists
/// the scenario in its `used_by`, written in the scenario's own transaction
/// with the version read, so a result or questionnaire is never deleted while
/// a scenario refers to it.
#[derive(Debug, Clone)]
pub struct Scenarios {
    pub(crate) items: Arc<dyn ItemStore>,
}

fn scenario_key(t: &TenantId, s: &ScenarioId) -> Key {
    tenant_key(t, format!("SCENARIO#{s}"))
}

/// Saving retries this often when a result it shares with another scenario
/// changed meanwhile, before answering "stale".
const SAVE_ATTEMPTS: usize = 5;

/// The refusal to delete something a scenario uses, naming the scenario.
pub(crate) async fn in_use(
    items: &Arc<dyn ItemStore>,
    t: &TenantId,
    what: &'static str,
    s: &ScenarioId,
) -> RepoError {
    let scenario = match items.get(&scenario_key(t, s)).await {
        Ok(Some(item)) => item
            .decode::<Scenario>()
            .map_or_else(|_| s.to_string(), |v| v.name),
        _ => s.to_string(),
    };
    RepoError::InUse { what, scenario }
}

/// A `used_by` list with `s` added or removed.
fn mark(used_by: &mut Vec<ScenarioId>, s: &ScenarioId, uses: bool) {
    used_by.retain(|u| u != s);
    if uses {
        used_by.push(s.clone());
    }
}

impl Scenarios {
    pub async fn get(
        &self,
        t: &TenantId,
        id: &ScenarioId,
    ) -> Result<Versioned<Scenario>, RepoError> {
        let item = self
            .items
            .get(&scenario_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("scenario"))?;
        Ok(versioned(&item)?)
    }

    /// Every scenario of the company, in id (creation) order.
    pub async fn list(&self, t: &TenantId) -> Result<Vec<Versioned<Scenario>>, RepoError> {
        all_of(self.items.as_ref(), t, "SCENARIO#").await
    }

    /// The writes that move the `used_by` marks of the scenario's results and
    /// questionnaire from `old` to `new` (either absent for create / delete).
    async fn reference_ops(
        &self,
        t: &TenantId,
        id: &ScenarioId,
        old: Option<&Scenario>,
        new: Option<&Scenario>,
    ) -> Result<Vec<WriteOp>, RepoError> {
        let mut ops = Vec::new();
        let old_results: Vec<_> = old.iter().flat_map(|s| s.result_ids()).collect();
        let new_results: Vec<_> = new.iter().flat_map(|s| s.result_ids()).collect();
        let changed = new_results
            .iter()
            .filter(|r| !old_results.contains(r))
            .map(|r| (*r, true))
            .chain(
                old_results
                    .iter()
                    .filter(|r| !new_results.contains(r))
                    .map(|r| (*r, false)),
            );
        for (r, uses) in changed {
            let key = result_key(t, r);
            let Some(item) = self.items.get(&key).await? else {
                if uses {
                    return Err(RepoError::NotFound("call result"));
                }
                continue;
            };
            let mut result: callisto_domain::call_result::CallResult = item.decode()?;
            mark(&mut result.used_by, id, uses);
            ops.push(WriteOp::Put {
                item: encode(key, &result)?,
                condition: Condition::Version(item.version),
            });
        }
        let old_q = old.and_then(|s| s.questionnaire.as_ref());
        let new_q = new.and_then(|s| s.questionnaire.as_ref());
        if old_q != new_q {
            for (q, uses) in [(old_q, false), (new_q, true)] {
                let Some(q) = q else { continue };
                self.mark_user(
                    &mut ops,
                    questionnaire_key(t, q),
                    "questionnaire",
                    id,
                    uses,
                    |q: &mut Questionnaire| &mut q.used_by,
                )
                .await?;
            }
        }
        let old_e = old.and_then(|s| s.email_template.as_ref());
        let new_e = new.and_then(|s| s.email_template.as_ref());
        if old_e != new_e {
            for (e, uses) in [(old_e, false), (new_e, true)] {
                let Some(e) = e else { continue };
                self.mark_user(
                    &mut ops,
                    template_key(t, e),
                    "e-mail template",
                    id,
                    uses,
                    |e: &mut EmailTemplate| &mut e.used_by,
                )
                .await?;
            }
        }
        let old_a = old.and_then(|s| s.mail_account.as_ref());
        let new_a = new.and_then(|s| s.mail_account.as_ref());
        if old_a != new_a {
            for (a, uses) in [(old_a, false), (new_a, true)] {
                let Some(a) = a else { continue };
                self.mark_user(
                    &mut ops,
                    account_key(t, a),
                    "mail account",
                    id,
                    uses,
                    |a: &mut MailAccount| &mut a.used_by,
                )
                .await?;
            }
        }
        Ok(ops)
    }

    /// Adds to `ops` the write that marks (`uses`) or unmarks scenario `id`
    /// in the `used_by` of the item at `key`, conditional on its version. A
    /// referred item that does not exist is `NotFound(what)`.
    async fn mark_user<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        ops: &mut Vec<WriteOp>,
        key: Key,
        what: &'static str,
        id: &ScenarioId,
        uses: bool,
        used_by: impl Fn(&mut T) -> &mut Vec<ScenarioId>,
    ) -> Result<(), RepoError> {
        let Some(item) = self.items.get(&key).await? else {
            return if uses {
                Err(RepoError::NotFound(what))
            } else {
                Ok(())
            };
        };
        let mut value: T = item.decode()?;
        mark(used_by(&mut value), id, uses);
        ops.push(WriteOp::Put {
            item: encode(key, &value)?,
            condition: Condition::Version(item.version),
        });
        Ok(())
    }

    /// Creates the scenario (`version` 0) or replaces it if it is still at
    /// `version`; returns the new version. A result, questionnaire, e-mail
    /// template or mail account it refers to that does not exist is `NotFound`.
    pub async fn save(
        &self,
        t: &TenantId,
        scenario: &Scenario,
        version: u64,
    ) -> Result<u64, RepoError> {
        for _ in 0..SAVE_ATTEMPTS {
            let old = match version {
                0 => None,
                v => {
                    let old = self.get(t, &scenario.id).await?;
                    if old.version != v {
                        return Err(RepoError::Stale("scenario"));
                    }
                    Some(old.value)
                }
            };
            let mut ops = self
                .reference_ops(t, &scenario.id, old.as_ref(), Some(scenario))
                .await?;
            ops.push(WriteOp::Put {
                item: encode(scenario_key(t, &scenario.id), scenario)?,
                condition: match version {
                    0 => Condition::NotExists,
                    v => Condition::Version(v),
                },
            });
            match self.items.transact(ops).await {
                Ok(()) => return Ok(version + 1),
                // A shared result changed under us; the scenario check is redone on retry.
                Err(StoreError::ConditionFailed(_)) if version > 0 => continue,
                Err(StoreError::ConditionFailed(_)) => {
                    if self
                        .items
                        .get(&scenario_key(t, &scenario.id))
                        .await?
                        .is_some()
                    {
                        return Err(RepoError::Stale("scenario"));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Stale("scenario"))
    }

    /// Deletes the scenario and its marks on results and questionnaire.
    pub async fn delete(&self, t: &TenantId, id: &ScenarioId) -> Result<(), RepoError> {
        for _ in 0..SAVE_ATTEMPTS {
            let old = self.get(t, id).await?;
            let mut ops = self.reference_ops(t, id, Some(&old.value), None).await?;
            ops.push(WriteOp::Delete {
                key: scenario_key(t, id),
                condition: Condition::Version(old.version),
            });
            match self.items.transact(ops).await {
                Err(StoreError::ConditionFailed(_)) => continue,
                other => return Ok(other?),
            }
        }
        Err(RepoError::Stale("scenario"))
    }
}
