//! "Next card" latency over a large work list (PRODUCT E1) on the embedded
//! store, through the API router as the web app calls it. Seeds N contact
//! cards (about one in `--every`, default 2, tagged `spring`; 70% Moscow, 20% Novosibirsk, 10% Vladivostok
//! numbers), makes a scenario and a work list (tag `spring`, calling hours
//! 09:00-21:00), and at 14:30 Moscow time (21:30 in Vladivostok: those cards
//! are outside their hours) an agent takes `--takes` cards in turn, saving a
//! result for each. Prints p50/p99/max of "next" and of "save" separately.
//! Before that, reads `--list-pages` pages of the contact list (50 cards each,
//! as the web app scrolls it) over the whole base and over the tag, and
//! prints their p50/p99/max as "list".
//! Bounded by `--cards` (at most 2 000 000), `--takes` (at most 20 000) and
//! `--list-pages` (at most 10 000).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use callisto_api::{ApiConfig, AppState, ManualClock, router};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use callisto_store::item::{Condition, Index, Item, Key, MAX_TRANSACT_OPS, WriteOp};
use callisto_store::outbox::FolderOutbox;
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Parser)]
struct Args {
    /// Contact cards to seed.
    #[arg(long, default_value_t = 1_000_000)]
    cards: usize,
    /// Cards the agent takes (each: "next", then a saved result).
    #[arg(long, default_value_t = 2_000)]
    takes: usize,
    /// About one card in this many is tagged `spring` (in the list), spread
    /// over the base independently of the number's region.
    #[arg(long, default_value_t = 2)]
    every: usize,
    /// Pages of the contact list read in turn (50 cards each, as the web
    /// app's list asks for them), over the whole base and over the tag.
    #[arg(long, default_value_t = 200)]
    list_pages: usize,
}

/// 2026-09-22 14:30 in Moscow (11:30 UTC).
const NOW: i64 = 1_790_076_600_000;
const PASSWORD: &str = "Bench-password-1";

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Api {
    router: axum::Router,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string()))?)
            .await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        want: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method, path, token, body).await?;
        anyhow::ensure!(status == want, "{path}: {status} {value}");
        Ok(value)
    }
}

