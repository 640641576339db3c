//! Ambiguous creates (Jira made the issue, the answer never came) settled without a
//! duplicate and without a dead letter: SQS is played by the test (a message comes back
//! after the queue's visibility timeout, or after the visibility the function set through
//! `ChangeMessageVisibility`, and goes to the dead-letter queue after 5 receives); the
//! ledger's clock is moved by hand, never waited for.

use crate::common::*;
use detection_jira::ledger::{Ledger, MemoryLedger};
use fake_jira::{FakeJira, FaultKind, Flavor};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const ALLOWANCE: Duration = Duration::from_secs(60);

/// How a message fared in the played queue.
struct Played {
    receives: u32,
    /// The final answer's issue key, if the message was delivered.
    delivered: Option<String>,
    /// The visibility the function asked for after each failed receive.
    held: Vec<i64>,
}

/// One SQS record of `body`, as its `n`th receive (its own receipt handle).
fn receive(body: &str, n: u32) -> Value {
    json!({"Records": [{
        "messageId": "m1",
        "receiptHandle": format!("rh-{n}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": n.to_string()},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE,
        "awsRegion": "us-east-1"
    }]})
}

/// Plays SQS for one message: received until delivered or `max_receives` are spent, each
/// failure followed by the visibility the function set (else `visibility`). Cloud's index
/// shows what was created once the allowance has passed since the first receive.
async fn play(
    app: &Arc<TestApp>,
    jira: &FakeJira,
    clock: &ManualClock,
    body: &str,
    visibility: Duration,
    max_receives: u32,
) -> Played {
    let mut played = Played {
        receives: 0,
        delivered: None,
        held: Vec::new(),
    };
    let mut elapsed = Duration::ZERO;
    for n in 1..=max_receives {
        played.receives = n;
        let answer = invoke(app, receive(body, n)).await.unwrap();
        if failures(&answer).is_empty() {
            played.delivered = Some(jira.created().last().map(|i| i.key.clone()).unwrap());
            return played;
        }
        let asked = jira
            .visibility_changes()
            .into_iter()
            .find(|c| c.receipt_handle == format!("rh-{n}"));
        let wait = match asked {
            Some(c) => {
                assert_eq!(
                    c.queue_url,
                    "https://sqs.us-east-1.amazonaws.com/111122223333/alerts"
                );
                played.held.push(c.seconds);
                Duration::from_secs(c.seconds as u64)
            }
            None => visibility,
        };
        clock.advance(wait);
        elapsed += wait;
        if elapsed >= ALLOWANCE {
            jira.index_now();
        }
    }
    played
}

/// An alert whose create Jira makes, then resets the connection before answering.
fn unanswered_create(jira: &FakeJira, flavor: Flavor) -> String {
    jira.push_fault(create_path(flavor), FaultKind::ResetAfterSuccess);
    alert(&jira.base_url).to_string()
}

fn create_path(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cloud => "/rest/api/3/issue",
        Flavor::Server => "/rest/api/2/issue",
    }
}

async fn cloud_with_index_lag() -> FakeJira {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.defer_indexing = true);
    jira
}

#[tokio::test]
async fn without_the_table_an_unanswered_create_ends_as_one_issue_under_fast_redelivery() {
    let jira = cloud_with_index_lag().await;
    let clock = ManualClock::new();
    let app = app_with_ledger(
        &jira,
        Ledger::Memory(MemoryLedger::new(clock.clock(), ALLOWANCE)),
    );
    let body = unanswered_create(&jira, Flavor::Cloud);
    // The queue redelivers every 3 s, 5 receives: without the hold, 5 answers of
    // "in progress" would send the message to the dead-letter queue.
    let played = play(&app, &jira, &clock, &body, Duration::from_secs(3), 5).await;
    assert_eq!(
        played.receives, 2,
        "held once for the allowance, then settled"
    );
    assert_eq!(played.held, [61], "the allowance, plus a second");
    assert_eq!(jira.created().len(), 1, "never created twice");
    assert_eq!(
        played.delivered.as_deref(),
        Some(jira.created()[0].key.as_str())
    );
}

#[tokio::test]
async fn with_the_table_an_unanswered_create_ends_as_one_issue_in_any_container() {
    let moto = start_moto().await;
    let db = dynamo_client(&moto.url);
    let table = ledger_table(&db).await;
    let jira = cloud_with_index_lag().await;
    let clock = ManualClock::new();
    let body = unanswered_create(&jira, Flavor::Cloud);
    // The first receive in one container, the redelivery in another.
    let first = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let played = play(&first, &jira, &clock, &body, Duration::from_secs(3), 1).await;
    assert_eq!(played.held, [61]);
    jira.index_now();
    let other = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let answer = invoke(&other, receive(&body, 2)).await.unwrap();
    assert!(failures(&answer).is_empty(), "{answer}");
    assert_eq!(jira.created().len(), 1);
    // Recorded: any later delivery is a duplicate without a Jira request.
    let requests = jira.requests().len();
    let third = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    assert!(failures(&invoke(&third, receive(&body, 3)).await.unwrap()).is_empty());
    assert_eq!(jira.requests().len(), requests);
}

