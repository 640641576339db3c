//! Test implementations of the crate's seams beyond the crate's own in-memory ones: the real
//! HTTP client with a simulated bug.

use detection_jira::hosts::JiraSite;
use detection_jira::issue::ApiFlavor;
use detection_jira::jira::{
    AccessGrant, Call, CreatedIssue, Deployment, FoundIssue, IssueQuery, JiraApi, JiraError,
    JiraHttp, Transition, TransitionChoice,
};
use detection_jira::secrets::Token;
use serde_json::Value;
use std::time::Duration;

/// The real client, panicking for one project: a simulated bug in the seam the handler is
/// generic over.
pub struct PanicsOnBoom(pub JiraHttp);

impl JiraApi for PanicsOnBoom {
    async fn server_info(&self, call: Call<'_>) -> Result<Deployment, JiraError> {
        self.0.server_info(call).await
    }
    async fn search(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        query: &IssueQuery,
        reconcile: &[String],
    ) -> Result<Vec<FoundIssue>, JiraError> {
        assert!(query.project != "BOOM", "simulated bug");
        self.0.search(call, flavor, query, reconcile).await
    }
    async fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> Result<CreatedIssue, JiraError> {
        self.0.create_issue(call, flavor, body).await
    }
    async fn get_json(&self, call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        self.0.get_json(call, path).await
    }
    async fn tenant_info(&self, site: &JiraSite, timeout: Duration) -> Result<String, JiraError> {
        self.0.tenant_info(site, timeout).await
    }
    async fn oauth_token(
        &self,
        auth: &JiraSite,
        client_id: &str,
        client_secret: &Token,
        timeout: Duration,
    ) -> Result<AccessGrant, JiraError> {
        self.0
            .oauth_token(auth, client_id, client_secret, timeout)
            .await
    }
    async fn edit_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), JiraError> {
        self.0.edit_labels(call, flavor, key, add, remove).await
    }
    async fn recent_comments(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
    ) -> Result<Vec<String>, JiraError> {
        self.0.recent_comments(call, flavor, key).await
    }
    async fn transitions(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
    ) -> Result<Vec<Transition>, JiraError> {
        self.0.transitions(call, flavor, key).await
    }
    async fn transition(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
        choice: &TransitionChoice,
    ) -> Result<(), JiraError> {
        self.0.transition(call, flavor, key, choice).await
    }
    async fn add_comment(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
        body: &Value,
    ) -> Result<(), JiraError> {
        self.0.add_comment(call, flavor, key, body).await
    }
}
