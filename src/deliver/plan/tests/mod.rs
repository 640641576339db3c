use super::*;
use crate::alert::{triage, Triage};
use crate::deliver::lifecycle::{self, pending_label, Act, IssueState, LastChange};
use crate::deliver::outcome::{Reason, Status};
use crate::deliver::plan::CREATED_ANYWAY_WAIT;
use crate::deliver::step::Link;
use crate::failure::FailureClass;
use crate::issue::convert::FieldMeta;
use crate::jira::{CreatedIssue, FoundIssue, JiraError};
use crate::ledger::{Claim, Holder, LedgerError, LEASE_MARGIN};
use crate::retry::Policy;
use serde_json::json;
use serde_json::Value;
use std::collections::BTreeMap;

fn server_error() -> StepError {
    StepError::Jira(JiraError::Server {
        status: 500,
        detail: "post-function failed".into(),
    })
}

fn alert(group_repeats: bool) -> Alert {
    let v = json!({
        "destination": {
            "instance_url": "https://acme.atlassian.net",
            "email": "bot@acme.example",
            "api_token_secret": "jira/secops",
            "project_key": "SEC",
            "priority": "Urgent",
            "group_repeats": group_repeats
        },
        "detection": {"id": 7, "name": "n", "severity": "HIGH", "outcome": "MATCHED",
                      "ran_at": "2026-11-24T10:00:00Z", "search_id": "s1"}
    });
    match triage(&v).unwrap() {
        Triage::Deliver(a) => *a,
        other => panic!("{other:?}"),
    }
}

/// The lifecycle clock of these tests (epoch seconds), a little after the runs' ran_at.
const NOW: i64 = 1_795_600_000;

fn found(key: &str) -> FoundIssue {
    FoundIssue {
        key: key.into(),
        ..FoundIssue::default()
    }
}

fn created(key: &str) -> CreatedIssue {
    CreatedIssue {
        id: "10001".into(),
        key: key.into(),
    }
}

fn sent(next: Next) -> Step {
    match next {
        Next::Send(step) => step,
        other => panic!("expected a step, got {other:?}"),
    }
}

fn failed(next: Next) -> Failure {
    match next {
        Next::Fail(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn holder() -> Holder {
    Holder {
        id: "run".into(),
        token: "t".into(),
        lease_until: 0,
    }
}

/// Starts a plan with a fresh claim, connected to a Jira of `flavor`: the first Jira step.
fn started_on(plan: &mut Plan, flavor: ApiFlavor) -> Step {
    assert!(matches!(sent(plan.start()), Step::Claim { .. }));
    let connect = sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    assert_eq!(connect, Step::Connect);
    sent(plan.on_reply(Ok(Reply::Connected(flavor.into()))))
}

fn started(plan: &mut Plan) -> Step {
    started_on(plan, ApiFlavor::V3)
}

/// Answers the bookkeeping step (record or release) and returns how the plan ends.
fn booked(plan: &mut Plan, next: Next, expected: Step) -> Next {
    assert_eq!(sent(next), expected);
    plan.on_reply(Ok(Reply::Ack))
}

fn body_of(step: &Step) -> Value {
    match step {
        Step::Create { body } => serde_json::from_str(body).unwrap(),
        other => panic!("expected a create, got {other:?}"),
    }
}

fn rejected(fields: &[(&str, &str)]) -> StepError {
    StepError::Jira(JiraError::Rejected {
        status: 400,
        messages: vec![],
        field_errors: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    })
}

#[test]
fn a_new_run_is_searched_for_then_created_with_its_labels() {
    let a = alert(false);
    let mut plan = Plan::new(&a, false, NOW);
    let fp = plan.fingerprint().to_string();
    let search = started(&mut plan);
    assert_eq!(
        search,
        Step::Search {
            query: IssueQuery::labelled("SEC", &fp),
            purpose: Purpose::EarlierDelivery,
        }
    );
    assert_eq!(search.policy(), Policy::Idempotent);
    let create = sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    assert_eq!(create.policy(), Policy::AtMostOnce);
    let labels = body_of(&create)["fields"]["labels"].clone();
    assert_eq!(labels, json!(["security-detection", fp, "detection-id-7"]));
    let created = plan.on_reply(Ok(Reply::Created(created("SEC-1"))));
    assert_eq!(
        booked(
            &mut plan,
            created,
            Step::Record {
                key: "SEC-1".into()
            }
        ),
        Next::Finish(Status::Created, "SEC-1".into())
    );
}

#[test]
fn with_a_shared_ledger_a_fresh_claim_creates_at_once() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    match sent(plan.start()) {
        Step::Claim { id, lease } => {
            assert_eq!(
                id,
                format!("https://acme.atlassian.net|{}", plan.fingerprint())
            );
            assert_eq!(lease, a.destination.timeout + LEASE_MARGIN);
        }
        other => panic!("{other:?}"),
    }
    let connect = sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    assert_eq!(connect, Step::Connect);
    let first = sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    assert!(matches!(first, Step::Create { .. }), "no search: {first:?}");
}

#[test]
fn a_take_over_searches_jira_first() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::TakeOver(holder())))));
    let first = sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    assert!(matches!(
        first,
        Step::Search {
            purpose: Purpose::EarlierDelivery,
            ..
        }
    ));
}

