//! The create screen's fields beyond the ones every issue has: what `createmeta` says of
//! them (schema, allowed values, required), and whether a create's value fits each, with
//! Jira's messages when it does not.

use crate::config::{FieldKind, Project};
use crate::flavor::Flavor;
use serde_json::{json, Value};

const CUSTOM: &str = "com.atlassian.jira.plugin.system.customfieldtypes";

/// The name Jira shows for field `id` of `project`.
pub(crate) fn name_of<'a>(project: &'a Project, id: &'a str) -> &'a str {
    project.field_names.get(id).map_or(id, String::as_str)
}

fn options(values: &[String]) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"id": (20_000 + i).to_string(), "value": o}))
        .collect()
}

fn named(values: &[String]) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"id": (30_000 + i).to_string(), "name": o}))
        .collect()
}

/// The field as `createmeta/{project}/issuetypes/{id}` lists it.
pub(crate) fn describe(project: &Project, id: &str, kind: &FieldKind) -> Value {
    let system = !id.starts_with("customfield_");
    let custom = |t: &str| match system {
        true => json!({"system": id}),
        false => json!({"custom": format!("{CUSTOM}:{t}")}),
    };
    let (schema, allowed): (Value, Option<Vec<Value>>) = match kind {
        FieldKind::Number => (json!({"type": "number"}), None),
        FieldKind::Select(o) => (json!({"type": "option"}), Some(options(o))),
        FieldKind::MultiSelect(o) => (
            json!({"type": "array", "items": "option"}),
            Some(options(o)),
        ),
        FieldKind::Cascading(tree) => {
            let parents: Vec<Value> = tree
                .iter()
                .enumerate()
                .map(|(i, (p, children))| {
                    json!({"id": (40_000 + i).to_string(), "value": p, "children": options(children)})
                })
                .collect();
            (json!({"type": "option-with-child"}), Some(parents))
        }
        FieldKind::Text => (json!({"type": "string"}), None),
        FieldKind::TextArea => (json!({"type": "string"}), None),
        FieldKind::Date => (json!({"type": "date"}), None),
        FieldKind::DateTime => (json!({"type": "datetime"}), None),
        FieldKind::User => (json!({"type": "user"}), None),
        FieldKind::Labels => (json!({"type": "array", "items": "string"}), None),
        FieldKind::Components(c) => (
            json!({"type": "array", "items": "component"}),
            Some(named(c)),
        ),
        FieldKind::Versions(v) => (json!({"type": "array", "items": "version"}), Some(named(v))),
    };
    let mut schema = schema;
    let kind_key = match kind {
        FieldKind::Number => "float",
        FieldKind::Select(_) => "select",
        FieldKind::MultiSelect(_) => "multiselect",
        FieldKind::Cascading(_) => "cascadingselect",
        FieldKind::TextArea => "textarea",
        FieldKind::Text => "textfield",
        FieldKind::Date => "datepicker",
        FieldKind::DateTime => "datetime",
        FieldKind::User => "userpicker",
        FieldKind::Labels => "labels",
        _ => "",
    };
    if let Value::Object(extra) = custom(kind_key) {
        for (k, v) in extra {
            schema[k] = v;
        }
    }
    let mut field = json!({
        "fieldId": id,
        "key": id,
        "name": name_of(project, id),
        "required": project.required_fields.iter().any(|r| r == id),
        "hasDefaultValue": false,
        "schema": schema,
    });
    if let Some(a) = allowed {
        field["allowedValues"] = Value::Array(a);
    }
    field
}

/// One page of `items` (`startAt`, `maxResults` as asked), in the flavor's shape: Cloud
/// names the list `key` and gives `total`, Server/DC names it `values` and says `isLast`.
pub(crate) fn page(
    flavor: Flavor,
    key: &str,
    items: Vec<Value>,
    start: usize,
    max: usize,
) -> Value {
    let total = items.len();
    let max = max.clamp(1, 50);
    let chosen: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let last = start + chosen.len() >= total;
    match flavor {
        Flavor::Cloud => json!({key: chosen, "startAt": start, "maxResults": max, "total": total}),
        Flavor::Server => {
            json!({"values": chosen, "startAt": start, "maxResults": max, "total": total, "isLast": last})
        }
    }
}

fn value_of(v: &Value) -> Option<&str> {
    v.get("value").and_then(Value::as_str)
}

fn name_of_value(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// Why Jira refuses `value` for a field of `kind` (API version `api`), if it does.
pub(crate) fn refusal(kind: &FieldKind, value: &Value, api: u8, flavor: Flavor) -> Option<String> {
    let option = |allowed: &[String], v: &Value| match value_of(v) {
        Some(o) if allowed.iter().any(|x| x == o) => None,
        Some(o) => Some(format!("Option value '{o}' is not valid")),
        None => Some("Specify a valid 'id' or 'name' for the option".to_string()),
    };
    let list = |v: &Value| v.as_array().cloned();
    match kind {
        FieldKind::Number => (!value.is_number()).then(|| "Operation value must be a number".into()),
        FieldKind::Select(allowed) => option(allowed, value),
        FieldKind::MultiSelect(allowed) => match list(value) {
            None => Some("data was not an array".into()),
            Some(items) => items.iter().find_map(|i| option(allowed, i)),
        },
        FieldKind::Cascading(tree) => {
            let parent = value_of(value)?;
            let Some((_, children)) = tree.iter().find(|(p, _)| p == parent) else {
                return Some(format!("Option value '{parent}' is not valid"));
            };
            match value.get("child").and_then(value_of) {
                Some(c) if !children.iter().any(|x| x == c) => {
                    Some(format!("Option value '{c}' is not valid for parent '{parent}'"))
                }
                _ => None,
            }
        }
        FieldKind::Text => (!value.is_string()).then(|| "Operation value must be a string".into()),
        FieldKind::TextArea if api == 3 => (!value.is_object()).then(|| {
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)".into()
        }),
        FieldKind::TextArea => (!value.is_string()).then(|| "Operation value must be a string".into()),
        FieldKind::Date => match value.as_str() {
            Some(d) if crate::clock::is_date(d) => None,
            other => Some(format!("Error parsing date string: {}", other.unwrap_or(""))),
        },
        FieldKind::DateTime => match value.as_str() {
            Some(t) if crate::clock::parse_jira_time(t).is_some() => None,
            _ => Some("Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".".into()),
        },
        FieldKind::User => match flavor {
            Flavor::Cloud => value
                .get("accountId")
                .and_then(Value::as_str)
                .is_none()
                .then(|| "Specify the user by accountId".into()),
            Flavor::Server => name_of_value(value)
                .is_none()
                .then(|| "Specify the user by name".into()),
        },
        FieldKind::Labels => match list(value) {
            None => Some("data was not an array".into()),
            Some(items) => items.iter().find_map(|i| match i.as_str() {
                Some(l) if l.contains(char::is_whitespace) => {
                    Some(format!("The label '{l}' contains spaces which is invalid."))
                }
                Some(_) => None,
                None => Some("data was not an array of strings".into()),
            }),
        },
        FieldKind::Components(allowed) | FieldKind::Versions(allowed) => {
            let what = match kind {
                FieldKind::Components(_) => "Component",
                _ => "Version",
            };
            match list(value) {
                None => Some("data was not an array".into()),
                Some(items) => items.iter().find_map(|i| match name_of_value(i) {
                    Some(n) if allowed.iter().any(|a| a == n) => None,
                    Some(n) => Some(format!("{what} name '{n}' is not valid")),
                    None => Some(format!("Specify a valid {} name or id", what.to_lowercase())),
                }),
            }
        }
    }
}
