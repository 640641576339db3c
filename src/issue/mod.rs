//! Building the Jira issue from an alert (the README's issue table). Pure code: no I/O.
//!
//! `IssueSpec` is the issue before it is rendered for one API version, so that the delivery
//! code can drop an optional field Jira rejected and render it again.

mod body;
pub mod convert;
mod description;
mod fingerprint;
pub mod text;

pub use description::{Block, Description, DESCRIPTION_LIMIT};
pub use fingerprint::{detection_label, fingerprint_label};

use crate::alert::{Alert, Detection, IssueLink};
use serde_json::{json, Value};
use std::collections::HashSet;
use text::{clean_label, one_line_summary};

/// Always on every issue, so Jira automation can find them.
pub const BASE_LABEL: &str = "security-detection";

/// Which REST API, and so which description format, an issue is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiFlavor {
    /// Jira Cloud, `/rest/api/3`, Atlassian Document Format.
    V3,
    /// Jira Server / Data Center, `/rest/api/2`, wiki markup.
    V2,
}

impl ApiFlavor {
    pub fn path(self) -> &'static str {
        match self {
            ApiFlavor::V3 => "/rest/api/3",
            ApiFlavor::V2 => "/rest/api/2",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssueSpec {
    pub project_key: String,
    pub issue_type: String,
    pub summary: String,
    pub description: Description,
    pub priority: Option<String>,
    /// Labels this function relies on (base label, fingerprint): never dropped.
    pub system_labels: Vec<String>,
    /// Labels from the destination: dropped if Jira rejects them.
    pub labels: Vec<String>,
    /// Field id -> value, in the order configured: `custom_fields`, then `fields` (each
    /// already in the shape its field takes).
    pub custom_fields: Vec<(String, Value)>,
    pub parent_key: Option<String>,
    pub links: Vec<IssueLink>,
}

/// Builds the issue for an alert. `system_labels` are added after `security-detection`
/// (the delivery code passes the fingerprint labels here).
pub fn build_issue(alert: &Alert, system_labels: &[String]) -> IssueSpec {
    let dest = &alert.destination;
    let det = &alert.detection;
    // First occurrence wins, in order; a set keeps this linear in the number of labels.
    let mut seen: HashSet<String> = HashSet::new();
    let mut keep = |l: &String| {
        let l = clean_label(l);
        (!l.is_empty() && seen.insert(l.clone())).then_some(l)
    };
    let mut labels_seen: Vec<String> = std::iter::once(BASE_LABEL.to_string())
        .chain(system_labels.iter().cloned())
        .filter_map(|l| keep(&l))
        .collect();
    let system_count = labels_seen.len();
    labels_seen.extend(dest.labels.iter().filter_map(&mut keep));
    let labels = labels_seen.split_off(system_count);

    let mut custom_fields = Vec::new();
    if let (Some(field), Some(id)) = (&dest.custom_fields.detection_id, det.numeric_id) {
        custom_fields.push((field.clone(), json!(id)));
    }
    if let Some(field) = &dest.custom_fields.severity {
        custom_fields.push((field.clone(), json!({"value": det.severity.as_str()})));
    }
    if let (Some(field), Some(count)) = (&dest.custom_fields.match_count, det.match_count) {
        custom_fields.push((field.clone(), json!(count)));
    }

    IssueSpec {
        project_key: dest.project_key.clone(),
        issue_type: dest.issue_type.clone(),
        summary: one_line_summary(det.severity.as_str(), &det.name),
        description: describe(det),
        priority: dest.priority.priority_for(det.severity),
        system_labels: labels_seen,
        labels,
        custom_fields,
        parent_key: dest.parent_key.clone(),
        links: dest.links.clone(),
    }
}

/// The description items, in the order the README lists them.
pub fn describe(det: &Detection) -> Description {
    let mut d = Description::default();
    d.push(Block::Heading(det.name.clone()));
    if let Some(text) = &det.description {
        d.push(Block::Text(text.clone()));
    }
    let mut facts = vec![
        ("Severity", det.severity.as_str().to_string()),
        ("Outcome", det.outcome.as_str().to_string()),
    ];
    if let Some(n) = det.match_count {
        facts.push(("Match count", n.to_string()));
    }
    facts.push(("Detection ID", det.id.clone()));
    if let Some(v) = &det.run_type {
        facts.push(("Run type", v.clone()));
    }
    if let Some(t) = &det.threshold {
        let parts: Vec<String> = [
            t.operator.as_ref().map(|v| format!("operator {v}")),
            t.value.as_ref().map(|v| format!("value {v}")),
            t.eagerness.as_ref().map(|v| format!("eagerness {v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            facts.push(("Threshold", parts.join(", ")));
        }
    }
    for (label, value) in [
        ("Exhaustiveness", &det.exhaustiveness),
        ("Search ID", &det.search_id),
        ("Trace ID", &det.trace_id),
        ("Ran at", &det.ran_at),
    ] {
        if let Some(v) = value {
            facts.push((label, v.clone()));
        }
    }
    if let Some((start, end)) = &det.time_range {
        let range = match (start, end) {
            (Some(s), Some(e)) => Some(format!("{s} to {e}")),
            (Some(s), None) => Some(format!("from {s}")),
            (None, Some(e)) => Some(format!("until {e}")),
            (None, None) => None,
        };
        if let Some(r) = range {
            facts.push(("Time range", r));
        }
    }
    d.push(Block::Facts(
        facts.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ));
    if let Some(url) = &det.replay_url {
        if text::is_web_url(url) {
            d.push(Block::Link {
                label: "Replay".into(),
                text: "Open the detection replay".into(),
                href: url.trim().to_string(),
            });
        } else {
            // Only http(s) becomes a link: a javascript: or data: URL must not be clickable.
            d.push(Block::Facts(vec![(
                "Replay (not an http(s) link, shown as text)".into(),
                url.clone(),
            )]));
        }
    }
    if !det.errors.is_empty() {
        d.push(Block::Heading("Errors".into()));
        let mut items = det.errors.clone();
        if det.errors_omitted > 0 {
            items.push(format!("… and {} more", det.errors_omitted));
        }
        d.push(Block::List(items));
    }
    d
}

impl IssueSpec {
    /// All labels, in order: system labels first.
    pub fn all_labels(&self) -> Vec<String> {
        self.system_labels
            .iter()
            .chain(self.labels.iter())
            .cloned()
            .collect()
    }

    /// Removes an optional field Jira rejected and records why in the description.
    /// Returns false when `field` is not one this function may drop (a required field).
    pub fn drop_field(&mut self, field: &str, reason: &str) -> bool {
        let what = match field {
            "priority" if self.priority.is_some() => {
                format!("priority {:?}", self.priority.take().unwrap_or_default())
            }
            "labels" if !self.labels.is_empty() => {
                let dropped = std::mem::take(&mut self.labels).join(", ");
                format!("labels {dropped}")
            }
            "parent" if self.parent_key.is_some() => {
                format!("parent {}", self.parent_key.take().unwrap_or_default())
            }
            "issuelinks" if !self.links.is_empty() => {
                let dropped: Vec<String> = std::mem::take(&mut self.links)
                    .into_iter()
                    .map(|l| format!("{} {}", l.link_type, l.key))
                    .collect();
                format!("issue links ({})", dropped.join(", "))
            }
            f if self.custom_fields.iter().any(|(id, _)| id == f) => {
                self.custom_fields.retain(|(id, _)| id != f);
                match f.starts_with("customfield_") {
                    true => format!("custom field {f}"),
                    false => format!("field {f}"),
                }
            }
            _ => return false,
        };
        self.description.note(format!(
            "Delivery note: {what} was left out because Jira rejected it: {reason}"
        ));
        true
    }

    /// Sets a field by id (a `fields` entry), replacing an earlier value of it.
    pub fn set_field(&mut self, id: &str, value: Value) {
        self.custom_fields.retain(|(f, _)| f != id);
        self.custom_fields.push((id.to_string(), value));
    }

    /// A configured field that could not be sent: the description says which and why.
    pub fn leave_out(&mut self, what: &str, reason: &str) {
        self.description
            .note(format!("Delivery note: {what} was left out: {reason}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{triage, Triage};
    use serde_json::json;

    pub(crate) fn full_alert() -> Value {
        json!({
            "destination": {
                "instance_url": "https://acme.atlassian.net",
                "email": "bot@acme.example",
                "api_token_secret": "jira/secops",
                "project_key": "SEC",
                "priority_map": {"HIGH": "P2"},
                "labels": ["team blue", "security-detection", "team blue", "  "],
                "custom_fields": {"detection_id": "customfield_10050", "severity": "customfield_10051", "match_count": "customfield_10052"},
                "parent_key": "SEC-1",
                "links": [{"type": "Relates", "key": "SEC-42"}]
            },
            "detection": {
                "id": 4211,
                "name": "Impossible travel for privileged user",
                "description": "Sign-ins from two countries within 10 minutes.\n\nSecond paragraph *bold*? {code}",
                "severity": "HIGH",
                "outcome": "MATCHED",
                "match_count": 17,
                "run_type": "SCHEDULED",
                "threshold": {"operator": "GREATER_THAN", "value": 0, "eagerness": "EAGER"},
                "exhaustiveness": "EXHAUSTIVE",
                "search_id": "srch-8f2c",
                "trace_id": "1-6543-abcdef",
                "ran_at": "2026-11-24T10:00:00Z",
                "time_range": {"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T10:00:00Z"},
                "replay_url": "https://app.example.com/replay/srch-8f2c",
                "errors": ["partial results: index lag"]
            }
        })
    }

    pub(crate) fn alert_of(v: &Value) -> Alert {
        match triage(v).unwrap() {
            Triage::Deliver(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_of_a_full_alert() {
        let spec = build_issue(&alert_of(&full_alert()), &["detection-run-abc".into()]);
        let body = spec.to_body(ApiFlavor::V3).parse::<Value>().unwrap();
        let f = &body["fields"];
        assert_eq!(f["summary"], "[HIGH] Impossible travel for privileged user");
        assert_eq!(f["project"], json!({"key": "SEC"}));
        assert_eq!(f["issuetype"], json!({"name": "Task"}));
        assert_eq!(f["priority"], json!({"name": "P2"}));
        assert_eq!(
            f["labels"],
            json!(["security-detection", "detection-run-abc", "team-blue"])
        );
        assert_eq!(f["customfield_10050"], json!(4211));
        assert_eq!(f["customfield_10051"], json!({"value": "HIGH"}));
        assert_eq!(f["customfield_10052"], json!(17));
        assert_eq!(f["parent"], json!({"key": "SEC-1"}));
        assert_eq!(f["description"]["type"], "doc");
        assert_eq!(
            body["update"]["issuelinks"][0]["add"],
            json!({"type": {"name": "Relates"}, "outwardIssue": {"key": "SEC-42"}})
        );
    }

    #[test]
    fn v2_description_is_wiki_text_with_every_item() {
        let spec = build_issue(&alert_of(&full_alert()), &[]);
        let body = spec.to_body(ApiFlavor::V2).parse::<Value>().unwrap();
        let d = body["fields"]["description"]
            .as_str()
            .expect("a string on v2");
        for item in [
            "Impossible travel for privileged user",
            "Sign\\-ins from two countries",
            "Second paragraph \\*bold\\*\\? \\{code\\}",
            "HIGH",
            "MATCHED",
            "17",
            "SCHEDULED",
            "GREATER\\_THAN",
            "EAGER",
            "EXHAUSTIVE",
            "srch\\-8f2c",
            "1\\-6543\\-abcdef",
            "2026\\-11\\-24T10:00:00Z",
            "[Open the detection replay|https://app.example.com/replay/srch-8f2c]",
            "partial results: index lag",
        ] {
            assert!(d.contains(item), "missing {item:?} in\n{d}");
        }
    }

    #[test]
    fn no_priority_without_configuration() {
        let mut v = full_alert();
        v["destination"]
            .as_object_mut()
            .unwrap()
            .remove("priority_map");
        let body = build_issue(&alert_of(&v), &[])
            .to_body(ApiFlavor::V3)
            .parse::<Value>()
            .unwrap();
        assert!(body["fields"].get("priority").is_none());
    }

    #[test]
    fn dropping_optional_fields_adds_a_note() {
        let mut spec = build_issue(&alert_of(&full_alert()), &["detection-run-abc".into()]);
        assert!(spec.drop_field("priority", "The priority selected is invalid."));
        assert!(spec.drop_field("customfield_10051", "not on the screen"));
        assert!(spec.drop_field("labels", "bad"));
        assert!(spec.drop_field(
            "issuelinks",
            "No issue link type with name 'Relates' found."
        ));
        assert!(!spec.drop_field("summary", "too long"));
        assert!(!spec.drop_field("customfield_999", "unknown"));
        let body = spec.to_body(ApiFlavor::V2).parse::<Value>().unwrap();
        let f = &body["fields"];
        assert!(f.get("priority").is_none());
        assert!(f.get("customfield_10051").is_none());
        assert_eq!(
            f["labels"],
            json!(["security-detection", "detection-run-abc"])
        );
        assert!(body.get("update").is_none());
        let d = f["description"].as_str().unwrap();
        assert!(d.contains("The priority selected is invalid."), "{d}");
        assert!(d.contains("customfield\\_10051"), "{d}");
    }

    #[test]
    fn a_million_errors_are_counted_not_copied() {
        let mut v = full_alert();
        v["detection"]["errors"] = json!(vec!["boom"; 1_000_000]);
        let a = alert_of(&v);
        assert_eq!(a.detection.errors.len(), crate::alert::ERRORS_KEPT);
        assert_eq!(
            a.detection.errors_omitted,
            1_000_000 - crate::alert::ERRORS_KEPT
        );
        let d = build_issue(&a, &[])
            .to_body(ApiFlavor::V2)
            .parse::<Value>()
            .unwrap()["fields"]["description"]
            .to_string();
        assert!(d.contains("and 999950 more"), "{d}");
    }

    #[test]
    fn replay_url_that_is_not_http_never_reaches_the_issue() {
        // Refused when the alert is parsed, so never a link.
        let mut v = full_alert();
        v["detection"]["replay_url"] = json!("javascript:alert(1)");
        let e = triage(&v).unwrap_err();
        assert_eq!(e.fields(), ["detection.replay_url"]);
    }

    #[test]
    fn replay_link_is_the_normalised_url() {
        let mut v = full_alert();
        v["detection"]["replay_url"] = json!("HTTPS://App.Example.com/replay/<x>");
        let spec = build_issue(&alert_of(&v), &[]);
        let adf = spec.to_body(ApiFlavor::V3).parse::<Value>().unwrap()["fields"]["description"]
            .to_string();
        assert!(
            adf.contains(r#""href":"https://app.example.com/replay/%3Cx%3E""#),
            "{adf}"
        );
    }
}
