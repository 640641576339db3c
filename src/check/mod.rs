//! `check_destination`: tests a Jira destination before the first real alert, step by step,
//! and says what was found and how to fix what is wrong. Creates nothing unless asked for
//! a test issue. Each check is a small function; the ones that do not depend on each other
//! all run, so one report names every problem found.

mod fields;
mod jira;

use crate::alert::{triage, Alert, Destination, Triage};
use crate::deliver::{user_for, Connection, Deliverer, GatewayInfo};
use crate::failure::Failure;
use crate::issue::ApiFlavor;
use crate::jira::{JiraApi, JiraError};
use crate::meter::Meter;
use crate::secrets::SecretSource;
use jira::{
    credentials, custom_fields, issue_type, lifecycle, links, priorities, project, test_issue,
};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_issue: Option<Value>,
}

impl Report {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        });
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    fn failure(&mut self, name: &'static str, f: Failure) {
        self.fail(name, f.message, f.fix);
    }

    /// Records the outcome of a check that answers `Ok(detail)` or a failure.
    fn record(&mut self, name: &'static str, result: Result<String, Failure>) -> bool {
        match result {
            Ok(detail) => {
                self.pass(name, detail);
                true
            }
            Err(f) => {
                self.failure(name, f);
                false
            }
        }
    }

    fn finish(mut self) -> Report {
        self.ok = self.checks.iter().all(|c| c.ok);
        self
    }
}

/// What the checks after the connection share.
struct Ctx<'a, J, S> {
    d: &'a Deliverer<J, S>,
    conn: Connection<'a>,
    dest: &'a Destination,
    cutoff: Instant,
    meter: Meter,
}

impl<J: JiraApi, S: SecretSource> Ctx<'_, J, S> {
    async fn get(&self, path: String) -> Result<Value, JiraError> {
        self.d
            .read(&self.conn, &path, self.cutoff, &self.meter)
            .await
    }

    fn api(&self) -> &'static str {
        self.conn.flavor.path()
    }
}

