//! Which Jira a fake plays.

/// Cloud (REST v3 and v2, ADF) or Server/DC (REST v2, wiki markup), told apart only by
/// `/rest/api/2/serverInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cloud,
    Server,
}
