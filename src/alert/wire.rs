//! The alert as it arrives: serde structs that say which type each field should have, but
//! never fail. A field of the wrong type is kept as `Field::Wrong` so that the conversion
//! into the domain types (`destination`, `issue_fields`, `detection`) can report every
//! problem at once instead of stopping at serde's first error.

use super::error::Problem;
use super::ERRORS_KEPT;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One field as the event sent it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    /// Not there, or `null`.
    #[default]
    Absent,
    Given(T),
    /// Something else; the JSON type found, for the error message.
    Wrong(&'static str),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        if value.is_null() {
            return Ok(Field::Absent);
        }
        let found = type_name(&value);
        Ok(T::deserialize(value).map_or(Field::Wrong(found), Field::Given))
    }
}

/// A JSON object only: serde would also build a struct from an array, by position.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        T::deserialize(Value::Object(map))
            .map(Obj)
            .map_err(de::Error::custom)
    }
}

/// What JSON type a value is, for "must be a string, got a number".
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The destination keys (contract section 1); any other key is refused.
pub const DESTINATION_FIELDS: [&str; 20] = [
    "instance_url",
    "email",
    "api_token_secret",
    "project_key",
    "issue_type",
    "priority",
    "priority_map",
    "labels",
    "timeout",
    "enabled",
    "api_version",
    "custom_fields",
    "fields",
    "parent_key",
    "links",
    "group_repeats",
    "resolve_when_clear",
    "resolve_transition",
    "reopen_within_hours",
    "max_issues_per_hour",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireDestination {
    pub instance_url: Field<String>,
    pub email: Field<String>,
    pub api_token_secret: Field<String>,
    pub project_key: Field<String>,
    pub issue_type: Field<String>,
    pub priority: Field<String>,
    /// Entries are read one by one so that each bad one is named.
    pub priority_map: Field<Map<String, Value>>,
    pub labels: Field<Vec<Field<String>>>,
    pub timeout: Field<Number>,
    pub enabled: Field<bool>,
    /// `"auto"`, `"2"`, `"3"`, or the numbers 2 and 3.
    pub api_version: Field<Value>,
    pub custom_fields: Field<Map<String, Value>>,
    /// Any Jira field by id or name (`fields.rs`).
    pub fields: Field<Map<String, Value>>,
    pub parent_key: Field<String>,
    pub links: Field<Vec<Field<Obj<WireLink>>>>,
    pub group_repeats: Field<bool>,
    pub resolve_when_clear: Field<bool>,
    /// A transition name (string) or id (string or number).
    pub resolve_transition: Field<Value>,
    pub reopen_within_hours: Field<Number>,
    pub max_issues_per_hour: Field<Number>,
    /// Every key not named above.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireLink {
    #[serde(rename = "type")]
    pub link_type: Field<String>,
    pub key: Field<String>,
}

/// The detection fields this function reads; the platform may send others (ignored).
pub const DETECTION_FIELDS: [&str; 15] = [
    "id",
    "name",
    "description",
    "severity",
    "outcome",
    "match_count",
    "run_type",
    "threshold",
    "exhaustiveness",
    "search_id",
    "trace_id",
    "ran_at",
    "time_range",
    "replay_url",
    "errors",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireDetection {
    pub id: Field<WireId>,
    pub name: Field<String>,
    pub description: Field<Text>,
    pub severity: Field<String>,
    pub outcome: Field<String>,
    pub match_count: Field<i64>,
    pub run_type: Field<Text>,
    pub threshold: Field<Obj<WireThreshold>>,
    pub exhaustiveness: Field<Text>,
    pub search_id: Field<Text>,
    pub trace_id: Field<Text>,
    pub ran_at: Field<Text>,
    pub time_range: Field<Obj<WireTimeRange>>,
    pub replay_url: Field<String>,
    pub errors: ErrorList,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum WireId {
    Number(Number),
    Text(String),
}

/// Text shown in the description: numbers and booleans are shown as text too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Str(String),
    Number(Number),
    Bool(bool),
}

impl Text {
    /// The text to show; blank text is as good as absent.
    pub fn shown(self) -> Option<String> {
        match self {
            Text::Str(s) if s.trim().is_empty() => None,
            Text::Str(s) => Some(s),
            Text::Number(n) => Some(n.to_string()),
            Text::Bool(b) => Some(b.to_string()),
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireThreshold {
    pub operator: Field<Text>,
    pub value: Field<Text>,
    pub eagerness: Field<Text>,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireTimeRange {
    pub start: Field<Text>,
    pub end: Field<Text>,
}

/// `detection.errors`: the first `ERRORS_KEPT` messages, and how many more there were.
/// Read without copying the rest: a million errors cost no more than fifty.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ErrorList {
    pub kept: Vec<String>,
    pub omitted: usize,
    /// The JSON type found when it was neither a list nor a string.
    pub wrong: Option<&'static str>,
}

impl<'de> Deserialize<'de> for ErrorList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ErrorListVisitor)
    }
}

struct ErrorListVisitor;

impl ErrorListVisitor {
    fn wrong<E>(found: &'static str) -> Result<ErrorList, E> {
        Ok(ErrorList {
            wrong: Some(found),
            ..ErrorList::default()
        })
    }
}

impl<'de> Visitor<'de> for ErrorListVisitor {
    type Value = ErrorList;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of error messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorList, A::Error> {
        let mut list = ErrorList::default();
        while list.kept.len() < ERRORS_KEPT {
            match seq.next_element::<Value>()? {
                None => return Ok(list),
                Some(Value::Null) => {}
                Some(Value::String(s)) => list.kept.push(s),
                Some(other) => list.kept.push(other.to_string()),
            }
        }
        // Nulls are not errors; the rest are only counted.
        while let Some(item) = seq.next_element::<Option<IgnoredAny>>()? {
            list.omitted += usize::from(item.is_some());
        }
        Ok(list)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<ErrorList, E> {
        Ok(ErrorList {
            kept: vec![s.to_string()],
            ..ErrorList::default()
        })
    }

    fn visit_unit<E>(self) -> Result<ErrorList, E> {
        Ok(ErrorList::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<ErrorList, E> {
        Self::wrong("a boolean")
    }

    fn visit_i64<E>(self, _: i64) -> Result<ErrorList, E> {
        Self::wrong("a number")
    }

    fn visit_u64<E>(self, _: u64) -> Result<ErrorList, E> {
        Self::wrong("a number")
    }

    fn visit_f64<E>(self, _: f64) -> Result<ErrorList, E> {
        Self::wrong("a number")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<ErrorList, A::Error> {
        Self::wrong("an object")
    }
}

/// A string field, trimmed; blank is as good as absent.
pub fn optional(field: Field<String>, key: &str, fix: &str) -> Result<Option<String>, Problem> {
    match field {
        Field::Absent => Ok(None),
        Field::Given(s) if s.trim().is_empty() => Ok(None),
        Field::Given(s) => Ok(Some(s.trim().to_string())),
        Field::Wrong(found) => Err(Problem::new(
            format!("destination.{key}"),
            format!("must be a string, got {found}"),
            fix,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_known_destination_keys_are_the_wire_fields() {
        let all: Map<String, Value> = DESTINATION_FIELDS
            .iter()
            .map(|k| (k.to_string(), json!(null)))
            .collect();
        let wire = WireDestination::deserialize(&Value::Object(all)).unwrap();
        assert!(wire.unknown.is_empty(), "{:?}", wire.unknown);
    }

    #[test]
    fn wrong_types_are_kept_not_fatal() {
        let v = json!({"labels": "a,b", "timeout": "30", "links": [1, {"type": "Relates"}]});
        let wire = WireDestination::deserialize(&v).unwrap();
        assert_eq!(wire.labels, Field::Wrong("a string"));
        assert_eq!(wire.timeout, Field::Wrong("a string"));
        let Field::Given(links) = wire.links else {
            panic!()
        };
        assert_eq!(links[0], Field::Wrong("a number"));
        assert!(matches!(&links[1], Field::Given(Obj(l)) if l.key == Field::Absent));
    }

    #[test]
    fn a_struct_is_not_read_from_an_array() {
        let v = json!({"threshold": ["GT", 0, "EAGER"]});
        let wire = WireDetection::deserialize(&v).unwrap();
        assert_eq!(wire.threshold, Field::Wrong("an array"));
    }

    #[test]
    fn errors_are_counted_past_the_kept_ones() {
        let mut items = vec![json!(null); 3];
        items.extend(vec![json!("e"); ERRORS_KEPT + 7]);
        items.push(json!(null));
        let wire = WireDetection::deserialize(&json!({"errors": items})).unwrap();
        assert_eq!(wire.errors.kept.len(), ERRORS_KEPT);
        assert_eq!(wire.errors.omitted, 7);
        let wire = WireDetection::deserialize(&json!({"errors": 5})).unwrap();
        assert_eq!(wire.errors.wrong, Some("a number"));
    }
}
