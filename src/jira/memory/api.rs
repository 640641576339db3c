//! `JiraApi` for `MemoryJira`: each operation records its call, takes its scripted fault,
//! and acts on the in-memory issues as Jira would.

use super::{Fault, MemIssue, MemoryJira, Op};
use crate::issue::ApiFlavor;
use crate::jira::IssueQuery;
use crate::jira::{
    AccessGrant, Call, CreatedIssue, Deployment, FoundIssue, JiraApi, JiraError, StatusCategory,
    Transition, TransitionChoice,
};
use serde_json::Value;
use std::collections::VecDeque;
use tokio::time::Instant;

fn finish<T>(value: T, late: Option<JiraError>) -> Result<T, JiraError> {
    match late {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

/// Whether the issue is one `query` asks for.
fn matches(issue: &MemIssue, query: &IssueQuery) -> bool {
    issue.project == query.project
        && issue.labels.contains(&query.label)
        && !(query.open_only && issue.status_category == StatusCategory::Done)
}

impl JiraApi for MemoryJira {
    async fn server_info(&self, call: Call<'_>) -> Result<Deployment, JiraError> {
        let late = self.enter(Op::ServerInfo, call).await?;
        finish(self.deployment, late)
    }

    async fn search(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        query: &IssueQuery,
        reconcile: &[String],
    ) -> Result<Vec<FoundIssue>, JiraError> {
        let late = self.enter(Op::Search, call).await?;
        let s = self.state();
        let mut found: Vec<FoundIssue> = s
            .issues
            .iter()
            .filter(|i| i.indexed || reconcile.contains(&i.id))
            .filter(|i| matches(i, query))
            .map(|i| FoundIssue {
                key: i.key.clone(),
                id: Some(i.id.clone()),
                status_category: Some(i.status_category.clone()),
                resolved_at: i.resolved_at,
                created_at: Some(i.created_at),
                labels: i.labels.clone(),
            })
            .collect();
        if query.newest_first {
            found.reverse();
        }
        found.truncate(query.limit as usize);
        finish(found, late)
    }

    async fn create_issue(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        body: &str,
    ) -> Result<CreatedIssue, JiraError> {
        let late = self.enter(Op::Create, call).await?;
        let body: Value = serde_json::from_str(body).map_err(|_| JiraError::Rejected {
            status: 400,
            messages: vec!["Unexpected character: not JSON".into()],
            field_errors: Default::default(),
        })?;
        let fields = body["fields"].clone();
        let project = fields["project"]["key"].as_str().unwrap_or("").to_string();
        let labels = fields["labels"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut s = self.state();
        let key = format!("{project}-{}", s.issues.len() + 1);
        let id = (10_000 + s.issues.len() + 1).to_string();
        let indexed = !s.lagging;
        let created_at = s.now;
        s.issues.push(MemIssue {
            id: id.clone(),
            key: key.clone(),
            project,
            labels,
            fields,
            comments: Vec::new(),
            status_category: StatusCategory::New,
            resolution: None,
            created_at,
            resolved_at: None,
            indexed,
        });
        finish(CreatedIssue { id, key }, late)
    }

    async fn get_json(&self, call: Call<'_>, path: &str) -> Result<Value, JiraError> {
        let late = self.enter(Op::GetJson, call).await?;
        let page = self.state().pages.get(path).cloned();
        let page = page.ok_or_else(|| JiraError::NotFound {
            detail: format!("no page at {path}"),
        })?;
        finish(page, late)
    }

    async fn tenant_info(
        &self,
        _site: &crate::hosts::JiraSite,
        _timeout: std::time::Duration,
    ) -> Result<String, JiraError> {
        let mut s = self.state();
        s.calls.push((Op::TenantInfo, Instant::now()));
        Ok(s.cloud_id.clone())
    }

    async fn oauth_token(
        &self,
        _auth: &crate::hosts::JiraSite,
        client_id: &str,
        client_secret: &crate::secrets::Token,
        _timeout: std::time::Duration,
    ) -> Result<AccessGrant, JiraError> {
        let mut s = self.state();
        s.calls.push((Op::OAuthToken, Instant::now()));
        let fault = s
            .faults
            .get_mut(&Op::OAuthToken)
            .and_then(VecDeque::pop_front);
        if let Some(Fault::Fail(e)) = fault {
            return Err(e);
        }
        let known = s
            .oauth_client
            .as_ref()
            .is_some_and(|(id, secret)| id == client_id && secret == client_secret.expose());
        if !known {
            return Err(JiraError::Unauthorized {
                detail: "access_denied: Unauthorized".into(),
            });
        }
        let token = format!("mem-access-{}", s.issued.len() + 1);
        let lifetime = s.token_lifetime;
        s.issued.push((token.clone(), Instant::now() + lifetime));
        Ok(AccessGrant {
            token: crate::secrets::Token::new(token),
            expires_in: lifetime,
            scopes: s.scopes.clone(),
        })
    }

    async fn edit_labels(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        issue_key: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), JiraError> {
        let late = self.enter(Op::EditLabels, call).await?;
        let mut s = self.state();
        let issue = Self::issue_mut(&mut s, issue_key)?;
        issue.labels.retain(|l| !remove.contains(l));
        for l in add {
            if !issue.labels.contains(l) {
                issue.labels.push(l.clone());
            }
        }
        finish((), late)
    }

    async fn recent_comments(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<String>, JiraError> {
        let late = self.enter(Op::Comments, call).await?;
        let mut s = self.state();
        let issue = Self::issue_mut(&mut s, issue_key)?;
        let newest: Vec<String> = issue
            .comments
            .iter()
            .rev()
            .take(100)
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
            .collect();
        finish(newest, late)
    }

    async fn transitions(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        issue_key: &str,
    ) -> Result<Vec<Transition>, JiraError> {
        let late = self.enter(Op::Transitions, call).await?;
        let mut s = self.state();
        Self::issue_mut(&mut s, issue_key)?;
        finish(s.workflow.clone(), late)
    }

    async fn transition(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        issue_key: &str,
        choice: &TransitionChoice,
    ) -> Result<(), JiraError> {
        let late = self.enter(Op::Transition, call).await?;
        let mut s = self.state();
        let id = choice.id.as_str();
        let resolution = choice.resolution.clone();
        let Some(t) = s.workflow.iter().find(|t| t.id == id).cloned() else {
            return Err(JiraError::Rejected {
                status: 400,
                messages: vec![format!("Transition id '{id}' is not valid for this issue.")],
                field_errors: Default::default(),
            });
        };
        if t.required_resolution.is_some() && resolution.is_none() {
            return Err(JiraError::Rejected {
                status: 400,
                messages: vec![],
                field_errors: [(
                    "resolution".to_string(),
                    "Resolution is required.".to_string(),
                )]
                .into(),
            });
        }
        let now = s.now;
        let issue = Self::issue_mut(&mut s, issue_key)?;
        issue.status_category = t.to_category.clone();
        if t.to_category == StatusCategory::Done {
            issue.resolution = resolution.clone().or(Some("Done".into()));
            issue.resolved_at = Some(now);
        } else {
            issue.resolution = None;
            issue.resolved_at = None;
        }
        s.transitions
            .push((issue_key.to_string(), id.to_string(), resolution));
        finish((), late)
    }

    async fn add_comment(
        &self,
        call: Call<'_>,
        _flavor: ApiFlavor,
        issue_key: &str,
        body: &Value,
    ) -> Result<(), JiraError> {
        let late = self.enter(Op::AddComment, call).await?;
        let mut s = self.state();
        Self::issue_mut(&mut s, issue_key)?
            .comments
            .push(body.clone());
        finish((), late)
    }
}
