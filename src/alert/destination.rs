//! `destination`: where and how the issue is created, into a `Destination`.
//!
//! The destination is the deployer's configuration, so every key is checked by name: a
//! misspelt optional field would otherwise be silently ignored (contract section 8).

use super::detection::DetectionId;
use super::error::{Problem, Problems};
use super::fields::fields;
use super::issue_fields::{custom_fields, labels, links, numeric_id_for_number_field, priority};
use super::suggest::closest;
use super::wire::{optional, Field, WireDestination, DESTINATION_FIELDS};
use super::{is_issue_key, is_project_key, key_path, quote, ApiVersion, Destination, Lifecycle};
use crate::hosts::{self, JiraSite};
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Secrets Manager's limit for a secret id (name or ARN).
pub const MAX_SECRET_ID: usize = 2048;

/// Keys that would carry a credential inline; credentials live in Secrets Manager only.
/// Compared without case or separators: `apiToken` is refused like `api_token`.
const INLINE_CREDENTIALS: [&str; 3] = ["apitoken", "password", "token"];

fn is_inline_credential(key: &str) -> bool {
    let bare: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    INLINE_CREDENTIALS.contains(&bare.as_str())
}

/// Refuses a credential sent in the event. Only the key is named, never the value.
pub fn refuse_inline_credentials(raw: &Map<String, Value>, p: &mut Problems) {
    for key in raw.keys().filter(|k| is_inline_credential(k)) {
        p.push(Problem::new(
            key_path("destination", key),
            "credentials are not accepted in the event",
            "remove it from the alert and store the token in AWS Secrets Manager; name that secret in destination.api_token_secret",
        ));
    }
}

/// Every destination field checked; `None` when a problem was recorded. The detection id
/// is needed for one check: a `detection_id` custom field is a Jira number field.
pub fn destination(
    mut wire: WireDestination,
    id: Option<&DetectionId>,
    p: &mut Problems,
) -> Option<Destination> {
    unknown_keys(&wire.unknown, p);
    let lifecycle = lifecycle(&wire, p);
    let site = p.take(site(wire.instance_url));
    let email = p.take(optional(
        wire.email,
        "email",
        "set destination.email to the Jira user's email (Cloud) or user name (Server/DC)",
    ));
    let api_token_secret = p.take(secret_id(wire.api_token_secret));
    let project_key = p.take(project_key(wire.project_key));
    let issue_type = p.take(optional(
        wire.issue_type,
        "issue_type",
        "set destination.issue_type to an issue type name of the project, e.g. Task",
    ));
    let priority = priority(wire.priority, wire.priority_map, p);
    let labels = labels(wire.labels, p);
    let timeout = p.take(timeout(wire.timeout));
    let api_version = p.take(api_version(wire.api_version));
    let custom_fields = custom_fields(wire.custom_fields, p).filter(|c| {
        numeric_id_for_number_field(c, id)
            .map_err(|e| p.push(e))
            .is_ok()
    });
    let fields = fields(std::mem::take(&mut wire.fields), p);
    let parent_key = p.take(parent_key(wire.parent_key));
    let links = links(wire.links, p);
    let group_repeats = p.take(flag(&wire.group_repeats, "group_repeats", false));
    Some(Destination {
        site: site?,
        email: email?,
        api_token_secret: api_token_secret?,
        project_key: project_key?,
        issue_type: issue_type?.unwrap_or_else(|| "Task".to_string()),
        priority: priority?,
        labels: labels?,
        timeout: timeout?,
        api_version: api_version?,
        custom_fields: custom_fields?,
        fields: fields?,
        parent_key: parent_key?,
        links: links?,
        group_repeats: group_repeats?,
        lifecycle: lifecycle?,
    })
}

/// The section 10 fields; `None` when one was bad (its problem recorded).
fn lifecycle(wire: &WireDestination, p: &mut Problems) -> Option<Lifecycle> {
    let resolve_when_clear = p.take(flag(&wire.resolve_when_clear, "resolve_when_clear", false));
    let resolve_transition = p.take(transition(&wire.resolve_transition));
    let reopen_within_hours = p.take(whole_number(
        &wire.reopen_within_hours,
        "reopen_within_hours",
        0..=8_760,
        "set a whole number of hours from 0 (never reopen, the default) to 8760 (a year)",
    ));
    let max_issues_per_hour = p.take(whole_number(
        &wire.max_issues_per_hour,
        "max_issues_per_hour",
        1..=50,
        "set a whole number from 1 to 50, or leave it out for no limit",
    ));
    Some(Lifecycle {
        resolve_when_clear: resolve_when_clear?,
        resolve_transition: resolve_transition?,
        reopen_within_hours: reopen_within_hours?.unwrap_or(0),
        max_issues_per_hour: max_issues_per_hour?,
    })
}

