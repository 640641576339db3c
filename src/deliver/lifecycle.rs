//! The issue lifecycle (contract section 10), without I/O: what a run does to its
//! detection's latest issue (create, comment, reopen, resolve), which transition it takes,
//! and the state label that remembers, on the issue itself, what was applied.
//!
//! Jira is the state: the function keeps nothing of its own between runs, so any
//! container (with or without the ledger table) decides the same way. The state label
//! `detection-state-<ran_at epoch>-<action>-c<comments>-f<folded>` records the newest run
//! that acted on the issue, how, and how many comments and storm folds it carries.

use crate::alert::{Alert, Lifecycle};
use crate::deliver::outcome::{Reason, Status};
use crate::failure::{quote, Failure, FailureClass};
use crate::jira::{FoundIssue, JiraError, StatusCategory, Transition, TransitionChoice};

const STATE_PREFIX: &str = "detection-state-";
const PENDING_PREFIX: &str = "detection-pending-";

/// What a run does to an existing issue. Until it is done, the issue carries the run's
/// pending label (`detection-pending-<fingerprint>-<act>`), written with the run's
/// fingerprint before the comment and removed after the last step: a redelivery that
/// finds it finishes the run (the comment only if it is not there, the transition only if
/// the status is not there yet); one that finds the fingerprint alone is a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Resolve,
    Reopen,
    /// group_repeats: the run becomes a comment on the open issue.
    Repeat,
    /// Storm control.
    Fold,
    /// A run older than the one that last changed the issue.
    Older,
}

impl Act {
    const ALL: [Act; 5] = [
        Act::Resolve,
        Act::Reopen,
        Act::Repeat,
        Act::Fold,
        Act::Older,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Act::Resolve => "resolve",
            Act::Reopen => "reopen",
            Act::Repeat => "repeat",
            Act::Fold => "fold",
            Act::Older => "older",
        }
    }

    pub fn goal(self) -> Option<TransitionGoal> {
        match self {
            Act::Resolve => Some(TransitionGoal::Resolve),
            Act::Reopen => Some(TransitionGoal::Reopen),
            _ => None,
        }
    }

    pub fn status(self) -> Status {
        match self {
            Act::Resolve => Status::Resolved,
            Act::Reopen => Status::Reopened,
            _ => Status::Commented,
        }
    }

    /// Why the run became a comment, for the answer.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Act::Fold => Some(Reason::Storm),
            Act::Older => Some(Reason::OlderRun),
            _ => None,
        }
    }

    /// What the state label records.
    pub fn action(self) -> LastChange {
        match self {
            Act::Resolve => LastChange::Cleared,
            Act::Reopen => LastChange::Reopened,
            _ => LastChange::Commented,
        }
    }

    /// Whether the issue's status already is where the act's transition leads.
    pub fn transitioned(self, issue: &FoundIssue) -> bool {
        match self {
            Act::Resolve => issue.is_done(),
            Act::Reopen => issue.status_category.is_some() && !issue.is_done(),
            _ => true,
        }
    }

    /// The comment's note when a redelivery finishes the run (the first delivery's
    /// figures are not known then).
    pub fn resumed_note(self) -> &'static str {
        match self {
            Act::Resolve => "Detection cleared: a run found nothing (outcome NOT_MATCHED), so this issue is resolved.",
            Act::Reopen => "The detection matched again soon after this issue was resolved: reopening it.",
            Act::Repeat => "Repeated run of this detection (issue left open, so this run was added as a comment).",
            Act::Fold => "Storm control: the detection reached max_issues_per_hour, so this run was added here instead of a new issue.",
            Act::Older => "This run is older than the run that last changed this issue, so it was added as a comment and the issue's status was left as it is.",
        }
    }
}

/// The part of a fingerprint label that names the run.
fn run_id(fingerprint: &str) -> &str {
    fingerprint
        .strip_prefix("detection-run-")
        .unwrap_or(fingerprint)
}

pub fn pending_label(fingerprint: &str, act: Act) -> String {
    format!("{PENDING_PREFIX}{}-{}", run_id(fingerprint), act.as_str())
}

