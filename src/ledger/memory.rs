//! The ledger of one container, used when no table is configured: a warm container never
//! creates a run twice, even inside Jira's search-index lag. Bounded: the oldest entries
//! go first.

use super::{Claim, Clock, Holder, LedgerError};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Runs remembered per container.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
enum Entry {
    Claimed { token: String, lease_until: u64 },
    Recorded(String),
}

pub struct MemoryLedger {
    clock: Clock,
    takeover_ms: u64,
    state: Mutex<(HashMap<String, Entry>, VecDeque<String>)>,
}

impl MemoryLedger {
    pub fn new(clock: Clock, takeover: Duration) -> MemoryLedger {
        MemoryLedger {
            clock,
            takeover_ms: takeover.as_millis() as u64,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Entry>, VecDeque<String>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    pub fn claim(&self, id: &str, lease: Duration) -> Claim {
        let now = (self.clock)();
        let holder = Holder::new(id, now + lease.as_millis() as u64);
        let mut guard = self.lock();
        let (entries, order) = &mut *guard;
        let taken_over = match entries.get(id) {
            Some(Entry::Recorded(key)) => return Claim::Recorded(key.clone()),
            Some(Entry::Claimed { lease_until, .. }) if lease_until + self.takeover_ms > now => {
                return Claim::Busy
            }
            Some(Entry::Claimed { .. }) => true,
            None => false,
        };
        if !taken_over {
            order.push_back(id.to_string());
            while order.len() > MAX_ENTRIES {
                if let Some(old) = order.pop_front() {
                    entries.remove(&old);
                }
            }
        }
        entries.insert(
            id.to_string(),
            Entry::Claimed {
                token: holder.token.clone(),
                lease_until: holder.lease_until,
            },
        );
        if taken_over {
            Claim::TakeOver(holder)
        } else {
            Claim::Fresh(holder)
        }
    }

    fn holds(entries: &HashMap<String, Entry>, holder: &Holder) -> bool {
        matches!(entries.get(&holder.id), Some(Entry::Claimed { token, .. }) if *token == holder.token)
    }

    pub fn renew(&self, holder: &mut Holder, lease: Duration) -> Result<(), LedgerError> {
        let lease_until = (self.clock)() + lease.as_millis() as u64;
        let mut guard = self.lock();
        if !Self::holds(&guard.0, holder) {
            return Err(LedgerError::Lost);
        }
        guard.0.insert(
            holder.id.clone(),
            Entry::Claimed {
                token: holder.token.clone(),
                lease_until,
            },
        );
        holder.lease_until = lease_until;
        Ok(())
    }

    pub fn record(&self, holder: &Holder, issue_key: &str) {
        let mut guard = self.lock();
        if !matches!(guard.0.get(&holder.id), Some(Entry::Recorded(_))) {
            guard
                .0
                .insert(holder.id.clone(), Entry::Recorded(issue_key.to_string()));
        }
    }

    pub fn release(&self, holder: &Holder) {
        let mut guard = self.lock();
        if Self::holds(&guard.0, holder) {
            guard.0.remove(&holder.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn ledger() -> (MemoryLedger, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = now.clone();
        let l = MemoryLedger::new(
            Arc::new(move || clock.load(Ordering::SeqCst)),
            Duration::from_secs(60),
        );
        (l, now)
    }

    #[test]
    fn claim_busy_takeover_and_record() {
        let (l, now) = ledger();
        let lease = Duration::from_secs(10);
        let Claim::Fresh(first) = l.claim("run", lease) else {
            panic!()
        };
        assert_eq!(l.claim("run", lease), Claim::Busy);
        // Lease over, but not the take-over allowance.
        now.fetch_add(10_000 + 59_000, Ordering::SeqCst);
        assert_eq!(l.claim("run", lease), Claim::Busy);
        now.fetch_add(1_000, Ordering::SeqCst);
        let Claim::TakeOver(second) = l.claim("run", lease) else {
            panic!()
        };
        // The first holder lost its claim.
        let mut stale = first.clone();
        assert_eq!(l.renew(&mut stale, lease), Err(LedgerError::Lost));
        l.release(&first);
        assert_eq!(
            l.claim("run", lease),
            Claim::Busy,
            "a stale release does nothing"
        );
        l.record(&second, "SEC-1");
        assert_eq!(l.claim("run", lease), Claim::Recorded("SEC-1".into()));
    }

    #[test]
    fn a_released_claim_can_be_claimed_at_once() {
        let (l, _) = ledger();
        let Claim::Fresh(h) = l.claim("run", Duration::from_secs(10)) else {
            panic!()
        };
        l.release(&h);
        assert!(matches!(
            l.claim("run", Duration::from_secs(10)),
            Claim::Fresh(_)
        ));
    }

    #[test]
    fn entries_are_bounded() {
        let (l, _) = ledger();
        for i in 0..MAX_ENTRIES + 10 {
            let Claim::Fresh(h) = l.claim(&format!("run-{i}"), Duration::from_secs(1)) else {
                panic!()
            };
            l.record(&h, "SEC-1");
        }
        assert_eq!(l.lock().0.len(), MAX_ENTRIES);
        assert!(matches!(
            l.claim("run-0", Duration::from_secs(1)),
            Claim::Fresh(_)
        ));
    }
}
