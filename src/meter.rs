//! What delivering one alert cost: the HTTP requests it sent, its retries, the latency of
//! each Jira and ledger request, and what the ledger answered. Shared by the steps of one
//! delivery (and the gateway and retry code they use); summed per invocation by `metrics`.

use crate::cells::lock;
use crate::ledger::Claim;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What delivering one alert cost: Jira requests (all tries), retries, the latency of each
/// Jira and ledger request, and what the ledger answered. Shared by the steps of one
/// delivery.
#[derive(Debug, Default)]
pub struct Meter {
    requests: AtomicU32,
    retries: AtomicU32,
    latencies_ms: Mutex<Vec<u64>>,
    ledger_ms: Mutex<Vec<u64>>,
    ledger: Mutex<LedgerStats>,
}

/// What the ledger answered to one delivery's claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerStats {
    /// Claims won (fresh or taken over).
    pub claims: u32,
    pub takeovers: u32,
    /// Runs found recorded: answered without Jira.
    pub hits: u32,
    /// Live claims of other deliveries.
    pub busy: u32,
}

impl LedgerStats {
    /// What the ledger said to one delivery, for its log line.
    pub fn outcome(&self) -> &'static str {
        match (self.takeovers, self.claims, self.hits, self.busy) {
            (t, _, _, _) if t > 0 => "taken-over",
            (_, c, _, _) if c > 0 => "claimed",
            (_, _, h, _) if h > 0 => "recorded",
            (_, _, _, b) if b > 0 => "in-progress",
            _ => "-",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u32,
    pub retries: u32,
    pub jira_ms: Vec<u64>,
    pub ledger_ms: Vec<u64>,
    pub ledger: LedgerStats,
}

impl Meter {
    /// What counts the HTTP requests sent (`Call::sent`).
    pub fn sent(&self) -> &AtomicU32 {
        &self.requests
    }

    /// Runs one request that has no `Call` to count it by (tenant_info, the token
    /// endpoint: one HTTP request each), counting and timing it.
    pub async fn time_request<T>(&self, request: impl Future<Output = T>) -> T {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.time(request).await
    }

    /// Times one Jira call (its requests are counted through `Call::sent`).
    pub async fn time<T>(&self, request: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = request.await;
        let ms = started.elapsed().as_millis() as u64;
        lock(&self.latencies_ms).push(ms);
        out
    }

    /// Runs one ledger request, timing it.
    pub async fn time_ledger<T>(&self, request: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = request.await;
        let ms = started.elapsed().as_millis() as u64;
        lock(&self.ledger_ms).push(ms);
        out
    }

    pub fn claimed(&self, claim: &Claim) {
        let mut l = lock(&self.ledger);
        match claim {
            Claim::Fresh(_) => l.claims += 1,
            Claim::TakeOver(_) => {
                l.claims += 1;
                l.takeovers += 1;
            }
            Claim::Recorded(_) => l.hits += 1,
            Claim::Busy { .. } => l.busy += 1,
        }
    }

    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            jira_ms: lock(&self.latencies_ms).clone(),
            ledger_ms: lock(&self.ledger_ms).clone(),
            ledger: *lock(&self.ledger),
        }
    }
}
