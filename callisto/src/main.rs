//! `callisto serve`: the whole product on one machine — the API, the jobs, the
//! media node (SIP and RTP) and the web app over the embedded store in a data
//! folder, with the demo company from `samplesdata/` seeded on first start.

mod config;
mod demo;
mod web;

use anyhow::Context;
use callisto_api::{AppState, Clock, SystemClock, router};
use callisto_store::outbox::FolderOutbox;
use clap::{Parser, Subcommand};
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "callisto",
    version,
    about = "Callisto cloud call center, on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API, the jobs, the media node and the web app on the embedded store.
    Serve(config::ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(config::ServeConfig::load(args)?).await,
    }
}

async fn serve(cfg: config::ServeConfig) -> anyhow::Result<()> {
    let stores = callisto_store::embedded::open(&cfg.data_dir.join("store"))
        .with_context(|| format!("opening the store in {}", cfg.data_dir.display()))?;
    let outbox = Arc::new(FolderOutbox::new(
        cfg.data_dir.join("outbox"),
        "Callisto <no-reply@callisto.local>",
    ));
    let state = AppState::new(stores, outbox, Arc::new(SystemClock), cfg.api.clone())?;

    let demo = match &cfg.demo_file {
        Some(file) => Some(
            demo::seed(&state, file)
                .await
                .with_context(|| format!("seeding the demo from {}", file.display()))?,
        ),
        None => None,
    };
    let node = callisto_node::Node::start(cfg.node.clone(), state.stores.clone())
        .await
        .with_context(|| {
            format!(
                "starting the media node on {} (set CALLISTO_SIP or --sip)",
                cfg.node.sip_addr
            )
        })?;
    tokio::spawn(scheduled_jobs(state.repos.clone()));
    tokio::spawn(reminder_job(
        state.repos.clone(),
        state.outbox.clone(),
        state.config.event_lead_ms,
    ));
    tokio::spawn(import_worker(state.repos.clone(), state.stores.clone()));
    tokio::spawn(bulk_worker(state.repos.clone(), state.stores.clone()));
    tokio::spawn(dedup_worker(state.repos.clone(), state.stores.clone()));
    let mail_jobs = callisto_jobs::mail::MailJobs::new(callisto_store::sealed::SealingKey::derive(
        &cfg.api.mail_secret,
    )?);
    tokio::spawn(mail_worker(
        state.repos.clone(),
        state.stores.clone(),
        mail_jobs,
    ));
    let app = web::with_spa(
        router(state).nest(
            "/node",
            callisto_node::control::router(node.handle(), &cfg.node_token),
        ),
        cfg.web_dir.as_deref(),
    );
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {} (set CALLISTO_LISTEN or --listen)",
                cfg.listen
            )
        })?;
    let addr = listener.local_addr()?;

    println!("Callisto is running at http://{addr}/");
    println!("  API docs:   http://{addr}/api/openapi.json");
    println!("  data:       {}", cfg.data_dir.display());
    println!(
        "  SIP (UDP):  {} — phones log in as <company>.<user> in realm \"{}\" (POST /api/me/sip-password)",
        node.sip_addr, cfg.node.realm
    );
    if let Some(ws) = node.ws_addr {
        println!("  SIP (WS):   ws://{ws}/ — browser softphones (subprotocol \"sip\")");
    }
    if let Some(wss) = node.wss_addr {
        println!("  SIP (WSS):  wss://{wss}/");
    }
    if let Some(tls) = node.tls_addr {
        println!("  SIP (TLS):  {tls}");
    }
    println!(
        "  media node: http://{addr}/node/health (service token in {})",
        cfg.data_dir.join("keys").join("node.token").display()
    );
    println!(
        "  mail:       {} (the product's own mail; companies' mail goes through their SMTP accounts)",
        cfg.data_dir.join("outbox").display()
    );
    if let Some(demo) = &demo {
        println!("  demo company \"{}\" — log in with any of:", demo.company);
        for (email, role) in &demo.logins {
            println!("    {email:<32} {role:<13} password {}", demo.password);
        }
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    // Calls still up end here, so their records and recordings are kept.
    node.shutdown().await;
    Ok(())
}

/// The daily jobs (recycle-bin purge), at start and then every hour; each run
/// only does what is due, so running often costs little.
async fn scheduled_jobs(repos: callisto_store::Repos) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match callisto_jobs::run_scheduled(&repos, SystemClock.now_ms()).await {
            Ok(report) => tracing::debug!(
                tenants = report.tenants,
                purged = report.purged,
                "scheduled jobs done"
            ),
            Err(e) => tracing::error!(error = %e, "scheduled jobs failed; retrying in an hour"),
        }
    }
}

/// The event reminders (C13), every 30 seconds: each run reminds only the
/// events newly due, so running often costs one index read per company.
async fn reminder_job(
    repos: callisto_store::Repos,
    outbox: Arc<dyn callisto_store::outbox::Outbox>,
    lead: i64,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        let reminders = callisto_jobs::Reminders {
            outbox: outbox.as_ref(),
            lead,
        };
        if let Err(e) =
            callisto_jobs::reminders::remind_all(&repos, reminders, SystemClock.now_ms()).await
        {
            tracing::error!(error = %e, "event reminders failed; retrying in 30 seconds");
        }
    }
}

/// Runs confirmed imports from the queue, polling it every second.
async fn import_worker(repos: callisto_store::Repos, stores: callisto_store::Stores) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) =
            callisto_jobs::import::drain_imports(&repos, &stores, || SystemClock.now_ms()).await
        {
            // The message stays on the queue and comes back after its visibility timeout.
            tracing::error!(error = %e, "import failed; it will be retried from its checkpoint");
        }
    }
}

/// Runs queued bulk actions, polling the queue every second; on its own task,
/// so a long import does not hold them up.
async fn bulk_worker(repos: callisto_store::Repos, stores: callisto_store::Stores) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) =
            callisto_jobs::bulk::drain_bulk(&repos, &stores, || SystemClock.now_ms()).await
        {
            // The message stays on the queue and comes back after its visibility timeout.
            tracing::error!(error = %e, "bulk action failed; it will resume from its progress");
        }
    }
}

/// Runs started duplicate searches from the queue, polling it every second.
async fn dedup_worker(repos: callisto_store::Repos, stores: callisto_store::Stores) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) =
            callisto_jobs::duplicates::drain_duplicates(&repos, &stores, || SystemClock.now_ms())
                .await
        {
            // The message stays on the queue and comes back after its visibility timeout.
            tracing::error!(error = %e, "duplicate search failed; it will be retried");
        }
    }
}

/// Sends the mails queued from cards, polling the queue every second.
async fn mail_worker(
    repos: callisto_store::Repos,
    stores: callisto_store::Stores,
    jobs: callisto_jobs::mail::MailJobs,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) =
            callisto_jobs::mail::drain_mail(&repos, &stores, &jobs, || SystemClock.now_ms()).await
        {
            // The message stays on the queue and comes back after its visibility timeout.
            tracing::error!(error = %e, "mail job failed; it will be retried");
        }
    }
}

async fn shutdown() {
    // If the signal handler cannot be installed, serving on is the better failure.
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::info!("shutting down");
    }
}
