//! The import worker resumes after a crash without loading a row twice.

use crate::support;

use callisto_domain::access::Scope;
use callisto_domain::ids::TenantId;
use callisto_domain::import::{Column, DuplicatePolicy};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_jobs::import::run_import;
use callisto_store::Repos;
use callisto_store::repo::import_source_key;

#[tokio::test]
async fn a_rerun_after_a_crash_finds_its_own_cards_instead_of_duplicating_them() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("t1").unwrap();
    let admin = support::company(&repos, "t1", "admin").await;

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
    stores
        .blobs
        .put(
            &import_source_key(&t, &id).unwrap(),
            csv.into_bytes(),
            "text/csv",
        )
        .await
        .unwrap();
    let job = ImportJob {
        id: id.clone(),
        file_name: "a.csv".into(),
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
    repos.imports.create(&t, &job).await.unwrap();
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
