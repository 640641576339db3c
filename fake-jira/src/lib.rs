//! A strict fake Jira for tests and the local stand-in: one instance per listener, Cloud
//! (REST v3 + v2, ADF) or Server/DC (REST v2, wiki markup), told apart only by
//! `/rest/api/2/serverInfo`. It rejects what real Jira rejects, with Jira's own messages
//! (shared/jira/behaviour.md), keeps what it receives, and can be scripted to fail.
//!
//! Issues live through a workflow (`Config::workflow`: Cloud's simplified one, Server/DC's
//! classic one by default): `GET`/`POST /issue/{key}/transitions`, resolutions on transition
//! screens and set by post-functions, `project/{key}/statuses`, `mypermissions`, and a
//! search that returns the fields asked for (see `hooks.rs` for the test hooks).
//!
//! The same listener also answers the Secrets Manager `GetSecretValue` call (AWS JSON 1.1
//! protocol, `POST /` with `X-Amz-Target`), so a function under test can be pointed at it
//! with `AWS_ENDPOINT_URL_SECRETS_MANAGER`; and SQS's `ChangeMessageVisibility` (AWS JSON
//! 1.0, `AWS_ENDPOINT_URL_SQS`), recording which messages the function held.
//!
//! Cloud also has Atlassian's newer credentials (see `gateway.rs`): the site answers
//! `/_edge/tenant_info`, and `FakeJira::start_gateway` opens a second listener that plays
//! both `auth.atlassian.com` (`POST /oauth/token`, client credentials of a service account)
//! and `api.atlassian.com` (`/ex/jira/{cloudId}/rest/api/...`, Bearer access tokens and
//! scoped API tokens, with scope checks).

mod adf;
mod clock;
mod faults;
mod gateway;
mod hooks;
mod meta;
mod oauth;
mod page;
mod router;
mod rules;
pub mod runtime;
mod scopes;
mod search;
mod secrets;
mod serve;
mod sqs;
mod transitions;
mod workflow;