/// A transition name or id: a non-empty string, or a whole number (an id).
fn transition(field: &Field<Value>) -> Result<Option<String>, Problem> {
    const FIX: &str = "set destination.resolve_transition to a transition name (e.g. \"Done\") or id (e.g. \"31\") of the project's workflow, or leave it out to use the first transition into a Done status";
    let problem = |what: String| Err(Problem::new("destination.resolve_transition", what, FIX));
    match field {
        Field::Absent => Ok(None),
        Field::Given(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => {
            Ok(Some(s.trim().to_string()))
        }
        Field::Given(Value::String(_)) => {
            problem("must be a name or id of 1 to 255 characters".into())
        }
        Field::Given(Value::Number(n)) if n.as_u64().is_some() => Ok(Some(n.to_string())),
        Field::Given(other) => problem(format!(
            "must be a transition name or id, got {}",
            super::wire::type_name(other)
        )),
        Field::Wrong(found) => problem(format!("must be a transition name or id, got {found}")),
    }
}

/// A whole number in `range`, `None` when absent.
fn whole_number(
    field: &Field<serde_json::Number>,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
    fix: &str,
) -> Result<Option<u32>, Problem> {
    let path = format!("destination.{key}");
    match field {
        Field::Absent => Ok(None),
        Field::Wrong(found) => Err(Problem::new(
            path,
            format!("must be a number, got {found}"),
            fix,
        )),
        Field::Given(n) => match n.as_u64() {
            Some(v) if v <= u64::from(*range.end()) && v >= u64::from(*range.start()) => {
                Ok(Some(v as u32))
            }
            Some(_) => Err(Problem::new(path, format!("{n} is out of range"), fix)),
            None => Err(Problem::new(
                path,
                format!("{n} is not a whole number"),
                fix,
            )),
        },
    }
}

/// An unknown key is refused, with the field probably meant.
fn unknown_keys(unknown: &BTreeMap<String, IgnoredAny>, p: &mut Problems) {
    for key in unknown.keys().filter(|k| !is_inline_credential(k)) {
        let (problem, fix) = match closest(key, &DESTINATION_FIELDS) {
            Some(meant) => (
                format!("is not a destination field; did you mean {meant}?"),
                format!("rename it to {meant}"),
            ),
            None => (
                "is not a destination field".to_string(),
                format!(
                    "remove it; the destination fields are {}",
                    DESTINATION_FIELDS.join(", ")
                ),
            ),
        };
        p.push(Problem::new(key_path("destination", key), problem, fix));
    }
}

/// `true`/`false` only: a string "false" would otherwise read as true somewhere.
pub fn flag(field: &Field<bool>, key: &str, default: bool) -> Result<bool, Problem> {
    match field {
        Field::Absent => Ok(default),
        Field::Given(b) => Ok(*b),
        Field::Wrong(found) => Err(Problem::new(
            format!("destination.{key}"),
            format!("must be true or false, got {found}"),
            format!("set destination.{key} to true or false (JSON booleans, not strings)"),
        )),
    }
}

fn required(field: Field<String>, key: &str, fix: &str) -> Result<String, Problem> {
    optional(field, key, fix)?.ok_or_else(|| {
        Problem::new(
            format!("destination.{key}"),
            "is required but missing or empty",
            fix,
        )
    })
}

/// Parsed once here; nothing downstream parses the URL again.
fn site(field: Field<String>) -> Result<JiraSite, Problem> {
    let raw = required(
        field,
        "instance_url",
        "set destination.instance_url to your Jira base URL, e.g. https://your-domain.atlassian.net",
    )?;
    hosts::normalize("destination.instance_url", &raw)
        .map_err(|e| Problem::new(e.field, e.problem, e.fix))
}

fn project_key(field: Field<String>) -> Result<String, Problem> {
    let key = required(
        field,
        "project_key",
        "set destination.project_key to the project's key, e.g. SEC",
    )?;
    if !is_project_key(&key) {
        return Err(Problem::new(
            "destination.project_key",
            format!("{} is not a Jira project key", quote(&key)),
            "use the key shown in the project's URL or settings: upper-case letters, digits and _, starting with a letter (keys are case-sensitive), e.g. SEC",
        ));
    }
    Ok(key)
}

/// A Secrets Manager secret name or ARN, within the service's limits.
fn secret_id(field: Field<String>) -> Result<String, Problem> {
    const NAME: &str = "destination.api_token_secret";
    const FIX: &str = "set destination.api_token_secret to the name or ARN of the Secrets Manager secret that holds the Jira API token";
    let id = required(field, "api_token_secret", FIX)?;
    let length = id.chars().count();
    if length > MAX_SECRET_ID {
        let problem =
            format!("is {length} characters long; a secret id has at most {MAX_SECRET_ID}");
        return Err(Problem::new(NAME, problem, FIX));
    }
    let is_arn = id.starts_with("arn:");
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c) || (is_arn && c == ':');
    if let Some(bad) = id.chars().find(|&c| !allowed(c)) {
        let problem = format!("contains {bad:?}, which a secret name or ARN cannot hold");
        let fix = "use letters, digits and /_+=.@- (and : in an ARN) only; copy the name or ARN from the Secrets Manager console";
        return Err(Problem::new(NAME, problem, fix));
    }
    if is_arn {
        check_arn(&id)?;
    }
    Ok(id)
}

/// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
fn check_arn(arn: &str) -> Result<(), Problem> {
    const NAME: &str = "destination.api_token_secret";
    const FIX: &str = "copy the ARN from the Secrets Manager console, e.g. arn:aws:secretsmanager:us-east-1:111122223333:secret:jira/secops-AbCdEf";
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let region = match parts[..] {
        ["arn", partition, "secretsmanager", region, account, "secret", name]
            if !partition.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && !name.is_empty()
                && !name.contains(':') =>
        {
            region
        }
        _ => {
            let problem = "is not a Secrets Manager secret ARN (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME)";
            return Err(Problem::new(NAME, problem, FIX));
        }
    };
    if !is_region(region) {
        let problem = format!(
            "the ARN's region {} is not an AWS region name",
            quote(region)
        );
        return Err(Problem::new(NAME, problem, FIX));
    }
    Ok(())
}

/// `^[a-z]{2}(-[a-z]+)+-\d+$`, e.g. `us-east-1`, `us-gov-west-1`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    match parts.as_slice() {
        [first, middle @ .., last] if !middle.is_empty() => {
            first.len() == 2
                && lower(first)
                && middle.iter().all(lower)
                && !last.is_empty()
                && last.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// Whole seconds, 1 to 300.
fn timeout(field: Field<serde_json::Number>) -> Result<Duration, Problem> {
    const FIX: &str = "set a whole number of seconds from 1 to 300 (default 30)";
    let n = match field {
        Field::Absent => return Ok(Duration::from_secs(30)),
        Field::Given(n) => n,
        Field::Wrong(found) => {
            let problem = format!("must be a number of seconds, got {found}");
            return Err(Problem::new("destination.timeout", problem, FIX));
        }
    };
    match n.as_f64() {
        Some(secs) if secs.fract() != 0.0 => Err(Problem::new(
            "destination.timeout",
            format!("{n} is not a whole number of seconds"),
            FIX,
        )),
        Some(secs) if (1.0..=300.0).contains(&secs) => Ok(Duration::from_secs(secs as u64)),
        _ => Err(Problem::new(
            "destination.timeout",
            format!("{n} is out of range"),
            FIX,
        )),
    }
}

fn api_version(field: Field<Value>) -> Result<ApiVersion, Problem> {
    let value = match field {
        Field::Absent => return Ok(ApiVersion::Auto),
        Field::Given(v) => v,
        // Any JSON is a Value; kept for completeness.
        Field::Wrong(found) => Value::String(found.to_string()),
    };
    let text = match &value {
        Value::String(s) => Some(s.trim().to_string()),
        other => other.as_u64().map(|n| n.to_string()),
    };
    match text.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("auto") || s.is_empty() => Ok(ApiVersion::Auto),
        Some("2") => Ok(ApiVersion::V2),
        Some("3") => Ok(ApiVersion::V3),
        _ => Err(Problem::new(
            "destination.api_version",
            format!(
                "{} is not a supported API version",
                quote(&value.to_string())
            ),
            "use \"auto\" (detect), \"3\" (Jira Cloud) or \"2\" (Jira Server/Data Center)",
        )),
    }
}

fn parent_key(field: Field<String>) -> Result<Option<String>, Problem> {
    const FIX: &str = "set destination.parent_key to an issue key, e.g. SEC-1";
    let key = optional(field, "parent_key", FIX)?;
    match key {
        Some(k) if !is_issue_key(&k) => Err(Problem::new(
            "destination.parent_key",
            format!("{} is not an issue key", quote(&k)),
            "use an issue key such as SEC-1",
        )),
        key => Ok(key),
    }
}
