//! `check_destination`: tests a Jira destination before the first real alert, step by step,
//! and says what was found and how to fix what is wrong. Creates nothing unless asked for
//! a test issue. Each check is a small function; the ones that do not depend on each other
//! all run, so one report names every problem found.

use crate::alert::{triage, Alert, Destination, PriorityRule, Severity, Triage};
use crate::deliver::{user_for, Connection, Deliverer, Reply, Step};
use crate::failure::Failure;
use crate::issue::{build_issue, ApiFlavor, Block, Description};
use crate::jira::{JiraApi, JiraError};
use crate::metrics::Meter;
use crate::secrets::{AuthScheme, SecretSource};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
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
                reason,
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
    let auth = match creds.auth {
        AuthScheme::Basic => "basic",
        AuthScheme::Bearer => "bearer",
    };
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

async fn credentials<J: JiraApi, S: SecretSource>(ctx: &Ctx<'_, J, S>) -> Result<String, Failure> {
    let me = ctx.get(format!("{}/myself", ctx.api())).await?;
    let who = ["emailAddress", "name", "displayName", "accountId"]
        .iter()
        .find_map(|k| me.get(*k).and_then(Value::as_str))
        .unwrap_or("unknown user");
    Ok(format!("authenticated as {who}"))
}

async fn project<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
) -> Result<(String, Value), Failure> {
    let key = &ctx.dest.project_key;
    match ctx.get(format!("{}/project/{key}", ctx.api())).await {
        Ok(p) => Ok((format!("{key} visible"), p)),
        Err(e) => Err(Failure::new(
            e.class(),
            format!("project {key} is not visible: {e}"),
            "Verify instance URL and project key are correct, and that the user has Browse Projects permission in it",
        )),
    }
}

/// The issue type's id in the project.
fn issue_type<J, S>(ctx: &Ctx<'_, J, S>, project: &Value) -> Result<(String, String), Failure> {
    let dest = ctx.dest;
    let types = project.get("issueTypes").and_then(Value::as_array);
    let id = types
        .into_iter()
        .flatten()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(dest.issue_type.as_str()))
        .and_then(|t| t.get("id").and_then(Value::as_str));
    match id {
        Some(id) => Ok((
            format!("{} exists in {}", dest.issue_type, dest.project_key),
            id.to_string(),
        )),
        None => Err(Failure::bad_input(
            format!(
                "{:?} is not an issue type of {}; it has: {}",
                dest.issue_type,
                dest.project_key,
                names(project, "/issueTypes", "name").join(", ")
            ),
            "Check issue type exists in project: set destination.issue_type to one of those",
        )),
    }
}

async fn priorities<J: JiraApi, S: SecretSource>(ctx: &Ctx<'_, J, S>) -> Result<String, Failure> {
    let rule = &ctx.dest.priority;
    if *rule == PriorityRule::ProjectDefault {
        return Ok("no priority configured: the project default applies".into());
    }
    let wanted: BTreeSet<String> = Severity::ALL
        .iter()
        .filter_map(|s| rule.priority_for(*s))
        .collect();
    let have = names(
        &ctx.get(format!("{}/priority", ctx.api())).await?,
        "",
        "name",
    );
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| !have.contains(p))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        let all: Vec<&str> = wanted.iter().map(String::as_str).collect();
        return Ok(format!("all exist: {}", all.join(", ")));
    }
    Err(Failure::bad_input(
        format!("missing: {}; this Jira has: {}", missing.join(", "), have.join(", ")),
        "set destination.priority or priority_map to names this Jira has (priority mapping depends on your Jira configuration); until then issues are created without a priority",
    ))
}

