#![recursion_limit = "256"]
//! Lambda entry point: builds every client once and reuses them across invocations.

use detection_jira::config::Config;
use detection_jira::deliver::Deliverer;
use detection_jira::handler::{cutoff_for, handle, App, InvocationError};
use detection_jira::jira::JiraHttp;
use detection_jira::secrets::{SecretCache, SecretsManager};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON when AWS_LAMBDA_LOG_FORMAT=JSON (the SAM template sets it).
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|k| std::env::var(k).ok()).map_err(|e| {
        tracing::error!(error = %e, "bad configuration");
        e
    })?;
    tracing::info!(allowed_hosts = %config.allowed_hosts, max_concurrency = config.max_concurrency, "starting");
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
    let app = Arc::new(App {
        deliverer: Deliverer::new(
            JiraHttp::new()?,
            SecretCache::new(secrets, config.secret_ttl),
            config.allowed_hosts,
        ),
        max_concurrency: config.max_concurrency,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let cutoff = cutoff_for(event.context.deadline());
            handle(app, event.payload, cutoff).await
        }
    }))
    .await
}

#[allow(dead_code)]
fn _assert_error_type(e: InvocationError) -> lambda_runtime::Diagnostic {
    e.into()
}
