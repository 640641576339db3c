//! Issue search: Cloud's `/rest/api/3/search/jql` (token pages, `reconcileIssues`, only
//! the fields asked for) and Server/DC's `/rest/api/2/search` (`startAt`, `total`, every
//! navigable field by default), over the small JQL this fake understands.

use crate::clock::parse_jira_time;
use crate::errors::jira_error;
use crate::issue::{issue_status, Issue};
use crate::state::State;
use crate::workflow::{resolution_json, status_json};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The fields a search (or a GET issue) can return, in Jira's order.
const FIELDS: [&str; 7] = [
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "created",
    "updated",
    "labels",
];

/// One clause of the JQL this fake understands.
#[derive(Debug, PartialEq)]
enum Clause {
    Project(String),
    Label(String),
    /// `statusCategory = x` (true) or `!= x` (false), x a category key.
    Category(bool, String),
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum SortField {
    Created,
    Updated,
    Key,
}

#[derive(Debug, PartialEq)]
struct Query {
    clauses: Vec<Clause>,
    /// The field and whether descending.
    order: (SortField, bool),
}

fn bad(message: &str) -> Response {
    jira_error(StatusCode::BAD_REQUEST, &[message], &BTreeMap::new())
}

fn parse_string(s: &str) -> Option<(String, &str)> {
    let rest = s.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &rest[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// A quoted string, or a bare word.
fn parse_value(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if s.starts_with('"') {
        return parse_string(s);
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (end > 0).then(|| (s[..end].to_string(), &s[end..]))
}

/// A status category named as JQL allows: its name, key or id, any case.
fn category_key(value: &str) -> Option<&'static str> {
    match value.to_ascii_lowercase().as_str() {
        "to do" | "new" | "2" => Some("new"),
        "in progress" | "indeterminate" | "4" => Some("indeterminate"),
        "done" | "complete" | "3" => Some("done"),
        _ => None,
    }
}

fn parse_order(order: &str) -> Result<(SortField, bool), String> {
    let mut words = order.split_whitespace();
    let field = words.next().unwrap_or("");
    let field = match field.to_ascii_lowercase().as_str() {
        "created" => SortField::Created,
        "updated" => SortField::Updated,
        "key" => SortField::Key,
        _ => {
            return Err(format!(
                "Field '{field}' does not exist or you do not have permission to view it."
            ))
        }
    };
    let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(format!(
                "Error in the JQL Query: Expecting either 'ASC' or 'DESC' but got '{other}'."
            ))
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!(
            "Error in the JQL Query: Expecting either 'ASC' or 'DESC' but got '{extra}'."
        ));
    }
    Ok((field, descending))
}

/// Parses `project = "x" AND labels = "y" [AND statusCategory (=|!=) Done]
/// [ORDER BY created|updated|key [ASC|DESC]]`; without ORDER BY, newest first.
fn parse_jql(jql: &str) -> Result<Query, String> {
    let upper = jql.to_ascii_uppercase();
    let (body, order) = match upper.find("ORDER BY") {
        Some(i) => (&jql[..i], parse_order(&jql[i + "ORDER BY".len()..])?),
        None => (jql, (SortField::Created, true)),
    };
    let mut clauses = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let field_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '!')
            .unwrap_or(rest.len());
        let field = &rest[..field_end];
        let after = rest[field_end..].trim_start();
        let (equal, after) = if let Some(r) = after.strip_prefix("!=") {
            (false, r)
        } else if let Some(r) = after.strip_prefix('=') {
            (true, r)
        } else {
            return Err(format!(
                "Error in the JQL Query: Expecting operator but got '{after}'."
            ));
        };
        let (value, r) = parse_value(after)
            .ok_or_else(|| "Error in the JQL Query: Expecting a value.".to_string())?;
        match (field, equal) {
            ("project", true) => clauses.push(Clause::Project(value)),
            ("labels", true) => clauses.push(Clause::Label(value)),
            ("statusCategory", _) => {
                let key = category_key(&value).ok_or_else(|| {
                    format!("The value '{value}' does not exist for the field 'statusCategory'.")
                })?;
                clauses.push(Clause::Category(equal, key.to_string()));
            }
            ("project" | "labels", false) => {
                return Err(format!(
                    "The fake understands only '=' on '{field}'; got '!='."
                ))
            }
            (other, _) => {
                return Err(format!(
                    "Field '{other}' does not exist or you do not have permission to view it."
                ))
            }
        }
        rest = r.trim_start();
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix("AND ")
            .or_else(|| rest.strip_prefix("and "))
            .ok_or_else(|| format!("Error in the JQL Query: Expecting 'AND' but got '{rest}'."))?
            .trim_start();
    }
    Ok(Query { clauses, order })
}

