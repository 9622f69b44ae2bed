//! Versioned schema migrations. Each entry of [`MIGRATIONS`] moves the
//! database from `user_version = i` to `i + 1`; they run in one transaction.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Migrations in order; never edit a released one, append a new one.
/// 1: map data and the import log. 2: access control (`crate::auth`): API
/// keys, users, sessions, failed sign-ins and the hash-chained audit log;
/// writes to these never bump `data_version`. 3: the people layer: each
/// talent's pseudonymous id (`crate::auth::pseudonym`, filled on import and,
/// for rows written before, when the server starts) with an index for a
/// person's panel, and an index on home positions for people tiles. 4:
/// disclosure control: each talent's and move's permanent record key
/// (`crate::auth::record_key`, written on import; rows written before get
/// theirs when the server starts). 5: the present (`crate::import::present`):
/// the register row is kept in `reg_*` columns, `here` and the home, work,
/// employer and region columns hold the state after the talent's moves
/// (recomputed once here for stores written before); moves are indexed by
/// talent and date. 6: English names of regions and stations (`name_en`,
/// empty when the source has none), for the map's labels in English. 7:
/// study areas (`crate::areas`): shapes kept under the principal who made
/// them; writes to them never bump `data_version`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE imports (
    version INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL,
    rows INTEGER NOT NULL, replace INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE regions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
    geometry TEXT NOT NULL, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE enterprises (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL,
    industry TEXT NOT NULL, employees INTEGER NOT NULL, key INTEGER NOT NULL, park TEXT,
    district_id TEXT, park_id TEXT, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE vacancies (
    id TEXT PRIMARY KEY, enterprise_id TEXT NOT NULL, field TEXT NOT NULL,
    education TEXT NOT NULL, title TEXT NOT NULL, openings INTEGER NOT NULL,
    posted TEXT NOT NULL, filled TEXT, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX vacancies_enterprise ON vacancies(enterprise_id);
CREATE TABLE talents (
    id TEXT PRIMARY KEY, home_lon REAL NOT NULL, home_lat REAL NOT NULL,
    work_lon REAL, work_lat REAL, enterprise_id TEXT, field TEXT NOT NULL,
    education TEXT NOT NULL, title TEXT NOT NULL, tier TEXT NOT NULL,
    birth_year INTEGER NOT NULL, seeking INTEGER NOT NULL,
    home_district TEXT, home_park TEXT, work_district TEXT, work_park TEXT,
    batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX talents_enterprise ON talents(enterprise_id) WHERE enterprise_id IS NOT NULL;
CREATE TABLE stations (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL,
    mode TEXT NOT NULL, district_id TEXT, park_id TEXT, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE moves (
    id TEXT PRIMARY KEY, talent_id TEXT NOT NULL, date TEXT NOT NULL, event TEXT NOT NULL,
    from_lon REAL, from_lat REAL, to_lon REAL, to_lat REAL, to_enterprise_id TEXT,
    destination TEXT, from_district TEXT, to_district TEXT, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX moves_talent ON moves(talent_id);
"#,
    r#"
CREATE TABLE auth_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, areas TEXT NOT NULL,
    secret_hash TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT) WITHOUT ROWID;
CREATE TABLE auth_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, areas TEXT NOT NULL,
    password_hash TEXT NOT NULL, created TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, user TEXT NOT NULL,
    created INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX auth_sessions_user ON auth_sessions(user);
CREATE TABLE auth_signin_failures (
    scope TEXT NOT NULL, subject TEXT NOT NULL, failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL, locked_until INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)) WITHOUT ROWID;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, principal TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, params TEXT NOT NULL, outcome TEXT NOT NULL, client TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_principal ON audit(principal, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    r#"
ALTER TABLE talents ADD COLUMN pid TEXT;
CREATE INDEX talents_pid ON talents(pid);
CREATE INDEX talents_home ON talents(home_lon, home_lat);
"#,
    r#"
ALTER TABLE talents ADD COLUMN rkey INTEGER;
ALTER TABLE moves ADD COLUMN rkey INTEGER;
"#,
    r#"
ALTER TABLE talents ADD COLUMN here INTEGER NOT NULL DEFAULT 1;
ALTER TABLE talents ADD COLUMN reg_home_lon REAL;
ALTER TABLE talents ADD COLUMN reg_home_lat REAL;
ALTER TABLE talents ADD COLUMN reg_work_lon REAL;
ALTER TABLE talents ADD COLUMN reg_work_lat REAL;
ALTER TABLE talents ADD COLUMN reg_enterprise_id TEXT;
UPDATE talents SET reg_home_lon = home_lon, reg_home_lat = home_lat, reg_work_lon = work_lon,
    reg_work_lat = work_lat, reg_enterprise_id = enterprise_id;
CREATE INDEX talents_reg_enterprise ON talents(reg_enterprise_id) WHERE reg_enterprise_id IS NOT NULL;
DROP INDEX moves_talent;
CREATE INDEX moves_talent ON moves(talent_id, date);
"#,
    r#"
ALTER TABLE regions ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE stations ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
"#,
    r#"
CREATE TABLE study_areas (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    geometry TEXT NOT NULL, drawn TEXT, created TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX study_areas_owner ON study_areas(owner, created);
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    if found < 4 {
        // Rows written before pseudonyms (3) and record keys (4) were stored
        // get theirs now, once: both are functions of the id and the secret.
        let secret = crate::auth::PseudonymSecret::load_or_create_in(conn)?;
        crate::auth::people::fill_missing(conn, &secret)?;
    }
    if found < 5 && found > 0 {
        // A store written before the present was kept: compute it once.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let regions = crate::import::present::regions(&tx).map_err(|e| StoreError::Corrupt {
            what: "regions",
            id: String::new(),
            message: e.to_string(),
        })?;
        crate::import::present::recompute(&tx, &regions, crate::import::present::Scope::All, None)?;
        tx.commit()?;
    }
    Ok(())
}
