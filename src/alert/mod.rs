//! The alert contract (contract sections 1 and 8): its types, and `triage`, which turns the
//! JSON of one alert into them or says everything that is wrong with it.
//!
//! Parse, don't validate: `wire` reads the JSON into serde structs that never fail,
//! `destination` and `detection` turn those into the types below, which cannot hold a bad
//! value; every problem found on the way is collected (`error`), so a refused alert names
//! all of them at once. No value from the event is echoed at unbounded length (`quote`).

mod destination;
mod detection;
mod error;
mod fields;
mod issue_fields;
mod suggest;
mod wire;

#[cfg(test)]
mod tests;

pub use error::{AlertError, Problem};
pub use fields::{own_field, FieldEntry, FieldValue, Scalar};

/// Building alert parts in other modules' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// `destination.fields` as read from `v` (an object).
    pub fn fields(v: Value) -> Vec<FieldEntry> {
        let mut p = Problems::default();
        let map = v.as_object().cloned().unwrap_or_default();
        let out = fields::fields(wire::Field::Given(map), &mut p);
        assert!(p.is_empty(), "{:?}", p.into_error());
        out.unwrap_or_default()
    }
}

use crate::hosts::JiraSite;
use error::Problems;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use wire::{WireDestination, WireDetection};

/// The outcome that creates (or reopens) an issue, and the one that clears it.
pub const MATCHED: &str = "MATCHED";
pub const NOT_MATCHED: &str = "NOT_MATCHED";

