//! The Atlassian gateway listener (Cloud only; a Server/DC fake's gateway answers 404 to
//! everything): `POST /oauth/token` (`auth.atlassian.com`, see `oauth.rs`) and
//! `/ex/jira/{cloudId}/rest/api/{2,3}/...` (`api.atlassian.com`): the site's REST API,
//! authenticated by `Bearer <access token>` from `/oauth/token` or `Basic email:<scoped API
//! token>` (never a classic API token), with the operation's scopes checked first.
//!
//! Answers of its own, and how sure they are:
//! - scopes short of the operation's: 401 `{"code": 401, "message": "Unauthorized; scope
//!   does not match"}` with `X-Failure-Category: FAILURE_CLIENT_SCOPE_CHECK`: real
//!   (verbatim in users' reports of api.atlassian.com);
//! - unknown cloud id: 404 `{"errorMessage": "Site temporarily unavailable"}`: real text for
//!   a site that does not exist; that the gateway answers it for an unknown cloud id is an
//!   assumption;
//! - no, unknown or expired credentials (a classic API token included): 401 `{"code": 401,
//!   "message": "Unauthorized"}`: the gateway's body shape, this message assumed;
//! - any other path (`/rest/api/3/...` without the prefix, say): 404 `{"code": 404,
//!   "message": "Not Found"}`: invented.
//!
//! Through the gateway, `self` links point at `{gateway}/ex/jira/{cloudId}/rest/api/...`
//! (as real Jira rewrites them); `serverInfo.baseUrl` stays the site's.

use crate::router::{self, Site};
use crate::{oauth, scopes, Flavor, State};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use std::net::SocketAddr;

fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn unauthorized() -> Response {
    gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized")
}

/// The user a gateway credential stands for, with its scopes.
fn credentials(s: &State, headers: &HeaderMap) -> Option<(String, Vec<String>)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return oauth::bearer(s, token.trim());
    }
    let b64 = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (email, token) = text.split_once(':')?;
    let scoped = s.config.scoped_tokens.get(email)?;
    (scoped.token == token).then(|| (email.to_string(), scoped.scopes.clone()))
}

/// A request on the gateway listener. `site` is the site's address, `own` the gateway's.
pub(crate) fn route(
    s: &mut State,
    site: SocketAddr,
    own: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let not_found = || gateway_error(StatusCode::NOT_FOUND, "Not Found");
    if s.config.flavor != Flavor::Cloud {
        return not_found();
    }
    let path = uri.path();
    if path == "/oauth/token" && method == Method::POST {
        return oauth::token(s, headers, body);
    }
    let Some(rest) = path.strip_prefix("/ex/jira/") else {
        return not_found();
    };
    let (cloud_id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if cloud_id != s.config.cloud_id {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errorMessage": "Site temporarily unavailable"})),
        )
            .into_response();
    }
    let Some((user, held)) = credentials(s, headers) else {
        return unauthorized();
    };
    let tail = format!("/{tail}");
    let operation = tail
        .strip_prefix("/rest/api/")
        .and_then(|r| r.split_once('/'))
        .filter(|(version, _)| matches!(*version, "2" | "3"))
        .map(|(_, op)| op);
    if let Some(need) = operation.and_then(|op| scopes::required(method.as_str(), op)) {
        if !scopes::satisfied(&need, &held) {
            let mut resp = gateway_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized; scope does not match",
            );
            resp.headers_mut().insert(
                "x-failure-category",
                "FAILURE_CLIENT_SCOPE_CHECK".parse().expect("header value"),
            );
            return resp;
        }
    }
    let base = format!("http://{own}/ex/jira/{cloud_id}");
    let site = Site {
        addr: site,
        base: &base,
    };
    let query = router::params(uri);
    router::rest_api(s, site, method, &tail, &query, headers, body, Some(user))
}
