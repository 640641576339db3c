//! The Secrets Manager stand-in: `GetSecretValue` (AWS JSON 1.1), answered on the Jira
//! listener so a function under test can be pointed at it.

use crate::state::State;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(crate) fn secrets_manager(s: &mut State, headers: &HeaderMap, body: &Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let aws_error = |status: StatusCode, kind: &str, message: &str| {
        (
            status,
            [("content-type", "application/x-amz-json-1.1")],
            json!({"__type": kind, "message": message}).to_string(),
        )
            .into_response()
    };
    if target != "secretsmanager.GetSecretValue" {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "only GetSecretValue is served here",
        );
    }
    s.secret_calls += 1;
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("SecretId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    match s.config.secrets.get(&id) {
        Some(value) => (
            StatusCode::OK,
            [("content-type", "application/x-amz-json-1.1")],
            json!({
                "ARN": format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{id}"),
                "Name": id,
                "SecretString": value,
                "VersionId": "00000000-0000-0000-0000-000000000001",
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1.7e9,
            })
            .to_string(),
        )
            .into_response(),
        None => aws_error(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        ),
    }
}
