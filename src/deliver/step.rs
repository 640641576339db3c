//! The requests a delivery's plan makes (`Step`), the answers it gets back (`Reply`), and
//! how a step fails (`StepError`): the vocabulary between the plan and the executor.

use crate::deliver::lifecycle::TransitionGoal;
use crate::failure::Failure;
use crate::issue::convert::FieldMeta;
use crate::issue::ApiFlavor;
use crate::jira::{CreatedIssue, FoundIssue, JiraError, Transition};
use crate::jira::{IssueQuery, TransitionChoice};
use crate::ledger::{Claim, LedgerError, Recorded};
use crate::retry::Policy;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A comment or label edit that failed: Jira's text, and the permission it needs.
pub fn write_failure(step: &Step, e: StepError) -> Failure {
    let forbidden = matches!(e, StepError::Jira(JiraError::Forbidden { .. }));
    let rejected = matches!(e, StepError::Jira(JiraError::Rejected { .. }));
    let mut f = Failure::from(e).at(step.name());
    let fix = match step {
        Step::Comment { .. } if forbidden || rejected => "give the bot user the Add Comments permission in the project (the issue's status may also forbid comments: its workflow property jira.issue.editable)",
        Step::EditLabels { .. } if forbidden || rejected => "give the bot user the Edit Issues permission, and keep the Labels field on the issue's edit screen: the function labels the issues it acts on",
        _ => return f,
    };
    f.fix = fix.into();
    f
}

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
    /// Search for issues (answered with at most `max`, in the JQL's order).
    Search {
        query: IssueQuery,
        purpose: Purpose,
    },
    /// Read the fields of the create screen (`destination.fields` are converted to their
    /// types): cached per site, project and issue type.
    FieldMeta,
    /// Create the issue; `body` is the serialised request.
    Create {
        body: String,
    },
    Comment {
        key: String,
        body: Value,
    },
    /// Adds and removes labels in one request: before the comment, the run's fingerprint,
    /// its pending label and the lifecycle state (`Mark`); after the last step, the
    /// pending label goes (`Unmark`).
    EditLabels {
        key: String,
        add: Vec<String>,
        remove: Vec<String>,
        stage: Stage,
    },
    /// The issue's newest comments (is this run's there already?).
    Comments {
        key: String,
    },
    /// The transitions the bot user may make on the issue now.
    Transitions {
        key: String,
    },
    /// Makes the transition chosen.
    Transition {
        key: String,
        choice: TransitionChoice,
        goal: TransitionGoal,
    },
    /// Record the run's issue in the ledger.
    Record {
        key: String,
    },
    /// Give the claim up: nothing reached Jira, so a retry need not wait for the lease.
    Release,
    /// End the claim's lease now, keeping it: something may have reached Jira, so a later
    /// delivery takes over once the search index shows it (and searches first).
    Park,
    /// Let time pass (Jira's search index catching up) before the next step.
    Wait(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Mark,
    Unmark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An earlier delivery of this run (its fingerprint label).
    EarlierDelivery,
    /// The detection's open issue (group_repeats).
    OpenIssue,
    /// The detection's latest issues, newest first (reopen, storm control).
    Latest,
    /// The detection's newest open issue, which a clear resolves.
    ToResolve,
    /// Whether a create answered with a 5xx happened all the same.
    CreatedAnyway,
}

impl Purpose {
    /// A search for the detection's issues (rather than for this run's).
    pub fn of_detection(self) -> bool {
        matches!(
            self,
            Purpose::OpenIssue | Purpose::Latest | Purpose::ToResolve
        )
    }
}

impl Step {
    pub fn policy(&self) -> Policy {
        match self {
            // Adding and removing labels is idempotent: retried like a read.
            Step::Create { .. } | Step::Comment { .. } | Step::Transition { .. } => {
                Policy::AtMostOnce
            }
            _ => Policy::Idempotent,
        }
    }

    /// Whether the step changes Jira (the scope it needs through the gateway).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Step::Create { .. }
                | Step::Comment { .. }
                | Step::EditLabels { .. }
                | Step::Transition { .. }
        )
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
            Step::Search {
                purpose: Purpose::Latest,
                ..
            } => "searching for the latest issues of this detection",
            Step::Search {
                purpose: Purpose::ToResolve,
                ..
            } => "searching for the open issue this clear resolves",
            Step::Wait(_) => "waiting before searching again",
            Step::FieldMeta => "reading the fields of the create screen (createmeta)",
            Step::Create { .. } => "creating the issue",
            Step::Comment { .. } => "adding the run as a comment",
            Step::EditLabels {
                stage: Stage::Mark, ..
            } => "labelling the issue with this run's fingerprint",
            Step::EditLabels {
                stage: Stage::Unmark,
                ..
            } => "removing this run's pending label",
            Step::Comments { .. } => "reading the issue's newest comments",
            Step::Transitions { .. } => "reading the issue's transitions",
            Step::Transition { goal, .. } => goal.as_str(),
            Step::Record { .. } => "recording the issue in the idempotency ledger",
            Step::Release => "releasing the claim in the idempotency ledger",
            Step::Park => "parking the claim in the idempotency ledger",
        }
    }
}

/// What connecting learned: the API flavor, and whether the site's search index lags
/// behind its writes (Jira Cloud) or not (Server/DC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub flavor: ApiFlavor,
    pub index_lags: bool,
}

/// As detected: REST v3 is Cloud's (lagging index), v2 Server/DC's.
impl From<ApiFlavor> for Link {
    fn from(flavor: ApiFlavor) -> Link {
        Link {
            flavor,
            index_lags: flavor == ApiFlavor::V3,
        }
    }
}

/// The answer to a step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    Claimed(Claim),
    Connected(Link),
    Found(Vec<FoundIssue>),
    Transitions(Vec<Transition>),
    Comments(Vec<String>),
    Created(CreatedIssue),
    Recorded(Recorded),
    /// The create screen's fields.
    Fields(Arc<Vec<FieldMeta>>),
    /// The step was carried out (nothing to read back).
    Ack,
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

impl crate::retry::Retryable for StepError {
    fn verdict(&self, policy: Policy) -> crate::retry::Verdict {
        match self {
            StepError::Jira(e) => e.verdict(policy),
            StepError::Ledger(e) => e.verdict(policy),
            StepError::Failed(_) => crate::retry::Verdict::GiveUp,
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
