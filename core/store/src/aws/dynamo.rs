//! [`ItemStore`] on one DynamoDB table.
//!
//! Every write is an `UpdateItem` (alone or inside `TransactWriteItems`) that
//! sets `ver = if_not_exists(ver, 0) + 1`, so the version is computed by
//! DynamoDB in the same atomic step as the write and its condition.
//!
//! Index queries read global secondary indexes, which DynamoDB updates in the
//! same write but makes visible asynchronously (usually well under a second):
//! an index query right after a write may not see it yet. Table reads (`get`,
//! table queries) are strongly consistent.

use super::{build_error, sdk_error};
use crate::StoreError;
use crate::item::{
    Body, Condition, CursorPos, GSI_COUNT, Index, Item, ItemStore, Key, Page, Query, SortKey,
    WriteOp, cursor_after, validate_batch, validate_transaction,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    PutRequest, ReturnValue, ScalarAttributeType, TableStatus, TransactWriteItem, Update,
    WriteRequest,
};
use std::collections::HashMap;
use std::time::Duration;

const PK: &str = "pk";
const SK: &str = "sk";
const BODY: &str = "body";
const VER: &str = "ver";
/// `(pk, sk)` attribute names of each index, by [`Index::slot`].
const GSI_ATTRS: [(&str, &str); GSI_COUNT] = [
    ("gsi1pk", "gsi1sk"),
    ("gsi2pk", "gsi2sk"),
    ("gsi3pk", "gsi3sk"),
];
/// A condition that always holds, for `WriteOp::Check` with `Condition::None`
/// (DynamoDB requires a condition on a check).
const ALWAYS: &str = "attribute_exists(#pk) OR attribute_not_exists(#pk)";

type Attrs = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub(crate) struct DynamoItems {
    client: Client,
    table: String,
}

impl DynamoItems {
    pub(crate) fn new(client: Client, table: String) -> DynamoItems {
        DynamoItems { client, table }
    }

    /// One operation of a `TransactWriteItems` call.
    fn transact_item(&self, op: &WriteOp) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        Ok(match op {
            WriteOp::Put { item, condition } => {
                let update = expr.put(item)?;
                let cond = expr.condition(*condition);
                let (names, values) = expr.into_maps();
                let u = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&item.key)))
                    .update_expression(update)
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().update(u).build()
            }
            WriteOp::Delete { key, condition } => {
                let cond = expr.condition(*condition);
                let (names, values) = expr.into_maps();
                let d = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(d).build()
            }
            WriteOp::Check { key, condition } => {
                let cond = match expr.condition(*condition) {
                    Some(c) => c,
                    None => {
                        expr.name(PK);
                        ALWAYS.to_string()
                    }
                };
                let (names, values) = expr.into_maps();
                let c = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(c).build()
            }
        })
    }
}

/// Most requests in one `BatchWriteItem` call (DynamoDB's limit).
const BATCH_WRITE_MAX: usize = 25;
/// Attempts of one `BatchWriteItem` chunk while DynamoDB leaves items unprocessed.
const UNPROCESSED_ATTEMPTS: u32 = 8;

/// The whole item as `BatchWriteItem` puts it. A batch cannot compute the
/// version from the stored one, so it writes version 1 (see `write_batch`).
fn put_attrs(item: &Item) -> Result<Attrs, StoreError> {
    let body = item.body.as_str().to_owned();
    let mut attrs = key_attrs(&item.key);
    attrs.insert(BODY.to_string(), s(body));
    attrs.insert(VER.to_string(), AttributeValue::N("1".into()));
    for (slot, (pk_attr, sk_attr)) in GSI_ATTRS.iter().enumerate() {
        if let Some(k) = &item.gsi[slot] {
            attrs.insert(pk_attr.to_string(), s(&k.pk));
            attrs.insert(sk_attr.to_string(), s(&k.sk));
        }
    }
    Ok(attrs)
}

