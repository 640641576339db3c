//! A fake's configuration: its flavor, users and credentials, projects, workflow, and the
//! misbehaviour it is asked for; `Config::standard` is a realistic instance.

use crate::faults::RandomFaults;
use crate::flavor::Flavor;
use crate::oauth::{OAuthClient, ScopedToken};
use crate::workflow::{standard_resolutions, Workflow};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Number,
    /// A select list with these option values.
    Select(Vec<String>),
    MultiSelect(Vec<String>),
    /// Parents and their children.
    Cascading(Vec<(String, Vec<String>)>),
    /// A single line.
    Text,
    /// Paragraphs (ADF on v3).
    TextArea,
    Date,
    DateTime,
    User,
    /// An array of strings without whitespace.
    Labels,
    /// The project's components, by name.
    Components(Vec<String>),
    /// The project's versions, by name.
    Versions(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Project {
    pub key: String,
    pub id: String,
    pub issue_types: Vec<String>,
    /// Server/DC priority scheme: the priorities this project may use (None: all).
    pub priorities: Option<Vec<String>>,
    /// Fields on the create screen beyond summary, description, priority, labels, parent
    /// and links (custom fields and system ones such as components).
    pub screen_fields: BTreeMap<String, FieldKind>,
    /// The names Jira shows for screen fields (the id when not named).
    pub field_names: BTreeMap<String, String>,
    /// Screen fields a create must set.
    pub required_fields: Vec<String>,
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
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let more = [
            (
                "customfield_10060",
                "Team",
                FieldKind::Select(strings(&["Red", "Blue", "SOC"])),
            ),
            ("customfield_10061", "Story Points", FieldKind::Number),
            (
                "customfield_10062",
                "Impact",
                FieldKind::Cascading(vec![
                    ("High".into(), strings(&["Data", "Service"])),
                    ("Low".into(), strings(&["Data"])),
                ]),
            ),
            (
                "customfield_10063",
                "Affected Systems",
                FieldKind::MultiSelect(strings(&["web", "db", "vpn"])),
            ),
            ("customfield_10064", "Analyst Notes", FieldKind::TextArea),
            ("customfield_10065", "First Seen", FieldKind::DateTime),
            ("customfield_10066", "Tags", FieldKind::Labels),
            ("customfield_10067", "Runbook", FieldKind::Text),
            (
                "components",
                "Components",
                FieldKind::Components(strings(&["SOC", "Cloud", "Identity"])),
            ),
            (
                "fixVersions",
                "Fix versions",
                FieldKind::Versions(strings(&["1.0", "2.0"])),
            ),
            ("duedate", "Due date", FieldKind::Date),
            ("assignee", "Assignee", FieldKind::User),
            ("environment", "Environment", FieldKind::TextArea),
        ];
        let mut field_names = BTreeMap::new();
        for (id, name, kind) in more {
            screen_fields.insert(id.to_string(), kind);
            field_names.insert(id.to_string(), name.to_string());
        }
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
                field_names,
                required_fields: vec![],
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
