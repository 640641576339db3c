//! An in-memory Jira for tests of the orchestration: no sockets (so tests can run on
//! tokio's paused clock and read waits off it), scripted faults, recorded arrivals.
//! It understands the JQL the function writes (`field = "value"` clauses joined by AND,
//! `statusCategory != Done`, `ORDER BY created DESC`) and has one workflow of global
//! transitions; the strict HTTP fake (`fake-jira/`) stays the test of the wire.

use super::{Call, Deployment, JiraError, StatusCategory, Transition};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tokio::time::Instant;

/// The operations of `JiraApi`, as recorded and as targets of faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    ServerInfo,
    Search,
    Create,
    GetJson,
    EditLabels,
    AddComment,
    Comments,
    Transitions,
    Transition,
    TenantInfo,
    OAuthToken,
}

#[derive(Debug, Clone)]
pub struct MemIssue {
    pub id: String,
    pub key: String,
    pub project: String,
    pub labels: Vec<String>,
    /// The create request's `fields`.
    pub fields: Value,
    pub comments: Vec<Value>,
    pub status_category: StatusCategory,
    pub resolution: Option<String>,
    /// Epoch seconds (the `now` of `MemoryJira`).
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    /// Found by search only once indexed (Jira Cloud's index lags behind a create).
    pub indexed: bool,
}

enum Fault {
    /// The request fails before Jira acts on it.
    Fail(JiraError),
    /// Jira acts on it, then the answer is lost (a create whose outcome is unknown).
    ApplyThenFail(JiraError),
    /// No answer, ever (only the caller's deadline ends the wait).
    Hang,
}

#[derive(Default)]
struct State {
    issues: Vec<MemIssue>,
    /// Each request, and when it arrived on tokio's clock (paused in tests).
    calls: Vec<(Op, Instant)>,
    /// The base URL and Authorization scheme of each Jira request (not `tenant_info` or
    /// the token endpoint).
    bases: Vec<(String, crate::secrets::AuthScheme)>,
    faults: HashMap<Op, VecDeque<Fault>>,
    pages: HashMap<String, Value>,
    lagging: bool,
    /// Epoch seconds this Jira thinks it is (creation and resolution times).
    now: i64,
    workflow: Vec<Transition>,
    /// Transitions made: (issue key, transition id, resolution sent).
    transitions: Vec<(String, String, Option<String>)>,
    /// The site's cloud id (`tenant_info`).
    cloud_id: String,
    /// OAuth: the client's (id, secret), the scopes granted, and the access tokens issued
    /// with when they expire.
    oauth_client: Option<(String, String)>,
    scopes: Vec<String>,
    token_lifetime: std::time::Duration,
    issued: Vec<(String, Instant)>,
}

/// The cloud id `tenant_info` answers unless told otherwise.
pub const MEMORY_CLOUD_ID: &str = "0c10d1d0-0000-4000-8000-00000000c10d";

/// Jira Cloud's simplified workflow: three global transitions, no screens.
pub fn cloud_workflow() -> Vec<Transition> {
    [
        ("11", "To Do", "new"),
        ("21", "In Progress", "indeterminate"),
        ("31", "Done", "done"),
    ]
    .into_iter()
    .map(|(id, name, category)| Transition {
        id: id.into(),
        name: name.into(),
        to_name: name.into(),
        to_category: category.into(),
        required_resolution: None,
    })
    .collect()
}

pub struct MemoryJira {
    deployment: Deployment,
    /// The only token accepted; anything else answers 401.
    token: Mutex<String>,
    state: Mutex<State>,
}

impl MemoryJira {
    pub fn new(deployment: Deployment, token: &str) -> MemoryJira {
        MemoryJira {
            deployment,
            token: Mutex::new(token.to_string()),
            state: Mutex::new(State {
                now: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
                workflow: cloud_workflow(),
                cloud_id: MEMORY_CLOUD_ID.into(),
                scopes: ["read:jira-work", "write:jira-work", "read:jira-user"]
                    .map(str::to_string)
                    .to_vec(),
                token_lifetime: std::time::Duration::from_secs(3600),
                ..State::default()
            }),
        }
    }

    /// Accepts this OAuth client at the token endpoint; its access tokens live `lifetime`.
    pub fn oauth_client(&self, id: &str, secret: &str, lifetime: std::time::Duration) {
        let mut s = self.state();
        s.oauth_client = Some((id.into(), secret.into()));
        s.token_lifetime = lifetime;
    }

