//! Read-only metadata endpoints used by the destination check: project, its statuses,
//! create metadata, issues, the user's permissions. A user without Browse Projects sees
//! 404s, as in Jira.

use crate::errors::{jira_error, no_project, no_such_issue};
use crate::flavor::Flavor;
use crate::lookup::{self, blind, may_transition, visible_project};
use crate::query::{param, Params};
use crate::screen;
use crate::search::{issue_fields, requested_fields};
use crate::state::State;
use crate::workflow::status_json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) fn issue_type_id(i: usize) -> String {
    (10_001 + i).to_string()
}

pub(crate) fn project(s: &State, user: &str, key: &str) -> Response {
    match lookup::project(s, key) {
        Some(p) if !blind(s, user) => axum::Json(json!({
            "id": p.id,
            "key": p.key,
            "name": format!("Project {}", p.key),
            "issueTypes": p.issue_types.iter().enumerate().map(|(i, t)| json!({"id": issue_type_id(i), "name": t, "subtask": false})).collect::<Vec<_>>(),
        }))
        .into_response(),
        _ => no_project(key),
    }
}

/// `createmeta/{project}/issuetypes` (the project's issue types) and
/// `createmeta/{project}/issuetypes/{issueTypeId}` (the fields on its create screen), paged
/// by `startAt` and `maxResults` as Jira pages them.
pub(crate) fn createmeta(s: &State, user: &str, rest: &str, query: &Params) -> Response {
    let mut parts = rest.split('/');
    let (Some(key), Some("issuetypes"), type_id, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return jira_error(StatusCode::NOT_FOUND, &["null for uri"], &BTreeMap::new());
    };
    let Some(project) = visible_project(s, user, key) else {
        return no_project(key);
    };
    let number = |k: &str, default: usize| {
        param(query, k)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let (start, max) = (number("startAt", 0), number("maxResults", 50));
    let Some(type_id) = type_id else {
        let types: Vec<Value> = project
            .issue_types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"id": issue_type_id(i), "name": t, "subtask": false}))
            .collect();
        return axum::Json(screen::page(
            s.config.flavor,
            "issueTypes",
            types,
            start,
            max,
        ))
        .into_response();
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
        .map(|f| json!({"fieldId": f, "key": f, "name": f, "required": *f == "summary", "schema": {"type": "string", "system": f}}))
        .collect();
    for (id, kind) in &project.screen_fields {
        fields.push(screen::describe(project, id, kind));
    }
    axum::Json(screen::page(s.config.flavor, "fields", fields, start, max)).into_response()
}

/// `issue/{key}[?fields=a,b]`: every field this fake keeps, or those asked for.
pub(crate) fn issue(
    s: &State,
    api: u8,
    user: &str,
    key: &str,
    query: &Params,
    base: &str,
) -> Response {
    let asked = match param(query, "fields") {
        Some(f) => json!({ "fields": f }),
        None => json!({}),
    };
    let which = requested_fields(&asked, false);
    match lookup::issue(s, key) {
        Some(i) if !blind(s, user) => axum::Json(json!({
            "id": i.id,
            "key": i.key,
            "self": format!("{base}/rest/api/{api}/issue/{}", i.id),
            "fields": issue_fields(s, i, &which, base, api),
        }))
        .into_response(),
        _ => no_such_issue(),
    }
}

/// `project/{key}/statuses`: per issue type, the statuses of its workflow (one workflow
/// here for every type).
pub(crate) fn project_statuses(s: &State, api: u8, user: &str, key: &str, base: &str) -> Response {
    let Some(project) = visible_project(s, user, key) else {
        return no_project(key);
    };
    let statuses: Vec<Value> = s
        .config
        .workflow
        .statuses
        .iter()
        .map(|st| status_json(base, api, st))
        .collect();
    let types: Vec<Value> = project
        .issue_types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = issue_type_id(i);
            json!({"self": format!("{base}/rest/api/{api}/issueType/{id}"), "id": id, "name": t, "subtask": false, "statuses": statuses})
        })
        .collect();
    axum::Json(types).into_response()
}

/// Project permissions this fake answers for: key, id, name, description.
const PERMISSIONS: [(&str, &str, &str, &str); 9] = [
    ("BROWSE_PROJECTS", "10", "Browse Projects", "Ability to browse projects and the issues within them."),
    ("CREATE_ISSUES", "11", "Create Issues", "Ability to create issues."),
    ("EDIT_ISSUES", "12", "Edit Issues", "Ability to edit issues."),
    ("ASSIGN_ISSUES", "13", "Assign Issues", "Ability to assign issues to other people."),
    ("RESOLVE_ISSUES", "14", "Resolve Issues", "Ability to resolve and reopen issues. This includes the ability to set a fix version."),
    ("ADD_COMMENTS", "15", "Add Comments", "Ability to comment on issues."),
    ("CLOSE_ISSUES", "18", "Close Issues", "Ability to close issues. Often useful where your developers resolve issues, and a QA department closes them."),
    ("LINK_ISSUES", "21", "Link Issues", "Ability to link issues together and create linked issues. Only useful if issue linking is turned on."),
    ("TRANSITION_ISSUES", "46", "Transition Issues", "Ability to transition issues."),
];

/// `mypermissions?projectKey=..&permissions=A,B`: whether the caller holds each one.
/// Cloud requires `permissions`; Server/DC answers every permission without it.
pub(crate) fn my_permissions(s: &State, user: &str, query: &Params) -> Response {
    let bad = |m: &str| jira_error(StatusCode::BAD_REQUEST, &[m], &BTreeMap::new());
    let keys: Vec<&str> = match param(query, "permissions") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect(),
        None => vec![],
    };
    if keys.is_empty() && s.config.flavor == Flavor::Cloud {
        return bad("The 'permissions' query parameter is required.");
    }
    if let Some(unknown) = keys
        .iter()
        .find(|k| !PERMISSIONS.iter().any(|p| p.0 == **k))
    {
        return bad(&format!("The permission '{unknown}' is not valid."));
    }
    let project = param(query, "projectKey").or_else(|| param(query, "projectId"));
    if let Some(p) = project {
        if visible_project(s, user, p).is_none() {
            return no_project(p);
        }
    }
    let c = &s.config;
    let browse = !blind(s, user);
    let writer = browse && !c.read_only_users.iter().any(|u| u == user);
    let mover = browse && may_transition(s, user);
    let mut out = serde_json::Map::new();
    for (key, id, name, description) in PERMISSIONS {
        if !keys.is_empty() && !keys.contains(&key) {
            continue;
        }
        let have = match key {
            "BROWSE_PROJECTS" => browse,
            "TRANSITION_ISSUES" | "RESOLVE_ISSUES" | "CLOSE_ISSUES" => mover,
            _ => writer,
        };
        out.insert(
            key.to_string(),
            json!({"id": id, "key": key, "name": name, "type": "PROJECT", "description": description, "havePermission": have}),
        );
    }
    axum::Json(json!({"permissions": out})).into_response()
}
