//! Input shapes and batches over real HTTP: SQS batches with exact `batchItemFailures`,
//! EventBridge events, direct invocations, FIFO groups, what one batch costs (secret,
//! serverInfo), garbage and panics confined to their message, EMF metrics.

use crate::common::adapters::PanicsOnBoom;
use crate::common::*;
use fake_jira::{FaultKind, Flavor};
use serde_json::{json, Value};

#[tokio::test]
async fn mixed_sqs_batch_reports_exactly_the_failures() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let base = &jira.base_url;
    let mut not_matched = run(base, 2);
    not_matched["detection"]["outcome"] = json!("NOT_MATCHED");
    let mut disabled = run(base, 3);
    disabled["destination"]["enabled"] = json!(false);
    let mut no_project = run(base, 4);
    no_project["destination"]
        .as_object_mut()
        .unwrap()
        .remove("project_key");
    let batch = sqs(
        &[
            ("m-valid", run(base, 1).to_string()),
            ("m-not-matched", not_matched.to_string()),
            ("m-disabled", disabled.to_string()),
            ("m-malformed", "{not json".to_string()),
            ("m-no-project", no_project.to_string()),
            ("m-envelope", eventbridge(run(base, 6)).to_string()),
        ],
        QUEUE,
    );
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["m-malformed", "m-no-project"]);
    assert_eq!(jira.created().len(), 2, "valid and envelope");
}

#[tokio::test]
async fn eventbridge_direct_invocation_creates_the_issue() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let event = eventbridge(alert(&jira.base_url));
    assert_eq!(invoke(&app, event).await.unwrap()["status"], "created");
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn direct_invocations_answer_skips_and_errors() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["detection"]["outcome"] = json!("NOT_MATCHED");
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "skipped");
    assert!(answer["reason"].as_str().unwrap().contains("NOT_MATCHED"));

    let mut a = alert(&jira.base_url);
    a["destination"]["project_key"] = json!("sec");
    let e = invoke(&app, a).await.unwrap_err();
    assert_eq!(e.class.as_str(), "bad-input");
    assert!(e.message.contains("destination.project_key"), "{e}");

    let e = invoke(&app, json!({"hello": "world"})).await.unwrap_err();
    assert!(e.message.contains("unrecognised input"), "{e}");
    let e = invoke(&app, json!([1])).await.unwrap_err();
    assert_eq!(e.class.as_str(), "bad-input");
    assert!(jira.requests().is_empty());
}

#[tokio::test]
async fn one_secret_fetch_and_one_server_info_for_a_whole_batch() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let answer = invoke(&app, sqs_of_runs(&jira.base_url, 0..10))
        .await
        .unwrap();
    assert!(failures(&answer).is_empty(), "{answer}");
    assert_eq!(jira.secret_calls(), 1);
    assert_eq!(jira.created().len(), 10);
    // Ten alerts at once on a fresh container still detect the deployment once.
    let server_info = paths(&jira)
        .iter()
        .filter(|p| p.ends_with("serverInfo"))
        .count();
    assert_eq!(server_info, 1);
}

#[tokio::test]
async fn fifo_group_stops_after_a_failure() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut bad = run(&jira.base_url, 2);
    bad["destination"]["issue_type"] = json!("Incident");
    let mut event = sqs(
        &[
            ("f1", run(&jira.base_url, 1).to_string()),
            ("f2", bad.to_string()),
            ("f3", run(&jira.base_url, 3).to_string()),
            ("f4", run(&jira.base_url, 4).to_string()),
        ],
        FIFO_QUEUE,
    );
    // f4 is in another group and goes on.
    event["Records"][3]["attributes"]["MessageGroupId"] = json!("g2");
    let answer = invoke(&app, event).await.unwrap();
    assert_eq!(failures(&answer), ["f2", "f3"]);
    // The issues are those of f1 and f4 (runs srch-1 and srch-4); f3 was held back.
    let mut runs_created: Vec<&str> = jira
        .created()
        .iter()
        .map(|i| {
            let d = i.fields["description"].to_string();
            ["srch-1", "srch-3", "srch-4"]
                .into_iter()
                .find(|run| d.contains(&format!("\"{run}\"")))
                .unwrap_or("unknown")
        })
        .collect();
    runs_created.sort();
    assert_eq!(runs_created, ["srch-1", "srch-4"]);
}

