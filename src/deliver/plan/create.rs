//! The plan's part for a create: the body, and what a failed create means (optional fields
//! Jira rejected left out once; an ambiguous one searched for before any other create).

use super::{Next, Plan, CREATED_ANYWAY_WAIT};
use crate::alert::own_field;
use crate::deliver::step::{Step, StepError};
use crate::failure::quote;
use crate::failure::Failure;
use crate::issue::convert::{convert, find, FieldMeta, Lookup, Target};
use crate::issue::ApiFlavor;
use crate::jira::JiraError;

impl Plan<'_> {
    /// The issue's `fields` converted to the types of the create screen, then the create.
    /// A value that cannot fit (or a field not on the screen) is left out, the description
    /// and the answer saying so; a name two fields share refuses the alert.
    pub(super) fn with_fields(&mut self, meta: Result<&[FieldMeta], StepError>) -> Next {
        self.fields_ready = true;
        let dest = &self.alert.destination;
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                let keys: Vec<&str> = dest.fields.iter().map(|f| f.key.as_str()).collect();
                let why = format!(
                    "the fields of the create screen could not be read ({})",
                    Failure::from(e).message
                );
                self.spec
                    .leave_out(&format!("fields {}", keys.join(", ")), &why);
                self.notes
                    .push(format!("left out fields {}: {why}", keys.join(", ")));
                return self.create();
            }
        };
        let target = Target {
            v3: self.flavor == ApiFlavor::V3,
            cloud: self.index_lags,
            run: self.run,
        };
        let mut left_out = Vec::new();
        for entry in &dest.fields {
            let converted = match find(&entry.key, meta) {
                // Named by its name ("Issue Type"): still the function's own.
                Lookup::Found(m) if own_field(&m.id).is_some() => Err(format!(
                    "{} is {}, a field the function sets itself ({})",
                    quote(&entry.key),
                    m.id,
                    own_field(&m.id).unwrap_or_default()
                )),
                Lookup::Found(m) => convert(m, &entry.value, target).map(|v| (m.id.clone(), v)),
                Lookup::Unknown => Err(format!(
                    "{} is not a field of the create screen of {} {}",
                    quote(&entry.key),
                    dest.project_key,
                    quote(&dest.issue_type)
                )),
                Lookup::Ambiguous(ids) => {
                    let f = Failure::bad_input(
                        format!(
                            "destination.fields: {} is the name of {} fields of the create screen ({})",
                            quote(&entry.key),
                            ids.len(),
                            ids.join(", ")
                        ),
                        format!("name the field by its id ({})", ids.join(" or ")),
                    );
                    return self.fail(f);
                }
            };
            match converted {
                Ok((id, value)) => self.spec.set_field(&id, value),
                Err(why) => {
                    self.spec
                        .leave_out(&format!("field {}", quote(&entry.key)), &why);
                    left_out.push(entry.key.clone());
                }
            }
        }
        if !left_out.is_empty() {
            self.notes.push(format!(
                "left out fields that do not fit: {} (the description says why)",
                left_out.join(", ")
            ));
        }
        self.create()
    }

    /// The create request, once the fields are converted (the first create reads the
    /// create screen).
    pub(super) fn create(&mut self) -> Next {
        if !self.fields_ready {
            return self.send(Step::FieldMeta);
        }
        let (body, cut) = self.spec.to_body_cut(self.flavor);
        const CUT: &str = "the description was cut to fit Jira's limit of 32,767 characters (its last line says so)";
        if cut && !self.notes.iter().any(|n| n == CUT) {
            self.notes.push(CUT.into());
        }
        self.send(Step::Create { body })
    }

    /// A create that failed. A 400 that names only optional fields: create once more
    /// without them, the description saying what was dropped and why. An ambiguous one (a
    /// 5xx, no answer, an unreadable answer) may hide a create that happened: wait until a
    /// search can be trusted to show it (Cloud: the index allowance; Server/DC: a short
    /// wait, or the request's timeout after no answer), search, and create again only if
    /// nothing is there (three times at most). Without time for the wait, the claim is
    /// parked and the message held until then.
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
