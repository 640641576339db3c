use super::*;
use crate::alert::{triage, Triage};
use crate::deliver::plan::CREATED_ANYWAY_WAIT;
use crate::deliver::step::Link;
use crate::failure::FailureClass;
use crate::jira::CreatedIssue;
use crate::ledger::{Claim, Holder, LedgerError, LEASE_MARGIN};
use crate::retry::Policy;
use serde_json::json;
use serde_json::Value;
use std::collections::BTreeMap;

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
fn an_earlier_delivery_answers_duplicate_without_a_create() {
    let a = alert(true);
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    let found = plan.on_reply(Ok(Reply::Found(vec![found("SEC-9")])));
    assert_eq!(
        booked(
            &mut plan,
            found,
            Step::Record {
                key: "SEC-9".into()
            }
        ),
        Next::Finish(Status::Duplicate, "SEC-9".into())
    );
}

#[test]
fn a_repeat_labels_the_open_issue_then_comments_then_unmarks() {
    let a = alert(true);
    let mut plan = Plan::new(&a, false, NOW);
    let fp = plan.fingerprint().to_string();
    let run = fp.strip_prefix("detection-run-").unwrap().to_string();
    started_on(&mut plan, ApiFlavor::V2);
    let open = sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    assert_eq!(
        open,
        Step::Search {
            query: IssueQuery::labelled("SEC", "detection-id-7")
                .open_only()
                .newest_first(1),
            purpose: Purpose::OpenIssue,
        }
    );
    let pending = format!("detection-pending-{run}-repeat");
    // The fingerprint and the pending label first: a redelivery finds them. The state
    // counts the function's comments (a new issue before Jira's 5,000).
    let mark = sent(plan.on_reply(Ok(Reply::Found(vec![found("SEC-3")]))));
    let state = IssueState::after(None, plan.run, LastChange::Commented, false).to_label();
    assert_eq!(
        mark,
        Step::EditLabels {
            key: "SEC-3".into(),
            add: vec![fp.clone(), pending.clone(), state],
            remove: vec![],
            stage: Stage::Mark
        }
    );
    assert_eq!(
        mark.policy(),
        Policy::Idempotent,
        "label edits are idempotent"
    );
    let comment = sent(plan.on_reply(Ok(Reply::Ack)));
    match &comment {
        Step::Comment { key, body } => {
            assert_eq!(key, "SEC-3");
            // v2: wiki text, saying why it is a comment and naming the run.
            let text = body.as_str().unwrap();
            assert!(text.contains("Repeated run of this detection"), "{text}");
            assert!(text.contains(&run), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sent(plan.on_reply(Ok(Reply::Ack))),
        Step::EditLabels {
            key: "SEC-3".into(),
            add: vec![],
            remove: vec![pending],
            stage: Stage::Unmark
        }
    );
    let unmarked = plan.on_reply(Ok(Reply::Ack));
    assert_eq!(
        booked(
            &mut plan,
            unmarked,
            Step::Record {
                key: "SEC-3".into()
            }
        ),
        Next::Finish(Status::Commented, "SEC-3".into())
    );
}

#[test]
fn a_run_found_with_its_pending_label_is_finished_without_a_second_comment() {
    let a = alert(true);
    let mut plan = Plan::new(&a, false, NOW);
    let fp = plan.fingerprint().to_string();
    let run = fp.strip_prefix("detection-run-").unwrap().to_string();
    let search = started(&mut plan);
    assert!(matches!(
        search,
        Step::Search {
            purpose: Purpose::EarlierDelivery,
            ..
        }
    ));
    let mut issue = found("SEC-3");
    issue.labels = vec![fp.clone(), format!("detection-pending-{run}-repeat")];
    let read = sent(plan.on_reply(Ok(Reply::Found(vec![issue]))));
    assert_eq!(
        read,
        Step::Comments {
            key: "SEC-3".into()
        }
    );
    // The comment is there (it names the run): straight to the pending label.
    let theirs = format!("... Run fingerprint: {fp}");
    let next = sent(plan.on_reply(Ok(Reply::Comments(vec!["other".into(), theirs]))));
    assert!(
        matches!(
            next,
            Step::EditLabels {
                stage: Stage::Unmark,
                ..
            }
        ),
        "{next:?}"
    );

    // Without its comment: the comment is made.
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    let mut issue = found("SEC-3");
    issue.labels = vec![fp.clone(), format!("detection-pending-{run}-repeat")];
    sent(plan.on_reply(Ok(Reply::Found(vec![issue]))));
    let next = sent(plan.on_reply(Ok(Reply::Comments(vec!["other".into()]))));
    assert!(matches!(next, Step::Comment { .. }), "{next:?}");

    // The fingerprint alone: a duplicate.
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    let mut issue = found("SEC-3");
    issue.labels = vec![fp];
    let next = plan.on_reply(Ok(Reply::Found(vec![issue])));
    assert!(matches!(next, Next::Send(Step::Record { .. })), "{next:?}");
}

#[test]
fn a_repeat_with_nothing_open_creates_a_new_issue() {
    let a = alert(true);
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    let create = sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    assert!(matches!(create, Step::Create { .. }));
}

#[test]
fn a_rejected_optional_field_is_dropped_once_and_noted() {
    let a = alert(false);
    let mut plan = Plan::new(&a, false, NOW);
    started_on(&mut plan, ApiFlavor::V2);
    let first = sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    assert_eq!(body_of(&first)["fields"]["priority"]["name"], "Urgent");
    let again = sent(plan.on_reply(Err(rejected(&[(
        "priority",
        "The priority selected is invalid.",
    )]))));
    let body = body_of(&again);
    assert!(body["fields"].get("priority").is_none());
    let description = body["fields"]["description"].as_str().unwrap();
    assert!(description.contains("The priority selected is invalid."));
    // Only once: a second rejection fails, naming the step (after releasing the claim).
    let refused = plan.on_reply(Err(rejected(&[("labels", "bad")])));
    let f = failed(booked(&mut plan, refused, Step::Release));
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(f.message.starts_with("creating the issue: "), "{f}");
}

#[test]
fn a_rejected_required_field_fails_with_the_matching_fix() {
    let a = alert(false);
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    let refused = plan.on_reply(Err(rejected(&[
        ("priority", "The priority selected is invalid."),
        ("issuetype", "The issue type selected is invalid."),
    ])));
    let f = failed(booked(&mut plan, refused, Step::Release));
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(f.fix.contains("issue type"), "{}", f.fix);
}

#[test]
fn other_errors_fail_naming_the_step() {
    let a = alert(false);
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    let refused = plan.on_reply(Err(StepError::Jira(JiraError::Forbidden {
        detail: "You do not have permission to browse this project.".into(),
    })));
    let f = failed(booked(&mut plan, refused, Step::Release));
    assert_eq!(f.class, FailureClass::Permission);
    assert!(f.message.starts_with("searching for an earlier delivery"));
    let mut plan = Plan::new(&a, false, NOW).allowing(Duration::from_secs(30));
    started(&mut plan);
    sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    // A create that may have reached Jira keeps the claim: parked, not released, and a
    // search after Cloud's index allowance settles it.
    let wait = sent(plan.on_reply(Err(StepError::Jira(JiraError::NoAnswer {
        detail: "timed out".into(),
    }))));
    assert_eq!(wait, Step::Wait(Duration::from_secs(30)));
    let no_time = plan.on_reply(Err(StepError::Failed(Failure::deadline())));
    let f = failed(booked(&mut plan, no_time, Step::Park));
    assert_eq!(f.class, FailureClass::InProgress);
    assert_eq!(f.retry_after, Some(Duration::from_secs(30)));
    assert!(f.message.starts_with("creating the issue: "), "{f}");
}

#[test]
fn a_detection_id_is_a_label_value_whatever_it_holds() {
    let mut a = alert(true);
    a.detection.id = "x\" OR project = \"OTHER".into();
    let mut plan = Plan::new(&a, false, NOW);
    started(&mut plan);
    match sent(plan.on_reply(Ok(Reply::Found(vec![])))) {
        Step::Search { query, .. } => {
            assert_eq!(query.label, "detection-id-x\"-OR-project-=-\"OTHER");
            assert_eq!(query.project, "SEC");
        }
        other => panic!("{other:?}"),
    }
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
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
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
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
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

fn server_error() -> StepError {
    StepError::Jira(JiraError::Server {
        status: 500,
        detail: "post-function failed".into(),
    })
}

#[test]
fn a_create_answered_5xx_is_searched_for_before_another_create() {
    let a = alert(false);
    // Cloud: the search is trusted once the index allowance has passed.
    let mut plan = Plan::new(&a, true, NOW).allowing(Duration::from_secs(45));
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    assert_eq!(
        sent(plan.on_reply(Err(server_error()))),
        Step::Wait(Duration::from_secs(45))
    );
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V2.into()))));
    // Server/DC indexes with the create: a short wait for a create still under way.
    assert_eq!(
        sent(plan.on_reply(Err(server_error()))),
        Step::Wait(CREATED_ANYWAY_WAIT)
    );
    let search = sent(plan.on_reply(Ok(Reply::Ack)));
    assert!(matches!(
        search,
        Step::Search {
            purpose: Purpose::CreatedAnyway,
            ..
        }
    ));
    // It did happen: that issue is this run's, answered as created.
    let found = plan.on_reply(Ok(Reply::Found(vec![found("SEC-8")])));
    assert_eq!(
        booked(
            &mut plan,
            found,
            Step::Record {
                key: "SEC-8".into()
            }
        ),
        Next::Finish(Status::Created, "SEC-8".into())
    );
}

