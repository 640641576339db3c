//! Input shapes in, one answer out (contract sections 3 and 4): SQS batches with partial
//! batch failures, EventBridge events, bare alerts.

use crate::alert::{triage, Triage};
use crate::deliver::{Delivered, Deliverer, Failure};
use crate::jira::JiraApi;
use crate::secrets::SecretSource;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Everything an invocation needs, built once per container.
pub struct App<J, S> {
    pub deliverer: Deliverer<J, S>,
    pub max_concurrency: usize,
}

/// A failed direct invocation: Lambda's retry policy and on-failure destination apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError {
    pub class: &'static str,
    pub message: String,
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvocationError {}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.class.to_string(),
            error_message: e.message,
        }
    }
}

impl From<Failure> for InvocationError {
    fn from(f: Failure) -> Self {
        InvocationError {
            class: f.class,
            message: f.to_string(),
        }
    }
}

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered(Delivered),
    Skipped(String),
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Delivered(d) => json!({
                "status": d.status.as_str(),
                "issue_key": d.issue_key,
                "issue_url": d.issue_url,
            }),
            Outcome::Skipped(reason) => json!({"status": "skipped", "reason": reason}),
        }
    }
}

/// The moment work must stop so that the answer is back before Lambda's deadline: a tenth
/// of the time left is kept in reserve, at least 200 ms and at most 2 s.
pub fn cutoff_for(deadline: SystemTime) -> Instant {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let reserve = (left / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
    Instant::now() + left.saturating_sub(reserve)
}

fn is_eventbridge(obj: &serde_json::Map<String, Value>) -> bool {
    obj.contains_key("detail-type") && obj.contains_key("detail")
}

/// Handles one invocation.
pub async fn handle<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    event: Value,
    cutoff: Instant,
) -> Result<Value, InvocationError> {
    let unknown = || {
        InvocationError {
        class: "bad-input",
        message: "unrecognised input: expected an SQS event (\"Records\"), an EventBridge event (\"detail-type\" and \"detail\") or an alert (\"destination\" and \"detection\"). Fix: send one of the shapes in the README's alert contract".into(),
    }
    };
    let Value::Object(obj) = &event else {
        return Err(unknown());
    };
    if obj.contains_key("Records") {
        let sqs: SqsEvent = serde_json::from_value(event).map_err(|e| InvocationError {
            class: "bad-input",
            message: format!(
                "\"Records\" is not an SQS event: {e}. Fix: send an SQS event or an alert"
            ),
        })?;
        if let Some(other) = sqs
            .records
            .iter()
            .filter_map(|r| r.event_source.as_deref())
            .find(|s| *s != "aws:sqs")
        {
            return Err(InvocationError {
                class: "bad-input",
                message: format!("records from {} are not supported. Fix: deliver alerts through SQS, EventBridge, or invoke with an alert", crate::alert::quote(other)),
            });
        }
        let response = handle_sqs(app, sqs.records, cutoff).await;
        return Ok(
            serde_json::to_value(response).unwrap_or_else(|_| json!({"batchItemFailures": []}))
        );
    }
    let alert = if is_eventbridge(obj) {
        obj["detail"].clone()
    } else if obj.contains_key("destination") || obj.contains_key("detection") {
        event
    } else {
        return Err(unknown());
    };
    let outcome = tokio::time::timeout_at(cutoff, process(&app, &alert, None, cutoff))
        .await
        .unwrap_or_else(|_| Err(Failure::deadline()));
    outcome.map(|o| o.to_json()).map_err(InvocationError::from)
}

/// Triage and delivery of one alert object, logging the outcome.
async fn process<J: JiraApi, S: SecretSource>(
    app: &App<J, S>,
    alert: &Value,
    message_id: Option<&str>,
    cutoff: Instant,
) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    let message_id = message_id.unwrap_or("-");
    let triaged =
        triage(alert).map_err(|e| Failure::bad_input(format!("{}: {}", e.field, e.problem), e.fix));
    let alert = match triaged {
        Ok(Triage::Skip {
            reason,
            detection_id,
        }) => {
            tracing::info!(message_id, detection_id = detection_id.as_deref().unwrap_or("-"), status = "skipped", reason = %reason, "alert skipped");
            return Ok(Outcome::Skipped(reason));
        }
        Ok(Triage::Deliver(a)) => a,
        Err(f) => {
            let detection_id = alert
                .pointer("/detection/id")
                .map(|v| crate::alert::quote(&v.to_string()));
            tracing::error!(message_id, detection_id = detection_id.as_deref().unwrap_or("-"), status = "failed", class = f.class, error = %f.message, fix = %f.fix, "alert rejected");
            return Err(f);
        }
    };
    let detection_id = alert.detection.id.as_str();
    let project = alert.destination.project_key.as_str();
    match app.deliverer.deliver(&alert, cutoff).await {
        Ok(d) => {
            tracing::info!(
                message_id,
                detection_id,
                host = %d.host,
                project,
                status = d.status.as_str(),
                issue_key = %d.issue_key,
                requests = d.requests,
                duration_ms = started.elapsed().as_millis() as u64,
                "alert delivered"
            );
            Ok(Outcome::Delivered(d))
        }
        Err(f) => {
            tracing::error!(
                message_id,
                detection_id,
                project,
                status = "failed",
                class = f.class,
                error = %f.message,
                fix = %f.fix,
                duration_ms = started.elapsed().as_millis() as u64,
                "alert failed"
            );
            Err(f)
        }
    }
}

