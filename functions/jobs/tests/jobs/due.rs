//! `run_due`: every job once, taking a queue message only while told to.

use crate::support;

use callisto_domain::bulk::{BulkAction, BulkId, BulkJob, BulkStatus, Selection};
use callisto_domain::ids::TenantId;
use callisto_jobs::Reminders;
use callisto_store::Repos;
use callisto_store::outbox::FolderOutbox;
use callisto_store::repo::BULK_QUEUE;

#[tokio::test]
async fn takes_no_new_message_once_told_to_stop_and_drains_the_queue_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("t1").unwrap();
    let admin = support::company(&repos, "t1", "admin").await;
    let id = BulkId::parse("b1").unwrap();
    let job = BulkJob::queued(
        id.clone(),
        BulkAction::AddTags {
            tags: vec!["vip".into()],
        },
        Selection::Ids { ids: vec![] },
        admin.id.clone(),
        0,
        "Europe/Moscow".into(),
    );
    repos.bulk.create(&t, &job).await.unwrap();
    stores.queue.send(BULK_QUEUE, &t, "b1").await.unwrap();
    let now = || 1_000;
    let outbox = FolderOutbox::new(dir.path().join("outbox"), "x@y.z");
    let reminders = Reminders {
        outbox: &outbox,
        lead: 0,
    };
    let mail = callisto_jobs::mail::MailJobs::new(
        callisto_store::sealed::SealingKey::derive(&[7; 32]).unwrap(),
    );

    let report = callisto_jobs::run_due(&repos, &stores, reminders, &mail, now, || false).await;
    assert_eq!((report.scheduled.tenants, report.bulk), (1, 0));
    assert!(report.failed.is_empty());
    let status = repos.bulk.get(&t, &id).await.unwrap().value.status;
    assert_eq!(status, BulkStatus::Queued);

    let report = callisto_jobs::run_due(&repos, &stores, reminders, &mail, now, || true).await;
    assert_eq!((report.imports, report.bulk), (0, 1));
    assert!(report.failed.is_empty());
    let status = repos.bulk.get(&t, &id).await.unwrap().value.status;
    assert_eq!(status, BulkStatus::Done);
}
