//! Delivering one validated alert to Jira: where the token may go, which API, the
//! duplicate check, repeats, the create with its fallbacks, retries and the 401 refresh
//! (contract sections 2, 5, 6 and 7).

use crate::alert::{Alert, ApiVersion};
use crate::hosts::{self, AllowedHosts, JiraSite};
use crate::issue::text::clean_label;
use crate::issue::{build_issue, describe, ApiFlavor};
use crate::jira::{Call, Deployment, JiraApi, JiraError};
use crate::secrets::{AuthScheme, Credentials, SecretCache, SecretError, SecretSource};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::Instant as TokioInstant;

/// Retries after the first try (Atlassian: about 4).
const MAX_RETRIES: u32 = 4;
const BACKOFF_START: Duration = Duration::from_millis(1_000);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A retry is not started unless this much time is left for it before the cutoff.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Created,
    Duplicate,
    Commented,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Duplicate => "duplicate",
            Status::Commented => "commented",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub status: Status,
    pub issue_key: String,
    pub issue_url: String,
    pub host: String,
}

/// What delivering one alert cost: Jira requests (all tries), retries, and the latency of
/// each request. Shared by the steps of one delivery; read by the handler for logs and
/// metrics.
#[derive(Debug, Default)]
pub struct Meter {
    requests: AtomicU32,
    retries: AtomicU32,
    latencies_ms: Mutex<Vec<u64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u32,
    pub retries: u32,
    pub jira_ms: Vec<u64>,
}

impl Meter {
    /// Runs one Jira request, counting it and timing it.
    pub(crate) async fn time<T>(&self, request: impl Future<Output = T>) -> T {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let out = request.await;
        let ms = started.elapsed().as_millis() as u64;
        self.latencies_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ms);
        out
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            jira_ms: self
                .latencies_ms
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Why an alert was not delivered: a class for logs and metrics, what happened, the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub class: &'static str,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}. Fix: {}", self.class, self.message, self.fix)
    }
}

impl Failure {
    pub fn bad_input(message: impl Into<String>, fix: impl Into<String>) -> Failure {
        Failure {
            class: "bad-input",
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn deadline() -> Failure {
        Failure {
            class: "timeout",
            message: "the invocation's deadline came before this alert was delivered".into(),
            fix: "it is reported failed and retried; raise the function timeout or lower the batch size if this repeats".into(),
        }
    }

    fn from_jira(e: &JiraError, step: &str) -> Failure {
        Failure {
            class: e.class(),
            message: format!("{step}: {e}"),
            fix: e.fix().to_string(),
        }
    }

    fn from_secret(e: &SecretError) -> Failure {
        // SecretError's text already carries its fix.
        let text = e.to_string();
        let (message, fix) = match text.split_once(" Fix: ") {
            Some((m, f)) => (m.to_string(), f.to_string()),
            None => (text, "retried automatically".to_string()),
        };
        let class = match e {
            SecretError::Transient { .. } => "throttled",
            SecretError::Malformed { .. } => "bad-input",
            SecretError::Unavailable { detail, .. } if detail.contains("NotFound") => "not-found",
            SecretError::Unavailable { .. } => "permission",
        };
        Failure {
            class,
            message,
            fix,
        }
    }

    fn from_host(e: &hosts::HostError) -> Failure {
        Failure::bad_input(format!("{}: {}", e.field, e.problem), e.fix.clone())
    }
}

/// The label that identifies one detection run in its project (contract section 6).
pub fn fingerprint_label(alert: &Alert) -> String {
    let det = &alert.detection;
    let mut h = Sha256::new();
    h.update(alert.destination.project_key.as_bytes());
    h.update([0]);
    h.update(det.id.as_bytes());
    if let Some(content) = &det.run_content {
        // Nothing tells runs apart: the whole detection stands in, so an identical
        // redelivery still matches.
        h.update([1]);
        h.update(content.as_bytes());
    } else {
        for part in [&det.ran_at, &det.search_id] {
            h.update([0]);
            h.update(part.as_deref().unwrap_or("").as_bytes());
        }
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("detection-run-{hex}")
}

/// The label shared by every run of one detection (for `group_repeats`).
pub fn detection_label(alert: &Alert) -> String {
    clean_label(&format!("detection-id-{}", alert.detection.id))
}

/// A JQL string literal.
pub fn jql_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.7 + fastrand::f64() * 0.6)
}

pub struct Deliverer<J, S> {
    pub(crate) jira: J,
    pub(crate) secrets: SecretCache<S>,
    pub(crate) allowed: AllowedHosts,
    /// API flavor per Jira base URL, detected once per container.
    flavors: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<ApiFlavor>>>>,
}

/// Why one delivery pass stopped short.
enum Stop {
    /// A Jira error, with the step it happened in.
    Jira(&'static str, JiraError),
    Failed(Failure),
}

const CREATING: &str = "creating the issue";

/// Names the step for a Jira error: `.map_err(at("creating the issue"))?`.
fn at(step: &'static str) -> impl Fn(JiraError) -> Stop {
    move |e| Stop::Jira(step, e)
}

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    pub fn new(jira: J, secrets: SecretCache<S>, allowed: AllowedHosts) -> Self {
        Deliverer {
            jira,
            secrets,
            allowed,
            flavors: Mutex::new(HashMap::new()),
        }
    }

