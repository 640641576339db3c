//! Test implementations of the crate's seams (`JiraApi`, `SecretSource`), all here so that a
//! change of those traits is adapted in one place:
//! - a scripted in-memory Jira and a fixed secret: no sockets, so tests can run on tokio's
//!   paused clock and read waits off it exactly;
//! - the real HTTP client with a simulated bug.

use detection_jira::issue::ApiFlavor;
use detection_jira::jira::{Call, Deployment, FoundIssue, JiraApi, JiraError, JiraHttp};
use detection_jira::secrets::{SecretError, SecretSource};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// What the scripted Jira does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Fail(JiraError),
    /// Never answers (the request's own timeout is not modelled: only the handler's bound).
    Hang,
}

#[derive(Default)]
struct Script {
    searches: VecDeque<Reply>,
    creates: VecDeque<Reply>,
    /// Every request received: which operation, and when on tokio's clock.
    calls: Vec<(&'static str, Instant)>,
    created: u32,
}

/// A Cloud Jira in memory: `serverInfo` answers Cloud, searches find nothing, creates
/// succeed, except for the replies scripted per operation, taken in order.
#[derive(Clone, Default)]
pub struct ScriptedJira(Arc<Mutex<Script>>);

impl ScriptedJira {
    pub fn on_search(&self, reply: Reply) -> &Self {
        self.0.lock().unwrap().searches.push_back(reply);
        self
    }

    pub fn on_create(&self, reply: Reply) -> &Self {
        self.0.lock().unwrap().creates.push_back(reply);
        self
    }

    /// When each request of operation `op` ("serverInfo", "search", "create") arrived.
    pub fn arrivals(&self, op: &str) -> Vec<Instant> {
        let script = self.0.lock().unwrap();
        script
            .calls
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, at)| *at)
            .collect()
    }

    pub fn created(&self) -> u32 {
        self.0.lock().unwrap().created
    }

    async fn receive(&self, op: &'static str) -> Result<(), JiraError> {
        let reply = {
            let mut script = self.0.lock().unwrap();
            script.calls.push((op, Instant::now()));
            match op {
                "search" => script.searches.pop_front(),
                "create" => script.creates.pop_front(),
                _ => None,
            }
        };
        match reply {
            None => Ok(()),
            Some(Reply::Fail(e)) => Err(e),
            Some(Reply::Hang) => std::future::pending().await,
        }
    }
}

fn not_scripted(what: &str) -> JiraError {
    JiraError::BadResponse {
        detail: format!("{what} is not scripted in the in-memory Jira"),
    }
}

impl JiraApi for ScriptedJira {
    async fn server_info(&self, _call: Call<'_>) -> Result<Deployment, JiraError> {
        self.receive("serverInfo").await?;
        Ok(Deployment::Cloud)
    }

    async fn search(
        &self,
        _call: Call<'_>,
        _flavor: ApiFlavor,
        _jql: &str,
        _max: u32,
    ) -> Result<Vec<FoundIssue>, JiraError> {
        self.receive("search").await?;
        Ok(Vec::new())
    }

    async fn create_issue(
        &self,
        _call: Call<'_>,
        _flavor: ApiFlavor,
        _body: &str,
    ) -> Result<String, JiraError> {
        self.receive("create").await?;
        let mut script = self.0.lock().unwrap();
        script.created += 1;
        Ok(format!("SEC-{}", script.created))
    }

    async fn get_json(&self, _call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        Err(not_scripted(path))
    }

    async fn add_labels(
        &self,
        _call: Call<'_>,
        _flavor: ApiFlavor,
        _key: &str,
        _labels: &[String],
    ) -> Result<(), JiraError> {
        Err(not_scripted("add_labels"))
    }

    async fn add_comment(
        &self,
        _call: Call<'_>,
        _flavor: ApiFlavor,
        _key: &str,
        _body: &Value,
    ) -> Result<(), JiraError> {
        Err(not_scripted("add_comment"))
    }
}

/// Every secret id reads as this bare token.
pub struct OneSecret(pub &'static str);

impl SecretSource for OneSecret {
    async fn fetch(&self, _id: &str) -> Result<String, SecretError> {
        Ok(self.0.to_string())
    }
}

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
        jql: &str,
        max: u32,
    ) -> Result<Vec<FoundIssue>, JiraError> {
        assert!(!jql.contains("BOOM"), "simulated bug");
        self.0.search(call, flavor, jql, max).await
    }
    async fn create_issue(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        body: &str,
    ) -> Result<String, JiraError> {
        self.0.create_issue(call, flavor, body).await
    }
    async fn get_json(&self, call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        self.0.get_json(call, path).await
    }
    async fn add_labels(
        &self,
        call: Call<'_>,
        flavor: ApiFlavor,
        key: &str,
        labels: &[String],
    ) -> Result<(), JiraError> {
        self.0.add_labels(call, flavor, key, labels).await
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
