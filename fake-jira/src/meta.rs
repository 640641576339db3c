//! Read-only metadata endpoints used by the destination check: project, create metadata,
//! issues. A user without Browse Projects sees 404s, as in Jira.

use crate::{jira_error, FieldKind, Flavor, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn issue_type_id(i: usize) -> String {
    (10_001 + i).to_string()
}

fn blind(s: &State, user: &str) -> bool {
    s.config.blind_users.iter().any(|u| u == user)
}

pub(crate) fn project(s: &State, user: &str, key: &str) -> Response {
    let found = s
        .config
        .projects
        .iter()
        .find(|p| p.key == key || p.id == key);
    match found {
        Some(p) if !blind(s, user) => axum::Json(json!({
            "id": p.id,
            "key": p.key,
            "name": format!("Project {}", p.key),
            "issueTypes": p.issue_types.iter().enumerate().map(|(i, t)| json!({"id": issue_type_id(i), "name": t, "subtask": false})).collect::<Vec<_>>(),
        }))
        .into_response(),
        _ => jira_error(
            StatusCode::NOT_FOUND,
            &[&format!("No project could be found with key '{key}'.")],
            &BTreeMap::new(),
        ),
    }
}

/// `createmeta/{project}/issuetypes/{issueTypeId}`: the fields on the create screen.
pub(crate) fn createmeta(s: &State, user: &str, rest: &str) -> Response {
    let mut parts = rest.split('/');
    let (Some(key), Some("issuetypes"), Some(type_id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return jira_error(StatusCode::NOT_FOUND, &["null for uri"], &BTreeMap::new());
    };
    let Some(project) = s
        .config
        .projects
        .iter()
        .find(|p| p.key == key || p.id == key)
        .filter(|_| !blind(s, user))
    else {
        return jira_error(
            StatusCode::NOT_FOUND,
            &[&format!("No project could be found with key '{key}'.")],
            &BTreeMap::new(),
        );
    };
    if !(0..project.issue_types.len()).any(|i| issue_type_id(i) == type_id) {
        return jira_error(
            StatusCode::NOT_FOUND,
            &["Issue type not found."],
            &BTreeMap::new(),
        );
    }
    let mut fields: Vec<Value> = ["summary", "description", "priority", "labels", "parent", "issuelinks"]
        .iter()
        .map(|f| json!({"fieldId": f, "name": f, "required": *f == "summary", "schema": {"type": "string"}}))
        .collect();
    for (id, kind) in &project.screen_fields {
        fields.push(match kind {
            FieldKind::Number => json!({"fieldId": id, "name": id, "required": false,
                "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}}),
            FieldKind::Select(options) => json!({"fieldId": id, "name": id, "required": false,
                "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"},
                "allowedValues": options.iter().enumerate().map(|(i, o)| json!({"id": (20_000 + i).to_string(), "value": o})).collect::<Vec<_>>()}),
        });
    }
    let total = fields.len();
    match s.config.flavor {
        Flavor::Cloud => axum::Json(json!({"fields": fields, "maxResults": 50, "startAt": 0, "total": total})).into_response(),
        Flavor::Server => axum::Json(json!({"values": fields, "maxResults": 50, "startAt": 0, "total": total, "isLast": true})).into_response(),
    }
}

pub(crate) fn issue(s: &State, user: &str, key: &str) -> Response {
    match s.issues.iter().find(|i| i.key == key || i.id == key) {
        Some(i) if !blind(s, user) => axum::Json(
            json!({"id": i.id, "key": i.key, "fields": {"summary": i.fields.get("summary")}}),
        )
        .into_response(),
        _ => jira_error(
            StatusCode::NOT_FOUND,
            &["Issue does not exist or you do not have permission to see it."],
            &BTreeMap::new(),
        ),
    }
}
