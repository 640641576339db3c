//! `detection`: the run result from the detection platform, into a `Detection`.
//!
//! The platform may add keys at any time, so unknown ones are ignored; one only matters
//! when it looks like a misspelling of a required field that is missing (contract
//! section 8).

use super::error::{Problem, Problems};
use super::suggest::closest;
use super::wire::{
    ErrorList, Field, Obj, Text, WireDetection, WireId, WireThreshold, WireTimeRange,
    DETECTION_FIELDS,
};
use super::{key_path, Detection, Severity, Threshold};
use serde_json::{Map, Value};
use url::Url;

/// The detection id as text, and as a number when it is a whole one.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionId {
    pub text: String,
    pub number: Option<i64>,
}

/// `detection.id`: a whole number or a non-empty string; `None` when absent.
pub fn read_id(id: &Field<WireId>) -> Result<Option<DetectionId>, Problem> {
    const FIX: &str = "set detection.id to the detection's id (a number or a string)";
    match id {
        Field::Absent => Ok(None),
        Field::Given(WireId::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(DetectionId {
                text: i.to_string(),
                number: Some(i),
            })),
            None => Err(Problem::new(
                "detection.id",
                "must be a whole number or a string",
                FIX,
            )),
        },
        Field::Given(WireId::Text(s)) if !s.trim().is_empty() => Ok(Some(DetectionId {
            text: s.trim().to_string(),
            number: s.trim().parse().ok(),
        })),
        Field::Given(WireId::Text(_)) => Err(Problem::new(
            "detection.id",
            "must be a number or a non-empty string, got an empty string",
            FIX,
        )),
        Field::Wrong(found) => Err(Problem::new(
            "detection.id",
            format!("must be a number or a non-empty string, got {found}"),
            FIX,
        )),
    }
}

