//! Lambda-style cold start of the `callisto-http` binary, on 127.0.0.1.
//!
//! For each run this starts a fake Lambda Runtime API (the 2018-06-01
//! endpoints `lambda_runtime` 1.x calls), execs the binary with the
//! environment Lambda would give it plus the embedded store on a fresh
//! directory, hands it one API Gateway HTTP API (payload 2.0) event for
//! `GET /api/health`, and measures the time from exec to the response POST.
//!
//!     cargo build --release -p callisto-lambda
//!     cargo run --release -p callisto-bench --bin cold-start -- --runs 20

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use callisto_bench::{Summary, cores, ms};
use clap::Parser;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

const MAX_RUNS: usize = 200;
const FUNCTION_NAME: &str = "callisto-http";
const FUNCTION_ARN: &str = "arn:aws:lambda:eu-central-1:123456789012:function:callisto-http";
const TRACE_ID: &str = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";

/// Cold start of callisto-http under a fake Lambda Runtime API.
#[derive(Debug, Parser)]
#[command(name = "cold-start")]
struct Args {
    /// The callisto-http binary to start.
    #[arg(long = "bin", default_value = "target/release/callisto-http")]
    bin: PathBuf,
    /// Number of cold starts (at most 200).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Give up on a run after this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        (1..=MAX_RUNS).contains(&args.runs),
        "--runs must be between 1 and {MAX_RUNS}"
    );
    if !args.bin.is_file() {
        bail!(
            "{} not found: build it first with `cargo build --release -p callisto-lambda` \
             (run from the workspace root) or pass --bin <path>",
            args.bin.display()
        );
    }
    let bin = std::fs::canonicalize(&args.bin)?;
    let size = std::fs::metadata(&bin)?.len();
    println!("cores: {}", cores());
    println!(
        "binary: {} ({:.1} MiB)",
        bin.display(),
        size as f64 / (1024.0 * 1024.0)
    );

    let timeout = Duration::from_millis(args.timeout_ms);
    let (mut init, mut served) = (Vec::new(), Vec::new());
    let mut each = Vec::new();
    for run in 0..args.runs {
        let t = cold_start(&bin, run, timeout)
            .await
            .with_context(|| format!("run {}", run + 1))?;
        init.push(t.init);
        served.push(t.served);
        each.push(ms(t.served));
    }
    println!(
        "runs: {} (exec -> response, ms): {}",
        args.runs,
        each.join(" ")
    );
    print_line("init   (exec -> first GET /next)", &mut init)?;
    print_line("served (exec -> response POST)", &mut served)?;
    Ok(())
}