/// Epoch seconds now: what `+3d` counts from when the check's alert has no ran_at.
fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn names(v: &Value, pointer: &str, key: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get(key).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The request `{"action": "check_destination", "destination": {...}, "create_test_issue": bool}`.
pub async fn check_destination<J: JiraApi, S: SecretSource>(
    d: &Deliverer<J, S>,
    request: &Value,
    cutoff: Instant,
) -> Report {
    let mut report = Report::default();
    let Some(alert) = parse(&mut report, request) else {
        return report.finish();
    };
    let Some(ctx) = connect(&mut report, d, &alert.destination, cutoff).await else {
        return report.finish();
    };
    if !report.record("credentials", credentials(&ctx).await) {
        return report.finish();
    }
    match project(&ctx).await {
        Ok((detail, project)) => {
            report.pass("project", detail);
            match issue_type(&ctx, &project) {
                Ok((detail, type_id)) => {
                    report.pass("issue_type", detail);
                    if let Some(r) = custom_fields(&ctx, &type_id).await {
                        report.record("custom_fields", r);
                    }
                    let run = alert.detection.ran_at_epoch.unwrap_or_else(now_seconds);
                    if let Some(r) = fields::fields(&ctx, run).await {
                        report.record("fields", r);
                    }
                    if let Some(r) = lifecycle(&ctx, &type_id).await {
                        report.record("lifecycle", r);
                    }
                }
                Err(f) => report.failure("issue_type", f),
            }
        }
        Err(f) => report.failure("project", f),
    }
    report.record("priorities", priorities(&ctx).await);
    if let Some(r) = links(&ctx).await {
        report.record("links", r);
    }
    let create = request.get("create_test_issue").and_then(Value::as_bool) == Some(true);
    if create && report.checks.iter().all(|c| c.ok) {
        match test_issue(&ctx, &alert).await {
            Ok((detail, answer)) => {
                report.pass("test_issue", detail);
                report.test_issue = Some(answer);
            }
            Err(f) => report.failure("test_issue", f),
        }
    }
    report.finish()
}

/// What connecting through the Atlassian gateway found: the auth mode, the cloud id, and
/// (OAuth) the scopes granted, with the ones the function needs that are missing.
fn gateway_checks(report: &mut Report, scheme: &str, base: &str, info: &GatewayInfo) {
    report.pass(
        "gateway",
        format!(
            "auth {scheme} through the Atlassian API gateway, cloud id {} ({base})",
            info.cloud_id
        ),
    );
    report.pass(
        "deployment",
        "Jira Cloud through the gateway: REST API v3, Atlassian Document Format",
    );
    if scheme != "oauth" {
        return;
    }
    let missing = crate::gateway::missing_scopes(&info.scopes);
    let granted = match info.scopes.is_empty() {
        true => "none listed".to_string(),
        false => info.scopes.join(" "),
    };
    if missing.is_empty() {
        report.pass("scopes", format!("granted: {granted}"));
    } else {
        report.fail(
            "scopes",
            format!("missing {} (granted: {granted})", missing.join(", ")),
            format!(
                "add {} to the service account's OAuth credential (the function needs {})",
                missing.join(", "),
                crate::gateway::SCOPES.join(", ")
            ),
        );
    }
}

/// The destination is validated as part of an alert with a stand-in detection.
fn parse(report: &mut Report, request: &Value) -> Option<Alert> {
    let probe = json!({
        "destination": request.get("destination").cloned().unwrap_or(Value::Null),
        "detection": {"id": 0, "name": "detection-jira destination check", "severity": "INFO", "outcome": "MATCHED"},
    });
    match triage(&probe) {
        Ok(Triage::Deliver(a)) => {
            report.pass("destination", "all fields valid");
            let site = &a.destination.site;
            let detail = format!("{} (host {}, port {})", site.base, site.host, site.port);
            report.pass("instance_url", detail);
            Some(*a)
        }
        Ok(Triage::Skip { reason, .. }) => {
            report.fail(
                "destination",
                reason.text(),
                "set destination.enabled to true (or leave it out)",
            );
            None
        }
        Err(e) => {
            // Every problem, each under its check (the instance URL has its own).
            for p in e.problems {
                let name = match p.field.as_str() {
                    "destination.instance_url" => "instance_url",
                    _ => "destination",
                };
                report.fail(name, format!("{}: {}", p.field, p.problem), p.fix);
            }
            None
        }
    }
}

/// The secret, the host check, the user and the deployment, each reported.
async fn connect<'a, J: JiraApi, S: SecretSource>(
    report: &mut Report,
    d: &'a Deliverer<J, S>,
    dest: &'a Destination,
    cutoff: Instant,
) -> Option<Ctx<'a, J, S>> {
    let meter = Meter::default();
    let secret = d
        .credentials(&dest.api_token_secret, None, cutoff, &meter)
        .await;
    let (creds, fetched_at) = match secret {
        Ok(found) => found,
        Err(f) => {
            report.failure("secret", f);
            return None;
        }
    };
    let auth = creds.auth.as_str();
    let email = if creds.email.is_some() {
        "set"
    } else {
        "not set"
    };
    let bound = creds
        .instance_url
        .as_deref()
        .unwrap_or("not set (the allow-list decides)");
    report.pass(
        "secret",
        format!(
            "{} readable: auth {auth}, email {email}, instance_url {bound}",
            dest.api_token_secret
        ),
    );
    let allowed = d.authorize(&dest.site, &creds).map(|()| {
        if creds.instance_url.is_some() {
            "the secret is bound to this instance_url".to_string()
        } else {
            format!("{} is in ALLOWED_JIRA_HOSTS", dest.site.host)
        }
    });
    if !report.record("allowed_host", allowed) {
        return None;
    }
    let user = match user_for(dest, &creds) {
        Ok(user) => user,
        Err(f) => {
            report.failure("email", f);
            return None;
        }
    };
    let mut conn = Connection::new(dest, creds, fetched_at, user);
    if conn.via_gateway() {
        let scheme = conn.scheme.as_str();
        match d
            .through_gateway(&mut conn, dest, None, true, cutoff, &meter)
            .await
        {
            Ok(info) => gateway_checks(report, scheme, &conn.base, &info),
            Err(f) => {
                report.failure("gateway", f);
                return None;
            }
        }
        if !report.checks.iter().all(|c| c.ok) {
            return None;
        }
        return Some(Ctx {
            d,
            conn,
            dest,
            cutoff,
            meter,
        });
    }
    match d.flavor(dest.api_version, &conn, cutoff, &meter).await {
        Ok(flavor) => conn.flavor = flavor,
        Err(e) => {
            report.failure("deployment", e.into());
            return None;
        }
    }
    report.pass(
        "deployment",
        match conn.flavor {
            ApiFlavor::V3 => "Jira Cloud: REST API v3, Atlassian Document Format",
            ApiFlavor::V2 => "Jira Server/Data Center: REST API v2, wiki markup",
        },
    );
    Some(Ctx {
        d,
        conn,
        dest,
        cutoff,
        meter,
    })
}
