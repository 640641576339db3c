//! What Jira accepts and rejects when an issue is created or edited, with Jira's messages.

use crate::adf;
use crate::clock::jira_now;
use crate::errors::{jira_error, no_such_issue};
use crate::flavor::Flavor;
use crate::issue::Issue;
use crate::lookup::{self, issue_mut};
use crate::screen;
use crate::state::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DESCRIPTION_LIMIT: usize = 32_767;

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn name_or_id(v: &Value) -> Option<String> {
    v.get("name")
        .or_else(|| v.get("key"))
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn cannot_set(field: &str) -> String {
    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
}

/// Checks one label; None when Jira takes it.
fn label_error(l: &Value) -> Option<String> {
    let Some(l) = l.as_str() else {
        return Some("Operation value must be a string".into());
    };
    if l.chars().any(char::is_whitespace) {
        return Some(format!("The label '{l}' contains spaces which is invalid."));
    }
    (utf16_len(l) > 255).then(|| {
        format!("The label '{l}' exceeds the maximum length for a single label of 255 characters")
    })
}

/// Checks a description for API version `api`; None when it is fine.
fn description_error(api: u8, v: &Value) -> Option<String> {
    match (api, v) {
        (_, Value::Null) => None,
        (3, Value::Object(_)) => {
            if let Err(_why) = adf::validate(v) {
                return Some("INVALID_INPUT".into());
            }
            (utf16_len(&v.to_string()) > DESCRIPTION_LIMIT).then(|| {
                "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
                    .into()
            })
        }
        (3, _) => Some(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .into(),
        ),
        (_, Value::String(s)) => (utf16_len(s) > DESCRIPTION_LIMIT).then(|| {
            "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
                .into()
        }),
        (_, _) => Some("Operation value must be a string".into()),
    }
}

pub(crate) fn create_issue(
    s: &mut State,
    api: u8,
    user: &str,
    body: &Value,
    base: &str,
) -> Response {
    let Some(fields) = body.get("fields").and_then(Value::as_object) else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["Can not deserialize instance of com.atlassian.jira.rest.v2.issue.IssueUpdateBean out of START_ARRAY token"],
            &BTreeMap::new(),
        );
    };
    let cloud = s.config.flavor == Flavor::Cloud;
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let mut messages: Vec<&str> = Vec::new();

    let project = fields
        .get("project")
        .and_then(name_or_id)
        .and_then(|k| lookup::project(s, &k).cloned());
    let Some(project) = project else {
        errors.insert(
            "project".into(),
            if fields.contains_key("project") {
                "Specify a valid project ID or key".into()
            } else {
                "project is required".into()
            },
        );
        return jira_error(StatusCode::BAD_REQUEST, &[], &errors);
    };
    if s.config.read_only_users.iter().any(|u| u == user) {
        return jira_error(
            StatusCode::FORBIDDEN,
            &["You do not have permission to create issues in this project."],
            &BTreeMap::new(),
        );
    }
    match fields.get("issuetype").and_then(name_or_id) {
        Some(t) if project.issue_types.contains(&t) => {}
        _ => {
            errors.insert(
                "issuetype".into(),
                if cloud {
                    "The issue type selected is invalid.".into()
                } else {
                    "valid issue type is required".into()
                },
            );
        }
    }
    match fields.get("summary") {
        Some(Value::String(t)) if !t.trim().is_empty() => {
            if t.contains('\n') || t.contains('\r') {
                errors.insert(
                    "summary".into(),
                    "The summary is invalid because it contains newline characters.".into(),
                );
            } else if utf16_len(t) > 255 {
                errors.insert(
                    "summary".into(),
                    if cloud {
                        "Summary can't exceed 255 characters.".into()
                    } else {
                        "Summary must be less than 255 characters.".into()
                    },
                );
            }
        }
        _ => {
            errors.insert(
                "summary".into(),
                "You must specify a summary of the issue.".into(),
            );
        }
    }
    if let Some(d) = fields.get("description") {
        if let Some(e) = description_error(api, d) {
            if e == "INVALID_INPUT" {
                messages.push("INVALID_INPUT");
            } else {
                errors.insert("description".into(), e);
            }
        }
    }
    if let Some(p) = fields.get("priority") {
        match name_or_id(p) {
            Some(name) if s.config.priorities.contains(&name) => {
                if let Some(scheme) = &project.priorities {
                    if !scheme.contains(&name) {
                        errors.insert(
                            "priority".into(),
                            "This priority is not available for this project.".into(),
                        );
                    }
                }
            }
            _ => {
                errors.insert(
                    "priority".into(),
                    if cloud {
                        "The priority selected is invalid.".into()
                    } else {
                        "This priority is not available for this project.".into()
                    },
                );
            }
        }
    }
    if let Some(labels) = fields.get("labels") {
        match labels.as_array() {
            Some(items) => {
                if let Some(e) = items.iter().find_map(label_error) {
                    errors.insert("labels".into(), e);
                }
            }
            None => {
                errors.insert("labels".into(), "data was not an array".into());
            }
        }
    }
    if let Some(parent) = fields.get("parent") {
        let key = name_or_id(parent).unwrap_or_default();
        if lookup::issue(s, &key).is_none() {
            errors.insert("parent".into(), "Could not find issue by id or key.".into());
        }
    }
    for (name, value) in fields {
        if matches!(
            name.as_str(),
            "project" | "issuetype" | "summary" | "description" | "priority" | "labels" | "parent"
        ) {
            continue;
        }
        match project.screen_fields.get(name) {
            None => {
                errors.insert(name.clone(), cannot_set(name));
            }
            Some(kind) => {
                if let Some(e) = screen::refusal(kind, value, api, s.config.flavor) {
                    errors.insert(name.clone(), e);
                }
            }
        }
    }
    for id in &project.required_fields {
        if !fields.contains_key(id) {
            errors.insert(
                id.clone(),
                format!("{} is required.", screen::name_of(&project, id)),
            );
        }
    }
    let mut links = Vec::new();
    if let Some(update) = body.get("update").and_then(Value::as_object) {
        for (name, ops) in update {
            if name != "issuelinks" {
                errors.insert(name.clone(), cannot_set(name));
                continue;
            }
            for op in ops.as_array().into_iter().flatten() {
                let add = op.get("add").cloned().unwrap_or(Value::Null);
                let link_type = add
                    .pointer("/type/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let target = add
                    .pointer("/outwardIssue/key")
                    .or_else(|| add.pointer("/inwardIssue/key"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !s.config.link_types.iter().any(|t| t == link_type) {
                    errors.insert(
                        "issuelinks".into(),
                        format!("No issue link type with name '{link_type}' found."),
                    );
                } else if !s.issues.iter().any(|i| i.key == target) {
                    errors.insert("issuelinks".into(), format!("Issue '{target}' does not exist or you do not have permission to see it."));
                } else {
                    links.push((link_type.to_string(), target.to_string()));
                }
            }
        }
    }
    if !errors.is_empty() || !messages.is_empty() {
        return jira_error(StatusCode::BAD_REQUEST, &messages, &errors);
    }
    let id = s.next_id;
    s.next_id += 1;
    let number = s
        .issues
        .iter()
        .filter(|i| i.key.starts_with(&format!("{}-", project.key)))
        .count()
        + 100;
    let key = format!("{}-{number}", project.key);
    let mut issue = Issue::new(
        id.to_string(),
        key.clone(),
        Value::Object(fields.clone()),
        &s.config.workflow.initial(),
        api,
    );
    issue.links = links;
    issue.indexed = !s.config.defer_indexing;
    s.issues.push(issue);
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id.to_string(), "key": key, "self": format!("{base}/rest/api/{api}/issue/{id}")})),
    )
        .into_response()
}

