//! Shared test harness: the function's real HTTP clients against the strict fake Jira,
//! which also serves the Secrets Manager call; events; a log capture.
//!
//! Every construction of the app is here, and every test implementation of the crate's
//! traits is in `adapters`, so that a change of the crate's API is adapted in one place.

pub mod adapters;

use detection_jira::deliver::Deliverer;
use detection_jira::failure::Failure;
use detection_jira::handler::{handle, App, MetricsSink};
use detection_jira::hosts::AllowedHosts;
use detection_jira::jira::memory::MemoryJira;
use detection_jira::jira::Deployment;
use detection_jira::jira::{JiraApi, JiraHttp};
use detection_jira::ledger::{system_clock, Clock, DynamoLedger, Ledger, MemoryLedger};
use detection_jira::queue::{NoQueue, Queue, Sqs};
use detection_jira::secrets::{SecretCache, SecretSource, SecretsManager};
use fake_jira::{Config, FakeJira, Flavor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Recognisable fake credentials: tests assert they never show up in output.
pub const TOKEN: &str = "FAKE-TOKEN-7c1d9e-do-not-log";
pub const USER: &str = "secops-bot@acme.example";
pub const SECRET_ID: &str = "jira/secops";

pub const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:alerts";
pub const FIFO_QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:alerts.fifo";

/// The app as `main` builds it: the reqwest Jira client and Secrets Manager through the SDK.
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

/// SQS through the SDK, at the fake Jira (which records visibility changes).
pub fn sqs_of(jira: &FakeJira) -> Arc<dyn Queue> {
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDFAKE", "fake", None, None, "tests"))
        .endpoint_url(&jira.base_url)
        .build();
    Arc::new(Sqs::new(aws_sdk_sqs::Client::from_conf(conf)))
}

/// A fake Jira that knows `USER`/`TOKEN` and serves the secret `SECRET_ID`.
pub async fn fake(flavor: Flavor) -> FakeJira {
    let mut config = Config::standard(flavor);
    config.users.insert(USER.into(), TOKEN.into());
    config.secrets.insert(SECRET_ID.into(), TOKEN.into());
    FakeJira::start(config).await
}

/// The one place the app is put together (with a per-container ledger unless given one).
fn assemble<J: JiraApi, S: SecretSource>(
    jira: J,
    secrets: S,
    allowed: &str,
    max_concurrency: usize,
    metrics: MetricsSink,
    queue: Arc<dyn Queue>,
) -> Arc<App<J, S>> {
    let ledger = Ledger::Memory(MemoryLedger::new(system_clock(), Duration::from_secs(60)));
    assemble_with(
        jira,
        secrets,
        allowed,
        max_concurrency,
        metrics,
        ledger,
        queue,
    )
}

fn assemble_with<J: JiraApi, S: SecretSource>(
    jira: J,
    secrets: S,
    allowed: &str,
    max_concurrency: usize,
    metrics: MetricsSink,
    ledger: Ledger,
    queue: Arc<dyn Queue>,
) -> Arc<App<J, S>> {
    Arc::new(App {
        queue,
        deliverer: Deliverer::new(
            jira,
            SecretCache::new(secrets, Duration::from_secs(300)),
            AllowedHosts::parse(allowed).unwrap(),
            ledger,
        ),
        max_concurrency,
        metrics,
    })
}

/// A container of its own with the given ledger (e.g. one DynamoDB table shared by several).
pub fn app_with_ledger(jira: &FakeJira, ledger: Ledger) -> Arc<TestApp> {
    assemble_with(
        JiraHttp::new().unwrap(),
        secrets_from(jira),
        "127.0.0.1",
        10,
        no_metrics(),
        ledger,
        sqs_of(jira),
    )
}

fn no_metrics() -> MetricsSink {
    Arc::new(|_| {})
}

fn secrets_from(jira: &FakeJira) -> SecretsManager {
    SecretsManager::new(secrets_client(&jira.base_url))
}

/// The app as `main` builds it, with secrets served by `jira` and loopback allowed.
pub fn app(jira: &FakeJira) -> Arc<TestApp> {
    app_allowing(jira, "127.0.0.1")
}

/// The app with the Atlassian gateway at `gateway` (`ATLASSIAN_API_URL` and
/// `ATLASSIAN_AUTH_URL` both): a container of its own.
pub fn app_with_gateway(jira: &FakeJira, gateway: &str) -> Arc<TestApp> {
    let ledger = Ledger::Memory(MemoryLedger::new(system_clock(), Duration::from_secs(60)));
    Arc::new(App {
        deliverer: Deliverer::new(
            JiraHttp::new().unwrap(),
            SecretCache::new(secrets_from(jira), Duration::from_secs(300)),
            AllowedHosts::parse(&jira.base_url.replace("http://", "")).unwrap(),
            ledger,
        )
        .with_gateway(detection_jira::gateway::Gateway::new(gateway, gateway).unwrap()),
        max_concurrency: 10,
        metrics: no_metrics(),
        queue: sqs_of(jira),
    })
}

/// The app with its own `ALLOWED_JIRA_HOSTS`.
pub fn app_allowing(jira: &FakeJira, allowed: &str) -> Arc<TestApp> {
    assemble(
        JiraHttp::new().unwrap(),
        secrets_from(jira),
        allowed,
        10,
        no_metrics(),
        sqs_of(jira),
    )
}

/// The app with secrets read through `client` (e.g. a moto server).
pub fn app_reading_secrets_through(client: aws_sdk_secretsmanager::Client) -> Arc<TestApp> {
    assemble(
        JiraHttp::new().unwrap(),
        SecretsManager::new(client),
        "127.0.0.1",
        4,
        no_metrics(),
        Arc::new(NoQueue),
    )
}

/// One message at a time, with its EMF metric lines captured.
pub fn sequential_app_capturing_metrics(
    jira: &FakeJira,
) -> (Arc<TestApp>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let app = assemble(
        JiraHttp::new().unwrap(),
        secrets_from(jira),
        "127.0.0.1",
        1,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string())),
        sqs_of(jira),
    );
    (app, lines)
}

