#![allow(clippy::unwrap_used)]
//! The `callisto-jobs` binary, run outside Lambda over an embedded data
//! folder, does the due work once and exits: it purges a card binned more
//! than 30 days ago and runs a queued bulk action.

use callisto_domain::access::Role;
use callisto_domain::bulk::{BulkAction, BulkId, BulkJob, BulkStatus, Selection};
use callisto_domain::client::{BIN_RETENTION_MS, Client, ClientKind};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus, default_phone_region};
use callisto_store::Repos;
use callisto_store::repo::{BULK_QUEUE, Journal, RepoError};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const DAY: i64 = 24 * 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn card(id: &str, responsible: &UserId, deleted_at: Option<i64>) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        kind: ClientKind::Contact,
        organization: None,
        name: format!("Card {id}"),
        first_name: None,
        last_name: None,
        patronymic: None,
        position: None,
        phones: vec![],
        emails: vec![],
        city: None,
        industry: None,
        website: None,
        inn: None,
        description: None,
        tags: vec![],
        client_type: None,
        custom: BTreeMap::new(),
        responsible: responsible.clone(),
        responsible_group: None,
        created_at: 0,
        updated_at: 0,
        deleted_at,
        deleted_by: None,
        last_call_at: None,
    }
}

/// A tenant with its administrator, a card binned 31 days ago, a live card
/// and a queued bulk action tagging the live card `vip`.
async fn prepare(data: &Path) {
    // The binary opens <CALLISTO_DATA>/store; this handle is dropped before it runs.
    let stores = callisto_store::embedded::open(&data.join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("t1").unwrap();
    let admin = User {
        id: UserId::parse("admin").unwrap(),
        tenant: t.clone(),
        email: "admin@t1.ru".into(),
        full_name: "Admin".into(),
        role: Role::Administrator,
        group: None,
        short_number: None,
        status: UserStatus::Active,
        time_zone: None,
        support_email: None,
        support_phone: None,
        password_hash: "x".into(),
        email_confirmed: true,
        must_change_password: false,
        created_at: 0,
    };
    let tenant = Tenant {
        id: t.clone(),
        name: "T1".into(),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: default_phone_region(),
        created_at: 0,
    };
    repos
        .tenants
        .create_with_admin(&tenant, &admin)
        .await
        .unwrap();
    let binned = card("binned", &admin.id, Some(now_ms() - BIN_RETENTION_MS - DAY));
    let live = card("live", &admin.id, None);
    for c in [&binned, &live] {
        repos
            .clients
            .create(&t, c, &Journal::default())
            .await
            .unwrap();
    }
    let job = BulkJob::queued(
        BulkId::parse("b1").unwrap(),
        BulkAction::AddTags {
            tags: vec!["vip".into()],
        },
        Selection::Ids {
            ids: vec![live.id.clone()],
        },
        admin.id.clone(),
        now_ms(),
        "Europe/Moscow".into(),
    );
    repos.bulk.create(&t, &job).await.unwrap();
    stores.queue.send(BULK_QUEUE, &t, "b1").await.unwrap();
}

fn run_jobs(env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callisto-jobs"));
    // Nothing from the caller's environment (no AWS_LAMBDA_RUNTIME_API, no CALLISTO_*).
    cmd.env_clear().env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn runs_the_due_jobs_once_over_an_embedded_store_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path()).await;

    let out = run_jobs(&[
        ("CALLISTO_STORE", Path::new("embedded")),
        ("CALLISTO_DATA", dir.path()),
    ]);
    let logs =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "callisto-jobs failed: {logs}");
    assert!(logs.contains("jobs run"), "no summary line in: {logs}");

    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("t1").unwrap();
    // The purge ran: the card binned 31 days ago is gone for good.
    assert!(matches!(
        repos
            .clients
            .get(&t, &ClientId::parse("binned").unwrap())
            .await,
        Err(RepoError::NotFound(_))
    ));
    // The bulk queue was drained: the job is done and the live card tagged.
    let job = repos
        .bulk
        .get(&t, &BulkId::parse("b1").unwrap())
        .await
        .unwrap()
        .value;
    assert_eq!(job.status, BulkStatus::Done);
    assert_eq!(job.counts.changed, 1);
    let live = repos
        .clients
        .get(&t, &ClientId::parse("live").unwrap())
        .await
        .unwrap()
        .value;
    assert_eq!(live.tags, vec!["vip".to_string()]);
    assert!(live.deleted_at.is_none());
    // …and its message deleted, not merely hidden.
    let left = stores
        .queue
        .receive(BULK_QUEUE, 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(left.is_empty(), "messages left on the bulk queue: {left:?}");
}

#[test]
fn a_missing_data_folder_fails_at_start_naming_the_variable() {
    let out = run_jobs(&[("CALLISTO_STORE", Path::new("embedded"))]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CALLISTO_DATA"), "stderr: {stderr}");
}
