//! `JiraApi` over HTTPS with one shared reqwest client (connections kept alive across
//! invocations). Redirects are never followed, and no error carries a header or the
//! credential: every text from Jira is redacted (token, Basic and percent-encoded forms)
//! before it is cut to length.

use super::ca_bundle::ca_certificates;
use super::redact::Redactor;
use super::{
    parse_found, parse_transitions, AccessGrant, Call, CreatedIssue, Deployment, FoundIssue,
    JiraApi, JiraError, Transition, SEARCH_FIELDS,
};
use crate::hosts::JiraSite;
use crate::issue::ApiFlavor;
use crate::secrets::{AuthScheme, Credentials, Token};
use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Error texts from Jira are cut to this length in logs and errors.
const DETAIL_LIMIT: usize = 500;
/// Bodies larger than this are not read: a hostile server cannot exhaust memory.
const BODY_LIMIT: usize = 1 << 20;

#[derive(Clone)]
pub struct JiraHttp {
    client: reqwest::Client,
}

impl JiraHttp {
    pub fn new() -> Result<Self, String> {
        Self::with_ca_bundle(None)
    }

    /// A client that also trusts the CA certificates of `ca_bundle` (PEM, `JIRA_CA_BUNDLE`:
    /// the private CA of an on-premises Jira), in addition to the public roots (Mozilla's).
    /// Certificate verification is never switched off.
    pub fn with_ca_bundle(ca_bundle: Option<&str>) -> Result<Self, String> {
        // The compiled-in roots (src/roots.rs), not the system store: 2 ms less cold start.
        let mut roots: Vec<reqwest::Certificate> = crate::roots::der()
            .filter_map(|c| reqwest::Certificate::from_der(c).ok())
            .collect();
        if let Some(pem) = ca_bundle {
            roots.extend(ca_certificates(pem)?);
        }
        let builder = Self::builder().tls_certs_only(roots);
        builder
            .build()
            .map(|client| JiraHttp { client })
            .map_err(|e| format!("JIRA_CA_BUNDLE could not be used: {}", root_cause(&e)))
    }

    fn builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("detection-jira/", env!("CARGO_PKG_VERSION")))
    }

    /// Sends one request; `with_auth` false for anonymous reads (serverInfo).
    async fn send(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        body: Option<String>,
        with_auth: bool,
    ) -> Result<Value, JiraError> {
        let url = format!("{}{}", call.base, path);
        let mut req = self
            .client
            .request(method, &url)
            .timeout(call.timeout)
            .header(ACCEPT, "application/json");
        if with_auth {
            req = req.header(AUTHORIZATION, auth_header(call)?);
        }
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&e, call.timeout))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)));
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = read_limited(resp, call.timeout).await?;
        // Built only when Jira's text is about to be quoted (errors are rare).
        let secret = || Redactor::for_call(call);
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|_| JiraError::BadResponse {
                detail: format!(
                    "HTTP {} with a body that is not JSON: {}",
                    status.as_u16(),
                    cut(&secret().redact(&String::from_utf8_lossy(&bytes)), 200)
                ),
            });
        }
        let secret = secret();
        let location = location.map(|l| cut(&secret.redact(&l), 200));
        Err(classify(status, retry_after, location, &bytes, &secret))
    }
}

fn auth_header(call: Call<'_>) -> Result<HeaderValue, JiraError> {
    let token = call.creds.token.expose();
    let raw = match call.creds.auth {
        AuthScheme::Bearer => format!("Bearer {token}"),
        // Client credentials only ever go to the token endpoint; Jira gets the access
        // token, as a Bearer credential of its own.
        AuthScheme::OAuth => {
            return Err(JiraError::BadResponse {
                detail: "internal: OAuth client credentials are never sent to Jira".into(),
            })
        }
        AuthScheme::Basic | AuthScheme::Scoped => {
            let user = call.user.unwrap_or_default();
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            format!("Basic {encoded}")
        }
    };
    let mut value = HeaderValue::from_str(&raw).map_err(|_| JiraError::BadResponse {
        detail: "the credentials contain characters not allowed in an HTTP header".into(),
    })?;
    // Keeps the value out of reqwest's and hyper's Debug output.
    value.set_sensitive(true);
    Ok(value)
}

