//! Input shapes in, one answer out (contract sections 3 and 4): SQS batches with partial
//! batch failures, EventBridge events, bare alerts.

use crate::alert::{triage, Triage};
use crate::deliver::{Delivered, Deliverer, Failure, Meter, Stats};
use crate::jira::JiraApi;
use crate::metrics::Tally;
use crate::secrets::SecretSource;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Where EMF metric lines go: stdout in Lambda, a capture in tests.
pub type MetricsSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything an invocation needs, built once per container.
pub struct App<J, S> {
    pub deliverer: Deliverer<J, S>,
    pub max_concurrency: usize,
    pub metrics: MetricsSink,
}

impl<J, S> App<J, S> {
    /// An app whose metrics go to stdout, where Lambda's log picks them up.
    pub fn new(deliverer: Deliverer<J, S>, max_concurrency: usize) -> Self {
        App {
            deliverer,
            max_concurrency,
            metrics: Arc::new(|line| println!("{line}")),
        }
    }
}

/// One alert's end: its outcome, and what delivering it cost (when it got that far).
type Done = (Result<Outcome, Failure>, Option<Stats>);

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
        let (response, tally) = handle_sqs(app.clone(), sqs.records, cutoff).await;
        emit(&app, &tally);
        return Ok(
            serde_json::to_value(response).unwrap_or_else(|_| json!({"batchItemFailures": []}))
        );
    }
    if obj.get("action").and_then(Value::as_str) == Some("check_destination") {
        let report = crate::check::check_destination(&app.deliverer, &event, cutoff).await;
        tracing::info!(ok = report.ok, "destination checked");
        return Ok(serde_json::to_value(report).unwrap_or_default());
    }
    let alert = if is_eventbridge(obj) {
        obj["detail"].clone()
    } else if obj.contains_key("destination") || obj.contains_key("detection") {
        event
    } else {
        return Err(unknown());
    };
    let meter = Meter::default();
    let result = tokio::time::timeout_at(cutoff, process(&app, &alert, None, cutoff, &meter))
        .await
        .unwrap_or_else(|_| Err(Failure::deadline()));
    let done: Done = (result, Some(meter.stats()));
    let mut tally = Tally::default();
    tally.add(&done.0, done.1.as_ref());
    emit(&app, &tally);
    done.0.map(|o| o.to_json()).map_err(InvocationError::from)
}

fn emit<J, S>(app: &App<J, S>, tally: &Tally) {
    let now_ms = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    for line in tally.emf_lines(now_ms) {
        (app.metrics)(&line);
    }
}

/// Triage and delivery of one alert object, logging the outcome.
async fn process<J: JiraApi, S: SecretSource>(
    app: &App<J, S>,
    alert: &Value,
    message_id: Option<&str>,
    cutoff: Instant,
    meter: &Meter,
) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    let message_id = message_id.unwrap_or("-");
    let triaged = triage(alert).map_err(|e| Failure::bad_input(e.summary(), e.fix()));
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
    let result = app.deliverer.deliver(&alert, cutoff, meter).await;
    let stats = meter.stats();
    match result {
        Ok(d) => {
            tracing::info!(
                message_id,
                detection_id,
                host = %d.host,
                project,
                status = d.status.as_str(),
                issue_key = %d.issue_key,
                requests = stats.requests,
                retries = stats.retries,
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
                requests = stats.requests,
                retries = stats.retries,
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
) -> Done {
    let id = msg.message_id.as_deref();
    if Instant::now() >= cutoff {
        tracing::error!(
            message_id = id.unwrap_or("-"),
            status = "failed",
            class = "timeout",
            "deadline reached before this message was started"
        );
        return (Err(Failure::deadline()), None);
    }
    let body: Value = match serde_json::from_str(msg.body.as_deref().unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            let f = Failure::bad_input(
                format!("message body is not JSON ({e})"),
                "send one alert object (or an EventBridge event holding one) per SQS message",
            );
            tracing::error!(message_id = id.unwrap_or("-"), status = "failed", class = f.class, error = %f.message, fix = %f.fix, "message rejected");
            return (Err(f), None);
        }
    };
    let alert = match &body {
        Value::Object(obj) if is_eventbridge(obj) => &obj["detail"],
        other => other,
    };
    let meter = Meter::default();
    let result = tokio::time::timeout_at(cutoff, process(app, alert, id, cutoff, &meter))
        .await
        .unwrap_or_else(|_| {
            tracing::error!(
                message_id = id.unwrap_or("-"),
                status = "failed",
                class = "timeout",
                "deadline reached while delivering"
            );
            Err(Failure::deadline())
        });
    (result, Some(meter.stats()))
}

/// Runs one message in its own task, so that a panic fails that message only.
async fn isolated<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    msg: SqsMessage,
    cutoff: Instant,
) -> Done {
    let id = msg.message_id.clone();
    match tokio::spawn(async move { process_message(&app, &msg, cutoff).await }).await {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(message_id = id.as_deref().unwrap_or("-"), status = "failed", class = "internal", error = %e, "processing this message panicked; reported failed");
            let f = Failure {
                class: "internal",
                message: "processing this message panicked".into(),
                fix: "it is retried; if it keeps failing it reaches the dead-letter queue: report it with the message".into(),
            };
            (Err(f), None)
        }
    }
}

async fn handle_sqs<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    records: Vec<SqsMessage>,
    cutoff: Instant,
) -> (SqsBatchResponse, Tally) {
    let fifo = records.iter().any(|r| {
        r.event_source_arn
            .as_deref()
            .is_some_and(|a| a.ends_with(".fifo"))
    });
    let mut failed: Vec<String> = Vec::new();
    let mut tally = Tally::default();
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
                let f = Failure {
                    class: "unprocessed",
                    message: "an earlier message of its FIFO group failed".into(),
                    fix: "none needed: it is retried after the earlier message".into(),
                };
                tally.add(&Err(f), None);
                failed.push(id);
                continue;
            }
            let (result, stats) = isolated(app.clone(), msg, cutoff).await;
            tally.add(&result, stats.as_ref());
            if result.is_err() {
                broken_groups.insert(group);
                failed.push(id);
            }
        }
    } else {
        let limit = app.max_concurrency.max(1);
        let mut results: Vec<(usize, String, Done)> =
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
        for (_, id, (result, stats)) in results {
            tally.add(&result, stats.as_ref());
            if result.is_err() {
                failed.push(id);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    for id in failed {
        // An empty id (a record without messageId) makes Lambda retry the whole batch:
        // nothing is lost.
        response.add_failure(id);
    }
    (response, tally)
}
