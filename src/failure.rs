//! The one error model of the function: every way an alert can fail has a class (logs,
//! metrics, the Lambda `errorType`), a message and a fix. Each module's error type turns
//! into a `Failure` through `From`, so no caller builds a class or a fix by hand.

use std::fmt;

/// Why an alert was not delivered, as logs, metrics and `errorType` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureClass {
    /// The alert, its destination or its secret is wrong: retrying will not help.
    BadInput,
    /// Jira or Secrets Manager says the thing named does not exist.
    NotFound,
    /// The credentials work but lack a permission.
    Permission,
    /// Jira refused the credentials (401), also after reading the secret again.
    Auth,
    /// Rate limited (Jira 429/503, Secrets Manager throttling), still so after retries.
    Throttled,
    /// Jira answered 5xx, still so after retries.
    Jira5xx,
    /// No answer in time: a request timed out, or the invocation's deadline came first.
    Timeout,
    /// Jira refused the issue (400 on a required field, or an unreadable answer).
    Rejected,
    /// A panic while processing the message.
    Internal,
    /// A FIFO message left unprocessed because an earlier one of its group failed.
    Unprocessed,
    /// Another delivery of the same run holds a live claim in the ledger.
    InProgress,
    /// The idempotency ledger could not be used: nothing was sent to Jira.
    Ledger,
}

impl FailureClass {
    pub const ALL: [FailureClass; 12] = [
        FailureClass::BadInput,
        FailureClass::NotFound,
        FailureClass::Permission,
        FailureClass::Auth,
        FailureClass::Throttled,
        FailureClass::Jira5xx,
        FailureClass::Timeout,
        FailureClass::Rejected,
        FailureClass::Internal,
        FailureClass::Unprocessed,
        FailureClass::InProgress,
        FailureClass::Ledger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::BadInput => "bad-input",
            FailureClass::NotFound => "not-found",
            FailureClass::Permission => "permission",
            FailureClass::Auth => "auth",
            FailureClass::Throttled => "throttled",
            FailureClass::Jira5xx => "jira-5xx",
            FailureClass::Timeout => "timeout",
            FailureClass::Rejected => "rejected",
            FailureClass::Internal => "internal",
            FailureClass::Unprocessed => "unprocessed",
            FailureClass::InProgress => "in-progress",
            FailureClass::Ledger => "ledger",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one alert was not delivered: its class, what happened, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{class}] {}. Fix: {fix}", message.trim_end_matches('.'))]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
    pub fix: String,
    /// When trying again makes sense (an ambiguous create inside the search-index
    /// allowance, a claim held elsewhere, a spent rate quota): SQS is asked to hold the
    /// message that long, so that waiting spends none of its receives.
    pub retry_after: Option<std::time::Duration>,
}

impl Failure {
    pub fn new(class: FailureClass, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
            fix: fix.into(),
            retry_after: None,
        }
    }

    /// The failure can be acted on after `wait` (see `retry_after`).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Failure {
        self.retry_after = Some(wait);
        self
    }

    pub fn bad_input(message: impl Into<String>, fix: impl Into<String>) -> Failure {
        Failure::new(FailureClass::BadInput, message, fix)
    }

    pub fn deadline() -> Failure {
        Failure::new(
            FailureClass::Timeout,
            "the invocation's deadline came before this alert was delivered",
            "it is reported failed and retried; raise the function timeout or lower the batch size if this repeats",
        )
    }

    pub fn panicked() -> Failure {
        Failure::new(
            FailureClass::Internal,
            "processing this message panicked",
            "it is retried; if it keeps failing it reaches the dead-letter queue: report it with the message",
        )
    }

    pub fn unprocessed() -> Failure {
        Failure::new(
            FailureClass::Unprocessed,
            "an earlier message of its FIFO group failed",
            "none needed: it is retried after the earlier message",
        )
    }

    /// Prefixes the message with the step it happened in ("creating the issue: ...").
    pub fn at(mut self, step: &str) -> Failure {
        self.message = format!("{step}: {}", self.message);
        self
    }
}

/// A value from the event, quoted and cut short for an error message.
pub fn quote(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn class_names_are_distinct_and_kebab_case() {
        let names: HashSet<&str> = FailureClass::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), FailureClass::ALL.len());
        for n in names {
            assert!(n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()));
        }
    }

    #[test]
    fn messages_keep_the_class_and_the_fix() {
        let f = Failure::bad_input("m", "do this");
        assert_eq!(f.to_string(), "[bad-input] m. Fix: do this");
        // Jira's own sentences end in a full stop: never two.
        let f = Failure::bad_input("Authentication required to perform this operation.", "x");
        assert!(!f.to_string().contains(".."), "{f}");
        let f = Failure::deadline().at("creating the issue");
        assert!(f.message.starts_with("creating the issue: "));
    }
}
