//! Versioned schema migrations. Each entry of [`MIGRATIONS`] moves the
//! database from `user_version = i` to `i + 1`; they run in one transaction.

use std::path::Path;

use super::StoreError;
use super::db::{Connection, Kind, OptionalExtension, TransactionBehavior};

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
/// them; writes to them never bump `data_version`. 8: no index of talents by
/// employer (current or registered): nothing reads talents by employer,
/// and every job change of a moves batch wrote two random pages of the
/// first.
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
    r#"
DROP INDEX talents_enterprise;
DROP INDEX talents_reg_enterprise;
"#,
];

/// The PostgreSQL schema. Entry `i` moves a database from version `i` to
/// the version of its pair: a new database is created at the current
/// version in one step (the SQLite history before PostgreSQL was a store
/// needs no replay); later migrations append an entry to both lists.
/// Types: `BIGINT` for SQLite's integers, `DOUBLE PRECISION` for reals,
/// `TEXT COLLATE "C"` so that text orders by bytes as in SQLite.
const PG_MIGRATIONS: &[(i64, &str)] = &[
    (
        7,
        r#"
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C" NOT NULL);
CREATE TABLE imports (
    version BIGINT PRIMARY KEY, kind TEXT COLLATE "C" NOT NULL, file TEXT COLLATE "C" NOT NULL,
    rows BIGINT NOT NULL, replace BIGINT NOT NULL, at TEXT COLLATE "C" NOT NULL);
CREATE TABLE regions (
    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL,
    geometry TEXT COLLATE "C" NOT NULL, batch BIGINT NOT NULL, name_en TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE TABLE enterprises (
    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL,
    lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL,
    industry TEXT COLLATE "C" NOT NULL, employees BIGINT NOT NULL, key BIGINT NOT NULL, park TEXT COLLATE "C",
    district_id TEXT COLLATE "C", park_id TEXT COLLATE "C", batch BIGINT NOT NULL);
CREATE TABLE vacancies (
    id TEXT COLLATE "C" PRIMARY KEY, enterprise_id TEXT COLLATE "C" NOT NULL, field TEXT COLLATE "C" NOT NULL,
    education TEXT COLLATE "C" NOT NULL, title TEXT COLLATE "C" NOT NULL, openings BIGINT NOT NULL,
    posted TEXT COLLATE "C" NOT NULL, filled TEXT COLLATE "C", batch BIGINT NOT NULL);
CREATE INDEX vacancies_enterprise ON vacancies(enterprise_id);
CREATE TABLE talents (
    id TEXT COLLATE "C" PRIMARY KEY, home_lon DOUBLE PRECISION NOT NULL, home_lat DOUBLE PRECISION NOT NULL,
    work_lon DOUBLE PRECISION, work_lat DOUBLE PRECISION, enterprise_id TEXT COLLATE "C",
    field TEXT COLLATE "C" NOT NULL, education TEXT COLLATE "C" NOT NULL, title TEXT COLLATE "C" NOT NULL,
    tier TEXT COLLATE "C" NOT NULL, birth_year BIGINT NOT NULL, seeking BIGINT NOT NULL,
    home_district TEXT COLLATE "C", home_park TEXT COLLATE "C", work_district TEXT COLLATE "C",
    work_park TEXT COLLATE "C", batch BIGINT NOT NULL,
    pid TEXT COLLATE "C", rkey BIGINT, here BIGINT NOT NULL DEFAULT 1,
    reg_home_lon DOUBLE PRECISION, reg_home_lat DOUBLE PRECISION,
    reg_work_lon DOUBLE PRECISION, reg_work_lat DOUBLE PRECISION, reg_enterprise_id TEXT COLLATE "C");
CREATE INDEX talents_enterprise ON talents(enterprise_id) WHERE enterprise_id IS NOT NULL;
CREATE INDEX talents_pid ON talents(pid);
CREATE INDEX talents_home ON talents(home_lon, home_lat);
CREATE INDEX talents_reg_enterprise ON talents(reg_enterprise_id) WHERE reg_enterprise_id IS NOT NULL;
CREATE INDEX talents_batch ON talents(batch);
CREATE TABLE stations (
    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL,
    lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL, mode TEXT COLLATE "C" NOT NULL,
    district_id TEXT COLLATE "C", park_id TEXT COLLATE "C", batch BIGINT NOT NULL,
    name_en TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE TABLE moves (
    id TEXT COLLATE "C" PRIMARY KEY, talent_id TEXT COLLATE "C" NOT NULL, date TEXT COLLATE "C" NOT NULL,
    event TEXT COLLATE "C" NOT NULL, from_lon DOUBLE PRECISION, from_lat DOUBLE PRECISION,
    to_lon DOUBLE PRECISION, to_lat DOUBLE PRECISION, to_enterprise_id TEXT COLLATE "C",
    destination TEXT COLLATE "C", from_district TEXT COLLATE "C", to_district TEXT COLLATE "C",
    batch BIGINT NOT NULL, rkey BIGINT);
CREATE INDEX moves_talent ON moves(talent_id, date);
CREATE INDEX moves_batch ON moves(batch);
CREATE TABLE auth_keys (
    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL, role TEXT COLLATE "C" NOT NULL,
    areas TEXT COLLATE "C" NOT NULL, secret_hash TEXT COLLATE "C" NOT NULL, created TEXT COLLATE "C" NOT NULL,
    revoked TEXT COLLATE "C");
CREATE TABLE auth_users (
    name TEXT COLLATE "C" PRIMARY KEY, role TEXT COLLATE "C" NOT NULL, areas TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL, created TEXT COLLATE "C" NOT NULL);
CREATE TABLE auth_sessions (
    id TEXT COLLATE "C" PRIMARY KEY, secret_hash TEXT COLLATE "C" NOT NULL, "user" TEXT COLLATE "C" NOT NULL,
    created BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE INDEX auth_sessions_user ON auth_sessions("user");
CREATE TABLE auth_signin_failures (
    scope TEXT COLLATE "C" NOT NULL, subject TEXT COLLATE "C" NOT NULL, failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL, locked_until BIGINT NOT NULL, PRIMARY KEY (scope, subject));
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY, time TEXT COLLATE "C" NOT NULL, principal TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL, action TEXT COLLATE "C" NOT NULL, params TEXT COLLATE "C" NOT NULL,
    outcome TEXT COLLATE "C" NOT NULL, client TEXT COLLATE "C" NOT NULL, prev_hash TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL);
CREATE INDEX audit_principal ON audit(principal, seq);
CREATE FUNCTION talentmap_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION talentmap_audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION talentmap_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION talentmap_audit_append_only();
CREATE TABLE study_areas (
    id TEXT COLLATE "C" PRIMARY KEY, owner TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL, geometry TEXT COLLATE "C" NOT NULL, drawn TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL);
CREATE INDEX study_areas_owner ON study_areas(owner, created);
"#,
    ),
    (
        8,
        r#"
DROP INDEX talents_enterprise;
DROP INDEX talents_reg_enterprise;
"#,
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The version a database's schema is at.
pub fn version_of(conn: &Connection) -> Result<i64, StoreError> {
    Ok(match conn.kind() {
        Kind::Sqlite => conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        Kind::Postgres => {
            conn.execute_batch("CREATE TABLE IF NOT EXISTS talentmap_schema (version BIGINT NOT NULL)")?;
            conn.query_row("SELECT max(version) FROM talentmap_schema", [], |r| r.get::<_, Option<i64>>(0))
                .optional()?
                .flatten()
                .unwrap_or(0)
        }
    })
}

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found = version_of(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another server may have migrated while this one waited for the lock.
    let found = version_of(&tx)?;
    match tx.kind() {
        Kind::Sqlite => {
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            }
        }
        Kind::Postgres => {
            let mut at = found;
            for (to, sql) in PG_MIGRATIONS {
                if *to > at {
                    tx.execute_batch(sql)?;
                    at = *to;
                }
            }
            tx.execute("DELETE FROM talentmap_schema", [])?;
            tx.execute("INSERT INTO talentmap_schema(version) VALUES (?1)", super::db::params![at])?;
        }
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