pub use clock::{format_millis, jira_now, parse_jira_time};
use faults::Fault;
pub use faults::{FaultKind, RandomFaults};
pub use oauth::{OAuthClient, ScopedToken};
pub use sqs::VisibilityChange;
pub use workflow::{standard_resolutions, Status, Transition, Workflow};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cloud,
    Server,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Number,
    /// A select list with these option values.
    Select(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Project {
    pub key: String,
    pub id: String,
    pub issue_types: Vec<String>,
    /// Server/DC priority scheme: the priorities this project may use (None: all).
    pub priorities: Option<Vec<String>>,
    /// Custom fields on the create screen.
    pub screen_fields: BTreeMap<String, FieldKind>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub flavor: Flavor,
    /// Basic auth: user (email on Cloud) -> token or password.
    pub users: HashMap<String, String>,
    /// Server/DC personal access tokens (Bearer).
    pub personal_tokens: Vec<String>,
    /// Users who may browse but not create issues (403 on create), nor transition them.
    pub read_only_users: Vec<String>,
    /// Users without Transition Issues (nor Resolve Issues): they see no transitions, and
    /// any transition id is "not valid" for them.
    pub no_transition_users: Vec<String>,
    /// Users without Browse Projects: projects and issues are invisible to them (404).
    pub blind_users: Vec<String>,
    pub projects: Vec<Project>,
    pub priorities: Vec<String>,
    pub link_types: Vec<String>,
    /// Statuses and transitions (one workflow for every issue type).
    pub workflow: Workflow,
    /// Resolution names, in Jira's order (ids follow it: see `workflow::resolution_id`).
    pub resolutions: Vec<String>,
    /// Secrets Manager stand-in: secret id (name or ARN) -> SecretString.
    pub secrets: HashMap<String, String>,
    /// Cloud's search is eventually consistent. While this is true, a new issue stays out
    /// of search results until `FakeJira::index_now` is called: a switch, not a clock, so
    /// that a test states when the index catches up instead of racing it.
    pub defer_indexing: bool,
    /// Seeded random faults on Jira requests (soak tests).
    pub random_faults: Option<RandomFaults>,
    /// Added to every Jira request (benchmarks of the critical path).
    pub latency: Duration,
    /// Cloud: the site's cloud id (`/_edge/tenant_info`, and the gateway's `/ex/jira/{cloudId}`).
    pub cloud_id: String,
    /// Cloud: service accounts' OAuth 2.0 credentials (client credentials grant at the
    /// gateway's `/oauth/token`). None by default.
    pub oauth_clients: Vec<OAuthClient>,
    /// Cloud: scoped API tokens, by email. Accepted at the gateway only (Basic email:token);
    /// the classic tokens of `users` are not. None by default.
    pub scoped_tokens: HashMap<String, ScopedToken>,
    /// How long an access token from `/oauth/token` lives (`expires_in`), on tokio's clock.
    pub token_lifetime: Duration,
}

pub const DEMO_USER: &str = "secops-bot@acme.example";
pub const DEMO_TOKEN: &str = "fake-jira-demo-token-0000";
/// The demo service account's OAuth 2.0 credential (see `main.rs`).
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "fake-demo-client-secret-0000";
/// The demo user's scoped API token (gateway only).
pub const DEMO_SCOPED_TOKEN: &str = "fake-demo-scoped-token-0000";
/// `Config::standard`'s cloud id.
pub const DEFAULT_CLOUD_ID: &str = "a436116f-02ce-4520-8fbb-7301462a1674";

impl Config {
    /// A realistic instance: project SEC (Task, Bug, Story, Epic), the default priorities,
    /// custom fields 10050 (number), 10051 (select of severities), 10052 (number), the
    /// usual link types, the flavor's default workflow and resolutions
    /// (`Workflow::cloud`/`Workflow::server`), issues SEC-1 and SEC-42 already there.
    pub fn standard(flavor: Flavor) -> Config {
        let mut screen_fields = BTreeMap::new();
        screen_fields.insert("customfield_10050".to_string(), FieldKind::Number);
        screen_fields.insert(
            "customfield_10051".to_string(),
            FieldKind::Select(
                ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
        );
        screen_fields.insert("customfield_10052".to_string(), FieldKind::Number);
        Config {
            flavor,
            users: HashMap::from([(DEMO_USER.to_string(), DEMO_TOKEN.to_string())]),
            personal_tokens: vec![],
            read_only_users: vec![],
            no_transition_users: vec![],
            blind_users: vec![],
            projects: vec![Project {
                key: "SEC".into(),
                id: "10000".into(),
                issue_types: ["Task", "Bug", "Story", "Epic"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                priorities: None,
                screen_fields,
            }],
            priorities: ["Highest", "High", "Medium", "Low", "Lowest"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            link_types: ["Relates", "Blocks", "Duplicate", "Cloners"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            workflow: Workflow::standard(flavor),
            resolutions: standard_resolutions(flavor),
            secrets: HashMap::new(),
            defer_indexing: false,
            random_faults: None,
            latency: Duration::ZERO,
            cloud_id: DEFAULT_CLOUD_ID.to_string(),
            oauth_clients: vec![],
            scoped_tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: String,
    pub key: String,
    /// The fields as received on create (labels kept up to date by edits).
    pub fields: Value,
    pub links: Vec<(String, String)>,
    pub comments: Vec<Comment>,
    /// The status name (see `Config::workflow`).
    pub status: String,
    /// Its category: "new", "indeterminate" or "done".
    pub status_category: String,
    pub resolution: Option<String>,
    /// Jira timestamps (`2026-12-01T14:44:46.123+0000`).
    pub resolutiondate: Option<String>,
    pub created: String,
    pub updated: String,
    /// Visible to search (see `Config::defer_indexing`).
    pub indexed: bool,
    /// The API version it was created through (2 or 3).
    pub api: u8,
}

/// A comment as received (ADF on v3, wiki text on v2) and when. It derefs to its body, so
/// `issue.comments[0].as_str()` reads a v2 comment's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub body: Value,
    pub created: String,
}

impl std::ops::Deref for Comment {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.body
    }
}

impl Issue {
    /// A new issue in `status`, created now.
    pub(crate) fn new(id: String, key: String, fields: Value, status: &Status, api: u8) -> Issue {
        let now = jira_now();
        Issue {
            id,
            key,
            fields,
            links: vec![],
            comments: vec![],
            status: status.name.clone(),
            status_category: status.category.clone(),
            resolution: None,
            resolutiondate: None,
            created: now.clone(),
            updated: now,
            indexed: true,
            api,
        }
    }
}

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The site (`https://acme.atlassian.net`, or the Server/DC base URL).
    Site,
    /// The Atlassian gateway (`FakeJira::start_gateway`): token endpoint and `/ex/jira/...`.
    Gateway,
}

/// One request Jira received (Secrets Manager calls are not among them), on either listener.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub listener: Listener,
    /// The client's port: one per TCP connection.
    pub peer_port: u16,
    pub path: String,
    pub authorization: Option<String>,
    /// The status answered (for a request never answered, the one it would have had).
    pub status: u16,
}

pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) issues: Vec<Issue>,
    pub(crate) next_id: u64,
    pub(crate) requests: Vec<Recorded>,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) secret_calls: usize,
    /// (issue key, transition id) of every transition applied, in order.
    pub(crate) transitions_applied: Vec<(String, String)>,
    pub(crate) rng: fastrand::Rng,
    /// Access tokens issued by the gateway's `/oauth/token`.
    pub(crate) tokens: Vec<oauth::IssuedToken>,
    /// Requests to `/oauth/token`, whatever their outcome.
    pub(crate) token_requests: usize,
    /// SQS `ChangeMessageVisibility` calls received, in order.
    pub(crate) visibility_changes: Vec<sqs::VisibilityChange>,
    /// SQS refuses every visibility change (an invalid receipt handle).
    pub(crate) sqs_refuses: bool,
}

