//! `GET` and `POST /issue/{key}/transitions`: the transitions open from an issue's status,
//! and taking one, with the resolution on its screen checked as Jira checks it.

use crate::clock::jira_now;
use crate::comments::comment_error;
use crate::errors::{jira_error, no_such_issue};
use crate::flavor::Flavor;
use crate::issue::{issue_status, Comment};
use crate::lookup::{blind, issue_index, issue_mut, may_transition};
use crate::query::{param, Params};
use crate::state::State;
use crate::workflow::{resolution_id, status_json, Transition};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The transitions `user` may take on the issue at `index`, in workflow order.
fn offered<'a>(s: &'a State, user: &str, index: usize) -> Vec<&'a Transition> {
    if !may_transition(s, user) {
        return vec![];
    }
    let status = &s.issues[index].status;
    s.config.workflow.available_from(status).collect()
}

/// The transition screen's fields, as `expand=transitions.fields` shows them.
fn screen_fields(s: &State, t: &Transition, base: &str, api: u8) -> Value {
    let mut fields = Map::new();
    if let Some(required) = t.screen_resolution {
        let c = &s.config;
        let allowed: Vec<Value> = c
            .resolutions
            .iter()
            .map(|r| {
                let id = resolution_id(c.flavor, &c.resolutions, r).unwrap_or_default();
                json!({"self": format!("{base}/rest/api/{api}/resolution/{id}"), "id": id, "name": r})
            })
            .collect();
        let mut meta = json!({
            "required": required,
            "schema": {"type": "resolution", "system": "resolution"},
            "name": "Resolution",
            "hasDefaultValue": false,
            "operations": ["set"],
            "allowedValues": allowed,
        });
        // Cloud names the field `key`; Server/DC's FieldMetaBean calls it `fieldId`.
        let id_name = match c.flavor {
            Flavor::Cloud => "key",
            Flavor::Server => "fieldId",
        };
        meta[id_name] = json!("resolution");
        fields.insert("resolution".into(), meta);
    }
    Value::Object(fields)
}

pub(crate) fn list(
    s: &State,
    api: u8,
    user: &str,
    key: &str,
    query: &Params,
    base: &str,
) -> Response {
    let Some(index) = issue_index(s, key) else {
        return no_such_issue();
    };
    if blind(s, user) {
        return no_such_issue();
    }
    let expand_fields = param(query, "expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "transitions.fields"));
    let only = param(query, "transitionId");
    let wf = &s.config.workflow;
    let transitions: Vec<Value> = offered(s, user, index)
        .into_iter()
        .filter(|t| only.is_none_or(|id| id == t.id))
        .enumerate()
        .map(|(n, t)| {
            let to = wf
                .status(&t.to)
                .cloned()
                .unwrap_or_else(|| issue_status(wf, &s.issues[index]));
            let mut v = json!({"id": t.id, "name": t.name});
            match s.config.flavor {
                Flavor::Cloud => {
                    v["to"] = status_json(base, api, &to);
                    v["hasScreen"] = json!(t.screen_resolution.is_some());
                    v["isGlobal"] = json!(t.is_global());
                    v["isInitial"] = json!(false);
                    v["isAvailable"] = json!(true);
                    v["isConditional"] = json!(false);
                    v["isLooped"] = json!(false);
                }
                Flavor::Server => {
                    v["opsbarSequence"] = json!(10 * (n + 1));
                    v["to"] = status_json(base, api, &to);
                }
            }
            if expand_fields {
                v["fields"] = screen_fields(s, t, base, api);
            }
            v
        })
        .collect();
    axum::Json(json!({"expand": "transitions", "transitions": transitions})).into_response()
}

/// The properties of Jira's IssueUpdateBean.
const BODY_KEYS: [&str; 5] = [
    "transition",
    "fields",
    "update",
    "historyMetadata",
    "properties",
];

/// The transition id of a request: a string or a number, holding an integer.
fn transition_id(body: &Value) -> Option<String> {
    let id = match body.pointer("/transition/id")? {
        Value::String(t) => t.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    id.parse::<i64>().ok().map(|_| id)
}

/// What `fields.resolution` (or `update.resolution[].set`) asks for: Some(None) to clear.
type Asked = Option<Option<String>>;

/// Reads a resolution value (`{"name": ..}` or `{"id": ..}`, or null) against the
/// configured resolutions.
fn read_resolution(s: &State, v: &Value) -> Result<Option<String>, String> {
    let c = &s.config;
    if v.is_null() {
        return Ok(None);
    }
    if let Some(name) = v.get("name").and_then(Value::as_str) {
        return match c.resolutions.iter().find(|r| *r == name) {
            Some(r) => Ok(Some(r.clone())),
            None => Err(format!("Could not find resolution with name '{name}'.")),
        };
    }
    let id = match v.get("id") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("Could not find valid 'id' or 'name' in resolution object.".into()),
    };
    c.resolutions
        .iter()
        .find(|r| resolution_id(c.flavor, &c.resolutions, r).as_deref() == Some(id.as_str()))
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("Could not find resolution with id '{id}'."))
}

