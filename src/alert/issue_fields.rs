//! The destination fields that shape the issue beyond its project: priority, labels,
//! custom fields and links. Each bad entry is named by its own path.

use super::detection::DetectionId;
use super::error::{Problem, Problems};
use super::suggest::closest;
use super::wire::{optional, Field, Obj, WireLink};
use super::{is_issue_key, key_path, quote, CustomFields, IssueLink, PriorityRule, Severity};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MAX_LABELS: usize = 50;
pub const MAX_LINKS: usize = 20;

/// `priority` (one name) or `priority_map` (severity decides), never both.
pub fn priority(
    fixed: Field<String>,
    map: Field<Map<String, Value>>,
    p: &mut Problems,
) -> Option<PriorityRule> {
    let both = map != Field::Absent && matches!(&fixed, Field::Given(s) if !s.trim().is_empty());
    if both {
        p.push(Problem::new(
            "destination.priority",
            "priority and priority_map are both set",
            "keep priority for one fixed priority, or priority_map to map severities; remove the other",
        ));
    }
    let fixed = p.take(optional(
        fixed,
        "priority",
        "set destination.priority to a Jira priority name, e.g. High",
    ));
    let map = priority_map(map, p);
    match (fixed?, map?) {
        _ if both => None,
        (Some(name), _) => Some(PriorityRule::Fixed(name)),
        (None, Some(map)) => Some(PriorityRule::Map(map)),
        (None, None) => Some(PriorityRule::ProjectDefault),
    }
}

/// `Some(None)`: absent; `None`: a problem was recorded.
fn priority_map(
    field: Field<Map<String, Value>>,
    p: &mut Problems,
) -> Option<Option<BTreeMap<Severity, String>>> {
    let map = match field {
        Field::Absent => return Some(None),
        Field::Given(map) => map,
        Field::Wrong(found) => {
            p.push(Problem::new(
                "destination.priority_map",
                format!("must be an object, got {found}"),
                "send priority_map as an object of severity -> priority name",
            ));
            return None;
        }
    };
    let entries = p.take_each(map.iter().map(|(key, value)| {
        let field = key_path("destination.priority_map", key);
        let severity = Severity::parse(key).ok_or_else(|| {
            Problem::new(
                field.clone(),
                format!("{} is not a severity", quote(key)),
                "use CRITICAL, HIGH, MEDIUM, LOW or INFO as keys",
            )
        })?;
        match value {
            Value::String(name) if !name.trim().is_empty() => {
                Ok((severity, name.trim().to_string()))
            }
            _ => Err(Problem::new(
                field,
                "must be a non-empty Jira priority name",
                "map each severity to a priority name that exists in Jira, e.g. \"High\"",
            )),
        }
    }))?;
    Some(Some(entries.into_iter().collect()))
}

/// Labels of the function's own: run fingerprints, detection ids, lifecycle state, steps
/// in progress. A configured label with one of these prefixes could pose as one (a state
/// dated in the future would pin an issue, another run's fingerprint would hide it).
pub const OWN_LABEL_PREFIXES: [&str; 4] = [
    "detection-run-",
    "detection-id-",
    "detection-state-",
    "detection-pending-",
];

fn own_prefix(label: &str) -> Option<&'static str> {
    let l = label.trim_start().to_lowercase();
    OWN_LABEL_PREFIXES.into_iter().find(|p| l.starts_with(p))
}

pub fn labels(field: Field<Vec<Field<String>>>, p: &mut Problems) -> Option<Vec<String>> {
    const FIX: &str = "send labels as an array of strings, e.g. [\"team-blue\"]";
    let items = match field {
        Field::Absent => return Some(Vec::new()),
        Field::Given(items) => items,
        Field::Wrong(found) => {
            p.push(Problem::new(
                "destination.labels",
                format!("must be an array of strings, got {found}"),
                FIX,
            ));
            return None;
        }
    };
    if items.len() > MAX_LABELS {
        let problem = format!(
            "has {} labels; at most {MAX_LABELS} are accepted",
            items.len()
        );
        p.push(Problem::new(
            "destination.labels",
            problem,
            format!("send at most {MAX_LABELS} labels"),
        ));
        return None;
    }
    p.take_each(items.into_iter().enumerate().map(|(i, item)| match item {
        Field::Given(label) => match own_prefix(&label) {
            Some(prefix) => Err(Problem::new(
                format!("destination.labels[{i}]"),
                format!("{} starts with {prefix:?}, a prefix of the function's own labels", quote(&label)),
                "choose a label that does not start with detection-run-, detection-id-, detection-state- or detection-pending-: the function writes those itself",
            )),
            None => Ok(label),
        },
        Field::Absent => Err(Problem::new(
            format!("destination.labels[{i}]"),
            "must be a string, got null",
            FIX,
        )),
        Field::Wrong(found) => Err(Problem::new(
            format!("destination.labels[{i}]"),
            format!("must be a string, got {found}"),
            FIX,
        )),
    }))
}