/// The app with the real HTTP client wrapped by `wrap` (a seam the handler is generic over).
pub fn app_wrapping_http<J: JiraApi>(
    jira: &FakeJira,
    wrap: impl FnOnce(JiraHttp) -> J,
) -> Arc<App<J, SecretsManager>> {
    assemble(
        wrap(JiraHttp::new().unwrap()),
        secrets_from(jira),
        "127.0.0.1",
        4,
        no_metrics(),
        sqs_of(jira),
    )
}

/// The in-memory app: the crate's in-memory Jira (Cloud) and secrets, no sockets at all,
/// for tests on tokio's paused clock (which would otherwise jump ahead while a task waits
/// on a real socket). Script the Jira through `app.deliverer.jira()`.
pub fn in_memory_app() -> Arc<MemoryApp> {
    let secrets = Mutex::new(HashMap::from([(SECRET_ID.to_string(), TOKEN.to_string())]));
    assemble(
        MemoryJira::new(Deployment::Cloud, TOKEN),
        secrets,
        "127.0.0.1",
        10,
        no_metrics(),
        Arc::new(NoQueue),
    )
}

pub type MemoryApp = App<MemoryJira, Mutex<HashMap<String, String>>>;

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

/// A distinct run of the sample detection (search id `srch-{n}`).
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

/// An SQS batch of runs `n` of the sample detection, message ids `m{n}`.
pub fn sqs_of_runs(base_url: &str, runs: std::ops::Range<usize>) -> Value {
    let bodies: Vec<(String, String)> = runs
        .map(|n| (format!("m{n}"), run(base_url, n).to_string()))
        .collect();
    let refs: Vec<(&str, String)> = bodies
        .iter()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    sqs(&refs, QUEUE)
}

pub fn eventbridge(detail: Value) -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "Detection Alert", "source": "detections",
        "account": "111122223333", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": detail
    })
}

pub async fn invoke<J: JiraApi, S: SecretSource>(
    app: &Arc<App<J, S>>,
    event: Value,
) -> Result<Value, Failure> {
    invoke_within(app, event, Duration::from_secs(60)).await
}

/// Invokes with `budget` until the cutoff (on tokio's clock, paused or not).
pub async fn invoke_within<J: JiraApi, S: SecretSource>(
    app: &Arc<App<J, S>>,
    event: Value,
    budget: Duration,
) -> Result<Value, Failure> {
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

/// The paths Jira received, in order.
pub fn paths(jira: &FakeJira) -> Vec<String> {
    jira.requests().into_iter().map(|r| r.path).collect()
}

/// The statuses Jira answered to requests whose path ends with `suffix`, in order.
pub fn statuses(jira: &FakeJira, suffix: &str) -> Vec<u16> {
    jira.requests()
        .into_iter()
        .filter(|r| r.path.ends_with(suffix))
        .map(|r| r.status)
        .collect()
}

/// Captures every log line written while the guard lives (current-thread tests only: the
/// subscriber is the thread's default).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        // tracing caches each callsite's interest process-wide, and while one dispatcher is
        // registered it computes it from the default of whichever thread first reaches the
        // callsite: a parallel test's thread, without a subscriber, caches "never" and this
        // capture misses the event (tokio-rs/tracing#3611; seen here with --test-threads 8).
        // A global subscriber that writes nothing gives every thread a default interested in
        // everything; the rebuild repairs what was cached before.
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
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
fn token_forms() -> Vec<String> {
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

/// A moto server on loopback (Secrets Manager, DynamoDB), killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python with moto installed (`.venv`, or `MOTO_PYTHON`).
fn moto_python() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!("moto not found: run `make deps` (installs moto[server] into .venv) or set MOTO_PYTHON");
}

/// moto's server behind one lock (`tests/moto_serial.py`): DynamoDB's conditional writes are
/// atomic, moto's threaded server's are not.
pub async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/moto_serial.py");
    let child = Command::new(moto_python())
        .arg(script)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    // Owned by the guard at once, so that every path below kills it.
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {}", moto.url);
}

