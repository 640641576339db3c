//! Lambda entry point: builds every client once and reuses them across invocations.

use detection_jira::config::Config;
use detection_jira::deferred::Deferred;
use detection_jira::deliver::Deliverer;
use detection_jira::handler::{cutoff_for, handle, App};
use detection_jira::jira::JiraHttp;
use detection_jira::ledger::{system_clock, DynamoLedger, Ledger, MemoryLedger};
use detection_jira::secrets::{SecretCache, SecretsManager};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON when AWS_LAMBDA_LOG_FORMAT=JSON (the SAM template sets it).
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|k| std::env::var(k).ok()).map_err(|e| {
        tracing::error!(error = %e, "bad configuration");
        e
    })?;
    if config.allowed_hosts.has_wildcard() {
        tracing::warn!(allowed_hosts = %config.allowed_hosts, "ALLOWED_JIRA_HOSTS holds a wildcard: any event may send the token of a secret without instance_url to any host it matches; bind such secrets to their Jira with instance_url");
    }
    tracing::info!(
        allowed_hosts = %config.allowed_hosts,
        max_concurrency = config.max_concurrency,
        idempotency_table = config.idempotency_table.as_deref().unwrap_or("(none: per-container ledger)"),
        "starting"
    );
    // Lambda always sets AWS_REGION; the fallback only spares local runs a confusing error.
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::new("us-east-1"));
    // The AWS config and clients are built in the background while the runtime starts
    // polling (about 2 ms of the cold start); the first secret read waits for what is left.
    let aws_http = detection_jira::roots::aws_http_client()?;
    let aws = Deferred::spawn(async move {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(aws_http)
            .region(region)
            .load()
            .await
    });
    let sdk = aws.clone();
    // Built on first use only: most containers never hold a message.
    let queue = detection_jira::queue::Sqs::lazy(aws.clone());
    let secrets = SecretsManager::deferred(Deferred::spawn(async move {
        aws_sdk_secretsmanager::Client::new(&sdk.get().await)
    }));
    let gateway = config.gateway()?;
    let ledger = match config.idempotency_table {
        Some(table) => Ledger::Dynamo(DynamoLedger::deferred(
            Deferred::spawn(async move { aws_sdk_dynamodb::Client::new(&aws.get().await) }),
            table,
            system_clock(),
            config.takeover,
        )),
        None => Ledger::Memory(MemoryLedger::new(system_clock(), config.takeover)),
    };
    let app = Arc::new(
        App::new(
            Deliverer::new(
                JiraHttp::with_ca_bundle(config.ca_bundle.as_deref())?,
                SecretCache::new(secrets, config.secret_ttl),
                config.allowed_hosts,
                ledger,
            )
            .with_gateway(gateway),
            config.max_concurrency,
        )
        .with_queue(Arc::new(queue)),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let deadline = deadline_of(event.context.deadline);
            tracing::debug!(
                request_id = %event.context.request_id,
                deadline_ms = event.context.deadline,
                "invocation"
            );
            let cutoff = cutoff_for(deadline);
            // Boxed: the delivery future is deep, and naming its type here would exceed the
            // compiler's query depth.
            Box::pin(handle(app, event.payload, cutoff)).await
        }
    }))
    .await
}

/// Lambda sends the deadline in milliseconds since the epoch. Some local emulators
/// (cargo lambda 1.9) send the time budget instead (e.g. 600000): a value before the year
/// 2001 is read as milliseconds from now, so local runs are not failed at once.
fn deadline_of(deadline_ms: u64) -> SystemTime {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if deadline_ms < YEAR_2001_MS {
        SystemTime::now() + Duration::from_millis(deadline_ms)
    } else {
        UNIX_EPOCH + Duration::from_millis(deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_in_both_forms() {
        let now = SystemTime::now();
        let relative = deadline_of(600_000).duration_since(now).unwrap();
        assert!(relative > Duration::from_secs(590) && relative <= Duration::from_secs(601));
        let epoch_ms = (now + Duration::from_secs(3))
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let absolute = deadline_of(epoch_ms).duration_since(now).unwrap();
        assert!(absolute > Duration::from_millis(2_900) && absolute <= Duration::from_secs(3));
    }
}
