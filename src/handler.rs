//! Input shapes in, one answer out: SQS batches with partial batch failures, EventBridge
//! events, bare alerts, and the destination check.

use crate::alert::{quote, triage, Triage};
use crate::deliver::Deliverer;
use crate::deliver::{Outcome, Skip};
use crate::failure::{Failure, FailureClass};
use crate::jira::JiraApi;
use crate::meter::{Meter, Stats};
use crate::metrics::Tally;
use crate::queue::{queue_url, visibility_for, NoQueue, Queue};
use crate::secrets::SecretSource;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;

/// A failed direct invocation: Lambda's retry policy and on-failure destination apply.
impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(f: Failure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: f.class.as_str().to_string(),
            error_message: f.to_string(),
        }
    }
}

/// Where EMF metric lines go: stdout in Lambda, a capture in tests.
pub type MetricsSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything an invocation needs, built once per container.
pub struct App<J, S> {
    pub deliverer: Deliverer<J, S>,
    pub max_concurrency: usize,
    pub metrics: MetricsSink,
    /// Where failed messages that can be acted on later are held until then.
    pub queue: Arc<dyn Queue>,
}

impl<J, S> App<J, S> {
    /// An app whose metrics go to stdout, where Lambda's log picks them up.
    pub fn new(deliverer: Deliverer<J, S>, max_concurrency: usize) -> Self {
        App {
            deliverer,
            max_concurrency,
            metrics: Arc::new(|line| println!("{line}")),
            queue: Arc::new(NoQueue),
        }
    }

    pub fn with_queue(mut self, queue: Arc<dyn Queue>) -> Self {
        self.queue = queue;
        self
    }
}

/// One alert's end: its outcome, and what delivering it cost (when it got that far).
type Done = (Result<Outcome, Failure>, Option<Stats>);

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
) -> Result<Value, Failure> {
    let unknown = || {
        Failure::bad_input(
        "unrecognised input: expected an SQS event (\"Records\"), an EventBridge event (\"detail-type\" and \"detail\") or an alert (\"destination\" and \"detection\")",
        "send one of the shapes in the README's alert contract",
    )
    };
    let Value::Object(obj) = &event else {
        return Err(unknown());
    };
    if obj.contains_key("Records") {
        let records = sqs_records(event)?;
        let (response, tally) = handle_sqs(app.clone(), records, cutoff).await;
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
        &obj["detail"]
    } else if obj.contains_key("destination") || obj.contains_key("detection") {
        &event
    } else {
        return Err(unknown());
    };
    let (result, stats) = within(cutoff, &app, alert, message_span(None, alert)).await;
    let mut tally = Tally::default();
    tally.add(&result, stats.as_ref());
    emit(&app, &tally);
    result.map(|o| o.to_json())
}

fn sqs_records(event: Value) -> Result<Vec<SqsMessage>, Failure> {
    let sqs: SqsEvent = serde_json::from_value(event).map_err(|e| {
        Failure::bad_input(
            format!("\"Records\" is not an SQS event: {e}"),
            "send an SQS event or an alert",
        )
    })?;
    let foreign = sqs
        .records
        .iter()
        .filter_map(|r| r.event_source.as_deref())
        .find(|s| *s != "aws:sqs");
    if let Some(other) = foreign {
        return Err(Failure::bad_input(
            format!("records from {} are not supported", quote(other)),
            "deliver alerts through SQS, EventBridge, or invoke with an alert",
        ));
    }
    Ok(sqs.records)
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

/// The span every log line about one message or alert is written in. `detection_id`
/// keeps the JSON type the alert gave it (a number stays a number).
fn message_span(message_id: Option<&str>, alert: &Value) -> tracing::Span {
    let span = tracing::info_span!(
        "message",
        message_id = message_id.unwrap_or("-"),
        detection_id = tracing::field::Empty
    );
    match alert.pointer("/detection/id") {
        Some(Value::Number(n)) if n.as_i64().is_some() => {
            span.record("detection_id", n.as_i64().unwrap_or_default());
        }
        Some(Value::String(s)) => {
            span.record("detection_id", quote(s).trim_matches('"'));
        }
        _ => {}
    }
    span
}

/// Processes one alert inside its span, bounded by the cutoff.
async fn within<J: JiraApi, S: SecretSource>(
    cutoff: Instant,
    app: &App<J, S>,
    alert: &Value,
    span: tracing::Span,
) -> Done {
    let meter = Meter::default();
    let work = async {
        tokio::time::timeout_at(cutoff, process(app, alert, cutoff, &meter))
            .await
            .unwrap_or_else(|_| {
                let f = Failure::deadline();
                tracing::error!(status = "failed", class = %f.class, "deadline reached while delivering");
                Err(f)
            })
    };
    let result = work.instrument(span).await;
    (result, Some(meter.stats()))
}

/// Triage and delivery of one alert object, logging the outcome.
async fn process<J: JiraApi, S: SecretSource>(
    app: &App<J, S>,
    alert: &Value,
    cutoff: Instant,
    meter: &Meter,
) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    let alert = match triage(alert).map_err(Failure::from) {
        Ok(Triage::Skip { reason, .. }) => {
            let skip = Skip::Ignored(reason);
            tracing::info!(status = "skipped", reason = %skip, "alert skipped");
            return Ok(Outcome::Skipped(skip));
        }
        Ok(Triage::Deliver(a)) => a,
        Err(f) => {
            tracing::error!(status = "failed", class = %f.class, error = %f.message, fix = %f.fix, "alert rejected");
            return Err(f);
        }
    };
    let project = alert.destination.project_key.as_str();
    let result = app.deliverer.deliver(&alert, cutoff, meter).await;
    let stats = meter.stats();
    let duration_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(Outcome::Delivered(d)) => tracing::info!(
            host = %d.host, project, status = d.status.as_str(), issue_key = %d.issue_key,
            reason = d.reason.map_or("", |r| r.as_str()),
            requests = stats.requests, retries = stats.retries, duration_ms,
            ledger = stats.ledger.outcome(), ledger_ms = stats.ledger_ms.iter().sum::<u64>(),
            "alert delivered"
        ),
        Ok(Outcome::Skipped(reason)) => tracing::info!(
            project, status = "skipped", reason = %reason,
            requests = stats.requests, retries = stats.retries, duration_ms,
            ledger = stats.ledger.outcome(), "alert skipped"
        ),
        Err(f) => tracing::error!(
            project, status = "failed", class = %f.class, error = %f.message, fix = %f.fix,
            requests = stats.requests, retries = stats.retries, duration_ms,
            ledger = stats.ledger.outcome(), ledger_ms = stats.ledger_ms.iter().sum::<u64>(),
            "alert failed"
        ),
    }
    result
}