/// Error messages of a detection shown in the issue; the rest are counted.
pub const ERRORS_KEPT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
        }
    }

    /// The default severity -> Jira priority table (seed doc, plus INFO -> Lowest).
    pub fn default_priority(self) -> &'static str {
        match self {
            Severity::Critical => "Highest",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Lowest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Auto,
    V2,
    V3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriorityRule {
    /// No priority field: the project's default applies.
    ProjectDefault,
    Fixed(String),
    /// Severity decides; severities missing here use the default table.
    Map(BTreeMap<Severity, String>),
}

impl PriorityRule {
    pub fn priority_for(&self, severity: Severity) -> Option<String> {
        match self {
            PriorityRule::ProjectDefault => None,
            PriorityRule::Fixed(name) => Some(name.clone()),
            PriorityRule::Map(map) => Some(
                map.get(&severity)
                    .cloned()
                    .unwrap_or_else(|| severity.default_priority().to_string()),
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFields {
    pub detection_id: Option<String>,
    pub severity: Option<String>,
    pub match_count: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueLink {
    pub link_type: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// `instance_url`, parsed and normalised once (whether the token may go there is
    /// decided by `hosts::authorize`, with the secret in hand).
    pub site: JiraSite,
    pub email: Option<String>,
    pub api_token_secret: String,
    pub project_key: String,
    pub issue_type: String,
    pub priority: PriorityRule,
    pub labels: Vec<String>,
    pub timeout: Duration,
    pub api_version: ApiVersion,
    pub custom_fields: CustomFields,
    /// Any Jira field, converted to its type once the create metadata is known.
    pub fields: Vec<FieldEntry>,
    pub parent_key: Option<String>,
    pub links: Vec<IssueLink>,
    pub group_repeats: bool,
    pub lifecycle: Lifecycle,
}

/// What happens to a detection's issue after it is created (contract section 10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// A NOT_MATCHED run resolves the detection's open issue.
    pub resolve_when_clear: bool,
    /// The transition (name or id) that resolves; `None`: the first into `done`.
    pub resolve_transition: Option<String>,
    /// A MATCHED run reopens an issue resolved less than this long ago; 0: never.
    pub reopen_within_hours: u32,
    /// New issues per detection and destination in any rolling hour.
    pub max_issues_per_hour: Option<u32>,
}

impl Lifecycle {
    /// Whether runs of this destination look at the detection's earlier issues.
    pub fn active(&self) -> bool {
        self.resolve_when_clear
            || self.reopen_within_hours > 0
            || self.max_issues_per_hour.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub operator: Option<String>,
    pub value: Option<String>,
    pub eagerness: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The id as text (it may be a number or a string in the event).
    pub id: String,
    /// The id when it is a whole number (needed for a Jira number field).
    pub numeric_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub outcome: RunOutcome,
    pub match_count: Option<i64>,
    pub run_type: Option<String>,
    pub threshold: Option<Threshold>,
    pub exhaustiveness: Option<String>,
    pub search_id: Option<String>,
    pub trace_id: Option<String>,
    pub ran_at: Option<String>,
    /// `ran_at` in epoch seconds, when it is an RFC 3339 timestamp (orders the runs).
    pub ran_at_epoch: Option<i64>,
    pub time_range: Option<(Option<String>, Option<String>)>,
    /// An absolute http(s) URL, parsed and normalised.
    pub replay_url: Option<String>,
    /// The first `ERRORS_KEPT` error messages.
    pub errors: Vec<String>,
    /// How many more the detection reported.
    pub errors_omitted: usize,
    /// The detection serialised, kept only when neither `ran_at` nor `search_id` is there
    /// to tell runs apart (the fingerprint then falls back to the whole content). Not
    /// kept otherwise: it would copy every description for nothing.
    pub run_content: Option<String>,
}

impl Detection {
    /// A run that found nothing (outcome NOT_MATCHED).
    pub fn is_clear(&self) -> bool {
        self.outcome == RunOutcome::NotMatched
    }
}

/// What the run found: the two outcomes that are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Matched,
    /// Found nothing: resolves the detection's open issue where asked to.
    NotMatched,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Matched => MATCHED,
            RunOutcome::NotMatched => NOT_MATCHED,
        }
    }
}

/// Why an alert is not for delivery (answered `skipped`, never an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// `destination.enabled` is false.
    Disabled,
    /// The run's outcome is not delivered to this destination (as given).
    Outcome(String),
}

impl Ignored {
    pub fn text(&self) -> String {
        match self {
            Ignored::Disabled => "destination disabled (destination.enabled is false)".into(),
            Ignored::Outcome(o) => format!("detection outcome is {}, not MATCHED", quote(o)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub destination: Destination,
    pub detection: Detection,
}

/// What to do with a parsed event object.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage {
    Deliver(Box<Alert>),
    Skip {
        reason: Ignored,
        detection_id: Option<String>,
    },
}

pub use crate::failure::quote;

/// `parent.key`, with the key quoted (and cut short) unless it is a plain name: keys come
/// from the event too.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match plain {
        true => format!("{parent}.{key}"),
        false => format!("{parent}.{}", quote(key)),
    }
}

fn is_project_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z'))
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// An issue key such as `SEC-42`.
pub fn is_issue_key(s: &str) -> bool {
    match s.rsplit_once('-') {
        Some((project, number)) => {
            is_project_key(project)
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Parses and checks one alert object, deciding whether it is delivered or skipped.
///
/// Order matters: inline credentials are refused first (whatever else the alert says), then
/// `enabled: false` and outcomes other than MATCHED are skipped before the destination is
/// checked, so that a skipped alert never fails over configuration it would not use.
pub fn triage(value: &Value) -> Result<Triage, AlertError> {
    let mut p = Problems::default();
    let (dest_raw, det_raw) = parts(value, &mut p)?;
    if let Some(raw) = dest_raw {
        destination::refuse_inline_credentials(raw, &mut p);
    }
    let (Some(dest_raw), Some(det_raw)) = (dest_raw, det_raw) else {
        return Err(p.into_error());
    };
    let (Some(dest), Some(det)) = (
        read::<WireDestination>(dest_raw, "destination", &mut p),
        read::<WireDetection>(det_raw, "detection", &mut p),
    ) else {
        return Err(p.into_error());
    };

    let id = p.take(detection::read_id(&det.id)).flatten();
    let skip = |reason: Ignored| Triage::Skip {
        reason,
        detection_id: id.as_ref().map(|id| id.text.clone()),
    };
    if p.take(destination::flag(&dest.enabled, "enabled", true)) == Some(false) {
        return p.or(Some(skip(Ignored::Disabled)));
    }
    let outcome = p.take(detection::required(
        &det.outcome,
        "outcome",
        det_raw,
        "set detection.outcome; only MATCHED creates an issue",
    ));
    // A clear is delivered only to destinations that resolve on it.
    // (A bad value is reported once, with the rest of the destination.)
    let resolves = dest.resolve_when_clear == wire::Field::Given(true);
    let delivered = |o: &String| {
        o.eq_ignore_ascii_case(MATCHED) || (resolves && o.eq_ignore_ascii_case(NOT_MATCHED))
    };
    if let Some(other) = outcome.as_ref().filter(|o| !delivered(o)) {
        return p.or(Some(skip(Ignored::Outcome(other.clone()))));
    }

    let destination = destination::destination(dest, id.as_ref(), &mut p);
    let detection = detection::detection(det, det_raw, id, outcome, &mut p);
    let alert = match (destination, detection) {
        (Some(destination), Some(detection)) => Some(Alert {
            destination,
            detection,
        }),
        _ => None,
    };
    p.or(alert.map(|a| Triage::Deliver(Box::new(a))))
}

/// One of the alert's two objects, `None` when it is missing or not an object.
type Part<'a> = Option<&'a Map<String, Value>>;

/// The alert's two objects (the problem of a bad one recorded). An alert that is not an
/// object at all is refused at once.
fn parts<'a>(value: &'a Value, p: &mut Problems) -> Result<(Part<'a>, Part<'a>), AlertError> {
    let Some(root) = value.as_object() else {
        return Err(AlertError::one(Problem::new(
            "alert",
            format!("must be a JSON object, got {}", wire::type_name(value)),
            "send an object with \"destination\" and \"detection\"",
        )));
    };
    let mut part = |key: &str, fix: &str| match root.get(key) {
        Some(Value::Object(map)) => Some(map),
        None | Some(Value::Null) => {
            p.push(Problem::new(key, "is required but missing", fix));
            None
        }
        Some(other) => {
            let problem = format!("must be an object, got {}", wire::type_name(other));
            p.push(Problem::new(key, problem, fix));
            None
        }
    };
    Ok((
        part(
            "destination",
            "add a \"destination\" object with instance_url, api_token_secret and project_key",
        ),
        part(
            "detection",
            "add a \"detection\" object with id, name, severity and outcome",
        ),
    ))
}

/// The wire struct of one part. It cannot fail on JSON (every field is lenient); if it
/// ever does, the part is named without echoing serde's message, which may quote values.
fn read<'a, T: Deserialize<'a>>(
    raw: &'a Map<String, Value>,
    name: &str,
    p: &mut Problems,
) -> Option<T> {
    // Read in place: a detection with a million errors is not copied.
    p.take(T::deserialize(raw).map_err(|_| {
        Problem::new(
            name,
            "could not be read",
            "check it against the alert contract",
        )
    }))
}
