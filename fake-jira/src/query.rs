//! The query string as Jira reads it: parameters in order, list parameters split at commas,
//! and a `GET` search's parameters as the body its `POST` form would carry.

use axum::extract::Query;
use axum::http::Uri;
use serde_json::Value;

/// The query string's parameters, in order (a name may come more than once).
pub(crate) type Params = Vec<(String, String)>;

/// The query string's parameters.
pub(crate) fn params(uri: &Uri) -> Params {
    Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

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
pub(crate) fn search_body(query: &Params, cloud_jql: bool) -> Value {
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
