use super::call_results::all_of;
use super::{Listing, RepoError, Versioned, encode, listing, put_checked, tenant_key, versioned};
use crate::StoreError;
use crate::item::{Condition, Index, ItemStore, Key, Query, SortKey};
use callisto_domain::ids::{ClientId, QuestionnaireId, TenantId};
use callisto_domain::questionnaire::{AnswerSheet, Questionnaire};
use std::sync::Arc;

/// Questionnaires (D4) and the answers of each call.
#[derive(Debug, Clone)]
pub struct Questionnaires {
    pub(crate) items: Arc<dyn ItemStore>,
}

pub(crate) fn questionnaire_key(t: &TenantId, q: &QuestionnaireId) -> Key {
    tenant_key(t, format!("QUESTIONNAIRE#{q}"))
}

fn answers_pk(t: &TenantId, q: &QuestionnaireId) -> String {
    format!("T#{t}#ANSWERS#{q}")
}

fn client_answers_pk(t: &TenantId, c: &ClientId) -> String {
    format!("T#{t}#ANSWERS#CLIENT#{c}")
}

impl Questionnaires {
    pub async fn create(&self, t: &TenantId, q: &Questionnaire) -> Result<(), RepoError> {
        self.items
            .put(
                encode(questionnaire_key(t, &q.id), q)?,
                Condition::NotExists,
            )
            .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        t: &TenantId,
        id: &QuestionnaireId,
    ) -> Result<Versioned<Questionnaire>, RepoError> {
        let item = self
            .items
            .get(&questionnaire_key(t, id))
            .await?
            .ok_or(RepoError::NotFound("questionnaire"))?;
        Ok(versioned(&item)?)
    }

    /// Every questionnaire of the company, in id (creation) order.
    pub async fn list(&self, t: &TenantId) -> Result<Vec<Versioned<Questionnaire>>, RepoError> {
        all_of(self.items.as_ref(), t, "QUESTIONNAIRE#").await
    }

    /// Saves a changed questionnaire if it is still at `version`; `used_by`
    /// must be the one read with that version.
    pub async fn update(
        &self,
        t: &TenantId,
        q: &Questionnaire,
        version: u64,
    ) -> Result<u64, RepoError> {
        put_checked(
            self.items.as_ref(),
            encode(questionnaire_key(t, &q.id), q)?,
            Condition::Version(version),
            "questionnaire",
        )
        .await
    }

    /// Deletes a questionnaire no scenario uses (else `InUse` naming one).
    /// Its answers stay stored under it; the export no longer reaches them.
    pub async fn delete(&self, t: &TenantId, id: &QuestionnaireId) -> Result<(), RepoError> {
        loop {
            let current = self.get(t, id).await?;
            if let Some(s) = current.value.used_by.first() {
                return Err(super::scenarios::in_use(&self.items, t, "questionnaire", s).await);
            }
            match self
                .items
                .delete(
                    &questionnaire_key(t, id),
                    Condition::Version(current.version),
                )
                .await
            {
                Err(StoreError::ConditionFailed(_)) => continue,
                other => return Ok(other?),
            }
        }
    }

    /// Stores the answers of a call, replacing those the same call gave
    /// before (a retried request or a corrected sheet). True when new.
    pub async fn save_answers(&self, t: &TenantId, sheet: &AnswerSheet) -> Result<bool, RepoError> {
        let item = encode(
            Key::new(answers_pk(t, &sheet.questionnaire), sheet.call.as_str()),
            sheet,
        )?
        .with_index(
            Index::Gsi1,
            Key::new(
                client_answers_pk(t, &sheet.client),
                format!("{}#{}", sheet.questionnaire, sheet.call),
            ),
        );
        Ok(self.items.put(item, Condition::None).await? == 1)
    }

    /// The answers to a questionnaire in call order (calls are ULIDs: time order).
    pub async fn answers(
        &self,
        t: &TenantId,
        q: &QuestionnaireId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<AnswerSheet>, RepoError> {
        let query = Query::table(answers_pk(t, q), SortKey::All)
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), query).await
    }

    /// A client's answers to every questionnaire.
    pub async fn client_answers(
        &self,
        t: &TenantId,
        c: &ClientId,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Listing<AnswerSheet>, RepoError> {
        let query = Query::index(Index::Gsi1, client_answers_pk(t, c), SortKey::All)
            .limit(limit)
            .after(cursor);
        listing(self.items.as_ref(), query).await
    }
}