fn write_request(op: &WriteOp) -> Result<WriteRequest, StoreError> {
    Ok(match op {
        WriteOp::Put { item, .. } => WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(put_attrs(item)?))
                    .build()
                    .map_err(build_error)?,
            )
            .build(),
        WriteOp::Delete { key, .. } => WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key_attrs(key)))
                    .build()
                    .map_err(build_error)?,
            )
            .build(),
        WriteOp::Check { .. } => {
            return Err(StoreError::Invalid(
                "a bulk write takes puts and deletes only".into(),
            ));
        }
    })
}

/// Requests [`get_many`](ItemStore::get_many),
/// [`query_many`](ItemStore::query_many) and a bulk write's `BatchWriteItem`
/// calls keep in flight at once.
const CONCURRENT_READS: usize = 16;

/// `f` over `inputs`, at most [`CONCURRENT_READS`] at a time, the answers in
/// the order of `inputs`; the first error ends the whole.
async fn concurrently<I, T, F, Fut>(inputs: Vec<I>, f: F) -> Result<Vec<T>, StoreError>
where
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let total = inputs.len();
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut pending = inputs.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < CONCURRENT_READS {
            let Some((i, input)) = pending.next() else {
                break;
            };
            let fut = f(input);
            running.spawn(async move { (i, fut.await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (i, answer) = done.map_err(|e| StoreError::Backend(e.to_string()))?;
        out[i] = Some(answer?);
    }
    let out: Vec<T> = out.into_iter().flatten().collect();
    if out.len() != total {
        return Err(StoreError::Backend("a concurrent read went missing".into()));
    }
    Ok(out)
}

impl DynamoItems {
    /// One `BatchWriteItem` chunk, sent again (with jittered exponential
    /// backoff) with whatever DynamoDB leaves unprocessed.
    async fn batch_chunk(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut backoff = Duration::from_millis(25);
        for attempt in 1..=UNPROCESSED_ATTEMPTS {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| sdk_error("BatchWriteItem", e))?;
            requests = out
                .unprocessed_items()
                .and_then(|m| m.get(&self.table))
                .cloned()
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            if attempt == UNPROCESSED_ATTEMPTS {
                break;
            }
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let jitter = Duration::from_nanos(u64::from(nanos) % (backoff.as_nanos() as u64 + 1));
            tracing::debug!(
                unprocessed = requests.len(),
                attempt,
                "BatchWriteItem left items unprocessed; retrying"
            );
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        Err(StoreError::Backend(format!(
            "BatchWriteItem: {} items still unprocessed after {UNPROCESSED_ATTEMPTS} attempts",
            requests.len()
        )))
    }
}

/// Why one attempt of a write failed.
enum Failure {
    /// Another transaction was changing the same item; nothing was written and
    /// the write may be tried again (the SDK does not retry these).
    Conflict,
    Store(StoreError),
}

/// Attempts of a write that keeps meeting transaction conflicts.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Runs `attempt` again, with jittered exponential backoff, while it fails
/// with a transaction conflict.
async fn retry_conflicts<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut backoff = Duration::from_millis(10);
    let mut n = 1;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Conflict) if n >= CONFLICT_ATTEMPTS => {
                return Err(StoreError::Backend(format!(
                    "{what}: transaction conflict persisted after {n} attempts"
                )));
            }
            Err(Failure::Conflict) => {
                // Jitter from the clock: good enough to de-synchronise racing writers.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let jitter =
                    Duration::from_nanos(u64::from(nanos) % (backoff.as_nanos() as u64 + 1));
                tracing::debug!(what, attempt = n, "transaction conflict; retrying");
                tokio::time::sleep(backoff + jitter).await;
                backoff *= 2;
                n += 1;
            }
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([(PK.to_string(), s(&key.pk)), (SK.to_string(), s(&key.sk))])
}

fn key_str(key: &Key) -> String {
    format!("{}/{}", key.pk, key.sk)
}