/// A running fake Jira. Dropping it does not stop the server; the process ending does.
#[derive(Clone)]
pub struct FakeJira {
    pub base_url: String,
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeJira {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: Config) -> FakeJira {
        FakeJira::start_on("127.0.0.1:0".parse().expect("addr"), config)
            .await
            .expect("bind fake Jira")
    }

    pub async fn start_on(addr: SocketAddr, config: Config) -> std::io::Result<FakeJira> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut issues = Vec::new();
        for (i, key) in ["SEC-1", "SEC-42"].iter().enumerate() {
            if config
                .projects
                .iter()
                .any(|p| key.starts_with(&format!("{}-", p.key)))
            {
                // Work under way: the first "indeterminate" status.
                let wf = &config.workflow;
                let status = wf
                    .first_in("indeterminate")
                    .cloned()
                    .unwrap_or_else(|| wf.initial());
                issues.push(Issue::new(
                    format!("{}", 9000 + i),
                    key.to_string(),
                    json!({"summary": format!("Existing issue {key}")}),
                    &status,
                    2,
                ));
            }
        }
        let seed = config.random_faults.as_ref().map_or(0, |r| r.seed);
        let state = Arc::new(Mutex::new(State {
            rng: fastrand::Rng::with_seed(seed),
            config,
            issues,
            next_id: 10_001,
            requests: Vec::new(),
            faults: VecDeque::new(),
            secret_calls: 0,
            transitions_applied: Vec::new(),
            tokens: Vec::new(),
            token_requests: 0,
            visibility_changes: Vec::new(),
            sqs_refuses: false,
        }));
        serve::spawn(listener, state.clone(), Listener::Site, addr);
        Ok(FakeJira {
            base_url: format!("http://{addr}"),
            addr,
            state,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Issues created through the API (not the seeded SEC-1 and SEC-42).
    pub fn created(&self) -> Vec<Issue> {
        self.with(|s| {
            s.issues
                .iter()
                .filter(|i| i.id.parse::<u64>().unwrap_or(0) > 10_000)
                .cloned()
                .collect()
        })
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn secret_calls(&self) -> usize {
        self.with(|s| s.secret_calls)
    }

    /// The SQS visibility changes received (`ChangeMessageVisibility`), in order.
    pub fn visibility_changes(&self) -> Vec<VisibilityChange> {
        self.with(|s| s.visibility_changes.clone())
    }

    /// Makes SQS refuse (true) or accept visibility changes.
    pub fn refuse_visibility_changes(&self, refuse: bool) {
        self.with(|s| s.sqs_refuses = refuse)
    }

    pub fn push_fault(&self, path: &str, kind: FaultKind) {
        self.with(|s| {
            s.faults.push_back(Fault {
                path: path.to_string(),
                kind,
            })
        })
    }

    /// Drops the scripted faults not taken yet.
    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear())
    }

    /// Rotates a user's token (the old one stops working at once).
    pub fn set_token(&self, user: &str, token: &str) {
        self.with(|s| {
            s.config.users.insert(user.to_string(), token.to_string());
        })
    }

    pub fn set_secret(&self, id: &str, value: &str) {
        self.with(|s| {
            s.config.secrets.insert(id.to_string(), value.to_string());
        })
    }

    /// Cloud's index catches up: every issue created so far becomes visible to search.
    pub fn index_now(&self) {
        self.with(|s| s.issues.iter_mut().for_each(|i| i.indexed = true))
    }

    pub fn configure(&self, f: impl FnOnce(&mut Config)) {
        self.with(|s| f(&mut s.config))
    }
}

pub(crate) fn jira_error(
    status: StatusCode,
    messages: &[&str],
    errors: &BTreeMap<String, String>,
) -> Response {
    (
        status,
        axum::Json(json!({"errorMessages": messages, "errors": errors})),
    )
        .into_response()
}

pub(crate) fn authenticated_user(state: &State, headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    if let Some(b64) = auth.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, token) = text.split_once(':')?;
        return (state.config.users.get(user).map(String::as_str) == Some(token))
            .then(|| user.to_string());
    }
    if let Some(pat) = auth.strip_prefix("Bearer ") {
        return (state.config.flavor == Flavor::Server
            && state.config.personal_tokens.iter().any(|t| t == pat.trim()))
        .then(|| "pat-user".to_string());
    }
    None
}
