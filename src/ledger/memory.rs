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

/// Entries, and their ids oldest first with the generation each was written in: an id
/// released and claimed again is a new generation, so a stale place in the queue never
/// evicts a newer entry.
#[derive(Default)]
struct State {
    entries: HashMap<String, (u64, Entry)>,
    order: VecDeque<(String, u64)>,
    generation: u64,
}

impl State {
    fn insert_new(&mut self, id: &str, entry: Entry) {
        self.generation += 1;
        self.entries
            .insert(id.to_string(), (self.generation, entry));
        self.order.push_back((id.to_string(), self.generation));
        while self.entries.len() > MAX_ENTRIES {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .entries
                .get(&old)
                .is_some_and(|(g, _)| *g == generation)
            {
                self.entries.remove(&old);
            }
        }
        if self.order.len() > 2 * MAX_ENTRIES {
            // Many releases left stale places behind: keep the live ones only.
            let entries = &self.entries;
            self.order
                .retain(|(id, g)| entries.get(id).is_some_and(|(live, _)| live == g));
        }
    }

    /// Replaces an entry in place (same generation, same place in the queue).
    fn update(&mut self, id: &str, entry: Entry) {
        if let Some((_, e)) = self.entries.get_mut(id) {
            *e = entry;
        }
    }
}

pub struct MemoryLedger {
    clock: Clock,
    takeover_ms: u64,
    state: Mutex<State>,
}

impl MemoryLedger {
    pub fn new(clock: Clock, takeover: Duration) -> MemoryLedger {
        MemoryLedger {
            clock,
            takeover_ms: takeover.as_millis() as u64,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    pub fn claim(&self, id: &str, token: &str, lease: Duration) -> Claim {
        let now = (self.clock)();
        let holder = Holder::new(id, token, now + lease.as_millis() as u64);
        let claimed = Entry::Claimed {
            token: token.to_string(),
            lease_until: holder.lease_until,
        };
        let mut state = self.lock();
        match state.entries.get(id).map(|(_, e)| e) {
            Some(Entry::Recorded(key)) => Claim::Recorded(key.clone()),
            Some(Entry::Claimed { token: t, .. }) if t == token => {
                state.update(id, claimed);
                Claim::Fresh(holder)
            }
            Some(Entry::Claimed { lease_until, .. }) if lease_until + self.takeover_ms > now => {
                Claim::Busy
            }
            Some(Entry::Claimed { .. }) => {
                state.update(id, claimed);
                Claim::TakeOver(holder)
            }
            None => {
                state.insert_new(id, claimed);
                Claim::Fresh(holder)
            }
        }
    }

    fn holds(state: &State, holder: &Holder) -> bool {
        matches!(state.entries.get(&holder.id), Some((_, Entry::Claimed { token, .. })) if *token == holder.token)
    }

    pub fn renew(&self, holder: &mut Holder, lease: Duration) -> Result<(), LedgerError> {
        let lease_until = (self.clock)() + lease.as_millis() as u64;
        let mut state = self.lock();
        if !Self::holds(&state, holder) {
            return Err(LedgerError::Lost);
        }
        let token = holder.token.clone();
        state.update(&holder.id, Entry::Claimed { token, lease_until });
        holder.lease_until = lease_until;
        Ok(())
    }

    pub fn record(&self, holder: &Holder, issue_key: &str) {
        let mut state = self.lock();
        match state.entries.get(&holder.id) {
            Some((_, Entry::Recorded(_))) => {}
            Some(_) => state.update(&holder.id, Entry::Recorded(issue_key.to_string())),
            None => state.insert_new(&holder.id, Entry::Recorded(issue_key.to_string())),
        }
    }

    pub fn release(&self, holder: &Holder) {
        let mut state = self.lock();
        if Self::holds(&state, holder) {
            state.entries.remove(&holder.id);
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
        let clock: Clock = Arc::new(move || clock.load(Ordering::SeqCst));
        (MemoryLedger::new(clock, Duration::from_secs(60)), now)
    }

    fn fresh(claim: Claim) -> Holder {
        match claim {
            Claim::Fresh(h) => h,
            other => panic!("expected a fresh claim, got {other:?}"),
        }
    }

    #[test]
    fn claim_busy_takeover_and_record() {
        let (l, now) = ledger();
        let lease = Duration::from_secs(10);
        let first = fresh(l.claim("run", "a", lease));
        assert_eq!(l.claim("run", "b", lease), Claim::Busy);
        // The same delivery again (an answer it lost): its own claim.
        fresh(l.claim("run", "a", lease));
        // Lease over, but not the take-over allowance.
        now.fetch_add(10_000 + 59_000, Ordering::SeqCst);
        assert_eq!(l.claim("run", "b", lease), Claim::Busy);
        now.fetch_add(1_000, Ordering::SeqCst);
        let Claim::TakeOver(second) = l.claim("run", "b", lease) else {
            panic!("take-over expected")
        };
        // The first holder lost its claim.
        let mut stale = first.clone();
        assert_eq!(l.renew(&mut stale, lease), Err(LedgerError::Lost));
        l.release(&first);
        assert_eq!(
            l.claim("run", "c", lease),
            Claim::Busy,
            "a stale release does nothing"
        );
        l.record(&second, "SEC-1");
        assert_eq!(l.claim("run", "c", lease), Claim::Recorded("SEC-1".into()));
    }

    #[test]
    fn a_released_claim_can_be_claimed_at_once() {
        let (l, _) = ledger();
        let h = fresh(l.claim("run", "a", Duration::from_secs(10)));
        l.release(&h);
        fresh(l.claim("run", "b", Duration::from_secs(10)));
    }

    #[test]
    fn entries_are_bounded_and_a_stale_place_never_evicts_a_newer_entry() {
        let (l, _) = ledger();
        let lease = Duration::from_secs(1);
        // Released and claimed again: the first place in the queue goes stale.
        let h = fresh(l.claim("run-0", "a", lease));
        l.release(&h);
        let h = fresh(l.claim("run-0", "b", lease));
        l.record(&h, "SEC-0");
        for i in 1..MAX_ENTRIES {
            let h = fresh(l.claim(&format!("run-{i}"), "a", lease));
            l.record(&h, "SEC-1");
        }
        assert_eq!(l.lock().entries.len(), MAX_ENTRIES);
        assert_eq!(
            l.claim("run-0", "x", lease),
            Claim::Recorded("SEC-0".into())
        );
        for i in MAX_ENTRIES..MAX_ENTRIES + 10 {
            fresh(l.claim(&format!("run-{i}"), "a", lease));
        }
        assert_eq!(l.lock().entries.len(), MAX_ENTRIES);
        fresh(l.claim("run-0", "y", lease));
    }
}
