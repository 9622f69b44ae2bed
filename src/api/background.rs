//! Work that follows each published snapshot off the request path: the
//! derived indexes built before any request asks for them, and the snapshot
//! saved for the next start (`snapshot::file`).
//!
//! A [`Follower`] is one thread with a slot for the newest snapshot: a
//! snapshot offered while the thread is busy replaces any older one still
//! waiting, so a burst of feed batches costs one run for the last of them,
//! not one per batch. The thread ends when its `Follower` is dropped.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::analytics::shortage::basis::Basis;
use crate::snapshot::Snapshot;
use crate::snapshot::patch::Renumbered;

struct Slot {
    next: Option<Arc<Snapshot>>,
    closed: bool,
}

struct Shared {
    slot: Mutex<Slot>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A thread that runs a job on the newest snapshot offered to it.
pub struct Follower {
    shared: Arc<Shared>,
}

/// How long a [`Follower`] waits after an offer for a newer one before it
/// runs its job: `first` before its first job, `then` before the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settle {
    pub first: Duration,
    pub then: Duration,
}

impl Settle {
    /// The same wait before every job.
    pub const fn every(wait: Duration) -> Settle {
        Settle { first: wait, then: wait }
    }
}

impl Follower {
    /// Starts the thread `name`. After an offer it waits as `settle` says
    /// for a newer one (a burst of publishes runs the job once), then runs
    /// `job`. A job that panics is logged and the thread goes on with the
    /// next offer.
    pub fn start(name: &str, settle: Settle, job: impl Fn(&Arc<Snapshot>) + Send + 'static) -> Follower {
        let shared = Arc::new(Shared { slot: Mutex::new(Slot { next: None, closed: false }), wake: Condvar::new() });
        let inner = shared.clone();
        let thread_name = name.to_string();
        let spawned = std::thread::Builder::new().name(thread_name.clone()).spawn(move || {
            let mut settle_for = settle.first;
            loop {
                let mut slot = inner.lock();
                while slot.next.is_none() && !slot.closed {
                    slot = inner.wake.wait(slot).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if slot.closed {
                    return;
                }
                if !settle_for.is_zero() {
                    // Let a burst finish: keep waiting while newer offers arrive.
                    loop {
                        let seen = slot.next.as_ref().map(Arc::as_ptr);
                        let (s, timeout) =
                            inner.wake.wait_timeout(slot, settle_for).unwrap_or_else(|poisoned| poisoned.into_inner());
                        slot = s;
                        if slot.closed {
                            return;
                        }
                        if timeout.timed_out() || slot.next.as_ref().map(Arc::as_ptr) == seen {
                            break;
                        }
                    }
                }
                let Some(snap) = slot.next.take() else { continue };
                drop(slot);
                settle_for = settle.then;
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&snap)));
                if run.is_err() {
                    tracing::error!(thread = %thread_name, version = snap.version, "background job panicked");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(thread = name, error = %e, "cannot start a background thread; its job will not run");
        }
        Follower { shared }
    }

    /// Hands the thread a snapshot, replacing one it has not started on,
    /// which is returned: the caller decides where it is freed (a city's
    /// records take a noticeable time to free, not to spend under this
    /// thread's lock nor on a publisher's path).
    #[must_use = "a replaced snapshot may be the last reference to a city's records"]
    pub fn offer(&self, snap: Arc<Snapshot>) -> Option<Arc<Snapshot>> {
        let replaced = self.shared.lock().next.replace(snap);
        self.shared.wake.notify_all();
        replaced
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

/// The nice value of background work that follows a feed: past it, the
/// kernel gives the thread about 1.5 % of a core that requests or a feed
/// batch want, and every core nobody else wants.
pub const BACKGROUND_NICE: i32 = 19;

/// Lowers the calling thread's scheduling priority to
/// [`BACKGROUND_NICE`] (threads it starts afterwards inherit it). At 4 M
/// talents the derived indexes of a snapshot take about five seconds of a
/// core; at normal priority, a feed sending batch after batch had each of
/// them share two cores with that rebuild, and its answers took twice as
/// long. Logged, not fatal, where the system refuses.
pub fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), BACKGROUND_NICE) {
        tracing::warn!(error = %e, "cannot lower a background thread's priority");
    }
}

/// What the derived indexes of one snapshot leave for the next one's
/// ([`warm_derived`]): each with the version of the snapshot it was made
/// for, which a snapshot that follows moves batches follows instead of
/// building again. (The commute index and the briefing's catchments are
/// followed from what the commute cache and `briefing::LatestCatchments`
/// keep, which requests share.)
#[derive(Default)]
pub struct Carried {
    fine: Option<(u64, Arc<crate::analytics::fine::FineCells>)>,
    basis: Option<(u64, Arc<Basis>)>,
}

impl Carried {
    /// The moves batches that made `snap` from the snapshot `carried` was
    /// built for, oldest first, with what was built; `None` when `snap`
    /// was not made so (or too many batches ago).
    fn steps<T>(snap: &Snapshot, carried: &Option<(u64, Arc<T>)>) -> Option<(Arc<T>, Vec<Arc<Renumbered>>)> {
        let (version, before) = carried.as_ref()?;
        let steps = crate::snapshot::patch::renumbered(snap)?.steps(*version)?;
        Some((before.clone(), steps))
    }
}

