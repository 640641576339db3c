//! The plan's part for a create: the body, and what a failed create means (optional fields
//! Jira rejected left out once; an ambiguous one searched for before any other create).

use super::{Next, Plan, CREATED_ANYWAY_WAIT};
use crate::deliver::step::{Step, StepError};
use crate::failure::Failure;
use crate::jira::JiraError;

impl Plan<'_> {
    pub(super) fn create(&mut self) -> Next {
        let (body, cut) = self.spec.to_body_cut(self.flavor);
        const CUT: &str = "the description was cut to fit Jira's limit of 32,767 characters (its last line says so)";
        if cut && !self.notes.iter().any(|n| n == CUT) {
            self.notes.push(CUT.into());
        }
        self.send(Step::Create { body })
    }

    /// A create that failed. A 400 that names only optional fields: create once more
    /// without them, the description saying what was dropped and why. A 5xx may hide a
    /// create that happened (a post-function failing after it, a gateway): wait for the
    /// search index, search, and create again only if nothing is there (three times at
    /// most). No answer at all: the claim stays and a later delivery searches.
    pub(super) fn on_create_refused(&mut self, body: String, e: JiraError) -> Next {
        let step = Step::Create { body };
        if is_ambiguous(&e) {
            // The issue may exist: never another create before a search that would show it.
            self.keep_claim = true;
            if self.failed_creates < 3 {
                self.failed_creates += 1;
                let backoff = CREATED_ANYWAY_WAIT * (1 << (self.failed_creates - 1));
                let wait = match (self.index_lags, &e) {
                    (true, _) => self.allowance,
                    // No answer: the create may still be under way on the server, for up
                    // to the request's timeout after the client gave up on it.
                    (false, JiraError::NoAnswer { .. }) => self.alert.destination.timeout + backoff,
                    (false, _) => backoff,
                };
                self.unsettled = Some(Failure::from(e).at(step.name()).message);
                return self.send(Step::Wait(wait));
            }
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
}

/// Whether Jira may have acted although the answer does not say so.
pub(super) fn is_ambiguous(e: &JiraError) -> bool {
    matches!(
        e,
        JiraError::NoAnswer { .. } | JiraError::Server { .. } | JiraError::BadResponse { .. }
    )
}

pub(super) fn ambiguous(e: &StepError) -> bool {
    matches!(e, StepError::Jira(j) if is_ambiguous(j))
}