fn print_line(label: &str, samples: &mut [Duration]) -> anyhow::Result<()> {
    let s = Summary::of(samples).context("no samples")?;
    println!(
        "{label:<34} runs={}  min={} ms  p50={} ms  p90={} ms  max={} ms",
        s.count,
        ms(s.min),
        ms(s.p50),
        ms(s.p90),
        ms(s.max)
    );
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Times {
    init: Duration,
    served: Duration,
}

#[derive(Debug)]
enum Outcome {
    Response { at: Instant, body: Bytes },
    Failure(String),
}

/// The fake Runtime API of one run.
#[derive(Debug)]
struct FakeRuntime {
    request_id: String,
    event: String,
    next_calls: AtomicUsize,
    first_next: OnceLock<Instant>,
    outcome: Mutex<Option<oneshot::Sender<Outcome>>>,
    stop: watch::Sender<bool>,
}

impl FakeRuntime {
    fn finish(&self, outcome: Outcome) {
        let sender = self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(tx) = sender {
            let _ = tx.send(outcome);
        }
    }
}

fn runtime_api(fake: Arc<FakeRuntime>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(unexpected)
        .with_state(fake)
}

/// The first call gets the event; later calls wait (like Lambda, which
/// freezes the environment) until the run is over.
async fn next_invocation(State(fake): State<Arc<FakeRuntime>>) -> Response {
    if fake.next_calls.fetch_add(1, Ordering::SeqCst) == 0 {
        let _ = fake.first_next.set(Instant::now());
        let deadline = epoch_ms() + 30_000;
        return (
            [
                ("content-type", "application/json".to_string()),
                ("lambda-runtime-aws-request-id", fake.request_id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into()),
                ("lambda-runtime-trace-id", TRACE_ID.into()),
            ],
            fake.event.clone(),
        )
            .into_response();
    }
    let mut stop = fake.stop.subscribe();
    let _ = stop.wait_for(|s| *s).await;
    StatusCode::GONE.into_response()
}

async fn invocation_response(
    State(fake): State<Arc<FakeRuntime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    if id == fake.request_id {
        fake.finish(Outcome::Response { at, body });
    } else {
        fake.finish(Outcome::Failure(format!(
            "response for unknown request id {id:?}"
        )));
    }
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(fake): State<Arc<FakeRuntime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    fake.finish(Outcome::Failure(format!(
        "invocation {id} reported an error: {}",
        String::from_utf8_lossy(&body)
    )));
    StatusCode::ACCEPTED
}

async fn init_error(State(fake): State<Arc<FakeRuntime>>, body: Bytes) -> StatusCode {
    fake.finish(Outcome::Failure(format!(
        "init error: {}",
        String::from_utf8_lossy(&body)
    )));
    StatusCode::ACCEPTED
}

async fn unexpected(State(fake): State<Arc<FakeRuntime>>, uri: Uri) -> StatusCode {
    fake.finish(Outcome::Failure(format!(
        "unexpected Runtime API call {uri}"
    )));
    StatusCode::NOT_FOUND
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// An API Gateway HTTP API (payload format 2.0) event for `GET /api/health`.
fn health_event(request_id: &str) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/api/health",
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "bench.execute-api.eu-central-1.amazonaws.com",
            "user-agent": "callisto-bench",
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.eu-central-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": "/api/health",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "callisto-bench"
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:00:00:00 +0000",
            "timeEpoch": epoch_ms() as u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// Checks the API Gateway v2 response lambda_http posted: 200 and the health JSON.
fn check_health(body: &[u8]) -> anyhow::Result<()> {
    let text = String::from_utf8_lossy(body);
    let v: serde_json::Value =
        serde_json::from_slice(body).with_context(|| format!("response is not JSON: {text}"))?;
    ensure!(v["statusCode"] == 200, "statusCode is not 200: {text}");
    let inner = v["body"]
        .as_str()
        .with_context(|| format!("response without body: {text}"))?;
    let inner = if v["isBase64Encoded"] == true {
        let bytes = base64::engine::general_purpose::STANDARD.decode(inner)?;
        String::from_utf8(bytes)?
    } else {
        inner.to_string()
    };
    let health: serde_json::Value =
        serde_json::from_str(&inner).with_context(|| format!("body is not JSON: {inner}"))?;
    ensure!(
        health["status"] == "ok" && health["version"].is_string(),
        "unexpected health body: {inner}"
    );
    Ok(())
}

async fn cold_start(bin: &std::path::Path, run: usize, timeout: Duration) -> anyhow::Result<Times> {
    let dir = tempfile::tempdir()?;
    let request_id = format!("8476a536-e9f4-11e8-9739-{run:012x}");
    let (tx, rx) = oneshot::channel();
    let fake = Arc::new(FakeRuntime {
        event: health_event(&request_id),
        request_id,
        next_calls: AtomicUsize::new(0),
        first_next: OnceLock::new(),
        outcome: Mutex::new(Some(tx)),
        stop: watch::channel(false).0,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(axum::serve(listener, runtime_api(fake.clone())).into_future());

    let log_path = dir.path().join("callisto-http.log");
    let log = std::fs::File::create(&log_path)?;
    let secret = base64::engine::general_purpose::STANDARD
        .encode(b"callisto-bench-jwt-secret-of-more-than-32-bytes");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/callisto-http")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("bench/run-{run}"))
        .env("CALLISTO_STORE", "embedded")
        .env("CALLISTO_DATA", dir.path().join("data"))
        .env("CALLISTO_JWT_SECRET", &secret)
        .env("CALLISTO_MAIL_KEY", secret)
        .env("CALLISTO_PUBLIC_URL", "http://127.0.0.1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);

    let exec = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let outcome = tokio::select! {
        o = rx => o.context("the fake Runtime API stopped"),
        status = child.wait() => Err(anyhow::anyhow!(
            "{} exited ({}) before answering",
            bin.display(),
            status.map_or_else(|e| e.to_string(), |s| s.to_string())
        )),
        () = tokio::time::sleep(timeout) => Err(anyhow::anyhow!("no answer within {timeout:?}")),
    };
    let _ = child.kill().await;
    fake.stop.send_replace(true);
    server.abort();

    let log_tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        format!(
            "\n--- callisto-http output ---\n{}",
            &text[text.ceil_char_boundary(start)..]
        )
    };
    match outcome {
        Ok(Outcome::Response { at, body }) => {
            check_health(&body).with_context(log_tail)?;
            let first_next = fake.first_next.get().copied().unwrap_or(at);
            Ok(Times {
                init: first_next.duration_since(exec),
                served: at.duration_since(exec),
            })
        }
        Ok(Outcome::Failure(why)) => Err(anyhow::anyhow!(why).context(log_tail())),
        Err(e) => Err(e.context(log_tail())),
    }
}