/// One SQS message: the body is an alert or an EventBridge envelope holding one.
async fn process_message<J: JiraApi, S: SecretSource>(
    app: &App<J, S>,
    msg: &SqsMessage,
    cutoff: Instant,
) -> Done {
    let id = msg.message_id.as_deref();
    let body: Value = match serde_json::from_str(msg.body.as_deref().unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            let f = Failure::bad_input(
                format!("message body is not JSON ({e})"),
                "send one alert object (or an EventBridge event holding one) per SQS message",
            );
            let _in = message_span(id, &Value::Null).entered();
            tracing::error!(status = "failed", class = %f.class, error = %f.message, fix = %f.fix, "message rejected");
            return (Err(f), None);
        }
    };
    let alert = match &body {
        Value::Object(obj) if is_eventbridge(obj) => &obj["detail"],
        other => other,
    };
    let span = message_span(id, alert);
    if Instant::now() >= cutoff {
        let _in = span.entered();
        tracing::error!(
            status = "failed",
            class = %FailureClass::Timeout,
            "deadline reached before this message was started"
        );
        return (Err(Failure::deadline()), None);
    }
    within(cutoff, app, alert, span).await
}

/// Runs one message in its own task, so that a panic fails that message only; a failure
/// that can be acted on later holds the message in its queue until then, at once (the
/// wait counts from now, and the batch's answer does not wait for it).
async fn isolated<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    msg: SqsMessage,
    cutoff: Instant,
) -> Done {
    let id = msg.message_id.clone();
    let place = Place::of(&msg);
    let task = {
        let app = app.clone();
        tokio::spawn(async move { process_message(&app, &msg, cutoff).await })
    };
    let done = match task.await {
        Ok(done) => done,
        Err(e) => {
            let f = Failure::panicked();
            tracing::error!(message_id = id.as_deref().unwrap_or("-"), status = "failed", class = %f.class, error = %e, "processing this message panicked; reported failed");
            (Err(f), None)
        }
    };
    if let Err(Failure {
        retry_after: Some(wait),
        ..
    }) = &done.0
    {
        hold(&*app.queue, &place, *wait, cutoff).await;
    }
    done
}

/// Where a message can be held: its id, queue and receipt handle.
struct Place {
    message_id: String,
    arn: Option<String>,
    receipt: Option<String>,
}