    /// The scopes the token endpoint grants.
    pub fn grant_scopes(&self, scopes: &[&str]) {
        self.state().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    pub fn set_cloud_id(&self, id: &str) {
        self.state().cloud_id = id.into();
    }

    /// Sets the clock of created and resolved times (epoch seconds).
    pub fn set_now(&self, epoch: i64) {
        self.state().now = epoch;
    }

    /// Replaces the workflow's transitions (all global).
    pub fn set_workflow(&self, workflow: Vec<Transition>) {
        self.state().workflow = workflow;
    }

    /// Transitions made so far: (issue key, transition id, resolution sent).
    pub fn transitions_made(&self) -> Vec<(String, String, Option<String>)> {
        self.state().transitions.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        crate::cells::lock(&self.state)
    }

    /// The next call of `op` fails with `error` (faults queue up per operation).
    pub fn fail_next(&self, op: Op, error: JiraError) {
        let mut s = self.state();
        s.faults
            .entry(op)
            .or_default()
            .push_back(Fault::Fail(error));
    }

    /// The next call of `op` takes effect, then answers `error`.
    pub fn apply_then_fail_next(&self, op: Op, error: JiraError) {
        let mut s = self.state();
        let faults = s.faults.entry(op).or_default();
        faults.push_back(Fault::ApplyThenFail(error));
    }

    /// The next call of `op` is never answered.
    pub fn hang_next(&self, op: Op) {
        self.state()
            .faults
            .entry(op)
            .or_default()
            .push_back(Fault::Hang);
    }

    /// Rotates the accepted token.
    pub fn accept_token(&self, token: &str) {
        *crate::cells::lock(&self.token) = token.to_string();
    }

    /// New issues stay out of search results until `index_now`.
    pub fn set_index_lag(&self, lagging: bool) {
        self.state().lagging = lagging;
    }

    pub fn index_now(&self) {
        self.state()
            .issues
            .iter_mut()
            .for_each(|i| i.indexed = true);
    }

    /// What `get_json(path)` answers; other paths answer 404.
    pub fn serve(&self, path: &str, value: Value) {
        self.state().pages.insert(path.to_string(), value);
    }

    /// Resolves an issue by hand, `hours_ago` before `now`.
    pub fn resolve(&self, key: &str, hours_ago: i64) {
        let mut s = self.state();
        let at = s.now - hours_ago * 3600;
        s.issues.iter_mut().filter(|i| i.key == key).for_each(|i| {
            i.status_category = StatusCategory::Done;
            i.resolution = Some("Done".into());
            i.resolved_at = Some(at);
        });
    }

    pub fn issues(&self) -> Vec<MemIssue> {
        self.state().issues.clone()
    }

    /// Where each Jira request went, and with which scheme.
    pub fn bases(&self) -> Vec<(String, crate::secrets::AuthScheme)> {
        self.state().bases.clone()
    }

    pub fn calls(&self) -> Vec<Op> {
        self.state().calls.iter().map(|(op, _)| *op).collect()
    }

    pub fn count(&self, op: Op) -> usize {
        self.arrivals(op).len()
    }

    /// When each call of `op` arrived (tokio's clock).
    pub fn arrivals(&self, op: Op) -> Vec<Instant> {
        let s = self.state();
        s.calls
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Records the call, checks the token, and takes the next scripted fault.
    async fn enter(&self, op: Op, call: Call<'_>) -> Result<Option<JiraError>, JiraError> {
        if let Some(n) = call.sent {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let sent = call.creds.token.expose();
        let token_ok = *crate::cells::lock(&self.token) == sent
            || self
                .state()
                .issued
                .iter()
                .any(|(t, until)| t == sent && Instant::now() < *until);
        let fault = {
            let mut s = self.state();
            s.calls.push((op, Instant::now()));
            s.bases.push((call.base.to_string(), call.creds.auth));
            s.faults.get_mut(&op).and_then(VecDeque::pop_front)
        };
        match fault {
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Fail(e)) => Err(e),
            _ if !token_ok && op != Op::ServerInfo => Err(JiraError::Unauthorized {
                detail: "Client must be authenticated to access this resource.".into(),
            }),
            Some(Fault::ApplyThenFail(e)) => Ok(Some(e)),
            None => Ok(None),
        }
    }

    fn issue_mut<'a>(s: &'a mut State, key: &str) -> Result<&'a mut MemIssue, JiraError> {
        s.issues
            .iter_mut()
            .find(|i| i.key == key)
            .ok_or_else(|| JiraError::NotFound {
                detail: "Issue does not exist or you do not have permission to see it.".into(),
            })
    }
}

mod api;
