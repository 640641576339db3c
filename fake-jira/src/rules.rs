//! What Jira accepts and rejects for create, search and comment, with Jira's messages.

use crate::{adf, jira_error, FieldKind, Flavor, Issue, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

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
    addr: SocketAddr,
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

    let project = fields.get("project").and_then(name_or_id).and_then(|k| {
        s.config
            .projects
            .iter()
            .find(|p| p.key == k || p.id == k)
            .cloned()
    });
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
                for l in items {
                    let Some(l) = l.as_str() else {
                        errors.insert("labels".into(), "Operation value must be a string".into());
                        break;
                    };
                    if l.chars().any(char::is_whitespace) {
                        errors.insert(
                            "labels".into(),
                            format!("The label '{l}' contains spaces which is invalid."),
                        );
                        break;
                    }
                    if utf16_len(l) > 255 {
                        errors.insert("labels".into(), format!("The label '{l}' exceeds the maximum length for a single label of 255 characters"));
                        break;
                    }
                }
            }
            None => {
                errors.insert("labels".into(), "data was not an array".into());
            }
        }
    }
    if let Some(parent) = fields.get("parent") {
        let key = name_or_id(parent).unwrap_or_default();
        if !s.issues.iter().any(|i| i.key == key || i.id == key) {
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
            Some(FieldKind::Number) => {
                if !value.is_number() {
                    errors.insert(name.clone(), "Operation value must be a number".into());
                }
            }
            Some(FieldKind::Select(options)) => {
                let chosen = value.get("value").and_then(Value::as_str);
                match chosen {
                    Some(o) if options.iter().any(|x| x == o) => {}
                    Some(o) => {
                        errors.insert(name.clone(), format!("Option value '{o}' is not valid"));
                    }
                    None => {
                        errors.insert(
                            name.clone(),
                            "Specify a valid 'id' or 'name' for the option".into(),
                        );
                    }
                }
            }
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
    s.issues.push(Issue {
        id: id.to_string(),
        key: key.clone(),
        fields: Value::Object(fields.clone()),
        links,
        comments: vec![],
        status_category: "new".into(),
        indexed: !s.config.defer_indexing,
        api,
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id.to_string(), "key": key, "self": format!("http://{addr}/rest/api/{api}/issue/{id}")})),
    )
        .into_response()
}

/// One clause of the JQL this fake understands.
enum Clause {
    Project(String),
    Label(String),
    NotDone,
}

