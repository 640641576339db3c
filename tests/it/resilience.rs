//! Retries, throttling, unanswered requests and the invocation deadline.

use crate::common::*;
use fake_jira::{FaultKind, Flavor};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn throttling_waits_for_retry_after_then_succeeds() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 429,
            retry_after: Some(1),
        },
    );
    let started = Instant::now();
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
    );
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 502,
            retry_after: None,
        },
    );
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn an_unanswered_create_is_not_retried_and_the_redelivery_finds_it() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["timeout"] = json!(1);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::SucceedThenHang(Duration::from_secs(5)),
    );
    let batch = sqs(&[("m1", a.to_string())], QUEUE);
    let answer = invoke(&app, batch.clone()).await.unwrap();
    assert_eq!(
        failures(&answer),
        ["m1"],
        "outcome unknown: reported failed"
    );
    assert_eq!(jira.created().len(), 1, "Jira did create it");
    let answer = invoke(&app, batch).await.unwrap();
    assert!(failures(&answer).is_empty());
    assert_eq!(
        jira.created().len(),
        1,
        "the redelivery found it: one issue"
    );
}

#[tokio::test]
async fn the_deadline_is_kept_when_jira_hangs() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    for _ in 0..3 {
        jira.push_fault("/search/jql", FaultKind::Delay(Duration::from_secs(20)));
    }
    let started = Instant::now();
    let answer = invoke_within(
        &app,
        sqs_of_runs(&jira.base_url, 0..3),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(3_500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failures(&answer), ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn search_lag_between_deliveries_still_gives_one_issue() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.index_lag = Duration::from_secs(2));
    let app = app(&jira);
    let batch = sqs(&[("m1", alert(&jira.base_url).to_string())], QUEUE);
    assert!(failures(&invoke(&app, batch.clone()).await.unwrap()).is_empty());
    // The redelivery comes once the index has caught up (the queue's visibility timeout
    // is far longer than Cloud's index lag).
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let answer = invoke(&app, alert(&jira.base_url)).await.unwrap();
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(jira.created().len(), 1);
}
