//! The issue lifecycle (contract section 10) over real HTTP against the strict fake Jira,
//! Cloud (v3, ADF comments, a simplified workflow) and Server/DC (v2, wiki comments, the
//! classic workflow whose Resolve screen requires a resolution): resolve, reopen, storm
//! control, out-of-order runs, redeliveries to a fresh container.

use crate::common::*;
use fake_jira::{FakeJira, Flavor};
use serde_json::{json, Value};

const FLAVORS: [Flavor; 2] = [Flavor::Cloud, Flavor::Server];

/// A run of the sample detection at 10:`minute` with `outcome` and extra destination fields.
fn run_at(jira: &FakeJira, outcome: &str, minute: u32, dest: Value) -> Value {
    let mut a = alert(&jira.base_url);
    a["detection"]["outcome"] = json!(outcome);
    a["detection"]["ran_at"] = json!(format!("2026-11-24T10:{minute:02}:00Z"));
    a["detection"]["search_id"] = json!(format!("srch-{minute}"));
    for (k, v) in dest.as_object().unwrap() {
        a["destination"][k] = v.clone();
    }
    a
}

fn resolving() -> Value {
    json!({"resolve_when_clear": true})
}

/// One issue of the fake by key.
fn issue(jira: &FakeJira, key: &str) -> fake_jira::Issue {
    jira.issue(key).unwrap_or_else(|| panic!("{key} not found"))
}

/// The text of a comment: ADF (v3) or wiki (v2).
fn comment_text(c: &Value) -> String {
    c.as_str().map_or_else(|| c.to_string(), str::to_string)
}

#[tokio::test]
async fn a_clear_comments_on_and_resolves_the_open_issue() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let created = invoke(&app, run_at(&jira, "MATCHED", 0, resolving()))
            .await
            .unwrap();
        let key = created["issue_key"].as_str().unwrap().to_string();
        let answer = invoke(&app, run_at(&jira, "NOT_MATCHED", 5, resolving()))
            .await
            .unwrap();
        assert_eq!(answer["status"], "resolved", "{flavor:?}: {answer}");
        assert_eq!(answer["issue_key"], key.as_str());
        assert_eq!(
            answer["issue_url"],
            format!("{}/browse/{key}", jira.base_url)
        );
        let i = issue(&jira, &key);
        assert_eq!(i.status_category, "done", "{flavor:?}");
        assert_eq!(i.comments.len(), 1, "{flavor:?}");
        let text = comment_text(&i.comments[0]);
        assert!(text.contains("Detection cleared"), "{text}");
        assert!(text.contains("10:05:00Z"), "{text}");
        match flavor {
            // Cloud: the Done transition's post-function sets the resolution.
            Flavor::Cloud => {
                assert!(i.comments[0].is_object(), "an ADF comment");
                assert_eq!(i.resolution.as_deref(), Some("Done"));
            }
            // Server/DC: the first transition into Done requires one; Done is not
            // offered, so the first offered is sent.
            Flavor::Server => {
                assert!(i.comments[0].is_string(), "a wiki comment");
                assert_eq!(i.resolution.as_deref(), Some("Fixed"));
            }
        }
    }
}

#[tokio::test]
async fn a_clear_with_nothing_open_is_skipped() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let answer = invoke(&app, run_at(&jira, "NOT_MATCHED", 5, resolving()))
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"status": "skipped", "reason": "nothing open"})
        );
        assert!(jira.transitions_applied().is_empty());
        // Without resolve_when_clear a clear is not even looked at.
        let quiet = invoke(&app, run_at(&jira, "NOT_MATCHED", 6, json!({})))
            .await
            .unwrap();
        assert_eq!(quiet["status"], "skipped");
        assert!(paths(&jira).iter().all(|p| !p.contains("/transitions")));
    }
}

#[tokio::test]
async fn a_named_resolve_transition_is_used_by_name_or_id() {
    for (flavor, named, status) in [
        (Flavor::Server, json!("close issue"), "Closed"),
        (Flavor::Cloud, json!(31), "Done"),
    ] {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let dest = json!({"resolve_when_clear": true, "resolve_transition": named});
        let created = invoke(&app, run_at(&jira, "MATCHED", 0, dest.clone()))
            .await
            .unwrap();
        let key = created["issue_key"].as_str().unwrap();
        let answer = invoke(&app, run_at(&jira, "NOT_MATCHED", 5, dest))
            .await
            .unwrap();
        assert_eq!(answer["status"], "resolved", "{answer}");
        assert_eq!(issue(&jira, key).status, status, "{flavor:?}");
    }
}

