//! What Jira answers, as the function reads it: found issues, transitions, created
//! issues, and the status categories decisions are made by. Answers are decoded with serde
//! into wire shapes here, then turned into these types; nothing else reads Jira's JSON.

use crate::issue::convert::FieldMeta;
use serde::Deserialize;
use serde_json::Value;

/// A status category: what transitions and lifecycle decisions go by (never the localised
/// names of statuses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StatusCategory {
    /// `new`: To Do.
    New,
    /// `indeterminate`: In Progress.
    InProgress,
    /// `done`: resolved work.
    Done,
    /// Anything else Jira may answer (kept for messages).
    Other(String),
    /// Not answered.
    #[default]
    Unknown,
}

impl StatusCategory {
    /// Jira's key of the category (`statusCategory.key`).
    pub fn key(&self) -> &str {
        match self {
            StatusCategory::New => "new",
            StatusCategory::InProgress => "indeterminate",
            StatusCategory::Done => "done",
            StatusCategory::Other(k) => k,
            StatusCategory::Unknown => "",
        }
    }

    /// To Do or In Progress: where a reopen leads.
    pub fn is_open(&self) -> bool {
        matches!(self, StatusCategory::New | StatusCategory::InProgress)
    }
}

impl From<&str> for StatusCategory {
    fn from(key: &str) -> Self {
        match key {
            "new" => StatusCategory::New,
            "indeterminate" => StatusCategory::InProgress,
            "done" => StatusCategory::Done,
            "" => StatusCategory::Unknown,
            other => StatusCategory::Other(other.to_string()),
        }
    }
}

impl PartialEq<&str> for StatusCategory {
    fn eq(&self, other: &&str) -> bool {
        self.key() == *other
    }
}

/// An issue a search found, with what the lifecycle decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundIssue {
    pub key: String,
    /// The numeric id (what `reconcileIssues` takes).
    pub id: Option<String>,
    pub status_category: Option<StatusCategory>,
    /// `resolutiondate`, epoch seconds.
    pub resolved_at: Option<i64>,
    /// `created`, epoch seconds.
    pub created_at: Option<i64>,
    pub labels: Vec<String>,
}

impl FoundIssue {
    pub fn is_done(&self) -> bool {
        self.status_category == Some(StatusCategory::Done)
    }
}

/// The fields every search asks for (what `FoundIssue` holds).
pub const SEARCH_FIELDS: [&str; 4] = ["status", "resolutiondate", "created", "labels"];

/// One transition available on an issue (`GET .../transitions?expand=transitions.fields`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// The target status's name and category.
    pub to_name: String,
    pub to_category: StatusCategory,
    /// The screen requires a resolution: the names it offers.
    pub required_resolution: Option<Vec<String>>,
}

/// The transition to make: its id, and the resolution its screen requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionChoice {
    pub id: String,
    pub resolution: Option<String>,
}

impl TransitionChoice {
    /// The request body (both API versions share it).
    pub fn to_body(&self) -> Value {
        let mut body = serde_json::json!({"transition": {"id": self.id}});
        if let Some(name) = &self.resolution {
            body["fields"] = serde_json::json!({"resolution": {"name": name}});
        }
        body
    }
}

/// The answer to a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

// Wire shapes: only what is read, everything optional that Jira may leave out.

/// Jira writes some ids as strings and some as numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl Id {
    fn text(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize, Default)]
struct WireCategory {
    #[serde(default)]
    key: String,
}