/// Placeholders of one expression: `#name` for attribute names, `:name` for values.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: Attrs,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        let p = format!("#{attr}");
        self.names.insert(p.clone(), attr.to_string());
        p
    }

    fn value(&mut self, placeholder: &str, v: AttributeValue) -> String {
        let p = format!(":{placeholder}");
        self.values.insert(p.clone(), v);
        p
    }

    /// DynamoDB rejects empty placeholder maps, so absent means `None`.
    fn into_maps(self) -> (Option<HashMap<String, String>>, Option<Attrs>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }

    fn condition(&mut self, condition: Condition) -> Option<String> {
        match condition {
            Condition::None => None,
            Condition::NotExists => Some(format!("attribute_not_exists({})", self.name(PK))),
            Condition::Exists => Some(format!("attribute_exists({})", self.name(PK))),
            Condition::Version(v) => {
                let ver = self.name(VER);
                let expected = self.value("expected", AttributeValue::N(v.to_string()));
                Some(format!("{ver} = {expected}"))
            }
        }
    }

    /// The update expression that writes `item` whole: body, version + 1, the
    /// index keys it has, and removal of those it has not.
    fn put(&mut self, item: &Item) -> Result<String, StoreError> {
        let body = item.body.as_str().to_owned();
        let ver = self.name(VER);
        let zero = self.value("zero", AttributeValue::N("0".into()));
        let one = self.value("one", AttributeValue::N("1".into()));
        let mut set = vec![
            format!("{} = {}", self.name(BODY), self.value(BODY, s(body))),
            format!("{ver} = if_not_exists({ver}, {zero}) + {one}"),
        ];
        let mut remove = Vec::new();
        for (slot, (pk_attr, sk_attr)) in GSI_ATTRS.iter().enumerate() {
            match &item.gsi[slot] {
                Some(k) => {
                    set.push(format!(
                        "{} = {}",
                        self.name(pk_attr),
                        self.value(pk_attr, s(&k.pk))
                    ));
                    set.push(format!(
                        "{} = {}",
                        self.name(sk_attr),
                        self.value(sk_attr, s(&k.sk))
                    ));
                }
                None => {
                    remove.push(self.name(pk_attr));
                    remove.push(self.name(sk_attr));
                }
            }
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(" REMOVE ");
            expr.push_str(&remove.join(", "));
        }
        Ok(expr)
    }
}

fn decode_item(attrs: &Attrs) -> Result<Item, StoreError> {
    let text = |name: &str| -> Option<String> { attrs.get(name)?.as_s().ok().cloned() };
    let (pk, sk) = match (text(PK), text(SK)) {
        (Some(pk), Some(sk)) => (pk, sk),
        _ => return Err(StoreError::Corrupt("item without string pk/sk".into())),
    };
    let key = Key { pk, sk };
    let corrupt = |what: &str| StoreError::Corrupt(format!("{}: {what}", key_str(&key)));
    let body = text(BODY).ok_or_else(|| corrupt("no string body"))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&body)
        .map_err(|e| corrupt(&format!("body is not JSON: {e}")))?;
    let body = Body::from_stored(body);
    let version = attrs
        .get(VER)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| corrupt("no numeric ver"))?;
    let mut gsi: [Option<Key>; GSI_COUNT] = Default::default();
    for (slot, (pk_attr, sk_attr)) in GSI_ATTRS.iter().enumerate() {
        if let (Some(pk), Some(sk)) = (text(pk_attr), text(sk_attr)) {
            gsi[slot] = Some(Key { pk, sk });
        }
    }
    Ok(Item {
        key,
        gsi,
        body,
        version,
    })
}

fn index_attrs(index: Option<Index>) -> (&'static str, &'static str) {
    match index {
        None => (PK, SK),
        Some(i) => GSI_ATTRS[i.slot()],
    }
}

fn condition_failed(key: &Key, condition: Condition) -> StoreError {
    tracing::debug!(pk = %key.pk, sk = %key.sk, ?condition, "conditional write rejected");
    StoreError::ConditionFailed(format!("{}: {condition:?} does not hold", key_str(key)))
}

