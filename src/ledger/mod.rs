//! The idempotency ledger: exactly one issue per detection run, across containers and
//! inside Jira's search-index lag. A delivery claims the run before anything goes to Jira;
//! only the claim holder creates, and records the issue key when it has one.
//!
//! Two stores with one behaviour: DynamoDB (`IDEMPOTENCY_TABLE`, shared by every
//! container) and memory (one container; the Jira duplicate search stays in front of it).
//! An enum rather than a trait object: async methods are not object-safe, and a generic
//! parameter on every type above would be noise for two fixed choices.

mod dynamo;
mod memory;

pub use dynamo::DynamoLedger;
pub use memory::MemoryLedger;

use crate::failure::{Failure, FailureClass};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Entries live this long (longer than SQS's 14-day retention).
pub const ENTRY_TTL: Duration = Duration::from_secs(15 * 24 * 3600);
/// Added to the request timeout to make a claim's lease.
pub const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// Wall-clock milliseconds since the epoch. Injected so tests can move time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    })
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had claimed the run: this delivery holds it.
    Fresh(Holder),
    /// An earlier holder's lease and the take-over allowance have passed: this delivery
    /// holds it now, and must search Jira first (the old holder may have created it).
    TakeOver(Holder),
    /// The run has its issue.
    Recorded(String),
    /// Another delivery holds the claim, or its holder ended without knowing whether Jira
    /// acted (an ambiguous create): nothing may be done before `until_ms` (epoch ms, the
    /// ledger's clock): the end of a live lease, or the take-over allowance after one.
    Busy { until_ms: u64 },
}

/// What recording the run's issue found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// This delivery's issue is the run's.
    Ours,
    /// Another delivery recorded this issue first: every answer names it.
    Other(String),
    /// The claim was taken over and nothing is recorded yet: the new holder searches Jira
    /// (after the index allowance) and finds this delivery's issue.
    Lost,
}

/// Proof of holding a claim: the ledger id and this delivery's random token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub token: String,
    /// When the lease ends (epoch ms).
    pub lease_until: u64,
}

impl Holder {
    fn new(id: &str, token: &str, lease_until: u64) -> Holder {
        Holder {
            id: id.to_string(),
            token: token.to_string(),
            lease_until,
        }
    }
}

/// When a claim held by someone else can surely be acted on: the take-over allowance after
/// its lease. (Its holder may record sooner, but it may also renew the lease, or park it
/// as late as the lease's end: coming back earlier could spend a receive for nothing.)
fn busy_until(lease_until: u64, takeover_ms: u64) -> u64 {
    lease_until + takeover_ms
}

/// A random token for one delivery's claims.
pub fn claim_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Throttled, unreachable, or a server error: worth another try.
    #[error("the idempotency ledger is unavailable ({0})")]
    Unavailable(String),
    /// The table is missing or the role may not use it: retrying will not help.
    #[error("the idempotency ledger refused the request ({0})")]
    Refused(String),
    /// The claim was taken over (its lease ran out): this delivery must not create.
    #[error("this delivery's claim on the run was lost (its lease ran out and another delivery took it over)")]
    Lost,
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Lost => Failure::new(
                FailureClass::InProgress,
                e.to_string(),
                "none needed: it is retried, and the ledger answers with the issue once it is recorded",
            ),
            LedgerError::Unavailable(_) | LedgerError::Refused(_) => Failure::new(
                FailureClass::Ledger,
                e.to_string(),
                "nothing was sent to Jira and the message is retried; check the IDEMPOTENCY_TABLE exists and the function's role may GetItem/PutItem/UpdateItem/DeleteItem on it",
            ),
        }
    }
}

/// The run cannot be acted on before `wait` has passed: another delivery holds a live
/// claim, or an earlier one ended not knowing whether Jira acted and the search index needs
/// time to show it. Reported failed with the wait, so that SQS holds the message until then
/// without spending its receives.
pub fn in_progress(wait: Duration) -> Failure {
    Failure::new(
        FailureClass::InProgress,
        format!(
            "another delivery of this run holds its claim, or ended without knowing whether Jira acted; it can be taken up in {} s",
            wait.as_secs_f64().ceil() as u64
        ),
        "none needed: it is retried then (SQS holds the message until that time), and ends as the run's one issue",
    )
    .retry_after(wait)
}

