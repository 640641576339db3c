//! The handlers of Jira's REST API (`/rest/api/{2,3}/...`, on the site and through the
//! gateway): each checks its call (`Call::answer`) and hands it to the operation.

use crate::errors::{jira_error, not_found};
use crate::extract::{Call, Caller, Key, RawPath, Rest};
use crate::flavor::Flavor;
use crate::query::search_body;
use crate::state::State;
use crate::{comments, meta, rules, search, transitions};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// `GET serverInfo`: the one anonymous operation.
pub(crate) async fn server_info(call: Call) -> Response {
    call.answer_anonymously(|s, site| {
        let flavor = s.config.flavor;
        let deployment = match flavor {
            Flavor::Cloud => "Cloud",
            Flavor::Server => "Server",
        };
        axum::Json(json!({
            "baseUrl": format!("http://{site}"),
            "version": if flavor == Flavor::Cloud { "1001.0.0-SNAPSHOT" } else { "9.12.2" },
            "deploymentType": deployment,
            "serverTitle": "Fake Jira",
        }))
        .into_response()
    })
}

/// Any other path or method below the version: checked like every call, then Jira's 404.
pub(crate) async fn unmatched(call: Call) -> Response {
    call.answer(|s, _| not_found(s.config.flavor))
}

pub(crate) async fn myself(call: Call) -> Response {
    call.answer(|_, c| {
        axum::Json(json!({"name": c.user, "emailAddress": c.user, "active": true})).into_response()
    })
}

pub(crate) async fn priorities(call: Call) -> Response {
    call.answer(|s, _| {
        let priorities = s.config.priorities.iter().enumerate();
        let list: Vec<_> = priorities
            .map(|(i, p)| json!({"id": (i + 1).to_string(), "name": p}))
            .collect();
        axum::Json(list).into_response()
    })
}

pub(crate) async fn link_types(call: Call) -> Response {
    call.answer(|s, _| {
        axum::Json(json!({"issueLinkTypes": s
            .config
            .link_types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"id": (10_000 + i).to_string(), "name": t, "inward": format!("is {t} by"), "outward": t}))
            .collect::<Vec<_>>()}))
        .into_response()
    })
}

pub(crate) async fn my_permissions(call: Call) -> Response {
    call.answer(|s, c| meta::my_permissions(s, &c.user, &c.query))
}

pub(crate) async fn project(RawPath(p): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| meta::project(s, &c.user, &p.key))
}

pub(crate) async fn project_statuses(RawPath(p): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| meta::project_statuses(s, c.api, &c.user, &p.key, &c.base))
}

pub(crate) async fn create_issue(call: Call) -> Response {
    call.answer(|s, c| rules::create_issue(s, c.api, &c.user, &c.body, &c.base))
}

pub(crate) async fn issue(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| meta::issue(s, c.api, &c.user, &i.key, &c.query, &c.base))
}

pub(crate) async fn edit_issue(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| rules::edit_issue(s, &i.key, &c.body))
}

/// `issue/createmeta/{project}/issuetypes/{issueTypeId}`, read by `meta::createmeta`
/// (which answers Jira's 404 to any other shape).
pub(crate) async fn createmeta(RawPath(r): RawPath<Rest>, call: Call) -> Response {
    call.answer(|s, c| meta::createmeta(s, &c.user, &r.rest, &c.query))
}

pub(crate) async fn transitions(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| transitions::list(s, c.api, &c.user, &i.key, &c.query, &c.base))
}

pub(crate) async fn transition(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| transitions::apply(s, c.api, &c.user, &i.key, &c.body))
}

pub(crate) async fn comments(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| comments::list_comments(s, &i.key, &c.query))
}

pub(crate) async fn add_comment(RawPath(i): RawPath<Key>, call: Call) -> Response {
    call.answer(|s, c| comments::add_comment(s, c.api, &i.key, &c.body))
}

/// `POST search`: Server/DC's search; gone from Cloud.
pub(crate) async fn search(call: Call) -> Response {
    call.answer(classic_search)
}

/// `GET search?jql=...`: without a body, the query stands for it.
pub(crate) async fn search_by_query(call: Call) -> Response {
    call.answer(|s, c| classic_search(s, by_query(c, false)))
}

/// `POST search/jql`: Cloud's search (REST v3 only).
pub(crate) async fn search_jql(call: Call) -> Response {
    call.answer(jql_search)
}

/// `GET search/jql?jql=...`: without a body, the query stands for it.
pub(crate) async fn search_jql_by_query(call: Call) -> Response {
    call.answer(|s, c| jql_search(s, by_query(c, true)))
}

/// A `GET` search's body: the one sent, or else the query's parameters.
fn by_query(mut c: Caller, cloud_jql: bool) -> Caller {
    if c.body.is_null() {
        c.body = search_body(&c.query, cloud_jql);
    }
    c
}

fn classic_search(s: &mut State, c: Caller) -> Response {
    match s.config.flavor {
        Flavor::Cloud => jira_error(
            StatusCode::GONE,
            &["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"],
            &BTreeMap::new(),
        ),
        Flavor::Server => search::search(s, &c.body, false, &c.base),
    }
}

fn jql_search(s: &mut State, c: Caller) -> Response {
    match c.api {
        3 => search::search(s, &c.body, true, &c.base),
        _ => not_found(s.config.flavor),
    }
}