fn contact(i: usize, every: usize, owner: &UserId) -> anyhow::Result<Client> {
    let phone = match i % 10 {
        0 => format!("+7423{:07}", i % 10_000_000),
        1 | 2 => format!("+7383{:07}", i % 10_000_000),
        _ => format!("+7495{:07}", i % 10_000_000),
    };
    Ok(Client {
        first_name: Some("Имя".into()),
        last_name: Some(format!("Фамилия{i}")),
        phones: vec![phone],
        emails: vec![format!("user{i}@example.ru")],
        tags: if (i.wrapping_mul(2_654_435_761) >> 7).is_multiple_of(every) {
            vec!["spring".into()]
        } else {
            vec!["autumn".into()]
        },
        ..Client::blank(
            ClientId::parse(format!("c{i:09}"))?,
            ClientKind::Contact,
            format!("Фамилия{i} Имя"),
            owner.clone(),
            1,
        )
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name:<5} n={}  p50={:.2} ms  p99={:.2} ms  max={:.2} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (10..=2_000_000).contains(&args.cards),
        "--cards must be 10..=2000000"
    );
    anyhow::ensure!(
        (1..=20_000).contains(&args.takes),
        "--takes must be 1..=20000"
    );
    anyhow::ensure!(
        (1..=1_000).contains(&args.every),
        "--every must be 1..=1000"
    );
    anyhow::ensure!(
        (1..=10_000).contains(&args.list_pages),
        "--list-pages must be 1..=10000"
    );
    let dir = tempfile::tempdir()?;
    let stores = callisto_store::embedded::open(&dir.path().join("store"))?;
    let items = stores.items.clone();
    let outbox_dir = dir.path().join("outbox");
    let state = AppState::new(
        stores,
        Arc::new(FolderOutbox::new(
            &outbox_dir,
            "Callisto <no-reply@bench.local>",
        )),
        Arc::new(ManualClock::new(NOW)),
        ApiConfig::new(
            b"callisto-bench-jwt-secret-of-more-than-32-bytes".to_vec(),
            "http://127.0.0.1",
        ),
    )?;
    let api = Api {
        router: router(state.clone()),
    };

    // A company through sign-up and its confirmation mail, as a person makes one.
    let email = "boss@bench.local";
    api.expect(
        Method::POST,
        "/api/auth/signup",
        None,
        json!({"company_name": "Bench", "email": email, "password": PASSWORD}),
        StatusCode::CREATED,
    )
    .await?;
    let mail = std::fs::read_dir(&outbox_dir)?
        .map(|e| std::fs::read_to_string(e?.path()))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    let token = mail
        .split("token=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("no confirmation link in the mail"))?;
    api.expect(
        Method::POST,
        "/api/auth/confirm",
        None,
        json!({"token": token}),
        StatusCode::OK,
    )
    .await?;
    let login = api
        .expect(
            Method::POST,
            "/api/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
            StatusCode::OK,
        )
        .await?;
    let access = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let me = UserId::parse(login["user"]["id"].as_str().unwrap_or_default())?;
    let tenant: TenantId = state
        .repos
        .users
        .find_login(email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the company's login is missing"))?
        .tenant;

    // The cards as the clients repository lays them out (table item +
    // responsible index), 100 per transaction.
    let seed_start = Instant::now();
    let mut ops = Vec::with_capacity(MAX_TRANSACT_OPS);
    for i in 0..args.cards {
        let c = contact(i, args.every, &me)?;
        let sk = format!("CLIENT#{}", c.id);
        let item = Item::new(
            Key::new(format!("T#{tenant}"), sk.clone()),
            serde_json::to_value(&c)?,
        )
        .with_index(Index::Gsi1, Key::new(format!("T#{tenant}#RESP#{me}"), sk));
        ops.push(WriteOp::Put {
            item,
            condition: Condition::None,
        });
        if ops.len() == MAX_TRANSACT_OPS || i + 1 == args.cards {
            items.transact(std::mem::take(&mut ops)).await?;
        }
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();

    let t = Some(access.as_str());
    let result = api
        .expect(
            Method::POST,
            "/api/call-results",
            t,
            json!({"name": "Refused", "kind": "normal"}),
            StatusCode::CREATED,
        )
        .await?;
    let result = result["id"].as_str().unwrap_or_default().to_string();
    let scenario = api
        .expect(
            Method::POST,
            "/api/scenarios",
            t,
            json!({"name": "Spring", "managers": [me.as_str()], "direction": "outgoing", "results": [{"result": result}]}),
            StatusCode::CREATED,
        )
        .await?;
    let list = api
        .expect(
            Method::POST,
            "/api/work-lists",
            t,
            json!({"name": "Spring", "scenario": scenario["id"], "filter": {"tags": "spring"}}),
            StatusCode::CREATED,
        )
        .await?;
    let list = list["id"].as_str().unwrap_or_default().to_string();

    // The contact list as the web app scrolls it: a page of 50 at a time,
    // each from the cursor of the one before, never the whole base.
    let mut list_times = Vec::new();
    for filter in ["", "&tags=spring"] {
        let mut cursor: Option<String> = None;
        for _ in 0..args.list_pages {
            let path = match &cursor {
                Some(c) => format!(
                    "/api/clients?limit=50{filter}&cursor={}",
                    c.replace('%', "%25")
                        .replace('+', "%2B")
                        .replace('/', "%2F")
                        .replace('=', "%3D")
                        .replace('&', "%26")
                ),
                None => format!("/api/clients?limit=50{filter}"),
            };
            let start = Instant::now();
            let page = api
                .expect(Method::GET, &path, t, Value::Null, StatusCode::OK)
                .await?;
            list_times.push(start.elapsed());
            anyhow::ensure!(
                page["items"].as_array().is_some_and(|i| i.len() == 50),
                "a short page before the end: {path}"
            );
            cursor = page["cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
    }

    let (mut next_times, mut save_times) = (Vec::new(), Vec::new());
    let mut outside_hours = 0;
    for _ in 0..args.takes {
        let start = Instant::now();
        let next = api
            .expect(
                Method::POST,
                &format!("/api/work-lists/{list}/next"),
                t,
                json!({}),
                StatusCode::OK,
            )
            .await?;
        next_times.push(start.elapsed());
        outside_hours += next["skipped"]["outside_hours"].as_u64().unwrap_or(0);
        let Some(card) = next["card"]["id"].as_str() else {
            anyhow::bail!("the list ran dry: {next}");
        };
        let start = Instant::now();
        api.expect(
            Method::POST,
            &format!("/api/work-lists/{list}/results"),
            t,
            json!({"client": card, "result": result}),
            StatusCode::OK,
        )
        .await?;
        save_times.push(start.elapsed());
    }
    println!(
        "next-card-load  cards={}  in the list: about 1 in {}  seeded in {:.1} s  takes={}  passed over outside their hours={}  peak_rss={} MiB",
        args.cards,
        args.every,
        seed_secs,
        args.takes,
        outside_hours,
        peak_rss_kib().map_or(0, |k| k / 1024)
    );
    summary("list", list_times);
    summary("next", next_times);
    summary("save", save_times);
    Ok(())
}
