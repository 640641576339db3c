use super::*;
use crate::alert::{triage, Triage};
use serde_json::{json, Value};

// Jira's category keys, as its answers carry them.
const NEW: &str = "new";
const IN_PROGRESS: &str = "indeterminate";
const DONE: &str = "done";

const HOUR: i64 = 3600;
const NOW: i64 = 1_795_600_000;

fn alert(dest: Value) -> Alert {
    let mut v = json!({
        "destination": {"instance_url": "https://acme.atlassian.net", "email": "bot@acme.example",
                        "api_token_secret": "jira/secops", "project_key": "SEC"},
        "detection": {"id": 7, "name": "n", "severity": "HIGH", "outcome": "MATCHED",
                      "ran_at": "2026-11-24T10:00:00Z", "search_id": "s1"}
    });
    for (k, val) in dest.as_object().unwrap() {
        v["destination"][k] = val.clone();
    }
    match triage(&v).unwrap() {
        Triage::Deliver(a) => *a,
        other => panic!("{other:?}"),
    }
}

fn issue(key: &str, category: &str, created: i64, labels: &[String]) -> FoundIssue {
    FoundIssue {
        key: key.into(),
        id: None,
        status_category: Some(category.into()),
        resolved_at: (category == DONE).then_some(created + 60),
        created_at: Some(created),
        labels: labels.to_vec(),
    }
}

