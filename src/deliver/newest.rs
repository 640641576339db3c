//! A detection's newest issue through the ledger table: Cloud's search index lags behind a
//! create by seconds, so a run in another container may not find the issue the previous run
//! of its detection made. The table records it at the create; the search's answer is then
//! completed with it (read by key, which is always current).

use super::{Deliverer, Purpose};
use crate::deliver::Connection;
use crate::jira::{parse_found, FoundIssue, IssueQuery, JiraApi, SEARCH_FIELDS};
use crate::meter::Meter;
use crate::secrets::SecretSource;
use tokio::time::Instant;

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    /// The detection's newest issue as the ledger table knows it (none without a table;
    /// trouble reading it is only logged: the search still answers).
    pub(super) async fn newest_known(&self, detection: &str) -> Option<String> {
        match self.ledger.newest_issue(detection).await {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the detection's newest issue from the idempotency ledger; relying on Jira's search");
                None
            }
        }
    }

    pub(super) async fn note_newest(&self, detection: &str, key: &str) {
        if let Err(e) = self.ledger.note_newest(detection, key).await {
            tracing::warn!(error = %e, issue_key = %key, "could not note the detection's newest issue in the idempotency ledger; its next run relies on Jira's search");
        }
    }

    /// The search's answer with the ledger's newest issue in it, when the search missed it
    /// (read by key; left out when it no longer exists, when it is no longer one the search
    /// asks for: moved to another project, its detection label taken off, or done when
    /// the search wants open issues).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn with_newest(
        &self,
        mut found: Vec<FoundIssue>,
        key: &str,
        purpose: Purpose,
        query: &IssueQuery,
        conn: &Connection<'_>,
        cutoff: Instant,
        meter: &Meter,
    ) -> Vec<FoundIssue> {
        if found.iter().any(|f| f.key == key) {
            return found;
        }
        let path = format!(
            "{}/issue/{key}?fields={}",
            conn.flavor.path(),
            SEARCH_FIELDS.join(",")
        );
        let issue = match self.read(conn, &path, cutoff, meter).await {
            Ok(v) => parse_found(&v),
            Err(e) => {
                tracing::info!(error = %e, issue_key = %key, "the detection's newest issue in the ledger could not be read; relying on Jira's search");
                None
            }
        };
        let wanted = |i: &FoundIssue| {
            i.key.starts_with(&format!("{}-", query.project))
                && i.labels.contains(&query.label)
                && (purpose == Purpose::Latest || !i.is_done())
        };
        let Some(issue) = issue.filter(wanted) else {
            return found;
        };
        merge_newest(&mut found, issue, query.limit);
        found
    }
}

/// Adds `issue` to a search answer ordered newest first, keeping at most `max`.
fn merge_newest(found: &mut Vec<FoundIssue>, issue: FoundIssue, max: u32) {
    found.push(issue);
    // Stable: issues without a creation time keep their place after the dated ones.
    found.sort_by_key(|i| std::cmp::Reverse(i.created_at.unwrap_or(i64::MIN)));
    found.truncate(max.max(1) as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(key: &str, created: i64) -> FoundIssue {
        FoundIssue {
            key: key.into(),
            created_at: Some(created),
            ..FoundIssue::default()
        }
    }

    #[test]
    fn the_newest_issue_takes_its_place_by_creation_time() {
        let mut found = vec![issue("SEC-5", 50), issue("SEC-3", 30)];
        merge_newest(&mut found, issue("SEC-7", 70), 2);
        let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["SEC-7", "SEC-5"]);
        let mut found = vec![];
        merge_newest(&mut found, issue("SEC-7", 70), 1);
        assert_eq!(found.len(), 1);
    }
}
