//! Why a Jira request failed, classified for retries, logs and fixes.

use crate::failure::{Failure, FailureClass};
use std::collections::BTreeMap;
use std::time::Duration;

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
    /// Worth another try inside the invocation, whatever the request. `NoAnswer` is
    /// transient only for reads (see `retry::Policy`).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JiraError::Throttled { .. } | JiraError::Server { .. } | JiraError::Connect { .. }
        )
    }

    pub fn class(&self) -> FailureClass {
        match self {
            JiraError::Throttled { .. } => FailureClass::Throttled,
            JiraError::Server { .. } => FailureClass::Jira5xx,
            JiraError::Connect { .. } | JiraError::NoAnswer { .. } => FailureClass::Timeout,
            JiraError::Unauthorized { .. } => FailureClass::Auth,
            JiraError::Forbidden { .. } => FailureClass::Permission,
            JiraError::NotFound { .. } => FailureClass::NotFound,
            JiraError::Rejected { .. } | JiraError::BadResponse { .. } => FailureClass::Rejected,
            JiraError::Redirect { .. } => FailureClass::BadInput,
        }
    }

    /// The remedy, in the words of the README's troubleshooting table; for a 400, the one that
    /// matches the field Jira named.
    pub fn fix(&self) -> String {
        match self {
            JiraError::Unauthorized { .. } => "Verify email and API token are correct (the secret's api_token and the destination's email; a Server/DC personal access token needs \"auth\": \"bearer\" in the secret)".into(),
            JiraError::Forbidden { .. } => "Check user has Create Issues permission in project (and Browse Projects)".into(),
            JiraError::NotFound { .. } => "Verify instance URL and project key are correct".into(),
            JiraError::Rejected { field_errors, .. } => rejection_fix(field_errors),
            JiraError::Throttled { .. } | JiraError::Server { .. } => "Transient Jira problem: the message is retried; if it persists, check Jira's status and rate limits".into(),
            JiraError::Connect { .. } | JiraError::NoAnswer { .. } => "Check the instance URL is reachable from the function (VPC, DNS, firewall) and raise destination.timeout if Jira is slow".into(),
            JiraError::Redirect { .. } => "Verify instance URL: use the final Jira base URL (https, no redirect)".into(),
            JiraError::BadResponse { .. } => "Verify instance URL points at Jira's REST API".into(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JiraError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn rejection_fix(fields: &BTreeMap<String, String>) -> String {
    let fixes: Vec<String> = fields
        .keys()
        .map(|field| match field.as_str() {
            "project" => "Verify project key is correct (destination.project_key)".into(),
            "issuetype" => "Check issue type exists in project (destination.issue_type)".into(),
            "priority" => "Check the priority exists in the project's priority scheme (destination.priority / priority_map)".into(),
            "summary" | "description" => "Report it: the function keeps summary and description within Jira's limits".into(),
            "labels" => "Remove whitespace from destination.labels".into(),
            other => format!(
                "Verify required fields: give {other} a value in destination.fields (by its id or name), or make it optional on the issue type's create screen"
            ),
        })
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for f in fixes {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    if unique.is_empty() {
        "Check issue type exists in project, verify required fields".into()
    } else {
        unique.join("; ")
    }
}

impl From<JiraError> for Failure {
    fn from(e: JiraError) -> Self {
        let f = Failure::new(e.class(), e.to_string(), e.fix());
        // A rate limit that outlasts the invocation: SQS holds the message until then.
        match &e {
            JiraError::Throttled {
                retry_after: Some(wait),
                ..
            } => f.retry_after(*wait),
            _ => f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(field: &str) -> JiraError {
        JiraError::Rejected {
            status: 400,
            messages: vec![],
            field_errors: [(field.to_string(), "x".to_string())].into(),
        }
    }

    #[test]
    fn the_fix_matches_the_field_jira_named() {
        assert!(rejected("project").fix().contains("project key"));
        assert!(!rejected("project").fix().contains("issue type"));
        assert!(rejected("issuetype").fix().contains("issue type exists"));
        assert!(rejected("customfield_1").fix().contains("required fields"));
        assert!(rejected("customfield_1")
            .fix()
            .contains("give customfield_1 a value in destination.fields"));
        let f: Failure = rejected("priority").into();
        assert_eq!(f.class, FailureClass::Rejected);
        assert!(f.fix.contains("priority scheme"));
    }
}
