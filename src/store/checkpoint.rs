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
//! log over ([`crate::import::stage_moves_gated`]). How long the log is
//! comes from SQLite after each commit of a server connection
//! (`sqlite3_wal_hook`), not from the length of its file.
//!
//! The log's file is made twice [`LOG_BOUND`] long when the thread starts
//! (room for a log at its bound and a batch after it; no longer than the
//! store's own file), in blocks the file system has allocated and the page
//! cache holds, and kept within that length (`journal_size_limit`): a log
//! within its bound and the batch after it is written over those blocks. A
//! write past the end of the file instead has the file system allocate
//! blocks, and the kernel new pages to zero, for every frame: the first two
//! 10,000-move batches after a start, one into a new file and one past the
//! end of the first, spent 250–400 ms in their commits against 110–150 ms
//! for a batch written over the log's earlier frames. PostgreSQL fills a
//! new log segment with zeros and recycles old ones for the same reason
//! (`wal_init_zero`, `wal_recycle`). The bytes past the log's last frame
//! are never read as frames (SQLite stops at the first frame whose salt and
//! checksum do not match). Other processes on the same store (the command
//! line's imports) keep SQLite's default. PostgreSQL needs none of this.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Location, Store, StoreError};

/// Time between two checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// Bytes of write-ahead log past which a moves batch has a checkpoint run
/// and waits for it before it begins (about three 10,000-move batches at
/// 4 M talents).
pub const LOG_BOUND: u64 = 128 << 20;

/// Pages a commit adds to the log past which its checkpoint starts at
/// once ([`Checkpointer::meter`]): 16 MiB of 4 KiB pages, a tenth of a
/// 10,000-move batch at 4 M talents (22,000 pages), far more than the
/// audit entry of a request (a few pages), whose pages wait for the next
/// [`INTERVAL`] so that a burst of requests costs one checkpoint.
pub const WAKE_PAGES: u64 = 4096;