#[test]
fn a_create_that_keeps_failing_keeps_the_claim() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V2.into()))));
    for round in 0..3u32 {
        let wait = sent(plan.on_reply(Err(server_error())));
        assert_eq!(wait, Step::Wait(CREATED_ANYWAY_WAIT * (1 << round)));
        sent(plan.on_reply(Ok(Reply::Ack)));
        let again = sent(plan.on_reply(Ok(Reply::Found(vec![]))));
        assert!(matches!(again, Step::Create { .. }));
    }
    // Nothing says whether the last happened: parked, a later delivery searches.
    let last = plan.on_reply(Err(server_error()));
    let f = failed(booked(&mut plan, last, Step::Park));
    assert_eq!(f.class, FailureClass::Jira5xx);
    assert_eq!(f.retry_after, Some(Duration::from_secs(60)));
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

#[test]
fn an_unreadable_create_answer_keeps_the_claim() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    // Jira may have made it: searched for after the allowance before anything else.
    let wait = sent(plan.on_reply(Err(StepError::Jira(JiraError::BadResponse {
        detail: "HTTP 201 with a body that is not JSON".into(),
    }))));
    assert_eq!(wait, Step::Wait(Duration::from_secs(60)));
    let search = sent(plan.on_reply(Ok(Reply::Ack)));
    assert!(matches!(
        search,
        Step::Search {
            purpose: Purpose::CreatedAnyway,
            ..
        }
    ));
}

