//! The plan on existing issues: duplicates, repeats, runs finished, resumed clears.

use super::*;

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
fn a_label_edit_that_may_have_landed_parks_the_claim() {
    let a = alert(true);
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    let mark = sent(plan.on_reply(Ok(Reply::Found(vec![found("SEC-3")]))));
    assert!(matches!(mark, Step::EditLabels { .. }));
    // The fingerprint and state may be on the issue now: a fresh claim by the redelivery
    // would decide again from this run's own state (counting it twice).
    let next = plan.on_reply(Err(server_error()));
    let f = failed(booked(&mut plan, next, Step::Park));
    assert_eq!(f.retry_after, Some(Duration::from_secs(60)));
    // A refusal changed nothing: released.
    let mut plan = Plan::new(&a, true, NOW);
    started_on(&mut plan, ApiFlavor::V3);
    sent(plan.on_reply(Ok(Reply::Found(vec![found("SEC-3")]))));
    let next = plan.on_reply(Err(StepError::Jira(JiraError::Forbidden {
        detail: "no".into(),
    })));
    failed(booked(&mut plan, next, Step::Release));
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
