//! Bounded HTTP load on the API router, served in this process on 127.0.0.1.
//!
//! Builds the real `AppState` over a fresh embedded store, seeds users with
//! confirmed e-mail, serves `callisto_api::router` with `axum::serve`, then
//! drives each scenario with N keep-alive clients (a tiny HTTP/1.1 client on
//! a plain `TcpStream`) for a fixed time and prints throughput and latency.
//!
//!     cargo run --release -p callisto-bench --bin api-load -- --seconds 10

use anyhow::{Context, bail, ensure};
use callisto_api::{ApiConfig, AppState, SystemClock};
use callisto_bench::{Summary, cores, ms};
use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus};
use callisto_store::outbox::FolderOutbox;
use clap::Parser;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "Bench-Passw0rd";
const MAX_SECONDS: u64 = 60;
const MAX_CLIENTS: usize = 500;
const MAX_USERS: usize = 200;

/// Bounded load on POST /api/auth/login and GET /api/me over 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "api-load")]
struct Args {
    /// Duration of each scenario in seconds (at most 60).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive clients per scenario.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Seeded users the clients are spread over (client i uses user i mod N).
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Scenarios to run, in order: login, me.
    #[arg(long, value_delimiter = ',', default_value = "login,me")]
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// POST /api/auth/login with valid credentials.
    Login,
    /// GET /api/me with a Bearer access token.
    Me,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Login => "login",
            Scenario::Me => "me",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        (1..=MAX_SECONDS).contains(&args.seconds),
        "--seconds must be between 1 and {MAX_SECONDS}"
    );
    ensure!(
        (1..=MAX_CLIENTS).contains(&args.clients),
        "--clients must be between 1 and {MAX_CLIENTS}"
    );
    ensure!(
        (1..=MAX_USERS).contains(&args.users),
        "--users must be between 1 and {MAX_USERS}"
    );
    // One runtime for the server and the clients, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let stores = callisto_store::embedded::open(&dir.path().join("store"))?;
    let outbox = Arc::new(FolderOutbox::new(
        dir.path().join("outbox"),
        "Callisto <no-reply@bench.local>",
    ));
    let state = AppState::new(
        stores,
        outbox,
        Arc::new(SystemClock),
        ApiConfig::new(
            b"callisto-bench-jwt-secret-of-more-than-32-bytes".to_vec(),
            "http://127.0.0.1",
        ),
    )?;

    println!(
        "cores: {} (std::thread::available_parallelism; server and clients share them)",
        cores()
    );
    let hash = hash_cost(&state).await?;
    let emails = seed_users(&state, args.users, &hash).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let app = callisto_api::router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("serving the API router on http://{addr}");

    let duration = Duration::from_secs(args.seconds);
    // Access tokens live 15 minutes, more than the longest bounded run.
    let mut tokens = Vec::new();
    if args.scenarios.contains(&Scenario::Me) {
        let mut conn = Conn::connect(addr).await?;
        for email in &emails {
            tokens.push(login_token(&mut conn, addr, email).await?);
        }
    }

    for scenario in &args.scenarios {
        let requests: Vec<Arc<Vec<u8>>> = (0..args.clients)
            .map(|i| {
                let user = i % args.users;
                Arc::new(match scenario {
                    Scenario::Login => login_request(addr, &emails[user]),
                    Scenario::Me => me_request(addr, &tokens[user]),
                })
            })
            .collect();
        probe(addr, *scenario, &requests[0], &emails[0]).await?;
        let result = load(addr, requests, duration).await?;
        result.print(scenario.name(), args.clients);
    }
    server.abort();
    Ok(())
}

/// Times one argon2id hash with the API's own hasher (OWASP parameters).
async fn hash_cost(state: &AppState) -> anyhow::Result<String> {
    let mut times = Vec::new();
    let mut hash = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        hash = state.hash_password(PASSWORD).await?;
        times.push(t.elapsed());
    }
    let s = Summary::of(&mut times).context("no hash timings")?;
    println!(
        "argon2id hash (API hasher, m=19 MiB, t=2, p=1): median {} ms, min {} ms of 5, one at a time",
        ms(s.p50),
        ms(s.min)
    );
    Ok(hash)
}

/// One company per user, each user an active administrator with a confirmed
/// e-mail; all share one password hash (same password, one salt: seeding only).
async fn seed_users(state: &AppState, n: usize, hash: &str) -> anyhow::Result<Vec<String>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_millis() as i64;
    let mut emails = Vec::with_capacity(n);
    for i in 0..n {
        let tenant_id = TenantId::parse(format!("benchtenant{i:03}"))?;
        let tenant = Tenant {
            id: tenant_id.clone(),
            name: format!("Bench {i}"),
            promo_code: None,
            billing: BillingDetails::default(),
            phone_region: callisto_domain::user::default_phone_region(),
            created_at: now,
            wrap_up_ms: None,
        };
        let email = format!("bench{i:03}@bench.example");
        let user = User {
            id: UserId::parse(format!("benchuser{i:03}"))?,
            tenant: tenant_id,
            email: email.clone(),
            full_name: format!("Bench User {i}"),
            role: Role::Administrator,
            group: None,
            short_number: Some("100".into()),
            status: UserStatus::Active,
            time_zone: None,
            support_email: None,
            support_phone: None,
            password_hash: hash.to_string(),
            email_confirmed: true,
            must_change_password: false,
            created_at: now,
        };
        state
            .repos
            .tenants
            .create_with_admin(&tenant, &user)
            .await
            .with_context(|| format!("seeding {email}"))?;
        emails.push(email);
    }
    println!("seeded {n} users (one company each)");
    Ok(emails)
}

