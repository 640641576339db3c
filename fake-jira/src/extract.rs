//! What a handler takes from a request: the listener it came in on (`App`, the router's
//! state), its path parameters as sent (`RawPath`), and for Jira's REST API the call,
//! checked as Jira checks every call before its operation (`Call`).

use crate::auth;
use crate::errors::{jira_error, not_found, unauthenticated};
use crate::flavor::Flavor;
use crate::query::{self, Params};
use crate::state::{self, Listener, State};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The router's state: the fake's state, and where this listener sits.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) listener: Listener,
    /// This listener's address.
    pub(crate) own: SocketAddr,
    /// The site's address (its base URL is Jira's `baseUrl`).
    pub(crate) site: SocketAddr,
}

impl App {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        state::lock(&self.state)
    }
}

/// The matched route's parameters, by name, as sent: still percent-encoded, as this fake
/// has always read its paths (axum's `Path` would decode them, and answer a 400 of its own
/// to one that is not UTF-8). Every parameter of the routes is a whole segment, or (`{*name}`)
/// the rest of the path, so the route and the path line up segment by segment.
fn raw_params(route: Option<&MatchedPath>, path: &str) -> Vec<(String, String)> {
    let Some(route) = route else {
        return vec![];
    };
    let sent: Vec<&str> = path.split('/').collect();
    let value = |i: usize| sent.get(i).copied().unwrap_or_default().to_string();
    route
        .as_str()
        .split('/')
        .enumerate()
        .filter_map(|(i, segment)| {
            let name = segment.strip_prefix('{')?.strip_suffix('}')?;
            Some(match name.strip_prefix('*') {
                Some(rest) => (
                    rest.to_string(),
                    sent.get(i..).unwrap_or_default().join("/"),
                ),
                None => (name.to_string(), value(i)),
            })
        })
        .collect()
}

/// What follows `{version}/` in the path (the REST operation, as `scopes` names them).
fn after_version(route: Option<&MatchedPath>, path: &str) -> String {
    let at = route.and_then(|r| r.as_str().split('/').position(|s| s == "{version}"));
    at.map(|i| path.split('/').skip(i + 1).collect::<Vec<_>>().join("/"))
        .unwrap_or_default()
}

/// A route's path parameters as sent (see `raw_params`), read into `T`; a route written with
/// its last segment empty (`/issue/`) gives the parameter it stands for as "".
pub(crate) struct RawPath<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Sync> FromRequestParts<S> for RawPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let params = raw_params(parts.extensions.get::<MatchedPath>(), parts.uri.path());
        let map = params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        serde_json::from_value(Value::Object(map))
            .map(RawPath)
            .map_err(|e| {
                let why = format!("the route and its handler disagree: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, why).into_response()
            })
    }
}

/// `{key}`: an issue's or a project's key (or id).
#[derive(Deserialize)]
pub(crate) struct Key {
    #[serde(default)]
    pub(crate) key: String,
}

/// `{*rest}`: the rest of the path.
#[derive(Deserialize)]
pub(crate) struct Rest {
    #[serde(default)]
    pub(crate) rest: String,
}

/// `{cloud_id}`: the site at the gateway.
#[derive(Deserialize)]
pub(crate) struct CloudId {
    #[serde(default)]
    pub(crate) cloud_id: String,
}

/// A call to Jira's REST API as it came in, on the site or through the gateway. `answer`
/// checks it and runs the operation under one lock, as Jira sees one state per request.
pub(crate) struct Call {
    app: App,
    method: Method,
    headers: HeaderMap,
    version: String,
    cloud_id: String,
    operation: String,
    query: Params,
    body: Bytes,
}

/// A call that passed the checks: what an operation is given.
pub(crate) struct Caller {
    /// The REST API version: 2 or 3.
    pub(crate) api: u8,
    pub(crate) user: String,
    /// The base of `self` links: the site, or `{gateway}/ex/jira/{cloudId}` through the
    /// gateway (as real Jira rewrites them).
    pub(crate) base: String,
    pub(crate) query: Params,
    /// The JSON body; Null when there is none.
    pub(crate) body: Value,
}