#[derive(Deserialize, Default)]
struct WireStatus {
    #[serde(rename = "statusCategory")]
    category: Option<WireCategory>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireFields {
    status: Option<WireStatus>,
    resolutiondate: Option<String>,
    created: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct WireIssue {
    key: String,
    id: Option<Id>,
    #[serde(default)]
    fields: Option<WireFields>,
}

#[derive(Deserialize)]
struct WireNamed {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireResolutionField {
    #[serde(default)]
    required: bool,
    #[serde(default, rename = "allowedValues")]
    allowed: Vec<WireNamed>,
}

#[derive(Deserialize, Default)]
struct WireTransitionFields {
    resolution: Option<WireResolutionField>,
}

#[derive(Deserialize)]
struct WireTransition {
    id: Id,
    name: Option<String>,
    to: Option<WireStatus>,
    #[serde(default)]
    fields: Option<WireTransitionFields>,
}

#[derive(Deserialize)]
struct WireTransitions {
    transitions: Vec<Value>,
}

fn category(status: Option<&WireStatus>) -> Option<StatusCategory> {
    let key = status?.category.as_ref()?.key.as_str();
    Some(StatusCategory::from(key))
}

/// Reads one issue of a search answer (or of `GET /issue/{key}`); none when it has no key.
pub fn parse_found(i: &Value) -> Option<FoundIssue> {
    let wire = WireIssue::deserialize(i).ok()?;
    let fields = wire.fields.unwrap_or_default();
    let time = |t: Option<&String>| t.and_then(|t| crate::timestamp::epoch_seconds(t));
    Some(FoundIssue {
        key: wire.key,
        id: wire.id.map(Id::text),
        status_category: category(fields.status.as_ref()),
        resolved_at: time(fields.resolutiondate.as_ref()),
        created_at: time(fields.created.as_ref()),
        labels: fields.labels,
    })
}

/// Reads Jira's `Transitions` answer (both API versions share the shape); a transition
/// that cannot be read is left out, an answer without the list is none.
pub fn parse_transitions(v: &Value) -> Option<Vec<Transition>> {
    let list = WireTransitions::deserialize(v).ok()?.transitions;
    let read = |t: &Value| {
        let t = WireTransition::deserialize(t).ok()?;
        let resolution = t.fields.and_then(|f| f.resolution);
        let required = resolution.filter(|r| r.required).map(|r| {
            r.allowed
                .into_iter()
                .filter_map(|v| v.name)
                .collect::<Vec<_>>()
        });
        Some(Transition {
            id: t.id.text(),
            name: t.name.unwrap_or_default(),
            to_category: category(t.to.as_ref()).unwrap_or_default(),
            to_name: t.to.and_then(|s| s.name).unwrap_or_default(),
            required_resolution: required,
        })
    };
    Some(list.iter().filter_map(read).collect())
}

#[derive(Deserialize, Default)]
struct WireSchema {
    #[serde(rename = "type", default)]
    kind: String,
    items: Option<String>,
    custom: Option<String>,
    system: Option<String>,
}

#[derive(Deserialize)]
struct WireAllowed {
    value: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireField {
    /// Cloud and Server/DC answer both `fieldId` and `key` (older ones `key` alone).
    #[serde(rename = "fieldId")]
    field_id: Option<String>,
    key: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    required: bool,
    #[serde(rename = "hasDefaultValue", default)]
    has_default: bool,
    #[serde(default)]
    schema: WireSchema,
    #[serde(rename = "allowedValues")]
    allowed: Option<Vec<WireAllowed>>,
}

#[derive(Deserialize)]
struct WireIssueType {
    id: Id,
    #[serde(default)]
    name: String,
}

/// One page of a paged answer: its items (under `key`, or Server/DC's `values`), and
/// whether another page follows.
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

fn page<T>(v: &Value, key: &str, read: impl Fn(&Value) -> Option<T>) -> Option<Page<T>> {
    let list = v.get(key).or_else(|| v.get("values"))?.as_array()?;
    let items: Vec<T> = list.iter().filter_map(read).collect();
    let number = |k: &str| v.get(k).and_then(Value::as_u64);
    let last = v.get("isLast").and_then(Value::as_bool);
    let more = match (last, number("startAt"), number("total")) {
        (Some(last), _, _) => !last,
        (None, Some(start), Some(total)) => start + (list.len() as u64) < total,
        _ => false,
    };
    Some(Page {
        items,
        more: more && !list.is_empty(),
    })
}

/// A page of `createmeta/{project}/issuetypes`: (id, name) of each issue type.
pub fn parse_issue_types(v: &Value) -> Option<Page<(String, String)>> {
    page(v, "issueTypes", |t| {
        let t = WireIssueType::deserialize(t).ok()?;
        Some((t.id.text(), t.name))
    })
}

/// A page of `createmeta/{project}/issuetypes/{id}`: the fields of the create screen.
pub fn parse_create_fields(v: &Value) -> Option<Page<FieldMeta>> {
    page(v, "fields", |f| {
        let f = WireField::deserialize(f).ok()?;
        Some(FieldMeta {
            id: f.field_id.or(f.key)?,
            name: f.name,
            required: f.required,
            has_default: f.has_default,
            kind: f.schema.kind,
            items: f.schema.items,
            custom: f.schema.custom,
            system: f.schema.system,
            allowed: f
                .allowed
                .map(|a| a.into_iter().filter_map(|x| x.value.or(x.name)).collect()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_metadata_pages_are_read() {
        let cloud = json!({"startAt": 0, "maxResults": 2, "total": 3, "issueTypes": [
            {"id": "10001", "name": "Task"}, {"id": 10002, "name": "Bug"}]});
        let p = parse_issue_types(&cloud).unwrap();
        assert_eq!(
            p.items,
            [
                ("10001".into(), "Task".into()),
                ("10002".into(), "Bug".into())
            ]
        );
        assert!(p.more);
        let server = json!({"isLast": true, "values": [
            {"fieldId": "customfield_1", "key": "customfield_1", "name": "Team", "required": true,
             "schema": {"type": "option", "custom": "x:select"},
             "allowedValues": [{"id": "1", "value": "Red"}, {"id": "2", "value": "Blue"}]},
            {"key": "components", "name": "Component/s",
             "schema": {"type": "array", "items": "component", "system": "components"},
             "allowedValues": [{"id": "3", "name": "SOC"}]}]});
        let p = parse_create_fields(&server).unwrap();
        assert!(!p.more);
        assert_eq!(
            p.items[0].allowed.as_deref(),
            Some(&["Red".to_string(), "Blue".to_string()][..])
        );
        assert!(p.items[0].required);
        assert_eq!(p.items[1].items.as_deref(), Some("component"));
        assert_eq!(
            p.items[1].allowed.as_deref(),
            Some(&["SOC".to_string()][..])
        );
        assert!(parse_create_fields(&json!({"nothing": 1})).is_none());
    }

    #[test]
    fn issues_are_read_from_search_answers() {
        let i = json!({"id": "10001", "key": "SEC-1", "fields": {
            "status": {"name": "Fertig", "statusCategory": {"key": "done"}},
            "resolutiondate": "2026-11-24T10:00:00.000+0000",
            "created": "2026-11-24T09:00:00.000+0000",
            "labels": ["a", "b"]}});
        let f = parse_found(&i).unwrap();
        assert_eq!(f.key, "SEC-1");
        assert_eq!(f.id.as_deref(), Some("10001"));
        assert!(f.is_done());
        assert_eq!(f.labels, ["a", "b"]);
        assert_eq!(f.created_at.map(|c| f.resolved_at.unwrap() - c), Some(3600));
        // Ids as numbers, fields left out, a category Jira may add one day.
        let f = parse_found(&json!({"id": 7, "key": "SEC-2"})).unwrap();
        assert_eq!((f.id.as_deref(), f.status_category), (Some("7"), None));
        let f = parse_found(
            &json!({"key": "SEC-3", "fields": {"status": {"statusCategory": {"key": "blocked"}}}}),
        )
        .unwrap();
        assert_eq!(
            f.status_category,
            Some(StatusCategory::Other("blocked".into()))
        );
        assert_eq!(parse_found(&json!({"id": "1"})), None);
    }

    #[test]
    fn transitions_are_read_with_the_resolutions_their_screens_require() {
        let v = json!({"transitions": [
            {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}},
             "fields": {"resolution": {"required": true, "allowedValues": [{"name": "Fixed"}, {"name": "Done"}]}}},
            {"id": 11, "name": "Back", "to": {"name": "To Do", "statusCategory": {"key": "new"}}},
            {"name": "no id"}
        ]});
        let t = parse_transitions(&v).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].to_category, StatusCategory::Done);
        assert_eq!(
            t[0].required_resolution.as_deref(),
            Some(&["Fixed".to_string(), "Done".to_string()][..])
        );
        assert_eq!((t[1].id.as_str(), t[1].to_category.is_open()), ("11", true));
        assert_eq!(t[1].required_resolution, None);
        assert_eq!(parse_transitions(&json!({"values": []})), None);
    }

    #[test]
    fn a_transition_choice_as_a_body() {
        let c = TransitionChoice {
            id: "31".into(),
            resolution: Some("Done".into()),
        };
        assert_eq!(
            c.to_body(),
            json!({"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}})
        );
        let c = TransitionChoice {
            id: "11".into(),
            resolution: None,
        };
        assert_eq!(c.to_body(), json!({"transition": {"id": "11"}}));
    }
}