#[test]
fn a_label_edit_that_may_have_landed_parks_the_claim() {
    let a = alert(true);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    let mark = sent(plan.on_reply(Ok(Reply::Found(vec![found("SEC-3")]))));
    assert!(matches!(mark, Step::EditLabels { .. }));
    // The fingerprint and state may be on the issue now: a fresh claim by the redelivery
    // would decide again from this run's own state (counting it twice).
    let next = plan.on_reply(Err(server_error()));
    let f = failed(booked(&mut plan, next, Step::Park));
    assert_eq!(f.retry_after, Some(Duration::from_secs(60)));
    // A refusal changed nothing: released.
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    sent(plan.on_reply(Ok(Reply::Found(vec![found("SEC-3")]))));
    let next = plan.on_reply(Err(StepError::Jira(JiraError::Forbidden {
        detail: "no".into(),
    })));
    failed(booked(&mut plan, next, Step::Release));
}

#[test]
fn a_key_recorded_first_by_another_delivery_is_the_answer() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into()))));
    let record = sent(plan.on_reply(Ok(Reply::Created(created("SEC-6")))));
    assert_eq!(
        record,
        Step::Record {
            key: "SEC-6".into()
        }
    );
    assert_eq!(
        plan.on_reply(Ok(Reply::Recorded(Recorded::Other("SEC-5".into())))),
        Next::Finish(Status::Duplicate, "SEC-5".into())
    );
}

