//! The OAuth 2.0 scopes each REST operation needs at the gateway.
//!
//! A credential passes with the operation's classic scope, or with every scope of its
//! granular bundle (Atlassian's swagger lists the two as alternatives: the classic one as
//! "Current", the granular bundle as "Beta", all of it required). Granular bundles are given
//! only where they were found published (the swagger's `x-atlassian-oauth2-scopes` as
//! quoted by a client's documentation; `mypermissions` from jira.js' copy of the API
//! reference); elsewhere only the classic scope passes, which may refuse a granular token
//! real Jira would accept. The classic scope of `issue/createmeta` (read:jira-work) was not
//! checked against Atlassian's reference.

/// What an operation needs.
pub(crate) struct Need {
    pub(crate) classic: &'static str,
    /// Empty: no granular alternative known here.
    pub(crate) granular: &'static [&'static str],
}

const READ: &str = "read:jira-work";
const WRITE: &str = "write:jira-work";
const USER: &str = "read:jira-user";

const MYSELF: &[&str] = &[
    "read:application-role:jira",
    "read:group:jira",
    "read:user:jira",
    "read:avatar:jira",
];
const ISSUE_READ: &[&str] = &[
    "read:issue:jira",
    "read:issue-meta:jira",
    "read:issue-security-level:jira",
    "read:issue.vote:jira",
    "read:issue.changelog:jira",
    "read:status:jira",
    "read:field-configuration:jira",
    "read:user:jira",
    "read:avatar:jira",
];
const ISSUE_CREATE: &[&str] = &[
    "write:issue:jira",
    "write:comment:jira",
    "write:comment.property:jira",
    "write:attachment:jira",
    "read:issue:jira",
];
const ISSUE_EDIT: &[&str] = &["write:issue:jira"];
const TRANSITIONS_READ: &[&str] = &[
    "read:issue.transition:jira",
    "read:status:jira",
    "read:field-configuration:jira",
];
const TRANSITION: &[&str] = &["write:issue:jira", "write:issue.property:jira"];
const COMMENT: &[&str] = &[
    "write:comment:jira",
    "read:comment:jira",
    "read:comment.property:jira",
    "read:project:jira",
    "read:project-role:jira",
    "read:group:jira",
    "read:user:jira",
    "read:avatar:jira",
];
const PERMISSIONS: &[&str] = &["read:permission:jira"];

const fn need(classic: &'static str, granular: &'static [&'static str]) -> Option<Need> {
    Some(Need { classic, granular })
}

/// The scopes `method` on `rest` (the path after `/rest/api/{2,3}/`) needs; None for an
/// operation this fake does not serve (it answers 404 whatever the scopes) and for
/// `serverInfo` (anonymous on the site; any valid credential at the gateway).
pub(crate) fn required(method: &str, rest: &str) -> Option<Need> {
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["myself"]) => need(USER, MYSELF),
        ("GET", ["issue", "createmeta", ..]) => need(READ, &[]),
        ("GET", ["issue", _]) => need(READ, ISSUE_READ),
        ("PUT", ["issue", _]) => need(WRITE, ISSUE_EDIT),
        ("POST", ["issue"]) => need(WRITE, ISSUE_CREATE),
        ("GET", ["issue", _, "transitions"]) => need(READ, TRANSITIONS_READ),
        ("POST", ["issue", _, "transitions"]) => need(WRITE, TRANSITION),
        ("POST", ["issue", _, "comment"]) => need(WRITE, COMMENT),
        ("POST", ["issueLink"]) => need(WRITE, &[]),
        ("GET" | "POST", ["search"] | ["search", "jql"]) => need(READ, &[]),
        ("GET", ["project", ..]) => need(READ, &[]),
        ("GET", ["priority"] | ["issueLinkType"]) => need(READ, &[]),
        ("GET", ["mypermissions"]) => need(READ, PERMISSIONS),
        _ => None,
    }
}

/// Whether `held` satisfies `need`.
pub(crate) fn satisfied(need: &Need, held: &[String]) -> bool {
    let has = |scope: &str| held.iter().any(|h| h == scope);
    has(need.classic) || (!need.granular.is_empty() && need.granular.iter().all(|g| has(g)))
}
