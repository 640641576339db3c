//! An issue as the fake holds it, its comments, and how its status and resolution change.

use crate::clock::jira_now;
use crate::workflow::{Status, Workflow};
use serde_json::Value;

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

    /// Puts the issue in `to`. Leaving the done category clears the resolution and its
    /// date, as Jira's workflows do on reopening.
    pub(crate) fn move_to(&mut self, to: &Status, now: &str) {
        self.status = to.name.clone();
        self.status_category = to.category.clone();
        if to.category != "done" {
            self.resolution = None;
            self.resolutiondate = None;
        }
        self.updated = now.to_string();
    }

    /// Sets (or clears) the resolution; the resolution date follows it.
    pub(crate) fn resolve(&mut self, resolution: Option<String>, now: &str) {
        self.resolutiondate = resolution.as_ref().map(|_| now.to_string());
        self.resolution = resolution;
        self.updated = now.to_string();
    }
}

/// The issue's status as the workflow knows it (a status the workflow no longer has keeps
/// its name and category, id "0").
pub(crate) fn issue_status(wf: &Workflow, issue: &Issue) -> Status {
    wf.status(&issue.status)
        .filter(|s| s.category == issue.status_category)
        .cloned()
        .unwrap_or_else(|| Status {
            id: "0".into(),
            name: issue.status.clone(),
            category: issue.status_category.clone(),
        })
}
