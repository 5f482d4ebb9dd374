//! The chunked import worker: duplicates inside one chunk behave as row by row,
//! and a crash in the middle of a chunk's bulk write is redone without
//! creating or counting anything twice.

use crate::support;

use async_trait::async_trait;
use callisto_domain::access::Scope;
use callisto_domain::client::Client;
use callisto_domain::ids::{ClientId, TenantId, UserId};
use callisto_domain::import::{DuplicatePolicy, guess_columns};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_jobs::import::run_import;
use callisto_store::item::{Condition, Item, ItemStore, Key, Page, Query, WriteOp};
use callisto_store::repo::import_source_key;
use callisto_store::{Repos, StoreError, Stores};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An item store that dies in its `n`-th bulk write after writing half of it,
/// as a DynamoDB batch interrupted mid-way would.
#[derive(Debug)]
struct CrashingItems {
    inner: Arc<dyn ItemStore>,
    batches_before_crash: AtomicUsize,
}

#[async_trait]
impl ItemStore for CrashingItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn write_batch(&self, mut ops: Vec<WriteOp>) -> Result<(), StoreError> {
        if self.batches_before_crash.fetch_sub(1, Ordering::SeqCst) == 0 {
            ops.truncate(ops.len() / 2);
            self.inner.write_batch(ops).await?;
            return Err(StoreError::Backend("connection lost".into()));
        }
        self.inner.write_batch(ops).await
    }
}

fn t() -> TenantId {
    TenantId::parse("t1").unwrap()
}

async fn company() -> (tempfile::TempDir, Stores, Repos) {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    support::company(&repos, "t1", "admin").await;
    (dir, stores, repos)
}

async fn queue_import(
    stores: &Stores,
    repos: &Repos,
    csv: &str,
    policy: DuplicatePolicy,
) -> ImportId {
    let id = ImportId::parse("imp1").unwrap();
    stores
        .blobs
        .put(
            &import_source_key(&t(), &id).unwrap(),
            csv.as_bytes().to_vec(),
            "text/csv",
        )
        .await
        .unwrap();
    let header: Vec<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(';')
        .map(String::from)
        .collect();
    let job = ImportJob {
        id: id.clone(),
        file_name: "a.csv".into(),
        size: csv.len() as u64,
        created_by: UserId::parse("admin").unwrap(),
        created_at: 0,
        status: ImportStatus::Queued,
        settings: Some(ImportSettings {
            columns: guess_columns(&header),
            encoding: None,
            separator: None,
            sheet: None,
            responsible: UserId::parse("admin").unwrap(),
            tag: None,
            policy,
        }),
        rows_total: 0,
        checkpoint_row: 0,
        rows_done: 0,
        counts: ImportCounts::default(),
        error: None,
        finished_at: None,
    };
    repos.imports.create(&t(), &job).await.unwrap();
    id
}

/// A company that imported `csv` with `policy` to the end (asserted done).
async fn imported(csv: &str, policy: DuplicatePolicy) -> (tempfile::TempDir, Repos, ImportJob) {
    let (dir, stores, repos) = company().await;
    let id = queue_import(&stores, &repos, csv, policy).await;
    let done = run_import(&repos, stores.blobs.as_ref(), &t(), &id, 1_000)
        .await
        .unwrap();
    assert_eq!(done.status, ImportStatus::Done);
    (dir, repos, done)
}

/// The one organization with this name (asserted to be one).
async fn only_org(repos: &Repos, name: &str) -> ClientId {
    let mut found = repos.clients.find_org_by_name(&t(), name).await.unwrap();
    assert_eq!(found.len(), 1, "organizations named {name}");
    found.remove(0)
}

