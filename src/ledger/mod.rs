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
    /// Another delivery holds a live claim.
    Busy,
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

/// A run is in progress elsewhere: report it failed so it is retried later.
pub fn in_progress() -> Failure {
    Failure::new(
        FailureClass::InProgress,
        "another delivery of this run holds a live claim on it",
        "none needed: it is retried, and answered duplicate once the other delivery recorded its issue",
    )
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

    pub async fn record(&self, holder: &Holder, issue_key: &str) -> Result<(), LedgerError> {
        match self {
            Ledger::Memory(m) => {
                m.record(holder, issue_key);
                Ok(())
            }
            Ledger::Dynamo(d) => d.record(holder, issue_key).await,
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
