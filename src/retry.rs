//! One retry policy for every request the function sends: exponential backoff with jitter
//! x0.7-1.3 (Atlassian's guidance), Retry-After when the server names a wait, and never a
//! wait that would end past the invocation's cutoff.
//!
//! Hand-written rather than `backon`/`backoff`: those decide the next delay from the
//! attempt alone; here the error chooses the wait (Retry-After) and the deadline decides
//! whether there is a next try at all, so a crate would need both hooks re-implemented.

use crate::jira::JiraError;
use crate::ledger::LedgerError;
use crate::meter::Meter;
use crate::secrets::SecretError;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Retries after the first try (Atlassian: about 4).
pub const MAX_RETRIES: u32 = 4;
const BACKOFF_START: Duration = Duration::from_millis(1_000);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A retry is not started unless this much time is left for it before the cutoff.
pub const MIN_ATTEMPT: Duration = Duration::from_millis(500);

/// What kind of request is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Safe to repeat (reads, label edits, ledger writes): also retried when no answer came.
    Idempotent,
    /// Done at most once (create, comment, transition): only retried when Jira certainly
    /// did not act on it (no connection, or rate limited: 429, or 503 with Retry-After).
    /// Another 5xx or no answer may hide a write that happened: the plan decides what
    /// follows (a search before another create).
    AtMostOnce,
}

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    GiveUp,
    /// Retry after the usual backoff.
    Backoff,
    /// Retry after the wait the server asked for.
    After(Duration),
}

pub trait Retryable: fmt::Display {
    fn verdict(&self, policy: Policy) -> Verdict;
}

impl Retryable for JiraError {
    fn verdict(&self, policy: Policy) -> Verdict {
        let transient = match policy {
            Policy::Idempotent => self.is_transient() || matches!(self, JiraError::NoAnswer { .. }),
            // Refused before Jira acted: never connected, or rate limited.
            Policy::AtMostOnce => matches!(
                self,
                JiraError::Connect { .. } | JiraError::Throttled { .. }
            ),
        };
        match (transient, self.retry_after()) {
            (false, _) => Verdict::GiveUp,
            (true, Some(wait)) => Verdict::After(wait),
            (true, None) => Verdict::Backoff,
        }
    }
}

impl Retryable for SecretError {
    fn verdict(&self, _: Policy) -> Verdict {
        if self.is_transient() {
            Verdict::Backoff
        } else {
            Verdict::GiveUp
        }
    }
}

impl Retryable for LedgerError {
    fn verdict(&self, _: Policy) -> Verdict {
        match self {
            LedgerError::Unavailable(_) => Verdict::Backoff,
            LedgerError::Refused(_) | LedgerError::Lost => Verdict::GiveUp,
        }
    }
}

fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.7 + fastrand::f64() * 0.6)
}

/// Runs `op` until it succeeds, fails for good, or the cutoff leaves no room for another
/// try. Retries are counted in `meter`.
pub async fn retrying<T, E, F, Fut>(
    policy: Policy,
    cutoff: Instant,
    meter: &Meter,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Retryable,
{
    let mut attempt = 0;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let backoff = BACKOFF_START.saturating_mul(1 << attempt).min(BACKOFF_MAX);
        let wait = match err.verdict(policy) {
            Verdict::GiveUp => return Err(err),
            _ if attempt >= MAX_RETRIES => return Err(err),
            Verdict::After(wait) => wait,
            Verdict::Backoff => jittered(backoff),
        };
        if Instant::now() + wait + MIN_ATTEMPT > cutoff {
            tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "no time left before the deadline for another try");
            return Err(err);
        }
        attempt += 1;
        meter.retried();
        tracing::info!(error = %err, attempt, wait_ms = wait.as_millis() as u64, "transient failure; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> JiraError {
        JiraError::Server {
            status: 502,
            detail: "bad gateway".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_cutoff_is_not_started() {
        let started = Instant::now();
        let cutoff = started + Duration::from_millis(300);
        let mut calls = 0;
        let r: Result<(), JiraError> =
            retrying(Policy::Idempotent, cutoff, &Meter::default(), || {
                calls += 1;
                async {
                    Err(JiraError::Throttled {
                        status: 429,
                        retry_after: Some(Duration::from_secs(5)),
                    })
                }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "a 5 s wait does not fit in 300 ms");
        assert_eq!(Instant::now(), started, "gave up without sleeping");
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_then_gives_up() {
        let started = Instant::now();
        let meter = Meter::default();
        let mut calls = 0;
        let r: Result<(), JiraError> = retrying(
            Policy::Idempotent,
            started + Duration::from_secs(600),
            &meter,
            || {
                calls += 1;
                async { Err(server_error()) }
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1 + MAX_RETRIES);
        assert_eq!(meter.stats().retries, MAX_RETRIES);
        // 1 + 2 + 4 + 8 s, each x0.7..1.3 (paused time: exact sums of the sleeps).
        let waited = Instant::now() - started;
        assert!(
            waited >= Duration::from_millis(10_500) && waited <= Duration::from_millis(19_500),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let started = Instant::now();
        let mut calls = 0;
        let r: Result<u8, JiraError> = retrying(
            Policy::Idempotent,
            started + Duration::from_secs(60),
            &Meter::default(),
            || {
                calls += 1;
                let first = calls == 1;
                async move {
                    if first {
                        Err(JiraError::Throttled {
                            status: 429,
                            retry_after: Some(Duration::from_secs(7)),
                        })
                    } else {
                        Ok(1)
                    }
                }
            },
        )
        .await;
        assert_eq!(r, Ok(1));
        assert_eq!(Instant::now() - started, Duration::from_secs(7));
    }

    #[test]
    fn a_write_that_may_have_happened_is_never_repeated_here() {
        let e = JiraError::NoAnswer {
            detail: "timed out".into(),
        };
        assert_eq!(e.verdict(Policy::AtMostOnce), Verdict::GiveUp);
        assert_eq!(e.verdict(Policy::Idempotent), Verdict::Backoff);
        assert_eq!(server_error().verdict(Policy::AtMostOnce), Verdict::GiveUp);
        assert_eq!(server_error().verdict(Policy::Idempotent), Verdict::Backoff);
        let refused = JiraError::Connect {
            detail: "connection refused".into(),
        };
        assert_eq!(refused.verdict(Policy::AtMostOnce), Verdict::Backoff);
        let limited = JiraError::Throttled {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            limited.verdict(Policy::AtMostOnce),
            Verdict::After(Duration::from_secs(3))
        );
        let e = JiraError::Unauthorized { detail: "x".into() };
        assert_eq!(e.verdict(Policy::Idempotent), Verdict::GiveUp);
    }
}