    /// Delivers one alert. Work stops in time for `cutoff`; the caller also bounds it.
    pub async fn deliver(
        &self,
        alert: &Alert,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Delivered, Failure> {
        let dest = &alert.destination;
        let site = &dest.site;
        let (mut creds, mut fetched_at) = self
            .secret(&dest.api_token_secret, None, cutoff, meter)
            .await?;
        hosts::authorize(site, creds.instance_url.as_deref(), &self.allowed)
            .map_err(|e| Failure::from_host(&e))?;
        let mut refreshed = false;
        loop {
            match self.deliver_as(alert, site, &creds, cutoff, meter).await {
                Err(Stop::Jira(_, JiraError::Unauthorized { .. })) if !refreshed => {
                    // The token may just have been rotated: read the secret again, once.
                    refreshed = true;
                    tracing::info!(secret = %dest.api_token_secret, "Jira answered 401; reading the secret again in case it was rotated");
                    let (fresh, at) = self
                        .secret(&dest.api_token_secret, Some(fetched_at), cutoff, meter)
                        .await?;
                    hosts::authorize(site, fresh.instance_url.as_deref(), &self.allowed)
                        .map_err(|e| Failure::from_host(&e))?;
                    creds = fresh;
                    fetched_at = at;
                }
                Err(Stop::Jira(step, e)) => return Err(Failure::from_jira(&e, step)),
                Err(Stop::Failed(f)) => return Err(f),
                Ok(d) => return Ok(d),
            }
        }
    }

    async fn secret(
        &self,
        id: &str,
        refresh_older_than: Option<Instant>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<(Arc<Credentials>, Instant), Failure> {
        retrying(
            cutoff,
            meter,
            || self.secrets.get(id, refresh_older_than),
            retry_secret_reads,
        )
        .await
        .map_err(|e| Failure::from_secret(&e))
    }

    pub(crate) fn call<'a>(
        &self,
        alert: &'a Alert,
        site: &'a JiraSite,
        creds: &'a Credentials,
        cutoff: TokioInstant,
    ) -> Call<'a> {
        let left = cutoff.saturating_duration_since(TokioInstant::now());
        Call {
            site,
            creds,
            user: alert
                .destination
                .email
                .as_deref()
                .or(creds.email.as_deref()),
            timeout: alert
                .destination
                .timeout
                .min(left)
                .max(Duration::from_millis(50)),
        }
    }

    /// The API flavor for a destination: as configured, or detected from `serverInfo` once
    /// per Jira base URL per container.
    pub(crate) async fn flavor(
        &self,
        version: ApiVersion,
        call: Call<'_>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<ApiFlavor, JiraError> {
        match version {
            ApiVersion::V2 => return Ok(ApiFlavor::V2),
            ApiVersion::V3 => return Ok(ApiFlavor::V3),
            ApiVersion::Auto => {}
        }
        let site = call.site;
        // One detection per Jira base URL: concurrent alerts wait for the first one.
        let cell = self
            .flavors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(site.base.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let deployment = retrying(
                cutoff,
                meter,
                || meter.time(self.jira.server_info(call)),
                retry_reads,
            )
            .await?;
            let f = match deployment {
                Deployment::Cloud => ApiFlavor::V3,
                Deployment::Server => ApiFlavor::V2,
            };
            tracing::info!(host = %site.host, api = f.path(), "detected Jira deployment");
            Ok(f)
        })
        .await
        .copied()
    }

