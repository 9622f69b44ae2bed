//! Derived data memoised next to a snapshot.
//!
//! Some analytics need an index that is costly to build (a pass over every
//! talent) but cheap to use, or a result that many requests share (the
//! commuting catchment of one field). Such data belongs to one snapshot: it
//! is dropped with it, so a new import never serves stale derived numbers.
//! [`Memo`] holds it without the snapshot knowing the analytics' types
//! (dependencies keep pointing down the pipeline): values are stored as
//! `Arc<dyn Any>` under a string key and typed again on the way out.
//!
//! Concurrency: the map lock is held only to find or create a key's slot;
//! the value is computed outside it in a per-key `OnceLock`, so requests for
//! other keys never wait, and requests for the same key wait for one
//! computation instead of repeating it.
//!
//! Bound: at most `capacity` keys; beyond it the least recently used half
//! is dropped (values still in use stay alive through their `Arc`s).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

type Slot = Arc<OnceLock<Arc<dyn Any + Send + Sync>>>;

/// A bounded, type-erased, per-snapshot memo.
pub struct Memo {
    inner: Mutex<MemoInner>,
    capacity: usize,
}

struct MemoInner {
    slots: HashMap<String, (Slot, u64)>,
    tick: u64,
}

impl Memo {
    /// A memo holding at most `capacity` keys (at least 2).
    pub fn new(capacity: usize) -> Memo {
        Memo { inner: Mutex::new(MemoInner { slots: HashMap::new(), tick: 0 }), capacity: capacity.max(2) }
    }

    /// The value under `key`, computing it with `compute` the first time.
    ///
    /// If the key already holds a value of another type (two callers chose
    /// the same key), the value is computed and returned without being
    /// stored, so a key collision costs time, never correctness.
    pub fn get_or_compute<T: Any + Send + Sync>(&self, key: &str, compute: impl Fn() -> T) -> Arc<T> {
        let slot = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.tick += 1;
            let tick = inner.tick;
            if let Some((slot, used)) = inner.slots.get_mut(key) {
                *used = tick;
                slot.clone()
            } else {
                if inner.slots.len() >= self.capacity {
                    let mut ticks: Vec<u64> = inner.slots.values().map(|s| s.1).collect();
                    ticks.sort_unstable();
                    let cutoff = ticks[ticks.len() / 2];
                    inner.slots.retain(|_, s| s.1 > cutoff);
                }
                let slot: Slot = Arc::new(OnceLock::new());
                inner.slots.insert(key.to_string(), (slot.clone(), tick));
                slot
            }
        };
        let mut fresh: Option<Arc<T>> = None;
        let stored = slot.get_or_init(|| {
            let value = Arc::new(compute());
            fresh = Some(value.clone());
            value as Arc<dyn Any + Send + Sync>
        });
        if let Some(v) = fresh {
            return v;
        }
        match stored.clone().downcast::<T>() {
            Ok(v) => v,
            Err(_) => {
                tracing::warn!(key, "memo key holds a value of another type; computing without storing");
                Arc::new(compute())
            }
        }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.slots.len()).unwrap_or(0)
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Memo {
    fn default() -> Self {
        Memo::new(256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn computes_once_per_key_and_evicts_over_capacity() {
        let memo = Memo::new(4);
        let calls = AtomicUsize::new(0);
        let make = |n: u64| {
            calls.fetch_add(1, Ordering::Relaxed);
            n * 2
        };
        assert_eq!(*memo.get_or_compute("a", || make(1)), 2);
        assert_eq!(*memo.get_or_compute("a", || make(1)), 2);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        for key in ["b", "c", "d", "e", "f"] {
            memo.get_or_compute(key, || make(3));
        }
        assert!(memo.len() <= 4, "{}", memo.len());
        // A key reused with another type still answers with the asked type.
        assert_eq!(*memo.get_or_compute("f", || String::from("x")), "x");
    }
}