async fn read_limited(
    mut resp: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, JiraError> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > BODY_LIMIT {
                    return Err(JiraError::BadResponse {
                        detail: format!("answer larger than {BODY_LIMIT} bytes"),
                    });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(transport_error(&e, timeout)),
        }
    }
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> JiraError {
    // reqwest's own text names the URL (never headers); we build ours from the kind only.
    if e.is_connect() {
        let root = root_cause(e);
        JiraError::Connect {
            detail: if e.is_timeout() {
                "connect timed out".to_string()
            } else {
                root
            },
        }
    } else if e.is_timeout() {
        JiraError::NoAnswer {
            detail: format!("timed out after {:.1}s", timeout.as_secs_f64()),
        }
    } else {
        JiraError::NoAnswer {
            detail: format!("connection failed: {}", root_cause(e)),
        }
    }
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cut(&cur.to_string(), 200)
}

fn cut(s: &str, max: usize) -> String {
    crate::issue::text::ellipsize(s, max)
}

/// Turns a non-2xx answer into a `JiraError`, reading Jira's error body.
fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: &[u8],
    secret: &Redactor,
) -> JiraError {
    let (messages, field_errors) = parse_error_body(body, secret);
    let mut all: Vec<String> = messages.clone();
    all.extend(field_errors.iter().map(|(k, v)| format!("{k}: {v}")));
    let detail = if all.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no details")
            .to_string()
    } else {
        cut(&all.join("; "), DETAIL_LIMIT)
    };
    match status.as_u16() {
        300..=399 => JiraError::Redirect {
            status: status.as_u16(),
            location: location.unwrap_or_else(|| "(no Location header)".into()),
        },
        401 => JiraError::Unauthorized { detail },
        403 => JiraError::Forbidden { detail },
        404 => JiraError::NotFound { detail },
        429 => JiraError::Throttled {
            status: 429,
            retry_after,
        },
        503 if retry_after.is_some() => JiraError::Throttled {
            status: 503,
            retry_after,
        },
        500..=599 => JiraError::Server {
            status: status.as_u16(),
            detail,
        },
        s => JiraError::Rejected {
            status: s,
            messages,
            field_errors,
        },
    }
}

/// `{"errorMessages": [...], "errors": {field: message}}`, or the text of a non-JSON body.
fn parse_error_body(body: &[u8], secret: &Redactor) -> (Vec<String>, BTreeMap<String, String>) {
    let mut messages = Vec::new();
    let mut fields = BTreeMap::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => {
            if let Some(Value::Array(items)) = obj.get("errorMessages") {
                for m in items.iter().filter_map(Value::as_str).take(20) {
                    messages.push(cut(&secret.redact(m), DETAIL_LIMIT));
                }
            }
            if let Some(Value::Object(errs)) = obj.get("errors") {
                for (k, v) in errs.iter().take(50) {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    fields.insert(cut(k, 100), cut(&secret.redact(&text), DETAIL_LIMIT));
                }
            }
            if messages.is_empty() && fields.is_empty() {
                // The gateway's `{"code", "message"}`; the token endpoint's OAuth error.
                let text = |k: &str| obj.get(k).and_then(Value::as_str);
                let m = match (text("message"), text("error"), text("error_description")) {
                    (Some(m), _, _) => Some(m.to_string()),
                    (None, Some(e), Some(d)) => Some(format!("{e}: {d}")),
                    (None, Some(e), None) => Some(e.to_string()),
                    _ => None,
                };
                if let Some(m) = m {
                    messages.push(cut(&secret.redact(&m), DETAIL_LIMIT));
                }
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if !text.is_empty() {
                messages.push(cut(&secret.redact(text), DETAIL_LIMIT));
            }
        }
    }
    (messages, fields)
}

