//! Large arrays kept for the next snapshot to write into.
//!
//! A snapshot that follows a moves batch copies every talent record (147
//! MiB at 4 M talents) into a new array, and its workplace order and talent
//! pyramid are new arrays of millions of entries. Memory fresh from the
//! system costs a page fault and a cleared page for every 4 KiB before it
//! is first written: at 4 M talents that took longer than the copy itself,
//! and more in some batches than in others (the server returns freed memory
//! to the system at once; ARCHITECTURE.md, "Freed memory goes back to the
//! system"). So the snapshot that a batch replaced, once its last reader is
//! done with it, leaves its large arrays in a [`Room`], emptied, and the
//! next batch's snapshot takes them instead of fresh memory.
//!
//! What no batch took is given back to the system [`KEEP`] after it was
//! put in: a feed that sends batches holds one spare set of arrays, a
//! server without one holds none after that, and the resident size after a
//! start is unchanged (nothing is dropped while it starts).

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long an array that no batch took is kept, in the rooms of
/// snapshots.
pub const KEEP: Duration = Duration::from_secs(10);

/// Arrays of fewer bytes are not kept: fresh memory for them costs little.
const SMALLEST: usize = 1 << 20;

/// The capacity of a new array for `n` elements: a little more, since a
/// city's count changes from batch to batch and the next snapshot's array
/// should fit in this one.
fn grown(n: usize) -> usize {
    n + n / 256
}

/// Arrays of `T` kept for reuse, at most `most` at a time (the newest),
/// each for `keep` unless taken.
pub struct Room<T> {
    kept: Mutex<Vec<(Vec<T>, Instant)>>,
    /// Held while [`Self::ready`] makes arrays: one made at a time, and a
    /// second caller counts what the first made.
    readying: Mutex<()>,
    most: usize,
    keep: Duration,
}

impl<T: Send + 'static> Room<T> {
    /// A room for at most `most` arrays, each kept for `keep`.
    pub const fn new(most: usize, keep: Duration) -> Room<T> {
        Room { kept: Mutex::new(Vec::new()), readying: Mutex::new(()), most, keep }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(Vec<T>, Instant)>> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An empty array with room for `n` elements: the smallest kept one that
    /// has it, otherwise a new one with a little more ([`grown`]).
    pub fn take(&'static self, n: usize) -> Vec<T> {
        if n.saturating_mul(std::mem::size_of::<T>()) < SMALLEST {
            return Vec::with_capacity(n);
        }
        let taken = {
            let mut kept = self.lock();
            let best = kept
                .iter()
                .enumerate()
                .filter(|(_, (v, _))| v.capacity() >= n)
                .min_by_key(|(_, (v, _))| v.capacity())
                .map(|(i, _)| i);
            best.map(|i| kept.swap_remove(i).0)
        };
        taken.unwrap_or_else(|| Vec::with_capacity(grown(n)))
    }

    /// Makes sure that `count` kept arrays have room for `n` elements each,
    /// adding arrays (as large as [`Self::take`] makes a new one) whose
    /// every element was written once (with `filler`), so that the system
    /// has mapped their memory: whoever takes one then writes into it
    /// without a page fault. Nothing when they are kept already, or `n`
    /// elements are too few to keep. Returns how many it made.
    pub fn ready(&'static self, n: usize, count: usize, filler: T) -> usize
    where
        T: Clone,
    {
        if n.saturating_mul(std::mem::size_of::<T>()) < SMALLEST || !expiry().running {
            return 0;
        }
        // Two requests of a feed (a batch and the retry before it) ready
        // the rooms at once: the second waits for the first and makes only
        // what is still missing, not the same arrays again beside it.
        let _one = self.readying.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = self.lock().iter().filter(|(v, _)| v.capacity() >= n).count();
        let made = count.min(self.most).saturating_sub(kept);
        for _ in 0..made {
            let mut v = Vec::with_capacity(grown(n));
            v.resize(v.capacity(), filler.clone());
            self.put(v);
        }
        made
    }

    /// Keeps `v`, emptied, when it is large enough to matter; the oldest
    /// kept array goes when there are more than `most`.
    pub fn put(&'static self, mut v: Vec<T>) {
        if v.capacity().saturating_mul(std::mem::size_of::<T>()) < SMALLEST || !expiry().running {
            return;
        }
        v.clear();
        let over = {
            let mut kept = self.lock();
            kept.push((v, Instant::now()));
            kept.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
            let most = self.most.min(kept.len());
            kept.split_off(most)
        };
        // Freed outside the lock.
        drop(over);
        expiry().register(self);
    }

    /// Bytes kept now.
    pub fn bytes(&self) -> usize {
        self.lock().iter().map(|(v, _)| v.capacity() * std::mem::size_of::<T>()).sum()
    }
}

/// What the expiring thread asks of a room.
trait Expiring: Sync {
    /// Frees the arrays kept for their room's time at `now`; when the next
    /// is due.
    fn expire(&self, now: Instant) -> Option<Instant>;
}

impl<T: Send + 'static> Expiring for Room<T> {
    fn expire(&self, now: Instant) -> Option<Instant> {
        let expired: Vec<_> = {
            let mut kept = self.lock();
            let (stay, expired) =
                std::mem::take(&mut *kept).into_iter().partition(|(_, at)| now.duration_since(*at) < self.keep);
            *kept = stay;
            expired
        };
        // Freed outside the lock: a batch may be waiting to take another.
        drop(expired);
        self.lock().iter().map(|(_, at)| *at + self.keep).min()
    }
}

