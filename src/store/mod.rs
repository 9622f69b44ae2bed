//! The durable store: one SQLite database in the data directory.
//!
//! SQLite (bundled) in WAL mode gives a single-file store that needs no
//! setup, survives a killed process (an import is one transaction: either all
//! of it is there or none of it), and lets the server read while the CLI
//! imports. The schema is versioned by `PRAGMA user_version` and migrated
//! forward on open.
//!
//! Every import bumps `data_version` in the `meta` table inside its own
//! transaction; the server polls that value to notice imports made by another
//! process and rebuilds its snapshot.

mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use schema::SCHEMA_VERSION;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "talentmap.sqlite";

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "database {path} has schema version {found}, newer than this build understands ({supported}); upgrade talentmap"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored {what} '{id}' is invalid: {message}")]
    Corrupt { what: &'static str, id: String, message: String },
    #[error("the system gave no random bytes: {0}")]
    Random(String),
}

/// A handle on the data directory's database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and migrates its schema.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join(DB_FILE);
        let open_err = |source| StoreError::Open { path: path.clone(), source };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "OFF").map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -65536).map_err(open_err)?;
        let mut store = Store { conn, path };
        schema::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        self.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('instance', ?1)", params![id])?;
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
    conn.execute(
        "INSERT INTO imports(version, kind, file, rows, replace, at) VALUES (?1, ?2, ?3, ?4, ?5, datetime('now'))",
        params![next as i64, kind, file, rows as i64, replace],
    )?;
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
