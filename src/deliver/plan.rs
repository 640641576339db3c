//! The decisions of one delivery, without I/O: which Jira requests to send, in which
//! order, and what each answer means. The executor (`super`) sends each `Step` and hands
//! the answer back; this file never waits, retries or measures, so every path is
//! unit-tested with plain values.

use crate::alert::Alert;
use crate::deliver::retry::Policy;
use crate::failure::Failure;
use crate::issue::{
    build_issue, describe, detection_label, fingerprint_label, ApiFlavor, IssueSpec,
};
use crate::jira::{jql_quote, JiraError};
use crate::metrics::Status;
use serde_json::Value;

/// One Jira request the plan needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An earlier delivery of this run (its fingerprint label).
    EarlierDelivery,
    /// The detection's open issue (group_repeats).
    OpenIssue,
}

impl Step {
    pub fn policy(&self) -> Policy {
        match self {
            Step::Search { .. } => Policy::Read,
            _ => Policy::Write,
        }
    }

    /// The step as failure messages name it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Search {
                purpose: Purpose::EarlierDelivery,
                ..
            } => "searching for an earlier delivery of this run",
            Step::Search {
                purpose: Purpose::OpenIssue,
                ..
            } => "searching for an open issue of this detection",
            Step::Create { .. } => "creating the issue",
            Step::Comment { .. } => "adding the run as a comment",
            Step::AddLabels { .. } => "labelling the issue with this run's fingerprint",
        }
    }
}

/// Jira's answer to a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Found(Option<String>),
    Created(String),
    Done,
}

/// What the executor does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Send(Step),
    Finish(Status, String),
    Fail(Failure),
}

/// One delivery's plan, for one alert and one API flavor.
pub struct Plan<'a> {
    alert: &'a Alert,
    flavor: ApiFlavor,
    fingerprint: String,
    /// The issue to create; optional fields Jira rejected are dropped from it once.
    spec: IssueSpec,
    fell_back: bool,
    /// The step whose answer is awaited.
    pending: Option<Step>,
}

impl<'a> Plan<'a> {
    pub fn new(alert: &'a Alert, flavor: ApiFlavor) -> Plan<'a> {
        let fingerprint = fingerprint_label(alert);
        // Every issue carries the run's fingerprint (its redeliveries find it) and the
        // detection's label (its later runs find it).
        let spec = build_issue(alert, &[fingerprint.clone(), detection_label(alert)]);
        Plan {
            alert,
            flavor,
            fingerprint,
            spec,
            fell_back: false,
            pending: None,
        }
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The first step.
    pub fn start(&mut self) -> Next {
        let jql = self.with_label(&self.fingerprint, "");
        self.send(Step::Search {
            jql,
            purpose: Purpose::EarlierDelivery,
        })
    }

    /// Takes the answer to the pending step and decides the next.
    pub fn on_reply(&mut self, reply: Result<Reply, JiraError>) -> Next {
        let Some(step) = self.pending.take() else {
            return Next::Fail(Failure::panicked().at("an answer came with no step pending"));
        };
        match (step, reply) {
            (Step::Search { purpose, .. }, Ok(Reply::Found(found))) => match (purpose, found) {
                (Purpose::EarlierDelivery, Some(key)) => Next::Finish(Status::Duplicate, key),
                (Purpose::EarlierDelivery, None) if self.alert.destination.group_repeats => {
                    let jql = self.with_label(
                        &detection_label(self.alert),
                        " AND statusCategory != Done ORDER BY created DESC",
                    );
                    self.send(Step::Search {
                        jql,
                        purpose: Purpose::OpenIssue,
                    })
                }
                (Purpose::OpenIssue, Some(key)) => self.comment_on(key),
                (_, None) => self.create(),
            },
            (Step::Create { .. }, Ok(Reply::Created(key))) => Next::Finish(Status::Created, key),
            (Step::Comment { key, .. }, Ok(Reply::Done)) => {
                // The fingerprint goes on the issue after the comment, so a redelivery
                // answers duplicate; a failure between the two can only repeat the
                // comment on redelivery, never lose it.
                let labels = vec![self.fingerprint.clone()];
                self.send(Step::AddLabels { key, labels })
            }
            (Step::AddLabels { key, .. }, Ok(Reply::Done)) => Next::Finish(Status::Commented, key),
            (Step::Create { body }, Err(e)) => self.on_create_refused(body, e),
            (step, Err(e)) => Next::Fail(Failure::from(e).at(step.name())),
            (step, Ok(other)) => Next::Fail(
                Failure::panicked().at(&format!("{}: unexpected answer {other:?}", step.name())),
            ),
        }
    }

    fn send(&mut self, step: Step) -> Next {
        self.pending = Some(step.clone());
        Next::Send(step)
    }

    fn create(&mut self) -> Next {
        let body = self.spec.to_body(self.flavor);
        self.send(Step::Create { body })
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

    /// A 400 that names only optional fields: create once more without them, the
    /// description saying what was dropped and why. Anything else fails.
    fn on_create_refused(&mut self, body: String, e: JiraError) -> Next {
        let step = Step::Create { body };
        let JiraError::Rejected {
            status: 400,
            field_errors,
            ..
        } = &e
        else {
            return Next::Fail(Failure::from(e).at(step.name()));
        };
        if self.fell_back || field_errors.is_empty() {
            return Next::Fail(Failure::from(e).at(step.name()));
        }
        let mut trimmed = self.spec.clone();
        let all_optional = field_errors
            .iter()
            .all(|(field, reason)| trimmed.drop_field(field, reason));
        if !all_optional {
            return Next::Fail(Failure::from(e).at(step.name()));
        }
        tracing::warn!(
            dropped = ?field_errors.keys().collect::<Vec<_>>(),
            "Jira rejected optional fields; creating the issue without them"
        );
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
