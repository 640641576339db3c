//! Misbehaviour on demand: scripted faults (a status, a delay, a create never answered, a
//! redirect) and seeded random transient ones for soak tests.

use std::time::Duration;

/// Random transient faults: each Jira request fails with probability `transient` (a 429
/// with Retry-After 1, a 503 or a 502, chosen at random); each create succeeds but is never
/// answered with probability `ambiguous`, so the client cannot know it worked.
#[derive(Debug, Clone)]
pub struct RandomFaults {
    pub seed: u64,
    pub transient: f64,
    pub ambiguous: f64,
}

/// A scripted misbehaviour, taken from the queue by the first request whose path contains
/// `path` (any request when empty).
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) path: String,
    pub(crate) kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer this status (with `Retry-After` when given) and a Jira error body.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Handle the request (an issue is created), then never answer: the client gives up
    /// (its own timeout) not knowing the outcome. No duration, so there is no race between
    /// the answer and the client's timeout.
    SucceedWithoutAnswer,
    /// Handle the request at once (an issue is created), and answer only after this long.
    AnswerLate(Duration),
    /// Handle the request (an issue is created), then close the connection without a
    /// byte of answer (a connection reset before the answer).
    ResetAfterSuccess,
    /// Answer a redirect to this location.
    Redirect(String),
}

/// A random fault for a Jira request to `path`, or None (the request is handled normally).
pub(crate) fn random_fault(r: &RandomFaults, rng: &mut fastrand::Rng, path: &str) -> Option<Fault> {
    let kind = if rng.f64() < r.transient {
        match rng.u8(0..3) {
            0 => FaultKind::Status {
                status: 429,
                retry_after: Some(1),
            },
            1 => FaultKind::Status {
                status: 503,
                retry_after: None,
            },
            _ => FaultKind::Status {
                status: 502,
                retry_after: None,
            },
        }
    } else if path.ends_with("/issue") && rng.f64() < r.ambiguous {
        FaultKind::SucceedWithoutAnswer
    } else {
        return None;
    };
    Some(Fault {
        path: String::new(),
        kind,
    })
}