/// The thread that frees what was kept too long, and the rooms it watches.
struct Expiry {
    rooms: Mutex<Vec<&'static dyn Expiring>>,
    wake: Condvar,
    /// Whether the thread runs: without it nothing is kept.
    running: bool,
}

impl Expiry {
    fn register(&self, room: &'static dyn Expiring) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = rooms.iter().any(|r| std::ptr::addr_eq(*r as *const dyn Expiring, room as *const dyn Expiring));
        if !known {
            rooms.push(room);
        }
        drop(rooms);
        self.wake.notify_one();
    }
}

fn expiry() -> &'static Expiry {
    static EXPIRY: OnceLock<Expiry> = OnceLock::new();
    EXPIRY.get_or_init(|| {
        // The thread waits for this initialisation to finish before it
        // reads the list of rooms.
        let running = std::thread::Builder::new().name("array-room".into()).spawn(run).is_ok();
        if !running {
            tracing::warn!("no thread to free kept arrays; none are kept");
        }
        Expiry { rooms: Mutex::new(Vec::new()), wake: Condvar::new(), running }
    })
}

fn run() {
    let expiry = expiry();
    let mut rooms = expiry.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let now = Instant::now();
        let watched = rooms.clone();
        // Rooms are expired without the list locked (a put registers).
        drop(rooms);
        let due = watched.iter().filter_map(|room| room.expire(now)).min();
        let wait = due.map_or(Duration::from_secs(3600), |due| {
            due.saturating_duration_since(Instant::now()) + Duration::from_millis(10)
        });
        rooms = expiry.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rooms = expiry.wake.wait_timeout(rooms, wait).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Kept long enough that a stalled test thread still finds them.
    static ROOM: Room<u64> = Room::new(2, Duration::from_secs(3));

    #[test]
    fn readied_arrays_are_taken_and_not_made_twice() {
        static READY: Room<u32> = Room::new(3, Duration::from_secs(30));
        let n = 1 << 19;
        // As large as a new array `take` would make.
        let made = grown(n);
        READY.ready(n, 2, 7);
        assert_eq!(READY.bytes(), 2 * made * 4);
        // Kept already: nothing more is made.
        READY.ready(n - 1, 2, 7);
        assert_eq!(READY.bytes(), 2 * made * 4);
        let first = READY.take(made);
        assert_eq!((first.len(), first.capacity()), (0, made));
        assert_eq!(READY.bytes(), made * 4);
        // One kept, two asked for: one more made; too small to keep: none.
        READY.ready(n, 2, 7);
        assert_eq!(READY.bytes(), 2 * made * 4);
        READY.ready(1000, 3, 7);
        assert_eq!(READY.bytes(), 2 * made * 4);
    }

    #[test]
    fn two_that_ready_a_room_at_once_make_its_arrays_once() {
        static TWICE: Room<u32> = Room::new(3, Duration::from_secs(30));
        let n = 1 << 20;
        let made = std::thread::scope(|s| {
            let first = s.spawn(|| TWICE.ready(n, 2, 1));
            let second = s.spawn(|| TWICE.ready(n, 2, 1));
            first.join().unwrap() + second.join().unwrap()
        });
        assert_eq!(made, 2, "each array made once");
        assert_eq!(TWICE.bytes(), 2 * grown(n) * 4);
    }

    #[test]
    fn a_kept_array_is_taken_again_and_freed_after_keep() {
        let mut v: Vec<u64> = Vec::with_capacity(1 << 18);
        v.extend(0..1000);
        let at = v.as_ptr() as usize;
        ROOM.put(v);
        assert_eq!(ROOM.bytes(), (1 << 18) * 8);
        // Too large for what is kept: a new array, the kept one stays.
        let big = ROOM.take((1 << 18) + 1);
        assert!(big.capacity() > 1 << 18);
        assert_eq!(ROOM.bytes(), (1 << 18) * 8);
        // Small arrays are not taken from the room.
        assert_eq!(ROOM.take(1000).capacity(), 1000);
        let again = ROOM.take(200_000);
        assert_eq!((again.as_ptr() as usize, again.len(), again.capacity()), (at, 0, 1 << 18));
        assert_eq!(ROOM.bytes(), 0);
        // Small arrays are not kept.
        ROOM.put(Vec::with_capacity(16));
        assert_eq!(ROOM.bytes(), 0);
        // At most two, the newest.
        ROOM.put(again);
        ROOM.put(Vec::with_capacity(1 << 18));
        ROOM.put(big);
        assert_eq!(ROOM.bytes(), ((1 << 18) + ((1 << 18) + 1 + ((1 << 18) + 1) / 256)) * 8);
        // Given back once their time has passed.
        let until = Instant::now() + Duration::from_secs(30);
        while ROOM.bytes() > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(ROOM.bytes(), 0);
    }
}
