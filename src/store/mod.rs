//! The durable store: one SQLite database in the data directory (the
//! default), or a PostgreSQL database shared by several servers.
//!
//! SQLite (bundled) in WAL mode gives a single-file store that needs no
//! setup, survives a killed process (an import is one transaction: either all
//! of it is there or none of it), and lets the server read while the CLI
//! imports. PostgreSQL (`--store postgres://…`) holds the same tables for
//! deployments with more than one server: every server reads and writes
//! the one database, and follows its data version. Both are reached through
//! [`db`], one connection API; the schema is versioned (SQLite's
//! `PRAGMA user_version`, PostgreSQL's `talentmap_schema` table) and
//! migrated forward on open.
//!
//! Every import bumps `data_version` in the `meta` table inside its own
//! transaction; servers poll that value to notice imports made by another
//! process and rebuild their snapshot. On PostgreSQL the commit also sends
//! a notification on [`NOTIFY_CHANNEL`], so servers that listen follow at
//! once.

pub mod checkpoint;
pub mod db;
mod schema;

use std::path::{Path, PathBuf};

use db::{Connection, OptionalExtension, params};
use rusqlite::OpenFlags;

/// The PostgreSQL channel on which a committed import announces its data
/// version (the payload).
pub const NOTIFY_CHANNEL: &str = "talentmap_data_version";

/// Where the store is: always a data directory (local files such as the
/// saved snapshot live there), and the database either SQLite in that
/// directory or PostgreSQL at a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub dir: PathBuf,
    /// `postgres://…` or `postgresql://…`; `None` is SQLite in `dir`.
    pub url: Option<String>,
}

impl Location {
    /// SQLite in `dir`.
    pub fn sqlite(dir: &Path) -> Location {
        Location { dir: dir.to_path_buf(), url: None }
    }

    /// The store named by `--store` (a PostgreSQL URL, a `sqlite:` path or
    /// a directory, or nothing) beside the data directory `dir`.
    pub fn parse(dir: &Path, store: Option<&str>) -> Result<Location, StoreError> {
        let Some(store) = store.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(Location::sqlite(dir)) };
        if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            return Ok(Location { dir: dir.to_path_buf(), url: Some(store.to_string()) });
        }
        if let Some(path) = store.strip_prefix("sqlite:") {
            return Ok(Location::sqlite(Path::new(path.trim_start_matches("//"))));
        }
        Err(StoreError::BadUrl {
            url: store.to_string(),
            message: "expected postgres://user@host:port/database, postgresql://…, or sqlite:DIR".into(),
        })
    }

    /// Opens the store (creating and migrating it if needed).
    pub fn open(&self) -> Result<Store, StoreError> {
        match &self.url {
            None => Store::open(&self.dir),
            Some(url) => Store::open_postgres(url, &self.dir),
        }
    }

    /// The store as people read it: the SQLite file, or the PostgreSQL URL
    /// without its password.
    pub fn describe(&self) -> String {
        match &self.url {
            None => self.dir.join(DB_FILE).display().to_string(),
            Some(url) => redact_password(url),
        }
    }
}

/// Open stores kept for reuse by a server: a PostgreSQL connection costs a
/// round of authentication to open, so the server's store work (sign-in,
/// audit, the moves feed, past months) takes one from here and gives it
/// back.
pub struct Pool {
    location: Location,
    idle: std::sync::Mutex<Vec<Store>>,
    /// A server's checkpointer on a SQLite store ([`Self::for_server`]):
    /// then the pool's connections leave checkpoints to it.
    checkpointer: Option<checkpoint::Checkpointer>,
    /// Whether each commit waits for the disk (`synchronous = FULL` on
    /// SQLite; PostgreSQL's commits always do): a server's pool, whose
    /// writes are audit records and credential changes answered as done.
    durable: bool,
}

/// Idle connections a pool keeps.
const POOL_IDLE: usize = 8;

impl Pool {
    pub fn new(location: Location) -> Pool {
        Pool { location, idle: std::sync::Mutex::new(Vec::new()), checkpointer: None, durable: false }
    }

