//! Retries, throttling, unanswered requests and the invocation deadline.
//!
//! Over real HTTP these tests assert outcomes only (answers, failure classes, what Jira
//! received, in order). How long the function waits is read off tokio's paused clock, with
//! the in-memory Jira: no sockets, so the clock only moves when every task waits on a timer,
//! and a wait of 7 s reads as 7 s however loaded the machine is.

use crate::common::*;
use detection_jira::jira::memory::Op;
use detection_jira::jira::JiraError;
use detection_jira::ledger::{Ledger, MemoryLedger};
use fake_jira::{FaultKind, Flavor};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

fn status(status: u16, retry_after: Option<u64>) -> FaultKind {
    FaultKind::Status {
        status,
        retry_after,
    }
}

#[tokio::test]
async fn a_429_is_retried_once_its_retry_after_has_passed() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault("/rest/api/3/issue", status(429, Some(1)));
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert_eq!(statuses(&jira, "/rest/api/3/issue"), [429, 201]);
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_not_waited_for() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    // Two minutes, with one minute left: the header is read, and no try is made that could
    // not finish in time.
    jira.push_fault("/rest/api/3/issue", status(429, Some(120)));
    let e = invoke_within(&app, alert(&jira.base_url), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(e.class.as_str(), "throttled", "{e}");
    assert!(e.message.contains("Retry-After 120s"), "{e}");
    assert_eq!(statuses(&jira, "/rest/api/3/issue"), [429]);
    assert!(jira.created().is_empty());
}

/// The wait is the server's `Retry-After`, not the backoff.
#[tokio::test(start_paused = true)]
async fn throttling_waits_for_retry_after_then_succeeds() {
    let app = in_memory_app();
    let jira = app.deliverer.jira();
    jira.fail_next(
        Op::Create,
        JiraError::Throttled {
            status: 429,
            retry_after: Some(Duration::from_secs(7)),
        },
    );
    let answer = invoke(&app, alert("http://127.0.0.1:9")).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    let creates = jira.arrivals(Op::Create);
    assert_eq!(creates.len(), 2);
    let waited = creates[1] - creates[0];
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_millis(7_100),
        "{waited:?}"
    );
    assert_eq!(jira.issues().len(), 1);
}

/// Server/DC: a 503 is a refusal (retried at once); a 502 may hide an issue that was made,
/// and Server/DC's index has it at once: a short wait, a search, then the create again.
#[tokio::test]
async fn server_errors_on_create_are_retried_until_it_succeeds() {
    let jira = fake(Flavor::Server).await;
    let app = app(&jira);
    jira.push_fault("/rest/api/2/issue", status(503, None));
    jira.push_fault("/rest/api/2/issue", status(502, None));
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert_eq!(statuses(&jira, "/rest/api/2/issue"), [503, 502, 201]);
    assert_eq!(jira.created().len(), 1);
}

/// Cloud: a 5xx on a create may hide an issue that was made, and Cloud's index lags: each
/// is followed by a wait for the search-index allowance (60 s here) and a search, then
/// another create.
#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff() {
    let app = in_memory_app();
    let jira = app.deliverer.jira();
    for status in [503, 502, 500] {
        jira.fail_next(
            Op::Create,
            JiraError::Server {
                status,
                detail: "Injected fault".into(),
            },
        );
    }
    let answer = invoke_within(&app, alert("http://127.0.0.1:9"), Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    let creates = jira.arrivals(Op::Create);
    assert_eq!(creates.len(), 4, "three retries");
    assert_eq!(
        jira.count(Op::Search),
        1 + 3,
        "the first search, then one per 5xx"
    );
    for (i, nominal_ms) in [60_000, 60_000, 60_000].into_iter().enumerate() {
        let waited = creates[i + 1] - creates[i];
        let (low, high) = (
            Duration::from_millis(nominal_ms),
            Duration::from_millis(nominal_ms + 10),
        );
        assert!(
            waited >= low && waited <= high,
            "wait {i}: {waited:?} not in {low:?}..{high:?}"
        );
    }
    assert_eq!(jira.issues().len(), 1);
}

#[tokio::test]
async fn an_unanswered_create_is_not_retried_and_the_redelivery_finds_it() {
    let jira = fake(Flavor::Cloud).await;
    let clock = ManualClock::new();
    let ledger = Ledger::Memory(MemoryLedger::new(clock.clock(), Duration::from_secs(60)));
    let app = app_with_ledger(&jira, ledger);
    let mut a = alert(&jira.base_url);
    a["destination"]["timeout"] = json!(1);
    // Created, and never answered: the client's timeout is the only way out.
    jira.push_fault("/rest/api/3/issue", FaultKind::SucceedWithoutAnswer);
    let batch = sqs(&[("m1", a.to_string())], QUEUE);
    let answer = invoke(&app, batch.clone()).await.unwrap();
    assert_eq!(
        failures(&answer),
        ["m1"],
        "outcome unknown: reported failed"
    );
    assert_eq!(jira.created().len(), 1, "Jira did create it, once");
    // The claim stays for its lease (1 s timeout + 2 s) and the take-over allowance.
    let answer = invoke(&app, batch.clone()).await.unwrap();
    assert_eq!(failures(&answer), ["m1"], "in progress: retried later");
    clock.advance(Duration::from_secs(3 + 60 + 1));
    let answer = invoke(&app, batch).await.unwrap();
    assert!(failures(&answer).is_empty());
    assert_eq!(
        jira.created().len(),
        1,
        "the redelivery found it: one issue"
    );
}

/// Over HTTP: had the handler waited for Jira (20 s), the searches would have answered and
/// the issues would exist.
#[tokio::test]
async fn the_deadline_is_kept_when_jira_hangs() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    for _ in 0..3 {
        jira.push_fault("/search/jql", FaultKind::Delay(Duration::from_secs(20)));
    }
    let answer = invoke_within(
        &app,
        sqs_of_runs(&jira.base_url, 0..3),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(failures(&answer), ["m0", "m1", "m2"]);
    assert!(jira.created().is_empty());
}

/// On the paused clock: the answer is back by the cutoff even when Jira never answers and no
/// request timeout would save it.
#[tokio::test(start_paused = true)]
async fn the_answer_is_back_by_the_cutoff_when_jira_never_answers() {
    let app = in_memory_app();
    let jira = app.deliverer.jira();
    for _ in 0..3 {
        jira.hang_next(Op::Search);
    }
    // tokio's clock, paused: it moves only when every task waits on a timer.
    let started = Instant::now();
    let budget = Duration::from_secs(3);
    let answer = tokio::time::timeout(
        Duration::from_secs(3_600),
        invoke_within(&app, sqs_of_runs("http://127.0.0.1:9", 0..3), budget),
    )
    .await
    .expect("an answer, not a hang")
    .unwrap();
    let answered_after = Instant::now() - started;
    assert!(answered_after <= budget, "{answered_after:?}");
    assert_eq!(failures(&answer), ["m0", "m1", "m2"]);
    assert_eq!(
        jira.arrivals(Op::Search).len(),
        3,
        "no retry of a hung read"
    );
    assert!(jira.issues().is_empty());
}