pub(crate) fn apply(s: &mut State, api: u8, user: &str, key: &str, body: &Value) -> Response {
    let Some(index) = issue_index(s, key) else {
        return no_such_issue();
    };
    if blind(s, user) {
        return no_such_issue();
    }
    let no_errors = BTreeMap::new();
    let Some(obj) = body.as_object() else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["'transition' identifier must be an integer"],
            &no_errors,
        );
    };
    if let Some(name) = obj.keys().find(|k| !BODY_KEYS.contains(&k.as_str())) {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &[&format!("Unrecognized field \"{name}\"")],
            &no_errors,
        );
    }
    let Some(id) = transition_id(body) else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["'transition' identifier must be an integer"],
            &no_errors,
        );
    };
    let Some(transition) = offered(s, user, index)
        .into_iter()
        .find(|t| t.id == id)
        .cloned()
    else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &[&format!(
                "Transition id '{id}' is not valid for this issue."
            )],
            &no_errors,
        );
    };
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let cannot_set = |field: &str| {
        format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
    };
    let on_screen = transition.screen_resolution.is_some();
    let mut asked: Asked = None;
    let mut ask = |errors: &mut BTreeMap<String, String>, v: &Value| {
        if !on_screen {
            errors.insert("resolution".into(), cannot_set("resolution"));
            return;
        }
        match read_resolution(s, v) {
            Ok(r) => asked = Some(r),
            Err(e) => {
                errors.insert("resolution".into(), e);
            }
        }
    };
    let fields = body.get("fields").and_then(Value::as_object);
    for (name, value) in fields.into_iter().flatten() {
        if name == "resolution" {
            ask(&mut errors, value);
        } else {
            errors.insert(name.clone(), cannot_set(name));
        }
    }
    let mut comments = Vec::new();
    let update = body.get("update").and_then(Value::as_object);
    for (name, ops) in update.into_iter().flatten() {
        if fields.is_some_and(|f| f.contains_key(name)) {
            errors.insert(
                name.clone(),
                format!("Field '{name}' cannot be set in both 'fields' and 'update'."),
            );
            continue;
        }
        for op in ops.as_array().into_iter().flatten() {
            match (name.as_str(), op.get("add"), op.get("set")) {
                ("comment", Some(add), _) => {
                    let comment = add.get("body").cloned().unwrap_or(Value::Null);
                    match comment_error(api, &comment) {
                        Some(e) => {
                            errors.insert("comment".into(), e);
                        }
                        None => comments.push(comment),
                    }
                }
                ("resolution", _, Some(v)) => ask(&mut errors, v),
                _ => {
                    errors.insert(name.clone(), cannot_set(name));
                }
            }
        }
    }
    // A required resolution missing (or cleared), unless it was refused already.
    let resolution = asked.clone().flatten();
    if transition.screen_resolution == Some(true) && resolution.is_none() {
        errors
            .entry("resolution".into())
            .or_insert_with(|| "Resolution is required.".into());
    }
    if !errors.is_empty() {
        return jira_error(StatusCode::BAD_REQUEST, &[], &errors);
    }
    let wf = &s.config.workflow;
    let target = wf
        .status(&transition.to)
        .cloned()
        .unwrap_or_else(|| issue_status(wf, &s.issues[index]));
    let now = jira_now();
    let issue = issue_mut(s, key).expect("found above");
    issue.move_to(&target, &now);
    if asked.is_some() {
        issue.resolve(resolution, &now);
    } else if target.category == "done" && issue.resolution.is_none() {
        if let Some(r) = &transition.sets_resolution {
            issue.resolve(Some(r.clone()), &now);
        }
    }
    for body in comments {
        issue.comments.push(Comment {
            body,
            created: now.clone(),
        });
    }
    let key = issue.key.clone();
    s.transitions_applied.push((key, transition.id.clone()));
    StatusCode::NO_CONTENT.into_response()
}