/// FIFO message groups run at the same time, each in order: three groups whose first
/// create is rate limited for 7 s take 7 s (tokio's paused clock), not 21.
#[tokio::test(start_paused = true)]
async fn fifo_groups_run_side_by_side_and_each_in_order() {
    use detection_jira::jira::memory::Op;
    use detection_jira::jira::JiraError;
    let app = in_memory_app();
    let jira = app.deliverer.jira();
    for _ in 0..3 {
        jira.fail_next(
            Op::Create,
            JiraError::Throttled {
                status: 429,
                retry_after: Some(std::time::Duration::from_secs(7)),
            },
        );
    }
    let base = "http://127.0.0.1:9";
    let ids = ["a1", "b1", "c1", "a2", "b2", "c2"];
    let bodies: Vec<(&str, String)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (*id, run(base, n).to_string()))
        .collect();
    let mut event = sqs(&bodies, FIFO_QUEUE);
    for (i, id) in ids.iter().enumerate() {
        event["Records"][i]["attributes"]["MessageGroupId"] = json!(&id[..1]);
    }
    let started = tokio::time::Instant::now();
    let answer = invoke(&app, event).await.unwrap();
    assert_eq!(failures(&answer), Vec::<String>::new());
    assert_eq!(
        tokio::time::Instant::now() - started,
        std::time::Duration::from_secs(7)
    );
    // Within each group, the first message's issue was created before the second's.
    let summaries: Vec<String> = jira
        .issues()
        .iter()
        .map(|i| i.fields["description"].to_string())
        .collect();
    for (first, second) in [(0, 3), (1, 4), (2, 5)] {
        let at = |n: usize| {
            summaries
                .iter()
                .position(|d| d.contains(&format!("srch-{n}\"")))
                .unwrap()
        };
        assert!(at(first) < at(second), "group order kept");
    }
}

#[tokio::test]
async fn garbage_in_one_message_fails_only_that_message() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_name = {
        let mut a = run(&jira.base_url, 2);
        a["detection"]["name"] = json!("n".repeat(1_000_000));
        a["detection"]["errors"] = json!(vec!["e"; 100_000]);
        a
    };
    let batch = sqs(
        &[
            ("ok", run(&jira.base_url, 1).to_string()),
            ("deep", deep),
            ("huge", huge_name.to_string()),
            ("null", "null".into()),
        ],
        QUEUE,
    );
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["deep", "null"]);
    let huge = jira
        .created()
        .into_iter()
        .find(|i| {
            i.fields["summary"]
                .as_str()
                .unwrap()
                .starts_with("[HIGH] nnn")
        })
        .unwrap();
    assert_eq!(
        huge.fields["summary"]
            .as_str()
            .unwrap()
            .encode_utf16()
            .count(),
        255
    );
}

#[tokio::test]
async fn emf_metrics_count_a_mixed_batch() {
    let jira = fake(Flavor::Cloud).await;
    // One at a time, so the duplicate comes after the create.
    let (app, lines) = sequential_app_capturing_metrics(&jira);
    let base = &jira.base_url;
    let mut skipped = run(base, 2);
    skipped["detection"]["outcome"] = json!("NOT_MATCHED");
    let mut rejected = run(base, 3);
    rejected["destination"]["issue_type"] = json!("Incident");
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 503,
            retry_after: Some(0),
        },
    );
    let batch = sqs(
        &[
            ("created", run(base, 1).to_string()),
            ("duplicate", run(base, 1).to_string()),
            ("skipped", skipped.to_string()),
            ("rejected", rejected.to_string()),
            ("malformed", "{".into()),
        ],
        QUEUE,
    );
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["rejected", "malformed"]);
    let lines: Vec<Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = &lines[0];
    assert_eq!(
        summary["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "DetectionJira"
    );
    for (name, want) in [
        ("AlertsReceived", 5),
        ("IssuesCreated", 1),
        ("Duplicates", 1),
        ("Skipped", 1),
        ("Failed", 2),
        ("Retries", 1),
    ] {
        assert_eq!(summary[name], want, "{name}: {summary}");
    }
    assert!(summary["JiraLatency"].as_array().unwrap().len() >= 5);
    let classes: Vec<(&str, u64)> = lines[1..]
        .iter()
        .map(|l| {
            (
                l["FailureClass"].as_str().unwrap(),
                l["Failed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(classes, [("bad-input", 1), ("rejected", 1)]);
}

#[tokio::test]
async fn a_panic_while_processing_one_message_fails_only_that_message() {
    let jira = fake(Flavor::Cloud).await;
    let app = app_wrapping_http(&jira, PanicsOnBoom);
    let mut boom = run(&jira.base_url, 2);
    boom["destination"]["project_key"] = json!("BOOM");
    let batch = sqs(
        &[
            ("fine", run(&jira.base_url, 1).to_string()),
            ("boom", boom.to_string()),
            ("also-fine", run(&jira.base_url, 3).to_string()),
        ],
        QUEUE,
    );
    let answer = invoke_within(&app, batch, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(failures(&answer), ["boom"]);
    assert_eq!(jira.created().len(), 2);
}

/// `JiraRequests` counts HTTP requests, not calls: Cloud asked for REST v2 answers the old
/// search 410, and the search is sent again on v3.
#[tokio::test]
async fn the_requests_metric_counts_every_http_request() {
    let jira = fake(Flavor::Cloud).await;
    let (app, lines) = sequential_app_capturing_metrics(&jira);
    let mut a = run(&jira.base_url, 1);
    a["destination"]["api_version"] = json!("2");
    invoke(&app, sqs(&[("m1", a.to_string())], QUEUE))
        .await
        .unwrap();
    let sent = jira.requests().len();
    assert_eq!(sent, 3, "{:?}", paths(&jira));
    let summary: Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
    assert_eq!(summary["JiraRequests"], sent, "{summary}");
}
