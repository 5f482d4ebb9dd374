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
        let mut api = ApiConfig::new(secret, required("CALLISTO_PUBLIC_URL")?);
        api.mail_secret = mail_secret(required("CALLISTO_MAIL_KEY")?)?;
        Ok(HttpConfig {
            store,
            api,
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

/// `CALLISTO_MAIL_KEY`: the secret SMTP passwords are sealed with (base64,
/// at least 32 bytes), the same for the HTTP and the jobs function.
fn mail_secret(b64: String) -> anyhow::Result<Vec<u8>> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .context("CALLISTO_MAIL_KEY must be base64")?;
    anyhow::ensure!(
        secret.len() >= 32,
        "CALLISTO_MAIL_KEY must be at least 32 bytes"
    );
    Ok(secret)
}

/// The typed config of the `callisto-jobs` binary, read once from the environment.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub store: StoreChoice,
    /// See [`mail_secret`].
    pub mail_secret: Vec<u8>,
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
            mail_secret: mail_secret(required("CALLISTO_MAIL_KEY")?)?,
            lambda_runtime_api: std::env::var("AWS_LAMBDA_RUNTIME_API").ok(),
            reminder_lead_ms,
        })
    }

    /// What the mail worker needs: the key that opens SMTP passwords.
    pub fn mail_jobs(&self) -> anyhow::Result<callisto_jobs::mail::MailJobs> {
        let key = callisto_store::sealed::SealingKey::derive(&self.mail_secret)
            .map_err(|e| anyhow::anyhow!("CALLISTO_MAIL_KEY: {e}"))?;
        Ok(callisto_jobs::mail::MailJobs::new(key))
    }

    /// The storage ports and the repositories over them.
    pub async fn open(&self) -> anyhow::Result<(Stores, Repos)> {
        let stores = self.store.stores().await?;
        let repos = Repos::new(stores.items.clone());
        Ok((stores, repos))
    }
}
