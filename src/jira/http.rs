//! `JiraApi` over HTTPS with one shared reqwest client (connections kept alive across
//! invocations). Redirects are never followed, and no error carries a header or the
//! credential: every text from Jira is redacted (token, Basic and percent-encoded forms)
//! before it is cut to length.

use super::answer::{classify, cut, read_limited, root_cause, transport_error};
use super::ca_bundle::ca_certificates;
use super::redact::Redactor;
use super::{
    parse_found, parse_transitions, AccessGrant, Call, CreatedIssue, Deployment, FoundIssue,
    JiraApi, JiraError, Transition, SEARCH_FIELDS,
};
use crate::hosts::JiraSite;
use crate::issue::ApiFlavor;
use crate::jira::{IssueQuery, TransitionChoice};
use crate::secrets::{AuthScheme, Credentials, Token};
use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

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
        if let Some(sent) = call.sent {
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
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
        query: &IssueQuery,
        reconcile: &[String],
    ) -> Result<Vec<FoundIssue>, JiraError> {
        let mut request =
            json!({"jql": query.jql(), "maxResults": query.limit, "fields": SEARCH_FIELDS});
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
            sent: None,
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
            sent: None,
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
        choice: &TransitionChoice,
    ) -> Result<(), JiraError> {
        let path = format!("{}/issue/{issue_key}/transitions", flavor.path());
        let body = choice.to_body().to_string();
        self.send(call, Method::POST, &path, Some(body), true)
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