    /// The pool of a server: on a SQLite store, its connections leave
    /// write-ahead-log checkpoints to a thread of their own
    /// ([`checkpoint`]), so no commit waits for one. When that thread
    /// cannot start, the connections checkpoint as SQLite does by default.
    /// Its commits are durable when they return: an audit record is on
    /// disk before the answer it describes is sent (SQLite's `NORMAL`, the
    /// store's default, could lose the newest commits to a power failure
    /// until the next checkpoint).
    pub fn for_server(location: Location) -> Pool {
        let checkpointer = checkpoint::Checkpointer::start(&location).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no checkpoint thread; commits checkpoint the write-ahead log themselves");
            None
        });
        Pool { checkpointer, durable: true, ..Pool::new(location) }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Opens a new connection to the pool's store, not kept by the pool
    /// (a connection of one user, such as the moves feed).
    pub fn open(&self) -> Result<Store, StoreError> {
        let mut store = self.location.open()?;
        if let Some(checkpointer) = &self.checkpointer {
            store.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            // A log started over cuts a longer file back to the length
            // the checkpointer keeps it within, when its first transaction
            // commits.
            store.conn.pragma_update(None, "journal_size_limit", checkpointer.log_file() as i64)?;
            // After turning the automatic checkpoint off, which replaces
            // the same hook.
            store.conn.on_log_commit(checkpointer.meter())?;
        }
        if self.durable {
            store.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(store)
    }

    /// Before a large write that reads first (a moves batch): on a SQLite
    /// store whose write-ahead log has grown past
    /// [`checkpoint::LOG_BOUND`], a checkpoint asked for now
    /// ([`checkpoint::Checkpointer::ask`]), and the wait for it
    /// ([`checkpoint::Checkpointer::wait`]), to call with no transaction
    /// open just before the write lock is taken, so that the write starts
    /// the log over. `None`: nothing to wait for (the log is within its
    /// bound, or the store is PostgreSQL's).
    pub fn ask_log_bound(&self) -> Option<impl FnOnce() -> checkpoint::Bounded + '_> {
        let checkpointer = self.checkpointer.as_ref()?;
        let asked = checkpointer.ask()?;
        Some(move || checkpointer.wait(asked))
    }

    /// Runs `f` on an open store (an idle one, or a new one). The store is
    /// kept for the next caller unless `f` failed or its connection closed.
    pub fn with<R, E: From<StoreError>>(&self, f: impl FnOnce(&mut Store) -> Result<R, E>) -> Result<R, E> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut store = match idle {
            Some(store) if !store.conn.is_closed() => store,
            _ => self.open()?,
        };
        let result = f(&mut store);
        if result.is_ok() && !store.conn.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < POOL_IDLE {
                idle.push(store);
            }
        }
        result
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("location", &self.location.describe()).finish()
    }
}

/// A PostgreSQL URL with its password replaced by `***`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (auth, host),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

pub use schema::SCHEMA_VERSION;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "talentmap.sqlite";

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("database {path}: {source}")]
    Open { path: PathBuf, source: db::Error },
    #[error("cannot connect to the PostgreSQL store {url}: {source}")]
    Connect { url: String, source: db::Error },
    #[error("store '{url}': {message}")]
    BadUrl { url: String, message: String },
    #[error(
        "database {path} has schema version {found}, newer than this build understands ({supported}); upgrade talentmap"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("database error: {0}")]
    Sql(#[from] db::Error),
    #[error("stored {what} '{id}' is invalid: {message}")]
    Corrupt { what: &'static str, id: String, message: String },
    #[error("the system gave no random bytes: {0}")]
    Random(String),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("write-ahead log {path}: {source}")]
    Log { path: PathBuf, source: std::io::Error },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e.into())
    }
}

