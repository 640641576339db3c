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
//! (as real Jira rewrites them); `serverInfo.baseUrl` stays the site's. The checks are
//! `auth::gateway_caller`'s; the routes, `routes::gateway`.

use crate::auth;
use crate::errors::{gateway_error, not_found as jira_not_found};
use crate::extract::{App, CloudId, RawPath};
use crate::flavor::Flavor;
use crate::oauth;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A path (or a method on it) the gateway does not serve.
pub(crate) async fn not_found() -> Response {
    gateway_error(StatusCode::NOT_FOUND, "Not Found")
}

/// Before any route: a Server/DC fake's gateway answers 404 to everything.
pub(crate) async fn cloud_only(State(app): State<App>, req: Request, next: Next) -> Response {
    let flavor = app.lock().config.flavor;
    match flavor {
        Flavor::Cloud => next.run(req).await,
        Flavor::Server => not_found().await,
    }
}

/// `POST /oauth/token` (`auth.atlassian.com`).
pub(crate) async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = app.lock();
    let s = &mut *s;
    s.token_requests += 1;
    let (clients, lifetime) = (&s.config.oauth_clients, s.config.token_lifetime);
    oauth::token(clients, lifetime, &mut s.tokens, &headers, &body)
}

/// `/ex/jira/{cloudId}/...` outside `rest/api/{version}/`: the gateway's checks, then
/// Jira's 404.
pub(crate) async fn elsewhere(
    State(app): State<App>,
    RawPath(site): RawPath<CloudId>,
    headers: HeaderMap,
) -> Response {
    let s = app.lock();
    match auth::gateway_caller(&s, &site.cloud_id, &headers, None) {
        Ok(_) => jira_not_found(s.config.flavor),
        Err(refusal) => refusal.into_response(),
    }
}
