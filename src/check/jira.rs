//! The checks that read Jira: each a small function answering its detail or a failure.

use super::{names, Ctx};
use crate::alert::{Alert, Destination, PriorityRule, Severity};
use crate::deliver::{Reply, Step};
use crate::failure::Failure;
use crate::issue::{build_issue, Block, Description};
use crate::jira::{JiraApi, JiraError, StatusCategory};
use crate::secrets::SecretSource;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub(super) async fn credentials<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
) -> Result<String, Failure> {
    let me = match ctx.get(format!("{}/myself", ctx.api())).await {
        Ok(me) => me,
        Err(e @ (JiraError::Unauthorized { .. } | JiraError::Forbidden { .. }))
            if ctx.conn.via_gateway() =>
        {
            let scheme = ctx.conn.scheme.as_str();
            let scope = crate::gateway::scope_needed(false, "/myself");
            return Err(crate::gateway::refused(e, scheme, scope));
        }
        Err(e) => return Err(e.into()),
    };
    let who = ["emailAddress", "name", "displayName", "accountId"]
        .iter()
        .find_map(|k| me.get(*k).and_then(Value::as_str))
        .unwrap_or("unknown user");
    Ok(format!("authenticated as {who}"))
}

pub(super) async fn project<J: JiraApi, S: SecretSource>(
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
pub(super) fn issue_type<J, S>(
    ctx: &Ctx<'_, J, S>,
    project: &Value,
) -> Result<(String, String), Failure> {
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

pub(super) async fn priorities<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
) -> Result<String, Failure> {
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
pub(super) async fn custom_fields<J: JiraApi, S: SecretSource>(
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
pub(super) async fn links<J: JiraApi, S: SecretSource>(
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

/// With a lifecycle: the issue type's workflow has the statuses it moves between, and the
/// bot user holds the permissions it needs. Transitions themselves belong to an issue's
/// status, so a named `resolve_transition` is checked at the first clear.
pub(super) async fn lifecycle<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
    type_id: &str,
) -> Option<Result<String, Failure>> {
    let life = &ctx.dest.lifecycle;
    if !life.resolve_when_clear && life.reopen_within_hours == 0 {
        return None;
    }
    let key = &ctx.dest.project_key;
    Some(lifecycle_check(ctx, key, type_id).await)
}

async fn lifecycle_check<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
    key: &str,
    type_id: &str,
) -> Result<String, Failure> {
    let life = &ctx.dest.lifecycle;
    let types = ctx
        .get(format!("{}/project/{key}/statuses", ctx.api()))
        .await?;
    let statuses = types
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(type_id))
        .and_then(|t| t.get("statuses"))
        .cloned()
        .unwrap_or(Value::Null);
    let in_category = |wanted: fn(&StatusCategory) -> bool| -> Vec<String> {
        statuses
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| {
                s.pointer("/statusCategory/key")
                    .and_then(Value::as_str)
                    .is_some_and(|c| wanted(&StatusCategory::from(c)))
            })
            .filter_map(|s| s.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let done = in_category(|c| *c == StatusCategory::Done);
    let open = in_category(StatusCategory::is_open);
    let issue_type = &ctx.dest.issue_type;
    if life.resolve_when_clear && done.is_empty() {
        return Err(Failure::bad_input(
            format!("the {issue_type} workflow of {key} has no status in the Done category"),
            "add a Done status (and a transition into it) to the workflow, or set resolve_when_clear to false",
        ));
    }
    if life.reopen_within_hours > 0 && open.is_empty() {
        return Err(Failure::bad_input(
            format!("the {issue_type} workflow of {key} has no To Do or In Progress status to reopen into"),
            "add one to the workflow, or set reopen_within_hours to 0",
        ));
    }
    let wanted = [
        "TRANSITION_ISSUES",
        "RESOLVE_ISSUES",
        "ADD_COMMENTS",
        "EDIT_ISSUES",
    ];
    let path = format!(
        "{}/mypermissions?projectKey={key}&permissions={}",
        ctx.api(),
        wanted.join(",")
    );
    let granted = ctx.get(path).await?;
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| {
            granted
                .pointer(&format!("/permissions/{p}/havePermission"))
                .and_then(Value::as_bool)
                != Some(true)
        })
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(Failure::new(
            crate::failure::FailureClass::Permission,
            format!("the bot user lacks {} in {key}", missing.join(", ")),
            "grant them to the bot user in the project's permission scheme (Transition Issues, Resolve Issues, Add Comments, Edit Issues): a clear comments, labels and transitions the issue",
        ));
    }
    let named = match &life.resolve_transition {
        Some(t) => format!("; resolve_transition {t:?} is checked on the first clear"),
        None => String::new(),
    };
    Ok(format!(
        "Done statuses: {}; reopen into: {}; Transition Issues, Resolve Issues, Add Comments and Edit Issues granted{named}",
        done.join(", "),
        if open.is_empty() { "none".into() } else { open.join(", ") }
    ))
}

/// Creates a clearly marked test issue, through the same step the delivery uses.
pub(super) async fn test_issue<J: JiraApi, S: SecretSource>(
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
    match ctx
        .d
        .send(&step, &ctx.conn, &[], ctx.cutoff, &ctx.meter)
        .await?
    {
        Reply::Created(created) => {
            let key = created.key;
            let url = ctx.conn.issue_url(&key);
            Ok((
                format!("created {key} ({url})"),
                json!({"issue_key": key, "issue_url": url}),
            ))
        }
        other => Err(Failure::panicked().at(&format!("unexpected answer {other:?}"))),
    }
}