impl Place {
    fn of(msg: &SqsMessage) -> Place {
        Place {
            message_id: msg.message_id.clone().unwrap_or_default(),
            arn: msg.event_source_arn.clone(),
            receipt: msg.receipt_handle.clone(),
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
    let results = if fifo {
        fifo_by_group(app.clone(), records, cutoff).await
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
        results
            .into_iter()
            .map(|(_, id, done)| (id, done))
            .collect()
    };
    let mut tally = Tally::default();
    let mut response = SqsBatchResponse::default();
    for (id, (result, stats)) in results {
        tally.add(&result, stats.as_ref());
        if result.is_err() {
            // An empty id (a record without messageId) makes Lambda retry the whole
            // batch: nothing is lost.
            response.add_failure(id);
        }
    }
    (response, tally)
}

/// Asks SQS to keep a failed message invisible until it can be acted on. A failure is
/// logged and changes nothing else: the message is reported failed either way, and comes
/// back after the queue's own visibility timeout.
async fn hold(queue: &dyn Queue, place: &Place, wait: Duration, cutoff: Instant) {
    let message_id = &place.message_id;
    let url = place.arn.as_deref().and_then(queue_url);
    let (Some(url), Some(receipt)) = (url, place.receipt.as_deref()) else {
        tracing::warn!(message_id = %message_id, "the message cannot be held until it can be acted on (no queue ARN or receipt handle): it comes back after the queue's visibility timeout");
        return;
    };
    let seconds = visibility_for(wait);
    // Bounded: the answer to Lambda must not wait on SQS, and comes before the deadline
    // (at least 200 ms after the cutoff are kept for it).
    let until = (Instant::now() + HOLD_TIMEOUT).min(cutoff + HOLD_GRACE);
    let held = tokio::time::timeout_at(until, queue.hold(&url, receipt, seconds)).await;
    match held {
        Ok(Ok(())) => {
            tracing::info!(message_id = %message_id, visibility_seconds = seconds, "message held until it can be acted on")
        }
        Ok(Err(e)) => {
            tracing::warn!(message_id = %message_id, error = %e, "could not change the message's visibility: it comes back after the queue's visibility timeout (grant sqs:ChangeMessageVisibility on the queue)")
        }
        Err(_) => {
            tracing::warn!(message_id = %message_id, "SQS did not answer the visibility change in time: the message comes back after the queue's visibility timeout")
        }
    }
}

/// How long a visibility change may take before the batch's answer goes without it.
const HOLD_TIMEOUT: Duration = Duration::from_secs(2);
/// How far past the cutoff a visibility change may still run.
const HOLD_GRACE: Duration = Duration::from_millis(150);

/// FIFO: message groups run at the same time (up to `max_concurrency`), each in order;
/// after a failure the rest of that group waits for redelivery, unprocessed.
async fn fifo_by_group<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    records: Vec<SqsMessage>,
    cutoff: Instant,
) -> Vec<(String, Done)> {
    // Groups in order of first appearance, each message with its place in the batch.
    let mut groups: Vec<Vec<(usize, SqsMessage)>> = Vec::new();
    let mut slot_of: HashMap<String, usize> = HashMap::new();
    for (i, msg) in records.into_iter().enumerate() {
        let group = msg
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default();
        let slot = *slot_of.entry(group).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push((i, msg));
    }
    let limit = app.max_concurrency.max(1);
    let per_group: Vec<Vec<(usize, String, Done)>> = futures::stream::iter(groups)
        .map(|group| one_group(app.clone(), group, cutoff))
        .buffer_unordered(limit)
        .collect()
        .await;
    let mut results: Vec<(usize, String, Done)> = per_group.into_iter().flatten().collect();
    results.sort_by_key(|(i, _, _)| *i);
    results
        .into_iter()
        .map(|(_, id, done)| (id, done))
        .collect()
}

/// One FIFO message group, in order.
async fn one_group<J: JiraApi, S: SecretSource>(
    app: Arc<App<J, S>>,
    messages: Vec<(usize, SqsMessage)>,
    cutoff: Instant,
) -> Vec<(usize, String, Done)> {
    let mut out = Vec::with_capacity(messages.len());
    // Once a message failed: the wait it asked for, if any.
    let mut broken: Option<Option<Duration>> = None;
    for (i, msg) in messages {
        let id = msg.message_id.clone().unwrap_or_default();
        if let Some(wait) = broken {
            let group = msg
                .attributes
                .get("MessageGroupId")
                .map(String::as_str)
                .unwrap_or("");
            tracing::warn!(message_id = %id, group, status = "failed", class = %FailureClass::Unprocessed, "an earlier message of this FIFO group failed; reported failed unprocessed to keep order");
            let mut f = Failure::unprocessed();
            if let Some(wait) = wait {
                // Held as long as the message before it: a FIFO group waits while any of
                // its messages is in flight.
                hold(&*app.queue, &Place::of(&msg), wait, cutoff).await;
                f = f.retry_after(wait);
            }
            out.push((i, id, (Err(f), None)));
            continue;
        }
        let done = isolated(app.clone(), msg, cutoff).await;
        if let Err(f) = &done.0 {
            broken = Some(f.retry_after);
        }
        out.push((i, id, done));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_invocation_names_its_class_and_fix() {
        let d: lambda_runtime::Diagnostic = Failure::bad_input("m", "do this").into();
        assert_eq!(d.error_type, "bad-input");
        assert_eq!(d.error_message, "[bad-input] m. Fix: do this");
    }
}
