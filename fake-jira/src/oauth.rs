//! `auth.atlassian.com/oauth/token` for a service account's OAuth 2.0 credential (client
//! credentials grant), the access tokens it issues, and the test hooks on them.
//!
//! Answers, and how sure they are:
//! - 200 `{"access_token", "expires_in", "token_type": "Bearer", "scope"}`: the documented
//!   shape (`expires_in` typically 3600); the token here is random and opaque, not a JWT;
//! - unknown client or wrong secret: 401 `{"error": "access_denied", "error_description":
//!   "Unauthorized"}`: Auth0's verbatim answer to a bad client credentials pair
//!   (`auth.atlassian.com` runs on Auth0); not seen from Atlassian itself, and one client
//!   library claims Atlassian answers 400 `invalid_client` for an unknown client;
//! - a `scope` parameter: 400 `invalid_scope` (a service account's scopes are fixed on its
//!   credential; reported by the n8n client, not by Atlassian), description invented;
//! - no `grant_type`, or another grant: 400 `unsupported_grant_type` (`Unsupported grant
//!   type: X` follows Auth0's wording; the description for a missing one is invented);
//!   no `client_id`: 400 `invalid_request`, invented; the service account has no access to
//!   the Jira app (`FakeJira::revoke_app`): 403 `unauthorized_client`, invented (real
//!   Atlassian may well issue the token and refuse it at the gateway instead).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// A service account's OAuth 2.0 credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    /// Chosen when the credential is created (classic or granular Jira scopes).
    pub scopes: Vec<String>,
    /// The service account as Jira sees it (`myself`, and permission lists such as
    /// `Config::read_only_users`).
    pub account: String,
    /// False when the service account has no access to the Jira app (`revoke_app`).
    pub jira_access: bool,
}

impl OAuthClient {
    /// A credential with access to Jira; its account is `{client_id}@serviceaccount.atlassian.com`.
    pub fn new(client_id: &str, client_secret: &str, scopes: &[&str]) -> OAuthClient {
        OAuthClient {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            account: format!("{client_id}@serviceaccount.atlassian.com"),
            jira_access: true,
        }
    }
}

/// A scoped API token (`Config::scoped_tokens`, by email): gateway only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedToken {
    pub token: String,
    pub scopes: Vec<String>,
}

impl ScopedToken {
    pub fn new(token: &str, scopes: &[&str]) -> ScopedToken {
        ScopedToken {
            token: token.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    pub(crate) client_id: String,
    pub(crate) expires_at: Instant,
}

/// Who a Bearer access token stands for, with its scopes: None when it is unknown, expired,
/// or its credential is gone or has lost access to Jira.
pub(crate) fn bearer(
    tokens: &[IssuedToken],
    clients: &[OAuthClient],
    token: &str,
) -> Option<(String, Vec<String>)> {
    let issued = tokens.iter().find(|t| t.token == token)?;
    if Instant::now() >= issued.expires_at {
        return None;
    }
    let client = clients
        .iter()
        .find(|c| c.client_id == issued.client_id && c.jira_access)?;
    Some((client.account.clone(), client.scopes.clone()))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [("cache-control", "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` into name -> value (the last one wins).
fn form(body: &[u8]) -> Option<BTreeMap<String, String>> {
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The request's parameters, from a JSON or a form body.
fn parameters(headers: &HeaderMap, body: &Bytes) -> Option<BTreeMap<String, String>> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return form(body);
    }
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
    )
}

/// `POST /oauth/token`: a client credentials grant for one of `clients`, its token (living
/// `lifetime`) added to `tokens`.
pub(crate) fn token(
    clients: &[OAuthClient],
    lifetime: Duration,
    tokens: &mut Vec<IssuedToken>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some(p) = parameters(headers, body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be JSON or application/x-www-form-urlencoded",
        );
    };
    let get = |name: &str| p.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match get("grant_type") {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Missing required parameter: grant_type",
            )
        }
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            )
        }
    }
    let Some(client_id) = get("client_id") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: client_id",
        );
    };
    let secret = get("client_secret").unwrap_or("");
    let Some(client) = clients
        .iter()
        .find(|c| c.client_id == client_id && c.client_secret == secret)
        .cloned()
    else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    if get("scope").is_some() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "A service account's scopes are set on its credential; do not send scope",
        );
    }
    if !client.jira_access {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "The service account has no access to any Atlassian app",
        );
    }
    let access_token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(64)
        .collect();
    tokens.push(IssuedToken {
        token: access_token.clone(),
        client_id: client.client_id.clone(),
        expires_at: Instant::now() + lifetime,
    });
    (
        StatusCode::OK,
        [("cache-control", "no-store")],
        axum::Json(json!({
            "access_token": access_token,
            "expires_in": lifetime.as_secs(),
            "token_type": "Bearer",
            "scope": client.scopes.join(" "),
        })),
    )
        .into_response()
}