/// A handle on the store's database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    location: Location,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and migrates its schema.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join(DB_FILE);
        let open_err = |source: rusqlite::Error| StoreError::Open { path: path.clone(), source: source.into() };
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "OFF").map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -65536).map_err(open_err)?;
        let mut store = Store { conn: Connection::from_sqlite(conn), path, location: Location::sqlite(dir) };
        schema::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// Connects to the PostgreSQL store at `url` and migrates its schema;
    /// `dir` keeps the local files (the saved snapshot).
    pub fn open_postgres(url: &str, dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        let conn = Connection::connect_postgres(url)
            .map_err(|source| StoreError::Connect { url: redact_password(url), source })?;
        let location = Location { dir: dir.to_path_buf(), url: Some(url.to_string()) };
        let mut store = Store { conn, path: PathBuf::from(redact_password(url)), location };
        schema::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// Path of the SQLite database file (the redacted URL for PostgreSQL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The underlying connection, for the importers and the snapshot loader.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Mutable connection, for opening transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The data version: 0 for a new store, incremented by every import.
    pub fn data_version(&self) -> Result<u64, StoreError> {
        data_version(&self.conn)
    }

    /// The store's instance id: random, made when first asked for and
    /// kept in `meta`, so files derived from one store (the saved
    /// snapshot) are never taken for another's at the same data version.
    pub fn instance(&self) -> Result<String, StoreError> {
        let read = |conn: &Connection| -> Result<Option<String>, StoreError> {
            Ok(conn.query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| r.get(0)).optional()?)
        };
        if let Some(id) = read(&self.conn)? {
            return Ok(id);
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.conn
            .execute("INSERT INTO meta(key, value) VALUES ('instance', ?1) ON CONFLICT(key) DO NOTHING", params![id])?;
        Ok(read(&self.conn)?.unwrap_or(id))
    }

    /// Number of rows of one table.
    pub fn count(&self, table: Table) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {}", table.name()), [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The import log, newest first.
    pub fn imports(&self, limit: usize) -> Result<Vec<ImportLogEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT version, kind, file, rows, replace, at FROM imports ORDER BY version DESC LIMIT ?1")?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(ImportLogEntry {
                version: r.get::<_, i64>(0)? as u64,
                kind: r.get(1)?,
                file: r.get(2)?,
                rows: r.get::<_, i64>(3)? as u64,
                replace: r.get(4)?,
                at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Reads the data version through any connection or transaction.
pub fn data_version(conn: &Connection) -> Result<u64, StoreError> {
    let v: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'data_version'", [], |r| r.get(0)).optional()?;
    Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// Increments the data version inside the caller's transaction and records
/// the import in the log. Returns the new version.
pub fn bump_version(conn: &Connection, kind: &str, file: &str, rows: u64, replace: bool) -> Result<u64, StoreError> {
    let next = data_version(conn)? + 1;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('data_version', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![next.to_string()],
    )?;
    // `YYYY-MM-DD HH:MM:SS` in UTC, as the log has always read.
    let at = crate::auth::clock::rfc3339(crate::auth::clock::now()).replace('T', " ").replace('Z', "");
    conn.execute(
        "INSERT INTO imports(version, kind, file, rows, replace, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![next as i64, kind, file, rows as i64, replace, at],
    )?;
    if conn.kind() == db::Kind::Postgres {
        // Delivered to listening servers when the transaction commits.
        conn.execute("SELECT pg_notify(?1, ?2)", params![NOTIFY_CHANNEL, next.to_string()])?;
    }
    Ok(next)
}

/// The latest data version of each kind in the import log.
pub fn latest_by_kind(conn: &Connection) -> Result<std::collections::HashMap<String, u64>, StoreError> {
    let mut stmt = conn.prepare("SELECT kind, max(version) FROM imports GROUP BY kind")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One line of the import log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportLogEntry {
    pub version: u64,
    pub kind: String,
    pub file: String,
    pub rows: u64,
    pub replace: bool,
    pub at: String,
}

/// The record tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Regions,
    Enterprises,
    Vacancies,
    Talents,
    Stations,
    Moves,
}

impl Table {
    pub const ALL: [Table; 6] =
        [Table::Regions, Table::Enterprises, Table::Vacancies, Table::Talents, Table::Stations, Table::Moves];

    pub fn name(self) -> &'static str {
        match self {
            Table::Regions => "regions",
            Table::Enterprises => "enterprises",
            Table::Vacancies => "vacancies",
            Table::Talents => "talents",
            Table::Stations => "stations",
            Table::Moves => "moves",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_connections_commit_durably() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::sqlite(dir.path());
        let synchronous = |pool: &Pool| {
            pool.with(|s| -> Result<i64, StoreError> {
                Ok(s.conn().query_row("PRAGMA synchronous", [], |r| r.get(0))?)
            })
            .unwrap()
        };
        // 2 is FULL, 1 NORMAL.
        assert_eq!(synchronous(&Pool::for_server(location.clone())), 2, "a server's pool");
        assert_eq!(synchronous(&Pool::new(location)), 1, "any other pool");
    }

    #[test]
    fn new_store_is_empty_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.data_version().unwrap(), 0);
        for t in Table::ALL {
            assert_eq!(store.count(t).unwrap(), 0);
        }
        let v: i64 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        drop(store);
        // Reopening an up-to-date store is a no-op.
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn versions_increase_with_imports() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        assert_eq!(bump_version(&tx, "talents", "t.csv", 3, false).unwrap(), 1);
        tx.commit().unwrap();
        assert_eq!(store.data_version().unwrap(), 1);
        assert_eq!(store.imports(10).unwrap()[0].kind, "talents");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.conn().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(store);
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer than this build"), "{err}");
    }
}
