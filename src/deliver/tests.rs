//! The executor and `connect` against the in-memory Jira: every path without HTTP, on
//! tokio's paused clock.

use super::*;
use crate::alert::{triage, Triage};
use crate::failure::FailureClass;
use crate::jira::memory::{MemoryJira, Op};
use crate::jira::Deployment;
use crate::ledger::MemoryLedger;
use serde_json::json;
use std::collections::HashMap;

const TOKEN: &str = "tok-memory-1";
type Memory = Deliverer<MemoryJira, Mutex<HashMap<String, String>>>;

fn deliverer(deployment: Deployment, secret: &str) -> Memory {
    let secrets = Mutex::new(HashMap::from([(
        "jira/secops".to_string(),
        secret.to_string(),
    )]));
    Deliverer::new(
        MemoryJira::new(deployment, TOKEN),
        SecretCache::new(secrets, Duration::from_secs(300)),
        AllowedHosts::parse("acme.atlassian.net").unwrap(),
        Ledger::Memory(MemoryLedger::new(paused_clock(), Duration::from_secs(60))),
    )
}

/// Epoch milliseconds that follow tokio's (paused) clock.
fn paused_clock() -> crate::ledger::Clock {
    let start = TokioInstant::now();
    Arc::new(move || 1_700_000_000_000 + start.elapsed().as_millis() as u64)
}

fn alert(change: impl FnOnce(&mut serde_json::Value)) -> Alert {
    let mut v = json!({
        "destination": {
            "instance_url": "https://acme.atlassian.net",
            "email": "bot@acme.example",
            "api_token_secret": "jira/secops",
            "project_key": "SEC"
        },
        "detection": {"id": 7, "name": "n", "severity": "HIGH", "outcome": "MATCHED",
                      "ran_at": "2026-11-24T10:00:00Z", "search_id": "s1"}
    });
    change(&mut v);
    match triage(&v).unwrap() {
        Triage::Deliver(a) => *a,
        other => panic!("{other:?}"),
    }
}

fn later() -> TokioInstant {
    TokioInstant::now() + Duration::from_secs(600)
}

