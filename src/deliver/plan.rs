//! The decisions of one delivery, without I/O: which ledger and Jira requests to send, in
//! which order, and what each answer means. The executor (`super`) sends each `Step` and
//! hands the answer back; this file never waits, retries or measures, so every path is
//! unit-tested with plain values.

use crate::alert::Alert;
use crate::deliver::lifecycle::{
    self, has_room, is_comment_of, Act, IssueState, LastChange, TransitionGoal, MAX_SKEW,
};
use crate::deliver::outcome::{Reason, Skip, Status};
use crate::deliver::step::{write_failure, Purpose, Reply, Stage, Step, StepError};
use crate::failure::Failure;
use crate::issue::{build_issue, detection_label, fingerprint_label, ApiFlavor, IssueSpec};
use crate::jira::{FoundIssue, IssueQuery};
use crate::ledger::{in_progress, unsettled, Claim, Recorded, LEASE_MARGIN};
use std::time::Duration;

/// Server/DC: how long to wait after an ambiguous create (no answer, or a 5xx) before
/// searching for it (doubling each time), for a create still under way behind a proxy.
/// Its index is written with the issue, so that search can be trusted. Cloud's index lags:
/// there the wait is the search-index allowance (`IDEMPOTENCY_TAKEOVER_SECONDS`).
pub const CREATED_ANYWAY_WAIT: Duration = Duration::from_secs(2);

/// The search-index allowance when the ledger does not say (its default).
const DEFAULT_ALLOWANCE: Duration = Duration::from_secs(60);

/// What the executor does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Send(Step),
    Finish(Status, String),
    /// Nothing to do in Jira (a clear with nothing open, an older clear).
    Skip(Skip),
    Fail(Failure),
}

/// The existing issue this run acts on, and how.
#[derive(Debug, Clone)]
struct Target {
    act: Act,
    /// The act the run's pending label names (a resumed run may do less than it meant:
    /// when a newer run acted meanwhile, it only comments).
    pending: Act,
    /// The comment's note (after the run's details).
    note: String,
    /// A redelivery finishing the run: the comment only if it is not there, the
    /// transition only if the status is not there yet (`transitioned`).
    resumed: bool,
    transitioned: bool,
}

/// One delivery's plan, for one alert.
pub struct Plan<'a> {
    alert: &'a Alert,
    /// Known once connected.
    flavor: ApiFlavor,
    /// Whether the site's search lags behind its writes (Cloud), known once connected.
    index_lags: bool,
    /// What to do once connected: search for an earlier delivery, or not.
    search_first: bool,
    /// The ledger is shared by every container: a fresh claim needs no Jira search.
    shared_ledger: bool,
    fingerprint: String,
    /// The issue to create; optional fields Jira rejected are dropped from it once.
    spec: IssueSpec,
    fell_back: bool,
    /// What the answer should tell about the issue created (cuts, fields left out).
    notes: Vec<String>,
    /// Why the run became a comment or a skip (`storm`, `older run`), for the answer.
    reason: Option<Reason>,
    /// Ambiguous creates so far (each is followed by a trusted search before another).
    failed_creates: u32,
    /// `destination.fields` are converted and in the spec (or there are none).
    fields_ready: bool,
    /// The search-index allowance: how long after an ambiguous write Cloud's search can be
    /// trusted to show it.
    allowance: Duration,
    /// The ambiguous create waiting for a search, as a failure would name it.
    unsettled: Option<String>,
    /// The claim must stay when this delivery fails: a write may have happened without
    /// an answer saying so, or the claim was taken over from a holder that may have
    /// created the issue (a later delivery must search again).
    keep_claim: bool,
    /// Now and the run's time (its ran_at, else now), epoch seconds: the lifecycle's clock.
    now: i64,
    run: i64,
    /// The existing issue this run comments on (and maybe transitions).
    target: Option<Target>,
    /// The step whose answer is awaited.
    pending: Option<Step>,
    /// How the plan ends once the pending bookkeeping step (record, release, park) is
    /// answered (never `Send`).
    ending: Option<Next>,
}

