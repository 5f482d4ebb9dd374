//! Import throughput and memory. Three set-ups, each bounded and stopping by itself:
//!
//! - `--rows N` (default 20 000, at most 2 000 000): a generated CSV of N contact
//!   rows (10 columns) imported by the real worker on a fresh store; prints rows/s
//!   and the peak RSS of the import alone (the generator's memory is released and
//!   the peak reset before the import starts).
//! - `--xlsx`: a 30 000-row, 10-column XLSX against an existing base of 10 000
//!   cards that a third of its rows duplicate: preview (detect + first rows) and
//!   import with the merge policy, timed together.
//! - `--store aws`: the same CSV run against DynamoDB/S3 served by a
//!   `moto_server` (from `PATH`) that the bench starts on 127.0.0.1 and stops.

use anyhow::Context;
use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::import::{DuplicatePolicy, guess_columns};
use callisto_domain::import_job::{
    ImportCounts, ImportId, ImportJob, ImportSettings, ImportStatus,
};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus, default_phone_region};
use callisto_store::repo::import_source_key;
use callisto_store::{Repos, Stores};
use clap::Parser;
use std::time::Instant;

#[allow(clippy::unwrap_used)]
#[path = "../../../../core/store/tests/support/moto.rs"]
mod moto;

#[derive(Parser)]
struct Args {
    /// Data rows in the generated CSV.
    #[arg(long, default_value_t = 20_000)]
    rows: usize,
    /// `load_anyway`, `skip` or `merge`.
    #[arg(long, default_value = "merge")]
    policy: String,
    /// `embedded` (a redb file in a temporary folder) or `aws` (moto_server).
    #[arg(long, default_value = "embedded")]
    store: String,
    /// Run the XLSX set-up (30 000 rows against a base of 10 000 cards) instead.
    #[arg(long)]
    xlsx: bool,
}

const HEADER: [&str; 10] = [
    "Компания",
    "Фамилия",
    "Имя",
    "Отчество",
    "Должность",
    "Телефон",
    "E-mail",
    "Город",
    "Теги",
    "Комментарий",
];

/// One generated row: every three rows share a company; `phone` picks the number.
fn row(i: usize, series: u32, phone: usize) -> [String; 10] {
    [
        format!("ООО Компания {}-{series}", i / 3),
        format!("Фамилия{i}"),
        "Имя".into(),
        "Отчество".into(),
        "Менеджер".into(),
        format!(
            "+7 9{series:02} {:03}-{:02}-{:02}",
            (phone / 10_000) % 1000,
            (phone / 100) % 100,
            phone % 100
        ),
        format!("user{i}-{series}@example.ru"),
        "Москва".into(),
        "lead".into(),
        format!("строка {i}"),
    ]
}

/// The benchmark's CSV: every 10th row repeats the phone of a row 5 earlier.
fn csv(rows: usize) -> Vec<u8> {
    let mut out = String::with_capacity(rows * 150);
    out.push_str(&HEADER.join(";"));
    out.push('\n');
    for i in 0..rows {
        let phone = if i % 10 == 9 { i - 5 } else { i };
        out.push_str(&row(i, 12, phone).join(";"));
        out.push('\n');
    }
    out.into_bytes()
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds the process has used (user + system, all threads), from
/// `/proc/self/stat` in clock ticks of 1/100 s: on a machine shared with other
/// work, wall time swings with the load, CPU time much less.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) end with `)`.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |n: usize| -> f64 {
        rest.split_whitespace()
            .nth(n)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    (field(11) + field(12)) / 100.0
}

/// Resets the kernel's peak-RSS mark to the current RSS (Linux `clear_refs` 5).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn policy(name: &str) -> anyhow::Result<DuplicatePolicy> {
    Ok(match name {
        "load_anyway" => DuplicatePolicy::LoadAnyway,
        "skip" => DuplicatePolicy::Skip,
        "merge" => DuplicatePolicy::Merge,
        other => anyhow::bail!("unknown policy {other}"),
    })
}

async fn company(repos: &Repos, t: &TenantId) -> anyhow::Result<UserId> {
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
        wrap_up_ms: None,
    };
    repos.tenants.create_with_admin(&tenant, &admin).await?;
    Ok(admin.id)
}