/// `Some(default)`: absent; `None`: a problem was recorded.
pub fn custom_fields(field: Field<Map<String, Value>>, p: &mut Problems) -> Option<CustomFields> {
    const KEYS: [&str; 3] = ["detection_id", "severity", "match_count"];
    let map = match field {
        Field::Absent => return Some(CustomFields::default()),
        Field::Given(map) => map,
        Field::Wrong(found) => {
            p.push(Problem::new(
                "destination.custom_fields",
                format!("must be an object, got {found}"),
                "send custom_fields as an object, e.g. {\"detection_id\": \"customfield_10050\"}",
            ));
            return None;
        }
    };
    let ids = p.take_each(map.iter().map(|(key, value)| {
        let field = key_path("destination.custom_fields", key);
        if !KEYS.contains(&key.as_str()) {
            let problem = match closest(key, &KEYS) {
                Some(meant) => format!("is not a supported custom field mapping; did you mean {meant}?"),
                None => "is not a supported custom field mapping".to_string(),
            };
            return Err(Problem::new(field, problem, "use the keys detection_id, severity and match_count"));
        }
        match value {
            Value::Null => Ok(None),
            Value::String(id) if is_custom_field_id(id.trim()) => Ok(Some((key.as_str(), id.trim().to_string()))),
            _ => Err(Problem::new(
                field,
                "must be a Jira custom field id",
                "use the field's id as Jira shows it, e.g. \"customfield_10050\" (Settings > Issues > Custom fields)",
            )),
        }
    }))?;
    let mut ids: BTreeMap<&str, String> = ids.into_iter().flatten().collect();
    Some(CustomFields {
        detection_id: ids.remove("detection_id"),
        severity: ids.remove("severity"),
        match_count: ids.remove("match_count"),
    })
}

pub fn numeric_id_for_number_field(
    fields: &CustomFields,
    id: Option<&DetectionId>,
) -> Result<(), Problem> {
    match id {
        Some(id) if fields.detection_id.is_some() && id.number.is_none() => Err(Problem::new(
            "destination.custom_fields.detection_id",
            format!(
                "maps to a Jira number field but detection.id {} is not a whole number",
                quote(&id.text)
            ),
            "remove the detection_id mapping, or send a numeric detection.id",
        )),
        _ => Ok(()),
    }
}

fn is_custom_field_id(s: &str) -> bool {
    s.strip_prefix("customfield_")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

pub fn links(field: Field<Vec<Field<Obj<WireLink>>>>, p: &mut Problems) -> Option<Vec<IssueLink>> {
    let items = match field {
        Field::Absent => return Some(Vec::new()),
        Field::Given(items) => items,
        Field::Wrong(found) => {
            p.push(Problem::new(
                "destination.links",
                format!("must be an array, got {found}"),
                "send links as [{\"type\": \"Relates\", \"key\": \"SEC-42\"}]",
            ));
            return None;
        }
    };
    if items.len() > MAX_LINKS {
        let problem = format!(
            "has {} links; at most {MAX_LINKS} are accepted",
            items.len()
        );
        p.push(Problem::new(
            "destination.links",
            problem,
            format!("send at most {MAX_LINKS} links"),
        ));
        return None;
    }
    p.take_each(items.into_iter().enumerate().map(|(i, item)| link(i, item)))
}

fn link(i: usize, item: Field<Obj<WireLink>>) -> Result<IssueLink, Problem> {
    const FIX: &str = "send each link as {\"type\": \"Relates\", \"key\": \"SEC-42\"} (type is a Jira link type name)";
    let field = format!("destination.links[{i}]");
    let Field::Given(Obj(link)) = item else {
        return Err(Problem::new(field, "must be an object", FIX));
    };
    match (link.link_type, link.key) {
        (Field::Given(t), Field::Given(k)) if !t.trim().is_empty() && is_issue_key(k.trim()) => {
            Ok(IssueLink {
                link_type: t.trim().to_string(),
                key: k.trim().to_string(),
            })
        }
        _ => Err(Problem::new(
            field,
            "needs a link type name and an issue key",
            FIX,
        )),
    }
}
