//! Talking to Jira: the small trait the delivery code uses, its errors, and the reqwest
//! implementation (`http`).

mod http;

pub use http::JiraHttp;

use crate::hosts::JiraSite;
use crate::issue::ApiFlavor;
use crate::secrets::Credentials;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// One request's context: where, as whom, and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub site: &'a JiraSite,
    pub creds: &'a Credentials,
    /// Needed for Basic auth; the delivery code resolves it from destination or secret.
    pub user: Option<&'a str>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    Cloud,
    /// Server and Data Center alike (`deploymentType` anything but Cloud).
    Server,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundIssue {
    pub key: String,
}

/// Jira's operations that the function uses. Each call is one HTTP request: retries and
/// fallbacks live in the delivery code.
pub trait JiraApi: Send + Sync + 'static {
    fn server_info(
        &self,
        call: Call<'_>,
    ) -> impl Future<Output = Result<Deployment, JiraError>> + Send;
    fn search(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        jql: &str,
        max_results: u32,
    ) -> impl Future<Output = Result<Vec<FoundIssue>, JiraError>> + Send;
    /// `body` is the serialised request (`IssueSpec::to_body`).
    fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> impl Future<Output = Result<CreatedIssue, JiraError>> + Send;
    /// Reads `path` (below the base URL) with credentials: metadata for the destination
    /// check.
    fn get_json(
        &self,
        call: Call<'_>,
        path: &str,
    ) -> impl Future<Output = Result<Value, JiraError>> + Send;
    /// Adds labels to an existing issue (`PUT .../issue/{key}`, `update.labels`).
    fn add_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        labels: &[String],
    ) -> impl Future<Output = Result<(), JiraError>> + Send;
    fn add_comment(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> impl Future<Output = Result<(), JiraError>> + Send;
}

/// Why a Jira request failed, classified for retries, logs and fixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraError {
    #[error("Jira throttled the request (HTTP {status}{})", retry_after.map(|d| format!(", Retry-After {}s", d.as_secs())).unwrap_or_default())]
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("Jira answered HTTP {status}: {detail}")]
    Server { status: u16, detail: String },
    /// Could not connect: the request was never sent, so any request may be retried.
    #[error("could not connect to Jira: {detail}")]
    Connect { detail: String },
    /// Timed out or the connection broke after the request may have been sent: a create
    /// may or may not have happened.
    #[error("no answer from Jira ({detail}); the request may have reached Jira")]
    NoAnswer { detail: String },
    #[error("Jira answered 401 Unauthorized: {detail}")]
    Unauthorized { detail: String },
    #[error("Jira answered 403 Forbidden: {detail}")]
    Forbidden { detail: String },
    #[error("Jira answered 404 Not Found: {detail}")]
    NotFound { detail: String },
    #[error("Jira answered {status}{}", describe_rejection(messages, field_errors))]
    Rejected {
        status: u16,
        messages: Vec<String>,
        field_errors: BTreeMap<String, String>,
    },
    #[error("Jira answered a redirect (HTTP {status}) to {location}; redirects are not followed with credentials")]
    Redirect { status: u16, location: String },
    #[error("Jira's answer could not be read: {detail}")]
    BadResponse { detail: String },
}

fn describe_rejection(messages: &[String], fields: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = messages.to_vec();
    parts.extend(fields.iter().map(|(k, v)| format!("{k}: {v}")));
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

impl JiraError {
    /// Worth another try inside the invocation. `NoAnswer` is only retried for reads.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JiraError::Throttled { .. } | JiraError::Server { .. } | JiraError::Connect { .. }
        )
    }

    /// The failure class named in logs and metrics.
    pub fn class(&self) -> &'static str {
        match self {
            JiraError::Throttled { .. } => "throttled",
            JiraError::Server { .. } => "jira-5xx",
            JiraError::Connect { .. } | JiraError::NoAnswer { .. } => "timeout",
            JiraError::Unauthorized { .. } => "auth",
            JiraError::Forbidden { .. } => "permission",
            JiraError::NotFound { .. } => "not-found",
            JiraError::Rejected { .. } | JiraError::BadResponse { .. } => "rejected",
            JiraError::Redirect { .. } => "bad-input",
        }
    }

    /// The remedy, in the words of the troubleshooting table.
    pub fn fix(&self) -> &'static str {
        match self {
            JiraError::Unauthorized { .. } => "Verify email and API token are correct (the secret's api_token and the destination's email; a Server/DC personal access token needs \"auth\": \"bearer\" in the secret)",
            JiraError::Forbidden { .. } => "Check user has Create Issues permission in project (and Browse Projects)",
            JiraError::NotFound { .. } => "Verify instance URL and project key are correct",
            JiraError::Rejected { .. } => "Check issue type exists in project, verify required fields",
            JiraError::Throttled { .. } | JiraError::Server { .. } => "Transient Jira problem: the message is retried; if it persists, check Jira's status and rate limits",
            JiraError::Connect { .. } | JiraError::NoAnswer { .. } => "Check the instance URL is reachable from the function (VPC, DNS, firewall) and raise destination.timeout if Jira is slow",
            JiraError::Redirect { .. } => "Verify instance URL: use the final Jira base URL (https, no redirect)",
            JiraError::BadResponse { .. } => "Verify instance URL points at Jira's REST API",
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JiraError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
