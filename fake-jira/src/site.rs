//! The site's handlers outside the REST API: its pages, the test hooks' issue list, Cloud's
//! tenant info, and the AWS services answered on `POST /` (by `X-Amz-Target`).

use crate::errors::not_found as jira_not_found;
use crate::extract::{App, Key, RawPath};
use crate::flavor::Flavor;
use crate::{page, secrets, sqs};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A path (or a method on it) the site does not serve: Jira's 404.
pub(crate) async fn not_found(State(app): State<App>) -> Response {
    jira_not_found(app.lock().config.flavor)
}

/// `POST /`: Secrets Manager (AWS JSON 1.1) or SQS (AWS JSON 1.0, `AmazonSQS.*`), told
/// apart by `X-Amz-Target`; without one, Jira's 404.
pub(crate) async fn aws(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = app.lock();
    let Some(target) = headers.get("x-amz-target") else {
        return jira_not_found(s.config.flavor);
    };
    let sqs = target.to_str().is_ok_and(|t| t.starts_with("AmazonSQS."));
    match sqs {
        true => {
            let s = &mut *s;
            sqs::sqs(&mut s.visibility_changes, s.sqs_refuses, &headers, &body)
        }
        false => secrets::secrets_manager(&mut s, &headers, &body),
    }
}

/// `GET /`: every issue, as a page.
pub(crate) async fn front_page(State(app): State<App>) -> Response {
    page::render(&app.lock())
}

/// `GET /browse/{key}`: the issue an answer's `issue_url` points at.
pub(crate) async fn browse(State(app): State<App>, RawPath(i): RawPath<Key>) -> Response {
    page::render_issue(&app.lock(), &i.key)
}

/// `GET /_fake/issues`: every issue, as JSON.
pub(crate) async fn fake_issues(State(app): State<App>) -> Response {
    let s = app.lock();
    let issues: Vec<Value> = s
        .issues
        .iter()
        .map(|i| json!({"key": i.key, "api": i.api, "fields": i.fields, "comments": i.comments.len(), "status": i.status, "resolution": i.resolution}))
        .collect();
    axum::Json(issues).into_response()
}

/// `GET /_edge/tenant_info` (Cloud): the site's cloud id. Anonymous; any credentials sent
/// are ignored (and recorded, like every request).
pub(crate) async fn tenant_info(State(app): State<App>) -> Response {
    let s = app.lock();
    match s.config.flavor {
        Flavor::Cloud => axum::Json(json!({"cloudId": s.config.cloud_id})).into_response(),
        Flavor::Server => jira_not_found(s.config.flavor),
    }
}
