//! `FakeJira`: a running fake, its listeners, and what a test reads from it and changes in
//! it (more test hooks in `hooks.rs`).

use crate::config::Config;
use crate::faults::{Fault, FaultKind};
use crate::issue::Issue;
use crate::serve;
use crate::sqs::VisibilityChange;
use crate::state::{self, Listener, Recorded, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
        let state = Arc::new(Mutex::new(State::new(config)));
        serve::spawn(listener, state.clone(), Listener::Site, addr);
        Ok(FakeJira {
            base_url: format!("http://{addr}"),
            addr,
            state,
        })
    }

    /// Starts the Atlassian gateway on 127.0.0.1 with a free port (another host than the
    /// site, as `api.atlassian.com` is); answers its base URL (`http://127.0.0.1:PORT`), to
    /// be used for both `ATLASSIAN_API_URL` and `ATLASSIAN_AUTH_URL`.
    pub async fn start_gateway(&self) -> String {
        self.start_gateway_on("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the fake Atlassian gateway")
    }

    /// Starts the gateway on `addr`; answers its base URL. A Server/DC fake's gateway
    /// answers 404 to everything.
    pub async fn start_gateway_on(&self, addr: SocketAddr) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        serve::spawn(listener, self.state.clone(), Listener::Gateway, self.addr);
        Ok(format!("http://{bound}"))
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut state::lock(&self.state))
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