/// Bytes of a write-ahead log's header and of each frame's beyond its page.
const LOG_HEADER: u64 = 32;
const FRAME_HEADER: u64 = 24;

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
    /// Length the log's file is kept within (twice the bound) and made at
    /// start (or the store's length, if less).
    file: u64,
    /// Bytes in the log after the latest commit a server connection made
    /// ([`Self::meter`]).
    log: Arc<AtomicU64>,
    /// The store's page size.
    page: u64,
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
    /// The log's file has been made its length (or could not be).
    prepared: bool,
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
        let page: i64 = store.conn().query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() });
        let theirs = shared.clone();
        let wal = location.dir.join(format!("{}-wal", super::DB_FILE));
        let (file, log_file) = (2 * bound, wal.clone());
        // A store smaller than that has its log's file made as long as the
        // store (a demo city's, a test's): a batch rewrites no more pages.
        let store_len = std::fs::metadata(location.dir.join(super::DB_FILE)).map_or(0, |m| m.len());
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                let started = Instant::now();
                match prepare(&store, &log_file, file.min(store_len)) {
                    Ok(0) => {}
                    Ok(grown) => {
                        let ms = started.elapsed().as_millis() as u64;
                        tracing::debug!(bytes = grown, ms, "write-ahead log's file made its length")
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot make the write-ahead log's file its length"),
                }
                theirs.lock().prepared = true;
                theirs.wake.notify_all();
                run(&store, &theirs, interval)
            })
            .map_err(StoreError::Thread)?;
        let log = Arc::new(AtomicU64::new(0));
        Ok(Some(Checkpointer { shared, thread: Some(thread), wal, bound, file, log, page: page.max(512) as u64 }))
    }

    /// The length the log's file is kept within (`journal_size_limit`: a
    /// log started over cuts a longer file back to it).
    pub fn log_file(&self) -> u64 {
        self.file
    }

    /// What a server connection has SQLite call after each commit
    /// ([`crate::store::db::Connection::on_log_commit`]): the pages then in
    /// the log, kept as its length in bytes. A commit that added at least
    /// [`WAKE_PAGES`] pages (a moves batch, an import) has the checkpoint
    /// start at once rather than at the next [`INTERVAL`]: it then runs
    /// beside the rest of the batch (its snapshot patch, its answer) and
    /// ends before the next batch begins, which starts the log over
    /// instead of writing after it.
    pub fn meter(&self) -> impl FnMut(u64) + Send + 'static {
        let (log, page, shared) = (self.log.clone(), self.page, self.shared.clone());
        move |pages| {
            let bytes = if pages == 0 { 0 } else { LOG_HEADER + pages * (page + FRAME_HEADER) };
            // Against the log after the commit before, of any server
            // connection (a log started over since counts from nothing).
            let before = log.swap(bytes, Ordering::Relaxed);
            let added = if bytes >= before { (bytes - before) / (page + FRAME_HEADER) } else { pages };
            if added >= WAKE_PAGES {
                shared.lock().asked = true;
                shared.wake.notify_all();
            }
        }
    }

    /// Bytes in the log after the latest commit of a server connection.
    pub fn log_len(&self) -> u64 {
        self.log.load(Ordering::Relaxed)
    }

    /// Waits until the thread has made the log's file its length.
    #[cfg(test)]
    fn wait_prepared(&self) {
        let mut state = self.shared.lock();
        while !state.prepared {
            state = self.shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Keeps the log within its bound for the write that follows:
    /// [`Self::ask`], then [`Self::wait`] at once (the feed waits later,
    /// after its reads).
    #[cfg(test)]
    fn bound(&self) -> Bounded {
        self.ask().map_or(Bounded::Within, |asked| self.wait(asked))
    }

    /// When the log is longer than the bound, or its file longer than the
    /// length it is kept within (a log grown by another process, whose
    /// commits this checkpointer does not see), asks for a checkpoint now, without
    /// waiting for it: the caller may go on reading, then [`Self::wait`]s
    /// before it writes. `None`: the log is within its bound.
    pub fn ask(&self) -> Option<Asked> {
        let long = self.log_len() > self.bound || std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > self.file);
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

/// Makes the log's file at `wal` `len` bytes long, if it is shorter, by
/// appending zeros, then flushes them to disk so that the kernel does not
/// write them back during a batch. The bytes it added.
///
/// Each append lands at the file's end as it is at that moment
/// (`O_APPEND`), so a frame a writer has written is never overwritten, and a
/// frame written later over the zeros replaces them: no lock is needed, and
/// none is held while a writer may want it (a transaction that read first
/// and then writes gets `SQLITE_BUSY` at once from a held write lock, not
/// after the busy timeout). Readers never read past the log's last frame.
fn prepare(store: &Store, wal: &std::path::Path, len: u64) -> Result<u64, StoreError> {
    use std::io::Write;
    // A read opens the log's file in write-ahead-log mode if it is not yet.
    store.conn().query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
    let failed = |source| StoreError::Log { path: wal.to_path_buf(), source };
    let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(wal) else { return Ok(0) };
    let from = file.metadata().map_err(failed)?.len();
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n]).map_err(failed)?;
        at += n as u64;
    }
    if at > from {
        file.sync_data().map_err(failed)?;
    }
    Ok(at - from)
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
        let started = std::time::Instant::now();
        let found = checkpoint(store);
        let ms = started.elapsed().as_millis() as u64;
        let mut state = shared.lock();
        // Logged when it found frames to copy: its time is what runs beside
        // the next batch's reads (copying pages, then syncing the file).
        if let Ok(done) = &found
            && state.last.is_none_or(|last| last != *done)
            && done.frames > 0
        {
            tracing::debug!(frames = done.frames, copied = done.copied, ms, "write-ahead log checkpoint ran");
        }
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
        write_rows(pool, round, 3000);
    }

    /// Writes `rows` rows of 4,000 bytes (a page each) in one transaction
    /// on a connection of `pool`.
    fn write_rows(pool: &Pool, round: i64, rows: usize) {
        pool.with(|store| -> Result<(), StoreError> {
            let auto: i64 = store.conn().query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
            assert_eq!(auto, 0, "a server connection leaves checkpoints to the thread");
            let tx = store.conn_mut().transaction()?;
            tx.execute("CREATE TABLE IF NOT EXISTS filler (round INTEGER, bytes BLOB)", [])?;
            for _ in 0..rows {
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
    fn a_large_commit_has_its_checkpoint_start_at_once() {
        // Without a wake, the next checkpoint would come in an hour.
        let (_dir, pool, _wal) = bounded_pool(Duration::from_secs(3600));
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        let runs = || checkpointer.shared.lock().runs;
        // 3,000 pages: fewer than a wake needs; nothing runs.
        write_pages(&pool, 0);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(runs(), 0, "a small commit waits for the interval");
        // One commit of 6,000 pages.
        write_rows(&pool, 1, 6000);
        let mut state = checkpointer.shared.lock();
        let deadline = Instant::now() + Duration::from_secs(60);
        while state.runs == 0 && Instant::now() < deadline {
            state = checkpointer.shared.wake.wait_timeout(state, Duration::from_millis(100)).unwrap().0;
        }
        assert_eq!(state.runs, 1, "the large commit's checkpoint ran");
        let last = state.last.expect("it found the log");
        assert_eq!((last.copied, last.frames), (last.frames, last.frames), "every frame copied");
        assert!(last.frames >= 9000, "{last:?}");
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
        assert!(checkpointer.log_len() > 16 << 20);
        // Asked for, the checkpoint runs while the writer reads.
        let asked = checkpointer.ask().expect("the log is past its bound");
        let mut store = pool.open().unwrap();
        let read = store.conn_mut().transaction().unwrap();
        let seen: i64 = read.query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 6000);
        drop(read);
        assert_eq!(checkpointer.wait(asked), Bounded::Copied);
        assert_eq!(runs(), 1, "one checkpoint, asked for before the read");
        // The write after the wait starts the log over, its file cut back
        // to the length it was made.
        write_pages(&pool, 2);
        assert!(checkpointer.log_len() <= 16 << 20, "a log of {} bytes", checkpointer.log_len());
        assert!(file_len(&wal) <= 32 << 20, "a file of {} bytes", file_len(&wal));
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
        assert!(checkpointer.log_len() > 16 << 20);
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
        assert!(checkpointer.log_len() <= 16 << 20, "a log of {} bytes", checkpointer.log_len());
        assert!(file_len(&wal) <= 32 << 20, "a file of {} bytes", file_len(&wal));
    }

    /// The rows of the store whose files are copied into `to` as they are
    /// now, while connections have it open (what a power failure leaves).
    fn rows_after_a_crash(from: &std::path::Path, to: &std::path::Path) -> i64 {
        for name in [crate::store::DB_FILE.to_string(), format!("{}-wal", crate::store::DB_FILE)] {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
        let store = Location::sqlite(to).open().unwrap();
        store.conn().query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_log_file_is_made_its_length_and_loses_no_frame() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        // A store of 40 MB: longer than the file the log is made.
        let mut early = location.open().unwrap();
        let tx = early.conn_mut().transaction().unwrap();
        tx.execute("CREATE TABLE filler (round INTEGER, bytes BLOB)", []).unwrap();
        tx.execute("CREATE TABLE ballast (bytes BLOB)", []).unwrap();
        for _ in 0..10_000 {
            tx.execute("INSERT INTO ballast VALUES (zeroblob(4000))", []).unwrap();
        }
        tx.commit().unwrap();
        early.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        // Frames written before the server starts, not yet copied: a
        // connection that never checkpoints holds the log open.
        early.conn().pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        let tx = early.conn_mut().transaction().unwrap();
        for _ in 0..500 {
            tx.execute("INSERT INTO filler VALUES (0, zeroblob(4000))", []).unwrap();
        }
        tx.commit().unwrap();
        let wal = dir.path().join(format!("{}-wal", crate::store::DB_FILE));
        let before = file_len(&wal);
        assert!(before > 1 << 20 && before < 4 << 20, "a log of {before} bytes");

        let pool = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_secs(3600), 16 << 20).unwrap(),
            ..Pool::new(location.clone())
        };
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        checkpointer.wait_prepared();
        assert_eq!(file_len(&wal), 32 << 20, "made twice the bound");
        // Zeros past the last frame are not frames: a crash now loses
        // nothing, and the log's frames are all still read.
        let crashed = tempfile::tempdir().unwrap();
        assert_eq!(rows_after_a_crash(dir.path(), crashed.path()), 500);

        // A write goes on after the earlier frames, inside the file's
        // length; its log is within the bound, so nothing is asked for,
        // whatever the file's length.
        write_pages(&pool, 1);
        assert!(checkpointer.log_len() > 12 << 20 && checkpointer.log_len() < 16 << 20, "{}", checkpointer.log_len());
        assert_eq!(file_len(&wal), 32 << 20, "written inside the file");
        assert!(checkpointer.ask().is_none());
        let crashed = tempfile::tempdir().unwrap();
        assert_eq!(rows_after_a_crash(dir.path(), crashed.path()), 3500);

        // Past the bound, asked for; after the wait, the next write starts
        // the log over at the file's start and a crash still loses nothing.
        write_pages(&pool, 2);
        let asked = checkpointer.ask().expect("past the bound");
        drop(early);
        assert_eq!(checkpointer.wait(asked), Bounded::Copied);
        write_pages(&pool, 3);
        assert!(checkpointer.log_len() < 16 << 20, "started over: a log of {} bytes", checkpointer.log_len());
        let crashed = tempfile::tempdir().unwrap();
        assert_eq!(rows_after_a_crash(dir.path(), crashed.path()), 9500);
    }

    #[test]
    fn a_small_store_has_a_log_file_no_longer_than_itself() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        drop(location.open().unwrap());
        let store_len = file_len(&dir.path().join(crate::store::DB_FILE));
        let pool = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_secs(3600), 16 << 20).unwrap(),
            ..Pool::new(location)
        };
        let checkpointer = pool.checkpointer.as_ref().unwrap();
        checkpointer.wait_prepared();
        let wal = dir.path().join(format!("{}-wal", crate::store::DB_FILE));
        assert!(store_len > 0 && store_len < 1 << 20, "a store of {store_len} bytes");
        assert_eq!(file_len(&wal), store_len);
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
