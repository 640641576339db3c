//! The error answers shared by the handlers: Jira's (`errorMessages` and `errors`), Jira's
//! 404 for a path it does not serve, and the shape of the Atlassian gateway's own.

use crate::flavor::Flavor;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

pub(crate) fn jira_error(
    status: StatusCode,
    messages: &[&str],
    errors: &BTreeMap<String, String>,
) -> Response {
    (
        status,
        axum::Json(json!({"errorMessages": messages, "errors": errors})),
    )
        .into_response()
}

/// A path (or a method on it) Jira does not serve.
pub(crate) fn not_found(flavor: Flavor) -> Response {
    match flavor {
        Flavor::Cloud => jira_error(StatusCode::NOT_FOUND, &["null for uri"], &BTreeMap::new()),
        Flavor::Server => (
            StatusCode::NOT_FOUND,
            "<html><body>Oops, you've found a dead link.</body></html>",
        )
            .into_response(),
    }
}

/// No credentials, or ones the site does not know.
pub(crate) fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})),
    )
        .into_response()
}

pub(crate) fn no_such_issue() -> Response {
    jira_error(
        StatusCode::NOT_FOUND,
        &["Issue does not exist or you do not have permission to see it."],
        &BTreeMap::new(),
    )
}

pub(crate) fn no_project(key: &str) -> Response {
    jira_error(
        StatusCode::NOT_FOUND,
        &[&format!("No project could be found with key '{key}'.")],
        &BTreeMap::new(),
    )
}

/// The gateway's own answers: `{"code": status, "message": message}`.
pub(crate) fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}
