//! What became of one alert, in the delivery's words: the answer's status, why a run
//! became a comment, why it was skipped. The answer, the logs and the metrics all read
//! these.

use crate::alert::Ignored;
use serde_json::{json, Value};

/// The answer's `status` for an alert that reached Jira.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Duplicate,
    Commented,
    Resolved,
    Reopened,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Duplicate => "duplicate",
            Status::Commented => "commented",
            Status::Resolved => "resolved",
            Status::Reopened => "reopened",
        }
    }
}

/// Why a run became a comment rather than what it would otherwise have done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Storm control: the detection reached `max_issues_per_hour`.
    Storm,
    /// A newer run already acted on the issue.
    OlderRun,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Storm => "storm",
            Reason::OlderRun => "older run",
        }
    }
}

/// Why an alert was skipped: nothing to do in Jira.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not for delivery at all (see `Ignored`).
    Ignored(Ignored),
    /// A clear with no open issue to resolve.
    NothingOpen,
    /// A clear older than the run that last acted on the open issue.
    OlderRun,
}

impl Skip {
    /// The answer's `reason`.
    pub fn text(&self) -> String {
        match self {
            Skip::Ignored(i) => i.text(),
            Skip::NothingOpen => "nothing open".into(),
            Skip::OlderRun => Reason::OlderRun.as_str().into(),
        }
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// An alert that reached Jira.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub status: Status,
    pub issue_key: String,
    pub issue_url: String,
    pub host: String,
    /// What the answer should tell besides the key (a cut description, fields left out).
    pub notes: Vec<String>,
    /// Why it became a comment.
    pub reason: Option<Reason>,
}

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered(Delivery),
    Skipped(Skip),
}

impl Outcome {
    /// The answer to a direct invocation.
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Delivered(d) => {
                let mut v = json!({
                    "status": d.status.as_str(),
                    "issue_key": d.issue_key,
                    "issue_url": d.issue_url,
                });
                if let Some(reason) = d.reason {
                    v["reason"] = json!(reason.as_str());
                }
                if !d.notes.is_empty() {
                    v["notes"] = json!(d.notes);
                }
                v
            }
            Outcome::Skipped(skip) => json!({"status": "skipped", "reason": skip.text()}),
        }
    }
}
