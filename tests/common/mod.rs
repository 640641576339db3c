//! Shared test harness: the function's real HTTP clients against the strict fake Jira,
//! which also serves the Secrets Manager call, and a log capture.
#![allow(dead_code)]

use detection_jira::deliver::Deliverer;
use detection_jira::handler::{handle, App, InvocationError};
use detection_jira::hosts::AllowedHosts;
use detection_jira::jira::JiraHttp;
use detection_jira::secrets::{SecretCache, SecretsManager};
use fake_jira::{Config, FakeJira, Flavor};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Recognisable fake credentials: tests assert they never show up in output.
pub const TOKEN: &str = "FAKE-TOKEN-7c1d9e-do-not-log";
pub const USER: &str = "secops-bot@acme.example";
pub const SECRET_ID: &str = "jira/secops";

pub type TestApp = App<JiraHttp, SecretsManager>;

pub fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    secrets_client_in(endpoint, "us-east-1")
}

pub fn secrets_client_in(endpoint: &str, region: &'static str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "AKIDFAKEFAKEFAKE",
            "fake-secret-key",
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

pub async fn fake(flavor: Flavor) -> FakeJira {
    let mut config = Config::standard(flavor);
    config.users.insert(USER.into(), TOKEN.into());
    config.secrets.insert(SECRET_ID.into(), TOKEN.into());
    FakeJira::start(config).await
}

/// The app as `main` builds it, with secrets served by `secrets_from` and the allow-list.
pub fn app_with(
    secrets_from: &FakeJira,
    allowed: &str,
    ttl: Duration,
    concurrency: usize,
) -> Arc<TestApp> {
    Arc::new(App {
        deliverer: Deliverer::new(
            JiraHttp::new().unwrap(),
            SecretCache::new(
                SecretsManager::new(secrets_client(&secrets_from.base_url)),
                ttl,
            ),
            AllowedHosts::parse(allowed).unwrap(),
        ),
        max_concurrency: concurrency,
        metrics: Arc::new(|_| {}),
    })
}

/// The app with its EMF metric lines captured.
pub fn app_capturing_metrics(jira: &FakeJira) -> (Arc<TestApp>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let mut app = Arc::try_unwrap(app(jira)).ok().expect("fresh app");
    app.metrics = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
    (Arc::new(app), lines)
}

pub fn app(jira: &FakeJira) -> Arc<TestApp> {
    app_with(jira, "127.0.0.1", Duration::from_secs(300), 10)
}

pub fn alert(base_url: &str) -> Value {
    json!({
        "destination": {
            "instance_url": base_url,
            "email": USER,
            "api_token_secret": SECRET_ID,
            "project_key": "SEC",
            "priority_map": {},
            "labels": ["team-blue"],
        },
        "detection": {
            "id": 4211,
            "name": "Impossible travel for privileged user",
            "description": "Sign-ins from two countries within 10 minutes.",
            "severity": "HIGH",
            "outcome": "MATCHED",
            "match_count": 17,
            "run_type": "SCHEDULED",
            "threshold": {"operator": "GREATER_THAN", "value": 0, "eagerness": "EAGER"},
            "exhaustiveness": "EXHAUSTIVE",
            "search_id": "srch-8f2c",
            "trace_id": "1-6543-abcdef",
            "ran_at": "2026-11-24T10:00:00Z",
            "time_range": {"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T10:00:00Z"},
            "replay_url": "https://app.example.com/replay/srch-8f2c",
            "errors": []
        }
    })
}

/// A distinct run of the sample detection.
pub fn run(base_url: &str, n: usize) -> Value {
    let mut a = alert(base_url);
    a["detection"]["search_id"] = json!(format!("srch-{n}"));
    a
}

pub fn sqs(bodies: &[(&str, String)], arn: &str) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": "rh",
                "body": body,
                "attributes": {"MessageGroupId": "g1", "ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

pub const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:alerts";
pub const FIFO_QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:alerts.fifo";

pub async fn invoke(app: &Arc<TestApp>, event: Value) -> Result<Value, InvocationError> {
    invoke_within(app, event, Duration::from_secs(60)).await
}

pub async fn invoke_within(
    app: &Arc<TestApp>,
    event: Value,
    budget: Duration,
) -> Result<Value, InvocationError> {
    handle(app.clone(), event, tokio::time::Instant::now() + budget).await
}

pub fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .expect("an SQS answer")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

/// Captures every log line written while the guard lives (current-thread tests only).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (logs, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The token and its Basic-auth forms.
pub fn token_forms() -> Vec<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        TOKEN.to_string(),
        b64.encode(format!("{USER}:{TOKEN}")),
        b64.encode(TOKEN),
    ]
}

pub fn assert_no_token(what: &str, text: &str) {
    for form in token_forms() {
        assert!(
            !text.contains(&form),
            "{what} leaks the token ({form}):\n{text}"
        );
    }
}
