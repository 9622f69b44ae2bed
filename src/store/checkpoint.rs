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
//! The log stays bounded as before: once a checkpoint has copied every
//! frame and no reader still needs them, the next writer starts the log
//! over. Other processes on the same store (the command line's imports)
//! keep SQLite's default. PostgreSQL needs none of this.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{Location, Store, StoreError};

/// Time between two checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// The checkpointing thread of a server; stops when dropped.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
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
        Checkpointer::every(location, INTERVAL)
    }

    /// [`Self::start`] with checkpoints `interval` apart.
    pub fn every(location: &Location, interval: Duration) -> Result<Option<Checkpointer>, StoreError> {
        if location.url.is_some() {
            return Ok(None);
        }
        let store = location.open()?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || run(&store, &flag, interval))
            .map_err(StoreError::Thread)?;
        Ok(Some(Checkpointer { stop, thread: Some(thread) }))
    }
}

fn run(store: &Store, stop: &(Mutex<bool>, Condvar), interval: Duration) {
    let (lock, wake) = stop;
    let mut failing = false;
    loop {
        let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (stopped, _) = wake.wait_timeout_while(stopped, interval, |s| !*s).unwrap_or_else(|p| p.into_inner());
        if *stopped {
            return;
        }
        drop(stopped);
        match checkpoint(store) {
            Ok(done) => {
                if done.copied < done.frames {
                    tracing::debug!(frames = done.frames, copied = done.copied, "write-ahead log partly copied");
                }
                failing = false;
            }
            // Said once per run of failures, not every interval.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "write-ahead log checkpoint failed; trying again");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
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

    #[test]
    fn commits_leave_the_copy_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        let db = dir.path().join(crate::store::DB_FILE);
        drop(location.open().unwrap());
        let before = file_len(&db);

        // A thread that would not run for an hour: nothing is copied.
        let idle = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_secs(3600)).unwrap(),
            ..Pool::new(location.clone())
        };
        write_pages(&idle, 1);
        assert!(file_len(&db) < before + (1 << 20), "the commit copied the log: {} bytes", file_len(&db));
        // Dropped, the pool's checkpointer stops without waiting out its
        // interval (and the last connection to close copies the log).
        drop(idle);

        // A thread that runs: the log reaches the database file.
        let busy = Pool {
            checkpointer: Checkpointer::every(&location, Duration::from_millis(10)).unwrap(),
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