/// Maps a cancelled transaction: a failed condition on any operation is
/// `ConditionFailed`; conflicts with other transactions may be retried; other
/// reasons (throttling, validation) are backend errors.
fn transaction_error(
    err: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
    ops: &[WriteOp],
) -> Failure {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let reasons = e.cancellation_reasons();
        let failed: Vec<String> = reasons
            .iter()
            .zip(ops)
            .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(_, op)| key_str(op.key()))
            .collect();
        let message_says = e
            .message()
            .is_some_and(|m| m.contains("ConditionalCheckFailed"));
        if !failed.is_empty() || (reasons.is_empty() && message_says) {
            tracing::debug!(keys = ?failed, "transaction condition rejected");
            return Failure::Store(StoreError::ConditionFailed(format!(
                "transaction cancelled, condition does not hold for {}",
                if failed.is_empty() {
                    "an operation".to_string()
                } else {
                    failed.join(", ")
                }
            )));
        }
        if reasons
            .iter()
            .any(|r| r.code() == Some("TransactionConflict"))
        {
            return Failure::Conflict;
        }
    }
    Failure::Store(sdk_error("TransactWriteItems", err))
}

#[async_trait]
impl ItemStore for DynamoItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        key.validate()?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(format!("GetItem {}", key_str(key)), e))?;
        out.item().map(decode_item).transpose()
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        item.validate()?;
        let mut expr = Expr::default();
        let update = expr.put(&item)?;
        let cond = expr.condition(condition);
        let (names, values) = expr.into_maps();
        let what = format!("UpdateItem {}", key_str(&item.key));
        let out = retry_conflicts(&what, || async {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_attrs(&item.key)))
                .update_expression(update.clone())
                .set_condition_expression(cond.clone())
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_conditional_check_failed_exception() => {
                        Failure::Store(condition_failed(&item.key, condition))
                    }
                    Some(s) if s.is_transaction_conflict_exception() => Failure::Conflict,
                    _ => Failure::Store(sdk_error(&what, e)),
                })
        })
        .await?;
        out.attributes()
            .and_then(|a| a.get(VER))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("{}: no version returned", key_str(&item.key)))
            })
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        key.validate()?;
        let mut expr = Expr::default();
        let cond = expr.condition(condition);
        let (names, values) = expr.into_maps();
        let what = format!("DeleteItem {}", key_str(key));
        retry_conflicts(&what, || async {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(cond.clone())
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_conditional_check_failed_exception() => {
                        Failure::Store(condition_failed(key, condition))
                    }
                    Some(s) if s.is_transaction_conflict_exception() => Failure::Conflict,
                    _ => Failure::Store(sdk_error(&what, e)),
                })
        })
        .await?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            items.push(self.transact_item(op)?);
        }
        retry_conflicts("TransactWriteItems", || async {
            self.client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
                .map_err(|e| transaction_error(e, &ops))
        })
        .await?;
        Ok(())
    }

    /// `BatchWriteItem` in chunks of 25, one after the other; not atomic: an
    /// error leaves the chunks before it written.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_batch(&ops)?;
        let requests = ops
            .iter()
            .map(write_request)
            .collect::<Result<Vec<_>, _>>()?;
        let mut chunks = Vec::with_capacity(requests.len().div_ceil(BATCH_WRITE_MAX));
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            chunks.push(requests.by_ref().take(BATCH_WRITE_MAX).collect::<Vec<_>>());
        }
        // Sent concurrently: the batch is not atomic anyway, and each chunk's
        // keys are distinct from every other's.
        let me = self.clone();
        concurrently(chunks, move |chunk| {
            let me = me.clone();
            async move { me.batch_chunk(chunk).await }
        })
        .await?;
        Ok(())
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let me = self.clone();
        concurrently(keys.to_vec(), move |key| {
            let me = me.clone();
            async move { me.get(&key).await }
        })
        .await
    }

    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        let me = self.clone();
        concurrently(queries, move |q| {
            let me = me.clone();
            async move { me.query(q).await }
        })
        .await
    }

    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        if q.limit == 0 {
            return Err(StoreError::Invalid("query limit must be at least 1".into()));
        }
        let cursor = q.cursor.as_deref().map(CursorPos::decode).transpose()?;
        let (pk_attr, sk_attr) = index_attrs(q.index);
        let mut expr = Expr::default();
        let mut key_cond = format!("{} = {}", expr.name(pk_attr), expr.value("qpk", s(&q.pk)));
        // DynamoDB rejects empty key values and inverted ranges; both have
        // obvious answers, so they are answered here.
        match &q.sk {
            SortKey::All => {}
            SortKey::Prefix(p) if p.is_empty() => {}
            SortKey::Prefix(p) => {
                let (n, v) = (expr.name(sk_attr), expr.value("qlo", s(p)));
                key_cond.push_str(&format!(" AND begins_with({n}, {v})"));
            }
            SortKey::Between(lo, hi) if lo > hi || hi.is_empty() => return Ok(Page::default()),
            SortKey::Between(lo, hi) if lo.is_empty() => {
                let (n, v) = (expr.name(sk_attr), expr.value("qhi", s(hi)));
                key_cond.push_str(&format!(" AND {n} <= {v}"));
            }
            SortKey::Between(lo, hi) => {
                let n = expr.name(sk_attr);
                let (a, b) = (expr.value("qlo", s(lo)), expr.value("qhi", s(hi)));
                key_cond.push_str(&format!(" AND {n} BETWEEN {a} AND {b}"));
            }
        }
        if q.pk.is_empty() {
            return Ok(Page::default());
        }

        let mut start = match cursor {
            None => None,
            Some(c) => {
                let mut esk = key_attrs(&Key {
                    pk: c.pk.clone(),
                    sk: c.sk.clone(),
                });
                match q.index {
                    None if c.pk != q.pk => {
                        return Err(StoreError::Invalid("cursor is not for this query".into()));
                    }
                    None => {}
                    Some(_) => {
                        let g = c.gsi.as_ref().ok_or_else(|| {
                            StoreError::Invalid("cursor is not for an index query".into())
                        })?;
                        if g.pk != q.pk {
                            return Err(StoreError::Invalid("cursor is not for this query".into()));
                        }
                        esk.insert(pk_attr.to_string(), s(&g.pk));
                        esk.insert(sk_attr.to_string(), s(&g.sk));
                    }
                }
                Some(esk)
            }
        };

        let (names, values) = expr.into_maps();
        // One item beyond the limit is read, so a cursor is returned only when
        // more items exist (DynamoDB also stops at 1 MB per call: keep reading).
        let want = q.limit.min(i32::MAX as usize - 1);
        let mut items: Vec<Item> = Vec::new();
        loop {
            let need = want + 1 - items.len();
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(|i| i.name().to_string()))
                .key_condition_expression(&key_cond)
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .scan_index_forward(!q.descending)
                .set_consistent_read(q.index.is_none().then_some(true))
                .limit(i32::try_from(need).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error(format!("Query {}", q.pk), e))?;
            for attrs in out.items() {
                items.push(decode_item(attrs)?);
            }
            match out.last_evaluated_key() {
                Some(lek) if items.len() <= want => start = Some(lek.clone()),
                _ => break,
            }
        }
        let mut page = Page::default();
        if items.len() > want {
            items.truncate(want);
            page.cursor = items.last().map(|i| cursor_after(q.index, i));
        }
        page.items = items;
        Ok(page)
    }
}

