//! Comments: what Jira accepts as a comment's body, listing an issue's comments, adding one.

use crate::adf;
use crate::clock::jira_now;
use crate::errors::{jira_error, no_such_issue};
use crate::issue::Comment;
use crate::lookup::issue_mut;
use crate::query::{param, Params};
use crate::state::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Checks a comment body for API version `api`; None when it is fine.
pub(crate) fn comment_error(api: u8, body: &Value) -> Option<String> {
    match (api, body) {
        (3, Value::Object(_)) => adf::validate(body)
            .err()
            .map(|_| "INVALID_INPUT".to_string()),
        (3, _) => Some(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .to_string(),
        ),
        (_, Value::String(t)) if !t.trim().is_empty() => None,
        _ => Some("Comment body can not be empty!".to_string()),
    }
}

/// `GET issue/{key}/comment` (`startAt`, `maxResults` up to 5000, `orderBy` `created`,
/// `-created` or `+created`): a page of `PageOfComments`.
pub(crate) fn list_comments(s: &mut State, key: &str, query: &Params) -> Response {
    let Some(issue) = issue_mut(s, key) else {
        return no_such_issue();
    };
    let number = |name: &str, default: usize| -> Result<usize, String> {
        match param(query, name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("The value '{v}' is not valid for the parameter '{name}'.")),
        }
    };
    let (start, max) = match (number("startAt", 0), number("maxResults", 5000)) {
        (Ok(a), Ok(b)) => (a, b.min(5000)),
        (Err(m), _) | (_, Err(m)) => {
            return jira_error(StatusCode::BAD_REQUEST, &[&m], &BTreeMap::new())
        }
    };
    let mut all: Vec<(usize, &Comment)> = issue.comments.iter().enumerate().collect();
    match param(query, "orderBy") {
        None | Some("created") | Some("+created") => {}
        Some("-created") => all.reverse(),
        Some(other) => {
            return jira_error(
                StatusCode::BAD_REQUEST,
                &[&format!(
                    "The orderBy '{other}' is not supported: use created, -created or +created."
                )],
                &BTreeMap::new(),
            )
        }
    }
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(start)
        .take(max)
        .map(|(i, c)| json!({"id": (20_001 + i).to_string(), "body": c.body, "created": c.created, "updated": c.created}))
        .collect();
    axum::Json(json!({"startAt": start, "maxResults": max, "total": total, "comments": page}))
        .into_response()
}

/// `POST issue/{key}/comment`: a wiki-markup body on v2, an ADF document on v3.
pub(crate) fn add_comment(s: &mut State, api: u8, key: &str, body: &Value) -> Response {
    let Some(issue) = issue_mut(s, key) else {
        return no_such_issue();
    };
    let comment = body.get("body").cloned().unwrap_or(Value::Null);
    if let Some(e) = comment_error(api, &comment) {
        let mut errors = BTreeMap::new();
        errors.insert("comment".to_string(), e);
        return jira_error(StatusCode::BAD_REQUEST, &[], &errors);
    }
    let now = jira_now();
    issue.comments.push(Comment {
        body: comment,
        created: now.clone(),
    });
    issue.updated = now;
    let id = 20_000 + issue.comments.len();
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id.to_string()})),
    )
        .into_response()
}