/// One SQS message: the body is an alert or an EventBridge envelope holding one.
async fn process_message<J: JiraApi, S: SecretSource>(
    app: &App<J, S>,
    msg: &SqsMessage,
    cutoff: Instant,
) -> Result<Outcome, Failure> {
    let id = msg.message_id.as_deref();
    if Instant::now() >= cutoff {
        tracing::error!(
            message_id = id.unwrap_or("-"),
            status = "failed",
            class = "timeout",
            "deadline reached before this message was started"
        );
        return Err(Failure::deadline());
    }
    let body: Value = match serde_json::from_str(msg.body.as_deref().unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            let f = Failure::bad_input(
                format!("message body is not JSON ({e})"),
                "send one alert object (or an EventBridge event holding one) per SQS message",
            );
            tracing::error!(message_id = id.unwrap_or("-"), status = "failed", class = f.class, error = %f.message, fix = %f.fix, "message rejected");
            return Err(f);
        }
    };
    let alert = match &body {
        Value::Object(obj) if is_eventbridge(obj) => &obj["detail"],
        other => other,
    };
    tokio::time::timeout_at(cutoff, process(app, alert, id, cutoff))
        .await
        .unwrap_or_else(|_| {
            tracing::error!(
                message_id = id.unwrap_or("-"),
                status = "failed",
                class = "timeout",
                "deadline reached while delivering"
            );
            Err(Failure::deadline())
        })
}

/// Runs one message in its own task, so that a panic fails that message only.
async fn isolated<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    msg: SqsMessage,
    cutoff: Instant,
) -> bool {
    let id = msg.message_id.clone();
    match tokio::spawn(async move { process_message(&app, &msg, cutoff).await.is_ok() }).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::error!(message_id = id.as_deref().unwrap_or("-"), status = "failed", class = "internal", error = %e, "processing this message panicked; reported failed");
            false
        }
    }
}

async fn handle_sqs<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    records: Vec<SqsMessage>,
    cutoff: Instant,
) -> SqsBatchResponse {
    let fifo = records.iter().any(|r| {
        r.event_source_arn
            .as_deref()
            .is_some_and(|a| a.ends_with(".fifo"))
    });
    let mut failed: Vec<String> = Vec::new();
    if fifo {
        // In order; after a failure the rest of that message group waits for redelivery.
        let mut broken_groups: HashSet<String> = HashSet::new();
        for msg in records {
            let group = msg
                .attributes
                .get("MessageGroupId")
                .cloned()
                .unwrap_or_default();
            let id = msg.message_id.clone().unwrap_or_default();
            if broken_groups.contains(&group) {
                tracing::warn!(message_id = %id, group = %group, status = "failed", class = "unprocessed", "an earlier message of this FIFO group failed; reported failed unprocessed to keep order");
                failed.push(id);
                continue;
            }
            if !isolated(app.clone(), msg, cutoff).await {
                broken_groups.insert(group);
                failed.push(id);
            }
        }
    } else {
        let limit = app.max_concurrency.max(1);
        let mut results: Vec<(usize, String, bool)> =
            futures::stream::iter(records.into_iter().enumerate())
                .map(|(i, msg)| {
                    let app = app.clone();
                    async move {
                        let id = msg.message_id.clone().unwrap_or_default();
                        (i, id, isolated(app, msg, cutoff).await)
                    }
                })
                .buffer_unordered(limit)
                .collect()
                .await;
        results.sort_by_key(|(i, _, _)| *i);
        failed = results
            .into_iter()
            .filter(|(_, _, ok)| !ok)
            .map(|(_, id, _)| id)
            .collect();
    }
    let mut response = SqsBatchResponse::default();
    for id in failed {
        // An empty id (a record without messageId) makes Lambda retry the whole batch:
        // nothing is lost.
        response.add_failure(id);
    }
    response
}