/// The act this run left pending on the issue, if any.
pub fn pending_of(issue: &FoundIssue, fingerprint: &str) -> Option<Act> {
    let prefix = format!("{PENDING_PREFIX}{}-", run_id(fingerprint));
    issue.labels.iter().find_map(|l| {
        let act = l.strip_prefix(&prefix)?;
        Act::ALL.into_iter().find(|a| a.as_str() == act)
    })
}

/// Whether a comment's text is this run's (every run comment names its fingerprint).
pub fn is_comment_of(comment: &str, fingerprint: &str) -> bool {
    comment.contains(run_id(fingerprint))
}

/// How far a run's ran_at may be ahead of this function's clock (seconds).
pub const MAX_SKEW: i64 = 300;

/// Jira takes at most 5,000 comments per issue; the function stops adding its own a little
/// before, leaving room for people's.
pub const COMMENT_LIMIT: u32 = 4_900;

/// What the newest run did to the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastChange {
    Created,
    Commented,
    Reopened,
    Cleared,
}

impl LastChange {
    fn as_str(self) -> &'static str {
        match self {
            LastChange::Created => "new",
            LastChange::Commented => "comment",
            LastChange::Reopened => "reopen",
            LastChange::Cleared => "clear",
        }
    }

    fn parse(s: &str) -> Option<LastChange> {
        [
            LastChange::Created,
            LastChange::Commented,
            LastChange::Reopened,
            LastChange::Cleared,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// The lifecycle state an issue carries in its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueState {
    /// ran_at (epoch seconds) of the newest run that acted on the issue.
    pub last_run: i64,
    pub action: LastChange,
    /// Comments the function added.
    pub comments: u32,
    /// Runs folded in by storm control.
    pub folded: u32,
}

impl IssueState {
    pub fn new(last_run: i64, action: LastChange) -> IssueState {
        IssueState {
            last_run,
            action,
            comments: 0,
            folded: 0,
        }
    }

    pub fn to_label(self) -> String {
        format!(
            "{STATE_PREFIX}{}-{}-c{}-f{}",
            self.last_run,
            self.action.as_str(),
            self.comments,
            self.folded
        )
    }

    fn parse_label(label: &str) -> Option<IssueState> {
        let rest = label.strip_prefix(STATE_PREFIX)?;
        // The epoch may be negative: split from the right.
        let mut parts = rest.rsplitn(4, '-');
        let folded = parts.next()?.strip_prefix('f')?.parse().ok()?;
        let comments = parts.next()?.strip_prefix('c')?.parse().ok()?;
        let action = LastChange::parse(parts.next()?)?;
        let last_run = parts.next()?.parse().ok()?;
        Some(IssueState {
            last_run,
            action,
            comments,
            folded,
        })
    }

    /// The issue's state at `now` (epoch seconds): the newest of its state labels (two
    /// racing runs may leave two). A state dated later than now plus the clock skew was
    /// not written by a run (no run counts as later than that): it is ignored.
    pub fn of(issue: &FoundIssue, now: i64) -> Option<IssueState> {
        issue
            .labels
            .iter()
            .filter_map(|l| IssueState::parse_label(l))
            .filter(|m| m.last_run <= now + MAX_SKEW)
            .max_by_key(|m| (m.last_run, m.comments))
    }

    /// The labels to remove when writing a new state (those `of` reads).
    pub fn labels_of(issue: &FoundIssue, now: i64) -> Vec<String> {
        issue
            .labels
            .iter()
            .filter(|l| IssueState::parse_label(l).is_some_and(|m| m.last_run <= now + MAX_SKEW))
            .cloned()
            .collect()
    }

    /// The state after `run` did `action` with a comment: the newest run wins the time.
    pub fn after(
        old: Option<IssueState>,
        run: i64,
        action: LastChange,
        folded: bool,
    ) -> IssueState {
        let old = old.unwrap_or(IssueState::new(run, action));
        let newer = run >= old.last_run;
        IssueState {
            last_run: old.last_run.max(run),
            action: if newer { action } else { old.action },
            comments: old.comments.saturating_add(1),
            folded: old.folded.saturating_add(u32::from(folded)),
        }
    }
}

/// Whether the function may still add its comments to the issue.
pub fn has_room(issue: &FoundIssue, now: i64) -> bool {
    IssueState::of(issue, now).is_none_or(|m| m.comments < COMMENT_LIMIT)
}

/// What a MATCHED run does, given the detection's latest issues (newest first).
#[derive(Debug, Clone, PartialEq)]
pub enum MatchDecision {
    Create,
    /// group_repeats: the open issue takes the run as a comment.
    Repeat(FoundIssue),
    /// Resolved recently: reopen it, `hours` after it was resolved.
    Reopen(FoundIssue, f64),
    /// Storm control: `count` issues in the last hour reached the limit; the run goes to
    /// the newest open issue (else the newest).
    Fold(FoundIssue, usize),
    /// A newer run already acted on the resolved issue: the run is kept as a comment but
    /// does not reopen it.
    Older(FoundIssue),
}

/// Decides a MATCHED run (`run`: its ran_at, or now) at time `now` (epoch seconds).
pub fn decide_matched(alert: &Alert, latest: &[FoundIssue], run: i64, now: i64) -> MatchDecision {
    let dest = &alert.destination;
    let life = &dest.lifecycle;
    let Some(last) = latest.first() else {
        return MatchDecision::Create;
    };
    let room = |i: &FoundIssue| has_room(i, now);
    let marker = IssueState::of(last, now);
    if last.is_done() && room(last) {
        if marker.is_some_and(|m| m.last_run > run) {
            return MatchDecision::Older(last.clone());
        }
        if life.reopen_within_hours > 0 {
            let hours = hours_since_resolved(last, marker, run, now);
            if let Some(h) = hours.filter(|h| *h < f64::from(life.reopen_within_hours)) {
                return MatchDecision::Reopen(last.clone(), h);
            }
        }
    }
    let open = latest.iter().find(|i| !i.is_done());
    if dest.group_repeats {
        if let Some(open) = open.filter(|i| room(i)) {
            return MatchDecision::Repeat(open.clone());
        }
    }
    if let Some(limit) = life.max_issues_per_hour {
        let recent = latest
            .iter()
            .filter(|i| i.created_at.is_some_and(|c| c > now - 3600))
            .count();
        let target = open.unwrap_or(last);
        if recent >= limit as usize && room(target) {
            return MatchDecision::Fold(target.clone(), recent);
        }
    }
    MatchDecision::Create
}

/// How many of the detection's newest issues a MATCHED run reads: enough to count a
/// storm's hour and to find an open issue behind a resolved one.
pub fn latest_wanted(alert: &Alert) -> u32 {
    let dest = &alert.destination;
    let storm = dest.lifecycle.max_issues_per_hour.unwrap_or(1);
    let repeats = if dest.group_repeats { 10 } else { 1 };
    storm.max(repeats).clamp(1, 50)
}

/// How long ago the issue was resolved, in hours. When this function resolved it, on the
/// detection's own clock (the clearing run's ran_at to this run's), so replays and late
/// deliveries decide as the runs happened; otherwise from Jira's resolution date to now.
fn hours_since_resolved(
    issue: &FoundIssue,
    marker: Option<IssueState>,
    run: i64,
    now: i64,
) -> Option<f64> {
    let seconds = match marker {
        Some(m) if m.action == LastChange::Cleared => run - m.last_run,
        _ => now - issue.resolved_at?,
    };
    Some(seconds.max(0) as f64 / 3600.0)
}

/// What a transition is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionGoal {
    Resolve,
    Reopen,
}

