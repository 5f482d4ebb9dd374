//! The API on AWS Lambda (behind API Gateway or an ALB), or as a plain HTTP
//! server when `AWS_LAMBDA_RUNTIME_API` is not set. Same router either way.

use callisto_lambda::HttpConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .init();
    let config = HttpConfig::from_env()?;
    let app = callisto_api::router(config.state().await?);
    match &config.lambda_runtime_api {
        Some(_) => lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e)),
        None => {
            let listener = tokio::net::TcpListener::bind(&config.listen).await?;
            tracing::info!(addr = %listener.local_addr()?, "serving HTTP");
            axum::serve(listener, app).await?;
            Ok(())
        }
    }
}
