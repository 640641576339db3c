//! The lifecycle end to end against the in-memory Jira: resolve, reopen, storm control,
//! out-of-order runs and redeliveries (the HTTP tests in tests/it/lifecycle.rs cross the
//! wire for Cloud and Server/DC).

use super::*;
use crate::jira::Transition;

/// The deliverer's ledger clock starts here (see `paused_clock`).
const START: i64 = 1_700_000_000;

fn lifecycle_deliverer() -> Memory {
    let d = deliverer(Deployment::Cloud, TOKEN);
    d.jira.set_now(START);
    d
}

/// A run of detection 7 at `minute` past 10:00 on a day of 2023 (before `START`'s clock,
/// so the runs' own times and the ledger clock agree).
fn run(outcome: &str, minute: u32, dest: serde_json::Value) -> Alert {
    alert(|v| {
        v["detection"]["outcome"] = json!(outcome);
        v["detection"]["ran_at"] = json!(format!("2023-11-14T10:{minute:02}:00Z"));
        for (k, val) in dest.as_object().unwrap() {
            v["destination"][k] = val.clone();
        }
    })
}

async fn outcome(d: &Memory, a: &Alert) -> Result<Outcome, Failure> {
    d.deliver(a, later(), &Meter::default()).await
}

fn status(o: &Outcome) -> (String, Option<String>) {
    match o {
        Outcome::Delivered(d) => (
            d.status.as_str().into(),
            d.reason.map(|r| r.as_str().to_string()),
        ),
        Outcome::Skipped(reason) => ("skipped".into(), Some(reason.text())),
    }
}

fn resolving() -> serde_json::Value {
    json!({"resolve_when_clear": true})
}

