//! The ledger of one container, used when no table is configured: a warm container never
//! creates a run twice, even inside Jira's search-index lag. Bounded: the oldest entries
//! go first.

use super::{busy_until, Claim, Clock, Holder, LedgerError, Recorded};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Runs remembered per container.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
enum Entry {
    /// `taken_over`: the holder took the claim over from another (it searches Jira first).
    Claimed {
        token: String,
        lease_until: u64,
        taken_over: bool,
    },
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
        crate::cells::lock(&self.state)
    }

    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    pub fn allowance(&self) -> Duration {
        Duration::from_millis(self.takeover_ms)
    }

    pub fn claim(&self, id: &str, token: &str, lease: Duration) -> Claim {
        let now = (self.clock)();
        let holder = Holder::new(id, token, now + lease.as_millis() as u64);
        let claimed = |taken_over| Entry::Claimed {
            token: token.to_string(),
            lease_until: holder.lease_until,
            taken_over,
        };
        let mut state = self.lock();
        match state.entries.get(id).map(|(_, e)| e) {
            Some(Entry::Recorded(key)) => Claim::Recorded(key.clone()),
            Some(Entry::Claimed {
                token: t,
                taken_over,
                ..
            }) if t == token => {
                let taken_over = *taken_over;
                state.update(id, claimed(taken_over));
                match taken_over {
                    true => Claim::TakeOver(holder),
                    false => Claim::Fresh(holder),
                }
            }
            Some(Entry::Claimed { lease_until, .. }) if lease_until + self.takeover_ms > now => {
                Claim::Busy {
                    until_ms: busy_until(*lease_until, self.takeover_ms),
                }
            }
            Some(Entry::Claimed { .. }) => {
                state.update(id, claimed(true));
                Claim::TakeOver(holder)
            }
            None => {
                state.insert_new(id, claimed(false));
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
        self.set_lease(&mut state, holder, lease_until)?;
        holder.lease_until = lease_until;
        Ok(())
    }

    fn set_lease(
        &self,
        state: &mut State,
        holder: &Holder,
        lease_until: u64,
    ) -> Result<(), LedgerError> {
        let Some((
            _,
            Entry::Claimed {
                token, taken_over, ..
            },
        )) = state.entries.get(&holder.id)
        else {
            return Err(LedgerError::Lost);
        };
        if *token != holder.token {
            return Err(LedgerError::Lost);
        }
        let entry = Entry::Claimed {
            token: token.clone(),
            lease_until,
            taken_over: *taken_over,
        };
        state.update(&holder.id, entry);
        Ok(())
    }

    /// The lease ends now (see `Ledger::park`); a claim lost meanwhile is left alone. Now,
    /// not the holder's lease as it knew it: a write may have been sent under a renewal
    /// it had not seen back yet.
    pub fn park(&self, holder: &Holder) {
        let now = (self.clock)();
        let mut state = self.lock();
        let _ = self.set_lease(&mut state, holder, now);
    }

    pub fn record(&self, holder: &Holder, issue_key: &str) -> Recorded {
        let mut state = self.lock();
        match state.entries.get(&holder.id) {
            Some((_, Entry::Recorded(key))) if key == issue_key => Recorded::Ours,
            Some((_, Entry::Recorded(key))) => Recorded::Other(key.clone()),
            Some(_) if Self::holds(&state, holder) => {
                state.update(&holder.id, Entry::Recorded(issue_key.to_string()));
                Recorded::Ours
            }
            Some(_) => Recorded::Lost,
            // Evicted meanwhile (the bound): nobody else can hold it.
            None => {
                state.insert_new(&holder.id, Entry::Recorded(issue_key.to_string()));
                Recorded::Ours
            }
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
        // The same delivery again (an answer it lost): its own claim.
        fresh(l.claim("run", "a", lease));
        // A live lease: come back when it could be taken over (the holder may renew it).
        assert_eq!(
            l.claim("run", "b", lease),
            Claim::Busy {
                until_ms: 1_070_000
            }
        );
        // Lease over, but not the take-over allowance.
        now.fetch_add(10_000 + 59_000, Ordering::SeqCst);
        assert_eq!(
            l.claim("run", "b", lease),
            Claim::Busy {
                until_ms: 1_070_000
            }
        );
        now.fetch_add(1_000, Ordering::SeqCst);
        let Claim::TakeOver(second) = l.claim("run", "b", lease) else {
            panic!("take-over expected")
        };
        // The first holder lost its claim.
        let mut stale = first.clone();
        assert_eq!(l.renew(&mut stale, lease), Err(LedgerError::Lost));
        l.release(&first);
        assert!(
            matches!(l.claim("run", "c", lease), Claim::Busy { .. }),
            "a stale release does nothing"
        );
        // The stale holder cannot record; the holder can, and then its key stays.
        assert_eq!(l.record(&first, "SEC-2"), Recorded::Lost);
        assert_eq!(l.record(&second, "SEC-1"), Recorded::Ours);
        assert_eq!(l.record(&first, "SEC-2"), Recorded::Other("SEC-1".into()));
        assert_eq!(l.claim("run", "c", lease), Claim::Recorded("SEC-1".into()));
    }

    #[test]
    fn a_parked_claim_waits_for_the_allowance_from_when_it_was_parked() {
        let (l, now) = ledger();
        let lease = Duration::from_secs(10);
        let h = fresh(l.claim("run", "a", lease));
        now.fetch_add(3_000, Ordering::SeqCst);
        l.park(&h);
        // Not the lease (which would end at +10 s) plus the allowance: from the park.
        assert_eq!(
            l.claim("run", "b", lease),
            Claim::Busy {
                until_ms: 1_063_000
            }
        );
        now.fetch_add(60_000, Ordering::SeqCst);
        let Claim::TakeOver(taker) = l.claim("run", "b", lease) else {
            panic!("take-over expected")
        };
        // The taker asking again (its answer lost) still knows it took over.
        assert_eq!(l.claim("run", "b", lease), Claim::TakeOver(taker.clone()));
        // Parked at now, even by a holder whose copy of the lease is older (a write may
        // have gone out under a renewal it had not seen back).
        let mut stale = taker;
        stale.lease_until = 0;
        l.park(&stale);
        assert_eq!(
            l.claim("run", "c", lease),
            Claim::Busy {
                until_ms: 1_123_000
            }
        );
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
        assert_eq!(l.record(&h, "SEC-0"), Recorded::Ours);
        for i in 1..MAX_ENTRIES {
            let h = fresh(l.claim(&format!("run-{i}"), "a", lease));
            assert_eq!(l.record(&h, "SEC-1"), Recorded::Ours);
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