fn matches(issue: &Issue, clause: &Clause) -> bool {
    match clause {
        Clause::Project(p) => issue.key.starts_with(&format!("{p}-")),
        Clause::Label(l) => issue
            .fields
            .get("labels")
            .and_then(Value::as_array)
            .is_some_and(|ls| ls.iter().any(|x| x.as_str() == Some(l))),
        Clause::Category(equal, key) => (issue.status_category == *key) == *equal,
    }
}

fn compare(a: &Issue, b: &Issue, field: SortField) -> Ordering {
    let id = |i: &Issue| i.id.parse::<u64>().unwrap_or(0);
    let time = |t: &str| parse_jira_time(t).unwrap_or(0);
    let key = |i: &Issue| {
        let (project, n) = i.key.split_once('-').unwrap_or((&i.key, "0"));
        (project.to_string(), n.parse::<u64>().unwrap_or(0))
    };
    match field {
        SortField::Created => time(&a.created).cmp(&time(&b.created)),
        SortField::Updated => time(&a.updated).cmp(&time(&b.updated)),
        SortField::Key => key(a).cmp(&key(b)),
    }
    .then_with(|| id(a).cmp(&id(b)))
}

/// The fields asked for: `*all`/`*navigable` for every one, `-x` to leave one out, `id`
/// for none; unknown names are ignored, as Jira does. Absent: Cloud returns none (only
/// `id` and `key`), Server/DC every navigable field.
pub(crate) fn requested_fields(body: &Value, cloud: bool) -> Vec<&'static str> {
    let items: Vec<String> = match body.get("fields") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|s| s.trim().to_string()).collect(),
        _ if cloud => return vec![],
        _ => return FIELDS.to_vec(),
    };
    let only_exclusions = items.iter().all(|i| i.starts_with('-'));
    let mut chosen: Vec<&'static str> = if only_exclusions {
        FIELDS.to_vec()
    } else {
        vec![]
    };
    for item in &items {
        if item == "*all" || item == "*navigable" {
            chosen = FIELDS.to_vec();
        } else if let Some(name) = item.strip_prefix('-') {
            chosen.retain(|f| *f != name);
        } else if let Some(f) = FIELDS.iter().find(|f| **f == item) {
            if !chosen.contains(f) {
                chosen.push(f);
            }
        }
    }
    FIELDS
        .iter()
        .copied()
        .filter(|f| chosen.contains(f))
        .collect()
}

/// The `fields` of an issue as Jira shows them, for the names in `which`.
pub(crate) fn issue_fields(
    s: &State,
    issue: &Issue,
    which: &[&str],
    base: &str,
    api: u8,
) -> Map<String, Value> {
    let c = &s.config;
    let mut out = Map::new();
    for name in which {
        let value = match *name {
            "summary" => issue.fields.get("summary").cloned().unwrap_or(Value::Null),
            "status" => status_json(base, api, &issue_status(&c.workflow, issue)),
            "resolution" => match &issue.resolution {
                Some(r) => resolution_json(c.flavor, &c.resolutions, base, api, r),
                None => Value::Null,
            },
            "resolutiondate" => json!(issue.resolutiondate),
            "created" => json!(issue.created),
            "updated" => json!(issue.updated),
            "labels" => issue.fields.get("labels").cloned().unwrap_or(json!([])),
            _ => continue,
        };
        out.insert(name.to_string(), value);
    }
    out
}

/// `reconcileIssues`: at most 50 numeric issue ids; Err holds the error message.
fn reconcile_ids(body: &Value) -> Result<Vec<String>, &'static str> {
    const NOT_IDS: &str = "reconcileIssues must be an array of issue ids (numbers).";
    let Some(v) = body.get("reconcileIssues") else {
        return Ok(vec![]);
    };
    let items = v.as_array().ok_or(NOT_IDS)?;
    if items.len() > 50 {
        return Err("reconcileIssues accepts at most 50 issue ids.");
    }
    items
        .iter()
        .map(|i| i.as_u64().map(|n| n.to_string()).ok_or(NOT_IDS))
        .collect()
}