#[tokio::test]
async fn on_server_dc_an_unanswered_create_is_settled_in_the_same_invocation() {
    let jira = fake(Flavor::Server).await;
    let clock = ManualClock::new();
    let app = app_with_ledger(
        &jira,
        Ledger::Memory(MemoryLedger::new(clock.clock(), ALLOWANCE)),
    );
    jira.push_fault(create_path(Flavor::Server), FaultKind::ResetAfterSuccess);
    let mut a = alert(&jira.base_url);
    // Without an answer the create may run on for the request's timeout: the search
    // comes after that (and 2 s).
    a["destination"]["timeout"] = json!(1);
    let played = play(
        &app,
        &jira,
        &clock,
        &a.to_string(),
        Duration::from_secs(3),
        5,
    )
    .await;
    // Its index has the issue as soon as it exists: a short wait and a search found it.
    assert_eq!((played.receives, played.held.len()), (1, 0));
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn a_refused_visibility_change_is_logged_and_changes_nothing_else() {
    let jira = cloud_with_index_lag().await;
    jira.refuse_visibility_changes(true);
    let clock = ManualClock::new();
    let app = app_with_ledger(
        &jira,
        Ledger::Memory(MemoryLedger::new(clock.clock(), ALLOWANCE)),
    );
    let body = unanswered_create(&jira, Flavor::Cloud);
    let (logs, _guard) = Logs::capture();
    let answer = invoke(&app, receive(&body, 1)).await.unwrap();
    assert_eq!(failures(&answer), ["m1"]);
    assert!(
        logs.text()
            .contains("could not change the message's visibility"),
        "{}",
        logs.text()
    );
    assert_eq!(jira.created().len(), 1);
}

/// A stale holder (its lease ran out while its create was under way) and the delivery that
/// took over both made an issue: every answer names the one recorded first.
#[tokio::test]
async fn after_a_lost_race_every_answer_names_one_issue() {
    let moto = start_moto().await;
    let db = dynamo_client(&moto.url);
    let table = ledger_table(&db).await;
    let jira = cloud_with_index_lag().await;
    let clock = ManualClock::new();
    let event = alert(&jira.base_url);
    // The stale holder's create is made at once and answered late.
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::AnswerLate(Duration::from_secs(3)),
    );
    let stale = tokio::spawn({
        let app = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
        let event = event.clone();
        async move { invoke(&app, event).await }
    });
    while jira.created().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Its lease (30 s timeout + 2 s) and the allowance pass; another delivery takes over,
    // finds nothing (the index lags longer than the allowance here), creates and records.
    clock.advance(Duration::from_secs(32 + 61));
    let taker = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let taken = invoke(&taker, event.clone()).await.unwrap();
    assert_eq!(taken["status"], "created");
    let stale = stale.await.unwrap().unwrap();
    assert_eq!(jira.created().len(), 2, "the race made two issues");
    assert_eq!(stale["issue_key"], taken["issue_key"], "{stale}");
    assert_eq!(stale["status"], "duplicate");
    // And so does every later delivery.
    let later = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let again = invoke(&later, event).await.unwrap();
    assert_eq!(again["issue_key"], taken["issue_key"]);
}

/// group_repeats across containers inside a lasting index lag: the table knows the
/// detection's newest issue, so the second run comments on it.
#[tokio::test]
async fn two_runs_of_one_detection_inside_the_index_lag_make_one_issue_and_one_comment() {
    let moto = start_moto().await;
    let db = dynamo_client(&moto.url);
    let table = ledger_table(&db).await;
    let jira = cloud_with_index_lag().await;
    let clock = ManualClock::new();
    let mut first = run(&jira.base_url, 1);
    first["destination"]["group_repeats"] = json!(true);
    let mut second = run(&jira.base_url, 2);
    second["destination"]["group_repeats"] = json!(true);
    let a = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let b = app_with_ledger(&jira, dynamo_ledger(&db, &table, &clock));
    let created = invoke(&a, first).await.unwrap();
    assert_eq!(created["status"], "created");
    let repeat = invoke(&b, second).await.unwrap();
    assert_eq!(repeat["status"], "commented", "{repeat}");
    assert_eq!(repeat["issue_key"], created["issue_key"]);
    let issues = jira.created();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].comments.len(), 1);
}

/// A FIFO group waits while any of its messages is in flight: the messages left
/// unprocessed behind a held one are held as long.
#[tokio::test]
async fn the_rest_of_a_fifo_group_is_held_with_the_message_before_it() {
    let jira = cloud_with_index_lag().await;
    let clock = ManualClock::new();
    let app = app_with_ledger(
        &jira,
        Ledger::Memory(MemoryLedger::new(clock.clock(), ALLOWANCE)),
    );
    let first = unanswered_create(&jira, Flavor::Cloud);
    let second = run(&jira.base_url, 2).to_string();
    let mut batch = sqs(&[("f1", first), ("f2", second)], FIFO_QUEUE);
    batch["Records"][0]["receiptHandle"] = json!("rh-f1");
    batch["Records"][1]["receiptHandle"] = json!("rh-f2");
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["f1", "f2"]);
    let held: Vec<(String, i64)> = jira
        .visibility_changes()
        .into_iter()
        .map(|c| (c.receipt_handle, c.seconds))
        .collect();
    assert_eq!(held, [("rh-f1".to_string(), 61), ("rh-f2".to_string(), 61)]);
    assert_eq!(jira.created().len(), 1, "the second was not processed");
}
