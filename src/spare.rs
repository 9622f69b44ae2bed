//! A second core for one large computation, when one is idle.
//!
//! Request work runs on the bounded compute pool (`api::compute`), one
//! permit per core. A computation that splits in two (a filtered tile over
//! millions of records) runs its halves through [`join`]: when the pool that
//! runs it has a free permit, the second half runs on a thread of its own
//! holding that permit; otherwise both run here, one after the other. Under
//! load every permit is taken and nothing changes; a lone large request gets
//! both cores. Outside the pool (the command line, tests, background
//! threads) [`join`] runs both halves here.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

thread_local! {
    /// The permits of the pool whose work runs on this thread.
    static POOL: RefCell<Option<Arc<Semaphore>>> = const { RefCell::new(None) };
}

/// Runs `work` as work of the pool whose permits are `pool`: a [`join`]
/// inside it may take one of them.
pub fn within<T>(pool: &Arc<Semaphore>, work: impl FnOnce() -> T) -> T {
    struct Reset(Option<Arc<Semaphore>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            POOL.with(|p| *p.borrow_mut() = previous);
        }
    }
    let _reset = Reset(POOL.with(|p| p.borrow_mut().replace(pool.clone())));
    work()
}

/// `(a(), b())`, with `b` on another thread when the pool has a free
/// permit (see the module doc). A panic in either half is resumed here.
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    let permit = POOL.with(|p| p.borrow().as_ref().and_then(|s| s.clone().try_acquire_owned().ok()));
    let Some(permit) = permit else { return (a(), b()) };
    let pool = POOL.with(|p| p.borrow().clone());
    // Taken by the other thread, or back here when it cannot start.
    let second = Mutex::new(Some(b));
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new().name("spare-core".into()).spawn_scoped(s, || {
            let _permit = permit;
            let b = second.lock().unwrap_or_else(|p| p.into_inner()).take();
            let run = || b.map(|b| b());
            match &pool {
                Some(pool) => within(pool, run),
                None => run(),
            }
        });
        let ra = a();
        let rb = match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        };
        let rb = match rb {
            Some(rb) => rb,
            None => match second.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(b) => b(),
                None => unreachable_second(),
            },
        };
        (ra, rb)
    })
}

/// The second half ran or is still here: one of the two always holds.
#[cold]
fn unreachable_second() -> ! {
    std::panic::panic_any("spare::join lost its second half")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_run_once_in_order_with_or_without_a_free_permit() {
        assert_eq!(join(|| 1, || 2), (1, 2), "outside a pool");
        let pool = Arc::new(Semaphore::new(2));
        let (main, other) = within(&pool, || {
            join(|| std::thread::current().id(), || (std::thread::current().id(), pool.available_permits()))
        });
        assert_ne!(main, other.0, "a free permit: the second half ran on another thread");
        assert_eq!(other.1, 1, "holding the permit it took");
        assert_eq!(pool.available_permits(), 2, "and gave it back");
        let busy = Arc::new(Semaphore::new(0));
        let (main, other) = within(&busy, || join(|| std::thread::current().id(), || std::thread::current().id()));
        assert_eq!(main, other, "no free permit: both halves here");
    }

    #[test]
    fn a_panic_in_the_second_half_reaches_the_caller() {
        let pool = Arc::new(Semaphore::new(2));
        let caught = std::panic::catch_unwind(|| within(&pool, || join(|| 1, || -> u32 { panic!("second") })));
        assert!(caught.is_err());
        assert_eq!(pool.available_permits(), 2);
    }
}
