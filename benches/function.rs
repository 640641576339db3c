//! Whole-function benchmark of the release binary (built by `cargo bench` with the release
//! profile), run as Lambda runs it against a Runtime API stand-in, the fake Jira (with
//! injected latency) and the fake's Secrets Manager. Prints one table of figures.
//!
//!     cargo bench --bench function            (BENCH_RUNS=10 by default)

use fake_jira::runtime::{function_command, RuntimeApi};
use fake_jira::{Config, FakeJira, Flavor};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: BENCH_BINARY (scripts/bench.sh builds target/release/detection-jira
/// with production features only), else the one cargo built for this bench.
fn binary() -> String {
    std::env::var("BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_detection-jira").to_string())
}
const USER: &str = "bench@acme.example";
const TOKEN: &str = "FAKE-bench-token";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn jira(latency: Duration) -> FakeJira {
    let mut c = Config::standard(Flavor::Cloud);
    c.users.insert(USER.into(), TOKEN.into());
    c.secrets.insert("jira/bench".into(), TOKEN.into());
    c.latency = latency;
    FakeJira::start(c).await
}

fn start(runtime: &RuntimeApi, jira: &FakeJira, concurrency: usize) -> (Running, Instant) {
    start_with(runtime, jira, concurrency, &[])
}

fn start_with(
    runtime: &RuntimeApi,
    jira: &FakeJira,
    concurrency: usize,
    env: &[(&str, &str)],
) -> (Running, Instant) {
    let started = Instant::now();
    let child = function_command(&binary(), runtime)
        .envs(env.iter().copied())
        .env(
            "ALLOWED_JIRA_HOSTS",
            format!("127.0.0.1:{}", jira.addr.port()),
        )
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &jira.base_url)
        .env("MAX_CONCURRENCY", concurrency.to_string())
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the function");
    (Running(child), started)
}

fn alert(base: &str, n: usize, description_bytes: usize) -> Value {
    json!({
        "destination": {"instance_url": base, "email": USER, "api_token_secret": "jira/bench", "project_key": "SEC", "priority_map": {}, "labels": ["bench"]},
        "detection": {
            "id": n, "name": format!("Benchmark detection {n}"), "severity": "HIGH", "outcome": "MATCHED",
            "description": "Sign-ins from two countries within 10 minutes. ".repeat(description_bytes / 48 + 1),
            "match_count": 17, "run_type": "SCHEDULED", "search_id": format!("srch-{n}-{}", fastrand::u64(..)),
            "ran_at": "2026-11-24T10:00:00Z", "replay_url": "https://app.example.com/replay/x"
        }
    })
}

fn sqs(alerts: &[Value]) -> Value {
    let records: Vec<Value> = alerts
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"messageId": format!("m{i}"), "body": a.to_string(), "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:alerts", "attributes": {}, "messageAttributes": {}}))
        .collect();
    json!({"Records": records})
}

/// The same batch from a FIFO queue, each message in a group of its own.
fn sqs_fifo(alerts: &[Value]) -> Value {
    let mut event = sqs(alerts);
    for (i, r) in event["Records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        r["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:111122223333:alerts.fifo");
        r["attributes"] = json!({"MessageGroupId": format!("g{i}")});
    }
    event
}

