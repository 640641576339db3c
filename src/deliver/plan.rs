//! The decisions of one delivery, without I/O: which ledger and Jira requests to send, in
//! which order, and what each answer means. The executor (`super`) sends each `Step` and
//! hands the answer back; this file never waits, retries or measures, so every path is
//! unit-tested with plain values.

use crate::alert::Alert;
use crate::deliver::retry::Policy;
use crate::failure::Failure;
use crate::issue::{
    build_issue, describe, detection_label, fingerprint_label, ApiFlavor, IssueSpec,
};
use crate::jira::{jql_quote, JiraError};
use crate::ledger::{in_progress, Claim, LedgerError, LEASE_MARGIN};
use crate::metrics::Status;
use serde_json::Value;
use std::time::Duration;

/// How long to wait after a create answered 5xx before searching for it (doubling each
/// time): Jira Cloud's search index lags a few seconds behind a create.
pub const CREATED_ANYWAY_WAIT: Duration = Duration::from_secs(2);

/// One request the plan needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Claim the run in the ledger before anything goes to Jira.
    Claim {
        id: String,
        lease: Duration,
    },
    /// Read the credentials, check where they may go, and learn the API flavor: only once
    /// a Jira request is needed (a recorded run needs none).
    Connect,
    /// Search for an issue (answered with the first key found).
    Search {
        jql: String,
        purpose: Purpose,
    },
    /// Create the issue; `body` is the serialised request.
    Create {
        body: String,
    },
    Comment {
        key: String,
        body: Value,
    },
    AddLabels {
        key: String,
        labels: Vec<String>,
    },
    /// Record the run's issue in the ledger.
    Record {
        key: String,
    },
    /// Give the claim up: nothing reached Jira, so a retry need not wait for the lease.
    Release,
    /// Let time pass (Jira's search index catching up) before the next step.
    Wait(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An earlier delivery of this run (its fingerprint label).
    EarlierDelivery,
    /// The detection's open issue (group_repeats).
    OpenIssue,
    /// Whether a create answered with a 5xx happened all the same.
    CreatedAnyway,
}

impl Step {
    pub fn policy(&self) -> Policy {
        match self {
            Step::Create { .. } | Step::Comment { .. } | Step::AddLabels { .. } => Policy::Write,
            _ => Policy::Read,
        }
    }

    /// The step as failure messages name it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Claim { .. } => "claiming the run in the idempotency ledger",
            Step::Connect => "connecting to Jira",
            Step::Search {
                purpose: Purpose::EarlierDelivery,
                ..
            } => "searching for an earlier delivery of this run",
            Step::Search {
                purpose: Purpose::OpenIssue,
                ..
            } => "searching for an open issue of this detection",
            Step::Search {
                purpose: Purpose::CreatedAnyway,
                ..
            } => "searching for the issue a failed create may have made",
            Step::Wait(_) => "waiting before searching again",
            Step::Create { .. } => "creating the issue",
            Step::Comment { .. } => "adding the run as a comment",
            Step::AddLabels { .. } => "labelling the issue with this run's fingerprint",
            Step::Record { .. } => "recording the issue in the idempotency ledger",
            Step::Release => "releasing the claim in the idempotency ledger",
        }
    }
}

/// The answer to a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Claimed(Claim),
    Connected(ApiFlavor),
    Found(Option<String>),
    Created(String),
    Done,
}

/// Why a step failed (after the executor's retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    Jira(JiraError),
    Ledger(LedgerError),
    /// Connecting failed (secret, host check, user, deployment detection), or no time
    /// was left for a wait.
    Failed(Failure),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Jira(e) => e.fmt(f),
            StepError::Ledger(e) => e.fmt(f),
            StepError::Failed(e) => e.fmt(f),
        }
    }
}

impl crate::deliver::retry::Retryable for StepError {
    fn verdict(&self, policy: Policy) -> crate::deliver::retry::Verdict {
        match self {
            StepError::Jira(e) => e.verdict(policy),
            StepError::Ledger(e) => e.verdict(policy),
            StepError::Failed(_) => crate::deliver::retry::Verdict::GiveUp,
        }
    }
}

impl From<StepError> for Failure {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Jira(e) => e.into(),
            StepError::Ledger(e) => e.into(),
            StepError::Failed(f) => f,
        }
    }
}