/// Makes the derived indexes a snapshot's requests use, so that no
/// request waits for one: the published cells of the unfiltered talent
/// tiles past the pyramid's zooms, the shortage basis, the commute index
/// and the start screen's briefing with every field's catchment (the
/// talent pyramid and the flow cubes are made before publishing). Each
/// follows the previous snapshot's over the moves batches between them
/// where it can (see [`Carried`]), and is built otherwise.
pub fn warm_derived(
    snap: &Arc<Snapshot>,
    (commute, catchments): (&super::commute::CommuteCache, &super::briefing::LatestCatchments),
    k: u32,
    carried: &mut Carried,
) {
    let started = std::time::Instant::now();
    // Each part begins at a pause point (`crate::pause`), and pauses inside.
    crate::pause::point();
    let fine = match Carried::steps(snap, &carried.fine) {
        Some((before, steps)) => crate::analytics::fine::follow(snap, &before, &steps),
        None => crate::analytics::fine::warm(snap, k),
    };
    carried.fine = Some((snap.version, fine.clone()));
    let fine_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(ms = fine_ms, mib = fine.bytes() >> 20, "fine talent cells built");
    crate::pause::point();
    let basis = match Carried::steps(snap, &carried.basis) {
        Some((before, steps)) => Basis::followed(snap, &before, &steps),
        None => Basis::of(snap),
    };
    carried.basis = Some((snap.version, basis));
    let basis_ms = started.elapsed().as_millis() as u64 - fine_ms;
    crate::pause::point();
    let before = started.elapsed().as_millis() as u64;
    let index = commute.get(snap);
    let commute_ms = started.elapsed().as_millis() as u64 - before;
    crate::pause::point();
    super::briefing::warm(snap, &index, k, catchments);
    let all_ms = started.elapsed().as_millis() as u64;
    tracing::info!(version = snap.version, fine_ms, basis_ms, commute_ms, all_ms, "derived indexes built");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn snap(version: u64) -> Arc<Snapshot> {
        let mut s = Snapshot::empty(Arc::new(crate::model::Taxonomy::builtin()));
        s.version = version;
        Arc::new(s)
    }

    /// The nice value of the calling thread, from `/proc/thread-self/stat`
    /// (the 19th field; the 2nd, the thread's name in parentheses, may hold
    /// spaces).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn background_work_yields_and_its_threads_inherit_it() {
        let (own, lowered, child) = std::thread::spawn(|| {
            let own = own_nice();
            yield_to_requests();
            let lowered = own_nice();
            let child = std::thread::spawn(own_nice).join().unwrap();
            (own, lowered, child)
        })
        .join()
        .unwrap();
        assert_eq!((lowered, child), (BACKGROUND_NICE, BACKGROUND_NICE), "from {own}");
        // The calling test's thread is untouched.
        assert_eq!(own_nice(), own);
    }

    #[test]
    fn a_burst_runs_once_for_the_newest() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let seen = ran.clone();
        // Offers 10 ms apart, each within the settling time of the one
        // before even on a loaded machine (at 200 ms, a stalled sleep once
        // let the first run on its own).
        let follower = Follower::start("test-follower", Settle::every(Duration::from_secs(2)), move |s| {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(s.version)
        });
        for v in 1..=5 {
            // Each offer within the settling time replaces the one before,
            // and hands it back to be freed where the caller chooses.
            let replaced = follower.offer(snap(v)).map(|s| s.version);
            assert_eq!(replaced, v.checked_sub(1).filter(|&p| p > 0));
            std::thread::sleep(Duration::from_millis(10));
        }
        for _ in 0..1000 {
            if !ran.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(*ran.lock().unwrap_or_else(|p| p.into_inner()), vec![5]);
    }

    #[test]
    fn the_first_job_runs_at_once_and_a_burst_after_it_once() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let seen = ran.clone();
        let settle = Settle { first: Duration::ZERO, then: Duration::from_secs(2) };
        let follower = Follower::start("test-settle", settle, move |s| {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(s.version)
        });
        let ran_so_far = || ran.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let _ = follower.offer(snap(1));
        for _ in 0..1000 {
            if !ran_so_far().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(ran_so_far(), vec![1], "the first offer's job, without a wait for a newer one");
        // A burst after it, each offer within the settling time of the one
        // before: one job, for the newest.
        for v in 2..=5 {
            let _ = follower.offer(snap(v));
            std::thread::sleep(Duration::from_millis(10));
        }
        for _ in 0..1000 {
            if ran_so_far().len() > 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(ran_so_far(), vec![1, 5]);
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_thread() {
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let follower = Follower::start("test-panics", Settle::every(Duration::ZERO), move |s| {
            c.fetch_add(1, Ordering::SeqCst);
            assert!(s.version != 1, "the first job fails");
        });
        let wait_for = |n: u64| {
            for _ in 0..1000 {
                if count.load(Ordering::SeqCst) >= n {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let _ = follower.offer(snap(1));
        wait_for(1);
        let _ = follower.offer(snap(2));
        wait_for(2);
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }
}