#[test]
fn group_repeats_opens_a_new_issue_once_the_open_one_is_full_of_comments() {
    let a = alert(true);
    let mut plan = Plan::new(&a, false, NOW);
    started_on(&mut plan, ApiFlavor::V2);
    sent(plan.on_reply(Ok(Reply::Found(vec![]))));
    let mut full = found("SEC-3");
    let mut m = IssueState::new(plan.run, LastChange::Commented);
    m.comments = lifecycle::COMMENT_LIMIT;
    full.labels.push(m.to_label());
    let next = sent(plan.on_reply(Ok(Reply::Found(vec![full]))));
    assert!(matches!(next, Step::Create { .. }), "{next:?}");
}

#[test]
fn a_resumed_clear_does_not_undo_a_newer_run() {
    let mut a = alert(false);
    a.destination.lifecycle.resolve_when_clear = true;
    a.detection.outcome = crate::alert::RunOutcome::NotMatched;
    let mut plan = Plan::new(&a, false, NOW);
    let fp = plan.fingerprint().to_string();
    started(&mut plan);
    // This clear stopped half way; a newer run has acted on the issue since.
    let mut issue = found("SEC-3");
    issue.status_category = Some("indeterminate".into());
    issue.labels = vec![
        fp.clone(),
        pending_label(&fp, Act::Resolve),
        IssueState::new(plan.run + 300, LastChange::Commented).to_label(),
    ];
    let comments = sent(plan.on_reply(Ok(Reply::Found(vec![issue]))));
    assert_eq!(
        comments,
        Step::Comments {
            key: "SEC-3".into()
        }
    );
    let comment_of_this_run = format!("... Run fingerprint: {fp}");
    // Its comment is there: no transition, only its pending label goes.
    let unmark = sent(plan.on_reply(Ok(Reply::Comments(vec![comment_of_this_run]))));
    assert_eq!(
        unmark,
        Step::EditLabels {
            key: "SEC-3".into(),
            add: vec![],
            remove: vec![pending_label(&fp, Act::Resolve)],
            stage: Stage::Unmark
        }
    );
    let end = plan.on_reply(Ok(Reply::Ack));
    assert_eq!(
        booked(
            &mut plan,
            end,
            Step::Record {
                key: "SEC-3".into()
            }
        ),
        Next::Finish(Status::Commented, "SEC-3".into())
    );
    assert_eq!(plan.reason(), Some(Reason::OlderRun));
}

#[test]
fn the_wait_before_trusting_a_search_goes_by_the_site_not_the_api_version() {
    let a = alert(false);
    let ambiguous = || {
        StepError::Jira(JiraError::NoAnswer {
            detail: "timed out".into(),
        })
    };
    // Jira Cloud asked for REST v2: its index still lags.
    let mut plan = Plan::new(&a, true, NOW).allowing(Duration::from_secs(45));
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    let cloud_v2 = Link {
        flavor: ApiFlavor::V2,
        index_lags: true,
    };
    sent(plan.on_reply(Ok(Reply::Connected(cloud_v2))));
    assert_eq!(
        sent(plan.on_reply(Err(ambiguous()))),
        Step::Wait(Duration::from_secs(45))
    );
    // Server/DC without an answer: the create may run on for the request's timeout.
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V2.into()))));
    assert_eq!(
        sent(plan.on_reply(Err(ambiguous()))),
        Step::Wait(a.destination.timeout + CREATED_ANYWAY_WAIT)
    );
}