/// What the executor does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Send(Step),
    Finish(Status, String),
    Fail(Failure),
}

/// How the plan ends once the pending bookkeeping step (record, release) is answered.
#[derive(Debug, Clone)]
enum Ending {
    Finish(Status, String),
    Fail(Failure),
}

/// One delivery's plan, for one alert.
pub struct Plan<'a> {
    alert: &'a Alert,
    /// Known once connected.
    flavor: ApiFlavor,
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
    /// Creates answered with a 5xx so far (each is followed by a search before another).
    failed_creates: u32,
    /// The claim must stay when this delivery fails: a create may have happened without
    /// an answer saying so, or the claim was taken over from a holder that may have
    /// created the issue (a later delivery must search again).
    keep_claim: bool,
    /// The step whose answer is awaited.
    pending: Option<Step>,
    ending: Option<Ending>,
}

impl<'a> Plan<'a> {
    pub fn new(alert: &'a Alert, shared_ledger: bool) -> Plan<'a> {
        let fingerprint = fingerprint_label(alert);
        // Every issue carries the run's fingerprint (its redeliveries find it) and the
        // detection's label (its later runs find it).
        let spec = build_issue(alert, &[fingerprint.clone(), detection_label(alert)]);
        Plan {
            alert,
            flavor: ApiFlavor::V3,
            search_first: true,
            shared_ledger,
            fingerprint,
            spec,
            fell_back: false,
            notes: Vec::new(),
            failed_creates: 0,
            keep_claim: false,
            pending: None,
            ending: None,
        }
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
            (Step::Connect, Ok(Reply::Connected(flavor))) => {
                self.flavor = flavor;
                if self.search_first {
                    let jql = self.with_label(&self.fingerprint, "");
                    self.send(Step::Search {
                        jql,
                        purpose: Purpose::EarlierDelivery,
                    })
                } else {
                    self.after_no_earlier(Purpose::EarlierDelivery)
                }
            }
            // No claim, nothing to release.
            (step @ Step::Claim { .. }, Err(e)) => Next::Fail(Failure::from(e).at(step.name())),
            (Step::Search { purpose, .. }, Ok(Reply::Found(found))) => match (purpose, found) {
                (Purpose::EarlierDelivery, Some(key)) => self.finish(Status::Duplicate, key),
                (Purpose::OpenIssue, Some(key)) => self.comment_on(key),
                // Our own create went through despite its 5xx.
                (Purpose::CreatedAnyway, Some(key)) => self.finish(Status::Created, key),
                (Purpose::CreatedAnyway, None) => self.create(),
                (_, None) => self.after_no_earlier(purpose),
            },
            (Step::Wait(_), Ok(_)) => {
                let jql = self.with_label(&self.fingerprint, "");
                self.send(Step::Search {
                    jql,
                    purpose: Purpose::CreatedAnyway,
                })
            }
            (Step::Create { .. }, Ok(Reply::Created(key))) => self.finish(Status::Created, key),
            (Step::Comment { key, .. }, Ok(Reply::Done)) => {
                // The fingerprint goes on the issue after the comment, so a redelivery
                // answers duplicate; a failure between the two can only repeat the
                // comment on redelivery, never lose it.
                let labels = vec![self.fingerprint.clone()];
                self.send(Step::AddLabels { key, labels })
            }
            (Step::AddLabels { key, .. }, Ok(Reply::Done)) => self.finish(Status::Commented, key),
            (Step::Record { .. } | Step::Release, result) => self.end(result.err()),
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
            Claim::Busy => Next::Fail(in_progress()),
            Claim::Fresh(_) | Claim::TakeOver(_) => {
                // A container's own ledger cannot see other containers, and a take-over
                // cannot know whether the old holder created the issue: Jira decides.
                let taken_over = matches!(claim, Claim::TakeOver(_));
                self.search_first = !self.shared_ledger || taken_over;
                self.keep_claim = taken_over;
                self.send(Step::Connect)
            }
        }
    }

    /// No earlier delivery (or, after `OpenIssue`, no open issue): comment or create.
    fn after_no_earlier(&mut self, searched: Purpose) -> Next {
        if searched == Purpose::EarlierDelivery && self.alert.destination.group_repeats {
            let jql = self.with_label(
                &detection_label(self.alert),
                " AND statusCategory != Done ORDER BY created DESC",
            );
            return self.send(Step::Search {
                jql,
                purpose: Purpose::OpenIssue,
            });
        }
        self.create()
    }

