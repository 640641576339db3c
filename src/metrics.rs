//! The CloudWatch metrics of an invocation, from what became of each alert and what it
//! cost: Embedded Metric Format log lines (no API calls; CloudWatch extracts them from the
//! function's log). One summary line per invocation, plus one line per failure class seen.

use crate::deliver::{Outcome, Status};
use crate::failure::{Failure, FailureClass};
use crate::meter::{LedgerStats, Stats};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "DetectionJira";
const SERVICE: &str = "detection-jira";
/// EMF takes at most 100 values per metric in one line.
const MAX_VALUES: usize = 100;

/// Counts for one invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub received: u32,
    pub created: u32,
    pub duplicates: u32,
    pub comments: u32,
    pub resolved: u32,
    pub reopened: u32,
    pub skipped: u32,
    pub failed: BTreeMap<FailureClass, u32>,
    pub retries: u32,
    pub jira_requests: u32,
    pub jira_ms: Vec<u64>,
    pub ledger: LedgerStats,
    pub ledger_ms: Vec<u64>,
}

impl Tally {
    pub fn add(&mut self, outcome: &Result<Outcome, Failure>, stats: Option<&Stats>) {
        self.received += 1;
        match outcome {
            Ok(Outcome::Delivered(d)) => match d.status {
                Status::Created => self.created += 1,
                Status::Duplicate => self.duplicates += 1,
                Status::Commented => self.comments += 1,
                Status::Resolved => self.resolved += 1,
                Status::Reopened => self.reopened += 1,
            },
            Ok(Outcome::Skipped(_)) => self.skipped += 1,
            Err(f) => *self.failed.entry(f.class).or_default() += 1,
        }
        if let Some(s) = stats {
            self.retries += s.retries;
            self.jira_requests += s.requests;
            self.jira_ms.extend(s.jira_ms.iter().copied());
            self.ledger_ms.extend(s.ledger_ms.iter().copied());
            self.ledger.claims += s.ledger.claims;
            self.ledger.takeovers += s.ledger.takeovers;
            self.ledger.hits += s.ledger.hits;
            self.ledger.busy += s.ledger.busy;
        }
    }

    /// The EMF lines for this invocation, stamped `timestamp_ms`.
    pub fn emf_lines(&self, timestamp_ms: u64) -> Vec<String> {
        let failed: u32 = self.failed.values().sum();
        let counts = [
            ("AlertsReceived", self.received),
            ("IssuesCreated", self.created),
            ("Duplicates", self.duplicates),
            ("Comments", self.comments),
            ("IssuesResolved", self.resolved),
            ("IssuesReopened", self.reopened),
            ("Skipped", self.skipped),
            ("Failed", failed),
            ("Retries", self.retries),
            ("JiraRequests", self.jira_requests),
            ("LedgerClaims", self.ledger.claims),
            ("LedgerTakeOvers", self.ledger.takeovers),
            ("LedgerHits", self.ledger.hits),
            ("LedgerInProgress", self.ledger.busy),
        ];
        let mut metrics: Vec<Value> = counts
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
            .collect();
        let mut line = Map::new();
        line.insert("Service".into(), json!(SERVICE));
        for (name, value) in counts {
            line.insert(name.into(), json!(value));
        }
        for (name, values) in [
            ("JiraLatency", &self.jira_ms),
            ("LedgerLatency", &self.ledger_ms),
        ] {
            if !values.is_empty() {
                metrics.push(json!({"Name": name, "Unit": "Milliseconds"}));
                let values: Vec<u64> = values.iter().take(MAX_VALUES).copied().collect();
                line.insert(name.into(), json!(values));
            }
        }
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Service"]], "Metrics": metrics}]
            }),
        );
        let mut lines = vec![Value::Object(line).to_string()];
        for (class, n) in &self.failed {
            lines.push(
                json!({
                    "_aws": {
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Service", "FailureClass"]], "Metrics": [{"Name": "Failed", "Unit": "Count"}]}]
                    },
                    "Service": SERVICE,
                    "FailureClass": class.as_str(),
                    "Failed": n,
                })
                .to_string(),
            );
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_every_count_and_a_line_per_failure_class() {
        let mut t = Tally::default();
        t.add(
            &Ok(Outcome::Skipped(crate::deliver::Skip::NothingOpen)),
            None,
        );
        t.add(&Err(Failure::bad_input("m", "f")), None);
        t.add(
            &Err(Failure::deadline()),
            Some(&Stats {
                requests: 3,
                retries: 2,
                jira_ms: vec![5, 7],
                ledger_ms: vec![3],
                ledger: LedgerStats {
                    claims: 1,
                    takeovers: 1,
                    hits: 0,
                    busy: 0,
                },
            }),
        );
        let lines: Vec<Value> = t
            .emf_lines(1)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["AlertsReceived"], 3);
        assert_eq!(lines[0]["Failed"], 2);
        assert_eq!(lines[0]["Retries"], 2);
        assert_eq!(lines[0]["JiraLatency"], json!([5, 7]));
        assert_eq!(lines[0]["LedgerLatency"], json!([3]));
        assert_eq!(lines[0]["LedgerTakeOvers"], 1);
        let declared: Vec<&str> = lines[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in declared {
            assert!(lines[0].get(name).is_some(), "{name} declared but missing");
        }
        assert_eq!(lines[1]["FailureClass"], "bad-input");
        assert_eq!(lines[2]["FailureClass"], "timeout");
    }
}
