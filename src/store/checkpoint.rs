//! Write-ahead-log checkpoints off the write path of a server on a SQLite
//! store.
//!
//! SQLite copies its write-ahead log into the database file (a
//! *checkpoint*) in the commit that takes the log past 1,000 pages, by
//! default: whichever commit that is — a moves batch, or the audit record of
//! a read — waits for the copy and its `fsync`. A server instead turns the
//! automatic checkpoint off on every connection it opens
//! ([`super::Pool::for_server`]) and leaves the copying to one
//! [`Checkpointer`]: a thread with a connection of its own that runs a
//! `PASSIVE` checkpoint (it never waits for, nor blocks, a reader or a
//! writer) every [`INTERVAL`] while the log holds frames not yet copied.
//!
//! A writer starts the log over only when, as its transaction began, a
//! checkpoint had copied every frame. Moves batches sent one after another
//! each begin while the checkpoint of the one before is still copying, and
//! the log would grow without end (1.4 GB after twenty 10,000-move batches
//! at 4 M talents). So when the log has grown past [`LOG_BOUND`], the moves
//! feed [`Checkpointer::ask`]s for a checkpoint as a batch comes in, reads
//! and replays the batch while it runs, and [`Checkpointer::wait`]s for what
//! is left of it before taking the write lock: the batch then starts the
//! log over ([`crate::import::stage_moves_gated`]). The
//! server's connections also set `journal_size_limit`, so the file of a log
//! started over shrinks back to [`LOG_BOUND`]. Other processes on the same
//! store (the command line's imports) keep SQLite's default. PostgreSQL
//! needs none of this.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Location, Store, StoreError};

/// Time between two checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// Bytes of write-ahead log past which a moves batch has a checkpoint run
/// and waits for it before it begins (about three 10,000-move batches at
/// 4 M talents).
pub const LOG_BOUND: u64 = 128 << 20;

/// Longest wait for that checkpoint: past it, the batch goes on with the
/// log as it is.
const BOUND_WAIT: Duration = Duration::from_secs(5);

/// The checkpointing thread of a server; stops when dropped.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The log's file.
    wal: std::path::PathBuf,
    /// Bytes of log past which [`Self::bound`] waits.
    bound: u64,
}

/// What the thread and its callers share.
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    stop: bool,
    /// A caller waits for the next checkpoint.
    asked: bool,
    /// A checkpoint is being run.
    running: bool,
    /// Checkpoints run so far.
    runs: u64,
    /// What the latest found.
    last: Option<Checkpoint>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What one checkpoint found, as SQLite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Frames in the log.
    pub frames: i64,
    /// Frames copied into the database file (by this or an earlier
    /// checkpoint).
    pub copied: i64,
}

/// Runs one `PASSIVE` checkpoint on `store`'s connection.
pub fn checkpoint(store: &Store) -> Result<Checkpoint, StoreError> {
    let (frames, copied): (i64, i64) =
        store.conn().query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))?;
    Ok(Checkpoint { frames, copied })
}

impl Checkpointer {
    /// Starts the thread for the SQLite store at `location`; `None` for
    /// PostgreSQL. Its connection is open before this returns, so a store
    /// that cannot be opened is an error here and nothing turns automatic
    /// checkpoints off.
    pub fn start(location: &Location) -> Result<Option<Checkpointer>, StoreError> {
        Checkpointer::every(location, INTERVAL, LOG_BOUND)
    }

