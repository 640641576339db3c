//! Talking to Jira: the small trait the delivery code uses, its errors, the reqwest
//! implementation (`http`) and an in-memory one for tests of the orchestration (`memory`).

mod ca_bundle;
mod error;
mod http;
pub mod memory;
mod redact;

pub use ca_bundle::ca_certificates;
pub use error::JiraError;
pub use http::JiraHttp;

use crate::hosts::JiraSite;
use crate::issue::ApiFlavor;
use crate::secrets::Credentials;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// One request's context: where, as whom, and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub site: &'a JiraSite,
    pub creds: &'a Credentials,
    /// The Basic-auth user (destination or secret email); unused for Bearer.
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
    /// `body` is the serialised request (`IssueSpec::to_body`); answers the issue key.
    fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> impl Future<Output = Result<String, JiraError>> + Send;
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
    /// `body` is the rendered comment (ADF for v3, wiki text for v2).
    fn add_comment(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> impl Future<Output = Result<(), JiraError>> + Send;
}

/// A JQL string literal.
pub fn jql_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_strings_are_escaped() {
        assert_eq!(jql_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(jql_quote("x\ny"), "\"x y\"");
    }
}
