//! The searches the function makes, as values: a project's issues carrying one label,
//! maybe only the open ones, maybe newest first. JQL is written here and nowhere else, so
//! the decisions stay free of wire formats and the in-memory Jira filters without parsing.

/// One search for issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueQuery {
    pub project: String,
    /// A label the issues carry.
    pub label: String,
    /// Only issues whose status is not in the Done category.
    pub open_only: bool,
    /// Newest first, by creation (else Jira's order).
    pub newest_first: bool,
    /// At most this many issues are answered.
    pub limit: u32,
}

impl IssueQuery {
    /// The project's issues labelled `label`, in Jira's order, at most one.
    pub fn labelled(project: &str, label: &str) -> IssueQuery {
        IssueQuery {
            project: project.to_string(),
            label: label.to_string(),
            open_only: false,
            newest_first: false,
            limit: 1,
        }
    }

    pub fn open_only(mut self) -> Self {
        self.open_only = true;
        self
    }

    pub fn newest_first(mut self, limit: u32) -> Self {
        self.newest_first = true;
        self.limit = limit;
        self
    }

    /// The query in JQL, every value quoted.
    pub fn jql(&self) -> String {
        let mut jql = format!(
            "project = {} AND labels = {}",
            jql_quote(&self.project),
            jql_quote(&self.label)
        );
        if self.open_only {
            jql.push_str(" AND statusCategory != Done");
        }
        if self.newest_first {
            jql.push_str(" ORDER BY created DESC");
        }
        jql
    }
}

/// A JQL string literal.
pub fn jql_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_strings_are_escaped() {
        assert_eq!(jql_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(jql_quote("x\ny"), "\"x y\"");
    }

    #[test]
    fn queries_in_jql() {
        let q = IssueQuery::labelled("SEC", "detection-run-abc");
        assert_eq!(
            q.jql(),
            r#"project = "SEC" AND labels = "detection-run-abc""#
        );
        assert_eq!(q.limit, 1);
        let q = IssueQuery::labelled("SEC", "detection-id-7")
            .open_only()
            .newest_first(10);
        assert_eq!(
            q.jql(),
            r#"project = "SEC" AND labels = "detection-id-7" AND statusCategory != Done ORDER BY created DESC"#
        );
        assert_eq!(q.limit, 10);
        // A value cannot leave its string.
        let q = IssueQuery::labelled("SEC", "x\" OR project = \"OTHER");
        assert!(
            q.jql().ends_with(r#"labels = "x\" OR project = \"OTHER""#),
            "{}",
            q.jql()
        );
    }
}
