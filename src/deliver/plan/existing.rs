//! The plan's part for an issue that exists: an earlier delivery of this run found (a
//! duplicate, or a run to finish), the detection's issues looked at (repeat, reopen, storm
//! fold, an older run), a clear's resolve; then the steps on that issue (labels, comment,
//! transition, labels again).

use super::{Next, Plan, Target};
use crate::deliver::lifecycle::{
    decide_matched, latest_wanted, pending_label, pending_of, Act, IssueState, MatchDecision,
};
use crate::deliver::outcome::{Skip, Status};
use crate::deliver::step::{Purpose, Stage, Step};
use crate::issue::{describe, detection_label};
use crate::jira::FoundIssue;

impl Plan<'_> {
    /// This run reached Jira before. If it left its pending label, it stopped half way:
    /// finish it (the comment only if missing, the transition only if the status is not
    /// there yet). Otherwise it is a duplicate.
    pub(super) fn on_earlier(&mut self, issue: FoundIssue) -> Next {
        let Some(pending) = pending_of(&issue, &self.fingerprint) else {
            return self.finish(Status::Duplicate, issue.key);
        };
        tracing::info!(issue_key = %issue.key, "an earlier delivery of this run stopped half way; finishing it");
        // A newer run acted on the issue since this one stopped: its transition would undo
        // that run's, so it only keeps its comment (as `resolve` decides for a fresh run).
        let newer = IssueState::of(&issue, self.now).is_some_and(|m| m.last_run > self.run);
        let act = match (pending.goal(), newer) {
            (Some(_), true) => Act::Older,
            _ => pending,
        };
        self.reason = act.reason();
        self.keep_claim = true;
        let key = issue.key.clone();
        self.target = Some(Target {
            act,
            pending,
            note: pending.resumed_note().to_string(),
            resumed: true,
            transitioned: act.transitioned(&issue),
        });
        self.send(Step::Comments { key })
    }

    /// No earlier delivery: resolve, look at the detection's issues, or create.
    pub(super) fn after_no_earlier(&mut self) -> Next {
        let dest = &self.alert.destination;
        let label = detection_label(self.alert);
        if self.alert.detection.is_clear() {
            let query = self.labelled(&label).open_only().newest_first(1);
            return self.search(query, Purpose::ToResolve);
        }
        if dest.lifecycle.active() {
            let query = self
                .labelled(&label)
                .newest_first(latest_wanted(self.alert));
            return self.search(query, Purpose::Latest);
        }
        if dest.group_repeats {
            let query = self.labelled(&label).open_only().newest_first(1);
            return self.search(query, Purpose::OpenIssue);
        }
        self.create()
    }

    /// A MATCHED run with a lifecycle, given the detection's latest issues.
    pub(super) fn on_latest(&mut self, latest: &[FoundIssue]) -> Next {
        let life = &self.alert.destination.lifecycle;
        let (issue, act, note) = match decide_matched(self.alert, latest, self.run, self.now) {
            MatchDecision::Create => return self.create(),
            MatchDecision::Repeat(i) => (i, Act::Repeat, Act::Repeat.resumed_note().to_string()),
            MatchDecision::Reopen(i, hours) => (i, Act::Reopen, format!(
                "The detection matched again {hours:.1} hours after this issue was resolved (reopen_within_hours is {}): reopening it.",
                life.reopen_within_hours
            )),
            MatchDecision::Fold(i, count) => {
                let folded = IssueState::of(&i, self.now).map_or(0, |m| m.folded).saturating_add(1);
                let note = format!(
                    "Storm control: {count} issues were created for this detection in the last hour (max_issues_per_hour is {}), so this run was added here instead of a new issue. Runs folded into this issue so far: {folded}.",
                    life.max_issues_per_hour.unwrap_or(0)
                );
                (i, Act::Fold, note)
            }
            MatchDecision::Older(i) => (i, Act::Older, Act::Older.resumed_note().to_string()),
        };
        self.act_on(issue, act, note, true)
    }

    /// A clear: resolve the open issue unless a newer run acted on it.
    pub(super) fn resolve(&mut self, issue: FoundIssue) -> Next {
        if let Some(m) = IssueState::of(&issue, self.now).filter(|m| m.last_run > self.run) {
            tracing::info!(issue_key = %issue.key, newer_run = m.last_run, run = self.run, "a newer run acted on the open issue; this older clear leaves it open");
            return self.skip(Skip::OlderRun);
        }
        let when = self
            .alert
            .detection
            .ran_at
            .as_deref()
            .unwrap_or("an unknown time");
        let note = format!("Detection cleared: the run at {when} found nothing (outcome NOT_MATCHED), so this issue is resolved.");
        self.act_on(issue, Act::Resolve, note, true)
    }

    /// Starts acting on an existing issue: the labels first (fingerprint, pending label,
    /// and with a lifecycle the new state), then the comment, then any transition.
    pub(super) fn act_on(
        &mut self,
        issue: FoundIssue,
        act: Act,
        note: String,
        state: bool,
    ) -> Next {
        let mut add = vec![
            self.fingerprint.clone(),
            pending_label(&self.fingerprint, act),
        ];
        let mut remove = Vec::new();
        if state {
            let folded = act == Act::Fold;
            let marker = IssueState::after(
                IssueState::of(&issue, self.now),
                self.run,
                act.action(),
                folded,
            );
            let label = marker.to_label();
            remove = IssueState::labels_of(&issue, self.now)
                .into_iter()
                .filter(|l| *l != label)
                .collect();
            add.push(label);
        }
        self.reason = act.reason();
        let key = issue.key.clone();
        self.target = Some(Target {
            act,
            pending: act,
            note,
            resumed: false,
            transitioned: false,
        });
        self.send(Step::EditLabels {
            key,
            add,
            remove,
            stage: Stage::Mark,
        })
    }

    /// The comment is there: the transition if the act has one (and it is not made
    /// yet), else the pending label goes.
    pub(super) fn after_comment(&mut self, key: String) -> Next {
        let transition = self
            .target
            .as_ref()
            .is_some_and(|t| t.act.goal().is_some() && !t.transitioned);
        match transition {
            true => self.send(Step::Transitions { key }),
            false => self.unmark(key),
        }
    }

    pub(super) fn unmark(&mut self, key: String) -> Next {
        let Some(act) = self.target.as_ref().map(|t| t.pending) else {
            return self.finish(Status::Commented, key);
        };
        self.send(Step::EditLabels {
            key,
            add: vec![],
            remove: vec![pending_label(&self.fingerprint, act)],
            stage: Stage::Unmark,
        })
    }

    /// Adds the run to `key` as a comment: the run's details, then the target's note
    /// and the run's fingerprint (which tells a redelivery the comment is there).
    pub(super) fn comment(&mut self, key: String) -> Next {
        let note = self
            .target
            .as_ref()
            .map(|t| t.note.clone())
            .unwrap_or_default();
        let mut body = describe(&self.alert.detection);
        body.note(format!("{note} Run fingerprint: {}", self.fingerprint));
        let body = body.render(self.flavor);
        // The comment may land without an answer saying so: a later delivery must search.
        self.keep_claim = true;
        self.send(Step::Comment { key, body })
    }
}