/// `PUT /issue/{key}`: only `update.labels`, with `add`, `remove` and `set` operations
/// applied in order (removing a label the issue lacks is no error, as in Jira).
pub(crate) fn edit_issue(s: &mut State, key: &str, body: &Value) -> Response {
    let Some(issue) = issue_mut(s, key) else {
        return no_such_issue();
    };
    let Some(ops) = body.pointer("/update/labels").and_then(Value::as_array) else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["Only update.labels is supported by this fake"],
            &BTreeMap::new(),
        );
    };
    let mut labels: Vec<Value> = issue
        .fields
        .get("labels")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let refuse = |e: String| {
        let mut errors = BTreeMap::new();
        errors.insert("labels".to_string(), e);
        jira_error(StatusCode::BAD_REQUEST, &[], &errors)
    };
    for op in ops {
        let (name, value) = match op.as_object().map(|o| o.iter().collect::<Vec<_>>()) {
            Some(pairs) if pairs.len() == 1 => (pairs[0].0.as_str(), pairs[0].1),
            _ => {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &["Each update.labels operation holds one of add, remove, set"],
                    &BTreeMap::new(),
                )
            }
        };
        let values: Vec<&Value> = match (name, value) {
            ("set", Value::Array(items)) => items.iter().collect(),
            ("set", _) => return refuse("data was not an array".into()),
            (_, v) => vec![v],
        };
        if let Some(e) = values.iter().find_map(|v| label_error(v)) {
            return refuse(e);
        }
        match name {
            "add" => {
                if !labels.contains(value) {
                    labels.push(value.clone());
                }
            }
            "remove" => labels.retain(|l| l != value),
            "set" => {
                labels.clear();
                for v in values {
                    if !labels.contains(v) {
                        labels.push(v.clone());
                    }
                }
            }
            other => {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &[&format!(
                        "The fake supports add, remove and set on labels, not '{other}'"
                    )],
                    &BTreeMap::new(),
                )
            }
        }
    }
    if let Some(f) = issue.fields.as_object_mut() {
        f.insert("labels".into(), Value::Array(labels));
    }
    issue.updated = jira_now();
    StatusCode::NO_CONTENT.into_response()
}
