//! The workflow an issue moves through: statuses (each in a status category), the
//! transitions between them, the resolution on a transition's screen and the post-function
//! that sets one. Defaults: Cloud's simplified workflow and Server/DC's classic one.

use crate::flavor::Flavor;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: String,
    pub name: String,
    /// The status category key: "new", "indeterminate" or "done".
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// Status names it leaves from; empty: global (from any status but its own target).
    pub from: Vec<String>,
    /// The status name it leads to.
    pub to: String,
    /// None: no resolution on the transition screen (setting one is refused);
    /// Some(required): the screen has the resolution field.
    pub screen_resolution: Option<bool>,
    /// A post-function: into a done status with no resolution given, set this one.
    pub sets_resolution: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workflow {
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

fn status(id: &str, name: &str, category: &str) -> Status {
    Status {
        id: id.into(),
        name: name.into(),
        category: category.into(),
    }
}

impl Transition {
    /// A global transition (available from every status but `to`).
    pub fn global(id: &str, name: &str, to: &str) -> Transition {
        Transition::between(id, name, &[], to)
    }

    pub fn between(id: &str, name: &str, from: &[&str], to: &str) -> Transition {
        Transition {
            id: id.into(),
            name: name.into(),
            from: from.iter().map(|s| s.to_string()).collect(),
            to: to.into(),
            screen_resolution: None,
            sets_resolution: None,
        }
    }

    /// The transition screen has the resolution field (required or not).
    pub fn with_resolution_on_screen(mut self, required: bool) -> Transition {
        self.screen_resolution = Some(required);
        self
    }

    /// The post-function that sets `resolution` when none was given.
    pub fn setting_resolution(mut self, resolution: &str) -> Transition {
        self.sets_resolution = Some(resolution.into());
        self
    }

    pub fn is_global(&self) -> bool {
        self.from.is_empty()
    }

    /// Whether it can be taken from status `from`.
    pub fn leaves(&self, from: &str) -> bool {
        if self.is_global() {
            self.to != from
        } else {
            self.from.iter().any(|f| f == from)
        }
    }
}

impl Workflow {
    /// Jira Cloud's simplified workflow: To Do, In Progress, Done, every transition global;
    /// no screens; Done's post-function sets the resolution "Done".
    pub fn cloud() -> Workflow {
        Workflow {
            statuses: vec![
                status("10000", "To Do", "new"),
                status("3", "In Progress", "indeterminate"),
                status("10001", "Done", "done"),
            ],
            transitions: vec![
                Transition::global("11", "To Do", "To Do"),
                Transition::global("21", "In Progress", "In Progress"),
                Transition::global("31", "Done", "Done").setting_resolution("Done"),
            ],
        }
    }

    /// Jira Server/DC's classic default workflow ("jira"): resolving or closing asks for a
    /// resolution on the screen (required); reopening clears it.
    pub fn server() -> Workflow {
        let open = ["Open", "In Progress", "Reopened"];
        Workflow {
            statuses: vec![
                status("1", "Open", "new"),
                status("3", "In Progress", "indeterminate"),
                status("4", "Reopened", "new"),
                status("5", "Resolved", "done"),
                status("6", "Closed", "done"),
            ],
            transitions: vec![
                Transition::between("4", "Start Progress", &["Open", "Reopened"], "In Progress"),
                Transition::between("301", "Stop Progress", &["In Progress"], "Open"),
                Transition::between("5", "Resolve Issue", &open, "Resolved")
                    .with_resolution_on_screen(true),
                Transition::between(
                    "2",
                    "Close Issue",
                    &["Open", "In Progress", "Reopened", "Resolved"],
                    "Closed",
                )
                .with_resolution_on_screen(true),
                Transition::between("3", "Reopen Issue", &["Resolved", "Closed"], "Reopened"),
            ],
        }
    }

    pub fn standard(flavor: Flavor) -> Workflow {
        match flavor {
            Flavor::Cloud => Workflow::cloud(),
            Flavor::Server => Workflow::server(),
        }
    }

    pub fn status(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name == name)
    }

    /// Where a new issue starts: the first status in the "new" category.
    pub fn initial(&self) -> Status {
        self.statuses
            .iter()
            .find(|s| s.category == "new")
            .cloned()
            .unwrap_or_else(|| status("1", "Open", "new"))
    }

    /// The first status of a category (for `FakeJira::set_status_category`).
    pub fn first_in(&self, category: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.category == category)
    }

    /// The transitions that can be taken from status `from`, in workflow order.
    pub fn available_from<'a>(&'a self, from: &'a str) -> impl Iterator<Item = &'a Transition> {
        self.transitions.iter().filter(move |t| t.leaves(from))
    }
}