/// The bare bootstrap (`perf`'s `bare-bootstrap`, built by scripts/bench.sh), if built.
fn bare_binary() -> Option<String> {
    let path = std::env::var("BENCH_BARE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/bare-bootstrap").to_string()
    });
    std::path::Path::new(&path).exists().then_some(path)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn row(what: &str, value: String, target: &str) {
    println!("| {what} | {value} | {target} |");
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    println!("\n| measure | value | target |\n|---|---|---|");

    // Cold start: process start to the first poll, and to the end of the first invocation
    // (secret fetch, serverInfo, search, create against the local fake); the same for a
    // bare `lambda_runtime` bootstrap answering `{}` (the floor), run alternately.
    let bare = bare_binary();
    let (mut to_poll, mut to_first) = (Vec::new(), Vec::new());
    let (mut bare_poll, mut bare_first) = (Vec::new(), Vec::new());
    for n in 0..runs {
        let j = jira(Duration::ZERO).await;
        let rt = RuntimeApi::start().await;
        let (f, started) = start(&rt, &j, 10);
        let answer = rt
            .invoke(alert(&j.base_url, n, 300), Duration::from_secs(30))
            .await;
        assert_eq!(answer.result.as_ref().unwrap()["status"], "created");
        to_poll.push(ms(rt.first_poll().unwrap().duration_since(started)));
        to_first.push(ms(answer.finished.duration_since(started)));
        drop(f);
        if let Some(bare) = &bare {
            let rt = RuntimeApi::start().await;
            let started = Instant::now();
            let _b = Running(
                function_command(bare, &rt)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the bare bootstrap"),
            );
            let answer = rt.invoke(json!({"n": n}), Duration::from_secs(30)).await;
            assert_eq!(answer.result.unwrap(), json!({}));
            bare_poll.push(ms(rt.first_poll().unwrap().duration_since(started)));
            bare_first.push(ms(answer.finished.duration_since(started)));
        }
    }
    let (poll, first) = (median(to_poll), median(to_first));
    row(
        "cold start: process start to first runtime poll (median)",
        format!("{poll:.1} ms"),
        "< 15 ms",
    );
    row(
        "cold start: process start to end of first invocation (median)",
        format!("{first:.1} ms"),
        "-",
    );
    if bare.is_some() {
        let (bp, bf) = (median(bare_poll), median(bare_first));
        row(
            "bare lambda_runtime bootstrap: to first poll / to end of first invocation",
            format!("{bp:.1} ms / {bf:.1} ms"),
            "-",
        );
        row(
            "function / bare bootstrap, to first poll",
            format!("{:.2}", poll / bp),
            "<= 2",
        );
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("cold") {
        return;
    }

    // Critical path: fresh container, one batch of 10, Jira answering in 200 ms.
    let latency = Duration::from_millis(200);
    let mut ratios = Vec::new();
    let mut per_alert = 0.0;
    for _ in 0..runs.min(5) {
        let j = jira(latency).await;
        let rt = RuntimeApi::start().await;
        let (_f, _) = start(&rt, &j, 10);
        let batch: Vec<Value> = (0..10).map(|n| alert(&j.base_url, n, 300)).collect();
        let sent = Instant::now();
        let answer = rt.invoke(sqs(&batch), Duration::from_secs(60)).await;
        let took = answer.finished.duration_since(sent);
        assert_eq!(answer.result.unwrap()["batchItemFailures"], json!([]));
        ratios.push(took.as_secs_f64() / (3.0 * latency.as_secs_f64()));
        let reqs = j.requests();
        let server_info = reqs
            .iter()
            .filter(|r| r.path.ends_with("serverInfo"))
            .count();
        per_alert = (reqs.len() - server_info) as f64 / 10.0;
        assert_eq!(server_info, 1);
    }
    row(
        "Jira requests per alert (+ serverInfo once per instance)",
        format!("{per_alert:.1} + 1"),
        "2 + 1",
    );
    row(
        "fresh container, batch of 10, 200 ms Jira: time / 3 round trips",
        format!("{:.2}", median(ratios)),
        "<= 1.2",
    );

    // FIFO: a batch of 10 messages in 10 groups against the same batch from a standard
    // queue, both in a warm container.
    let mut fifo_ratios = Vec::new();
    for round in 0..runs.min(5) {
        let j = jira(latency).await;
        let rt = RuntimeApi::start().await;
        let (_f, _) = start(&rt, &j, 10);
        let warm = rt
            .invoke(
                sqs(&[alert(&j.base_url, 7_777_777, 300)]),
                Duration::from_secs(60),
            )
            .await;
        assert_eq!(warm.result.unwrap()["batchItemFailures"], json!([]));
        let mut took = Vec::new();
        for (k, fifo) in [(0, false), (1, true)] {
            let batch: Vec<Value> = (0..10)
                .map(|n| alert(&j.base_url, 1000 * (round + 1) + 100 * k + n, 300))
                .collect();
            let event = if fifo { sqs_fifo(&batch) } else { sqs(&batch) };
            let sent = Instant::now();
            let answer = rt.invoke(event, Duration::from_secs(60)).await;
            took.push(answer.finished.duration_since(sent).as_secs_f64());
            assert_eq!(answer.result.unwrap()["batchItemFailures"], json!([]));
        }
        fifo_ratios.push(took[1] / took[0]);
    }
    row(
        "FIFO batch of 10 in 10 groups / the same batch from a standard queue (200 ms Jira)",
        format!("{:.2}", median(fifo_ratios)),
        "<= 1.2",
    );

    // Warm container: 100 alerts, MAX_CONCURRENCY=10, 200 ms Jira; plus connections,
    // secret fetches and peak memory with 30 KB descriptions.
    let j = jira(latency).await;
    let rt = RuntimeApi::start().await;
    let (f, _) = start(&rt, &j, 10);
    let warmup = rt
        .invoke(
            sqs(&[alert(&j.base_url, 999_999, 300)]),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(warmup.result.unwrap()["batchItemFailures"], json!([]));
    let before = j.requests().len();
    let batch: Vec<Value> = (0..100).map(|n| alert(&j.base_url, n, 30_000)).collect();
    let sent = Instant::now();
    let answer = rt.invoke(sqs(&batch), Duration::from_secs(120)).await;
    let took = answer.finished.duration_since(sent);
    assert_eq!(answer.result.unwrap()["batchItemFailures"], json!([]));
    row(
        "warm container, 100 alerts, MAX_CONCURRENCY=10, 200 ms Jira: time / (10 x 2 round trips)",
        format!("{:.2}", took.as_secs_f64() / (20.0 * latency.as_secs_f64())),
        "<= 1.2",
    );
    let ports: HashSet<u16> = j.requests()[before..].iter().map(|r| r.peer_port).collect();
    let all_ports: HashSet<u16> = j.requests().iter().map(|r| r.peer_port).collect();
    row(
        "TCP connections to Jira for those 100 alerts (whole container)",
        format!("{} ({})", ports.len(), all_ports.len()),
        "<= 10",
    );
    row(
        "GetSecretValue calls in the container (TTL 300 s)",
        j.secret_calls().to_string(),
        "1",
    );
    row(
        "peak RSS after 100 alerts with 30 KB descriptions",
        format!("{:.1} MB", peak_rss_kb(f.0.id()) as f64 / 1024.0),
        "< 40 MB",
    );
    drop(f);

    ledger_requests().await;

    let size = std::fs::metadata(binary()).map(|m| m.len()).unwrap_or(0);
    row(
        &format!("binary under test, {} (stripped)", std::env::consts::ARCH),
        format!("{:.1} MB", size as f64 / 1e6),
        "-",
    );
    // `make build` output, when present (cargo lambda build --release --arm64).
    for (path, target) in [
        (
            "target/aarch64-unknown-linux-gnu/release/detection-jira",
            "< 10 MB",
        ),
        ("target/lambda/detection-jira/bootstrap.zip", "-"),
    ] {
        if let Ok(m) = std::fs::metadata(path) {
            row(
                &format!("arm64: {path}"),
                format!("{:.1} MB", m.len() as f64 / 1e6),
                target,
            );
        }
    }
}

/// moto's DynamoDB on loopback (`make deps` installs it), with the ledger table created.
struct Moto(Child, String);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn moto_with_table(table: &str) -> Option<Moto> {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = std::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto(child, format!("http://127.0.0.1:{port}"));
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(&moto.1)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .ok()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .ok()?,
        )
        .send()
        .await
        .ok()?;
    Some(moto)
}

/// With the idempotency table: Jira requests per new alert (the create only) and per
/// redelivered alert (none: the ledger answers).
async fn ledger_requests() {
    let Some(moto) = moto_with_table("bench-ledger").await else {
        row(
            "Jira requests per alert with the ledger",
            "skipped: moto_server not found (make deps)".into(),
            "-",
        );
        return;
    };
    let j = jira(Duration::ZERO).await;
    let rt = RuntimeApi::start().await;
    let env = [
        ("IDEMPOTENCY_TABLE", "bench-ledger"),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.1.as_str()),
    ];
    let (_f, _) = start_with(&rt, &j, 10, &env);
    let batch: Vec<Value> = (0..10).map(|n| alert(&j.base_url, n, 300)).collect();
    let answer = rt.invoke(sqs(&batch), Duration::from_secs(60)).await;
    assert_eq!(answer.result.unwrap()["batchItemFailures"], json!([]));
    let jira_calls = |j: &FakeJira| {
        j.requests()
            .iter()
            .filter(|r| !r.path.ends_with("serverInfo"))
            .count()
    };
    let new = jira_calls(&j);
    let answer = rt.invoke(sqs(&batch), Duration::from_secs(60)).await;
    assert_eq!(answer.result.unwrap()["batchItemFailures"], json!([]));
    let again = jira_calls(&j) - new;
    row(
        "with IDEMPOTENCY_TABLE (moto): Jira requests per new alert",
        format!("{:.1}", new as f64 / 10.0),
        "1.0",
    );
    row(
        "with IDEMPOTENCY_TABLE (moto): Jira requests per redelivered alert",
        format!("{:.1}", again as f64 / 10.0),
        "0",
    );
}
