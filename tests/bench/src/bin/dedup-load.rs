//! Duplicate search throughput (PRODUCT C9): seeds N contact cards on a fresh
//! embedded store (the card items only, 100 per transaction; about 2% of the
//! cards share a phone with one other card), then starts a search through the
//! queue and runs the worker to the end, printing cards/s, groups and peak
//! memory. Bounded by `--cards` (at most 2 000 000).

use callisto_domain::access::Role;
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::duplicates::{
    DedupId, DedupJob, DedupStatus, Objects, SearchScope, SearchSettings, Searcher, Source,
};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use callisto_store::Repos;
use callisto_store::item::{Condition, Index, Item, Key, MAX_TRANSACT_OPS, WriteOp};
use callisto_store::repo::DEDUP_QUEUE;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Contact cards to seed.
    #[arg(long, default_value_t = 1_000_000)]
    cards: usize,
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are 14th and 15th overall.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

fn contact(i: usize, owner: &UserId) -> anyhow::Result<Client> {
    // Cards 100k and 100k+1 share a phone: 2% of the cards, in pairs.
    let phone = if i % 100 < 2 {
        format!("+7900{:07}", i / 100)
    } else {
        format!("+7912{i:07}")
    };
    Ok(Client {
        first_name: Some("Имя".into()),
        last_name: Some(format!("Фамилия{i}")),
        patronymic: Some("Отчество".into()),
        position: Some("Менеджер".into()),
        phones: vec![phone],
        emails: vec![format!("user{i}@example.ru")],
        city: Some("Москва".into()),
        tags: vec!["lead".into()],
        ..Client::blank(
            ClientId::parse(format!("c{i:09}"))?,
            ClientKind::Contact,
            format!("Фамилия{i} Имя Отчество"),
            owner.clone(),
            1,
        )
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (2..=2_000_000).contains(&args.cards),
        "--cards must be 2..=2000000"
    );
    let dir = tempfile::tempdir()?;
    let stores = callisto_store::embedded::open(dir.path())?;
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("bench")?;
    let admin = UserId::parse("admin")?;

    // Seed: the card items as the clients repository lays them out (table
    // item + responsible index), without lookups, search words or history.
    let seed_start = Instant::now();
    let mut ops = Vec::with_capacity(MAX_TRANSACT_OPS);
    for i in 0..args.cards {
        let c = contact(i, &admin)?;
        let sk = format!("CLIENT#{}", c.id);
        let item = Item::new(
            Key::new(format!("T#{t}"), sk.clone()),
            serde_json::to_value(&c)?,
        )
        .with_index(Index::Gsi1, Key::new(format!("T#{t}#RESP#{admin}"), sk));
        ops.push(WriteOp::Put {
            item,
            condition: Condition::None,
        });
        if ops.len() == MAX_TRANSACT_OPS || i + 1 == args.cards {
            stores.items.transact(std::mem::take(&mut ops)).await?;
        }
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();
    let rss_after_seed = peak_rss_kib().unwrap_or(0);

    let id = DedupId::parse("bench1")?;
    let job = DedupJob {
        id: id.clone(),
        created_by: admin.clone(),
        searcher: Searcher {
            user: admin.clone(),
            role: Role::Administrator,
            group: None,
        },
        settings: SearchSettings {
            by_phone: true,
            by_email: true,
            objects: Objects::Both,
            scope: SearchScope::Account,
        },
        sources: vec![Source::All],
        status: DedupStatus::Queued,
        cards_scanned: 0,
        groups_found: 0,
        error: None,
        created_at: 0,
        started_at: None,
        finished_at: None,
    };
    // End to end as the product runs it: saved, queued, taken off the queue, run.
    let start = Instant::now();
    let cpu_start = cpu_secs();
    repos.duplicates.create(&t, &job).await?;
    stores.queue.send(DEDUP_QUEUE, &t, id.as_str()).await?;
    let ran = callisto_jobs::duplicates::drain_duplicates(&repos, &stores, || 2).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_start;
    let done = repos.duplicates.get(&t, &id).await?.value;
    anyhow::ensure!(
        ran == 1 && done.status == DedupStatus::Done,
        "search ended {:?}",
        done.status
    );
    println!(
        "dedup-load  cards={}  seeded in {:.1} s  search {:.2} s wall, {:.2} s CPU  cards/s={:.0} (wall), {:.0} (CPU)  groups={}  peak_rss after seed={} MiB, after search={} MiB",
        done.cards_scanned,
        seed_secs,
        secs,
        cpu,
        done.cards_scanned as f64 / secs,
        done.cards_scanned as f64 / cpu.max(0.01),
        done.groups_found,
        rss_after_seed / 1024,
        peak_rss_kib().map_or(0, |k| k / 1024),
    );
    // The read alone, to tell the storage read from the grouping.
    let cpu_start = cpu_secs();
    let mut cursor = None;
    let mut read = 0usize;
    loop {
        let page = repos
            .duplicates
            .scan(
                &t,
                &Source::All,
                cursor,
                callisto_jobs::duplicates::SCAN_PAGE,
            )
            .await?;
        read += page.items.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let read_cpu = cpu_secs() - cpu_start;
    let cpu_start = cpu_secs();
    let mut cursor = None;
    let mut grouper = callisto_domain::duplicates::Grouper::new();
    loop {
        let page = repos
            .duplicates
            .scan(
                &t,
                &Source::All,
                cursor,
                callisto_jobs::duplicates::SCAN_PAGE,
            )
            .await?;
        for c in &page.items {
            grouper.add(c, true, true);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let add_cpu = cpu_secs() - cpu_start;
    let cpu_start = cpu_secs();
    let groups = grouper.finish().len();
    println!(
        "  again: read+group {add_cpu:.2} s CPU, finish {:.2} s CPU ({groups} groups)",
        cpu_secs() - cpu_start
    );
    println!("  of which reading {read} cards alone: {read_cpu:.2} s CPU");
    Ok(())
}
