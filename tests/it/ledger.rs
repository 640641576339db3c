//! The idempotency ledger across containers: several apps (each a container with its own
//! caches, connections and HTTP client) sharing one DynamoDB table in moto, on one clock
//! the tests move by hand; and the ledger's failure modes through the real SDK client with
//! `aws-smithy-mocks` standing in for DynamoDB.

use crate::common::*;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use detection_jira::alert::{triage, Alert, Triage};
use detection_jira::deliver::Deliverer;
use detection_jira::deliver::{Outcome, Status};
use detection_jira::hosts::AllowedHosts;
use detection_jira::jira::memory::{MemoryJira, Op};
use detection_jira::jira::Deployment;
use detection_jira::ledger::{Claim, DynamoLedger, Ledger};
use detection_jira::meter::Meter;
use detection_jira::secrets::SecretCache;
use fake_jira::{FakeJira, FaultKind, Flavor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One table in moto, and the clock every container's ledger reads.
struct Shared {
    _moto: Moto,
    db: aws_sdk_dynamodb::Client,
    table: String,
    clock: ManualClock,
}

async fn shared_table() -> Shared {
    let moto = start_moto().await;
    let db = dynamo_client(&moto.url);
    let table = ledger_table(&db).await;
    Shared {
        _moto: moto,
        db,
        table,
        clock: ManualClock::new(),
    }
}

/// A fresh container (cold caches, its own connections) on the shared table.
fn container(jira: &FakeJira, t: &Shared) -> Arc<TestApp> {
    app_with_ledger(jira, dynamo_ledger(&t.db, &t.table, &t.clock))
}

fn status(answer: &Result<Value, detection_jira::failure::Failure>) -> String {
    match answer {
        Ok(v) => v["status"].as_str().unwrap_or("?").to_string(),
        Err(f) => f.class.as_str().to_string(),
    }
}

#[tokio::test]
async fn the_same_alert_to_two_containers_at_once_makes_one_issue() {
    let t = shared_table().await;
    let jira = fake(Flavor::Cloud).await;
    for n in 0..5 {
        let (a, b) = (container(&jira, &t), container(&jira, &t));
        let event = run(&jira.base_url, n);
        let (ra, rb) = tokio::join!(invoke(&a, event.clone()), invoke(&b, event));
        let mut got = vec![status(&ra), status(&rb)];
        got.sort();
        assert!(
            got == ["created", "duplicate"] || got == ["created", "in-progress"],
            "run {n}: {got:?} ({ra:?} / {rb:?}); issues: {:?}",
            jira.created().iter().map(|i| &i.key).collect::<Vec<_>>()
        );
    }
    assert_eq!(jira.created().len(), 5, "one issue per run");
}

#[tokio::test]
async fn redeliveries_inside_the_index_lag_to_fresh_containers_make_one_issue() {
    let t = shared_table().await;
    let jira = fake(Flavor::Cloud).await;
    // Nothing becomes searchable: Jira Cloud's index lagging behind every create.
    jira.configure(|c| c.defer_indexing = true);
    let event = alert(&jira.base_url);
    let first = invoke(&container(&jira, &t), event.clone()).await.unwrap();
    assert_eq!(first["status"], "created");
    for _ in 0..2 {
        let again = invoke(&container(&jira, &t), event.clone()).await.unwrap();
        assert_eq!(again["status"], "duplicate");
        assert_eq!(again["issue_key"], first["issue_key"]);
        assert_eq!(again["issue_url"], first["issue_url"]);
    }
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn a_recorded_run_costs_no_jira_request_and_no_secret_read() {
    let t = shared_table().await;
    let jira = fake(Flavor::Cloud).await;
    let event = alert(&jira.base_url);
    let first = invoke(&container(&jira, &t), event.clone()).await.unwrap();
    assert_eq!(first["status"], "created");
    // The ledger replaced the search: serverInfo and the create only.
    assert_eq!(
        paths(&jira),
        ["/rest/api/2/serverInfo", "/rest/api/3/issue"],
        "a new run costs one Jira request besides the deployment check"
    );
    let (requests, secrets) = (jira.requests().len(), jira.secret_calls());
    let again = invoke(&container(&jira, &t), event).await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["issue_key"], first["issue_key"]);
    assert_eq!(jira.requests().len(), requests, "no Jira request");
    assert_eq!(jira.secret_calls(), secrets, "no secret read");
}

#[tokio::test]
async fn a_holder_that_died_after_creating_is_taken_over_only_after_lease_and_allowance() {
    let t = shared_table().await;
    let jira = fake(Flavor::Cloud).await;
    let mut event = alert(&jira.base_url);
    // Lease: the 1 s request timeout plus the 2 s margin; then the 60 s allowance.
    event["destination"]["timeout"] = json!(1);
    jira.push_fault("/rest/api/3/issue", FaultKind::SucceedWithoutAnswer);
    // The holder dies while its create waits for an answer (Lambda ends it at its
    // timeout): it never parks its claim.
    let dying = tokio::spawn({
        let (app, event) = (container(&jira, &t), event.clone());
        async move { invoke(&app, event).await }
    });
    while jira.created().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    dying.abort();
    assert_eq!(jira.created().len(), 1);

    let other = container(&jira, &t);
    let requests = jira.requests().len();
    assert_eq!(status(&invoke(&other, event.clone()).await), "in-progress");
    t.clock.advance(Duration::from_secs(3 + 59));
    assert_eq!(status(&invoke(&other, event.clone()).await), "in-progress");
    assert_eq!(
        jira.requests().len(),
        requests,
        "a live claim sends nothing to Jira"
    );

    t.clock.advance(Duration::from_secs(2));
    let taken = invoke(&other, event.clone()).await.unwrap();
    assert_eq!(
        taken["status"], "duplicate",
        "the take-over searched and found it"
    );
    assert_eq!(taken["issue_key"], jira.created()[0].key.as_str());
    assert_eq!(jira.created().len(), 1);
    // Recorded now: the next delivery is answered by the ledger alone.
    let again = invoke(&container(&jira, &t), event).await.unwrap();
    assert_eq!(again["issue_key"], taken["issue_key"]);
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_recognised_as_ours() {
    let t = shared_table().await;
    let losing = dynamo_client_losing_answers(&t._moto.url, 1);
    let ledger = dynamo_ledger(&losing, &t.table, &t.clock);
    let lease = Duration::from_secs(3);
    // DynamoDB wrote the claim, but its answer never came.
    let lost = ledger.claim("run", "delivery-1", lease).await;
    assert!(lost.is_err(), "{lost:?}");
    // The same delivery tries again: its own claim, not another delivery's.
    let again = ledger.claim("run", "delivery-1", lease).await.unwrap();
    assert!(matches!(again, Claim::Fresh(_)), "{again:?}");
    let other = ledger.claim("run", "delivery-2", lease).await.unwrap();
    assert!(matches!(other, Claim::Busy { .. }), "{other:?}");

    // A take-over whose answer was lost: the retry still knows it took over, so it searches
    // Jira before creating (the old holder may have made the issue).
    t.clock.advance(lease + Duration::from_secs(60));
    // A claim sends a put (refused: the entry exists), a read, then the take-over's put,
    // whose answer is lost.
    let losing = dynamo_client_losing_answers_after(&t._moto.url, 2, 1);
    let taker = dynamo_ledger(&losing, &t.table, &t.clock);
    let lost = taker.claim("run", "delivery-3", lease).await;
    assert!(lost.is_err(), "{lost:?}");
    let again = taker.claim("run", "delivery-3", lease).await.unwrap();
    assert!(matches!(again, Claim::TakeOver(_)), "{again:?}");
}

/// An alert for the in-memory Jira, delivered straight through a `Deliverer`.
fn memory_alert() -> Alert {
    let v = json!({
        "destination": {"instance_url": "https://acme.atlassian.net", "email": USER,
                        "api_token_secret": SECRET_ID, "project_key": "SEC"},
        "detection": {"id": 7, "name": "n", "severity": "HIGH", "outcome": "MATCHED",
                      "ran_at": "2026-11-24T10:00:00Z", "search_id": "s1"}
    });
    match triage(&v).unwrap() {
        Triage::Deliver(a) => *a,
        other => panic!("{other:?}"),
    }
}

type MemoryDeliverer = Deliverer<MemoryJira, Mutex<HashMap<String, String>>>;

fn deliverer_on(db: aws_sdk_dynamodb::Client) -> MemoryDeliverer {
    let secrets = Mutex::new(HashMap::from([(SECRET_ID.to_string(), TOKEN.to_string())]));
    Deliverer::new(
        MemoryJira::new(Deployment::Cloud, TOKEN),
        SecretCache::new(secrets, Duration::from_secs(300)),
        AllowedHosts::parse("acme.atlassian.net").unwrap(),
        Ledger::Dynamo(DynamoLedger::new(
            db,
            "ledger".into(),
            ManualClock::new().clock(),
            Duration::from_secs(60),
        )),
    )
}

#[tokio::test(start_paused = true)]
async fn a_throttled_table_is_retried_and_the_run_delivered_once() {
    let throttled = || {
        PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message("Rate of requests exceeds the allowed throughput.")
                .build(),
        )
    };
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .error(throttled)
        .times(2)
        .output(|| PutItemOutput::builder().build())
        .build();
    let record = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_output(|| UpdateItemOutput::builder().build());
    let db = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &record]);
    let d = deliverer_on(db);
    let cutoff = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = d
        .deliver(&memory_alert(), cutoff, &Meter::default())
        .await
        .unwrap();
    assert!(
        matches!(&done, Outcome::Delivered(d) if d.status == Status::Created),
        "{done:?}"
    );
    assert_eq!(put.num_calls(), 3, "two throttled claims, then the claim");
    assert_eq!(record.num_calls(), 1, "the issue key recorded");
    assert_eq!(d.jira().count(Op::Create), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_table_fails_the_alert_and_sends_nothing_to_jira() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = deliverer_on(dynamo_client(&format!("http://127.0.0.1:{port}")));
    let cutoff = tokio::time::Instant::now() + Duration::from_secs(60);
    let f = d
        .deliver(&memory_alert(), cutoff, &Meter::default())
        .await
        .unwrap_err();
    assert_eq!(f.class.as_str(), "ledger", "{f}");
    assert!(f.fix.contains("nothing was sent to Jira"), "{}", f.fix);
    assert!(d.jira().calls().is_empty(), "{:?}", d.jira().calls());
}