#[tokio::test]
async fn an_unknown_transition_fails_with_a_fix_and_keeps_the_comment() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let dest = json!({"resolve_when_clear": true, "resolve_transition": "Archive"});
        let created = invoke(&app, run_at(&jira, "MATCHED", 0, dest.clone()))
            .await
            .unwrap();
        let key = created["issue_key"].as_str().unwrap().to_string();
        let f = invoke(&app, run_at(&jira, "NOT_MATCHED", 5, dest))
            .await
            .unwrap_err();
        assert_eq!(f.class.as_str(), "rejected");
        assert!(
            f.message.contains("\"Archive\" is not a transition of"),
            "{}",
            f.message
        );
        assert!(f.message.contains("available:"), "{}", f.message);
        assert!(f.fix.contains("resolve_transition"), "{}", f.fix);
        let i = issue(&jira, &key);
        assert_eq!(
            (i.comments.len(), i.status_category.as_str()),
            (1, "new"),
            "{flavor:?}"
        );
    }
}

#[tokio::test]
async fn a_bot_that_may_not_transition_is_told_the_fix_and_its_comments_stay() {
    // Jira offers no transition to a user without the permission (the refusal of a
    // transition Jira offered, with Jira's text, is in src/deliver/tests/lifecycle.rs).
    let jira = fake(Flavor::Server).await;
    jira.configure(|c| c.no_transition_users.push(USER.into()));
    let app = app(&jira);
    let created = invoke(&app, run_at(&jira, "MATCHED", 0, resolving()))
        .await
        .unwrap();
    let key = created["issue_key"].as_str().unwrap().to_string();
    let f = invoke(&app, run_at(&jira, "NOT_MATCHED", 5, resolving()))
        .await
        .unwrap_err();
    assert!(f.message.contains("may not transition"), "{}", f.message);
    assert!(f.fix.contains("Transition Issues"), "{}", f.fix);
    let dest = json!({"resolve_when_clear": true, "resolve_transition": "5"});
    let f = invoke(&app, run_at(&jira, "NOT_MATCHED", 6, dest))
        .await
        .unwrap_err();
    assert!(f.message.contains("not a transition of"), "{}", f.message);
    assert_eq!(issue(&jira, &key).comments.len(), 2, "both comments kept");
    assert!(jira.transitions_applied().is_empty());
}

#[tokio::test]
async fn a_match_reopens_a_recently_resolved_issue_and_a_later_one_is_new() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let dest = json!({"resolve_when_clear": true, "reopen_within_hours": 1});
        let first = invoke(&app, run_at(&jira, "MATCHED", 0, dest.clone()))
            .await
            .unwrap();
        let key = first["issue_key"].as_str().unwrap().to_string();
        invoke(&app, run_at(&jira, "NOT_MATCHED", 5, dest.clone()))
            .await
            .unwrap();
        let back = invoke(&app, run_at(&jira, "MATCHED", 30, dest.clone()))
            .await
            .unwrap();
        assert_eq!(back["status"], "reopened", "{flavor:?}: {back}");
        assert_eq!(back["issue_key"], key.as_str());
        let i = issue(&jira, &key);
        assert_ne!(i.status_category, "done");
        assert_eq!(i.resolution, None, "reopening clears the resolution");
        assert_eq!(i.comments.len(), 2);
        assert!(comment_text(&i.comments[1]).contains("matched again"));

        // Cleared again at 10:40; the next match at 11:45 is past the hour: a new issue.
        invoke(&app, run_at(&jira, "NOT_MATCHED", 40, dest.clone()))
            .await
            .unwrap();
        let mut late = run_at(&jira, "MATCHED", 0, dest);
        late["detection"]["ran_at"] = json!("2026-11-24T11:45:00Z");
        let answer = invoke(&app, late).await.unwrap();
        assert_eq!(answer["status"], "created", "{flavor:?}: {answer}");
        assert_ne!(answer["issue_key"], key.as_str());
    }
}

#[tokio::test]
async fn an_issue_resolved_by_hand_long_ago_is_not_reopened() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let dest = json!({"reopen_within_hours": 24});
    let first = invoke(&app, run_at(&jira, "MATCHED", 0, dest.clone()))
        .await
        .unwrap();
    let key = first["issue_key"].as_str().unwrap().to_string();
    jira.set_status(&key, "Done");
    jira.set_resolution(&key, Some("Done"));
    jira.set_resolved_at(&key, "2020-01-01T00:00:00.000+0000");
    let answer = invoke(&app, run_at(&jira, "MATCHED", 10, dest.clone()))
        .await
        .unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    // Resolved by hand just now: reopened.
    let key2 = answer["issue_key"].as_str().unwrap().to_string();
    jira.set_status(&key2, "Done");
    jira.set_resolution(&key2, Some("Done"));
    let answer = invoke(&app, run_at(&jira, "MATCHED", 20, dest))
        .await
        .unwrap();
    assert_eq!(answer["status"], "reopened", "{answer}");
    assert_eq!(answer["issue_key"], key2.as_str());
}

