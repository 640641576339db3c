//! Fault-injection soak: alerts in batches of 10 through a simulated SQS queue that
//! redelivers reported failures up to maxReceiveCount 5 and then dead-letters them, against
//! the fake Jira with seeded random faults: 10% transient (429 Retry-After 1, 503, 502) and
//! 2% ambiguous creates (created, then never answered: the client's 1 s timeout decides,
//! with no answer to race it).
//!
//! `soak_short` (200 alerts) runs with the suite; `soak_full` (1,000 alerts) on demand:
//!     cargo test --test it soak_full -- --ignored --nocapture

use crate::common::*;
use detection_jira::alert::{triage, Triage};
use detection_jira::deliver::fingerprint_label;
use fake_jira::{Config, FakeJira, Flavor, RandomFaults};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const MAX_RECEIVE_COUNT: u32 = 5;

struct Msg {
    id: String,
    body: Value,
    receives: u32,
}

struct Report {
    alerts: usize,
    issues: usize,
    duplicates: usize,
    lost: usize,
    dead_lettered: usize,
    redeliveries: usize,
    wall: Duration,
}

async fn soak(alerts: usize, seed: u64) -> Report {
    let mut config = Config::standard(Flavor::Cloud);
    config.users.insert(USER.into(), TOKEN.into());
    config.secrets.insert(SECRET_ID.into(), TOKEN.into());
    config.random_faults = Some(RandomFaults {
        seed,
        transient: 0.10,
        ambiguous: 0.02,
    });
    let jira = FakeJira::start(config).await;
    let app = app(&jira);

    let mut queue: VecDeque<Msg> = (0..alerts)
        .map(|n| {
            let mut a = run(&jira.base_url, n);
            a["detection"]["id"] = json!(100_000 + n);
            a["destination"]["timeout"] = json!(1);
            Msg {
                id: format!("msg-{n}"),
                body: a,
                receives: 0,
            }
        })
        .collect();
    let fingerprints: Vec<String> = queue
        .iter()
        .map(|m| match triage(&m.body).unwrap() {
            Triage::Deliver(a) => fingerprint_label(&a),
            Triage::Skip { .. } => unreachable!(),
        })
        .collect();

    let started = Instant::now();
    let mut dead: Vec<Msg> = Vec::new();
    let mut redeliveries = 0;
    while !queue.is_empty() {
        let batch: Vec<Msg> = (0..10).filter_map(|_| queue.pop_front()).collect();
        let bodies: Vec<(&str, String)> = batch
            .iter()
            .map(|m| (m.id.as_str(), m.body.to_string()))
            .collect();
        let answer = invoke_within(&app, sqs(&bodies, QUEUE), Duration::from_secs(60))
            .await
            .unwrap();
        let failed = failures(&answer);
        for mut m in batch {
            m.receives += 1;
            if !failed.contains(&m.id) {
                continue;
            }
            if m.receives >= MAX_RECEIVE_COUNT {
                dead.push(m);
            } else {
                redeliveries += 1;
                queue.push_back(m);
            }
        }
    }
    let wall = started.elapsed();

    let mut per_fingerprint: HashMap<String, usize> = HashMap::new();
    let created = jira.created();
    for issue in &created {
        for label in issue.fields["labels"].as_array().unwrap() {
            let l = label.as_str().unwrap();
            if l.starts_with("detection-run-") {
                *per_fingerprint.entry(l.to_string()).or_default() += 1;
            }
        }
    }
    let dead_ids: Vec<usize> = dead.iter().map(|m| m.id[4..].parse().unwrap()).collect();
    let lost = (0..alerts)
        .filter(|n| !per_fingerprint.contains_key(&fingerprints[*n]) && !dead_ids.contains(n))
        .count();
    let report = Report {
        alerts,
        issues: created.len(),
        duplicates: per_fingerprint.values().map(|c| c - 1).sum(),
        lost,
        dead_lettered: dead.len(),
        redeliveries,
        wall,
    };
    println!(
        "soak (seed {seed}): alerts {}, issues {}, duplicates {}, lost {}, dead-lettered {}, redeliveries {}, wall time {:.1} s",
        report.alerts,
        report.issues,
        report.duplicates,
        report.lost,
        report.dead_lettered,
        report.redeliveries,
        report.wall.as_secs_f64()
    );
    report
}

fn assert_guarantees(r: &Report) {
    assert_eq!(r.duplicates, 0, "duplicates");
    assert_eq!(r.lost, 0, "lost alerts");
    assert_eq!(
        r.dead_lettered, 0,
        "transient faults only: nothing may be dead-lettered"
    );
    assert_eq!(r.issues, r.alerts);
    assert!(
        r.redeliveries > 0,
        "the faults did bite (ambiguous creates are redelivered)"
    );
}

#[tokio::test]
async fn soak_short() {
    assert_guarantees(&soak(200, 7).await);
}

#[tokio::test]
#[ignore = "about two minutes; run with --ignored --nocapture"]
async fn soak_full() {
    assert_guarantees(&soak(1_000, 42).await);
}
