//! Import throughput: generates a CSV of N contact rows (10 columns), runs the
//! import worker on a fresh embedded store, and prints rows/s and peak memory.
//! Bounded by `--rows` (at most 2 000 000).

use anyhow::Context;
use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::import::{DuplicatePolicy, guess_columns};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus, default_phone_region};
use callisto_store::Repos;
use callisto_store::repo::import_source_key;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Data rows in the generated file.
    #[arg(long, default_value_t = 20_000)]
    rows: usize,
    /// `load_anyway`, `skip` or `merge`.
    #[arg(long, default_value = "merge")]
    policy: String,
}

const HEADER: &str =
    "Компания;Фамилия;Имя;Отчество;Должность;Телефон;E-mail;Город;Теги;Комментарий";

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (1..=2_000_000).contains(&args.rows),
        "--rows must be 1..=2000000"
    );
    let policy = match args.policy.as_str() {
        "load_anyway" => DuplicatePolicy::LoadAnyway,
        "skip" => DuplicatePolicy::Skip,
        "merge" => DuplicatePolicy::Merge,
        other => anyhow::bail!("unknown policy {other}"),
    };
    let dir = tempfile::tempdir()?;
    let stores = callisto_store::embedded::open(dir.path())?;
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("bench")?;
    let admin = User {
        id: UserId::parse("admin")?,
        tenant: t.clone(),
        email: "admin@bench.ru".into(),
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
        name: "Bench".into(),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: default_phone_region(),
        created_at: 0,
    };
    repos.tenants.create_with_admin(&tenant, &admin).await?;

    let mut csv = String::with_capacity(args.rows * 120);
    csv.push_str(HEADER);
    csv.push('\n');
    for i in 0..args.rows {
        // Every 10th row repeats an earlier phone, so the duplicate policy has work.
        let n = if i % 10 == 9 { i - 5 } else { i };
        csv.push_str(&format!(
            "ООО Компания {};Фамилия{i};Имя;Отчество;Менеджер;+7 912 {:03}-{:02}-{:02};user{i}@example.ru;Москва;lead;строка {i}\n",
            i / 3,
            (n / 10_000) % 1000,
            (n / 100) % 100,
            n % 100
        ));
    }
    let id = ImportId::parse("bench1")?;
    let bytes = csv.len();
    stores
        .blobs
        .put(&import_source_key(&t, &id)?, csv.into_bytes(), "text/csv")
        .await?;
    let header: Vec<String> = HEADER.split(';').map(String::from).collect();
    let job = ImportJob {
        id: id.clone(),
        file_name: "bench.csv".into(),
        size: bytes as u64,
        created_by: admin.id.clone(),
        created_at: 0,
        status: ImportStatus::Queued,
        settings: Some(ImportSettings {
            columns: guess_columns(&header),
            encoding: None,
            separator: None,
            sheet: None,
            responsible: admin.id.clone(),
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
    repos.imports.create(&t, &job).await?;
    let start = Instant::now();
    let done = callisto_jobs::import::run_import(&repos, stores.blobs.as_ref(), &t, &id, 1)
        .await
        .context("import")?;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        done.status == ImportStatus::Done,
        "import ended {:?}: {:?}",
        done.status,
        done.error
    );
    println!(
        "import-load  rows={}  {:.1} MB  policy={}  {:.2} s  rows/s={:.0}  orgs={} contacts={} merged={} skipped={} rejected={}  peak_rss={} MiB",
        done.rows_done,
        bytes as f64 / 1e6,
        args.policy,
        secs,
        done.rows_done as f64 / secs,
        done.counts.organizations_created,
        done.counts.contacts_created,
        done.counts.merged,
        done.counts.skipped,
        done.counts.rejected,
        peak_rss_kib().map_or(0, |k| k / 1024),
    );
    Ok(())
}
