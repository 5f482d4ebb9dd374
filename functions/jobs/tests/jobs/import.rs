//! The import worker resumes after a crash without loading a row twice.

use crate::support;

use callisto_domain::access::Scope;
use callisto_domain::import::{Column, DuplicatePolicy};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_jobs::import::run_import;
use callisto_store::Repos;
use callisto_store::repo::import_source_key;

#[tokio::test]
async fn a_rerun_after_a_crash_finds_its_own_cards_instead_of_duplicating_them() {
    let (_dir, stores, repos, admin) = company_on_a_fresh_store().await;
    let t = admin.tenant.clone();

    let mut csv = String::from("Фамилия;Телефон\n");
    for i in 0..450 {
        csv.push_str(&format!(
            "Клиент{i};+7 912 {:03}-{:02}-{:02}\n",
            i,
            i % 100,
            (i * 7) % 100
        ));
    }
    let id = ImportId::parse("imp1").unwrap();
    queue_upload(&repos, &stores, &admin, &id, "a.csv", csv.into_bytes()).await;
    let done = run_import(&repos, stores.blobs.as_ref(), &t, &id, 1_000)
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.rows_total, done.counts.contacts_created),
        (ImportStatus::Done, 450, 450)
    );

    // Pretend the worker died after writing every card but before saving progress past
    // the first checkpoint (row 201): the message comes back and the import runs again.
    let v = repos.imports.get(&t, &id).await.unwrap();
    let crashed = ImportJob {
        status: ImportStatus::Running,
        checkpoint_row: 201,
        rows_done: 200,
        counts: ImportCounts {
            contacts_created: 200,
            ..ImportCounts::default()
        },
        finished_at: None,
        ..v.value
    };
    repos.imports.save(&t, &crashed, v.version).await.unwrap();
    let resumed = run_import(&repos, stores.blobs.as_ref(), &t, &id, 2_000)
        .await
        .unwrap();
    assert_eq!(
        (
            resumed.status,
            resumed.rows_done,
            resumed.counts.contacts_created
        ),
        (ImportStatus::Done, 450, 450)
    );

    let mut total = 0;
    let mut cursor = None;
    loop {
        let page = repos
            .clients
            .list(&t, &Scope::All, cursor, 500)
            .await
            .unwrap();
        total += page.items.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(total, 450, "no card was loaded twice");
    // A finished import is not run again.
    assert_eq!(
        run_import(&repos, stores.blobs.as_ref(), &t, &id, 3_000)
            .await
            .unwrap()
            .rows_done,
        450
    );
}

/// A fresh embedded store (in the returned folder) with one company, "t1".
async fn company_on_a_fresh_store() -> (
    tempfile::TempDir,
    callisto_store::Stores,
    Repos,
    callisto_domain::user::User,
) {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    let admin = support::company(&repos, "t1", "admin").await;
    (dir, stores, repos, admin)
}

/// An XLSX of surnames and phones (blank rows where `row` gives none), uploaded and confirmed.
async fn queued_xlsx(
    repos: &Repos,
    stores: &callisto_store::Stores,
    admin: &callisto_domain::user::User,
    id: &ImportId,
    rows: usize,
    row: impl Fn(usize) -> Option<[String; 2]>,
    damage: impl FnOnce(&mut Vec<u8>),
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.xlsx");
    let cells = (0..rows).map(|i| row(i).map_or_else(|| vec![String::new(); 2], Vec::from));
    callisto_tabular::write_xlsx(&path, "Лист1", &["Фамилия", "Телефон"], cells).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    queue_upload(repos, stores, admin, id, "a.xlsx", bytes).await;
}

