//! AWS backend: DynamoDB single table, S3 bucket, SQS queues.
//!
//! Everything AWS-specific (SDK clients, `AttributeValue`, SDK errors) stays in
//! this module: the public surface is [`AwsConfig`], [`connect`] and
//! [`create_resources`], and the adapters are only reachable through the
//! storage ports in [`Stores`](crate::Stores).
//!
//! Layout of the table (see `ARCHITECTURE.md`, "Data model"): string keys `pk`
//! and `sk`; `gsi1pk`/`gsi1sk` … `gsi3pk`/`gsi3sk` only on items that carry that
//! index key; `body` is the JSON text of the item; `ver` is the item's version.

mod dynamo;
mod s3;
mod sqs;

use crate::{StoreError, Stores};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use std::fmt;
use std::sync::Arc;

/// Where the AWS backend keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// The DynamoDB single table.
    pub table: String,
    /// The S3 bucket for blobs.
    pub bucket: String,
    /// Prepended to every queue name: queue `import` is SQS queue `<prefix>import`.
    pub queue_prefix: String,
    /// A custom endpoint for all three services (moto, LocalStack…); `None` = AWS.
    pub endpoint_url: Option<String>,
    pub region: String,
    /// `(access key id, secret access key)` to use instead of the default
    /// credential chain (tests against moto). `None` = default chain.
    pub static_credentials: Option<(String, String)>,
}

impl fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfig")
            .field("table", &self.table)
            .field("bucket", &self.bucket)
            .field("queue_prefix", &self.queue_prefix)
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field(
                "static_credentials",
                &self
                    .static_credentials
                    .as_ref()
                    .map(|(id, _)| (id, "<redacted>")),
            )
            .finish()
    }
}

/// A configuration value is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsConfigError {
    #[error("environment variable {0} is not set (required for the AWS backend)")]
    Missing(&'static str),
}

impl AwsConfig {
    pub const ENV_TABLE: &'static str = "CALLISTO_AWS_TABLE";
    pub const ENV_BUCKET: &'static str = "CALLISTO_AWS_BUCKET";
    pub const ENV_QUEUE_PREFIX: &'static str = "CALLISTO_AWS_QUEUE_PREFIX";
    pub const ENV_ENDPOINT_URL: &'static str = "AWS_ENDPOINT_URL";
    pub const ENV_REGION: &'static str = "AWS_REGION";
    pub const DEFAULT_REGION: &'static str = "eu-central-1";

    /// Reads `CALLISTO_AWS_TABLE`, `CALLISTO_AWS_BUCKET`,
    /// `CALLISTO_AWS_QUEUE_PREFIX` (required), `AWS_ENDPOINT_URL` (optional) and
    /// `AWS_REGION` (default `eu-central-1`). Credentials come from the default
    /// AWS chain.
    pub fn from_env() -> Result<AwsConfig, AwsConfigError> {
        AwsConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`AwsConfig::from_env`] with variables from `lookup`; empty values
    /// count as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AwsConfig, AwsConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(AwsConfigError::Missing(name));
        Ok(AwsConfig {
            table: required(Self::ENV_TABLE)?,
            bucket: required(Self::ENV_BUCKET)?,
            queue_prefix: required(Self::ENV_QUEUE_PREFIX)?,
            endpoint_url: get(Self::ENV_ENDPOINT_URL),
            region: get(Self::ENV_REGION).unwrap_or_else(|| Self::DEFAULT_REGION.to_string()),
            static_credentials: None,
        })
    }
}

/// The SDK clients of one configuration.
struct Clients {
    dynamo: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
}

async fn clients(cfg: &AwsConfig) -> Clients {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(cfg.region.clone()));
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((id, secret)) = &cfg.static_credentials {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            id,
            secret,
            None,
            None,
            "callisto-static",
        ));
    }
    let sdk = loader.load().await;
    // A custom endpoint (moto, LocalStack) cannot serve virtual-hosted buckets.
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(cfg.endpoint_url.is_some())
        .build();
    Clients {
        dynamo: aws_sdk_dynamodb::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        sqs: aws_sdk_sqs::Client::new(&sdk),
    }
}