/// Each configured custom field on the create screen, with the type the function sends.
async fn custom_fields<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
    type_id: &str,
) -> Option<Result<String, Failure>> {
    let (dest, cf) = (ctx.dest, &ctx.dest.custom_fields);
    let configured: Vec<(&str, &String, &str)> = [
        ("detection_id", cf.detection_id.as_ref(), "number"),
        ("severity", cf.severity.as_ref(), "option"),
        ("match_count", cf.match_count.as_ref(), "number"),
    ]
    .into_iter()
    .filter_map(|(k, id, ty)| id.map(|id| (k, id, ty)))
    .collect();
    if configured.is_empty() {
        return None;
    }
    let path = format!(
        "{}/issue/createmeta/{}/issuetypes/{type_id}",
        ctx.api(),
        dest.project_key
    );
    let meta = match ctx.get(path).await {
        Ok(m) => m,
        Err(e) => return Some(Err(e.into())),
    };
    let fields = meta
        .get("fields")
        .or_else(|| meta.get("values"))
        .and_then(Value::as_array);
    let fields: &[Value] = fields.map(Vec::as_slice).unwrap_or_default();
    let problems: Vec<String> = configured
        .iter()
        .filter_map(|(key, id, ty)| field_problem(fields, key, id, ty, dest))
        .collect();
    Some(if problems.is_empty() {
        Ok("all on the create screen with the right type".into())
    } else {
        Err(Failure::bad_input(
            problems.join("; "),
            "add the fields to the issue type's create screen with those types (Settings > Issues > Custom fields), or remove them from destination.custom_fields; until then they are left out of issues",
        ))
    })
}

fn field_problem(
    fields: &[Value],
    key: &str,
    id: &str,
    ty: &str,
    dest: &Destination,
) -> Option<String> {
    let Some(f) = fields
        .iter()
        .find(|f| f.get("fieldId").and_then(Value::as_str) == Some(id))
    else {
        return Some(format!(
            "{key} -> {id} is not on the create screen of {} {}",
            dest.project_key, dest.issue_type
        ));
    };
    let actual = f
        .pointer("/schema/type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    if actual != ty {
        return Some(format!("{key} -> {id} is of type {actual}, expected {ty}"));
    }
    if ty != "option" {
        return None;
    }
    let options = names(f, "/allowedValues", "value");
    let missing: Vec<&str> = Severity::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| !options.iter().any(|o| o == s))
        .collect();
    (!missing.is_empty()).then(|| format!("{key} -> {id} lacks the options {}", missing.join(", ")))
}

/// Link types exist, and the linked and parent issues are visible.
async fn links<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
) -> Option<Result<String, Failure>> {
    let dest = ctx.dest;
    if dest.links.is_empty() && dest.parent_key.is_none() {
        return None;
    }
    let mut problems = Vec::new();
    if !dest.links.is_empty() {
        match ctx.get(format!("{}/issueLinkType", ctx.api())).await {
            Ok(v) => {
                let types = names(&v, "/issueLinkTypes", "name");
                for l in dest.links.iter().filter(|l| !types.contains(&l.link_type)) {
                    problems.push(format!(
                        "link type {:?} does not exist (this Jira has: {})",
                        l.link_type,
                        types.join(", ")
                    ));
                }
            }
            Err(e) => problems.push(format!("link types could not be read: {e}")),
        }
    }
    for key in dest
        .links
        .iter()
        .map(|l| &l.key)
        .chain(dest.parent_key.iter())
    {
        if let Err(e) = ctx
            .get(format!("{}/issue/{key}?fields=summary", ctx.api()))
            .await
        {
            problems.push(format!("issue {key} is not visible: {e}"));
        }
    }
    Some(if problems.is_empty() {
        Ok("link types and linked or parent issues exist".into())
    } else {
        Err(Failure::bad_input(
            problems.join("; "),
            "fix destination.links / parent_key to existing link types and issues; until then they are left out of issues",
        ))
    })
}

/// Creates a clearly marked test issue, through the same step the delivery uses.
async fn test_issue<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
    alert: &Alert,
) -> Result<(String, Value), Failure> {
    let mut test = build_issue(alert, &["detection-jira-test".to_string()]);
    test.summary = "[TEST] detection-jira destination check: safe to delete".into();
    test.description = Description::default();
    test.description.push(Block::Text(
        "Created by check_destination with create_test_issue: true. Safe to delete.".into(),
    ));
    let step = Step::Create {
        body: test.to_body(ctx.conn.flavor),
    };
    match ctx.d.send(&step, &ctx.conn, ctx.cutoff, &ctx.meter).await? {
        Reply::Created(key) => {
            let url = ctx.conn.issue_url(&key);
            Ok((
                format!("created {key} ({url})"),
                json!({"issue_key": key, "issue_url": url}),
            ))
        }
        other => Err(Failure::panicked().at(&format!("unexpected answer {other:?}"))),
    }
}
