//! Which handler answers a request: method and path (and, where Jira reads it, the query).

use crate::{
    authenticated_user, jira_error, meta, page, rules, search, secrets, sqs, transitions, Flavor,
    State,
};
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The query string's parameters, in order (a name may come more than once).
pub(crate) type Params = Vec<(String, String)>;

/// The first value of parameter `name`.
pub(crate) fn param<'a>(query: &'a Params, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of parameter `name`, each split at commas (Jira's list parameters).
fn list_param(query: &Params, name: &str) -> Option<Vec<Value>> {
    let items: Vec<Value> = query
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(|v| Value::String(v.trim().to_string()))
        .collect();
    (!items.is_empty()).then_some(items)
}

/// `GET .../search[/jql]?...`: the query as the body the POST form would carry (other
/// parameters are ignored, as Jira ignores them).
fn search_body(query: &Params, cloud_jql: bool) -> Value {
    let known: &[&str] = if cloud_jql {
        &[
            "jql",
            "nextPageToken",
            "maxResults",
            "fields",
            "expand",
            "properties",
            "fieldsByKeys",
            "reconcileIssues",
        ]
    } else {
        &[
            "jql",
            "startAt",
            "maxResults",
            "fields",
            "expand",
            "properties",
            "fieldsByKeys",
        ]
    };
    let mut body = serde_json::Map::new();
    for (name, value) in query {
        if !known.contains(&name.as_str()) {
            continue;
        }
        let v = match name.as_str() {
            "fields" | "properties" => match list_param(query, name) {
                Some(list) => Value::Array(list),
                None => continue,
            },
            "reconcileIssues" => Value::Array(
                list_param(query, name)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| {
                        let t = v.as_str().unwrap_or_default();
                        t.parse::<u64>().map(Value::from).unwrap_or(v)
                    })
                    .collect(),
            ),
            "maxResults" | "startAt" => value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(value.clone())),
            _ => Value::String(value.clone()),
        };
        body.insert(name.clone(), v);
    }
    Value::Object(body)
}

/// The query string's parameters.
pub(crate) fn params(uri: &Uri) -> Params {
    Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

/// A request on the site listener.
pub(crate) fn route(
    s: &mut State,
    addr: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path();
    let query = params(uri);
    let base = format!("http://{addr}");
    if path == "/" && method == Method::POST && headers.contains_key("x-amz-target") {
        let sqs = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("AmazonSQS."));
        return match sqs {
            true => sqs::sqs(s, headers, body),
            false => secrets::secrets_manager(s, headers, body),
        };
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
            .map(|i| json!({"key": i.key, "api": i.api, "fields": i.fields, "comments": i.comments.len(), "status": i.status, "resolution": i.resolution}))
            .collect();
        return axum::Json(issues).into_response();
    }
    if path == "/_edge/tenant_info" && method == Method::GET && s.config.flavor == Flavor::Cloud {
        // Anonymous; any credentials sent are ignored (and recorded, like every request).
        return axum::Json(json!({"cloudId": s.config.cloud_id})).into_response();
    }
    let site = Site { addr, base: &base };
    rest_api(s, site, method, path, &query, headers, body, None)
}

/// Where REST answers point: the site's address (`serverInfo.baseUrl`), and the base of
/// `self` links (the site, or `{gateway}/ex/jira/{cloudId}` through the gateway, as real
/// Jira rewrites them).
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) addr: SocketAddr,
    pub(crate) base: &'a str,
}

/// `/rest/api/{2,3}/...`. `caller` is the user the gateway authenticated; None on the site,
/// which authenticates here (Basic with a classic token or password, or a Server/DC PAT).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rest_api(
    s: &mut State,
    site: Site,
    method: &Method,
    path: &str,
    query: &Params,
    headers: &HeaderMap,
    body: &Bytes,
    caller: Option<String>,
) -> Response {
    let (addr, base) = (site.addr, site.base);
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
    let Some(user) = caller.or_else(|| authenticated_user(s, headers)) else {
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
    let Ok(mut json_body) = parsed else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &["Unexpected character: the request body is not valid JSON."],
            &BTreeMap::new(),
        );
    };
    if method == Method::GET && rest.starts_with("search") && json_body.is_null() {
        json_body = search_body(query, rest == "search/jql");
    }
    let segments: Vec<&str> = rest.split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["issue", key, "transitions"]) => {
            return transitions::list(s, api, &user, key, query, base)
        }
        ("POST", ["issue", key, "transitions"]) => {
            return transitions::apply(s, api, &user, key, &json_body)
        }
        ("GET", ["project", key, "statuses"]) => {
            return meta::project_statuses(s, api, &user, key, base)
        }
        ("GET", ["mypermissions"]) => return meta::my_permissions(s, &user, query),
        _ => {}
    }
    match (method.as_str(), rest) {
        ("GET", "myself") => {
            axum::Json(json!({"name": user, "emailAddress": user, "active": true})).into_response()
        }
        ("POST", "issue") => rules::create_issue(s, api, &user, &json_body, base),
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
            meta::issue(s, api, &user, &r["issue/".len()..], query, base)
        }
        ("POST", "search/jql") | ("GET", "search/jql") if api == 3 => {
            search::search(s, &json_body, true, base)
        }
        ("POST", "search") | ("GET", "search") => {
            if flavor == Flavor::Cloud {
                jira_error(
                    StatusCode::GONE,
                    &["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"],
                    &BTreeMap::new(),
                )
            } else {
                search::search(s, &json_body, false, base)
            }
        }
        ("PUT", r) if r.starts_with("issue/") && !r["issue/".len()..].contains('/') => {
            rules::edit_issue(s, &r["issue/".len()..], &json_body)
        }
        ("POST", r) if r.starts_with("issue/") && r.ends_with("/comment") => {
            let key = &r["issue/".len()..r.len() - "/comment".len()];
            rules::add_comment(s, api, key, &json_body)
        }
        ("GET", r) if r.starts_with("issue/") && r.ends_with("/comment") => {
            let key = &r["issue/".len()..r.len() - "/comment".len()];
            rules::list_comments(s, key, query)
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