/// Stores the file and a confirmed import of it, as the API's confirm step leaves them.
#[allow(clippy::too_many_arguments)]
async fn queue(
    stores: &Stores,
    repos: &Repos,
    t: &TenantId,
    admin: &UserId,
    id: &str,
    file_name: &str,
    data: Vec<u8>,
    policy: DuplicatePolicy,
) -> anyhow::Result<ImportId> {
    let id = ImportId::parse(id)?;
    let size = data.len() as u64;
    stores
        .blobs
        .put(
            &import_source_key(t, &id)?,
            data,
            "application/octet-stream",
        )
        .await?;
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let job = ImportJob {
        id: id.clone(),
        file_name: file_name.into(),
        size,
        created_by: admin.clone(),
        created_at: 0,
        status: ImportStatus::Queued,
        settings: Some(ImportSettings {
            columns: guess_columns(&header),
            encoding: None,
            separator: None,
            sheet: None,
            responsible: admin.clone(),
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
    repos.imports.create(t, &job).await?;
    Ok(id)
}

async fn run(
    stores: &Stores,
    repos: &Repos,
    t: &TenantId,
    id: &ImportId,
) -> anyhow::Result<ImportJob> {
    let done = callisto_jobs::import::run_import(repos, stores.blobs.as_ref(), t, id, 1)
        .await
        .context("import")?;
    anyhow::ensure!(
        done.status == ImportStatus::Done,
        "import ended {:?}: {:?}",
        done.status,
        done.error
    );
    Ok(done)
}

fn counts(done: &ImportJob) -> String {
    format!(
        "orgs={} contacts={} merged={} skipped={} rejected={}",
        done.counts.organizations_created,
        done.counts.contacts_created,
        done.counts.merged,
        done.counts.skipped,
        done.counts.rejected
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (1..=2_000_000).contains(&args.rows),
        "--rows must be 1..=2000000"
    );
    let policy = policy(&args.policy)?;
    let dir = tempfile::tempdir()?;
    // Kept alive to the end: dropping it stops moto.
    let mut _moto = None;
    let stores = match args.store.as_str() {
        "embedded" => callisto_store::embedded::open(dir.path())?,
        "aws" => {
            let m = moto::Moto::start();
            let cfg = m.config("import-load");
            _moto = Some(m);
            callisto_store::aws::create_resources(&cfg).await?;
            callisto_store::aws::connect(&cfg).await?
        }
        other => anyhow::bail!("unknown store {other}"),
    };
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("bench")?;
    let admin = company(&repos, &t).await?;

    if args.xlsx {
        return xlsx(&stores, &repos, &t, &admin, dir.path()).await;
    }

    let data = csv(args.rows);
    let bytes = data.len();
    let parse = parse_only(&data, dir.path())?;
    let id = queue(
        &stores,
        &repos,
        &t,
        &admin,
        "bench1",
        "bench.csv",
        data,
        policy,
    )
    .await?;
    let before = status_kib("VmRSS:").unwrap_or(0);
    let reset = reset_peak_rss();
    let start = Instant::now();
    let cpu = cpu_secs();
    let done = run(&stores, &repos, &t, &id).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu;
    let peak = status_kib("VmHWM:").unwrap_or(0);
    println!(
        "import-load  store={}  rows={}  {:.1} MB  policy={}  {:.2} s (cpu {:.2} s)  rows/s={:.0}  {}  rss_before={} MiB  peak_rss_during_import={} MiB{}\n  phase: reading + rows to cards alone (no store) {:.2} s = {:.0} rows/s",
        args.store,
        done.rows_done,
        bytes as f64 / 1e6,
        args.policy,
        secs,
        cpu,
        done.rows_done as f64 / secs,
        counts(&done),
        before / 1024,
        peak / 1024,
        if reset {
            ""
        } else {
            " (peak not reset: whole process)"
        },
        parse,
        done.rows_done as f64 / parse,
    );
    Ok(())
}

/// Seconds to read the CSV and turn every row into cards, without a store: the
/// CPU floor of the import.
fn parse_only(data: &[u8], tmp: &std::path::Path) -> anyhow::Result<f64> {
    use callisto_domain::ids::ClientId;
    use callisto_domain::import::{ImportDefaults, row_to_cards};
    let path = tmp.join("parse.csv");
    std::fs::write(&path, data)?;
    let start = Instant::now();
    let detected = callisto_tabular::detect(&path, "bench.csv", Some("ru"))?;
    let mut reader = callisto_tabular::Reader::open(&path, &detected, &Default::default())?;
    let header = reader.header().to_vec();
    let columns = guess_columns(&header);
    let defaults = ImportDefaults {
        region: default_phone_region(),
        responsible: UserId::parse("admin")?,
        responsible_group: None,
        tag: None,
        now: 1,
    };
    let mut cards = 0usize;
    for row in reader.by_ref() {
        let row = row?;
        let ids = (
            ClientId::parse(format!("p-{}-o", row.number))?,
            ClientId::parse(format!("p-{}-c", row.number))?,
        );
        if let Ok(c) = row_to_cards(row.number, &header, &columns, &row.cells, &defaults, ids) {
            cards += usize::from(c.organization.is_some()) + usize::from(c.contact.is_some());
        }
    }
    anyhow::ensure!(cards > 0, "no cards");
    let secs = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(secs)
}

/// 30 000 XLSX rows against a base of 10 000 cards: every third row carries the
/// phone of a base card (so it merges), the others are new.
async fn xlsx(
    stores: &Stores,
    repos: &Repos,
    t: &TenantId,
    admin: &UserId,
    tmp: &std::path::Path,
) -> anyhow::Result<()> {
    const BASE: usize = 10_000;
    const ROWS: usize = 30_000;
    // The base, loaded by an import of its own (not timed).
    let base_csv = {
        let mut out = HEADER.join(";");
        out.push('\n');
        for i in 0..BASE {
            out.push_str(&row(i, 12, i).join(";"));
            out.push('\n');
        }
        out.into_bytes()
    };
    let id = queue(
        stores,
        repos,
        t,
        admin,
        "base",
        "base.csv",
        base_csv,
        DuplicatePolicy::LoadAnyway,
    )
    .await?;
    let base = run(stores, repos, t, &id).await?;

    let path = tmp.join("bench.xlsx");
    let rows = (0..ROWS).map(|i| {
        if i % 3 == 0 {
            // Same phone as base card i/3: a duplicate.
            row(i, 12, i / 3).to_vec()
        } else {
            row(i, 13, i).to_vec()
        }
    });
    callisto_tabular::write_xlsx(&path, "Клиенты", &HEADER, rows)?;
    let data = std::fs::read(&path)?;
    let bytes = data.len();
    let id = queue(
        stores,
        repos,
        t,
        admin,
        "bench2",
        "bench.xlsx",
        data,
        DuplicatePolicy::Merge,
    )
    .await?;

    let start = Instant::now();
    let cpu = cpu_secs();
    // The preview, as the API makes it: the file from the blob store, the format
    // detected, the header and the first rows read.
    let preview_path = tmp.join("preview.xlsx");
    stores
        .blobs
        .download_to(&import_source_key(t, &id)?, &preview_path)
        .await?
        .context("uploaded file")?;
    let shown = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let detected = callisto_tabular::detect(&preview_path, "bench.xlsx", Some("ru"))?;
        let mut reader =
            callisto_tabular::Reader::open(&preview_path, &detected, &Default::default())?;
        anyhow::ensure!(reader.header().len() == HEADER.len(), "header");
        Ok(reader.by_ref().take(20).filter(Result::is_ok).count())
    })
    .await??;
    let preview = start.elapsed().as_secs_f64();
    let done = run(stores, repos, t, &id).await?;
    let total = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu;
    println!(
        "import-load  xlsx rows={} ({:.1} MB) against a base of {} cards  preview={:.2} s ({} rows shown)  import={:.2} s  total={:.2} s (cpu {:.2} s)  rows/s={:.0}  {}",
        done.rows_done,
        bytes as f64 / 1e6,
        base.counts.contacts_created + base.counts.organizations_created,
        preview,
        shown,
        total - preview,
        total,
        cpu,
        done.rows_done as f64 / (total - preview),
        counts(&done),
    );
    Ok(())
}