#[test]
fn a_recorded_run_is_a_duplicate_and_a_live_claim_is_in_progress() {
    let a = alert(true);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    assert_eq!(
        plan.on_reply(Ok(Reply::Claimed(Claim::Recorded("SEC-4".into())))),
        Next::Finish(Status::Duplicate, "SEC-4".into())
    );
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    // Busy until 40 s from now: SQS is asked to hold the message that long.
    let until_ms = (NOW as u64 + 40) * 1000;
    let f = failed(plan.on_reply(Ok(Reply::Claimed(Claim::Busy { until_ms }))));
    assert_eq!(f.class, FailureClass::InProgress);
    assert_eq!(f.retry_after, Some(Duration::from_secs(40)), "{f}");
}

#[test]
fn ledger_trouble_fails_before_jira_and_bookkeeping_trouble_does_not_undo_an_issue() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    let down = StepError::Ledger(LedgerError::Unavailable("ThrottlingException".into()));
    let f = failed(plan.on_reply(Err(down.clone())));
    assert_eq!(f.class, FailureClass::Ledger);
    assert!(f.message.starts_with("claiming the run"), "{f}");

    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    let record = sent(plan.on_reply(Ok(Reply::Created(created("SEC-5")))));
    assert_eq!(
        record,
        Step::Record {
            key: "SEC-5".into()
        }
    );
    assert_eq!(
        plan.on_reply(Err(down)),
        Next::Finish(Status::Created, "SEC-5".into())
    );
}

#[test]
fn a_lost_claim_stops_the_create() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    let lost = plan.on_reply(Err(StepError::Ledger(LedgerError::Lost)));
    let f = failed(booked(&mut plan, lost, Step::Release));
    assert_eq!(f.class, FailureClass::InProgress);
}

#[test]
fn a_failed_connection_releases_the_claim_and_keeps_its_own_message() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    let refused = Failure::bad_input("destination.instance_url: host not allowed", "fix");
    let next = plan.on_reply(Err(StepError::Failed(refused.clone())));
    assert_eq!(booked(&mut plan, next, Step::Release), Next::Fail(refused));
}

#[test]
fn a_taken_over_claim_is_never_released() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::TakeOver(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    // The search fails: the old holder may still have created the issue, so the next
    // delivery must take over (and search) again rather than start fresh.
    let refused = plan.on_reply(Err(StepError::Jira(JiraError::Forbidden {
        detail: "no".into(),
    })));
    let f = failed(booked(&mut plan, refused, Step::Park));
    assert_eq!(f.class, FailureClass::Permission);
}

mod create;
mod existing;
