//! Who is calling. The site: Basic with a classic API token or a password, or (Server/DC) a
//! personal access token. The gateway: the cloud id in its path, then `Bearer <access
//! token>` from `/oauth/token` or `Basic email:<scoped API token>` (never a classic API
//! token), then the operation's scopes (see `gateway.rs` for its answers).

use crate::errors::gateway_error;
use crate::flavor::Flavor;
use crate::oauth;
use crate::scopes;
use crate::state::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

/// `Basic` credentials: (user, secret).
fn basic(auth: &str) -> Option<(String, String)> {
    let b64 = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.to_string(), secret.to_string()))
}

/// The user the site's credentials stand for.
pub(crate) fn site_user(state: &State, headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    if auth.starts_with("Basic ") {
        let (user, token) = basic(auth)?;
        return (state.config.users.get(&user) == Some(&token)).then_some(user);
    }
    if let Some(pat) = auth.strip_prefix("Bearer ") {
        return (state.config.flavor == Flavor::Server
            && state.config.personal_tokens.iter().any(|t| t == pat.trim()))
        .then(|| "pat-user".to_string());
    }
    None
}

/// The user a gateway credential stands for, with its scopes.
fn gateway_credentials(s: &State, headers: &HeaderMap) -> Option<(String, Vec<String>)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return oauth::bearer(&s.tokens, &s.config.oauth_clients, token.trim());
    }
    let (email, token) = basic(auth)?;
    let scoped = s.config.scoped_tokens.get(&email)?;
    (scoped.token == token).then(|| (email, scoped.scopes.clone()))
}

/// Why the gateway refuses a call, in the order it checks.
pub(crate) enum Refusal {
    /// The cloud id is not the site's.
    UnknownSite,
    /// No credentials, or ones the gateway does not know (or no longer honours).
    Unauthorized,
    /// The credentials' scopes fall short of the operation's.
    ScopeMismatch,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::UnknownSite => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"errorMessage": "Site temporarily unavailable"})),
            )
                .into_response(),
            Refusal::Unauthorized => gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Refusal::ScopeMismatch => {
                let mut resp = gateway_error(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized; scope does not match",
                );
                resp.headers_mut().insert(
                    "x-failure-category",
                    "FAILURE_CLIENT_SCOPE_CHECK".parse().expect("header value"),
                );
                resp
            }
        }
    }
}

/// The user a gateway call comes from, checked in the gateway's order: the cloud id, the
/// credentials, and (`operation`: the method and the path after `/rest/api/{2,3}/`) the
/// operation's scopes.
pub(crate) fn gateway_caller(
    s: &State,
    cloud_id: &str,
    headers: &HeaderMap,
    operation: Option<(&str, &str)>,
) -> Result<String, Refusal> {
    if cloud_id != s.config.cloud_id {
        return Err(Refusal::UnknownSite);
    }
    let (user, held) = gateway_credentials(s, headers).ok_or(Refusal::Unauthorized)?;
    let need = operation.and_then(|(method, op)| scopes::required(method, op));
    if need.is_some_and(|need| !scopes::satisfied(&need, &held)) {
        return Err(Refusal::ScopeMismatch);
    }
    Ok(user)
}
