//! Per-key cells that concurrent alerts share inside a container (secrets, API flavors,
//! detection lanes, cloud ids, access tokens), bounded because their keys come from
//! events; and a lock that outlives a holder that panicked (a panic fails one message only,
//! and the data behind these locks stays consistent between statements).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Cells kept per map at most.
pub const MAX_CELLS: usize = 1_000;

/// Locks `m`, also after a panic of an earlier holder.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A map of key -> shared cell, at most `MAX_CELLS` long.
pub struct Cells<T> {
    map: Mutex<HashMap<String, Arc<T>>>,
}

impl<T> Default for Cells<T> {
    fn default() -> Self {
        Cells {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Default> Cells<T> {
    /// The cell of `key`, made if missing. Past the bound, the cells nobody is using right
    /// now are forgotten (they are made again when needed).
    pub fn get(&self, key: &str) -> Arc<T> {
        let mut map = lock(&self.map);
        if map.len() >= MAX_CELLS && !map.contains_key(key) {
            map.retain(|_, c| Arc::strong_count(c) > 1);
        }
        map.entry(key.to_string()).or_default().clone()
    }
}

impl<T> Cells<T> {
    /// Forgets `key`'s cell if it still is `cell` (one that never came to hold a value).
    pub fn forget(&self, key: &str, cell: &Arc<T>) {
        let mut map = lock(&self.map);
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            map.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_shared_bounded_and_only_idle_ones_forgotten() {
        let cells: Cells<Mutex<u32>> = Cells::default();
        let held = cells.get("held");
        *lock(&held) = 7;
        assert!(Arc::ptr_eq(&held, &cells.get("held")));
        for i in 0..MAX_CELLS + 10 {
            cells.get(&format!("k{i}"));
        }
        assert!(cells.len() <= MAX_CELLS);
        assert_eq!(
            *lock(&cells.get("held")),
            7,
            "a cell in use survives the bound"
        );
        let idle = cells.get("idle");
        cells.forget("idle", &Arc::new(Mutex::new(0)));
        assert!(Arc::ptr_eq(&idle, &cells.get("idle")), "another cell: kept");
        cells.forget("idle", &idle);
        assert!(!Arc::ptr_eq(&idle, &cells.get("idle")));
    }

    #[test]
    fn a_poisoned_lock_is_still_usable() {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("holder panics");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
