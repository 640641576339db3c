//! `destination.fields`: any Jira field, by id or by the name Jira shows, with the value
//! to set. Read here as the event gives it; converted to the field's type once the create
//! metadata says what that is (`issue::convert`).

use super::error::{Problem, Problems};
use super::wire::{type_name, Field};
use super::{key_path, quote};
use serde_json::{Map, Number, Value};

/// Entries accepted at most.
pub const MAX_FIELDS: usize = 30;

/// Fields the function sets itself, and how they are set instead.
pub const OWN_FIELDS: [(&str, &str); 7] = [
    (
        "summary",
        "leave it out: the function writes the summary from the detection",
    ),
    (
        "description",
        "leave it out: the function writes the description from the detection",
    ),
    ("project", "set destination.project_key instead"),
    ("issuetype", "set destination.issue_type instead"),
    ("labels", "set destination.labels instead"),
    (
        "priority",
        "set destination.priority or priority_map instead",
    ),
    ("parent", "set destination.parent_key instead"),
];

/// How a field the function sets itself is set instead, if `id` is one.
pub fn own_field(id: &str) -> Option<&'static str> {
    let id = id.trim().to_lowercase();
    OWN_FIELDS
        .iter()
        .find(|(f, _)| *f == id)
        .map(|(_, how)| *how)
}

/// One scalar of a value: what a template or a list item can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(Number),
    Bool(bool),
}

impl Scalar {
    /// The scalar as text (numbers as JSON writes them).
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A value of `destination.fields`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    One(Scalar),
    List(Vec<Scalar>),
    /// Sent exactly as given (the escape hatch: `{"id": "10021"}`).
    Json(Map<String, Value>),
}

/// One entry: the key as given (an id or a name) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEntry {
    pub key: String,
    pub value: FieldValue,
}

fn scalar(v: Value) -> Result<Scalar, &'static str> {
    match v {
        Value::String(s) => Ok(Scalar::Text(s)),
        Value::Number(n) => Ok(Scalar::Number(n)),
        Value::Bool(b) => Ok(Scalar::Bool(b)),
        other => Err(type_name(&other)),
    }
}

const FIX: &str = "give each field a string, a number, a boolean, an array of those, or a JSON object sent as it is, e.g. {\"components\": \"SOC\", \"customfield_10060\": {\"id\": \"10021\"}}";

fn entry(key: String, value: Value) -> Result<FieldEntry, Problem> {
    let field = key_path("destination.fields", &key);
    if let Some(how) = own_field(&key) {
        return Err(Problem::new(
            field,
            format!("{} is a field the function sets itself", quote(&key)),
            how,
        ));
    }
    if key.trim().is_empty() {
        return Err(Problem::new(field, "is an empty field name", FIX));
    }
    let value =
        match value {
            Value::Object(map) => FieldValue::Json(map),
            Value::Array(items) => {
                let items: Result<Vec<Scalar>, _> = items.into_iter().map(scalar).collect();
                FieldValue::List(items.map_err(|found| {
                    Problem::new(field.clone(), format!("holds {found} in its array"), FIX)
                })?)
            }
            Value::Null => {
                return Err(Problem::new(
                    field,
                    "is null",
                    "leave the field out, or give it a value",
                ))
            }
            other => FieldValue::One(scalar(other).map_err(|found| {
                Problem::new(field.clone(), format!("must not be {found}"), FIX)
            })?),
        };
    Ok(FieldEntry {
        key: key.trim().to_string(),
        value,
    })
}

/// Reads `destination.fields`; `None` when it was bad (its problems recorded).
pub fn fields(field: Field<Map<String, Value>>, p: &mut Problems) -> Option<Vec<FieldEntry>> {
    let map = match field {
        Field::Absent => return Some(Vec::new()),
        Field::Given(m) => m,
        Field::Wrong(found) => {
            p.push(Problem::new(
                "destination.fields",
                format!("must be an object, got {found}"),
                FIX,
            ));
            return None;
        }
    };
    if map.len() > MAX_FIELDS {
        p.push(Problem::new(
            "destination.fields",
            format!(
                "has {} fields; at most {MAX_FIELDS} are accepted",
                map.len()
            ),
            format!("set at most {MAX_FIELDS} fields"),
        ));
        return None;
    }
    p.take_each(map.into_iter().map(|(k, v)| entry(k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Vec<FieldEntry>, Vec<Problem>> {
        let mut p = Problems::default();
        let map = match v {
            Value::Object(m) => Field::Given(m),
            other => Field::Wrong(type_name(&other)),
        };
        let out = fields(map, &mut p);
        match p.is_empty() {
            true => Ok(out.unwrap()),
            false => Err(p.into_error().problems),
        }
    }

    #[test]
    fn values_of_every_shape() {
        let f = read(json!({
            "components": "SOC, Cloud",
            "Story Points": 5,
            "customfield_1": true,
            "fixVersions": ["1.0", 2],
            "customfield_2": {"id": "10021"}
        }))
        .unwrap();
        let by = |k: &str| f.iter().find(|e| e.key == k).unwrap().value.clone();
        assert_eq!(
            by("components"),
            FieldValue::One(Scalar::Text("SOC, Cloud".into()))
        );
        assert_eq!(
            by("Story Points"),
            FieldValue::One(Scalar::Number(5.into()))
        );
        assert_eq!(
            by("fixVersions"),
            FieldValue::List(vec![Scalar::Text("1.0".into()), Scalar::Number(2.into())])
        );
        assert!(matches!(by("customfield_2"), FieldValue::Json(_)));
    }

    #[test]
    fn every_bad_entry_is_named_with_its_fix() {
        let many: Map<String, Value> = (0..31).map(|i| (format!("f{i}"), json!(1))).collect();
        let e = read(Value::Object(many)).unwrap_err();
        assert!(e[0].problem.contains("at most 30"), "{e:?}");
        let e = read(json!({"Summary": "x", "labels": ["a"], "x": [[1]], "y": null, "ok": 1}))
            .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "destination.fields.Summary",
                "destination.fields.labels",
                "destination.fields.x",
                "destination.fields.y"
            ]
        );
        assert!(e[0].fix.contains("writes the summary"), "{e:?}");
        assert!(e[1].fix.contains("destination.labels"), "{e:?}");
        assert!(read(json!(["a"])).unwrap_err()[0]
            .problem
            .contains("an object"));
    }
}