    /// One pass with one set of credentials. A Jira error is handed up (a 401 is handled
    /// there).
    async fn deliver_as(
        &self,
        alert: &Alert,
        site: &JiraSite,
        creds: &Credentials,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Delivered, Stop> {
        let dest = &alert.destination;
        if creds.auth == AuthScheme::Basic && dest.email.is_none() && creds.email.is_none() {
            return Err(Stop::Failed(Failure::bad_input(
                "destination.email: is required for basic authentication and the secret has no email either",
                "set destination.email to the Jira user's email (Cloud) or user name (Server/DC), or add \"email\" to the secret",
            )));
        }
        // Each closure below runs once per try; `call` sizes that try's timeout.
        let call = || self.call(alert, site, creds, cutoff);
        let flavor = self
            .flavor(dest.api_version, call(), cutoff, meter)
            .await
            .map_err(at("detecting Cloud or Server/DC (serverInfo)"))?;
        let browse = |key: &str| format!("{}/browse/{key}", site.base);
        let delivered = |status, key: String| Delivered {
            status,
            issue_url: browse(&key),
            issue_key: key,
            host: site.host.clone(),
        };

        // The first issue of the project with `label` (and `extra` JQL), if any.
        let first_with_label = |label: String, extra: &'static str, step: &'static str| async move {
            let jql = format!(
                "project = {} AND labels = {}{extra}",
                jql_quote(&dest.project_key),
                jql_quote(&label)
            );
            retrying(
                cutoff,
                meter,
                || meter.time(self.jira.search(call(), flavor, &jql, 1)),
                retry_reads,
            )
            .await
            .map(|found| found.into_iter().next())
            .map_err(at(step))
        };

        // Exactly once: an earlier delivery of this run carries its fingerprint label.
        let fp = fingerprint_label(alert);
        let found = first_with_label(
            fp.clone(),
            "",
            "searching for an earlier delivery of this run",
        )
        .await?;
        if let Some(existing) = found {
            return Ok(delivered(Status::Duplicate, existing.key));
        }

        let mut system_labels = vec![fp];
        if dest.group_repeats {
            let label = detection_label(alert);
            let open = first_with_label(
                label.clone(),
                " AND statusCategory != Done ORDER BY created DESC",
                "searching for an open issue of this detection",
            )
            .await?;
            if let Some(issue) = open {
                let mut body = describe(&alert.detection);
                body.note(format!(
                    "Repeated run of this detection (issue left open, so this run was added as a comment). Run fingerprint: {}",
                    system_labels[0]
                ));
                let rendered = body.render(flavor);
                retrying(
                    cutoff,
                    meter,
                    || meter.time(self.jira.add_comment(call(), flavor, &issue.key, &rendered)),
                    retry_writes,
                )
                .await
                .map_err(at("adding the run as a comment"))?;
                // The run's fingerprint goes on the issue after the comment, so that a
                // redelivery answers duplicate. (A failure between the two can only repeat
                // the comment on redelivery, never lose it.)
                retrying(
                    cutoff,
                    meter,
                    || {
                        self.jira
                            .add_labels(call(), flavor, &issue.key, &system_labels)
                    },
                    retry_writes,
                )
                .await
                .map_err(at("labelling the issue with this run's fingerprint"))?;
                return Ok(delivered(Status::Commented, issue.key));
            }
            system_labels.push(label);
        }

        let mut spec = build_issue(alert, &system_labels);
        let mut fell_back = false;
        loop {
            let body = spec.to_body(flavor);
            match retrying(
                cutoff,
                meter,
                || meter.time(self.jira.create_issue(call(), flavor, &body)),
                retry_writes,
            )
            .await
            {
                Ok(created) => return Ok(delivered(Status::Created, created.key)),
                Err(JiraError::Rejected {
                    status: 400,
                    messages,
                    field_errors,
                }) if !fell_back && !field_errors.is_empty() => {
                    // Retry once without the optional fields Jira named, if it named only
                    // optional ones; the description says what was dropped and why.
                    let mut trimmed = spec.clone();
                    let all_optional = field_errors
                        .iter()
                        .all(|(field, reason)| trimmed.drop_field(field, reason));
                    if !all_optional {
                        return Err(Stop::Jira(
                            CREATING,
                            JiraError::Rejected {
                                status: 400,
                                messages,
                                field_errors,
                            },
                        ));
                    }
                    tracing::warn!(
                        dropped = ?field_errors.keys().collect::<Vec<_>>(),
                        "Jira rejected optional fields; creating the issue without them"
                    );
                    spec = trimmed;
                    fell_back = true;
                }
                Err(e) => return Err(Stop::Jira(CREATING, e)),
            }
        }
    }
}

/// Secrets Manager throttling and outages are retried with backoff.
pub(crate) fn retry_secret_reads(e: &SecretError) -> Option<Option<Duration>> {
    e.is_transient().then_some(None)
}

/// Reads may be retried after any transient error, also when no answer came.
pub(crate) fn retry_reads(e: &JiraError) -> Option<Option<Duration>> {
    (e.is_transient() || matches!(e, JiraError::NoAnswer { .. })).then(|| e.retry_after())
}

/// A create or comment whose outcome is unknown (no answer) is never retried blindly: the
/// message is reported failed and the redelivery's duplicate search decides.
pub(crate) fn retry_writes(e: &JiraError) -> Option<Option<Duration>> {
    e.is_transient().then(|| e.retry_after())
}

/// Runs `op` until it succeeds, fails for good, or the cutoff leaves no room for another
/// try. `retry` says whether an error is transient and how long the server asked to wait.
/// Backoff is exponential with jitter x0.7-1.3 (Atlassian's guidance), written here
/// because it must honour Retry-After and the invocation deadline together.
pub async fn retrying<T, E, F, Fut>(
    cutoff: TokioInstant,
    meter: &Meter,
    mut op: F,
    retry: impl Fn(&E) -> Option<Option<Duration>>,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    let mut attempt = 0;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(hint) = retry(&err) else {
            return Err(err);
        };
        if attempt >= MAX_RETRIES {
            return Err(err);
        }
        let backoff = BACKOFF_START.saturating_mul(1 << attempt).min(BACKOFF_MAX);
        let wait = hint.unwrap_or_else(|| jittered(backoff));
        if TokioInstant::now() + wait + MIN_ATTEMPT > cutoff {
            tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "no time left before the deadline for another try");
            return Err(err);
        }
        attempt += 1;
        meter.retries.fetch_add(1, Ordering::Relaxed);
        tracing::info!(error = %err, attempt, wait_ms = wait.as_millis() as u64, "transient failure; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{triage, Triage};
    use serde_json::json;

    fn alert(det: serde_json::Value) -> Alert {
        let v = json!({
            "destination": {"instance_url": "https://a.atlassian.net", "api_token_secret": "s", "project_key": "SEC"},
            "detection": det
        });
        match triage(&v).unwrap() {
            Triage::Deliver(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fingerprint_is_stable_and_tells_runs_apart() {
        let base = json!({"id": 1, "name": "n", "severity": "LOW", "outcome": "MATCHED", "ran_at": "2026-01-01T00:00:00Z", "search_id": "s1"});
        let a = fingerprint_label(&alert(base.clone()));
        let mut renamed = base.clone();
        renamed["name"] = json!("renamed");
        assert_eq!(
            a,
            fingerprint_label(&alert(renamed)),
            "same run, other text"
        );
        let mut later = base.clone();
        later["ran_at"] = json!("2026-01-01T01:00:00Z");
        assert_ne!(a, fingerprint_label(&alert(later)));
        let mut other_search = base.clone();
        other_search["search_id"] = json!("s2");
        assert_ne!(a, fingerprint_label(&alert(other_search)));
        assert!(a.starts_with("detection-run-") && a.len() == "detection-run-".len() + 20);
        // Without ran_at and search_id, the content decides.
        let bare = json!({"id": 1, "name": "n", "severity": "LOW", "outcome": "MATCHED"});
        let mut bare2 = bare.clone();
        bare2["match_count"] = json!(3);
        assert_eq!(
            fingerprint_label(&alert(bare.clone())),
            fingerprint_label(&alert(bare.clone()))
        );
        assert_ne!(
            fingerprint_label(&alert(bare)),
            fingerprint_label(&alert(bare2))
        );
    }

    #[test]
    fn jql_strings_are_escaped() {
        assert_eq!(jql_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(jql_quote("x\ny"), "\"x y\"");
    }

    #[tokio::test]
    async fn retrying_honours_the_cutoff() {
        let cutoff = TokioInstant::now() + Duration::from_millis(300);
        let mut calls = 0;
        let started = TokioInstant::now();
        let meter = &Meter::default();
        let r: Result<(), String> = retrying(
            cutoff,
            meter,
            || {
                calls += 1;
                async { Err("boom".to_string()) }
            },
            |_| Some(Some(Duration::from_secs(5))),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "a 5 s wait does not fit in 300 ms");
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_backs_off_then_gives_up() {
        let cutoff = TokioInstant::now() + Duration::from_secs(600);
        let mut calls = 0;
        let started = TokioInstant::now();
        let meter = &Meter::default();
        let r: Result<(), String> = retrying(
            cutoff,
            meter,
            || {
                calls += 1;
                async { Err("boom".to_string()) }
            },
            |_| Some(None),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1 + MAX_RETRIES);
        assert_eq!(meter.stats().retries, MAX_RETRIES);
        // 1 + 2 + 4 + 8 s, each x0.7..1.3.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(10_500) && waited <= Duration::from_millis(19_500),
            "{waited:?}"
        );
    }

    #[test]
    fn failure_text_has_class_and_fix() {
        let f = Failure::from_jira(
            &JiraError::Forbidden {
                detail: "You do not have permission to create issues in this project.".into(),
            },
            "create issue",
        );
        assert_eq!(f.class, "permission");
        assert!(f.to_string().contains("Create Issues permission"));
    }
}