/// An ambiguous write (`what`: the step and Jira's error) that this delivery cannot settle
/// in time: a search after `wait` (the search-index allowance) tells whether it landed.
pub fn unsettled(what: &str, wait: Duration) -> Failure {
    Failure::new(
        FailureClass::InProgress,
        format!(
            "{what}; whether Jira made it is settled by a search in {} s, once Jira's search index shows it",
            wait.as_secs_f64().ceil() as u64
        ),
        "none needed: it is retried then (SQS holds the message until that time), and ends as the run's one issue",
    )
    .retry_after(wait)
}

pub enum Ledger {
    Memory(MemoryLedger),
    Dynamo(DynamoLedger),
}

impl Ledger {
    /// True when the ledger is shared by all containers, so it alone is the duplicate
    /// check for a fresh claim (no Jira search).
    pub fn is_shared(&self) -> bool {
        matches!(self, Ledger::Dynamo(_))
    }

    /// The ledger's clock (epoch ms): leases are compared against it.
    pub fn now_ms(&self) -> u64 {
        match self {
            Ledger::Memory(m) => m.now_ms(),
            Ledger::Dynamo(d) => d.now_ms(),
        }
    }

    /// Claims run `id` for the delivery holding `token`. A claim already held with the
    /// same token is this delivery's own (an earlier try whose answer was lost).
    pub async fn claim(
        &self,
        id: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, LedgerError> {
        match self {
            Ledger::Memory(m) => Ok(m.claim(id, token, lease)),
            Ledger::Dynamo(d) => d.claim(id, token, lease).await,
        }
    }

    /// Extends the lease; `Lost` when it was taken over meanwhile.
    pub async fn renew(&self, holder: &mut Holder, lease: Duration) -> Result<(), LedgerError> {
        match self {
            Ledger::Memory(m) => m.renew(holder, lease),
            Ledger::Dynamo(d) => d.renew(holder, lease).await,
        }
    }

    /// Records the run's issue, while this delivery still holds the claim; once another
    /// key is recorded, that one stays.
    pub async fn record(&self, holder: &Holder, issue_key: &str) -> Result<Recorded, LedgerError> {
        match self {
            Ledger::Memory(m) => Ok(m.record(holder, issue_key)),
            Ledger::Dynamo(d) => d.record(holder, issue_key).await,
        }
    }

    /// The holder ends without knowing whether Jira acted (or half way through a lifecycle
    /// run): the lease ends now, so a later delivery may take over once the search-index
    /// allowance has passed since, and searches Jira first. Nobody waits for a holder that
    /// is gone.
    pub async fn park(&self, holder: &Holder) -> Result<(), LedgerError> {
        match self {
            Ledger::Memory(m) => {
                m.park(holder);
                Ok(())
            }
            Ledger::Dynamo(d) => d.park(holder).await,
        }
    }

    /// The newest issue noted for `detection` (a table only: one container's own runs of a
    /// detection are serialised and see what the previous one made).
    pub async fn newest_issue(&self, detection: &str) -> Result<Option<String>, LedgerError> {
        match self {
            Ledger::Memory(_) => Ok(None),
            Ledger::Dynamo(d) => d.newest_issue(detection).await,
        }
    }

    /// Notes `key` as the detection's newest issue.
    pub async fn note_newest(&self, detection: &str, key: &str) -> Result<(), LedgerError> {
        match self {
            Ledger::Memory(_) => Ok(()),
            Ledger::Dynamo(d) => d.note_newest(detection, key).await,
        }
    }

    /// The search-index allowance (`IDEMPOTENCY_TAKEOVER_SECONDS`).
    pub fn allowance(&self) -> Duration {
        match self {
            Ledger::Memory(m) => m.allowance(),
            Ledger::Dynamo(d) => d.allowance(),
        }
    }

    /// The per-container ledger, if that is the one in use (parked synchronously when a
    /// delivery is dropped at the deadline).
    pub fn memory(&self) -> Option<&MemoryLedger> {
        match self {
            Ledger::Memory(m) => Some(m),
            Ledger::Dynamo(_) => None,
        }
    }

    /// Gives the claim up when nothing reached Jira, so a retry need not wait out the lease.
    pub async fn release(&self, holder: &Holder) -> Result<(), LedgerError> {
        match self {
            Ledger::Memory(m) => {
                m.release(holder);
                Ok(())
            }
            Ledger::Dynamo(d) => d.release(holder).await,
        }
    }
}
