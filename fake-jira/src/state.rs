//! What a fake holds while it runs: its configuration, the issues, and the record of what
//! it received, behind one mutex shared by its listeners.

use crate::config::Config;
use crate::faults::Fault;
use crate::issue::Issue;
use crate::oauth::IssuedToken;
use crate::sqs::VisibilityChange;
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

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
    pub(crate) tokens: Vec<IssuedToken>,
    /// Requests to `/oauth/token`, whatever their outcome.
    pub(crate) token_requests: usize,
    /// SQS `ChangeMessageVisibility` calls received, in order.
    pub(crate) visibility_changes: Vec<VisibilityChange>,
    /// SQS refuses every visibility change (an invalid receipt handle).
    pub(crate) sqs_refuses: bool,
}

impl State {
    /// A fresh state: issues SEC-1 and SEC-42 already there (in the first "indeterminate"
    /// status) when the configuration has their project.
    pub(crate) fn new(config: Config) -> State {
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
        State {
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
        }
    }
}

/// The state, whether or not a holder panicked (a handler's panic leaves it consistent).
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}
