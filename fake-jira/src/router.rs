//! Which handler answers a request: method and path (and, where Jira reads it, the query).

use crate::{authenticated_user, jira_error, meta, page, rules, secrets, Flavor, State};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub(crate) fn route(
    s: &mut State,
    addr: SocketAddr,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if path == "/" && method == Method::POST && headers.contains_key("x-amz-target") {
        return secrets::secrets_manager(s, headers, body);
    }
    if path == "/" && method == Method::GET {
        return page::render(s);
    }
    if let (Some(key), &Method::GET) = (path.strip_prefix("/browse/"), method) {
        return page::render_issue(s, key);
    }
    if path == "/_fake/issues" && method == Method::GET {
        let issues: Vec<Value> = s
            .issues
            .iter()
            .map(|i| json!({"key": i.key, "api": i.api, "fields": i.fields, "comments": i.comments.len()}))
            .collect();
        return axum::Json(issues).into_response();
    }
    let flavor = s.config.flavor;
    let (api, rest) = match path.strip_prefix("/rest/api/") {
        Some(r) => match r.split_once('/') {
            Some(("2", rest)) => (2u8, rest),
            Some(("3", rest)) if flavor == Flavor::Cloud => (3u8, rest),
            _ => return not_found(flavor),
        },
        None => return not_found(flavor),
    };
    if rest == "serverInfo" && method == Method::GET {
        let deployment = match flavor {
            Flavor::Cloud => "Cloud",
            Flavor::Server => "Server",
        };
        return axum::Json(json!({
            "baseUrl": format!("http://{addr}"),
            "version": if flavor == Flavor::Cloud { "1001.0.0-SNAPSHOT" } else { "9.12.2" },
            "deploymentType": deployment,
            "serverTitle": "Fake Jira",
        }))
        .into_response();
    }
    let Some(user) = authenticated_user(s, headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})),
        )
            .into_response();
    };
    let parsed: Result<Value, _> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(body)
    };
    let Ok(json_body) = parsed else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["Unexpected character: the request body is not valid JSON."],
            &BTreeMap::new(),
        );
    };
    match (method.as_str(), rest) {
        ("GET", "myself") => {
            axum::Json(json!({"name": user, "emailAddress": user, "active": true})).into_response()
        }
        ("POST", "issue") => rules::create_issue(s, api, &user, &json_body, addr),
        ("GET", "priority") => axum::Json(
            s.config
                .priorities
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"id": (i + 1).to_string(), "name": p}))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        ("GET", "issueLinkType") => axum::Json(json!({"issueLinkTypes": s
            .config
            .link_types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"id": (10_000 + i).to_string(), "name": t, "inward": format!("is {t} by"), "outward": t}))
            .collect::<Vec<_>>()}))
        .into_response(),
        ("GET", r) if r.starts_with("project/") => meta::project(s, &user, &r["project/".len()..]),
        ("GET", r) if r.starts_with("issue/createmeta/") => meta::createmeta(s, &user, &r["issue/createmeta/".len()..]),
        ("GET", r) if r.starts_with("issue/") && !r["issue/".len()..].contains('/') => {
            meta::issue(s, &user, &r["issue/".len()..])
        }
        ("POST", "search/jql") | ("GET", "search/jql") if api == 3 => {
            rules::search(s, &json_body, true)
        }
        ("POST", "search") | ("GET", "search") => {
            if flavor == Flavor::Cloud {
                jira_error(
                    StatusCode::GONE,
                    &["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"],
                    &BTreeMap::new(),
                )
            } else {
                rules::search(s, &json_body, false)
            }
        }
        ("PUT", r) if r.starts_with("issue/") && !r["issue/".len()..].contains('/') => {
            rules::edit_issue(s, &r["issue/".len()..], &json_body)
        }
        ("POST", r) if r.starts_with("issue/") && r.ends_with("/comment") => {
            let key = &r["issue/".len()..r.len() - "/comment".len()];
            rules::add_comment(s, api, key, &json_body)
        }
        _ => not_found(flavor),
    }
}

pub(crate) fn not_found(flavor: Flavor) -> Response {
    match flavor {
        Flavor::Cloud => jira_error(StatusCode::NOT_FOUND, &["null for uri"], &BTreeMap::new()),
        Flavor::Server => (
            StatusCode::NOT_FOUND,
            "<html><body>Oops, you've found a dead link.</body></html>",
        )
            .into_response(),
    }
}
