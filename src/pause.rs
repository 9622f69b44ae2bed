//! Pause points: background work that steps aside while a moves batch
//! runs.
//!
//! A moves batch validates and replays the talents it touches, then
//! commits to the store on one thread while a second patches the served
//! snapshot (`api::AppState::commit_and_follow`). The threads that follow
//! each published snapshot's derived indexes (`api::background`) run at the
//! lowest priority, yet on a 2-core machine whatever runs beside the batch
//! still slows it (shared caches and memory bandwidth, the kernel's page
//! clearing): even beside validation, which has one core, their passes over
//! every talent made it half as slow again. So the batch holds a [`Busy`]
//! from its first read until its answer (`api::AppState::batch_underway`),
//! and background work calls [`point`] between its steps: on a thread that
//! runs [`within`] a `Busy`, the call waits while a batch holds it (at most
//! [`LONGEST`] at a time, so the work always moves on). On every other
//! thread (requests, the command line, tests) it returns at once.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest one [`point`] waits: a batch that holds its [`Busy`] longer
/// (a commit that waits for a slow disk) has the background work go on
/// beside it.
pub const LONGEST: Duration = Duration::from_secs(2);

/// Whether work that background threads should not run beside is under way
/// (see the module doc).
#[derive(Default)]
pub struct Busy {
    holders: AtomicUsize,
    /// When the current holders' first took it; [`Self::idle`] waits on it.
    since: Mutex<Option<Instant>>,
    idle: Condvar,
}

/// Holds a [`Busy`] until dropped.
pub struct Held(Arc<Busy>);

impl Busy {
    /// Holds `self` until the returned guard is dropped.
    pub fn hold(self: &Arc<Self>) -> Held {
        // Set before the count moves, so that a point that sees it held
        // reads when.
        let mut since = self.lock();
        if self.holders.load(Ordering::SeqCst) == 0 {
            *since = Some(Instant::now());
        }
        self.holders.fetch_add(1, Ordering::SeqCst);
        drop(since);
        Held(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.since.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether anything holds it.
    pub fn is_held(&self) -> bool {
        self.holders.load(Ordering::SeqCst) > 0
    }

    /// Waits until nothing holds it, at most `most`; the time waited.
    pub fn wait_idle(&self, most: Duration) -> Duration {
        if !self.is_held() {
            return Duration::ZERO;
        }
        let started = Instant::now();
        let guard = self.lock();
        let waited = self.idle.wait_timeout_while(guard, most, |_| self.is_held());
        drop(waited.unwrap_or_else(|poisoned| poisoned.into_inner()));
        started.elapsed()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.0.holders.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Taken so that a waiter between its test and its wait is not
            // missed.
            let _guard = self.0.lock();
            self.0.idle.notify_all();
        }
    }
}

thread_local! {
    /// The `Busy` this thread's pause points wait for.
    static WAITS_FOR: RefCell<Option<Arc<Busy>>> = const { RefCell::new(None) };
    /// When this thread's work last passed a point (or began, [`within`]).
    static PASSED: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// Runs `work` with this thread's pause points waiting for `busy` (none:
/// they return at once), then restores what they waited for before.
pub fn within<T>(busy: Option<&Arc<Busy>>, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Busy>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            WAITS_FOR.with(|w| *w.borrow_mut() = previous);
        }
    }
    let _restore = Restore(WAITS_FOR.with(|w| std::mem::replace(&mut *w.borrow_mut(), busy.cloned())));
    PASSED.set(Some(Instant::now()));
    work()
}

/// What this thread's pause points wait for, to hand to a thread it starts
/// ([`within`] there).
pub fn current() -> Option<Arc<Busy>> {
    WAITS_FOR.with(|w| w.borrow().clone())
}

/// A pause point: waits while the `Busy` this thread runs [`within`] is
/// held, at most [`LONGEST`]; returns at once otherwise.
pub fn point() {
    let busy = WAITS_FOR.with(|w| w.borrow().clone());
    let Some(busy) = busy else { return };
    let (now, passed) = (Instant::now(), PASSED.replace(None));
    if busy.is_held() {
        let since = *busy.lock();
        let waited = busy.wait_idle(LONGEST);
        // How long the work ran beside the batch before this point (since
        // the batch began or the point before, whichever came later): the
        // longer, the more it slowed the batch.
        let from = since.max(passed).unwrap_or(now);
        let beside = now.saturating_duration_since(from).as_millis() as u64;
        tracing::debug!(
            beside_ms = beside,
            waited_ms = waited.as_millis() as u64,
            "background work paused for a batch"
        );
    }
    PASSED.set(Some(Instant::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_waits_while_held_and_only_within() {
        use std::sync::atomic::AtomicBool;
        let busy = Arc::new(Busy::default());
        let held = busy.hold();
        // Outside `within` a point has nothing to wait for.
        assert!(current().is_none());
        point();
        let let_go = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                within(Some(&busy), || {
                    assert!(current().is_some());
                    point();
                    let_go.load(Ordering::SeqCst)
                })
            });
            std::thread::sleep(Duration::from_millis(200));
            let_go.store(true, Ordering::SeqCst);
            drop(held);
            assert!(waiter.join().unwrap(), "the point returned before the holder let go");
        });
        assert!(!busy.is_held());
        // Not held: the point returns, and `within` restores what was before.
        within(Some(&busy), point);
        assert!(current().is_none());
    }

    #[test]
    fn a_point_waits_at_most_the_bound() {
        let busy = Arc::new(Busy::default());
        let _held = busy.hold();
        let waited = busy.wait_idle(Duration::from_millis(100));
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
    }
}
