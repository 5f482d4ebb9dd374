#![allow(clippy::unwrap_used)]
//! The `callisto-jobs` binary over an embedded data folder: outside Lambda it
//! does the due work once and exits (it purges a card binned more than 30 days
//! ago and runs a queued bulk action); under a (fake) Lambda runtime API it
//! takes no queue message when the invocation's deadline is near.

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
        closed_in: vec![],
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
        wrap_up_ms: None,
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

/// Base64 of 32 bytes: the secret SMTP passwords are sealed with.
const MAIL_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

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
        ("CALLISTO_MAIL_KEY", Path::new(MAIL_KEY)),
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
fn a_missing_mail_key_fails_at_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_jobs(&[
        ("CALLISTO_STORE", Path::new("embedded")),
        ("CALLISTO_DATA", dir.path()),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CALLISTO_MAIL_KEY"), "stderr: {stderr}");
}

#[test]
fn a_missing_data_folder_fails_at_start_naming_the_variable() {
    let out = run_jobs(&[("CALLISTO_STORE", Path::new("embedded"))]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CALLISTO_DATA"), "stderr: {stderr}");
}

/// A minimal Lambda runtime API: hands out one invocation per deadline (ms
/// from now), then holds the next poll; sends each response body to `tx`.
fn fake_runtime_api(deadlines: Vec<u64>, tx: std::sync::mpsc::Sender<String>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut deadlines = deadlines.into_iter();
        let mut n = 0;
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut conn = conn;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if line.starts_with("GET") && line.contains("/invocation/next") {
                    let Some(left) = deadlines.next() else {
                        // No more invocations: hold the poll until the test ends.
                        std::thread::sleep(Duration::from_secs(600));
                        return;
                    };
                    n += 1;
                    let deadline = now_ms() as u64 + left;
                    let event = r#"{"source":"aws.scheduler"}"#;
                    write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-{n}\r\n\
                         Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-central-1:1:function:jobs\r\n\
                         Content-Length: {}\r\n\r\n{event}",
                        event.len()
                    )
                    .unwrap();
                } else {
                    let _ = tx.send(format!(
                        "{} {}",
                        line.trim(),
                        String::from_utf8_lossy(&body)
                    ));
                    write!(conn, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
                }
            }
        }
    });
    addr
}

#[tokio::test]
async fn under_lambda_takes_no_new_message_when_the_deadline_is_near() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path()).await;
    let (tx, rx) = std::sync::mpsc::channel();
    // First invocation: one minute left (less than STOP_BEFORE); second: ten.
    let api = fake_runtime_api(vec![60_000, 600_000], tx);
    let mut child = Command::new(env!("CARGO_BIN_EXE_callisto-jobs"))
        .env_clear()
        .env("RUST_LOG", "info")
        .env("CALLISTO_STORE", "embedded")
        .env("CALLISTO_DATA", dir.path())
        .env("CALLISTO_MAIL_KEY", MAIL_KEY)
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "jobs")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = rx.recv_timeout(Duration::from_secs(60));
    let second = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    // "<request line> <body>"
    let body = |s: &str| -> serde_json::Value {
        serde_json::from_str(&s[s.find('{').unwrap()..]).unwrap()
    };
    assert!(first.contains("/invocation/req-1/response"), "{first}");
    assert_eq!(body(&first)["purged"], 1, "{first}");
    assert_eq!(body(&first)["bulk"], 0, "{first}");
    assert!(second.contains("/invocation/req-2/response"), "{second}");
    assert_eq!(body(&second)["bulk"], 1, "{second}");

    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let job = repos
        .bulk
        .get(
            &TenantId::parse("t1").unwrap(),
            &BulkId::parse("b1").unwrap(),
        )
        .await
        .unwrap()
        .value;
    assert_eq!(job.status, BulkStatus::Done);
}
