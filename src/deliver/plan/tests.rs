use super::*;
use crate::alert::{triage, Triage};
use crate::failure::FailureClass;
use serde_json::json;
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

fn body_of(step: &Step) -> Value {
    match step {
        Step::Create { body } => serde_json::from_str(body).unwrap(),
        other => panic!("expected a create, got {other:?}"),
    }
}

fn rejected(fields: &[(&str, &str)]) -> JiraError {
    JiraError::Rejected {
        status: 400,
        messages: vec![],
        field_errors: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn a_new_run_is_searched_for_then_created_with_its_labels() {
    let a = alert(false);
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    let fp = plan.fingerprint().to_string();
    let search = sent(plan.start());
    assert_eq!(
        search,
        Step::Search {
            jql: format!("project = \"SEC\" AND labels = \"{fp}\""),
            purpose: Purpose::EarlierDelivery
        }
    );
    assert_eq!(search.policy(), Policy::Read);
    let create = sent(plan.on_reply(Ok(Reply::Found(None))));
    assert_eq!(create.policy(), Policy::Write);
    let labels = body_of(&create)["fields"]["labels"].clone();
    assert_eq!(labels, json!(["security-detection", fp, "detection-id-7"]));
    assert_eq!(
        plan.on_reply(Ok(Reply::Created("SEC-1".into()))),
        Next::Finish(Status::Created, "SEC-1".into())
    );
}

#[test]
fn an_earlier_delivery_answers_duplicate_without_a_create() {
    let a = alert(true);
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    assert_eq!(
        plan.on_reply(Ok(Reply::Found(Some("SEC-9".into())))),
        Next::Finish(Status::Duplicate, "SEC-9".into())
    );
}

#[test]
fn a_repeat_comments_on_the_open_issue_then_labels_it() {
    let a = alert(true);
    let mut plan = Plan::new(&a, ApiFlavor::V2);
    let fp = plan.fingerprint().to_string();
    sent(plan.start());
    let open = sent(plan.on_reply(Ok(Reply::Found(None))));
    assert_eq!(
        open,
        Step::Search {
            jql: "project = \"SEC\" AND labels = \"detection-id-7\" AND statusCategory != Done ORDER BY created DESC".into(),
            purpose: Purpose::OpenIssue
        }
    );
    let comment = sent(plan.on_reply(Ok(Reply::Found(Some("SEC-3".into())))));
    match &comment {
        Step::Comment { key, body } => {
            assert_eq!(key, "SEC-3");
            // v2: wiki text, saying why it is a comment.
            let text = body.as_str().unwrap();
            assert!(text.contains("Repeated run of this detection"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sent(plan.on_reply(Ok(Reply::Done))),
        Step::AddLabels {
            key: "SEC-3".into(),
            labels: vec![fp]
        }
    );
    assert_eq!(
        plan.on_reply(Ok(Reply::Done)),
        Next::Finish(Status::Commented, "SEC-3".into())
    );
}

#[test]
fn a_repeat_with_nothing_open_creates_a_new_issue() {
    let a = alert(true);
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Found(None))));
    let create = sent(plan.on_reply(Ok(Reply::Found(None))));
    assert!(matches!(create, Step::Create { .. }));
}

#[test]
fn a_rejected_optional_field_is_dropped_once_and_noted() {
    let a = alert(false);
    let mut plan = Plan::new(&a, ApiFlavor::V2);
    sent(plan.start());
    let first = sent(plan.on_reply(Ok(Reply::Found(None))));
    assert_eq!(body_of(&first)["fields"]["priority"]["name"], "Urgent");
    let again = sent(plan.on_reply(Err(rejected(&[(
        "priority",
        "The priority selected is invalid.",
    )]))));
    let body = body_of(&again);
    assert!(body["fields"].get("priority").is_none());
    let description = body["fields"]["description"].as_str().unwrap();
    assert!(description.contains("The priority selected is invalid."));
    // Only once: a second rejection fails, naming the step.
    let f = failed(plan.on_reply(Err(rejected(&[("labels", "bad")]))));
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(f.message.starts_with("creating the issue: "), "{f}");
}

#[test]
fn a_rejected_required_field_fails_with_the_matching_fix() {
    let a = alert(false);
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Found(None))));
    let f = failed(plan.on_reply(Err(rejected(&[
        ("priority", "The priority selected is invalid."),
        ("issuetype", "The issue type selected is invalid."),
    ]))));
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(f.fix.contains("issue type"), "{}", f.fix);
}

#[test]
fn other_errors_fail_naming_the_step() {
    let a = alert(false);
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    let f = failed(plan.on_reply(Err(JiraError::Forbidden {
        detail: "You do not have permission to browse this project.".into(),
    })));
    assert_eq!(f.class, FailureClass::Permission);
    assert!(f.message.starts_with("searching for an earlier delivery"));
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Found(None))));
    let f = failed(plan.on_reply(Err(JiraError::NoAnswer {
        detail: "timed out".into(),
    })));
    assert_eq!(f.class, FailureClass::Timeout);
}

#[test]
fn jql_values_are_quoted() {
    let mut a = alert(true);
    a.detection.id = "x\" OR project = \"OTHER".into();
    let mut plan = Plan::new(&a, ApiFlavor::V3);
    sent(plan.start());
    match sent(plan.on_reply(Ok(Reply::Found(None)))) {
        Step::Search { jql, .. } => assert!(
            jql.contains(r#"labels = "detection-id-x\"-OR-project-=-\"OTHER""#),
            "{jql}"
        ),
        other => panic!("{other:?}"),
    }
}
