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
//! Concurrency and bound: a moka cache of at most `capacity` keys, least
//! recently used first out (values still in use stay alive through their
//! `Arc`s). A key's value is computed once even when many requests ask for
//! it at the same time: the first computes, the others wait for its value;
//! requests for other keys never wait. A computation that panics stores
//! nothing.

use std::any::Any;
use std::sync::Arc;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

type Value = Arc<dyn Any + Send + Sync>;

/// A bounded, type-erased, per-snapshot memo.
pub struct Memo {
    values: Cache<String, Value>,
}

impl Memo {
    /// A memo holding at most `capacity` keys (at least 2).
    pub fn new(capacity: usize) -> Memo {
        let values = Cache::builder()
            .name("snapshot-memo")
            .max_capacity(capacity.max(2) as u64)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Memo { values }
    }

    /// The value under `key`, computing it with `compute` the first time.
    ///
    /// If the key already holds a value of another type (two callers chose
    /// the same key), the value is computed and returned without being
    /// stored, so a key collision costs time, never correctness.
    /// `compute` must not ask this memo for the same key (it would wait for
    /// itself); other keys are fine.
    pub fn get_or_compute<T: Any + Send + Sync>(&self, key: &str, compute: impl Fn() -> T) -> Arc<T> {
        let mut fresh: Option<Arc<T>> = None;
        let stored = self.values.get_with_by_ref(key, || {
            let value = Arc::new(compute());
            fresh = Some(value.clone());
            value as Value
        });
        if let Some(v) = fresh {
            return v;
        }
        match stored.downcast::<T>() {
            Ok(v) => v,
            Err(_) => {
                tracing::warn!(key, "memo key holds a value of another type; computing without storing");
                Arc::new(compute())
            }
        }
    }

    /// The value under `key` if it is there (and of type `T`), without
    /// computing it: for a path that has another way to its answer while a
    /// background thread computes the value.
    pub fn get<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        self.values.get(key)?.downcast::<T>().ok()
    }

    /// Stores `value` under `key` (a value made elsewhere, e.g. read back
    /// from a file), replacing any value the key held.
    pub fn insert<T: Any + Send + Sync>(&self, key: &str, value: Arc<T>) {
        self.values.insert(key.to_string(), value as Value);
    }

    /// Number of keys held (after pending evictions are applied).
    pub fn len(&self) -> usize {
        self.values.run_pending_tasks();
        usize::try_from(self.values.entry_count()).unwrap_or(usize::MAX)
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

    #[test]
    fn get_reads_without_computing() {
        let memo = Memo::new(4);
        assert!(memo.get::<u64>("a").is_none(), "nothing computed yet");
        memo.get_or_compute("a", || 7u64);
        assert_eq!(memo.get::<u64>("a").as_deref(), Some(&7));
        assert!(memo.get::<String>("a").is_none(), "another type is not the value");
    }

    #[test]
    fn keeps_the_most_recently_used_keys() {
        let memo = Memo::new(4);
        for key in ["a", "b", "c", "d"] {
            memo.get_or_compute(key, || key.len());
        }
        memo.values.run_pending_tasks();
        memo.get_or_compute("a", || 0usize); // a is used again: b is now the oldest
        memo.get_or_compute("e", || 1usize);
        assert_eq!(memo.len(), 4);
        for key in ["a", "c", "d", "e"] {
            assert!(memo.values.contains_key(key), "{key} was kept");
        }
        assert!(!memo.values.contains_key("b"), "b was least recently used");
    }

    #[test]
    fn concurrent_calls_for_one_key_compute_once() {
        let memo = Arc::new(Memo::new(8));
        let calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (memo, calls) = (memo.clone(), calls.clone());
                std::thread::spawn(move || {
                    *memo.get_or_compute("catchment", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        42u32
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().expect("join"), 42);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_computation_stores_nothing() {
        let memo = Memo::new(4);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            memo.get_or_compute("k", || -> u8 { panic!("failed") });
        }));
        assert!(r.is_err());
        assert_eq!(*memo.get_or_compute("k", || 5u8), 5, "computed again");
    }
}