fn parse_string(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &rest[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Parses `a = "x" AND labels = "y" [AND statusCategory != Done] [ORDER BY ...]`.
fn parse_jql(jql: &str) -> Result<Vec<Clause>, String> {
    let body = match jql.find(" ORDER BY ") {
        Some(i) => &jql[..i],
        None => jql,
    };
    let mut clauses = Vec::new();
    let mut rest = body.trim();
    loop {
        if let Some(r) = rest.strip_prefix("statusCategory != Done") {
            clauses.push(Clause::NotDone);
            rest = r;
        } else {
            let (field, r) = rest.split_once(" = ").ok_or_else(|| {
                format!("Error in the JQL Query: Expecting operator but got '{rest}'.")
            })?;
            let (value, r) = parse_string(r)
                .ok_or_else(|| "Error in the JQL Query: Expecting a quoted string.".to_string())?;
            match field.trim() {
                "project" => clauses.push(Clause::Project(value)),
                "labels" => clauses.push(Clause::Label(value)),
                other => {
                    return Err(format!(
                        "Field '{other}' does not exist or you do not have permission to view it."
                    ))
                }
            }
            rest = r;
        }
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(clauses);
        }
        rest = rest
            .strip_prefix("AND ")
            .ok_or_else(|| format!("Error in the JQL Query: Expecting 'AND' but got '{rest}'."))?;
    }
}

pub(crate) fn search(s: &mut State, body: &Value, cloud_jql: bool) -> Response {
    if cloud_jql {
        // The request bean allows only these properties (OpenAPI: additionalProperties false).
        let allowed = [
            "expand",
            "fields",
            "fieldsByKeys",
            "jql",
            "maxResults",
            "nextPageToken",
            "properties",
            "reconcileIssues",
        ];
        if let Some(obj) = body.as_object() {
            if let Some(bad) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &[&format!("Unrecognized field \"{bad}\"")],
                    &BTreeMap::new(),
                );
            }
        }
    }
    let jql = body.get("jql").and_then(Value::as_str).unwrap_or("");
    let clauses = match parse_jql(jql) {
        Ok(c) => c,
        Err(e) => return jira_error(StatusCode::BAD_REQUEST, &[&e], &BTreeMap::new()),
    };
    let max = body.get("maxResults").and_then(Value::as_u64).unwrap_or(50) as usize;
    let found: Vec<Value> = s
        .issues
        .iter()
        .filter(|i| i.indexed)
        .filter(|i| {
            clauses.iter().all(|c| match c {
                Clause::Project(p) => i.key.starts_with(&format!("{p}-")),
                Clause::Label(l) => i
                    .fields
                    .get("labels")
                    .and_then(Value::as_array)
                    .is_some_and(|ls| ls.iter().any(|x| x.as_str() == Some(l))),
                Clause::NotDone => i.status_category != "done",
            })
        })
        .take(max)
        .map(|i| {
            json!({"id": i.id, "key": i.key, "fields": {"status": {"statusCategory": {"key": i.status_category}}}})
        })
        .collect();
    if cloud_jql {
        axum::Json(json!({"issues": found, "isLast": true})).into_response()
    } else {
        let total = found.len();
        axum::Json(json!({"startAt": 0, "maxResults": max, "total": total, "issues": found}))
            .into_response()
    }
}

pub(crate) fn add_comment(s: &mut State, api: u8, key: &str, body: &Value) -> Response {
    let Some(issue) = s.issues.iter_mut().find(|i| i.key == key) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            &["Issue does not exist or you do not have permission to see it."],
            &BTreeMap::new(),
        );
    };
    let comment = body.get("body").cloned().unwrap_or(Value::Null);
    let bad = match (api, &comment) {
        (3, Value::Object(_)) => adf::validate(&comment)
            .err()
            .map(|_| "INVALID_INPUT".to_string()),
        (3, _) => Some(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .to_string(),
        ),
        (_, Value::String(t)) if !t.trim().is_empty() => None,
        _ => Some("Comment body can not be empty!".to_string()),
    };
    if let Some(e) = bad {
        let mut errors = BTreeMap::new();
        errors.insert("comment".to_string(), e);
        return jira_error(StatusCode::BAD_REQUEST, &[], &errors);
    }
    issue.comments.push(comment);
    let id = 20_000 + issue.comments.len();
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id.to_string()})),
    )
        .into_response()
}

/// `PUT /issue/{key}`: only `update.labels` with `add` operations are supported.
pub(crate) fn edit_issue(s: &mut State, key: &str, body: &Value) -> Response {
    let Some(issue) = s.issues.iter_mut().find(|i| i.key == key) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            &["Issue does not exist or you do not have permission to see it."],
            &BTreeMap::new(),
        );
    };
    let Some(ops) = body.pointer("/update/labels").and_then(Value::as_array) else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["Only update.labels is supported by this fake"],
            &BTreeMap::new(),
        );
    };
    let mut added = Vec::new();
    for op in ops {
        match op.get("add").and_then(Value::as_str) {
            Some(l) if !l.chars().any(char::is_whitespace) && utf16_len(l) <= 255 => {
                added.push(l.to_string())
            }
            _ => {
                let mut errors = BTreeMap::new();
                errors.insert(
                    "labels".to_string(),
                    format!("The label '{op}' contains spaces which is invalid."),
                );
                return jira_error(StatusCode::BAD_REQUEST, &[], &errors);
            }
        }
    }
    let labels = issue
        .fields
        .as_object_mut()
        .map(|f| f.entry("labels").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = labels {
        for l in added {
            if !list.iter().any(|x| x.as_str() == Some(l.as_str())) {
                list.push(Value::String(l));
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