impl TransitionGoal {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionGoal::Resolve => "resolving the issue",
            TransitionGoal::Reopen => "reopening the issue",
        }
    }
}

/// Picks the transition: for resolving, the configured one (by id, else by name) or the
/// first into the `done` category; for reopening, the first into `new` or `indeterminate`.
/// Categories, never localised names, decide by default.
pub fn choose(
    transitions: &[Transition],
    goal: TransitionGoal,
    life: &Lifecycle,
    key: &str,
) -> Result<TransitionChoice, Failure> {
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    let chosen = match (goal, &life.resolve_transition) {
        (TransitionGoal::Resolve, Some(wanted)) => transitions
            .iter()
            .find(|t| &t.id == wanted)
            .or_else(|| transitions.iter().find(|t| same(&t.name, wanted))),
        (TransitionGoal::Resolve, None) => transitions
            .iter()
            .find(|t| t.to_category == StatusCategory::Done),
        (TransitionGoal::Reopen, _) => transitions.iter().find(|t| t.to_category.is_open()),
    };
    let done = |t: &&Transition| t.to_category == StatusCategory::Done;
    if let Some(t) = chosen.filter(|t| goal == TransitionGoal::Resolve && !done(t)) {
        return Err(Failure::new(
            FailureClass::BadInput,
            format!(
                "destination.resolve_transition {} leads to {} ({}), not to a status of the Done category",
                quote(&t.name),
                quote(&t.to_name),
                quote(t.to_category.key())
            ),
            format!(
                "the run's comment was added to {key}; {}",
                transition_fix(goal, life)
            ),
        ));
    }
    let Some(t) = chosen else {
        return Err(no_transition(transitions, goal, life, key));
    };
    // `Done` when offered, else the first offered.
    let resolution = t.required_resolution.as_ref().and_then(|offered| {
        offered
            .iter()
            .find(|r| r.eq_ignore_ascii_case("Done"))
            .or(offered.first())
            .cloned()
    });
    Ok(TransitionChoice {
        id: t.id.clone(),
        resolution,
    })
}

