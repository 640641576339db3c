//! Why an alert is refused: every problem found, each with its field and its fix
//! (contract section 12).

/// More problems than this are summed up in one line: a message with ten thousand bad
/// priority_map keys must not become a ten-thousand-line error.
const PROBLEMS_SHOWN: usize = 20;

/// One thing wrong with an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The full path, e.g. `destination.links[0]`.
    pub field: String,
    /// What is wrong, e.g. `is not a Jira project key`.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    pub fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// A refused alert: every problem found, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe(true))]
pub struct AlertError {
    /// Never empty.
    pub problems: Vec<Problem>,
}

impl AlertError {
    pub(crate) fn one(problem: Problem) -> AlertError {
        AlertError {
            problems: vec![problem],
        }
    }

    /// The fields named, in the order found.
    pub fn fields(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.field.as_str()).collect()
    }

    /// The fixes: the fix itself for one problem, `field: fix; ...` for several.
    pub fn fix(&self) -> String {
        match self.problems.as_slice() {
            [only] => only.fix.clone(),
            many => many
                .iter()
                .map(|p| format!("{}: {}", p.field, p.fix))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// `field: problem; field: problem` without the fixes (for a message whose fix is
    /// shown apart).
    pub fn summary(&self) -> String {
        self.describe(false)
    }

    fn describe(&self, with_fixes: bool) -> String {
        let parts: Vec<String> = self
            .problems
            .iter()
            .map(|p| match with_fixes {
                true => format!("{}: {} (fix: {})", p.field, p.problem, p.fix),
                false => format!("{}: {}", p.field, p.problem),
            })
            .collect();
        parts.join("; ")
    }
}

/// Problems found so far while reading one alert.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: Vec<Problem>,
    not_shown: usize,
}

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        if self.found.len() < PROBLEMS_SHOWN {
            self.found.push(problem);
        } else {
            self.not_shown += 1;
        }
    }

    /// The value, or `None` with its problem recorded.
    pub fn take<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.push(p)).ok()
    }

    /// Every value, or `None` with the problem of each bad one recorded (not only the
    /// first).
    pub fn take_each<T>(
        &mut self,
        results: impl IntoIterator<Item = Result<T, Problem>>,
    ) -> Option<Vec<T>> {
        let taken: Vec<Option<T>> = results.into_iter().map(|r| self.take(r)).collect();
        taken.into_iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `Ok(value)` when nothing was found, else every problem.
    pub fn or<T>(self, value: Option<T>) -> Result<T, AlertError> {
        match value {
            Some(v) if self.is_empty() => Ok(v),
            _ => Err(self.into_error()),
        }
    }

    pub fn into_error(mut self) -> AlertError {
        if self.found.is_empty() {
            // A conversion said no without saying why: a bug, but still a refusal.
            self.found.push(Problem::new(
                "alert",
                "could not be read",
                "check the alert against the contract",
            ));
        }
        if self.not_shown > 0 {
            self.found.push(Problem::new(
                "alert",
                format!("{} more problems not shown", self.not_shown),
                "fix the problems above and send the alert again",
            ));
        }
        AlertError {
            problems: self.found,
        }
    }
}

impl From<AlertError> for crate::failure::Failure {
    fn from(e: AlertError) -> Self {
        crate::failure::Failure::bad_input(e.summary(), e.fix())
    }
}
