//! The work outside requests on AWS Lambda: invoked once a minute by an
//! EventBridge schedule, each invocation runs every job once
//! ([`callisto_jobs::run_due`]: the scheduled purge, the event reminders, then the import, bulk,
//! duplicate-search and mail queues), as `callisto serve` does in-process. Without
//! `AWS_LAMBDA_RUNTIME_API` it runs the jobs once and exits (non-zero if one
//! failed), e.g. over an embedded data folder with `CALLISTO_STORE=embedded`.

use callisto_api::{Clock, SystemClock};
use callisto_jobs::mail::MailJobs;
use callisto_jobs::{DueReport, Reminders};
use callisto_lambda::JobsConfig;
use callisto_store::{Repos, Stores};
use lambda_runtime::{LambdaEvent, service_fn};
use std::time::{Duration, SystemTime};

/// No new queue message is taken with less than this left before the Lambda
/// deadline. A message cut off by the deadline is not lost: it comes back
/// after its visibility timeout and resumes from its checkpoint.
const STOP_BEFORE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .init();
    let config = JobsConfig::from_env()?;
    let (stores, repos) = config.open().await?;
    let outbox = config.store.outbox(&stores);
    let reminders = Reminders {
        outbox: outbox.as_ref(),
        lead: config.reminder_lead_ms,
    };
    let mail = config.mail_jobs()?;
    match &config.lambda_runtime_api {
        Some(_) => {
            let handler = service_fn(|event: LambdaEvent<serde_json::Value>| {
                let deadline = event.context.deadline();
                let (repos, stores, mail) = (&repos, &stores, &mail);
                async move {
                    let report = run(repos, stores, reminders, mail, Some(deadline)).await;
                    if report.failed.is_empty() {
                        Ok(summary(&report))
                    } else {
                        // Counted as a failed invocation; the next minute's run is the retry.
                        Err(lambda_runtime::Error::from(format!(
                            "jobs failed: {}",
                            report.failed.join(", ")
                        )))
                    }
                }
            });
            lambda_runtime::run(handler)
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        None => {
            let report = run(&repos, &stores, reminders, &mail, None).await;
            anyhow::ensure!(
                report.failed.is_empty(),
                "jobs failed: {}",
                report.failed.join(", ")
            );
            Ok(())
        }
    }
}

/// Every job once; with a deadline, no new message is taken within
/// [`STOP_BEFORE`] of it.
async fn run(
    repos: &Repos,
    stores: &Stores,
    reminders: Reminders<'_>,
    mail: &MailJobs,
    deadline: Option<SystemTime>,
) -> DueReport {
    let more = || match deadline {
        Some(d) => d
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > STOP_BEFORE),
        None => true,
    };
    let report = callisto_jobs::run_due(
        repos,
        stores,
        reminders,
        mail,
        || SystemClock.now_ms(),
        more,
    )
    .await;
    tracing::info!(
        tenants = report.scheduled.tenants,
        purged = report.scheduled.purged,
        imports = report.imports,
        bulk = report.bulk,
        reminded = report.reminded,
        mails = report.mails,
        failed = ?report.failed,
        "jobs run"
    );
    report
}

fn summary(report: &DueReport) -> serde_json::Value {
    serde_json::json!({
        "tenants": report.scheduled.tenants,
        "purged": report.scheduled.purged,
        "imports": report.imports,
        "bulk": report.bulk,
        "reminded": report.reminded,
        "mails": report.mails,
    })
}