/// Builds the three storage adapters. Does not touch the network: missing
/// resources show up as errors on first use (see [`create_resources`]).
pub async fn connect(cfg: &AwsConfig) -> Result<Stores, StoreError> {
    let c = clients(cfg).await;
    tracing::debug!(table = %cfg.table, bucket = %cfg.bucket, queue_prefix = %cfg.queue_prefix,
        region = %cfg.region, endpoint = ?cfg.endpoint_url, "AWS stores configured");
    Ok(Stores {
        items: Arc::new(dynamo::DynamoItems::new(c.dynamo, cfg.table.clone())),
        blobs: Arc::new(s3::S3Blobs::new(c.s3, cfg.bucket.clone())),
        queue: Arc::new(sqs::SqsQueue::new(c.sqs, cfg.queue_prefix.clone())),
    })
}

/// Creates the table (with its three indexes, waiting until it is active) and
/// the bucket unless they exist. Queues are created on first use.
pub async fn create_resources(cfg: &AwsConfig) -> Result<(), StoreError> {
    let c = clients(cfg).await;
    dynamo::create_table(&c.dynamo, &cfg.table).await?;
    s3::create_bucket(&c.s3, &cfg.bucket, &cfg.region).await?;
    Ok(())
}

/// An SDK call failed: a backend error with the whole error chain in the message.
fn sdk_error(context: impl fmt::Display, err: impl std::error::Error) -> StoreError {
    let msg = format!("{context}: {}", DisplayErrorContext(&err));
    tracing::debug!(error = %msg, "AWS call failed");
    StoreError::Backend(msg)
}

/// A request could not be built (a required field was missing).
fn build_error(err: impl fmt::Display) -> StoreError {
    StoreError::Backend(format!("building AWS request: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn config_names_the_missing_variable() {
        let err = AwsConfig::from_lookup(lookup(&[("CALLISTO_AWS_TABLE", "t")]));
        assert_eq!(err, Err(AwsConfigError::Missing("CALLISTO_AWS_BUCKET")));
        let msg = AwsConfigError::Missing("CALLISTO_AWS_BUCKET").to_string();
        assert!(msg.contains("CALLISTO_AWS_BUCKET"), "{msg}");
        let err = AwsConfig::from_lookup(lookup(&[
            ("CALLISTO_AWS_TABLE", "t"),
            ("CALLISTO_AWS_BUCKET", "b"),
            ("CALLISTO_AWS_QUEUE_PREFIX", " "),
        ]));
        assert_eq!(
            err,
            Err(AwsConfigError::Missing("CALLISTO_AWS_QUEUE_PREFIX"))
        );
    }

    #[test]
    fn config_defaults_region_and_reads_endpoint() {
        let vars = [
            ("CALLISTO_AWS_TABLE", "t"),
            ("CALLISTO_AWS_BUCKET", "b"),
            ("CALLISTO_AWS_QUEUE_PREFIX", "callisto-"),
        ];
        let cfg = AwsConfig::from_lookup(lookup(&vars)).expect("config");
        assert_eq!(cfg.region, "eu-central-1");
        assert_eq!(cfg.endpoint_url, None);
        assert_eq!(cfg.static_credentials, None);
        let mut more = vars.to_vec();
        more.extend([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        let cfg = AwsConfig::from_lookup(lookup(&more)).expect("config");
        assert_eq!(cfg.region, "us-east-1");
        assert_eq!(cfg.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let cfg = AwsConfig {
            table: "t".into(),
            bucket: "b".into(),
            queue_prefix: "q-".into(),
            endpoint_url: None,
            region: "eu-central-1".into(),
            static_credentials: Some(("AKID".into(), "s3cr3t".into())),
        };
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("AKID") && !dbg.contains("s3cr3t"), "{dbg}");
    }
}
