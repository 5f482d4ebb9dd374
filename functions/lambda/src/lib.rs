//! Configuration shared by the Lambda binaries.

use anyhow::Context;
use base64::Engine;
use callisto_api::{ApiConfig, AppState, SystemClock};
use callisto_store::aws::AwsConfig;
use callisto_store::outbox::{FolderOutbox, Outbox, QueueOutbox};
use callisto_store::{Repos, Stores};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the data lives: DynamoDB/S3/SQS in the cloud, or the embedded store
/// (for running the same binary on one machine, e.g. to measure cold start).
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Aws(AwsConfig),
    Embedded(PathBuf),
}

/// The typed config of the `callisto-http` binary, read once from the environment.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub store: StoreChoice,
    pub api: ApiConfig,
    /// Set by the Lambda service; when absent the binary serves HTTP itself on `listen`.
    pub lambda_runtime_api: Option<String>,
    pub listen: String,
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("environment variable {name} is required"))
}

impl StoreChoice {
    /// `CALLISTO_STORE` = `aws` (the default: `CALLISTO_AWS_*`) or `embedded`
    /// (`CALLISTO_DATA`, a data folder as `callisto serve` uses).
    pub fn from_env() -> anyhow::Result<StoreChoice> {
        Ok(match std::env::var("CALLISTO_STORE").as_deref() {
            Ok("aws") | Err(_) => StoreChoice::Aws(AwsConfig::from_env()?),
            Ok("embedded") => StoreChoice::Embedded(required("CALLISTO_DATA")?.into()),
            Ok(other) => anyhow::bail!("CALLISTO_STORE must be aws or embedded, not {other:?}"),
        })
    }

    /// The storage ports of the chosen backend.
    pub async fn stores(&self) -> anyhow::Result<Stores> {
        Ok(match self {
            StoreChoice::Aws(cfg) => callisto_store::aws::connect(cfg).await?,
            StoreChoice::Embedded(dir) => callisto_store::embedded::open(&dir.join("store"))?,
        })
    }

    /// The mail outbox: the SQS mail queue in the cloud, a folder of `.eml`
    /// files next to the embedded store.
    pub fn outbox(&self, stores: &Stores) -> Arc<dyn Outbox> {
        match self {
            StoreChoice::Aws(_) => Arc::new(QueueOutbox::new(stores.queue.clone())),
            StoreChoice::Embedded(dir) => Arc::new(FolderOutbox::new(
                dir.join("outbox"),
                "Callisto <no-reply@callisto.local>",
            )),
        }
    }
}

impl HttpConfig {
    pub fn from_env() -> anyhow::Result<HttpConfig> {
        let store = StoreChoice::from_env()?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(required("CALLISTO_JWT_SECRET")?.trim())
            .context("CALLISTO_JWT_SECRET must be base64")?;
        Ok(HttpConfig {
            store,
            api: ApiConfig::new(secret, required("CALLISTO_PUBLIC_URL")?),
            lambda_runtime_api: std::env::var("AWS_LAMBDA_RUNTIME_API").ok(),
            listen: std::env::var("CALLISTO_LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".into()),
        })
    }

    pub async fn state(&self) -> anyhow::Result<AppState> {
        let stores = self.store.stores().await?;
        let outbox = self.store.outbox(&stores);
        Ok(AppState::new(
            stores,
            outbox,
            Arc::new(SystemClock),
            self.api.clone(),
        )?)
    }
}

/// The typed config of the `callisto-jobs` binary, read once from the environment.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub store: StoreChoice,
    /// Set by the Lambda service; when absent the binary runs every job once and exits.
    pub lambda_runtime_api: Option<String>,
    /// How long before its time an event's assignee is reminded
    /// (`CALLISTO_REMINDER_LEAD_MINUTES`, 15 by default).
    pub reminder_lead_ms: i64,
}

impl JobsConfig {
    pub fn from_env() -> anyhow::Result<JobsConfig> {
        let reminder_lead_ms = match std::env::var("CALLISTO_REMINDER_LEAD_MINUTES") {
            Err(_) => callisto_domain::event::DEFAULT_LEAD_MS,
            Ok(v) => {
                let minutes: u32 = v.trim().parse().with_context(|| {
                    format!("CALLISTO_REMINDER_LEAD_MINUTES must be a whole number of minutes, not {v:?}")
                })?;
                i64::from(minutes) * 60_000
            }
        };
        Ok(JobsConfig {
            store: StoreChoice::from_env()?,
            lambda_runtime_api: std::env::var("AWS_LAMBDA_RUNTIME_API").ok(),
            reminder_lead_ms,
        })
    }

    /// The storage ports and the repositories over them.
    pub async fn open(&self) -> anyhow::Result<(Stores, Repos)> {
        let stores = self.store.stores().await?;
        let repos = Repos::new(stores.items.clone());
        Ok((stores, repos))
    }
}