    /// [`Self::start`] with checkpoints `interval` apart and a log bound of
    /// `bound` bytes.
    pub fn every(location: &Location, interval: Duration, bound: u64) -> Result<Option<Checkpointer>, StoreError> {
        if location.url.is_some() {
            return Ok(None);
        }
        let store = location.open()?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || run(&store, &theirs, interval))
            .map_err(StoreError::Thread)?;
        let wal = location.dir.join(format!("{}-wal", super::DB_FILE));
        Ok(Some(Checkpointer { shared, thread: Some(thread), wal, bound }))
    }

    /// The log's bound in bytes: what [`Self::bound`] keeps it to, and
    /// the length its file is cut back to (`journal_size_limit`) when it
    /// starts over.
    pub fn log_bound(&self) -> u64 {
        self.bound
    }

    /// Keeps the log within its bound for the write that follows:
    /// [`Self::ask`], then [`Self::wait`] at once (the feed waits later,
    /// after its reads).
    #[cfg(test)]
    fn bound(&self) -> Bounded {
        self.ask().map_or(Bounded::Within, |asked| self.wait(asked))
    }

    /// When the log's file is longer than the bound (it is cut back to the
    /// bound whenever the log starts over, so a longer file holds a longer
    /// log), asks for a checkpoint now, without waiting for it: the caller
    /// may go on reading, then [`Self::wait`]s before it writes. `None`:
    /// the log is within its bound.
    pub fn ask(&self) -> Option<Asked> {
        let long = std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > self.bound);
        if !long {
            return None;
        }
        let mut state = self.shared.lock();
        // A checkpoint that began before this call may have missed the
        // newest frames: wait for one that begins after it.
        // One running now is followed by the one asked for.
        let after = state.runs + u64::from(state.running);
        state.asked = true;
        self.shared.wake.notify_all();
        Some(Asked { after })
    }

    /// Waits for the checkpoint `asked` for (one that began after the
    /// ask), so that the write that follows starts the log over. One
    /// checkpoint copies every frame that no reader still needs; when a
    /// reader does (a long read of the store), waiting longer would not
    /// help and the write goes on. At most [`BOUND_WAIT`].
    pub fn wait(&self, asked: Asked) -> Bounded {
        let Asked { after } = asked;
        let mut state = self.shared.lock();
        let deadline = Instant::now() + BOUND_WAIT;
        loop {
            if state.stop {
                return Bounded::Stopped;
            }
            if state.runs > after {
                return match state.last {
                    Some(c) if c.copied < c.frames => Bounded::Held(c),
                    _ => Bounded::Copied,
                };
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(bound = self.bound, "no checkpoint in time; the write goes on with the log as it is");
                return Bounded::TimedOut;
            }
            if state.runs + u64::from(state.running) <= after {
                state.asked = true;
                self.shared.wake.notify_all();
            }
            state = self.shared.wake.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// A checkpoint asked for by [`Checkpointer::ask`], to wait for with
/// [`Checkpointer::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a checkpoint asked for is waited for before the write"]
pub struct Asked {
    /// Checkpoints run or running when it was asked.
    after: u64,
}

/// What [`Checkpointer::wait`] found and did, or that no wait was asked
/// for ([`Bounded::Within`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounded {
    /// The log was within its bound: no wait.
    Within,
    /// A checkpoint copied the whole log: the next write starts it over.
    Copied,
    /// A checkpoint copied what no reader holds; a reader holds the rest
    /// (the log starts over at a later write).
    Held(Checkpoint),
    /// No checkpoint ended within [`BOUND_WAIT`].
    TimedOut,
    /// The checkpointer is stopping.
    Stopped,
}

fn run(store: &Store, shared: &Shared, interval: Duration) {
    let mut failing = false;
    loop {
        let state = shared.lock();
        let (mut state, _) =
            shared.wake.wait_timeout_while(state, interval, |s| !s.stop && !s.asked).unwrap_or_else(|p| p.into_inner());
        if state.stop {
            return;
        }
        (state.asked, state.running) = (false, true);
        drop(state);
        let found = checkpoint(store);
        let mut state = shared.lock();
        (state.runs, state.running) = (state.runs + 1, false);
        match found {
            Ok(done) => {
                if done.copied < done.frames {
                    tracing::debug!(frames = done.frames, copied = done.copied, "write-ahead log partly copied");
                }
                state.last = Some(done);
                failing = false;
            }
            // Said once per run of failures, not every interval.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "write-ahead log checkpoint failed; trying again");
                state.last = None;
                failing = true;
            }
            Err(_) => state.last = None,
        }
        drop(state);
        shared.wake.notify_all();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Pool;

    /// Writes about 12 MB (3,000 pages: past SQLite's automatic checkpoint
    /// at 1,000) in one transaction on a connection of `pool`.
    fn write_pages(pool: &Pool, round: i64) {
        pool.with(|store| -> Result<(), StoreError> {
            let auto: i64 = store.conn().query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
            assert_eq!(auto, 0, "a server connection leaves checkpoints to the thread");
            let tx = store.conn_mut().transaction()?;
            tx.execute("CREATE TABLE IF NOT EXISTS filler (round INTEGER, bytes BLOB)", [])?;
            for _ in 0..3000 {
                tx.execute("INSERT INTO filler VALUES (?1, zeroblob(4000))", [round])?;
            }
            tx.commit()?;
            Ok(())
        })
        .unwrap();
    }

    fn file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// A new store's pool with a checkpointer every `interval` and a log
    /// bound of 16 MB; the store's directory and the log's file.
    fn bounded_pool(interval: Duration) -> (tempfile::TempDir, Pool, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        drop(location.open().unwrap());
        let pool =
            Pool { checkpointer: Checkpointer::every(&location, interval, 16 << 20).unwrap(), ..Pool::new(location) };
        let wal = pool.checkpointer.as_ref().unwrap().wal.clone();
        (dir, pool, wal)
    }

    #[test]
    fn writes_one_after_another_start_a_bounded_log_over() {
        let (_dir, pool, wal) = bounded_pool(Duration::from_millis(20));
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        // Twelve writes of 12 MB, each begun as soon as the one before
        // committed, each after a bound of 16 MB: the log starts over
        // whenever it has grown past the bound, so its file never holds
        // more than the bound and a write or two.
        let mut waited = 0;
        for round in 0..12 {
            waited += usize::from(checkpointer.bound() != Bounded::Within);
            write_pages(&pool, round);
            assert!(file_len(&wal) < 40 << 20, "round {round}: a log of {} bytes", file_len(&wal));
        }
        assert!(waited >= 3, "the bound was passed {waited} times");
        let store = pool.open().unwrap();
        let rows: i64 = store.conn().query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 12 * 3000);
    }

    #[test]
    fn a_write_that_reads_while_its_checkpoint_runs_starts_the_log_over() {
        // Checkpoints only when asked.
        let (_dir, pool, wal) = bounded_pool(Duration::from_secs(3600));
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        let runs = || checkpointer.shared.lock().runs;
        for round in 0..2 {
            write_pages(&pool, round);
        }
        assert!(file_len(&wal) > 16 << 20);
        // Asked for, the checkpoint runs while the writer reads.
        let asked = checkpointer.ask().expect("the log is past its bound");
        let mut store = pool.open().unwrap();
        let read = store.conn_mut().transaction().unwrap();
        let seen: i64 = read.query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 6000);
        drop(read);
        assert_eq!(checkpointer.wait(asked), Bounded::Copied);
        assert_eq!(runs(), 1, "one checkpoint, asked for before the read");
        // The write after the wait starts the log over, its file cut back.
        write_pages(&pool, 2);
        assert!(file_len(&wal) <= 16 << 20, "a log of {} bytes", file_len(&wal));
        // Within its bound, the log asks for nothing.
        assert!(checkpointer.ask().is_none());
    }

    #[test]
    fn a_log_that_a_reader_holds_costs_one_checkpoint_and_no_more() {
        // Checkpoints only when asked.
        let (_dir, pool, wal) = bounded_pool(Duration::from_secs(3600));
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        let runs = || checkpointer.shared.lock().runs;
        write_pages(&pool, 0);
        // A long read begins: it holds the log as it is now.
        let mut reader = pool.location().open().unwrap();
        let read = reader.conn_mut().transaction().unwrap();
        let seen: i64 = read.query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        write_pages(&pool, 1);
        write_pages(&pool, 2);
        assert!(file_len(&wal) > 16 << 20);
        // One checkpoint copies what the reader does not hold; the wait
        // ends there instead of asking again until its time is up.
        let before = runs();
        let held = checkpointer.bound();
        assert!(matches!(held, Bounded::Held(c) if c.copied < c.frames), "{held:?}");
        assert_eq!(runs() - before, 1, "one checkpoint");
        // Once the read is over, the next bound copies everything and the
        // write after it starts the log over, its file cut back.
        assert_eq!(seen, 3000);
        drop(read);
        assert_eq!(checkpointer.bound(), Bounded::Copied);
        write_pages(&pool, 3);
        assert!(file_len(&wal) <= 16 << 20, "a log of {} bytes", file_len(&wal));
    }

    #[test]
    fn commits_leave_the_copy_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        let db = dir.path().join(crate::store::DB_FILE);
        drop(location.open().unwrap());
        let before = file_len(&db);

        // A thread that would not run for an hour: nothing is copied.
        let idle = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_secs(3600), LOG_BOUND).unwrap(),
            ..Pool::new(location.clone())
        };
        write_pages(&idle, 1);
        assert!(file_len(&db) < before + (1 << 20), "the commit copied the log: {} bytes", file_len(&db));
        // Dropped, the pool's checkpointer stops without waiting out its
        // interval (and the last connection to close copies the log).
        drop(idle);

        // A thread that runs: the log reaches the database file.
        let busy = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_millis(10), LOG_BOUND).unwrap(),
            ..Pool::new(location.clone())
        };
        write_pages(&busy, 2);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while file_len(&db) < before + (20 << 20) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(file_len(&db) >= before + (20 << 20), "both rounds copied: {} bytes", file_len(&db));
        let store = location.open().unwrap();
        let rows: i64 = store.conn().query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 6000);

        // PostgreSQL has no log to copy.
        let pg = Location { dir: dir.path().to_path_buf(), url: Some("postgres://nobody@127.0.0.1:1/none".into()) };
        assert!(Checkpointer::start(&pg).unwrap().is_none());
    }
}