impl JiraApi for JiraHttp {
    async fn server_info(&self, call: Call<'_>) -> Result<Deployment, JiraError> {
        // Anonymous first: Cloud answers serverInfo without credentials. Some Server/DC
        // instances refuse anonymous access; the host is already authorised, so ask again
        // with credentials.
        let info = match self
            .send(call, Method::GET, "/rest/api/2/serverInfo", None, false)
            .await
        {
            Err(JiraError::Unauthorized { .. } | JiraError::Forbidden { .. }) => {
                self.send(call, Method::GET, "/rest/api/2/serverInfo", None, true)
                    .await?
            }
            other => other?,
        };
        match info.get("deploymentType").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case("cloud") => Ok(Deployment::Cloud),
            Some(_) => Ok(Deployment::Server),
            None => Err(JiraError::BadResponse {
                detail: "serverInfo has no deploymentType: is instance_url a Jira?".into(),
            }),
        }
    }

    async fn search(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        jql: &str,
        max_results: u32,
        reconcile: &[String],
    ) -> Result<Vec<FoundIssue>, JiraError> {
        let mut request = json!({"jql": jql, "maxResults": max_results, "fields": SEARCH_FIELDS});
        let body = request.to_string();
        // Cloud's search takes at most 50 numeric ids; Server/DC's has no such field.
        let ids: Vec<u64> = reconcile
            .iter()
            .filter_map(|i| i.parse().ok())
            .take(50)
            .collect();
        if !ids.is_empty() {
            request["reconcileIssues"] = json!(ids);
        }
        let v3_body = request.to_string();
        let v3 = "/rest/api/3/search/jql";
        let result = match flavor {
            ApiFlavor::V3 => self.send(call, Method::POST, v3, Some(v3_body), true).await,
            ApiFlavor::V2 => {
                match self
                    .send(
                        call,
                        Method::POST,
                        "/rest/api/2/search",
                        Some(body.clone()),
                        true,
                    )
                    .await
                {
                    // Cloud with api_version "2": the old search is gone (410) there.
                    Err(JiraError::Rejected { status: 410, .. }) => {
                        self.send(call, Method::POST, v3, Some(v3_body), true).await
                    }
                    other => other,
                }
            }
        }?;
        let issues = result
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| JiraError::BadResponse {
                detail: "search answer has no issues array".into(),
            })?;
        Ok(issues.iter().filter_map(parse_found).collect())
    }

    async fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> Result<CreatedIssue, JiraError> {
        let path = format!("{}/issue", flavor.path());
        let v = self
            .send(call, Method::POST, &path, Some(body.to_string()), true)
            .await?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        match (text("key"), text("id")) {
            (Some(key), id) => Ok(CreatedIssue {
                id: id.unwrap_or_default(),
                key,
            }),
            (None, _) => Err(JiraError::BadResponse {
                detail: "create answer has no issue key".into(),
            }),
        }
    }

    async fn get_json(&self, call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        self.send(call, Method::GET, path, None, true).await
    }

    async fn tenant_info(&self, site: &JiraSite, timeout: Duration) -> Result<String, JiraError> {
        let nobody = Credentials::plain(AuthScheme::Bearer, Token::new(""));
        let call = Call {
            base: &site.base,
            creds: &nobody,
            user: None,
            timeout,
        };
        let v = self
            .send(call, Method::GET, "/_edge/tenant_info", None, false)
            .await?;
        match v.get("cloudId").and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() => Ok(id.trim().to_ascii_lowercase()),
            _ => Err(JiraError::BadResponse {
                detail: "_edge/tenant_info has no cloudId: is instance_url a Jira Cloud site?"
                    .into(),
            }),
        }
    }

    async fn oauth_token(
        &self,
        auth: &JiraSite,
        client_id: &str,
        client_secret: &Token,
        timeout: Duration,
    ) -> Result<AccessGrant, JiraError> {
        // The secret rides in the body; any text quoted from an error is redacted of it.
        let secret = Credentials::plain(AuthScheme::Bearer, client_secret.clone());
        let call = Call {
            base: &auth.base,
            creds: &secret,
            user: None,
            timeout,
        };
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret.expose(),
        });
        let v = self
            .send(
                call,
                Method::POST,
                "/oauth/token",
                Some(body.to_string()),
                false,
            )
            .await
            .map_err(|e| match e {
                // A token endpoint's answer is never quoted: it may hold a token.
                JiraError::BadResponse { .. } => JiraError::BadResponse {
                    detail:
                        "the token endpoint's answer is not JSON (not shown: it may hold a token)"
                            .into(),
                },
                other => other,
            })?;
        let token = v.get("access_token").and_then(Value::as_str);
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(JiraError::BadResponse {
                detail: "the token endpoint answered without an access_token".into(),
            });
        };
        Ok(AccessGrant {
            token: Token::new(token),
            expires_in: Duration::from_secs(
                v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600),
            ),
            scopes: v
                .get("scope")
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        })
    }

    async fn edit_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), JiraError> {
        let path = format!("{}/issue/{issue_key}", flavor.path());
        let ops: Vec<Value> = (remove.iter().map(|l| json!({"remove": l})))
            .chain(add.iter().map(|l| json!({"add": l})))
            .collect();
        let body = json!({"update": {"labels": ops}});
        self.send(call, Method::PUT, &path, Some(body.to_string()), true)
            .await
            .map(|_| ())
    }

    async fn recent_comments(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<String>, JiraError> {
        let path = format!(
            "{}/issue/{issue_key}/comment?orderBy=-created&maxResults=100",
            flavor.path()
        );
        let v = self.send(call, Method::GET, &path, None, true).await?;
        let list =
            v.get("comments")
                .and_then(Value::as_array)
                .ok_or_else(|| JiraError::BadResponse {
                    detail: "comments answer has no comments array".into(),
                })?;
        Ok(list
            .iter()
            .filter_map(|c| c.get("body"))
            .map(|b| b.as_str().map_or_else(|| b.to_string(), str::to_string))
            .collect())
    }

    async fn transitions(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<Transition>, JiraError> {
        let path = format!(
            "{}/issue/{issue_key}/transitions?expand=transitions.fields",
            flavor.path()
        );
        let v = self.send(call, Method::GET, &path, None, true).await?;
        parse_transitions(&v).ok_or_else(|| JiraError::BadResponse {
            detail: "transitions answer has no transitions array".into(),
        })
    }

    async fn transition(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> Result<(), JiraError> {
        let path = format!("{}/issue/{issue_key}/transitions", flavor.path());
        self.send(call, Method::POST, &path, Some(body.to_string()), true)
            .await
            .map(|_| ())
    }

    async fn add_comment(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> Result<(), JiraError> {
        let path = format!("{}/issue/{issue_key}/comment", flavor.path());
        let body = json!({ "body": body }).to_string();
        self.send(call, Method::POST, &path, Some(body), true)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_parsed_and_redacted() {
        let body = br#"{"errorMessages":["bad tok-XYZW-1"],"errors":{"priority":"The priority selected is invalid."}}"#;
        let e = classify(
            StatusCode::BAD_REQUEST,
            None,
            None,
            body,
            &Redactor::new(["tok-XYZW-1".to_string()]),
        );
        match &e {
            JiraError::Rejected {
                field_errors,
                messages,
                ..
            } => {
                assert_eq!(
                    field_errors["priority"],
                    "The priority selected is invalid."
                );
                assert_eq!(messages[0], "bad [redacted]");
            }
            other => panic!("{other:?}"),
        }
        assert!(e
            .to_string()
            .contains("priority: The priority selected is invalid."));
    }

    #[test]
    fn statuses_are_classified() {
        let c = |s: u16, ra: Option<u64>| {
            classify(
                StatusCode::from_u16(s).unwrap(),
                ra.map(Duration::from_secs),
                Some("https://evil.example/".into()),
                b"plain text",
                &Redactor::new(["t0ken".to_string()]),
            )
        };
        use crate::failure::FailureClass;
        assert_eq!(c(401, None).class(), FailureClass::Auth);
        assert_eq!(c(403, None).class(), FailureClass::Permission);
        assert_eq!(c(404, None).class(), FailureClass::NotFound);
        assert_eq!(c(400, None).class(), FailureClass::Rejected);
        assert_eq!(c(429, Some(2)).retry_after(), Some(Duration::from_secs(2)));
        assert!(c(503, Some(1)).is_transient());
        assert_eq!(c(502, None).class(), FailureClass::Jira5xx);
        assert!(c(302, None).to_string().contains("https://evil.example/"));
        assert!(c(401, None).fix().contains("Verify email and API token"));
        assert!(c(403, None).fix().contains("Create Issues permission"));
        assert!(c(404, None).fix().contains("instance URL and project key"));
        assert!(c(400, None).fix().contains("issue type exists"));
    }

    #[test]
    fn a_token_echoed_across_the_cut_leaves_nothing_behind() {
        let token = "tok-0123456789abcdef";
        let r = Redactor::new([
            token.to_string(),
            base64::engine::general_purpose::STANDARD.encode(format!("u:{token}")),
        ]);
        // The token starts just before the cut: cutting first would leave a prefix.
        let text = format!("{}{token}", "x".repeat(DETAIL_LIMIT - 5));
        let body = serde_json::to_vec(&json!({"errorMessages": [text]})).unwrap();
        let e = classify(StatusCode::BAD_REQUEST, None, None, &body, &r);
        assert!(!e.to_string().contains("tok-0"), "{e}");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{token}"));
        let body = format!("echo: Basic {basic}");
        let e = classify(StatusCode::UNAUTHORIZED, None, None, body.as_bytes(), &r);
        assert!(!e.to_string().contains(&basic[..8]), "{e}");
    }
}
