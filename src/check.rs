//! `check_destination`: tests a Jira destination before the first real alert, step by step,
//! and says what was found and how to fix what is wrong. Creates nothing unless asked for
//! a test issue.

use crate::alert::{triage, Alert, PriorityRule, Severity, Triage};
use crate::deliver::{retry_reads, retry_secret_reads, retry_writes, retrying, Deliverer, Meter};
use crate::hosts;
use crate::issue::ApiFlavor;
use crate::jira::{JiraApi, JiraError};
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

    /// Records a failed check (with its fix).
    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    fn finish(mut self) -> Report {
        self.ok = self.checks.iter().all(|c| c.ok);
        self
    }
}

fn jira_fail(report: &mut Report, name: &'static str, e: &JiraError) {
    report.fail(name, e.to_string(), e.fix());
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
    let meter = Meter::default();
    let create_test_issue = request
        .get("create_test_issue")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // The destination is validated as part of an alert with a stand-in detection.
    let probe = json!({
        "destination": request.get("destination").cloned().unwrap_or(Value::Null),
        "detection": {"id": 0, "name": "detection-jira destination check", "severity": "INFO", "outcome": "MATCHED"},
    });
    let alert: Alert = match triage(&probe) {
        Ok(Triage::Deliver(a)) => *a,
        Ok(Triage::Skip { reason, .. }) => {
            report.fail(
                "destination",
                reason,
                "set destination.enabled to true (or leave it out)",
            );
            return report.finish();
        }
        Err(e) => {
            // The instance URL keeps its own check name (it is parsed with the alert now).
            for p in e.problems {
                let name = match p.field.as_str() {
                    "destination.instance_url" => "instance_url",
                    _ => "destination",
                };
                report.fail(name, format!("{}: {}", p.field, p.problem), p.fix);
            }
            return report.finish();
        }
    };
    let dest = &alert.destination;
    report.pass("destination", "all fields valid");

    let site = &dest.site;
    report.pass(
        "instance_url",
        format!("{} (host {}, port {})", site.base, site.host, site.port),
    );

    let creds = match retrying(
        cutoff,
        &meter,
        || d.secrets.get(&dest.api_token_secret, None),
        retry_secret_reads,
    )
    .await
    {
        Ok((c, _)) => c,
        Err(e) => {
            let text = e.to_string();
            let (detail, fix) = text.split_once(" Fix: ").unwrap_or((&text, "retry later"));
            report.fail("secret", detail, fix);
            return report.finish();
        }
    };
    report.pass(
        "secret",
        format!(
            "{} readable: auth {}, email {}, instance_url {}",
            dest.api_token_secret,
            match creds.auth {
                AuthScheme::Basic => "basic",
                AuthScheme::Bearer => "bearer",
            },
            if creds.email.is_some() {
                "set"
            } else {
                "not set"
            },
            creds
                .instance_url
                .as_deref()
                .unwrap_or("not set (the allow-list decides)")
        ),
    );

    match hosts::authorize(site, creds.instance_url.as_deref(), &d.allowed) {
        Ok(()) => report.pass(
            "allowed_host",
            if creds.instance_url.is_some() {
                "the secret is bound to this instance_url".to_string()
            } else {
                format!("{} is in ALLOWED_JIRA_HOSTS", site.host)
            },
        ),
        Err(e) => {
            report.fail("allowed_host", e.problem, e.fix);
            return report.finish();
        }
    }
    if creds.auth == AuthScheme::Basic && dest.email.is_none() && creds.email.is_none() {
        report.fail(
            "email",
            "no user for basic authentication",
            "set destination.email (Cloud: the account email; Server/DC: the user name), or \"email\" in the secret",
        );
        return report.finish();
    }

    let call = || d.call(&alert, site, &creds, cutoff);
    let get = |path: String| {
        let meter = &meter;
        async move {
            retrying(
                cutoff,
                meter,
                || meter.time(d.jira.get_json(call(), &path)),
                retry_reads,
            )
            .await
        }
    };

    let flavor = match d.flavor(dest.api_version, call(), cutoff, &meter).await {
        Ok(f) => f,
        Err(e) => {
            jira_fail(&mut report, "deployment", &e);
            return report.finish();
        }
    };
    report.pass(
        "deployment",
        match flavor {
            ApiFlavor::V3 => "Jira Cloud: REST API v3, Atlassian Document Format",
            ApiFlavor::V2 => "Jira Server/Data Center: REST API v2, wiki markup",
        },
    );
    let api = flavor.path();

    match get(format!("{api}/myself")).await {
        Ok(me) => {
            let who = ["emailAddress", "name", "displayName", "accountId"]
                .iter()
                .find_map(|k| me.get(*k).and_then(Value::as_str))
                .unwrap_or("unknown user");
            report.pass("credentials", format!("authenticated as {who}"));
        }
        Err(e) => {
            jira_fail(&mut report, "credentials", &e);
            return report.finish();
        }
    }

    let project = match get(format!("{api}/project/{}", dest.project_key)).await {
        Ok(p) => p,
        Err(e) => {
            report.fail(
                "project",
                format!("project {} is not visible: {e}", dest.project_key),
                "Verify instance URL and project key are correct, and that the user has Browse Projects permission in it",
            );
            return report.finish();
        }
    };
    report.pass("project", format!("{} visible", dest.project_key));

    let types = project
        .get("issueTypes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let type_id = types
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(dest.issue_type.as_str()))
        .and_then(|t| t.get("id").and_then(Value::as_str).map(str::to_string));
    let Some(type_id) = type_id else {
        report.fail(
            "issue_type",
            format!(
                "{:?} is not an issue type of {}; it has: {}",
                dest.issue_type,
                dest.project_key,
                names(&project, "/issueTypes", "name").join(", ")
            ),
            "Check issue type exists in project: set destination.issue_type to one of those",
        );
        return report.finish();
    };
    report.pass(
        "issue_type",
        format!("{} exists in {}", dest.issue_type, dest.project_key),
    );

    let wanted: BTreeSet<String> = Severity::ALL
        .iter()
        .filter_map(|s| dest.priority.priority_for(*s))
        .collect();
    if dest.priority == PriorityRule::ProjectDefault {
        report.pass(
            "priorities",
            "no priority configured: the project default applies",
        );
    } else {
        match get(format!("{api}/priority")).await {
            Ok(list) => {
                let have: Vec<String> = names(&list, "", "name");
                let missing: Vec<&String> = wanted.iter().filter(|p| !have.contains(p)).collect();
                if missing.is_empty() {
                    report.pass(
                        "priorities",
                        format!(
                            "all exist: {}",
                            wanted.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                } else {
                    report.fail(
                        "priorities",
                        format!(
                            "missing: {}; this Jira has: {}",
                            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                            have.join(", ")
                        ),
                        "set destination.priority or priority_map to names this Jira has (priority mapping depends on your Jira configuration); until then issues are created without a priority",
                    );
                }
            }
            Err(e) => jira_fail(&mut report, "priorities", &e),
        }
    }

    let cf = &dest.custom_fields;
    let configured: Vec<(&str, &String, &str)> = [
        ("detection_id", cf.detection_id.as_ref(), "number"),
        ("severity", cf.severity.as_ref(), "option"),
        ("match_count", cf.match_count.as_ref(), "number"),
    ]
    .into_iter()
    .filter_map(|(k, id, ty)| id.map(|id| (k, id, ty)))
    .collect();
    if !configured.is_empty() {
        match get(format!(
            "{api}/issue/createmeta/{}/issuetypes/{type_id}",
            dest.project_key
        ))
        .await
        {
            Ok(meta) => {
                let fields = meta
                    .get("fields")
                    .or_else(|| meta.get("values"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut problems = Vec::new();
                for (key, id, ty) in &configured {
                    match fields
                        .iter()
                        .find(|f| f.get("fieldId").and_then(Value::as_str) == Some(id.as_str()))
                    {
                        None => problems.push(format!(
                            "{key} -> {id} is not on the create screen of {} {}",
                            dest.project_key, dest.issue_type
                        )),
                        Some(f) => {
                            let actual = f
                                .pointer("/schema/type")
                                .and_then(Value::as_str)
                                .unwrap_or("unknown");
                            if actual != *ty {
                                problems.push(format!(
                                    "{key} -> {id} is of type {actual}, expected {ty}"
                                ));
                            } else if *ty == "option" {
                                let options = names(f, "/allowedValues", "value");
                                let missing: Vec<&str> = Severity::ALL
                                    .iter()
                                    .map(|s| s.as_str())
                                    .filter(|s| !options.iter().any(|o| o == s))
                                    .collect();
                                if !missing.is_empty() {
                                    problems.push(format!(
                                        "{key} -> {id} lacks the options {}",
                                        missing.join(", ")
                                    ));
                                }
                            }
                        }
                    }
                }
                if problems.is_empty() {
                    report.pass(
                        "custom_fields",
                        "all on the create screen with the right type",
                    );
                } else {
                    report.fail(
                        "custom_fields",
                        problems.join("; "),
                        "add the fields to the issue type's create screen with those types (Settings > Issues > Custom fields), or remove them from destination.custom_fields; until then they are left out of issues",
                    );
                }
            }
            Err(e) => jira_fail(&mut report, "custom_fields", &e),
        }
    }

    if !dest.links.is_empty() || dest.parent_key.is_some() {
        let mut problems = Vec::new();
        if !dest.links.is_empty() {
            match get(format!("{api}/issueLinkType")).await {
                Ok(v) => {
                    let types = names(&v, "/issueLinkTypes", "name");
                    for l in &dest.links {
                        if !types.contains(&l.link_type) {
                            problems.push(format!(
                                "link type {:?} does not exist (this Jira has: {})",
                                l.link_type,
                                types.join(", ")
                            ));
                        }
                    }
                }
                Err(e) => problems.push(format!("link types could not be read: {e}")),
            }
        }
        let keys = dest
            .links
            .iter()
            .map(|l| &l.key)
            .chain(dest.parent_key.iter());
        for key in keys {
            if let Err(e) = get(format!("{api}/issue/{key}?fields=summary")).await {
                problems.push(format!("issue {key} is not visible: {e}"));
            }
        }
        if problems.is_empty() {
            report.pass("links", "link types and linked or parent issues exist");
        } else {
            report.fail(
                "links",
                problems.join("; "),
                "fix destination.links / parent_key to existing link types and issues; until then they are left out of issues",
            );
        }
    }

    if create_test_issue && report.checks.iter().all(|c| c.ok) {
        let mut test = crate::issue::build_issue(&alert, &["detection-jira-test".to_string()]);
        test.summary = "[TEST] detection-jira destination check: safe to delete".into();
        test.description = crate::issue::Description::default();
        test.description.push(crate::issue::Block::Text(
            "Created by check_destination with create_test_issue: true. Safe to delete.".into(),
        ));
        let body = test.to_body(flavor);
        match retrying(
            cutoff,
            &meter,
            || meter.time(d.jira.create_issue(call(), flavor, &body)),
            retry_writes,
        )
        .await
        {
            Ok(created) => {
                let url = format!("{}/browse/{}", site.base, created.key);
                report.pass("test_issue", format!("created {} ({url})", created.key));
                report.test_issue = Some(json!({"issue_key": created.key, "issue_url": url}));
            }
            Err(e) => jira_fail(&mut report, "test_issue", &e),
        }
    }
    report.finish()
}
