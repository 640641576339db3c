//! CPU per alert for the pure part: parse and validate the alert, build the issue, render
//! the request body (ADF and wiki). `cargo bench --bench build_issue`.

use criterion::{criterion_group, criterion_main, Criterion};
use detection_jira::alert::{triage, Triage};
use detection_jira::issue::{build_issue, ApiFlavor};
use serde_json::{json, Value};
use std::hint::black_box;

fn alert(description: String) -> Value {
    json!({
        "destination": {
            "instance_url": "https://acme.atlassian.net", "email": "bot@acme.example",
            "api_token_secret": "jira/secops", "project_key": "SEC", "priority_map": {},
            "labels": ["team-blue"], "custom_fields": {"severity": "customfield_10051"}
        },
        "detection": {
            "id": 4211, "name": "Impossible travel for privileged user", "description": description,
            "severity": "HIGH", "outcome": "MATCHED", "match_count": 17, "run_type": "SCHEDULED",
            "threshold": {"operator": "GREATER_THAN", "value": 0, "eagerness": "EAGER"},
            "exhaustiveness": "EXHAUSTIVE", "search_id": "srch-8f2c", "trace_id": "1-6543-abcdef",
            "ran_at": "2026-11-24T10:00:00Z",
            "time_range": {"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T10:00:00Z"},
            "replay_url": "https://app.example.com/replay/srch-8f2c", "errors": ["partial results"]
        }
    })
}

fn parse_and_build(body: &str, flavor: ApiFlavor) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    match triage(&v).unwrap() {
        Triage::Deliver(a) => {
            build_issue(&a, &["detection-run-0123456789abcdef0123".into()]).to_body(flavor)
        }
        Triage::Skip { .. } => unreachable!(),
    }
}

fn bench(c: &mut Criterion) {
    let typical = alert("Sign-ins from two countries within 10 minutes.".into()).to_string();
    let large =
        alert("Sign-ins from two countries within 10 minutes. ".repeat(100_000 / 48)).to_string();
    for (name, body) in [("typical", &typical), ("100KB", &large)] {
        for flavor in [ApiFlavor::V3, ApiFlavor::V2] {
            c.bench_function(&format!("parse+build {name} {flavor:?}"), |b| {
                b.iter(|| parse_and_build(black_box(body), flavor))
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
