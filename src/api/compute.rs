//! The bounded pool for CPU-bound request work.
//!
//! Tile renders on a cache miss, catchments, aggregates, exports and
//! scenario runs take milliseconds to seconds of one core. Run on the async
//! workers they would stall every other request on those workers (on a
//! 2-core machine there are only two), so handlers hand such work to
//! [`Compute::run`]: it waits for one of a fixed number of permits and runs
//! the closure on tokio's blocking threads. The async workers only route
//! requests and copy bytes, and `/health` or a cached tile never queues
//! behind a render.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::ApiError;

/// A semaphore-bounded gate in front of `spawn_blocking`.
#[derive(Clone, Debug)]
pub struct Compute {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Compute {
    /// A pool that runs at most `size` closures at once (at least one).
    pub fn new(size: usize) -> Compute {
        let size = size.max(1);
        Compute { permits: Arc::new(Semaphore::new(size)), size }
    }

    /// The default size: the number of cores.
    pub fn default_size() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    /// How many closures may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many closures are running now.
    pub fn busy(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// Runs `work` on a blocking thread once a permit is free. A panic in
    /// `work` becomes a 500 (logged), never a crashed worker.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| ApiError::Internal("compute pool closed".into()))?;
        let permits = self.permits.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            crate::spare::within(&permits, work)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("compute task failed: {e}")))
    }

    /// Runs `work` on the current thread once a permit is free. For code
    /// that already is on a blocking thread (a cache's single-flight
    /// initialiser), so that only the caller that computes holds a permit
    /// and the callers waiting for its result hold none. Must not be called
    /// on an async worker.
    pub fn run_here<T>(&self, work: impl FnOnce() -> T) -> T {
        let permit = tokio::runtime::Handle::try_current()
            .ok()
            .and_then(|rt| rt.block_on(self.permits.clone().acquire_owned()).ok());
        let out = crate::spare::within(&self.permits, work);
        drop(permit);
        out
    }
}

impl Default for Compute {
    fn default() -> Self {
        Compute::new(Compute::default_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_than_its_size_at_once() {
        let pool = Compute::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("join").is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error() {
        let pool = Compute::new(1);
        let r: Result<(), ApiError> = pool.run(|| panic!("boom")).await;
        assert!(matches!(r, Err(ApiError::Internal(_))));
        assert!(pool.run(|| 7).await.is_ok_and(|v| v == 7), "the permit was released");
    }
}