/// Creates the table with its indexes unless it exists, then waits until it
/// and its indexes are active.
pub(super) async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let key = |name: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(t)
            .build()
            .map_err(build_error)
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?);
    for index in Index::ALL {
        let (pk_attr, sk_attr) = GSI_ATTRS[index.slot()];
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name())
            .key_schema(key(pk_attr, KeyType::Hash)?)
            .key_schema(key(sk_attr, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_error)?;
        req = req
            .attribute_definitions(attr(pk_attr)?)
            .attribute_definitions(attr(sk_attr)?)
            .global_secondary_indexes(gsi);
    }
    match req.send().await {
        Ok(_) => tracing::info!(table, "created DynamoDB table"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            tracing::debug!(table, "DynamoDB table exists");
        }
        Err(e) => return Err(sdk_error(format!("CreateTable {table}"), e)),
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| sdk_error(format!("DescribeTable {table}"), e))?;
        let desc = out
            .table()
            .ok_or_else(|| StoreError::Backend(format!("DescribeTable {table}: no description")))?;
        let indexes = desc.global_secondary_indexes();
        let mut all_active = desc.table_status() == Some(&TableStatus::Active);
        for index in Index::ALL {
            match indexes
                .iter()
                .find(|i| i.index_name() == Some(index.name()))
            {
                None => {
                    return Err(StoreError::Backend(format!(
                        "table {table} exists without index {}",
                        index.name()
                    )));
                }
                // moto reports no index status; a missing status is taken as active.
                Some(i) => all_active &= i.index_status().is_none_or(|s| *s == IndexStatus::Active),
            }
        }
        if all_active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Backend(format!(
                "table {table} did not become active"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    #[test]
    fn put_sets_present_index_keys_and_removes_absent_ones() {
        let item = Item::new(Key::new("T#a", "C#1"), json!({"n": 1}))
            .with_index(Index::Gsi2, Key::new("T#a#MAIL", "x@y"));
        let mut expr = Expr::default();
        let update = expr.put(&item).expect("expression");
        assert!(update.starts_with("SET #body = :body, #ver = if_not_exists(#ver, :zero) + :one"));
        assert!(
            update.contains("#gsi2pk = :gsi2pk, #gsi2sk = :gsi2sk"),
            "{update}"
        );
        assert!(
            update.ends_with(" REMOVE #gsi1pk, #gsi1sk, #gsi3pk, #gsi3sk"),
            "{update}"
        );
        assert_eq!(expr.values.get(":gsi2sk"), Some(&s("x@y")));
        assert_eq!(expr.values.get(":body"), Some(&s(r#"{"n":1}"#)));
    }

    #[test]
    fn conditions_map_to_expressions() {
        let mut e = Expr::default();
        assert_eq!(e.condition(Condition::None), None);
        assert_eq!(e.into_maps(), (None, None));
        let mut e = Expr::default();
        assert_eq!(
            e.condition(Condition::NotExists).as_deref(),
            Some("attribute_not_exists(#pk)")
        );
        let mut e = Expr::default();
        assert_eq!(
            e.condition(Condition::Version(7)).as_deref(),
            Some("#ver = :expected")
        );
        assert_eq!(
            e.values.get(":expected"),
            Some(&AttributeValue::N("7".into()))
        );
    }

    #[test]
    fn decode_round_trips_and_reports_corruption() {
        let mut attrs = key_attrs(&Key::new("T#a", "C#1"));
        attrs.insert(BODY.into(), s(r#"{"n":1}"#));
        attrs.insert(VER.into(), AttributeValue::N("3".into()));
        attrs.insert("gsi3pk".into(), s("T#a#BY"));
        attrs.insert("gsi3sk".into(), s("01"));
        let item = decode_item(&attrs).expect("item");
        assert_eq!((item.version, item.body.as_str()), (3, r#"{"n":1}"#));
        assert_eq!(item.gsi, [None, None, Some(Key::new("T#a#BY", "01"))]);
        attrs.insert(BODY.into(), s("{not json"));
        assert!(matches!(decode_item(&attrs), Err(StoreError::Corrupt(_))));
        attrs.remove(BODY);
        assert!(matches!(decode_item(&attrs), Err(StoreError::Corrupt(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_then_reported() {
        let calls = Cell::new(0);
        let r = retry_conflicts("op", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(Failure::Conflict) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r.ok(), Some(3));

        calls.set(0);
        let r: Result<(), _> = retry_conflicts("op", || {
            calls.set(calls.get() + 1);
            async { Err(Failure::Conflict) }
        })
        .await;
        assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
        assert_eq!(calls.get(), CONFLICT_ATTEMPTS);

        calls.set(0);
        let r: Result<(), _> = retry_conflicts("op", || {
            calls.set(calls.get() + 1);
            async { Err(Failure::Store(StoreError::ConditionFailed("x".into()))) }
        })
        .await;
        assert!(matches!(r, Err(StoreError::ConditionFailed(_))));
        assert_eq!(calls.get(), 1);
    }
}