/// Every live card with the number of its history entries, by id.
async fn cards(repos: &Repos) -> Vec<(Client, usize)> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = repos
            .clients
            .list(&t(), &Scope::All, cursor, 500)
            .await
            .unwrap();
        for c in page.items {
            let h = repos.clients.history(&t(), &c.id, None, 100).await.unwrap();
            out.push((c, h.items.len()));
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

const IN_FILE_DUPLICATES: &str = "Компания;Фамилия;Имя;Телефон;E-mail\n\
ООО Альфа;Иванов;Иван;+7 912 000-00-01;\n\
ООО Альфа;Петров;Пётр;+7 912 000-00-02;\n\
;Иванов;Иван;+7 912 000-00-01;ivan@alfa.ru\n\
;Сидоров;;+7 912 000-00-03, +7 912 000-00-01;\n\
;Смирнов;;+7 912 000-00-03;\n";

#[tokio::test]
async fn duplicates_inside_one_chunk_merge_into_the_pending_card() {
    let (_dir, repos, done) = imported(IN_FILE_DUPLICATES, DuplicatePolicy::Merge).await;
    assert_eq!(
        (
            done.counts.organizations_created,
            done.counts.contacts_created,
            done.counts.merged,
            done.counts.skipped
        ),
        (1, 2, 4, 0)
    );
    // Row 4 gave Иванов a second phone; row 5 found him by it.
    let ivanov = repos
        .clients
        .find_by_phone(&t(), "+79120000003")
        .await
        .unwrap();
    assert_eq!(ivanov.len(), 1);
    let card = repos.clients.get(&t(), &ivanov[0]).await.unwrap().value;
    assert_eq!(card.last_name.as_deref(), Some("Иванов"));
    assert_eq!(card.phones, ["+79120000001", "+79120000003"]);
    assert_eq!(card.emails, ["ivan@alfa.ru"]);
    assert_eq!(
        repos
            .clients
            .find_by_email(&t(), "ivan@alfa.ru")
            .await
            .unwrap(),
        ivanov
    );
    // Created, then changed by rows 3 and 4 (row 5 changed nothing).
    let history = repos
        .clients
        .history(&t(), &card.id, None, 10)
        .await
        .unwrap();
    assert_eq!(history.items.len(), 3);
    let all = cards(&repos).await;
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn duplicates_inside_one_chunk_are_skipped() {
    let (_dir, repos, done) = imported(IN_FILE_DUPLICATES, DuplicatePolicy::Skip).await;
    // Row 4 was skipped, so nobody has phone 03 when row 5 comes: it is created.
    assert_eq!(
        (
            done.counts.organizations_created,
            done.counts.contacts_created,
            done.counts.merged,
            done.counts.skipped
        ),
        (1, 3, 0, 3)
    );
    assert_eq!(cards(&repos).await.len(), 4);
}

fn many_rows(n: usize) -> String {
    let mut csv = String::from("Компания;Фамилия;Имя;Телефон;E-mail\n");
    for i in 0..n {
        // Every 10th row repeats the phone of a row 5 earlier (mostly in the same
        // chunk), every 7th repeats an e-mail 700 rows earlier (often the chunk before).
        let p = if i % 10 == 9 { i - 5 } else { i };
        let e = if i % 7 == 6 && i >= 700 { i - 700 } else { i };
        csv.push_str(&format!(
            "ООО Компания {};Фамилия{i};Имя;+7 912 {:03}-{:02}-{:02};u{e}@x.ru\n",
            i / 3,
            (p / 10_000) % 1000,
            (p / 100) % 100,
            p % 100
        ));
    }
    csv
}

#[tokio::test]
async fn a_crash_in_the_middle_of_a_chunk_is_redone_without_duplicates() {
    let csv = many_rows(2_500);

    // Reference: the same file without a crash.
    let (_d1, repos, want) = imported(&csv, DuplicatePolicy::Merge).await;
    assert!(want.counts.merged > 0);
    let want_cards = cards(&repos).await;

    // The second chunk's bulk write dies half-way.
    let (_d2, stores, repos) = company().await;
    let id = queue_import(&stores, &repos, &csv, DuplicatePolicy::Merge).await;
    let crashing = Repos::new(Arc::new(CrashingItems {
        inner: stores.items.clone(),
        batches_before_crash: AtomicUsize::new(1),
    }));
    let r = run_import(&crashing, stores.blobs.as_ref(), &t(), &id, 1_000).await;
    assert!(r.is_err(), "{r:?}");
    let stuck = repos.imports.get(&t(), &id).await.unwrap().value;
    assert_eq!(stuck.status, ImportStatus::Running);
    assert!(stuck.checkpoint_row > 0 && stuck.rows_done < 2_500);

    // The message comes back; the import resumes from its checkpoint.
    let got = run_import(&repos, stores.blobs.as_ref(), &t(), &id, 1_000)
        .await
        .unwrap();
    assert_eq!(
        (got.status, got.rows_done, &got.counts),
        (ImportStatus::Done, want.rows_done, &want.counts)
    );
    let got_cards = cards(&repos).await;
    assert_eq!(got_cards.len(), want_cards.len());
    assert!(got_cards == want_cards, "cards or their history differ");
}

#[tokio::test]
async fn rows_duplicating_the_chunk_being_written_merge_into_its_cards() {
    // A chunk is written while the next one is checked. Every three rows share
    // a company, so the chunk boundaries split companies: the next chunk's
    // rows must still find the organization the chunk in flight creates.
    let csv = many_rows(2_500);
    let (_dir, repos, done) = imported(&csv, DuplicatePolicy::Merge).await;
    assert_eq!(done.counts.organizations_created, 834);
    let all = cards(&repos).await;
    let mut names = std::collections::HashSet::new();
    for (card, _) in all.iter().filter(|(c, _)| c.organization.is_none()) {
        if card.kind == callisto_domain::client::ClientKind::Organization {
            assert!(names.insert(card.name.clone()), "{} twice", card.name);
        }
    }
    assert_eq!(names.len(), 834);
    // Company 333 is on rows 999-1001 of the data, across the first chunk boundary.
    let org = only_org(&repos, "ООО Компания 333").await;
    let contacts = repos.clients.contacts_of(&t(), &org).await.unwrap();
    assert_eq!(contacts.len(), 3);
}

#[tokio::test]
async fn a_merge_into_a_card_of_the_chunk_in_flight_lands_once_that_chunk_has() {
    // Row 1000, the second chunk's first, names the company of rows 999-1001
    // and is the only row with its website: the organization is being written
    // by the first chunk when the row is checked. The row merges into it as
    // that chunk writes it, without waiting, and the update lands after it.
    let mut csv = many_rows(1_200).replace(";E-mail\n", ";E-mail;Сайт\n");
    csv = csv
        .lines()
        .enumerate()
        .map(|(line, text)| match line {
            0 => format!("{text}\n"),
            1001 => format!("{text};kompaniya333.ru\n"),
            _ => format!("{text};\n"),
        })
        .collect();
    let (_dir, repos, done) = imported(&csv, DuplicatePolicy::Merge).await;
    assert_eq!(done.counts.organizations_created, 400);
    let org = only_org(&repos, "ООО Компания 333").await;
    let card = repos.clients.get(&t(), &org).await.unwrap();
    assert_eq!(card.value.website.as_deref(), Some("kompaniya333.ru"));
    assert_eq!(card.version, 2, "created, then updated once");
    let history = repos.clients.history(&t(), &org, None, 10).await.unwrap();
    assert_eq!(history.items.len(), 2, "created, then merged");
    let contacts = repos.clients.contacts_of(&t(), &org).await.unwrap();
    assert_eq!(contacts.len(), 3);
}