pub(crate) fn search(s: &mut State, body: &Value, cloud_jql: bool, base: &str) -> Response {
    if cloud_jql {
        // The request bean allows only these properties (OpenAPI: additionalProperties false).
        let allowed = [
            "expand",
            "fields",
            "fieldsByKeys",
            "jql",
            "maxResults",
            "nextPageToken",
            "properties",
            "reconcileIssues",
        ];
        if let Some(obj) = body.as_object() {
            if let Some(name) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
                return bad(&format!("Unrecognized field \"{name}\""));
            }
        }
    }
    let jql = body.get("jql").and_then(Value::as_str).unwrap_or("");
    let query = match parse_jql(jql) {
        Ok(q) => q,
        Err(e) => return bad(&e),
    };
    let reconcile = if cloud_jql {
        match reconcile_ids(body) {
            Ok(ids) => ids,
            Err(e) => return bad(e),
        }
    } else {
        vec![]
    };
    let limit = if cloud_jql { 5000 } else { 1000 };
    let max = body
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(50)
        .min(limit) as usize;
    let start = if cloud_jql {
        match body.get("nextPageToken").and_then(Value::as_str) {
            None => 0,
            Some(t) => match t.strip_prefix("fake-page-").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return bad("The nextPageToken is not valid or has expired."),
            },
        }
    } else {
        body.get("startAt").and_then(Value::as_u64).unwrap_or(0) as usize
    };
    let (field, descending) = query.order;
    let mut found: Vec<&Issue> = s
        .issues
        .iter()
        .filter(|i| i.indexed || reconcile.contains(&i.id))
        .filter(|i| query.clauses.iter().all(|c| matches(i, c)))
        .collect();
    found.sort_by(|a, b| {
        let o = compare(a, b, field);
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    let total = found.len();
    let api = if cloud_jql { 3 } else { 2 };
    let which = requested_fields(body, cloud_jql);
    let issues: Vec<Value> = found
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            json!({
                "id": i.id,
                "key": i.key,
                "self": format!("{base}/rest/api/{api}/issue/{}", i.id),
                "fields": issue_fields(s, i, &which, base, api),
            })
        })
        .collect();
    let more = start + issues.len() < total;
    if cloud_jql {
        let mut answer = json!({"issues": issues, "isLast": !more});
        if more {
            answer["nextPageToken"] = json!(format!("fake-page-{}", start + max));
        }
        axum::Json(answer).into_response()
    } else {
        axum::Json(json!({"startAt": start, "maxResults": max, "total": total, "issues": issues}))
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_queries_parse() {
        let q = parse_jql("project = \"SEC\" AND labels = \"detection-id-7\" AND statusCategory != Done ORDER BY created DESC").unwrap();
        assert_eq!(
            q.clauses,
            [
                Clause::Project("SEC".into()),
                Clause::Label("detection-id-7".into()),
                Clause::Category(false, "done".into()),
            ]
        );
        assert_eq!(q.order, (SortField::Created, true));
        let q = parse_jql("project = SEC AND statusCategory = Done ORDER BY created ASC").unwrap();
        assert_eq!(q.clauses[1], Clause::Category(true, "done".into()));
        assert_eq!(q.order, (SortField::Created, false));
        assert_eq!(
            parse_jql("project = \"SEC\"").unwrap().order,
            (SortField::Created, true)
        );
        assert!(parse_jql("statusCategory = Finished")
            .unwrap_err()
            .contains("does not exist for the field 'statusCategory'"));
        assert!(parse_jql("assignee = \"bob\"").is_err());
        assert!(parse_jql("project = \"SEC\" ORDER BY rank").is_err());
        assert!(parse_jql("project = \"SEC\" ORDER BY created SIDEWAYS").is_err());
    }

    #[test]
    fn fields_follow_the_request() {
        let ask = |v: Value, cloud| requested_fields(&json!({"fields": v}), cloud);
        assert_eq!(ask(json!(["summary"]), true), ["summary"]);
        assert_eq!(
            ask(json!(["labels", "status,resolution"]), true),
            ["status", "resolution", "labels"]
        );
        assert_eq!(ask(json!(["*all", "-labels"]), true).len(), 6);
        assert_eq!(ask(json!(["-summary"]), true).len(), 6);
        assert_eq!(ask(json!(["id"]), true), Vec::<&str>::new());
        assert!(requested_fields(&json!({}), true).is_empty());
        assert_eq!(requested_fields(&json!({}), false).len(), 7);
    }
}