#[tokio::test]
async fn a_storm_of_five_runs_with_a_limit_of_two_makes_two_issues() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        // Cloud's index lags: only the ids the container remembers are read fresh.
        jira.configure(|c| c.defer_indexing = flavor == Flavor::Cloud);
        let app = app(&jira);
        let dest = json!({"max_issues_per_hour": 2});
        let bodies: Vec<(String, String)> = (0..5)
            .map(|m| {
                (
                    format!("m{m}"),
                    run_at(&jira, "MATCHED", m, dest.clone()).to_string(),
                )
            })
            .collect();
        let refs: Vec<(&str, String)> = bodies
            .iter()
            .map(|(i, b)| (i.as_str(), b.clone()))
            .collect();
        let answer = invoke(&app, sqs(&refs, QUEUE)).await.unwrap();
        assert!(failures(&answer).is_empty(), "{answer}");
        let issues = jira.created();
        assert_eq!(issues.len(), 2, "{flavor:?}");
        let comments: usize = issues.iter().map(|i| i.comments.len()).sum();
        assert_eq!(comments, 3, "{flavor:?}");
        let folded = issues.iter().find(|i| !i.comments.is_empty()).unwrap();
        let last = comment_text(&folded.comments.last().unwrap().body);
        assert!(last.contains("Storm control"), "{last}");
        assert!(
            last.contains("Runs folded into this issue so far: 3"),
            "{last}"
        );
    }
}

#[tokio::test]
async fn a_storm_fold_answers_commented_with_its_reason() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let dest = json!({"max_issues_per_hour": 1});
    invoke(&app, run_at(&jira, "MATCHED", 0, dest.clone()))
        .await
        .unwrap();
    let answer = invoke(&app, run_at(&jira, "MATCHED", 1, dest))
        .await
        .unwrap();
    assert_eq!(answer["status"], "commented");
    assert_eq!(answer["reason"], "storm");
}

#[tokio::test]
async fn an_older_clear_does_not_resolve_a_newer_runs_issue() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let created = invoke(&app, run_at(&jira, "MATCHED", 30, resolving()))
            .await
            .unwrap();
        let key = created["issue_key"].as_str().unwrap().to_string();
        let answer = invoke(&app, run_at(&jira, "NOT_MATCHED", 10, resolving()))
            .await
            .unwrap();
        assert_eq!(answer, json!({"status": "skipped", "reason": "older run"}));
        let i = issue(&jira, &key);
        assert_eq!(
            (i.status_category.as_str(), i.comments.len()),
            ("new", 0),
            "{flavor:?}"
        );
        // A newer clear does.
        let answer = invoke(&app, run_at(&jira, "NOT_MATCHED", 40, resolving()))
            .await
            .unwrap();
        assert_eq!(answer["status"], "resolved");
    }
}

#[tokio::test]
async fn a_redelivered_clear_or_reopen_to_a_fresh_container_is_applied_once() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let dest = json!({"resolve_when_clear": true, "reopen_within_hours": 2});
        invoke(&app(&jira), run_at(&jira, "MATCHED", 0, dest.clone()))
            .await
            .unwrap();
        let clear = run_at(&jira, "NOT_MATCHED", 5, dest.clone());
        let reopen = run_at(&jira, "MATCHED", 20, dest);
        for event in [clear, reopen] {
            let first = invoke(&app(&jira), event.clone()).await.unwrap();
            let (comments, transitions) = (
                jira.created()[0].comments.len(),
                jira.transitions_applied().len(),
            );
            // Each redelivery lands in a container of its own: only Jira remembers.
            for _ in 0..2 {
                let again = invoke(&app(&jira), event.clone()).await.unwrap();
                assert_eq!(again["status"], "duplicate", "{flavor:?}: {again}");
                assert_eq!(again["issue_key"], first["issue_key"]);
            }
            assert_eq!(jira.created()[0].comments.len(), comments, "{flavor:?}");
            assert_eq!(jira.transitions_applied().len(), transitions, "{flavor:?}");
        }
        assert_eq!(jira.created().len(), 1);
        assert_eq!(jira.transitions_applied().len(), 2);
    }
}

#[tokio::test]
async fn a_transition_lost_after_the_comment_is_made_by_the_redelivery_alone() {
    for flavor in FLAVORS {
        let jira = fake(flavor).await;
        let created = invoke(&app(&jira), run_at(&jira, "MATCHED", 0, resolving()))
            .await
            .unwrap();
        let key = created["issue_key"].as_str().unwrap().to_string();
        // Every try of the transition fails this time.
        for _ in 0..10 {
            jira.push_fault(
                "/transitions",
                fake_jira::FaultKind::Status {
                    status: 503,
                    retry_after: None,
                },
            );
        }
        let clear = run_at(&jira, "NOT_MATCHED", 5, resolving());
        let f = invoke_within(
            &app(&jira),
            clear.clone(),
            std::time::Duration::from_secs(3),
        )
        .await
        .unwrap_err();
        assert_ne!(f.class.as_str(), "bad-input", "{f}");
        assert_eq!(issue(&jira, &key).comments.len(), 1);
        jira.clear_faults();
        let answer = invoke(&app(&jira), clear).await.unwrap();
        assert_eq!(answer["status"], "resolved", "{flavor:?}: {answer}");
        let i = issue(&jira, &key);
        assert_eq!(
            (i.comments.len(), i.status_category.as_str()),
            (1, "done"),
            "{flavor:?}"
        );
    }
}
