//! The bounded pool for CPU-bound request work.
//!
//! Tile renders on a cache miss, catchments, aggregates, exports and
//! scenario runs take milliseconds to seconds of one core. Run on the async
//! workers they would stall every other request on those workers (on a
//! 2-core machine there are only two), so handlers hand such work to
//! [`Compute::run`]: it queues the closure for one of a fixed number of
//! compute threads (one per core) and awaits its result. The async workers
//! only route requests and copy bytes, and `/health` or a cached tile never
//! queues behind a render.
//!
//! - **A queue, not a thread per task.** Under load a compute thread that
//!   finishes one closure takes the next from the queue without sleeping;
//!   a thread per task (tokio's blocking pool) would park and wake a thread
//!   for every render and make it wait for a permit.
//! - **Permits.** Each running closure holds one of `size` permits; a
//!   closure that splits in two ([`crate::spare::join`]) takes a free one
//!   for its second half, so a lone large request gets a second core.
//! - **Abandoned work is skipped.** A closure whose caller went away (a
//!   request cancelled by its time budget or its client) before it started
//!   is dropped unrun; [`Compute::spawn`] runs its closure in any case (a
//!   tile render whose result others wait for and the cache keeps).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::ApiError;

/// A closure queued for a compute thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of compute threads fed by a queue, bounded by permits.
#[derive(Clone)]
pub struct Compute {
    permits: Arc<Semaphore>,
    size: usize,
    /// Closed with the last handle's drop: the threads then end.
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compute").field("size", &self.size).field("busy", &self.busy()).finish()
    }
}

impl Compute {
    /// A pool of `size` compute threads (at least one) that runs at most
    /// `size` closures at once.
    pub fn new(size: usize) -> Compute {
        let size = size.max(1);
        let permits = Arc::new(Semaphore::new(size));
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..size {
            let (jobs, permits) = (jobs.clone(), permits.clone());
            let started = std::thread::Builder::new().name(format!("compute-{n}")).spawn(move || work(&jobs, &permits));
            if let Err(e) = started {
                tracing::error!(error = %e, "a compute thread could not start");
            }
        }
        Compute { permits, size, queue }
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

    /// Runs `work` on a compute thread and returns its result. A panic in
    /// `work` becomes a 500 (logged), never a crashed thread. Dropping the
    /// returned future before `work` has started leaves it unrun.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.queue_job(Box::new(move || {
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
        }));
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(ApiError::Internal(format!("compute task failed: {}", panic_message(&panic)))),
            Err(_) => Err(ApiError::Internal("compute pool closed".into())),
        }
    }

    /// Queues `work` for a compute thread and returns at once; `work` runs
    /// even when nobody waits for it any more. A panic in it is logged and
    /// ends `work` only.
    pub fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        self.queue_job(Box::new(move || {
            if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(work)) {
                tracing::error!(panic = panic_message(&panic), "a compute task panicked");
            }
        }));
    }

    fn queue_job(&self, job: Job) {
        // The threads end only when the last handle (and so the last
        // sender) is dropped: a send fails only if none could start, and
        // the dropped job then drops its result sender.
        if self.queue.send(job).is_err() {
            tracing::error!("no compute thread runs; work refused");
        }
    }
}

/// A compute thread: takes a closure from the queue, waits for a permit,
/// runs it as work of the pool; ends when the queue is closed.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>, permits: &Arc<Semaphore>) {
    loop {
        let job = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok(job) = job else { return };
        let Some(permit) = acquire(permits) else { return };
        crate::spare::within(permits, job);
        drop(permit);
    }
}

/// A permit of `permits`, waiting on this thread while a split computation's
/// second half holds the last one; `None` once the semaphore is closed.
fn acquire(permits: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = permits.clone().try_acquire_owned() {
        return Some(permit);
    }
    block_on(permits.clone().acquire_owned()).ok()
}

/// Wakes the thread that waits in [`block_on`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on this thread, parking between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// The text of a panic's payload, for the log and the 500's message.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_whose_caller_went_away_before_it_started_is_skipped() {
        let pool = Compute::new(1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || hold.recv().is_ok()).await })
        };
        while pool.busy() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let ran = Arc::new(AtomicUsize::new(0));
        let queued = {
            let (pool, ran) = (pool.clone(), ran.clone());
            tokio::spawn(async move { pool.run(move || ran.fetch_add(1, Ordering::SeqCst)).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        queued.abort();
        let _ = queued.await;
        let spawned = Arc::new(AtomicUsize::new(0));
        let counted = spawned.clone();
        pool.spawn(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        release.send(()).expect("the first closure waits");
        assert!(busy.await.expect("join").expect("ran"));
        // The queue is in order: once this runs, the two before it are done.
        assert_eq!(pool.run(|| 1).await.ok(), Some(1));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the abandoned closure did not run");
        assert_eq!(spawned.load(Ordering::SeqCst), 1, "a spawned closure runs without a caller");
    }
}