/// A required string field of the detection, trimmed.
pub fn required(
    field: &Field<String>,
    key: &str,
    raw: &Map<String, Value>,
    fix: &str,
) -> Result<String, Problem> {
    let name = format!("detection.{key}");
    match field {
        Field::Given(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Field::Given(_) => Err(Problem::new(name, "is required but empty", fix)),
        Field::Absent => Err(missing(key, raw, fix)),
        Field::Wrong(found) => Err(Problem::new(
            name,
            format!("must be a string, got {found}"),
            fix,
        )),
    }
}

/// A missing required field, naming an unknown key that looks like a misspelling of it.
fn missing(key: &str, raw: &Map<String, Value>, fix: &str) -> Problem {
    let name = format!("detection.{key}");
    let near_miss = raw
        .keys()
        .filter(|k| !DETECTION_FIELDS.contains(&k.as_str()))
        .find(|k| closest(k, &[key]).is_some());
    match near_miss {
        Some(typo) => {
            let typo = key_path("detection", typo);
            Problem::new(
                name,
                format!("is missing; {typo} looks like a misspelling of it"),
                format!("rename {typo} to {key}"),
            )
        }
        None => Problem::new(name, "is required but missing or empty", fix),
    }
}

/// The rest of the detection, once `id` and `outcome` have been read.
pub fn detection(
    wire: WireDetection,
    raw: &Map<String, Value>,
    id: Option<DetectionId>,
    outcome: Option<String>,
    p: &mut Problems,
) -> Option<Detection> {
    if wire.id == Field::Absent {
        p.push(missing("id", raw, "set detection.id to the detection's id"));
    }
    let name = p.take(required(
        &wire.name,
        "name",
        raw,
        "set detection.name to the detection's name",
    ));
    let severity = p.take(severity(&wire.severity, raw));
    let match_count = p.take(match_count(wire.match_count));
    let threshold = threshold(wire.threshold, p);
    let time_range = time_range(wire.time_range, p);
    let errors = p.take(errors(wire.errors));
    let replay_url = p.take(replay_url(wire.replay_url));
    let description = p.take(text(wire.description, "detection.description"));
    let run_type = p.take(text(wire.run_type, "detection.run_type"));
    let exhaustiveness = p.take(text(wire.exhaustiveness, "detection.exhaustiveness"));
    let search_id = p.take(text(wire.search_id, "detection.search_id"));
    let trace_id = p.take(text(wire.trace_id, "detection.trace_id"));
    let ran_at = p.take(text(wire.ran_at, "detection.ran_at"));

    let (id, search_id, ran_at, errors) = (id?, search_id?, ran_at?, errors?);
    // Nothing tells runs apart: the fingerprint then falls back to the whole content.
    let run_content =
        (search_id.is_none() && ran_at.is_none()).then(|| Value::Object(raw.clone()).to_string());
    Some(Detection {
        id: id.text,
        numeric_id: id.number,
        name: name?,
        description: description?,
        severity: severity?,
        // Triage lets only the delivered outcomes through.
        outcome: match outcome?.eq_ignore_ascii_case(super::NOT_MATCHED) {
            true => super::RunOutcome::NotMatched,
            false => super::RunOutcome::Matched,
        },
        match_count: match_count?,
        run_type: run_type?,
        threshold: threshold?,
        exhaustiveness: exhaustiveness?,
        search_id,
        trace_id: trace_id?,
        ran_at_epoch: ran_at.as_deref().and_then(crate::timestamp::epoch_seconds),
        ran_at,
        time_range: time_range?,
        replay_url: replay_url?,
        errors: errors.kept,
        errors_omitted: errors.omitted,
        run_content,
    })
}

fn match_count(field: Field<i64>) -> Result<Option<i64>, Problem> {
    match field {
        Field::Absent => Ok(None),
        Field::Given(n) => Ok(Some(n)),
        Field::Wrong(found) => Err(Problem::new(
            "detection.match_count",
            format!("must be a whole number, got {found}"),
            "send the number of matches as a JSON integer, or leave it out",
        )),
    }
}

fn errors(list: ErrorList) -> Result<ErrorList, Problem> {
    match list.wrong {
        None => Ok(list),
        Some(found) => Err(Problem::new(
            "detection.errors",
            format!("must be an array of strings, got {found}"),
            "send errors as a list of messages, or leave it out",
        )),
    }
}

fn severity(field: &Field<String>, raw: &Map<String, Value>) -> Result<Severity, Problem> {
    const FIX: &str = "use one of CRITICAL, HIGH, MEDIUM, LOW, INFO (any case)";
    let text = required(field, "severity", raw, FIX)?;
    Severity::parse(&text).ok_or_else(|| {
        Problem::new(
            "detection.severity",
            format!("{} is not a known severity", super::quote(&text)),
            FIX,
        )
    })
}

/// Text shown in the description; numbers and booleans are shown as text.
fn text(field: Field<Text>, name: &str) -> Result<Option<String>, Problem> {
    match field {
        Field::Absent => Ok(None),
        Field::Given(t) => Ok(t.shown()),
        Field::Wrong(found) => Err(Problem::new(
            name,
            format!("must be a string, got {found}"),
            "send this field as a string, or leave it out",
        )),
    }
}

/// `Some(None)`: absent; `None`: a problem was recorded.
fn threshold(field: Field<Obj<WireThreshold>>, p: &mut Problems) -> Option<Option<Threshold>> {
    match field {
        Field::Absent => Some(None),
        Field::Given(Obj(t)) => {
            let operator = p.take(text(t.operator, "detection.threshold.operator"));
            let value = p.take(text(t.value, "detection.threshold.value"));
            let eagerness = p.take(text(t.eagerness, "detection.threshold.eagerness"));
            Some(Some(Threshold {
                operator: operator?,
                value: value?,
                eagerness: eagerness?,
            }))
        }
        Field::Wrong(found) => {
            p.push(Problem::new(
                "detection.threshold",
                format!("must be an object, got {found}"),
                "send threshold as {\"operator\", \"value\", \"eagerness\"}",
            ));
            None
        }
    }
}

type TimeRange = (Option<String>, Option<String>);

/// `Some(None)`: absent; `None`: a problem was recorded.
fn time_range(field: Field<Obj<WireTimeRange>>, p: &mut Problems) -> Option<Option<TimeRange>> {
    match field {
        Field::Absent => Some(None),
        Field::Given(Obj(t)) => {
            let start = p.take(text(t.start, "detection.time_range.start"));
            let end = p.take(text(t.end, "detection.time_range.end"));
            Some(Some((start?, end?)))
        }
        Field::Wrong(found) => {
            p.push(Problem::new(
                "detection.time_range",
                format!("must be an object, got {found}"),
                "send time_range as {\"start\", \"end\"}",
            ));
            None
        }
    }
}

/// `detection.replay_url`: an absolute http(s) URL, normalised (contract section 8). It
/// becomes a link in the issue, so anything a browser would read differently is refused.
pub fn replay_url(field: Field<String>) -> Result<Option<String>, Problem> {
    const NAME: &str = "detection.replay_url";
    const FIX: &str = "send the replay link as an absolute http(s) URL, e.g. https://app.example.com/replay/srch-8f2c, or leave it out";
    let raw = match field {
        Field::Absent => return Ok(None),
        Field::Given(s) if s.trim().is_empty() => return Ok(None),
        Field::Given(s) => s,
        Field::Wrong(found) => {
            return Err(Problem::new(
                NAME,
                format!("must be a string, got {found}"),
                FIX,
            ))
        }
    };
    // Checked on the raw text: the url crate silently drops tabs and newlines.
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let problem = "contains whitespace or a control character";
        return Err(Problem::new(NAME, problem, FIX));
    }
    let lower = raw.get(..8).unwrap_or(&raw).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(Problem::new(NAME, "is not an absolute http(s) URL", FIX));
    }
    match Url::parse(&raw) {
        Ok(url) if url.has_host() => Ok(Some(url.into())),
        Ok(_) => Err(Problem::new(NAME, "has no host", FIX)),
        Err(e) => Err(Problem::new(NAME, format!("is not a valid URL ({e})"), FIX)),
    }
}
