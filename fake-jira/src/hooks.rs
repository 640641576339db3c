//! Test hooks on the issue lifecycle: read an issue, put it in a status, backdate it, count
//! the transitions applied. They change state directly (no workflow rules, no
//! post-functions) except that an issue out of the done category never keeps a resolution.
//! An unknown issue key or a malformed timestamp panics: the test is wrong.

use crate::{jira_now, parse_jira_time, FakeJira, Issue, State, Status};

fn issue_mut<'a>(s: &'a mut State, key: &str) -> &'a mut Issue {
    s.issues
        .iter_mut()
        .find(|i| i.key == key || i.id == key)
        .unwrap_or_else(|| panic!("fake Jira has no issue {key}"))
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
        self.with(|s| {
            s.issues
                .iter()
                .find(|i| i.key == key || i.id == key)
                .cloned()
        })
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
