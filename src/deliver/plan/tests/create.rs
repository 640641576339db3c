//! The plan's creates: optional fields left out, ambiguous creates searched for.

use super::*;

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
fn a_create_answered_5xx_is_searched_for_before_another_create() {
    let a = alert(false);
    // Cloud: the search is trusted once the index allowance has passed.
    let mut plan = Plan::new(&a, true, NOW).allowing(Duration::from_secs(45));
    started_on(&mut plan, ApiFlavor::V3);
    assert_eq!(
        sent(plan.on_reply(Err(server_error()))),
        Step::Wait(Duration::from_secs(45))
    );
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V2);
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
    started_on(&mut plan, ApiFlavor::V2);
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
fn an_unreadable_create_answer_keeps_the_claim() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
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
fn a_key_recorded_first_by_another_delivery_is_the_answer() {
    let a = alert(false);
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
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
    started_on(&mut plan, ApiFlavor::V2);
    assert_eq!(
        sent(plan.on_reply(Err(ambiguous()))),
        Step::Wait(a.destination.timeout + CREATED_ANYWAY_WAIT)
    );
}

#[test]
fn fields_are_converted_to_the_screens_types_and_what_cannot_fit_is_left_out() {
    let mut a = alert(false);
    let v = json!({"components": "SOC, Cloud", "Story Points": "abc", "Sprint": "x", "customfield_2": {"id": "7"}});
    a.destination.fields = crate::alert::tests_support::fields(v);
    let mut plan = Plan::new(&a, true, NOW);
    sent(plan.start());
    sent(plan.on_reply(Ok(Reply::Claimed(Claim::Fresh(holder())))));
    // Creating needs the create screen first.
    assert_eq!(
        sent(plan.on_reply(Ok(Reply::Connected(ApiFlavor::V3.into())))),
        Step::FieldMeta
    );
    let meta = std::sync::Arc::new(vec![
        FieldMeta {
            id: "components".into(),
            name: "Components".into(),
            kind: "array".into(),
            items: Some("component".into()),
            ..FieldMeta::default()
        },
        FieldMeta {
            id: "customfield_1".into(),
            name: "Story Points".into(),
            kind: "number".into(),
            ..FieldMeta::default()
        },
        FieldMeta {
            id: "customfield_2".into(),
            name: "Team".into(),
            kind: "option".into(),
            ..FieldMeta::default()
        },
    ]);
    let create = sent(plan.on_reply(Ok(Reply::Fields(meta))));
    let body = body_of(&create);
    assert_eq!(
        body["fields"]["components"],
        json!([{"name": "SOC"}, {"name": "Cloud"}])
    );
    assert_eq!(body["fields"]["customfield_2"], json!({"id": "7"}));
    assert!(body["fields"].get("customfield_1").is_none());
    let description = body["fields"]["description"].to_string();
    assert!(description.contains("takes a number"), "{description}");
    assert!(
        description.contains("is not a field of the create screen"),
        "{description}"
    );
    assert_eq!(
        plan.notes(),
        ["left out fields that do not fit: Story Points, Sprint (the description says why)"]
    );
}

#[test]
fn a_field_name_two_fields_share_refuses_the_alert() {
    let mut a = alert(false);
    a.destination.fields = crate::alert::tests_support::fields(json!({"Team": "Red"}));
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    let team = |id: &str| FieldMeta {
        id: id.into(),
        name: "Team".into(),
        kind: "option".into(),
        ..FieldMeta::default()
    };
    let meta = std::sync::Arc::new(vec![team("customfield_1"), team("customfield_2")]);
    let next = plan.on_reply(Ok(Reply::Fields(meta)));
    let f = failed(booked(&mut plan, next, Step::Release));
    assert_eq!(f.class, FailureClass::BadInput);
    assert!(f.message.contains("customfield_1, customfield_2"), "{f}");
}

#[test]
fn a_field_the_function_sets_is_left_out_also_when_named_by_its_name() {
    let mut a = alert(false);
    a.destination.fields = crate::alert::tests_support::fields(json!({"Issue Type": "Bug"}));
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    let meta = std::sync::Arc::new(vec![FieldMeta {
        id: "issuetype".into(),
        name: "Issue Type".into(),
        kind: "issuetype".into(),
        ..FieldMeta::default()
    }]);
    let body = body_of(&sent(plan.on_reply(Ok(Reply::Fields(meta)))));
    assert_eq!(body["fields"]["issuetype"], json!({"name": "Task"}));
    assert!(
        body.to_string().matches("\"issuetype\"").count() == 1,
        "{body}"
    );
    assert!(body["fields"]["description"]
        .to_string()
        .contains("a field the function sets itself"));
}
