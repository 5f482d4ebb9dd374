//! Configuration shared by the Lambda binaries.

use anyhow::Context;
use base64::Engine;
use callisto_api::{ApiConfig, AppState, SystemClock};
use callisto_store::aws::AwsConfig;
use callisto_store::outbox::{FolderOutbox, Outbox, QueueOutbox};
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

impl HttpConfig {
    pub fn from_env() -> anyhow::Result<HttpConfig> {
        let store = match std::env::var("CALLISTO_STORE").as_deref() {
            Ok("aws") | Err(_) => StoreChoice::Aws(AwsConfig::from_env()?),
            Ok("embedded") => StoreChoice::Embedded(required("CALLISTO_DATA")?.into()),
            Ok(other) => anyhow::bail!("CALLISTO_STORE must be aws or embedded, not {other:?}"),
        };
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
        let (stores, outbox): (_, Arc<dyn Outbox>) = match &self.store {
            StoreChoice::Aws(cfg) => {
                let stores = callisto_store::aws::connect(cfg).await?;
                let outbox = Arc::new(QueueOutbox::new(stores.queue.clone()));
                (stores, outbox)
            }
            StoreChoice::Embedded(dir) => {
                let stores = callisto_store::embedded::open(&dir.join("store"))?;
                (
                    stores,
                    Arc::new(FolderOutbox::new(
                        dir.join("outbox"),
                        "Callisto <no-reply@callisto.local>",
                    )),
                )
            }
        };
        Ok(AppState::new(
            stores,
            outbox,
            Arc::new(SystemClock),
            self.api.clone(),
        )?)
    }
}