/// Jira's default resolutions: Cloud's (team-managed and new company-managed projects) and
/// Server/DC's.
pub fn standard_resolutions(flavor: Flavor) -> Vec<String> {
    let names: &[&str] = match flavor {
        Flavor::Cloud => &["Done", "Won't Do", "Duplicate", "Cannot Reproduce"],
        Flavor::Server => &[
            "Fixed",
            "Won't Fix",
            "Duplicate",
            "Incomplete",
            "Cannot Reproduce",
        ],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// A resolution's id: its place in the list, from 10000 on Cloud and from 1 on Server/DC
/// (as on fresh instances).
pub(crate) fn resolution_id(flavor: Flavor, resolutions: &[String], name: &str) -> Option<String> {
    let i = resolutions.iter().position(|r| r == name)?;
    Some(match flavor {
        Flavor::Cloud => (10_000 + i).to_string(),
        Flavor::Server => (1 + i).to_string(),
    })
}

pub(crate) fn resolution_json(
    flavor: Flavor,
    resolutions: &[String],
    base: &str,
    api: u8,
    name: &str,
) -> Value {
    let id = resolution_id(flavor, resolutions, name).unwrap_or_else(|| "0".into());
    json!({"self": format!("{base}/rest/api/{api}/resolution/{id}"), "id": id, "name": name, "description": ""})
}

/// (id, colorName, name) of a status category, as Jira numbers them.
fn category_info(key: &str) -> (u8, &'static str, &'static str) {
    match key {
        "new" => (2, "blue-gray", "To Do"),
        "indeterminate" => (4, "yellow", "In Progress"),
        "done" => (3, "green", "Done"),
        _ => (1, "medium-gray", "No Category"),
    }
}

pub(crate) fn category_json(base: &str, api: u8, key: &str) -> Value {
    let (id, color, name) = category_info(key);
    json!({"self": format!("{base}/rest/api/{api}/statuscategory/{id}"), "id": id, "key": key, "colorName": color, "name": name})
}

/// A status as Jira's `StatusDetails`.
pub(crate) fn status_json(base: &str, api: u8, s: &Status) -> Value {
    json!({
        "self": format!("{base}/rest/api/{api}/status/{}", s.id),
        "description": "",
        "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
        "name": s.name,
        "id": s.id,
        "statusCategory": category_json(base, api, &s.category),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(wf: &'a Workflow, from: &'a str) -> Vec<&'a str> {
        wf.available_from(from).map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn global_transitions_skip_their_own_target() {
        let wf = Workflow::cloud();
        assert_eq!(names(&wf, "To Do"), ["In Progress", "Done"]);
        assert_eq!(names(&wf, "Done"), ["To Do", "In Progress"]);
        assert_eq!(wf.initial().name, "To Do");
    }

    #[test]
    fn the_classic_workflow_goes_step_by_step() {
        let wf = Workflow::server();
        assert_eq!(
            names(&wf, "Open"),
            ["Start Progress", "Resolve Issue", "Close Issue"]
        );
        assert_eq!(names(&wf, "Resolved"), ["Close Issue", "Reopen Issue"]);
        assert_eq!(names(&wf, "Closed"), ["Reopen Issue"]);
        assert_eq!(wf.initial().name, "Open");
        let r = standard_resolutions(Flavor::Server);
        assert_eq!(
            resolution_id(Flavor::Server, &r, "Fixed").as_deref(),
            Some("1")
        );
        assert_eq!(resolution_id(Flavor::Server, &r, "Done"), None);
    }
}