fn transition(id: &str, name: &str, category: &str, resolution: Option<&[&str]>) -> Transition {
    Transition {
        id: id.into(),
        name: name.into(),
        to_name: name.into(),
        to_category: category.into(),
        required_resolution: resolution.map(|r| r.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn the_state_label_round_trips_and_the_newest_wins() {
    let m = IssueState {
        last_run: 1_795_514_400,
        action: LastChange::Cleared,
        comments: 3,
        folded: 1,
    };
    assert_eq!(m.to_label(), "detection-state-1795514400-clear-c3-f1");
    let old = IssueState::new(-5, LastChange::Created).to_label();
    assert_eq!(
        IssueState::parse_label(&old),
        Some(IssueState::new(-5, LastChange::Created))
    );
    let i = issue(
        "SEC-1",
        NEW,
        0,
        &[old.clone(), m.to_label(), "detection-state-x".into()],
    );
    let now = m.last_run;
    assert_eq!(IssueState::of(&i, now), Some(m));
    assert_eq!(
        IssueState::labels_of(&i, now),
        vec![old.clone(), m.to_label()]
    );
    // A state dated past now plus the skew was written by hand: ignored, and left alone.
    let future = IssueState::new(4_102_444_800, LastChange::Cleared).to_label();
    let j = issue("SEC-1", NEW, 0, &[m.to_label(), future]);
    assert_eq!(IssueState::of(&j, now), Some(m));
    assert_eq!(IssueState::labels_of(&j, now), vec![m.to_label()]);
    assert_eq!(
        IssueState::of(&j, 4_102_444_800 - 300).map(|m| m.last_run),
        Some(4_102_444_800)
    );
    // An older run's comment counts, but does not take the time or the action.
    let after = IssueState::after(Some(m), m.last_run - 10, LastChange::Commented, true);
    assert_eq!(
        (after.last_run, after.action, after.comments, after.folded),
        (m.last_run, LastChange::Cleared, 4, 2)
    );
}

#[test]
fn a_clear_resolves_through_the_first_done_transition_with_a_resolution_when_required() {
    let life = Lifecycle::default();
    let cloud = [
        transition("11", "To Do", NEW, None),
        transition("31", "Fertig", DONE, None),
    ];
    assert_eq!(
        choose(&cloud, TransitionGoal::Resolve, &life, "SEC-1")
            .unwrap()
            .to_body(),
        json!({"transition": {"id": "31"}})
    );
    let server = [
        transition("4", "Start Progress", IN_PROGRESS, None),
        transition("5", "Resolve Issue", DONE, Some(&["Fixed", "Won't Fix"])),
        transition("2", "Close Issue", DONE, Some(&["Won't Fix", "done"])),
    ];
    assert_eq!(
        choose(&server, TransitionGoal::Resolve, &life, "SEC-1")
            .unwrap()
            .to_body(),
        json!({"transition": {"id": "5"}, "fields": {"resolution": {"name": "Fixed"}}})
    );
    let named = |w: &str| Lifecycle {
        resolve_transition: Some(w.into()),
        ..Lifecycle::default()
    };
    assert_eq!(
        choose(
            &server,
            TransitionGoal::Resolve,
            &named("close issue"),
            "SEC-1"
        )
        .unwrap()
        .to_body(),
        json!({"transition": {"id": "2"}, "fields": {"resolution": {"name": "done"}}})
    );
    assert_eq!(
        choose(&server, TransitionGoal::Resolve, &named("5"), "SEC-1")
            .unwrap()
            .id,
        "5"
    );
    // Reopening takes the first transition back to To Do or In Progress.
    assert_eq!(
        choose(&server, TransitionGoal::Reopen, &life, "SEC-1")
            .unwrap()
            .id,
        "4"
    );
}

#[test]
fn a_missing_transition_names_what_is_there_and_the_fix() {
    let server = [transition("5", "Resolve Issue", DONE, Some(&["Fixed"]))];
    let life = Lifecycle {
        resolve_transition: Some("Abschließen".into()),
        ..Lifecycle::default()
    };
    let f = choose(&server, TransitionGoal::Resolve, &life, "SEC-1").unwrap_err();
    assert_eq!(f.class, FailureClass::Rejected);
    assert!(
        f.message.contains("not a transition of SEC-1"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains(r#""Resolve Issue" (id "5", to "Resolve Issue" ["done"])"#),
        "{}",
        f.message
    );
    assert!(f.fix.contains("comment was added to SEC-1"), "{}", f.fix);
    assert!(f.fix.contains("resolve_transition"), "{}", f.fix);
    let none = choose(&[], TransitionGoal::Reopen, &Lifecycle::default(), "SEC-1").unwrap_err();
    assert!(
        none.message.contains("may not transition"),
        "{}",
        none.message
    );
}

#[test]
fn a_match_reopens_inside_the_window_and_creates_outside_it() {
    let a = alert(json!({"reopen_within_hours": 24}));
    let run = a.detection.ran_at_epoch.unwrap();
    // Resolved by hand 3 h ago (Jira's resolution date): reopened.
    let by_hand = issue("SEC-1", DONE, NOW - 3 * HOUR, &[]);
    assert!(
        matches!(decide_matched(&a, &[by_hand], run, NOW), MatchDecision::Reopen(i, h) if i.key == "SEC-1" && (h - 3.0).abs() < 0.1)
    );
    // Resolved by hand 30 h ago: a new issue.
    let old = issue("SEC-1", DONE, NOW - 31 * HOUR, &[]);
    assert_eq!(decide_matched(&a, &[old], run, NOW), MatchDecision::Create);
    // Cleared by this function: the runs' own clock decides (the clear ran 25 h before).
    let cleared = IssueState::new(run - 25 * HOUR, LastChange::Cleared).to_label();
    let i = issue("SEC-1", DONE, NOW - HOUR, &[cleared]);
    assert_eq!(decide_matched(&a, &[i], run, NOW), MatchDecision::Create);
    let cleared = IssueState::new(run - HOUR, LastChange::Cleared).to_label();
    let i = issue("SEC-1", DONE, NOW - HOUR, &[cleared]);
    assert!(matches!(
        decide_matched(&a, &[i], run, NOW),
        MatchDecision::Reopen(..)
    ));
    // Cleared by a newer run: this older match does not reopen it.
    let newer = IssueState::new(run + HOUR, LastChange::Cleared).to_label();
    let i = issue("SEC-1", DONE, NOW - HOUR, &[newer]);
    assert!(matches!(
        decide_matched(&a, &[i], run, NOW),
        MatchDecision::Older(_)
    ));
    // Reopening off: a resolved issue is left alone.
    let off = alert(json!({"resolve_when_clear": true}));
    let i = issue("SEC-1", DONE, NOW - HOUR, &[]);
    assert_eq!(decide_matched(&off, &[i], run, NOW), MatchDecision::Create);
}

#[test]
fn storm_control_counts_the_last_hour_and_folds_into_the_latest() {
    let a = alert(json!({"max_issues_per_hour": 2}));
    let run = a.detection.ran_at_epoch.unwrap();
    let one = [issue("SEC-2", NEW, NOW - 60, &[])];
    assert_eq!(decide_matched(&a, &one, run, NOW), MatchDecision::Create);
    let two = [
        issue("SEC-3", NEW, NOW - 60, &[]),
        issue("SEC-2", DONE, NOW - 120, &[]),
    ];
    assert!(
        matches!(decide_matched(&a, &two, run, NOW), MatchDecision::Fold(i, 2) if i.key == "SEC-3")
    );
    // An hour later the window has moved on.
    assert_eq!(
        decide_matched(&a, &two, run, NOW + HOUR),
        MatchDecision::Create
    );
    // A full issue (by the function's own count) gets no more comments: a new one.
    let full = IssueState {
        comments: COMMENT_LIMIT,
        ..IssueState::new(run, LastChange::Commented)
    };
    let two_full = [
        issue("SEC-3", NEW, NOW - 60, &[full.to_label()]),
        issue("SEC-2", NEW, NOW - 120, &[]),
    ];
    assert_eq!(
        decide_matched(&a, &two_full, run, NOW),
        MatchDecision::Create
    );
}

#[test]
fn group_repeats_comments_on_the_open_issue() {
    let a = alert(json!({"group_repeats": true, "max_issues_per_hour": 5}));
    let run = a.detection.ran_at_epoch.unwrap();
    let latest = [
        issue("SEC-3", DONE, NOW - 60, &[]),
        issue("SEC-2", IN_PROGRESS, NOW - 120, &[]),
    ];
    assert!(
        matches!(decide_matched(&a, &latest, run, NOW), MatchDecision::Repeat(i) if i.key == "SEC-2")
    );
    assert_eq!(decide_matched(&a, &[], run, NOW), MatchDecision::Create);
}