async fn deliver(d: &Memory, a: &Alert) -> Result<Delivery, Failure> {
    match d.deliver(a, later(), &Meter::default()).await? {
        Outcome::Delivered(d) => Ok(d),
        Outcome::Skipped(reason) => panic!("skipped: {reason}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_is_created_once_and_its_redelivery_is_a_duplicate() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    let a = alert(|_| {});
    let first = deliver(&d, &a).await.unwrap();
    assert_eq!(first.status, Status::Created);
    assert_eq!(first.issue_url, "https://acme.atlassian.net/browse/SEC-1");
    let again = deliver(&d, &a).await.unwrap();
    assert_eq!(
        (again.status, again.issue_key),
        (Status::Duplicate, "SEC-1".into())
    );
    assert_eq!(d.jira.issues().len(), 1);
    // serverInfo once per container, the search and the create; the redelivery is
    // answered by the container's ledger without a request.
    assert_eq!(d.jira.calls(), [Op::ServerInfo, Op::Search, Op::Create]);
}

#[tokio::test(start_paused = true)]
async fn a_rotated_token_is_read_again_after_a_401() {
    let d = deliverer(Deployment::Cloud, "tok-old");
    d.jira.accept_token("tok-old");
    let a = alert(|_| {});
    deliver(&d, &a).await.unwrap();
    // Rotation: Jira takes only the new token; the cached secret still holds the old one.
    d.jira.accept_token(TOKEN);
    d.secrets
        .source()
        .lock()
        .unwrap()
        .insert("jira/secops".into(), TOKEN.into());
    let b = alert(|v| v["detection"]["search_id"] = json!("s2"));
    let done = deliver(&d, &b).await.unwrap();
    assert_eq!(done.status, Status::Created);
    assert_eq!(d.jira.issues().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_token_refused_twice_fails_as_auth() {
    let d = deliverer(Deployment::Cloud, "tok-wrong");
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert_eq!(f.class, FailureClass::Auth);
    assert!(f.fix.contains("API token"));
    assert_eq!(d.jira.count(Op::Search), 2, "one try per secret read");
    assert_eq!(d.jira.count(Op::Create), 0);
}

#[tokio::test(start_paused = true)]
async fn throttling_waits_as_asked_then_creates() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.fail_next(
        Op::Create,
        JiraError::Throttled {
            status: 429,
            retry_after: Some(Duration::from_secs(9)),
        },
    );
    let started = TokioInstant::now();
    let meter = Meter::default();
    let done = d.deliver(&alert(|_| {}), later(), &meter).await.unwrap();
    assert!(
        matches!(&done, Outcome::Delivered(d) if d.status == Status::Created),
        "{done:?}"
    );
    assert_eq!(TokioInstant::now() - started, Duration::from_secs(9));
    assert_eq!(meter.stats().retries, 1);
    assert_eq!(d.jira.issues().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_create_is_searched_for_after_the_allowance_and_never_made_twice() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.apply_then_fail_next(
        Op::Create,
        JiraError::NoAnswer {
            detail: "timed out".into(),
        },
    );
    let a = alert(|_| {});
    // Time enough in this invocation: it waits out Cloud's index allowance (60 s), then
    // the search shows the issue the unanswered create made.
    let started = TokioInstant::now();
    let done = deliver(&d, &a).await.unwrap();
    assert_eq!(done.status, Status::Created);
    assert_eq!(TokioInstant::now() - started, Duration::from_secs(60));
    assert_eq!(d.jira.count(Op::Create), 1);
    assert_eq!(d.jira.issues().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_create_without_time_to_wait_is_held_not_blocked() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.apply_then_fail_next(
        Op::Create,
        JiraError::NoAnswer {
            detail: "timed out".into(),
        },
    );
    let a = alert(|_| {});
    let short = || TokioInstant::now() + Duration::from_secs(20);
    let f = d.deliver(&a, short(), &Meter::default()).await.unwrap_err();
    // Not a timeout to page anyone for: settled later, and SQS holds it until then.
    assert_eq!(f.class, FailureClass::InProgress, "{f}");
    assert_eq!(f.retry_after, Some(Duration::from_secs(60)), "{f}");
    assert!(f.message.contains("creating the issue"), "{f}");
    assert_eq!(d.jira.count(Op::Create), 1);
    // A redelivery at once is told how long is left of the allowance (counted from the
    // ambiguous create, not from the end of a lease nobody holds any more).
    tokio::time::advance(Duration::from_secs(15)).await;
    let f = d.deliver(&a, short(), &Meter::default()).await.unwrap_err();
    assert_eq!(f.class, FailureClass::InProgress);
    assert_eq!(f.retry_after, Some(Duration::from_secs(45)), "{f}");
    assert_eq!(
        d.jira.count(Op::Search),
        1,
        "only the first delivery's search"
    );
    tokio::time::advance(Duration::from_secs(45)).await;
    let again = deliver(&d, &a).await.unwrap();
    assert_eq!(again.status, Status::Duplicate);
    assert_eq!(d.jira.issues().len(), 1);
    assert_eq!(d.jira.count(Op::Create), 1);
}

#[tokio::test(start_paused = true)]
async fn a_delivery_dropped_at_the_deadline_does_not_hold_up_the_next() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    let a = alert(|_| {});
    // The create hangs; the caller gives up first (as the handler does at its cutoff).
    d.jira.hang_next(Op::Create);
    let gave_up = tokio::time::timeout(Duration::from_secs(5), deliver(&d, &a)).await;
    assert!(gave_up.is_err());
    // The create was sent: the claim is parked, not left live for its 32 s lease.
    let f = deliver(&d, &a).await.unwrap_err();
    assert_eq!(f.retry_after, Some(Duration::from_secs(60)), "{f}");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_stops_retries() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    for _ in 0..5 {
        d.jira.fail_next(
            Op::Search,
            JiraError::Server {
                status: 503,
                detail: "down".into(),
            },
        );
    }
    let started = TokioInstant::now();
    let cutoff = started + Duration::from_secs(5);
    let f = d
        .deliver(&alert(|_| {}), cutoff, &Meter::default())
        .await
        .unwrap_err();
    assert_eq!(f.class, FailureClass::Jira5xx);
    assert!(TokioInstant::now() <= cutoff);
    assert_eq!(d.jira.count(Op::Create), 0);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_to_a_host_the_secret_may_not_reach() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    let a = alert(|v| v["destination"]["instance_url"] = json!("https://evil.atlassian.net"));
    let f = deliver(&d, &a).await.unwrap_err();
    assert_eq!(f.class, FailureClass::BadInput);
    assert!(f.message.contains("ALLOWED_JIRA_HOSTS"));
    assert!(d.jira.calls().is_empty());
    // A secret bound to its instance wins over the allow-list, both ways.
    let bound = r#"{"api_token": "tok-memory-1", "instance_url": "https://evil.atlassian.net"}"#;
    let d = deliverer(Deployment::Cloud, bound);
    assert!(deliver(&d, &a).await.is_ok());
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert!(f.message.contains("not the Jira this secret belongs to"));
}

#[tokio::test(start_paused = true)]
async fn the_secrets_email_is_the_identity() {
    let secret = r#"{"api_token": "tok-memory-1", "email": "bot@acme.example"}"#;
    let d = deliverer(Deployment::Cloud, secret);
    let f = deliver(
        &d,
        &alert(|v| v["destination"]["email"] = json!("admin@acme.example")),
    )
    .await
    .unwrap_err();
    assert_eq!(f.class, FailureClass::BadInput);
    assert!(f.message.starts_with("destination.email"));
    assert!(d.jira.calls().is_empty());
    let without = alert(|v| {
        v["destination"].as_object_mut().unwrap().remove("email");
    });
    assert!(deliver(&d, &without).await.is_ok());
    // Bearer (a Server/DC personal access token) needs no user.
    let d = deliverer(
        Deployment::Server,
        r#"{"api_token": "tok-memory-1", "auth": "bearer"}"#,
    );
    assert!(deliver(&d, &without).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_deployment_is_detected_once_for_many_alerts() {
    let d = Arc::new(deliverer(Deployment::Server, TOKEN));
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let d = d.clone();
            tokio::spawn(async move {
                let a = alert(|v| v["detection"]["search_id"] = json!(format!("s{n}")));
                deliver(&d, &a).await.unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().status, Status::Created);
    }
    assert_eq!(d.jira.count(Op::ServerInfo), 1);
    assert_eq!(d.jira.issues().len(), 20);
}

#[tokio::test(start_paused = true)]
async fn a_bad_optional_field_does_not_lose_the_issue() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.fail_next(
        Op::Create,
        JiraError::Rejected {
            status: 400,
            messages: vec![],
            field_errors: [("parent".to_string(), "Parent issue not found".to_string())].into(),
        },
    );
    let a = alert(|v| v["destination"]["parent_key"] = json!("SEC-999"));
    assert_eq!(deliver(&d, &a).await.unwrap().status, Status::Created);
    let issue = &d.jira.issues()[0];
    assert!(issue.fields.get("parent").is_none());
    assert!(issue.fields["description"]
        .to_string()
        .contains("Parent issue not found"));
}

#[tokio::test(start_paused = true)]
async fn a_create_answered_5xx_that_happened_anyway_is_not_repeated() {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.apply_then_fail_next(
        Op::Create,
        JiraError::Server {
            status: 500,
            detail: "post-function failed".into(),
        },
    );
    let done = deliver(&d, &alert(|_| {})).await.unwrap();
    assert_eq!(
        (done.status, done.issue_key.as_str()),
        (Status::Created, "SEC-1")
    );
    assert_eq!(d.jira.issues().len(), 1);
    assert_eq!(d.jira.count(Op::Create), 1);
}

#[tokio::test(start_paused = true)]
async fn the_deployment_cache_is_bounded() {
    let mut d = deliverer(Deployment::Cloud, TOKEN);
    d.allowed = AllowedHosts::parse("*.corp.example").unwrap();
    for n in 0..crate::cells::MAX_CELLS + 200 {
        let a = alert(|v| {
            v["destination"]["instance_url"] = json!(format!("https://j{n}.corp.example"));
        });
        deliver(&d, &a).await.unwrap();
    }
    let held = d.flavors.len();
    assert!(held <= crate::cells::MAX_CELLS, "{held} sites cached");
}

mod auth;
mod lifecycle;
