//! The SQS stand-in: `ChangeMessageVisibility` (AWS JSON 1.0), answered on the Jira
//! listener beside Secrets Manager, so that a function under test can be pointed at it with
//! `AWS_ENDPOINT_URL_SQS` and a test can see which messages it held, and for how long.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One visibility change received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityChange {
    pub queue_url: String,
    pub receipt_handle: String,
    pub seconds: i64,
}

fn aws_error(kind: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.0")],
        json!({"__type": format!("com.amazonaws.sqs#{kind}"), "message": message}).to_string(),
    )
        .into_response()
}

/// An SQS call: `ChangeMessageVisibility` is added to `changes`, unless SQS `refuses` them.
pub(crate) fn sqs(
    changes: &mut Vec<VisibilityChange>,
    refuses: bool,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target != "AmazonSQS.ChangeMessageVisibility" {
        return aws_error(
            "UnsupportedOperation",
            "only ChangeMessageVisibility is served here",
        );
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (queue_url, receipt_handle) = (text("QueueUrl"), text("ReceiptHandle"));
    let seconds = v.get("VisibilityTimeout").and_then(Value::as_i64);
    if queue_url.is_empty() || receipt_handle.is_empty() {
        return aws_error(
            "MissingParameter",
            "The request must contain the parameter QueueUrl and ReceiptHandle.",
        );
    }
    // SQS's own bounds: 0 to 43,200 seconds.
    let Some(seconds) = seconds.filter(|s| (0..=43_200).contains(s)) else {
        return aws_error(
            "InvalidParameterValue",
            "Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.",
        );
    };
    if refuses {
        return aws_error(
            "ReceiptHandleIsInvalid",
            "The input receipt handle is invalid.",
        );
    }
    changes.push(VisibilityChange {
        queue_url,
        receipt_handle,
        seconds,
    });
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.0")],
        "{}",
    )
        .into_response()
}
