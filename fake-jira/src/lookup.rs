//! Finding issues and projects (by key or id), and what a user may see and do with them.

use crate::config::Project;
use crate::issue::Issue;
use crate::state::State;

/// The issue with this key or id.
pub(crate) fn issue<'a>(s: &'a State, key: &str) -> Option<&'a Issue> {
    s.issues.iter().find(|i| i.key == key || i.id == key)
}

/// The issue with this key or id, to change.
pub(crate) fn issue_mut<'a>(s: &'a mut State, key: &str) -> Option<&'a mut Issue> {
    s.issues.iter_mut().find(|i| i.key == key || i.id == key)
}

/// Where the issue with this key or id sits in `State::issues`.
pub(crate) fn issue_index(s: &State, key: &str) -> Option<usize> {
    s.issues.iter().position(|i| i.key == key || i.id == key)
}

/// The project with this key or id.
pub(crate) fn project<'a>(s: &'a State, key: &str) -> Option<&'a Project> {
    s.config
        .projects
        .iter()
        .find(|p| p.key == key || p.id == key)
}

/// Users without Browse Projects: projects and issues are invisible to them.
pub(crate) fn blind(s: &State, user: &str) -> bool {
    s.config.blind_users.iter().any(|u| u == user)
}

/// The project with this key or id, unless `user` may not see it.
pub(crate) fn visible_project<'a>(s: &'a State, user: &str, key: &str) -> Option<&'a Project> {
    project(s, key).filter(|_| !blind(s, user))
}

/// Users who may transition: not read-only, not without Transition Issues.
pub(crate) fn may_transition(s: &State, user: &str) -> bool {
    let c = &s.config;
    !c.read_only_users.iter().any(|u| u == user) && !c.no_transition_users.iter().any(|u| u == user)
}