/// A DynamoDB client for `endpoint` (moto), as `main` builds it with dummy credentials.
pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamo_config(endpoint).build())
}

fn dynamo_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDFAKE", "fake", None, None, "tests"))
        .endpoint_url(endpoint)
}

/// The same client with seeded faults: a share of requests fails before it is sent, and a
/// share after DynamoDB acted on it (the answer lost: a claim or record that did happen).
pub fn flaky_dynamo_client(
    endpoint: &str,
    seed: u64,
    before: f64,
    after: f64,
) -> aws_sdk_dynamodb::Client {
    let faults = FlakyDynamo {
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        before,
        after,
        skip_next: Mutex::new(0),
        lose_next: Mutex::new(0),
    };
    aws_sdk_dynamodb::Client::from_conf(dynamo_config(endpoint).interceptor(faults).build())
}

/// A client that loses the answers of its first `n` requests (which DynamoDB did handle).
pub fn dynamo_client_losing_answers(endpoint: &str, n: u32) -> aws_sdk_dynamodb::Client {
    dynamo_client_losing_answers_after(endpoint, 0, n)
}

/// A client that answers its first `skip` requests, then loses the answers of `n`.
pub fn dynamo_client_losing_answers_after(
    endpoint: &str,
    skip: u32,
    n: u32,
) -> aws_sdk_dynamodb::Client {
    let faults = FlakyDynamo {
        rng: Mutex::new(fastrand::Rng::with_seed(0)),
        before: 0.0,
        after: 0.0,
        skip_next: Mutex::new(skip),
        lose_next: Mutex::new(n),
    };
    aws_sdk_dynamodb::Client::from_conf(dynamo_config(endpoint).interceptor(faults).build())
}

#[derive(Debug)]
struct FlakyDynamo {
    rng: Mutex<fastrand::Rng>,
    before: f64,
    after: f64,
    /// Answers to let through before losing `lose_next`.
    skip_next: Mutex<u32>,
    /// Answers still to lose, whatever the dice say.
    lose_next: Mutex<u32>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl FlakyDynamo {
    fn roll(&self, share: f64, what: &str) -> Result<(), BoxError> {
        if self.rng.lock().unwrap().f64() < share {
            return Err(what.into());
        }
        Ok(())
    }
}

impl aws_sdk_dynamodb::config::Intercept for FlakyDynamo {
    fn name(&self) -> &'static str {
        "FlakyDynamo"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), BoxError> {
        self.roll(self.before, "injected: connection refused")
    }

    fn read_before_deserialization(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let mut skip = self.skip_next.lock().unwrap();
        if *skip > 0 {
            *skip -= 1;
            return Ok(());
        }
        drop(skip);
        let mut lose = self.lose_next.lock().unwrap();
        if *lose > 0 {
            *lose -= 1;
            return Err("injected: the answer was lost".into());
        }
        drop(lose);
        self.roll(
            self.after,
            "injected: connection reset after the request was handled",
        )
    }
}

/// The idempotency table as the SAM template makes it (key `id`), under a fresh name.
pub async fn ledger_table(db: &aws_sdk_dynamodb::Client) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let name = format!("ledger-{:08x}", fastrand::u32(..));
    db.create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the ledger table in moto");
    name
}

/// A wall clock that tests move by hand, shared by the ledgers of several containers.
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::atomic::AtomicU64>);

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock(Arc::new(std::sync::atomic::AtomicU64::new(
            1_800_000_000_000,
        )))
    }

    pub fn clock(&self) -> Clock {
        let now = self.0.clone();
        Arc::new(move || now.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn advance(&self, by: Duration) {
        self.0
            .fetch_add(by.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A container's DynamoDB ledger on `table`, on the shared `clock`.
pub fn dynamo_ledger(db: &aws_sdk_dynamodb::Client, table: &str, clock: &ManualClock) -> Ledger {
    Ledger::Dynamo(DynamoLedger::new(
        db.clone(),
        table.to_string(),
        clock.clock(),
        Duration::from_secs(60),
    ))
}