/// `bytes` uploaded as `file_name` and confirmed as surnames and phones,
/// loaded anyway: the import waits for the worker.
async fn queue_upload(
    repos: &Repos,
    stores: &callisto_store::Stores,
    admin: &callisto_domain::user::User,
    id: &ImportId,
    file_name: &str,
    bytes: Vec<u8>,
) {
    let t = &admin.tenant;
    stores
        .blobs
        .put(
            &import_source_key(t, id).unwrap(),
            bytes,
            "application/octet-stream",
        )
        .await
        .unwrap();
    let job = ImportJob {
        id: id.clone(),
        file_name: file_name.into(),
        size: 1,
        created_by: admin.id.clone(),
        created_at: 0,
        status: ImportStatus::Queued,
        settings: Some(ImportSettings {
            columns: vec![Column::LastName, Column::Phones],
            encoding: None,
            separator: None,
            sheet: None,
            responsible: admin.id.clone(),
            tag: None,
            policy: DuplicatePolicy::LoadAnyway,
        }),
        rows_total: 0,
        checkpoint_row: 0,
        rows_done: 0,
        counts: ImportCounts::default(),
        error: None,
        finished_at: None,
    };
    repos.imports.create(t, &job).await.unwrap();
}

fn client(i: usize) -> [String; 2] {
    [
        format!("Клиент{i}"),
        format!("+7 912 {:03}-{:02}-{:02}", i % 1000, i / 1000, i % 97),
    ]
}

#[tokio::test]
async fn an_xlsx_import_finishes_with_the_rows_it_read_as_its_total() {
    let (dir, stores, repos, admin) = company_on_a_fresh_store().await;
    let t = admin.tenant.clone();
    let id = ImportId::parse("imp-x").unwrap();
    // Every tenth row blank: the sheet's declared range counts them, the import skips them.
    let row = |i: usize| (i % 10 != 9).then(|| client(i));
    queued_xlsx(&repos, &stores, &admin, &id, 1_500, row, |_| {}).await;
    let file = dir.path().join("upload.xlsx");
    stores
        .blobs
        .download_to(&import_source_key(&t, &id).unwrap(), &file)
        .await
        .unwrap();
    let (_, reader) = callisto_jobs::import::open(&file, "a.xlsx", &Default::default()).unwrap();
    // Declared up to the last row written (the 1 500th row is blank, so not written).
    assert_eq!(
        reader.rows_left(),
        Some(1_499),
        "the total the import starts with"
    );

    let done = run_import(&repos, stores.blobs.as_ref(), &t, &id, 1_000)
        .await
        .unwrap();
    assert_eq!(
        (
            done.status,
            done.rows_done,
            done.rows_total,
            done.counts.contacts_created,
            done.percent()
        ),
        (ImportStatus::Done, 1_350, 1_350, 1_350, 100),
        "the declared 1 499 rows were an upper bound"
    );
}

#[tokio::test]
async fn an_xlsx_broken_part_way_fails_the_import_after_the_rows_before() {
    let (_dir, stores, repos, admin) = company_on_a_fresh_store().await;
    let t = admin.tenant.clone();
    let id = ImportId::parse("imp-x").unwrap();
    // Damage the compressed sheet three quarters of the way in, as a bad copy would.
    let damage = |bytes: &mut Vec<u8>| {
        let name = b"xl/worksheets/sheet1.xml";
        let at = bytes
            .windows(4 + 26 + name.len())
            .position(|w| w.starts_with(b"PK\x03\x04") && w.ends_with(name))
            .unwrap();
        let field = |o: usize| usize::from(u16::from_le_bytes([bytes[at + o], bytes[at + o + 1]]));
        let data = at + 30 + field(26) + field(28);
        // The sizes may be in a descriptor after the data: the data ends at the next header.
        let size = bytes[data..]
            .windows(4)
            .position(|w| {
                [b"PK\x07\x08", b"PK\x03\x04", b"PK\x01\x02"]
                    .iter()
                    .any(|s| w == *s)
            })
            .unwrap();
        for b in &mut bytes[data + size * 3 / 4..data + size * 3 / 4 + 16] {
            *b ^= 0x5A;
        }
    };
    queued_xlsx(
        &repos,
        &stores,
        &admin,
        &id,
        4_000,
        |i| Some(client(i)),
        damage,
    )
    .await;

    let failed = run_import(&repos, stores.blobs.as_ref(), &t, &id, 1_000)
        .await
        .unwrap();
    assert_eq!(failed.status, ImportStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(
        error.starts_with("this file looks like XLSX but cannot be read"),
        "{error}"
    );
    assert!(
        failed.rows_done >= 2_000 && failed.rows_done < 4_000,
        "the rows before the damage are loaded: {}",
        failed.rows_done
    );
}
