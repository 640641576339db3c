//! Talking to Jira: the small trait the delivery code uses, its errors, the reqwest
//! implementation (`http`) and an in-memory one for tests of the orchestration (`memory`).

mod answer;
mod ca_bundle;
mod error;
mod http;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
mod model;
mod query;
mod redact;

pub use ca_bundle::ca_certificates;
pub use error::JiraError;
pub use http::JiraHttp;
pub use model::{
    parse_create_fields, parse_found, parse_issue_types, parse_transitions, CreatedIssue,
    FoundIssue, Page, StatusCategory, Transition, TransitionChoice, SEARCH_FIELDS,
};
pub use query::{jql_quote, IssueQuery};

use crate::hosts::JiraSite;
use crate::issue::ApiFlavor;
use crate::secrets::{Credentials, Token};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// One request's context: where, as whom, and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The API's base URL: the site's, or the Atlassian gateway's for the site
    /// (`https://api.atlassian.com/ex/jira/<cloud id>`).
    pub base: &'a str,
    pub creds: &'a Credentials,
    /// The Basic-auth user (destination or secret email); unused for Bearer.
    pub user: Option<&'a str>,
    pub timeout: Duration,
    /// Counts every HTTP request the call sends (a search or `serverInfo` may send two):
    /// the delivery's `Meter`.
    pub sent: Option<&'a AtomicU32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    Cloud,
    /// Server and Data Center alike (`deploymentType` anything but Cloud).
    Server,
}

/// An OAuth access token and what the token endpoint said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub token: Token,
    pub expires_in: Duration,
    /// The scopes granted (space-separated in the answer).
    pub scopes: Vec<String>,
}

/// Jira's operations that the function uses. Retries live in the delivery code; a call
/// may send more than one request (`serverInfo` asked anonymously first, a v2 search that
/// Cloud answers 410 asked again on v3), each counted through `Call::sent`.
pub trait JiraApi: Send + Sync + 'static {
    fn server_info(
        &self,
        call: Call<'_>,
    ) -> impl Future<Output = Result<Deployment, JiraError>> + Send;
    /// `reconcile`: ids of issues this container changed lately; Jira Cloud's search is
    /// eventually consistent except for the issues named here (`reconcileIssues`).
    fn search(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        query: &IssueQuery,
        reconcile: &[String],
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
    /// The site's cloud id from `<site>/_edge/tenant_info`, asked anonymously.
    fn tenant_info(
        &self,
        site: &JiraSite,
        timeout: Duration,
    ) -> impl Future<Output = Result<String, JiraError>> + Send;
    /// A client-credentials grant at `<auth>/oauth/token`.
    fn oauth_token(
        &self,
        auth: &JiraSite,
        client_id: &str,
        client_secret: &Token,
        timeout: Duration,
    ) -> impl Future<Output = Result<AccessGrant, JiraError>> + Send;
    /// Adds and removes labels of an existing issue (`PUT .../issue/{key}`,
    /// `update.labels`): one request, so the two happen together.
    fn edit_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        add: &[String],
        remove: &[String],
    ) -> impl Future<Output = Result<(), JiraError>> + Send;
    /// The newest comments of an issue (at most 100), each body as text (ADF serialised on
    /// v3): whether a run's comment is already there.
    fn recent_comments(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> impl Future<Output = Result<Vec<String>, JiraError>> + Send;
    /// The transitions the user may make on the issue now, with their screens' fields.
    fn transitions(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> impl Future<Output = Result<Vec<Transition>, JiraError>> + Send;
    /// Makes a transition (with the resolution its screen requires).
    fn transition(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        choice: &TransitionChoice,
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

/// One Jira shared by several owners (tests run two containers against one Jira).
impl<T: JiraApi> JiraApi for std::sync::Arc<T> {
    async fn server_info(&self, call: Call<'_>) -> Result<Deployment, JiraError> {
        (**self).server_info(call).await
    }
    async fn search(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        query: &IssueQuery,
        reconcile: &[String],
    ) -> Result<Vec<FoundIssue>, JiraError> {
        (**self).search(call, flavor, query, reconcile).await
    }
    async fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> Result<CreatedIssue, JiraError> {
        (**self).create_issue(call, flavor, body).await
    }
    async fn get_json(&self, call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        (**self).get_json(call, path).await
    }
    async fn tenant_info(&self, site: &JiraSite, timeout: Duration) -> Result<String, JiraError> {
        (**self).tenant_info(site, timeout).await
    }
    async fn oauth_token(
        &self,
        auth: &JiraSite,
        client_id: &str,
        client_secret: &Token,
        timeout: Duration,
    ) -> Result<AccessGrant, JiraError> {
        (**self)
            .oauth_token(auth, client_id, client_secret, timeout)
            .await
    }
    async fn edit_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), JiraError> {
        (**self)
            .edit_labels(call, flavor, issue_key, add, remove)
            .await
    }
    async fn recent_comments(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<String>, JiraError> {
        (**self).recent_comments(call, flavor, issue_key).await
    }
    async fn transitions(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<Transition>, JiraError> {
        (**self).transitions(call, flavor, issue_key).await
    }
    async fn transition(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        choice: &TransitionChoice,
    ) -> Result<(), JiraError> {
        (**self).transition(call, flavor, issue_key, choice).await
    }
    async fn add_comment(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> Result<(), JiraError> {
        (**self).add_comment(call, flavor, issue_key, body).await
    }
}