#[tokio::test(start_paused = true)]
async fn a_clear_comments_then_resolves_and_its_redelivery_changes_nothing() {
    let d = lifecycle_deliverer();
    let created = deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
    assert_eq!(created.status, Status::Created);
    let clear = run("NOT_MATCHED", 5, resolving());
    let resolved = deliver(&d, &clear).await.unwrap();
    assert_eq!(
        (resolved.status, resolved.issue_key.as_str()),
        (Status::Resolved, "SEC-1")
    );
    let issue = &d.jira.issues()[0];
    assert_eq!(issue.status_category, "done");
    assert_eq!(issue.comments.len(), 1);
    assert!(issue.comments[0].to_string().contains("Detection cleared"));
    assert_eq!(
        d.jira.transitions_made(),
        [("SEC-1".into(), "31".into(), None)]
    );

    let again = deliver(&d, &clear).await.unwrap();
    assert_eq!(again.status, Status::Duplicate);
    assert_eq!(d.jira.issues()[0].comments.len(), 1);
    assert_eq!(d.jira.transitions_made().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_clear_with_nothing_open_is_skipped() {
    let d = lifecycle_deliverer();
    let o = outcome(&d, &run("NOT_MATCHED", 5, resolving()))
        .await
        .unwrap();
    assert_eq!(status(&o), ("skipped".into(), Some("nothing open".into())));
    assert_eq!(d.jira.count(Op::Transition), 0);
}

#[tokio::test(start_paused = true)]
async fn an_older_clear_leaves_a_newer_runs_issue_open() {
    let d = lifecycle_deliverer();
    deliver(&d, &run("MATCHED", 10, resolving())).await.unwrap();
    let o = outcome(&d, &run("NOT_MATCHED", 5, resolving()))
        .await
        .unwrap();
    assert_eq!(status(&o), ("skipped".into(), Some("older run".into())));
    let issue = &d.jira.issues()[0];
    assert_eq!(
        (issue.status_category.key(), issue.comments.len()),
        ("new", 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_required_resolution_is_sent_and_a_named_transition_is_used() {
    let d = lifecycle_deliverer();
    let offered = Some(vec!["Fixed".to_string(), "Won't Fix".to_string()]);
    d.jira.set_workflow(vec![
        Transition {
            id: "5".into(),
            name: "Resolve Issue".into(),
            to_name: "Resolved".into(),
            to_category: "done".into(),
            required_resolution: offered.clone(),
        },
        Transition {
            id: "2".into(),
            name: "Close Issue".into(),
            to_name: "Closed".into(),
            to_category: "done".into(),
            required_resolution: offered,
        },
    ]);
    let dest = json!({"resolve_when_clear": true, "resolve_transition": "Close Issue"});
    deliver(&d, &run("MATCHED", 0, dest.clone())).await.unwrap();
    let done = deliver(&d, &run("NOT_MATCHED", 5, dest)).await.unwrap();
    assert_eq!(done.status, Status::Resolved);
    assert_eq!(
        d.jira.transitions_made(),
        [("SEC-1".into(), "2".into(), Some("Fixed".into()))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_transition_keeps_the_comment_and_is_retried_without_another() {
    let d = lifecycle_deliverer();
    let dest = json!({"resolve_when_clear": true});
    deliver(&d, &run("MATCHED", 0, dest.clone())).await.unwrap();
    d.jira.fail_next(
        Op::Transition,
        JiraError::Rejected {
            status: 400,
            messages: vec!["Transition id '31' is not valid for this issue.".into()],
            field_errors: Default::default(),
        },
    );
    let clear = run("NOT_MATCHED", 5, dest);
    let f = outcome(&d, &clear).await.unwrap_err();
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(f.message.contains("resolving the issue"), "{}", f.message);
    assert!(
        f.message.contains("Transition id '31' is not valid"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("comment was added to SEC-1"), "{}", f.fix);
    assert_eq!(d.jira.issues()[0].comments.len(), 1);
    // The redelivery, once the claim may be taken over, makes only the transition.
    tokio::time::advance(Duration::from_secs(120)).await;
    let done = deliver(&d, &clear).await.unwrap();
    assert_eq!(done.status, Status::Resolved);
    assert_eq!(d.jira.issues()[0].comments.len(), 1);
    assert_eq!(d.jira.issues()[0].status_category, "done");
}

#[tokio::test(start_paused = true)]
async fn a_match_reopens_a_recently_cleared_issue_once() {
    let d = lifecycle_deliverer();
    let dest = json!({"resolve_when_clear": true, "reopen_within_hours": 1});
    deliver(&d, &run("MATCHED", 0, dest.clone())).await.unwrap();
    deliver(&d, &run("NOT_MATCHED", 5, dest.clone()))
        .await
        .unwrap();
    let back = run("MATCHED", 30, dest.clone());
    let reopened = deliver(&d, &back).await.unwrap();
    assert_eq!(
        (reopened.status, reopened.issue_key.as_str()),
        (Status::Reopened, "SEC-1")
    );
    let issue = &d.jira.issues()[0];
    assert_eq!(issue.status_category, "new");
    assert_eq!(issue.comments.len(), 2);
    assert_eq!(d.jira.transitions_made()[1].1, "11", "To Do, by category");
    let again = deliver(&d, &back).await.unwrap();
    assert_eq!(again.status, Status::Duplicate);
    assert_eq!(d.jira.transitions_made().len(), 2);
    assert_eq!(d.jira.issues().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_match_long_after_the_clear_is_a_new_issue() {
    let d = lifecycle_deliverer();
    let dest = json!({"resolve_when_clear": true, "reopen_within_hours": 1});
    deliver(&d, &run("MATCHED", 0, dest.clone())).await.unwrap();
    deliver(&d, &run("NOT_MATCHED", 5, dest.clone()))
        .await
        .unwrap();
    // 10:05 cleared, 11:10 matched again: past the hour.
    let later_run = alert(|v| {
        v["detection"]["ran_at"] = json!("2023-11-14T11:10:00Z");
        v["destination"]["resolve_when_clear"] = json!(true);
        v["destination"]["reopen_within_hours"] = json!(1);
    });
    let created = deliver(&d, &later_run).await.unwrap();
    assert_eq!(
        (created.status, created.issue_key.as_str()),
        (Status::Created, "SEC-2")
    );
}

#[tokio::test(start_paused = true)]
async fn a_storm_is_folded_into_the_latest_issue() {
    let d = lifecycle_deliverer();
    let dest = json!({"max_issues_per_hour": 2});
    let mut answers = Vec::new();
    for minute in 0..5 {
        let o = outcome(&d, &run("MATCHED", minute, dest.clone()))
            .await
            .unwrap();
        answers.push(status(&o));
    }
    let created = ("created".to_string(), None);
    let folded = ("commented".to_string(), Some("storm".to_string()));
    assert_eq!(
        answers,
        [
            created.clone(),
            created,
            folded.clone(),
            folded.clone(),
            folded
        ]
    );
    let issues = d.jira.issues();
    assert_eq!(issues.len(), 2);
    assert_eq!(issues[1].comments.len(), 3);
    let last = issues[1].comments[2].to_string();
    assert!(
        last.contains("Runs folded into this issue so far: 3"),
        "{last}"
    );
    // An hour later a new issue may be created again.
    d.jira.set_now(START + 3600);
    tokio::time::advance(Duration::from_secs(3600)).await;
    let o = outcome(&d, &run("MATCHED", 59, dest)).await.unwrap();
    assert_eq!(status(&o), ("created".into(), None));
}

#[tokio::test(start_paused = true)]
async fn a_clear_right_after_the_create_sees_it_inside_the_index_lag() {
    let d = lifecycle_deliverer();
    d.jira.set_index_lag(true);
    deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
    // The issue is not indexed yet: only its id, which the container remembers for the
    // detection, makes the search see it (Cloud's reconcileIssues).
    let resolved = deliver(&d, &run("NOT_MATCHED", 5, resolving()))
        .await
        .unwrap();
    assert_eq!(resolved.status, Status::Resolved);
}

// Scenarios from an adversarial review: each once broke a promise.

/// A run of detection 7 at `ran_at` (or none).
fn run_at(outcome: &str, ran_at: Option<&str>, dest: serde_json::Value) -> Alert {
    alert(|v| {
        v["detection"]["outcome"] = json!(outcome);
        match ran_at {
            Some(t) => v["detection"]["ran_at"] = json!(t),
            None => {
                v["detection"].as_object_mut().unwrap().remove("ran_at");
            }
        }
        for (k, val) in dest.as_object().unwrap() {
            v["destination"][k] = val.clone();
        }
    })
}

/// A container of its own (a per-container ledger) on a shared Jira.
fn container(
    shared: &Arc<MemoryJira>,
) -> Deliverer<Arc<MemoryJira>, Mutex<HashMap<String, String>>> {
    let secrets = Mutex::new(HashMap::from([(
        "jira/secops".to_string(),
        TOKEN.to_string(),
    )]));
    Deliverer::new(
        shared.clone(),
        SecretCache::new(secrets, Duration::from_secs(300)),
        AllowedHosts::parse("acme.atlassian.net").unwrap(),
        Ledger::Memory(MemoryLedger::new(paused_clock(), Duration::from_secs(60))),
    )
}

#[tokio::test(start_paused = true)]
async fn a_failed_label_edit_or_a_lost_comment_answer_never_doubles_the_comment() {
    for fault in ["label edit 502", "comment answer lost"] {
        let d = lifecycle_deliverer();
        deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
        match fault {
            "label edit 502" => {
                // Every try of the first label edit fails: nothing is commented yet.
                for _ in 0..6 {
                    d.jira.fail_next(
                        Op::EditLabels,
                        JiraError::Server {
                            status: 502,
                            detail: "bad gateway".into(),
                        },
                    );
                }
            }
            _ => d.jira.apply_then_fail_next(
                Op::AddComment,
                JiraError::NoAnswer {
                    detail: "timed out after 30.0s".into(),
                },
            ),
        }
        let clear = run("NOT_MATCHED", 5, resolving());
        outcome(&d, &clear).await.unwrap_err();
        tokio::time::advance(Duration::from_secs(120)).await;
        let done = deliver(&d, &clear).await.unwrap();
        assert_eq!(done.status, Status::Resolved, "{fault}");
        let issue = &d.jira.issues()[0];
        assert_eq!(issue.comments.len(), 1, "{fault}");
        assert_eq!(issue.status_category, "done", "{fault}");
        assert!(
            !issue
                .labels
                .iter()
                .any(|l| l.starts_with("detection-pending-")),
            "{fault}: {:?}",
            issue.labels
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_label_edit_jira_refuses_says_so_and_comments_nothing() {
    let d = lifecycle_deliverer();
    deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
    let clear = run("NOT_MATCHED", 5, resolving());
    for _ in 0..3 {
        d.jira.fail_next(
            Op::EditLabels,
            JiraError::Forbidden {
                detail: "You do not have permission to edit issues in this project.".into(),
            },
        );
        let f = outcome(&d, &clear).await.unwrap_err();
        assert!(f.fix.contains("Edit Issues"), "{}", f.fix);
        assert!(!f.fix.contains("Create Issues"), "{}", f.fix);
        tokio::time::advance(Duration::from_secs(1200)).await;
    }
    assert_eq!(d.jira.issues()[0].comments.len(), 0);
    d.jira.fail_next(
        Op::AddComment,
        JiraError::Forbidden {
            detail: "You do not have the permission to comment on this issue.".into(),
        },
    );
    let f = outcome(&d, &clear).await.unwrap_err();
    assert!(f.fix.contains("Add Comments"), "{}", f.fix);
}

#[tokio::test(start_paused = true)]
async fn a_clear_without_ran_at_finishes_its_transition_on_redelivery() {
    let d = lifecycle_deliverer();
    deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
    d.jira.fail_next(
        Op::Transition,
        JiraError::Server {
            status: 500,
            detail: "boom".into(),
        },
    );
    let clear = run_at("NOT_MATCHED", None, resolving());
    outcome(&d, &clear).await.unwrap_err();
    tokio::time::advance(Duration::from_secs(120)).await;
    let done = deliver(&d, &clear).await.unwrap();
    assert_eq!(done.status, Status::Resolved);
    let issue = &d.jira.issues()[0];
    assert_eq!(
        (issue.status_category.key(), issue.comments.len()),
        ("done", 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_storm_folds_into_the_open_issue_not_a_resolved_one() {
    let d = lifecycle_deliverer();
    let dest = json!({"resolve_when_clear": true, "max_issues_per_hour": 2});
    // A flapping detection: two issues made and cleared, then matching again.
    for (o, minute) in [("MATCHED", 0), ("NOT_MATCHED", 5), ("MATCHED", 10)] {
        outcome(&d, &run(o, minute, dest.clone())).await.unwrap();
    }
    // SEC-2 is open: the third match folds into it.
    let o = outcome(&d, &run("MATCHED", 12, dest.clone()))
        .await
        .unwrap();
    assert_eq!(status(&o), ("commented".into(), Some("storm".into())));
    assert_eq!(d.jira.issues()[1].comments.len(), 1);
    outcome(&d, &run("NOT_MATCHED", 15, dest.clone()))
        .await
        .unwrap();
    let o = outcome(&d, &run("MATCHED", 20, dest)).await.unwrap();
    // Everything is resolved and two issues were made this hour: the newest takes it.
    assert_eq!(status(&o), ("commented".into(), Some("storm".into())));
}

#[tokio::test(start_paused = true)]
async fn an_older_match_after_a_newer_clear_is_a_comment_not_a_new_issue() {
    let d = lifecycle_deliverer();
    deliver(&d, &run("MATCHED", 0, resolving())).await.unwrap();
    deliver(&d, &run("NOT_MATCHED", 10, resolving()))
        .await
        .unwrap();
    let o = outcome(&d, &run("MATCHED", 5, resolving())).await.unwrap();
    assert_eq!(status(&o), ("commented".into(), Some("older run".into())));
    let issues = d.jira.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].status_category, "done");
}

#[tokio::test(start_paused = true)]
async fn a_finished_reopen_redelivered_elsewhere_after_a_person_resolved_it_changes_nothing() {
    let shared = Arc::new(MemoryJira::new(Deployment::Cloud, TOKEN));
    shared.set_now(START);
    let a = container(&shared);
    let dest = json!({"resolve_when_clear": true, "reopen_within_hours": 1});
    for (o, minute) in [("MATCHED", 0), ("NOT_MATCHED", 5)] {
        a.deliver(&run(o, minute, dest.clone()), later(), &Meter::default())
            .await
            .unwrap();
    }
    let back = run("MATCHED", 30, dest);
    let o = a.deliver(&back, later(), &Meter::default()).await.unwrap();
    assert_eq!(status(&o), ("reopened".into(), None));
    // A person closes it as a false positive; the reopen reaches a fresh container.
    shared.resolve("SEC-1", 0);
    let o = container(&shared)
        .deliver(&back, later(), &Meter::default())
        .await
        .unwrap();
    assert_eq!(status(&o), ("duplicate".into(), None));
    assert_eq!(shared.transitions_made().len(), 2);
    assert_eq!(shared.issues()[0].status_category, "done");
}

#[tokio::test(start_paused = true)]
async fn group_repeats_finds_the_open_issue_behind_a_resolved_one() {
    let d = lifecycle_deliverer();
    deliver(&d, &run("MATCHED", 0, json!({}))).await.unwrap();
    deliver(&d, &run("MATCHED", 1, json!({}))).await.unwrap();
    d.jira.resolve("SEC-2", 5);
    let dest = json!({"group_repeats": true, "reopen_within_hours": 1});
    let o = outcome(&d, &run("MATCHED", 2, dest)).await.unwrap();
    assert_eq!(status(&o), ("commented".into(), None));
    assert_eq!(d.jira.issues()[0].comments.len(), 1, "on SEC-1");
}

#[tokio::test(start_paused = true)]
async fn a_run_from_the_future_pins_nothing() {
    let d = lifecycle_deliverer();
    deliver(
        &d,
        &run_at("MATCHED", Some("2099-01-01T00:00:00Z"), resolving()),
    )
    .await
    .unwrap();
    // Ten minutes after the ledger clock's now: counts as newer than the first run,
    // which was taken as now plus five minutes at most.
    let clear = run_at("NOT_MATCHED", Some("2023-11-14T22:23:20Z"), resolving());
    let done = deliver(&d, &clear).await.unwrap();
    assert_eq!(done.status, Status::Resolved);
}

#[tokio::test(start_paused = true)]
async fn the_storm_limit_holds_at_its_largest_value() {
    let d = lifecycle_deliverer();
    let dest = json!({"max_issues_per_hour": 50});
    for i in 0..52u32 {
        let at = format!("2023-11-14T10:{:02}:{:02}Z", i / 60, i % 60);
        outcome(&d, &run_at("MATCHED", Some(&at), dest.clone()))
            .await
            .unwrap();
    }
    assert_eq!(d.jira.issues().len(), 50);
}