impl FromRequest<App> for Call {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Call, Response> {
        let route = req.extensions().get::<MatchedPath>();
        let path = req.uri().path();
        let params = raw_params(route, path);
        let param = |name: &str| {
            let found = params.iter().find(|(k, _)| k == name);
            found.map(|(_, v)| v.clone()).unwrap_or_default()
        };
        let (version, cloud_id) = (param("version"), param("cloud_id"));
        let operation = after_version(route, path);
        let (method, headers) = (req.method().clone(), req.headers().clone());
        let query = query::params(req.uri());
        let body = Bytes::from_request(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Call {
            app: app.clone(),
            method,
            headers,
            version,
            cloud_id,
            operation,
            query,
            body,
        })
    }
}

/// Why a call is refused before the site's credentials are looked at.
enum Refused {
    Gateway(auth::Refusal),
    /// A version this Jira does not serve (REST v3 is Cloud's): Jira's 404.
    NoSuchVersion(Flavor),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Gateway(refusal) => refusal.into_response(),
            Refused::NoSuchVersion(flavor) => not_found(flavor),
        }
    }
}

impl Call {
    /// Checks the call in Jira's order (at the gateway: the cloud id, the credentials and
    /// the operation's scopes; then the API version; on the site, the credentials; then the
    /// body, which must be JSON when there is one), and answers it with `operation`.
    pub(crate) fn answer(self, operation: impl FnOnce(&mut State, Caller) -> Response) -> Response {
        let mut s = self.app.lock();
        let (api, gateway_user) = match self.admit(&s) {
            Ok(admitted) => admitted,
            Err(refused) => return refused.into_response(),
        };
        let Some(user) = gateway_user.or_else(|| auth::site_user(&s, &self.headers)) else {
            return unauthenticated();
        };
        let body = if self.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&self.body) {
                Ok(v) => v,
                Err(_) => {
                    return jira_error(
                        StatusCode::BAD_REQUEST,
                        &["Unexpected character: the request body is not valid JSON."],
                        &BTreeMap::new(),
                    )
                }
            }
        };
        let base = match self.app.listener {
            Listener::Site => format!("http://{}", self.app.site),
            Listener::Gateway => format!("http://{}/ex/jira/{}", self.app.own, self.cloud_id),
        };
        let caller = Caller {
            api,
            user,
            base,
            query: self.query,
            body,
        };
        operation(&mut s, caller)
    }

    /// `serverInfo`: anonymous on the site, its body unread (through the gateway, still
    /// behind the gateway's checks). `operation` is given the site's address.
    pub(crate) fn answer_anonymously(
        self,
        operation: impl FnOnce(&State, SocketAddr) -> Response,
    ) -> Response {
        let s = self.app.lock();
        match self.admit(&s) {
            Ok(_) => operation(&s, self.app.site),
            Err(refused) => refused.into_response(),
        }
    }

    /// The gateway's checks (on the gateway listener), then the API version: the version and
    /// the gateway's user.
    fn admit(&self, s: &State) -> Result<(u8, Option<String>), Refused> {
        let version = self.version.as_str();
        let gateway_user = match self.app.listener {
            Listener::Site => None,
            Listener::Gateway => {
                let method = self.method.as_str();
                // Scopes are those of REST v2 and v3 operations.
                let operation = matches!(version, "2" | "3").then_some(self.operation.as_str());
                let operation = operation.map(|op| (method, op));
                let user = auth::gateway_caller(s, &self.cloud_id, &self.headers, operation);
                Some(user.map_err(Refused::Gateway)?)
            }
        };
        let flavor = s.config.flavor;
        let api = match version {
            "2" => 2,
            "3" if flavor == Flavor::Cloud => 3,
            _ => return Err(Refused::NoSuchVersion(flavor)),
        };
        Ok((api, gateway_user))
    }
}