/// The transitions offered, for an error message (Jira's names, quoted and bounded).
fn available(transitions: &[Transition]) -> String {
    if transitions.is_empty() {
        return "none: the bot user may not transition this issue".into();
    }
    let mut list: Vec<String> = transitions
        .iter()
        .take(20)
        .map(|t| {
            format!(
                "{} (id {}, to {} [{}])",
                quote(&t.name),
                quote(&t.id),
                quote(&t.to_name),
                quote(t.to_category.key())
            )
        })
        .collect();
    if transitions.len() > 20 {
        list.push(format!("and {} more", transitions.len() - 20));
    }
    list.join(", ")
}

fn no_transition(
    transitions: &[Transition],
    goal: TransitionGoal,
    life: &Lifecycle,
    key: &str,
) -> Failure {
    let what = match (goal, &life.resolve_transition) {
        (TransitionGoal::Resolve, Some(w)) => format!(
            "destination.resolve_transition {} is not a transition of {key}",
            quote(w)
        ),
        (TransitionGoal::Resolve, None) => format!("{key} has no transition into a Done status"),
        (TransitionGoal::Reopen, _) => {
            format!("{key} has no transition back to a To Do or In Progress status")
        }
    };
    Failure::new(
        FailureClass::Rejected,
        format!("{what}; available: {}", available(transitions)),
        format!(
            "the run's comment was added to {key}; {}",
            transition_fix(goal, life)
        ),
    )
}

fn transition_fix(goal: TransitionGoal, life: &Lifecycle) -> String {
    match goal {
        TransitionGoal::Resolve if life.resolve_transition.is_some() => "set destination.resolve_transition to one of the available transitions (name or id), or leave it out to use the first into a Done status; the bot user needs the Transition Issues and Resolve Issues permissions".into(),
        TransitionGoal::Resolve => "add a transition into a Done status to the project's workflow, or set destination.resolve_transition; the bot user needs the Transition Issues and Resolve Issues permissions".into(),
        TransitionGoal::Reopen => "add a transition out of Done (e.g. Reopen) to the project's workflow, or set reopen_within_hours to 0; the bot user needs the Transition Issues permission".into(),
    }
}

/// A transition Jira refused: its text, and the fix. The comment stays on the issue.
pub fn refused(e: JiraError, goal: TransitionGoal, life: &Lifecycle, key: &str) -> Failure {
    let mut f = Failure::from(e).at(goal.as_str());
    if f.class == FailureClass::Rejected || f.class == FailureClass::Permission {
        f.fix = format!(
            "the run's comment was added to {key}; {}",
            transition_fix(goal, life)
        );
    }
    f
}

#[cfg(test)]
mod tests;