    fn create(&mut self) -> Next {
        let (body, cut) = self.spec.to_body_cut(self.flavor);
        const CUT: &str = "the description was cut to fit Jira's limit of 32,767 characters (its last line says so)";
        if cut && !self.notes.iter().any(|n| n == CUT) {
            self.notes.push(CUT.into());
        }
        self.send(Step::Create { body })
    }

    /// What the answer says about the issue besides its key: cuts, fields left out.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn send(&mut self, step: Step) -> Next {
        self.pending = Some(step.clone());
        Next::Send(step)
    }

    /// Records the issue in the ledger, then finishes.
    fn finish(&mut self, status: Status, key: String) -> Next {
        self.ending = Some(Ending::Finish(status, key.clone()));
        self.send(Step::Record { key })
    }

    /// Releases the claim when nothing can have reached Jira, then fails.
    fn fail(&mut self, f: Failure) -> Next {
        if self.keep_claim {
            return Next::Fail(f);
        }
        self.ending = Some(Ending::Fail(f));
        self.send(Step::Release)
    }

    /// The bookkeeping step is answered: its own failure is only logged (the issue exists,
    /// or the first failure is what the caller must see).
    fn end(&mut self, trouble: Option<StepError>) -> Next {
        if let Some(e) = trouble {
            tracing::warn!(error = %Failure::from(e), "idempotency ledger bookkeeping failed; a redelivery will search Jira after the take-over allowance");
        }
        match self.ending.take() {
            Some(Ending::Finish(status, key)) => Next::Finish(status, key),
            Some(Ending::Fail(f)) => Next::Fail(f),
            None => Next::Fail(Failure::panicked().at("bookkeeping ended with no outcome")),
        }
    }

    fn comment_on(&mut self, key: String) -> Next {
        let mut body = describe(&self.alert.detection);
        body.note(format!(
            "Repeated run of this detection (issue left open, so this run was added as a comment). Run fingerprint: {}",
            self.fingerprint
        ));
        let body = body.render(self.flavor);
        self.send(Step::Comment { key, body })
    }

    /// A create that failed. A 400 that names only optional fields: create once more
    /// without them, the description saying what was dropped and why. A 5xx may hide a
    /// create that happened (a post-function failing after it, a gateway): wait for the
    /// search index, search, and create again only if nothing is there (three times at
    /// most). No answer at all: the claim stays and a later delivery searches.
    fn on_create_refused(&mut self, body: String, e: JiraError) -> Next {
        let step = Step::Create { body };
        match &e {
            JiraError::Server { .. } if self.failed_creates < 3 => {
                self.keep_claim = true;
                self.failed_creates += 1;
                let wait = CREATED_ANYWAY_WAIT * (1 << (self.failed_creates - 1));
                return self.send(Step::Wait(wait));
            }
            JiraError::NoAnswer { .. }
            | JiraError::Server { .. }
            | JiraError::BadResponse { .. } => self.keep_claim = true,
            _ => {}
        }
        let optional_only = match &e {
            JiraError::Rejected {
                status: 400,
                field_errors,
                ..
            } if !self.fell_back && !field_errors.is_empty() => {
                let mut trimmed = self.spec.clone();
                let all = field_errors
                    .iter()
                    .all(|(field, reason)| trimmed.drop_field(field, reason));
                all.then_some((trimmed, field_errors.keys().cloned().collect::<Vec<_>>()))
            }
            _ => None,
        };
        let Some((trimmed, dropped)) = optional_only else {
            return self.fail(Failure::from(e).at(step.name()));
        };
        tracing::warn!(
            ?dropped,
            "Jira rejected optional fields; creating the issue without them"
        );
        self.notes.push(format!(
            "left out fields Jira rejected: {} (the description says why)",
            dropped.join(", ")
        ));
        self.spec = trimmed;
        self.fell_back = true;
        self.create()
    }

    /// JQL for this project's issues carrying `label` (plus `extra`).
    fn with_label(&self, label: &str, extra: &str) -> String {
        format!(
            "project = {} AND labels = {}{extra}",
            jql_quote(&self.alert.destination.project_key),
            jql_quote(label)
        )
    }
}

#[cfg(test)]
mod tests;