fn login_request(addr: SocketAddr, email: &str) -> Vec<u8> {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn me_request(addr: SocketAddr, token: &str) -> Vec<u8> {
    format!("GET /api/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n")
        .into_bytes()
}

async fn login_token(conn: &mut Conn, addr: SocketAddr, email: &str) -> anyhow::Result<String> {
    let (status, body) = conn.exchange(&login_request(addr, email)).await?;
    ensure!(
        status == 200,
        "log-in of {email} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    json["access_token"]
        .as_str()
        .map(str::to_string)
        .context("log-in answer without access_token")
}

/// Checks one request of the scenario answers 200 with the expected body,
/// so that the figures are about real work.
async fn probe(
    addr: SocketAddr,
    scenario: Scenario,
    request: &[u8],
    email: &str,
) -> anyhow::Result<()> {
    let mut conn = Conn::connect(addr).await?;
    let (status, body) = conn.exchange(request).await?;
    let json: serde_json::Value = serde_json::from_slice(&body)
        .with_context(|| format!("{} answered non-JSON", scenario.name()))?;
    let ok = status == 200
        && match scenario {
            Scenario::Login => json["access_token"].is_string() && json["user"]["email"] == email,
            Scenario::Me => json["email"] == email,
        };
    ensure!(ok, "{} probe answered {status}: {json}", scenario.name());
    Ok(())
}

#[derive(Debug)]
struct LoadResult {
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: usize,
    io_errors: usize,
}

impl LoadResult {
    fn print(mut self, name: &str, clients: usize) {
        let requests = self.latencies.len();
        let rate = requests as f64 / self.elapsed.as_secs_f64();
        let io = if self.io_errors > 0 {
            format!(" (of which {} I/O)", self.io_errors)
        } else {
            String::new()
        };
        match Summary::of(&mut self.latencies) {
            Some(s) => println!(
                "{name:<10} {clients} clients  {:.1} s  requests={requests}  req/s={rate:.0}  p50={} ms  p90={} ms  p99={} ms  max={} ms  errors={}{io}",
                self.elapsed.as_secs_f64(),
                ms(s.p50),
                ms(s.p90),
                ms(s.p99),
                ms(s.max),
                self.errors,
            ),
            None => println!(
                "{name:<10} {clients} clients  {:.1} s  requests=0  errors={}{io}",
                self.elapsed.as_secs_f64(),
                self.errors
            ),
        }
    }
}

/// Runs one client per request template until `duration` has passed; a
/// request started before the deadline is waited for and counted.
async fn load(
    addr: SocketAddr,
    requests: Vec<Arc<Vec<u8>>>,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    // Connect everyone first so connection set-up is outside the window.
    let mut conns = Vec::with_capacity(requests.len());
    for _ in &requests {
        conns.push(Conn::connect(addr).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(requests.len());
    for (mut conn, request) in conns.into_iter().zip(requests) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(4096);
            let (mut errors, mut io_errors) = (0, 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                match conn.exchange(&request).await {
                    Ok((status, _)) => {
                        latencies.push(t.elapsed());
                        if !(200..300).contains(&status) {
                            errors += 1;
                        }
                    }
                    Err(_) => {
                        latencies.push(t.elapsed());
                        errors += 1;
                        io_errors += 1;
                        conn = Conn::connect(addr).await?;
                    }
                }
            }
            anyhow::Ok((latencies, errors, io_errors))
        }));
    }
    let mut result = LoadResult {
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        errors: 0,
        io_errors: 0,
    };
    for task in tasks {
        let (latencies, errors, io_errors) = task.await.context("client task panicked")??;
        result.latencies.extend(latencies);
        result.errors += errors;
        result.io_errors += io_errors;
    }
    result.elapsed = start.elapsed();
    Ok(result)
}

/// A keep-alive HTTP/1.1 connection that sends prepared requests and reads
/// `Content-Length` framed answers (what the API always sends).
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request, returns the status code and the body.
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("non-UTF-8 header")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("malformed status line")?;
        let mut length = None;
        let mut close = false;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.parse::<usize>().context("bad Content-Length")?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked answers are not supported by this client");
                } else if name.eq_ignore_ascii_case("connection")
                    && value.eq_ignore_ascii_case("close")
                {
                    close = true;
                }
            }
        }
        let end = head_end + length.unwrap_or(0);
        while self.buf.len() < end {
            self.fill().await?;
        }
        let body = self.buf[head_end..end].to_vec();
        self.buf.drain(..end);
        if close {
            bail!("server closed the connection");
        }
        Ok((status, body))
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("connection closed by the server");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
