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

// Each module has one job, and the modules form a DAG, in layers: a module imports from the
// layers before its own (and from its own layer, in no circle), never from a later one, and
// none imports from this root. Vocabulary, with no state:
mod adf;
mod clock;
mod faults;
mod flavor;
mod oauth;
mod query;
mod scopes;
mod sqs;
mod workflow;

// The data:
mod config;
mod issue;
mod state;

// Jira's operations on it:
mod comments;
mod errors;
mod lookup;
mod meta;
mod page;
mod rules;
mod screen;
mod search;
mod secrets;
mod transitions;

// HTTP: who calls, what a handler reads, the handlers, the routing tables, the listeners:
mod api;
mod auth;
mod extract;
mod gateway;
mod routes;
mod serve;
mod site;

// The handle a test holds:
mod fake;
mod hooks;

// Apart: a Lambda Runtime API, to run the function's binary as Lambda does.
pub mod runtime;

pub use clock::{format_millis, jira_now, parse_jira_time};
pub use config::{
    Config, FieldKind, Project, DEFAULT_CLOUD_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
    DEMO_SCOPED_TOKEN, DEMO_TOKEN, DEMO_USER,
};
pub use fake::FakeJira;
pub use faults::{FaultKind, RandomFaults};
pub use flavor::Flavor;
pub use issue::{Comment, Issue};
pub use oauth::{OAuthClient, ScopedToken};
pub use sqs::VisibilityChange;
pub use state::{Listener, Recorded};
pub use workflow::{standard_resolutions, Status, Transition, Workflow};