impl<'a> Plan<'a> {
    /// `now`: epoch seconds, the lifecycle's clock (reopen window, storm hour).
    pub fn new(alert: &'a Alert, shared_ledger: bool, now: i64) -> Plan<'a> {
        let fingerprint = fingerprint_label(alert);
        // A run "from the future" would pin its issue: no run counts as later than now
        // plus a little clock skew.
        let run = alert
            .detection
            .ran_at_epoch
            .map_or(now, |r| r.min(now + MAX_SKEW));
        // Every issue carries the run's fingerprint (its redeliveries find it) and the
        // detection's label (its later runs find it); with a lifecycle, its state too.
        let mut system = vec![fingerprint.clone(), detection_label(alert)];
        if alert.destination.lifecycle.active() {
            system.push(IssueState::new(run, LastChange::Created).to_label());
        }
        let spec = build_issue(alert, &system);
        Plan {
            alert,
            flavor: ApiFlavor::V3,
            index_lags: true,
            search_first: true,
            shared_ledger,
            fingerprint,
            spec,
            fell_back: false,
            notes: Vec::new(),
            reason: None,
            failed_creates: 0,
            allowance: DEFAULT_ALLOWANCE,
            fields_ready: alert.destination.fields.is_empty(),
            unsettled: None,
            keep_claim: false,
            now,
            run,
            target: None,
            pending: None,
            ending: None,
        }
    }

    /// With the ledger's search-index allowance (`IDEMPOTENCY_TAKEOVER_SECONDS`).
    pub fn allowing(mut self, allowance: Duration) -> Self {
        self.allowance = allowance;
        self
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The first step: the claim, keyed by Jira site and run fingerprint.
    pub fn start(&mut self) -> Next {
        let id = format!("{}|{}", self.alert.destination.site.base, self.fingerprint);
        let lease = self.alert.destination.timeout + LEASE_MARGIN;
        self.send(Step::Claim { id, lease })
    }

    /// Takes the answer to the pending step and decides the next.
    pub fn on_reply(&mut self, reply: Result<Reply, StepError>) -> Next {
        let Some(step) = self.pending.take() else {
            return Next::Fail(Failure::panicked().at("an answer came with no step pending"));
        };
        match (step, reply) {
            (Step::Claim { .. }, Ok(Reply::Claimed(claim))) => self.on_claim(claim),
            (Step::Connect, Ok(Reply::Connected(link))) => {
                self.flavor = link.flavor;
                self.index_lags = link.index_lags;
                if self.search_first {
                    let query = self.labelled(&self.fingerprint);
                    self.search(query, Purpose::EarlierDelivery)
                } else {
                    self.after_no_earlier()
                }
            }
            // No claim, nothing to release.
            (step @ Step::Claim { .. }, Err(e)) => Next::Fail(Failure::from(e).at(step.name())),
            (Step::Search { purpose, .. }, Ok(Reply::Found(found))) => {
                self.on_found(purpose, found)
            }
            (Step::Wait(_), Ok(_)) => {
                let query = self.labelled(&self.fingerprint);
                self.search(query, Purpose::CreatedAnyway)
            }
            // No time left to wait in this invocation: SQS holds the message until the
            // search can be trusted, and the claim ends now (parked) so that nobody waits
            // for this delivery.
            (Step::Wait(wait), Err(_)) => {
                let what = self.unsettled.take().unwrap_or_default();
                self.fail(unsettled(&what, wait))
            }
            (Step::FieldMeta, Ok(Reply::Fields(meta))) => self.with_fields(Ok(&meta)),
            (Step::FieldMeta, Err(e)) => self.with_fields(Err(e)),
            (Step::Create { .. }, Ok(Reply::Created(c))) => self.finish(Status::Created, c.key),
            (
                Step::EditLabels {
                    key,
                    stage: Stage::Mark,
                    ..
                },
                Ok(Reply::Ack),
            ) => match self.target.as_ref().is_some_and(|t| t.resumed) {
                true => self.send(Step::Comments { key }),
                false => self.comment(key),
            },
            (Step::Comments { key }, Ok(Reply::Comments(found))) => {
                match found.iter().any(|c| is_comment_of(c, &self.fingerprint)) {
                    true => self.after_comment(key),
                    false => self.comment(key),
                }
            }
            (Step::Comment { key, .. }, Ok(Reply::Ack)) => self.after_comment(key),
            (Step::Transitions { key }, Ok(Reply::Transitions(list))) => {
                let goal = self
                    .target
                    .as_ref()
                    .and_then(|t| t.act.goal())
                    .unwrap_or(TransitionGoal::Resolve);
                match lifecycle::choose(&list, goal, &self.alert.destination.lifecycle, &key) {
                    Ok(choice) => self.send(Step::Transition { key, choice, goal }),
                    Err(f) => self.fail(f),
                }
            }
            (Step::Transition { key, .. }, Ok(Reply::Ack)) => self.unmark(key),
            (Step::Transition { key, goal, .. }, Err(StepError::Jira(e))) => {
                let f = lifecycle::refused(e, goal, &self.alert.destination.lifecycle, &key);
                self.fail(f)
            }
            (
                Step::EditLabels {
                    key,
                    stage: Stage::Unmark,
                    ..
                },
                result,
            ) => {
                if let Err(e) = result {
                    // Everything else happened; a redelivery would only tidy up.
                    tracing::warn!(error = %Failure::from(e), issue_key = %key, "the run's pending label stays on the issue");
                }
                let status = self
                    .target
                    .as_ref()
                    .map_or(Status::Commented, |t| t.act.status());
                self.finish(status, key)
            }
            (step @ (Step::Comment { .. } | Step::EditLabels { .. }), Err(e)) => {
                // A label edit with no answer (or a 5xx) may have landed: the run's
                // fingerprint and pending label are then on the issue, and a redelivery
                // must find them (after the allowance) rather than decide afresh.
                if ambiguous(&e) {
                    self.keep_claim = true;
                }
                let f = write_failure(&step, e);
                self.fail(f)
            }
            (Step::Record { key }, Ok(Reply::Recorded(r))) => self.on_recorded(&key, r),
            (Step::Record { .. } | Step::Release | Step::Park, result) => self.end(result.err()),
            (Step::Create { body }, Err(StepError::Jira(e))) => self.on_create_refused(body, e),
            // A connection failure names its own field (secret, instance_url, email).
            (Step::Connect, Err(e)) => self.fail(Failure::from(e)),
            (step, Err(e)) => self.fail(Failure::from(e).at(step.name())),
            (step, Ok(other)) => self.fail(
                Failure::panicked().at(&format!("{}: unexpected answer {other:?}", step.name())),
            ),
        }
    }

    fn on_claim(&mut self, claim: Claim) -> Next {
        match claim {
            // The ledger knows the issue: no Jira request at all.
            Claim::Recorded(key) => Next::Finish(Status::Duplicate, key),
            Claim::Busy { until_ms } => {
                let now_ms = u64::try_from(self.now).unwrap_or(0) * 1000;
                let wait = Duration::from_millis(until_ms.saturating_sub(now_ms));
                Next::Fail(in_progress(wait.max(Duration::from_secs(1))))
            }
            Claim::Fresh(_) | Claim::TakeOver(_) => {
                // A container's own ledger cannot see other containers, and a take-over
                // cannot know whether the old holder created the issue (or stopped half way
                // through a comment and a transition): Jira decides. A fresh claim on the
                // shared ledger proves nothing of this run reached Jira beyond idempotent
                // label edits.
                let taken_over = matches!(claim, Claim::TakeOver(_));
                self.search_first = !self.shared_ledger || taken_over;
                self.keep_claim = taken_over;
                self.send(Step::Connect)
            }
        }
    }

    fn on_found(&mut self, purpose: Purpose, found: Vec<FoundIssue>) -> Next {
        let first = found.first().cloned();
        match (purpose, first) {
            (Purpose::EarlierDelivery, Some(issue)) => self.on_earlier(issue),
            // Full of the function's comments: a new issue takes the runs from here on.
            (Purpose::OpenIssue, Some(issue)) if !has_room(&issue, self.now) => self.create(),
            (Purpose::OpenIssue, Some(issue)) => {
                let note = Act::Repeat.resumed_note().to_string();
                self.act_on(issue, Act::Repeat, note, true)
            }
            (Purpose::Latest, _) => self.on_latest(&found),
            (Purpose::ToResolve, None) => self.skip(Skip::NothingOpen),
            (Purpose::ToResolve, Some(issue)) => self.resolve(issue),
            // Our own create went through despite its 5xx.
            (Purpose::CreatedAnyway, Some(issue)) => self.finish(Status::Created, issue.key),
            (Purpose::CreatedAnyway, None) => self.create(),
            (_, None) => match purpose {
                Purpose::EarlierDelivery => self.after_no_earlier(),
                _ => self.create(),
            },
        }
    }

    fn search(&mut self, query: IssueQuery, purpose: Purpose) -> Next {
        self.send(Step::Search { query, purpose })
    }

    /// What the answer says about the issue besides its key: cuts, fields left out.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Why the run became a comment (storm, older run), if it did for a reason.
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }

    fn send(&mut self, step: Step) -> Next {
        self.pending = Some(step.clone());
        Next::Send(step)
    }

    /// Records the issue in the ledger, then finishes.
    fn finish(&mut self, status: Status, key: String) -> Next {
        self.ending = Some(Next::Finish(status, key.clone()));
        self.send(Step::Record { key })
    }

    /// Nothing to do in Jira: the claim is released (nothing was written).
    fn skip(&mut self, reason: Skip) -> Next {
        self.ending = Some(Next::Skip(reason));
        self.send(Step::Release)
    }

    /// Releases the claim when nothing can have reached Jira, then fails. When something
    /// may have, the claim is parked instead: a later delivery takes it over once the
    /// search index can show what this one did, and SQS holds the message until then.
    fn fail(&mut self, f: Failure) -> Next {
        if self.keep_claim {
            let wait = f.retry_after.unwrap_or_default().max(self.allowance);
            self.ending = Some(Next::Fail(f.retry_after(wait)));
            return self.send(Step::Park);
        }
        self.ending = Some(Next::Fail(f));
        self.send(Step::Release)
    }

    /// The ledger answered the record: another delivery's issue, recorded first, is the
    /// one every answer names.
    fn on_recorded(&mut self, key: &str, recorded: Recorded) -> Next {
        match recorded {
            Recorded::Ours => {}
            Recorded::Other(other) => {
                tracing::warn!(issue_key = %key, recorded = %other, "another delivery of this run recorded its issue first; answering with that one (this delivery's issue is a duplicate to close)");
                self.ending = Some(Next::Finish(Status::Duplicate, other));
            }
            Recorded::Lost => {
                tracing::warn!(issue_key = %key, "this delivery's claim was taken over before it recorded its issue; the new holder finds it by its fingerprint label");
            }
        }
        self.end(None)
    }

    /// The bookkeeping step is answered: its own failure is only logged (the issue exists,
    /// or the first failure is what the caller must see).
    fn end(&mut self, trouble: Option<StepError>) -> Next {
        if let Some(e) = trouble {
            tracing::warn!(error = %Failure::from(e), "idempotency ledger bookkeeping failed; a redelivery will search Jira after the take-over allowance");
        }
        match self.ending.take() {
            Some(Next::Send(_)) | None => {
                Next::Fail(Failure::panicked().at("bookkeeping ended with no outcome"))
            }
            Some(end) => end,
        }
    }

    /// This project's issues carrying `label`.
    fn labelled(&self, label: &str) -> IssueQuery {
        IssueQuery::labelled(&self.alert.destination.project_key, label)
    }
}

mod create;
use create::ambiguous;
mod existing;

#[cfg(test)]
mod tests;
