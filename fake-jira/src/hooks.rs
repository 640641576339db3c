//! Test hooks on the issue lifecycle (read an issue, put it in a status, backdate it, count
//! the transitions applied) and on the gateway's OAuth credentials. They change state
//! directly (no workflow rules, no post-functions) except that an issue out of the done
//! category never keeps a resolution. An unknown issue key, OAuth client or a malformed
//! timestamp panics: the test is wrong.

use crate::clock::{jira_now, parse_jira_time};
use crate::fake::FakeJira;
use crate::issue::Issue;
use crate::lookup;
use crate::state::State;
use crate::workflow::Status;
use tokio::time::Instant;

fn issue_mut<'a>(s: &'a mut State, key: &str) -> &'a mut Issue {
    lookup::issue_mut(s, key).unwrap_or_else(|| panic!("fake Jira has no issue {key}"))
}

fn checked(ts: &str) -> String {
    assert!(
        parse_jira_time(ts).is_some(),
        "{ts:?} is not a Jira timestamp (2026-12-01T14:44:46.123+0000)"
    );
    ts.to_string()
}

impl FakeJira {
    /// The issue with this key or id, as the fake holds it now.
    pub fn issue(&self, key: &str) -> Option<Issue> {
        self.with(|s| lookup::issue(s, key).cloned())
    }

    /// Every issue, the seeded SEC-1 and SEC-42 included, in creation order.
    pub fn issues(&self) -> Vec<Issue> {
        self.with(|s| s.issues.clone())
    }

    /// (issue key, transition id) of each transition applied through the API, in order.
    pub fn transitions_applied(&self) -> Vec<(String, String)> {
        self.with(|s| s.transitions_applied.clone())
    }

    /// Puts the issue in the workflow status `name` (leaving the done category clears the
    /// resolution; entering it sets none: see `set_resolution`).
    pub fn set_status(&self, key: &str, name: &str) {
        self.with(|s| {
            let status = s
                .config
                .workflow
                .status(name)
                .cloned()
                .unwrap_or_else(|| panic!("the workflow has no status {name:?}"));
            issue_mut(s, key).move_to(&status, &jira_now());
        })
    }

    /// Puts the issue in the first status of `category` ("new", "indeterminate", "done");
    /// with no such status in the workflow, only the category changes.
    pub fn set_status_category(&self, key: &str, category: &str) {
        self.with(|s| {
            let status = s.config.workflow.first_in(category).cloned();
            let issue = issue_mut(s, key);
            let status = status.unwrap_or_else(|| Status {
                id: "0".into(),
                name: issue.status.clone(),
                category: category.into(),
            });
            issue.move_to(&status, &jira_now());
        })
    }

    /// Sets (Some) or clears (None) the resolution; its date becomes now, or none.
    pub fn set_resolution(&self, key: &str, resolution: Option<&str>) {
        self.with(|s| issue_mut(s, key).resolve(resolution.map(str::to_string), &jira_now()))
    }

    /// Backdates the resolution date (to pretend it was resolved long ago).
    pub fn set_resolved_at(&self, key: &str, jira_timestamp: &str) {
        let ts = checked(jira_timestamp);
        self.with(|s| issue_mut(s, key).resolutiondate = Some(ts))
    }

    /// Backdates the creation (search orders by it).
    pub fn set_created_at(&self, key: &str, jira_timestamp: &str) {
        let ts = checked(jira_timestamp);
        self.with(|s| issue_mut(s, key).created = ts)
    }

    pub fn set_updated_at(&self, key: &str, jira_timestamp: &str) {
        let ts = checked(jira_timestamp);
        self.with(|s| issue_mut(s, key).updated = ts)
    }
}

impl FakeJira {
    /// Requests to the gateway's `/oauth/token` so far, whatever their outcome.
    pub fn token_requests(&self) -> usize {
        self.with(|s| s.token_requests)
    }

    /// Every access token issued so far expires now (the next use answers 401).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        self.with(|s| s.tokens.iter_mut().for_each(|t| t.expires_at = now))
    }

    /// The service account behind `client_id` loses access to the Jira app: the token
    /// endpoint answers it 403 and its access tokens stop working (401 at the gateway).
    /// Panics when there is no such client: the test is wrong.
    pub fn revoke_app(&self, client_id: &str) {
        self.with(|s| {
            let client = s
                .config
                .oauth_clients
                .iter_mut()
                .find(|c| c.client_id == client_id)
                .unwrap_or_else(|| panic!("fake Jira has no OAuth client {client_id}"));
            client.jira_access = false;
        })
    }
}
