//! The body of `POST /rest/api/{2,3}/issue`, as typed structs serialised once.

use super::{ApiFlavor, IssueSpec};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

impl IssueSpec {
    /// The body of `POST /rest/api/{2,3}/issue`, serialised. The description is rendered
    /// once and embedded as it is.
    pub fn to_body(&self, flavor: ApiFlavor) -> String {
        self.to_body_cut(flavor).0
    }

    /// The same, and whether the description had to be cut to fit Jira's limits.
    pub fn to_body_cut(&self, flavor: ApiFlavor) -> (String, bool) {
        let (description, cut) = self.description.render_json_cut(flavor);
        let description = RawValue::from_string(description)
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
        let labels = self.all_labels();
        let body = Body {
            fields: Fields {
                project: Key {
                    key: &self.project_key,
                },
                issuetype: Name {
                    name: &self.issue_type,
                },
                summary: &self.summary,
                description: &description,
                priority: self.priority.as_deref().map(|name| Name { name }),
                labels: &labels,
                parent: self.parent_key.as_deref().map(|key| Key { key }),
                custom: self
                    .custom_fields
                    .iter()
                    .map(|(id, v)| (id.as_str(), v))
                    .collect(),
            },
            update: (!self.links.is_empty()).then(|| Update {
                issuelinks: self
                    .links
                    .iter()
                    .map(|l| LinkOp {
                        add: LinkAdd {
                            link_type: Name { name: &l.link_type },
                            outward_issue: Key { key: &l.key },
                        },
                    })
                    .collect(),
            }),
        };
        (serde_json::to_string(&body).unwrap_or_default(), cut)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    fields: Fields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<Update<'a>>,
}

#[derive(Serialize)]
struct Fields<'a> {
    project: Key<'a>,
    issuetype: Name<'a>,
    summary: &'a str,
    description: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<Name<'a>>,
    labels: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<Key<'a>>,
    #[serde(flatten)]
    custom: BTreeMap<&'a str, &'a Value>,
}

#[derive(Serialize)]
struct Key<'a> {
    key: &'a str,
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Update<'a> {
    issuelinks: Vec<LinkOp<'a>>,
}

#[derive(Serialize)]
struct LinkOp<'a> {
    add: LinkAdd<'a>,
}

#[derive(Serialize)]
struct LinkAdd<'a> {
    #[serde(rename = "type")]
    link_type: Name<'a>,
    #[serde(rename = "outwardIssue")]
    outward_issue: Key<'a>,
}
