//! The PostgreSQL store against the SQLite one: the same files give the
//! same snapshot and the same answers; imports, the moves feed, accounts
//! and the audit log behave alike; writers on several connections queue;
//! a commit is announced to listening servers; two servers on one database
//! follow each other's writes.
//!
//! Needs PostgreSQL (see `common::pg`); each test makes and drops its own
//! database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::pg::TestDb;
use common::{import, test_store, write};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talentmap::api::{AppState, Settings, router};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportError, ImportKind, ImportOptions, import_file, import_moves};
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot};
use talentmap::store::db::{Kind, params};
use talentmap::store::{SCHEMA_VERSION, Store, StoreError};
use tower::ServiceExt;

fn taxonomy() -> Arc<Taxonomy> {
    Arc::new(Taxonomy::builtin())
}

/// A generated city with moves, written to `dir/files`.
fn city_files(dir: &Path, talents: usize) -> PathBuf {
    let files = dir.join("files");
    generate(&GenerateOptions { seed: 7, talents, enterprises: talents / 20 }, &files).unwrap();
    files
}

fn import_city(store: &mut Store, files: &Path) -> Vec<(u64, u64, u64)> {
    ImportKind::ALL
        .iter()
        .map(|&kind| {
            let s =
                import_file(store, &Taxonomy::builtin(), kind, &files.join(kind.file_name()), ImportOptions::default())
                    .unwrap();
            (s.rows, s.total, s.total_warnings)
        })
        .collect()
}

/// Routes over the city: tiles of every record layer at three zooms and
/// the JSON families.
fn uris(snap: &Snapshot) -> Vec<String> {
    let district = snap.regions.iter().find(|r| r.kind == talentmap::model::RegionKind::District).unwrap();
    let [lon, lat] = district.centre;
    let mut uris = Vec::new();
    for z in [8u8, 11, 14] {
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n) as u32;
        let r = lat.to_radians();
        let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
        for layer in ["talents", "vacancies", "enterprises", "stations", "regions"] {
            uris.push(format!("/tiles/{layer}/{z}/{x}/{y}.mvt"));
        }
    }
    let d = &district.id;
    for u in [
        "/api/regions".to_string(),
        format!("/api/regions/{d}"),
        "/api/shortage?field=0812&by=district".to_string(),
        format!("/api/mismatch?area={d}"),
        format!("/api/flows/series?area={d}"),
        "/api/flows/alerts".to_string(),
        "/api/flows/od".to_string(),
        "/api/flows/od?level=enterprise".to_string(),
        format!("/api/commute/summary?area={d}"),
    ] {
        uris.push(u);
    }
    uris
}

#[test]
fn a_new_database_is_migrated_once_and_a_newer_one_refused() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let store = db.location(dir.path()).open().unwrap();
    assert_eq!(store.conn().kind(), Kind::Postgres);
    assert_eq!(store.data_version().unwrap(), 0);
    for t in talentmap::store::Table::ALL {
        assert_eq!(store.count(t).unwrap(), 0);
    }
    let version: i64 = store.conn().query_row("SELECT max(version) FROM talentmap_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let instance = store.instance().unwrap();
    drop(store);
    // Reopening changes nothing; the instance id is the database's.
    let store = db.location(dir.path()).open().unwrap();
    assert_eq!(store.instance().unwrap(), instance);
    store.conn().execute("UPDATE talentmap_schema SET version = ?1", params![SCHEMA_VERSION + 1]).unwrap();
    drop(store);
    let err = db.location(dir.path()).open().err().unwrap();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    // A server that is not there is named without its password.
    let bad =
        talentmap::store::Location::parse(dir.path(), Some("postgres://someone:secret@127.0.0.1:1/none")).unwrap();
    let err = bad.open().err().unwrap().to_string();
    assert!(err.contains("postgres://someone:***@127.0.0.1:1/none") && !err.contains("secret"), "{err}");
}

#[test]
fn the_same_files_give_the_same_snapshot_and_answers_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    let files = city_files(dir.path(), 4_000);
    let db = TestDb::new();
    let mut pg = db.store(&dir.path().join("pg"));
    let mut lite = test_store(&dir.path().join("lite"));
    let pg_imports = import_city(&mut pg, &files);
    let lite_imports = import_city(&mut lite, &files);
    assert_eq!(pg_imports, lite_imports, "rows, totals and warnings of each import");
    assert_eq!(pg.data_version().unwrap(), lite.data_version().unwrap());
    let kinds =
        |s: &Store| s.imports(20).unwrap().iter().map(|e| (e.version, e.kind.clone(), e.rows)).collect::<Vec<_>>();
    assert_eq!(kinds(&pg), kinds(&lite), "the import log");

    let a = snapshot::build(&mut pg, taxonomy()).unwrap();
    let b = snapshot::build(&mut lite, taxonomy()).unwrap();
    assert!(a.totals.moves > 500 && a.flows.months > 1, "the city has moves");
    assert_eq!(a.version, b.version);
    assert_eq!(a.layers, b.layers);
    assert_eq!(a.talents, b.talents, "talent records, record keys included");
    assert_eq!(a.flows.moves, b.flows.moves);
    assert_eq!(format!("{:?}", a.enterprises), format!("{:?}", b.enterprises));
    assert_eq!(format!("{:?}", a.vacancies), format!("{:?}", b.vacancies));
    assert_eq!(format!("{:?}", a.stations), format!("{:?}", b.stations));
    assert_eq!(format!("{:?}", a.regions), format!("{:?}", b.regions));

    // A past month's view reads the movers back through a cursor.
    let month = a.flows.first_month + a.flows.months as u32 / 2;
    let pa = snapshot::past::at_month_end(&mut pg, &a, month).unwrap();
    let pb = snapshot::past::at_month_end(&mut lite, &b, month).unwrap();
    assert_eq!(pa.talents, pb.talents, "the view of a past month");
    assert_ne!(pa.talents, a.talents);

    let uris = uris(&a);
    let (sa, sb) = (AppState::new(a, None, Settings::default()), AppState::new(b, None, Settings::default()));
    runtime().block_on(async {
        for uri in &uris {
            let (x, y) = (common::get_bytes(&sa, uri).await, common::get_bytes(&sb, uri).await);
            assert!(x.0 == 200 || x.0 == 204, "{uri}: {}", x.0);
            assert!(x == y, "{uri}: the two stores answer differently");
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_failed_import_changes_nothing_and_errors_name_line_and_column() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let mut store = db.store(&dir.path().join("data"));
    import(&mut store, ImportKind::Regions, &write(dir.path(), "regions.geojson", common::REGIONS)).unwrap();
    import(&mut store, ImportKind::Enterprises, &write(dir.path(), "enterprises.csv", common::ENTERPRISES)).unwrap();
    import(&mut store, ImportKind::Talents, &write(dir.path(), "talents.csv", &common::talents_csv(20, true))).unwrap();
    let version = store.data_version().unwrap();
    let header = "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n";
    let bad = format!(
        "{header}N1,117.01,36.62,,,,0812,bachelor,none,none,1995,true\nN2,200,36.62,,,,0812,bachelor,none,none,1995,true\n"
    );
    let err = import(&mut store, ImportKind::Talents, &write(dir.path(), "bad.csv", &bad)).unwrap_err();
    let ImportError::Invalid { errors, .. } = &err else { panic!("{err}") };
    assert_eq!((errors[0].line, errors[0].column, errors[0].field.as_str()), (3, 2, "home_lon"), "{err}");
    assert_eq!(store.data_version().unwrap(), version, "nothing changed");
    assert_eq!(store.count(talentmap::store::Table::Talents).unwrap(), 20);
    let n1: i64 = store.conn().query_row("SELECT count(*) FROM talents WHERE id = 'N1'", [], |r| r.get(0)).unwrap();
    assert_eq!(n1, 0, "the good row of the failed file is not there");

    // A repeated id in one file is named; replacing swaps the table.
    let dup = format!(
        "{header}N1,117.01,36.62,,,,0812,bachelor,none,none,1995,true\nN1,117.02,36.62,,,,0812,bachelor,none,none,1995,true\n"
    );
    let err = import(&mut store, ImportKind::Talents, &write(dir.path(), "dup.csv", &dup)).unwrap_err();
    let ImportError::Invalid { errors, .. } = &err else { panic!("{err}") };
    assert!(errors[0].message.contains("duplicate id") && errors[0].line == 3, "{errors:?}");
    assert_eq!(store.data_version().unwrap(), version);
    let one = format!("{header}N9,117.01,36.62,,,,0812,bachelor,none,none,1995,true\n");
    let opts = ImportOptions { replace: true, progress: false };
    let s =
        import_file(&mut store, &Taxonomy::builtin(), ImportKind::Talents, &write(dir.path(), "one.csv", &one), opts)
            .unwrap();
    assert_eq!((s.rows, s.total, s.version), (1, 1, version + 1));
}

fn batch_item(id: &str, talent: &str, date: &str, event: &str, firm: &str) -> Value {
    match event {
        "leave" => json!({"id": id, "talent_id": talent, "date": date, "event": "leave", "destination": "上海"}),
        _ => json!({"id": id, "talent_id": talent, "date": date, "event": event,
                    "to_lon": 117.3, "to_lat": 36.7, "to_enterprise_id": firm}),
    }
}

const EVENTS: [&str; 4] = ["leave", "job_change", "relocate", "arrive"];

/// A moves batch for the first `n` talents of a generated city: ids
/// `{prefix}{i}`, the events taken in turn. Also the talents' ids.
fn batch(files: &Path, n: usize, prefix: &str, date: &str, events: &[&str]) -> (Vec<String>, Vec<Value>) {
    let (talents, firm) = ids(files, n);
    let items = talents
        .iter()
        .enumerate()
        .map(|(i, t)| batch_item(&format!("{prefix}{i}"), t, date, events[i % events.len()], &firm))
        .collect();
    (talents, items)
}

/// The first `n` talent ids of a generated city and one enterprise id.
fn ids(files: &Path, n: usize) -> (Vec<String>, String) {
    let first = |name: &str, n: usize| -> Vec<String> {
        std::fs::read_to_string(files.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .take(n)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    (first("talents.csv", n), first("enterprises.csv", 1).remove(0))
}

/// A generated city of 1,500 talents imported into a PostgreSQL store of
/// `db` and a SQLite one, under `dir`: its files and both stores.
fn both_stores(dir: &Path, db: &TestDb) -> (PathBuf, Store, Store) {
    let files = city_files(dir, 1_500);
    let mut pg = db.store(&dir.join("pg"));
    let mut lite = test_store(&dir.join("lite"));
    import_city(&mut pg, &files);
    import_city(&mut lite, &files);
    (files, pg, lite)
}

#[test]
fn a_moves_batch_leaves_both_stores_in_the_same_present() {
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDb::new());
    let (files, mut pg, mut lite) = both_stores(dir.path(), &db);
    let (talents, items) = batch(&files, 40, "B", "2026-11-20", &EVENTS);
    let a = import_moves(&mut pg, &Taxonomy::builtin(), &items).unwrap();
    let b = import_moves(&mut lite, &Taxonomy::builtin(), &items).unwrap();
    assert_eq!((a.stored, a.version), (b.stored, b.version));
    assert_eq!(a.stored, 40);
    let present = |s: &Store| talentmap::import::present::read_rows(s.conn(), &talents).unwrap();
    assert_eq!(format!("{:?}", present(&pg)), format!("{:?}", present(&lite)));
    // The rows each batch hands over (for the snapshot to follow it) are
    // the rows as stored after it.
    let mut sorted = talents.clone();
    sorted.sort();
    let fresh: std::collections::HashSet<String> =
        items.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
    for (summary, store) in [(&a, &pg), (&b, &lite)] {
        let delta = summary.delta.as_ref().unwrap();
        let read = talentmap::import::present::read_rows(store.conn(), &sorted).unwrap();
        common::check_handed_over(delta, &read, &fresh);
    }
    let (a, b) = (a.delta.as_ref().unwrap(), b.delta.as_ref().unwrap());
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "both stores hand over the same delta");
    // Sent again, the batch is recognised and stores nothing new.
    let again = import_moves(&mut pg, &Taxonomy::builtin(), &items).unwrap();
    assert_eq!(again.stored, 0, "{again:?}");
    // Regions imported again: every record's district and park assigned
    // anew (a bulk update on PostgreSQL).
    let regions = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("regions"))
        .unwrap();
    for store in [&mut pg, &mut lite] {
        import_file(store, &Taxonomy::builtin(), ImportKind::Regions, &regions, ImportOptions::default()).unwrap();
    }
    let districts = |s: &Store| -> Vec<(String, Option<String>, Option<String>)> {
        let mut stmt = s
            .conn()
            .prepare(
                "SELECT id, home_district, to_district FROM talents t LEFT JOIN \
            (SELECT talent_id, max(to_district) AS to_district FROM moves GROUP BY talent_id) m ON m.talent_id = t.id \
            ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(districts(&pg), districts(&lite));
    let sa = snapshot::build(&mut pg, taxonomy()).unwrap();
    let sb = snapshot::build(&mut lite, taxonomy()).unwrap();
    assert_eq!(sa.talents, sb.talents);
    assert_eq!(sa.flows.moves, sb.flows.moves);
}

/// Moves that give talents another talent's moves and take workplaces
/// from an enterprise's position, then that enterprise moved: both stores
/// replay the talents concerned alike, to the rule's answer.
#[test]
fn moves_given_away_and_an_enterprise_moved_leave_both_stores_in_the_same_present() {
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDb::new());
    let (files, mut pg, mut lite) = both_stores(dir.path(), &db);
    let (talents, firm) = ids(&files, 6);
    let header = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n";
    let mut first = String::from(header);
    for (i, t) in talents.iter().enumerate() {
        first.push_str(&format!("J{i},{t},2026-11-25,job_change,,,,,{firm},\n"));
    }
    // The last two moves were the first talent's.
    let mut second = String::from(header);
    second.push_str(&format!("J4,{},2026-11-25,job_change,,,,,{firm},\n", talents[0]));
    second.push_str(&format!("J5,{},2026-11-25,job_change,,,,,{firm},\n", talents[0]));
    let enterprises = std::fs::read_to_string(files.join("enterprises.csv")).unwrap();
    let moved: String = enterprises
        .lines()
        .map(|l| match l.strip_prefix(&format!("{firm},")) {
            Some(rest) => {
                let mut f: Vec<String> = rest.split(',').map(String::from).collect();
                f[1] = format!("{:.6}", f[1].parse::<f64>().unwrap() + 0.01);
                format!("{firm},{}\n", f.join(","))
            }
            None => format!("{l}\n"),
        })
        .collect();
    let position = |s: &Store| -> (f64, f64) {
        s.conn()
            .query_row("SELECT lon, lat FROM enterprises WHERE id = ?1", params![firm], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    let present = |s: &Store| talentmap::import::present::read_rows(s.conn(), &talents).unwrap().talents;
    for (name, text) in [("first.csv", &first), ("second.csv", &second)] {
        let path = write(dir.path(), name, text);
        for store in [&mut pg, &mut lite] {
            import_file(store, &Taxonomy::builtin(), ImportKind::Moves, &path, ImportOptions::default()).unwrap();
        }
    }
    let path = write(dir.path(), "moved.csv", &moved);
    for store in [&mut pg, &mut lite] {
        import_file(store, &Taxonomy::builtin(), ImportKind::Enterprises, &path, ImportOptions::default()).unwrap();
    }
    assert_eq!(format!("{:?}", present(&pg)), format!("{:?}", present(&lite)));
    let (lon, lat) = position(&pg);
    for (i, t) in present(&pg).iter().enumerate() {
        if i < 4 {
            let at = t.work.map(|w| (w.lon, w.lat));
            assert_eq!((t.enterprise_id.as_deref(), at), (Some(firm.as_str()), Some((lon, lat))), "{}", t.id);
        } else {
            assert_eq!(t.enterprise_id, t.reg_enterprise_id, "{}: its move was given away", t.id);
        }
    }
}

#[test]
fn a_server_that_did_not_take_a_batch_follows_it_as_the_one_that_did() {
    let dir = tempfile::tempdir().unwrap();
    let files = city_files(dir.path(), 1_500);
    let db = TestDb::new();
    let mut store = db.store(&dir.path().join("pg"));
    import_city(&mut store, &files);
    let before = snapshot::build(&mut store, taxonomy()).unwrap();
    let (_, items) = batch(&files, 60, "F", "2026-11-22", &EVENTS);
    // The server that takes the batch patches with the delta it wrote.
    let mut staged = talentmap::import::stage_moves(&mut store, &Taxonomy::builtin(), &items).unwrap();
    let delta = staged.take_delta().unwrap();
    let version = staged.commit().unwrap().version;
    let taken = snapshot::patch::apply(&before, &delta).unwrap().unwrap();
    // Another server reads the batch back from the store.
    let followed =
        snapshot::patch::follow_batch(&mut store, &before, version).unwrap().expect("a feed batch is followed");
    let rebuilt = snapshot::build(&mut store, taxonomy()).unwrap();
    for (name, snap) in [("taken", &taken), ("followed", &followed)] {
        assert_eq!(snap.version, rebuilt.version, "{name}");
        assert_eq!(snap.layers, rebuilt.layers, "{name}");
        assert_eq!(snap.talents, rebuilt.talents, "{name}: talents");
        // The same moves (a patch keeps its own order; every count is a sum).
        let sorted = |s: &Snapshot| {
            let mut v: Vec<String> = s.flows.moves.iter().map(|m| format!("{m:?}")).collect();
            v.sort_unstable();
            v
        };
        assert!(sorted(snap) == sorted(&rebuilt), "{name}: moves");
        assert_eq!(format!("{:?}", snap.regions), format!("{:?}", rebuilt.regions), "{name}: region totals");
    }
    assert!(followed.flows.moves == taken.flows.moves, "both servers hold the moves in one order");
    // Not a feed batch, or not the next version: rebuild instead.
    assert!(snapshot::patch::follow_batch(&mut store, &rebuilt, version).unwrap().is_none());
    assert!(snapshot::patch::follow_batch(&mut store, &before, version + 1).unwrap().is_none());
}

#[test]
fn accounts_sessions_keys_and_the_audit_log_live_in_the_database() {
    use talentmap::auth::{self, Role, audit::Actor, sessions, users};
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let store = tiny_city_pg(&db, dir.path());
    let actor = Actor::cli();
    users::add(&store, "ana", Role::Analyst, &["D1".to_string()], "correct horse battery", &actor).unwrap();
    let settings = sessions::SessionSettings { ttl_secs: 3600 };
    let now = auth::now();
    let users::SignIn::Accepted { session, .. } =
        users::sign_in(&store, "ana", "correct horse battery", "127.0.0.1", &settings, now).unwrap()
    else {
        panic!("sign-in refused")
    };
    // Another connection (another server) sees the session.
    let other = db.location(dir.path()).open().unwrap();
    let who = sessions::verify(&other, &session.token, now + 1).unwrap().expect("the session is shared");
    assert_eq!(
        (who.role, who.jurisdiction.iter().cloned().collect::<Vec<_>>()),
        (Role::Analyst, vec!["D1".to_string()])
    );
    assert!(matches!(
        users::sign_in(&other, "ana", "wrong password!!", "127.0.0.1", &settings, now).unwrap(),
        users::SignIn::Refused
    ));
    let key = auth::keys::create(&store, Role::Feeder, &[], "feed", &actor).unwrap();
    assert!(auth::keys::verify_key(&other, &key.key).unwrap().is_some());
    auth::keys::revoke(&other, &key.info.id, &actor).unwrap();
    assert!(auth::keys::verify_key(&store, &key.key).unwrap().is_none());
    assert!(sessions::end(&other, &session.token).unwrap());
    users::remove(&store, "ana", &actor).unwrap();

    let head = auth::audit::verify(&other).unwrap();
    assert!(head.seq >= 5, "{head:?}");
    let entries = auth::audit::list(&store, None, None, 100).unwrap();
    assert_eq!(entries.len() as u64, head.seq);
    // Append-only, by the database.
    let err = store.conn().execute("UPDATE audit SET outcome = 'ok' WHERE seq = 1", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = store.conn().execute("DELETE FROM audit", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn sign_ins_and_audit_entries_do_not_wait_for_an_import() {
    use talentmap::auth::{Role, audit::Actor, keys};
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let mut importer = tiny_city_pg(&db, dir.path());
    // An import holds the data write lock until it commits ...
    let tx =
        importer.conn_mut().transaction_with_behavior(talentmap::store::db::TransactionBehavior::Immediate).unwrap();
    tx.execute("DELETE FROM stations", []).unwrap();
    // ... while another server makes a key (an audited write).
    let location = db.location(dir.path());
    let (send, receive) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let store = location.open().unwrap();
        let made = keys::create(&store, Role::Recruiter, &[], "during an import", &Actor::cli()).map(|k| k.info.id);
        send.send(made).unwrap();
    });
    let made = receive.recv_timeout(Duration::from_secs(60)).expect("the key was made while the import was open");
    assert!(made.is_ok(), "{made:?}");
    tx.commit().unwrap();
    other.join().unwrap();
}

fn tiny_city_pg(db: &TestDb, dir: &Path) -> Store {
    let mut store = db.store(&dir.join("data"));
    import(&mut store, ImportKind::Regions, &write(dir, "regions.geojson", common::REGIONS)).unwrap();
    import(&mut store, ImportKind::Enterprises, &write(dir, "enterprises.csv", common::ENTERPRISES)).unwrap();
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &common::talents_csv(30, true))).unwrap();
    store
}

#[test]
fn writers_on_several_connections_queue_and_commits_are_announced() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let store = tiny_city_pg(&db, dir.path());
    let start = store.data_version().unwrap();
    let listener = db.location(dir.path()).open().unwrap();
    listener.conn().execute_batch(&format!("LISTEN {}", talentmap::store::NOTIFY_CHANNEL)).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (location, dir) = (db.location(dir.path()), dir.path().to_path_buf());
            std::thread::spawn(move || {
                let mut store = location.open().unwrap();
                let mut csv = String::from("id,name,lon,lat,mode\n");
                for i in 0..50 {
                    csv.push_str(&format!("S{w}_{i},站{i},117.1{i:02},36.7,metro\n"));
                }
                import(&mut store, ImportKind::Stations, &write(&dir, &format!("s{w}.csv"), &csv)).unwrap().version
            })
        })
        .collect();
    let mut versions: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, (start + 1..=start + 4).collect::<Vec<_>>(), "one version each, none lost");
    assert_eq!(store.count(talentmap::store::Table::Stations).unwrap(), 200);
    let mut announced = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while announced.len() < 4 && Instant::now() < until {
        for (channel, payload) in listener.conn().wait_for_notifications(Duration::from_millis(500)).unwrap() {
            assert_eq!(channel, talentmap::store::NOTIFY_CHANNEL);
            announced.push(payload.parse::<u64>().unwrap());
        }
    }
    announced.sort_unstable();
    assert_eq!(announced, versions, "every commit announced its version");
}

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[test]
fn two_servers_on_one_database_follow_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let files = city_files(dir.path(), 1_500);
    let db = TestDb::new();
    let mut store = db.store(&dir.path().join("a"));
    import_city(&mut store, &files);
    let snap_a = snapshot::build(&mut store, taxonomy()).unwrap();
    let snap_b = snapshot::build(&mut store, taxonomy()).unwrap();
    let feeder = common::bearer(&store, talentmap::auth::Role::Feeder, &[]);
    let a = AppState::on_store(snap_a, Some(db.location(&dir.path().join("a"))), Settings::default());
    let b = AppState::on_store(snap_b, Some(db.location(&dir.path().join("b"))), Settings::default());
    talentmap::api::spawn_listener(b.clone(), db.location(&dir.path().join("b")));
    runtime().block_on(follow(&a, &b, &files, &feeder));
}

async fn follow(a: &AppState, b: &AppState, files: &Path, feeder: &str) {
    // A moves batch sent to one server ...
    let (_, items) = batch(files, 30, "R", "2026-11-21", &["leave", "job_change"]);
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&json!({"moves": items})).unwrap()))
        .unwrap();
    let (status, body) = send(a, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let version = serde_json::from_slice::<Value>(&body).unwrap()["version"].as_u64().unwrap();
    assert_eq!(a.snapshot().version, version, "the server that took the batch serves it at once");
    // ... is served by the other, told by the database.
    let until = Instant::now() + Duration::from_secs(20);
    while b.snapshot().version < version {
        assert!(Instant::now() < until, "the second server never followed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for uri in uris(&a.snapshot()) {
        let x = common::get_bytes(a, &uri).await;
        let y = common::get_bytes(b, &uri).await;
        assert!(x == y, "{uri}: the two servers answer differently at one data version");
    }
    // ... and the same validators, so a cache in front may mix them.
    for uri in uris(&a.snapshot()).iter().filter(|u| u.starts_with("/tiles/")) {
        let etag = |state: &AppState| {
            let state = state.clone();
            let uri = uri.clone();
            async move {
                let resp = router(state).oneshot(Request::get(&uri).body(Body::empty()).unwrap()).await.unwrap();
                resp.headers().get(header::ETAG).map(|v| v.to_str().unwrap().to_string())
            }
        };
        let (x, y) = (etag(a).await, etag(b).await);
        assert!(x.is_some() && x == y, "{uri}: ETags {x:?} and {y:?}");
    }
    // A session made on one server is honoured by the other.
    let who =
        send(b, Request::get("/api/session").header(header::AUTHORIZATION, feeder).body(Body::empty()).unwrap()).await;
    assert_eq!(who.0, StatusCode::OK);
    assert!(String::from_utf8_lossy(&who.1).contains("feeder"), "{}", String::from_utf8_lossy(&who.1));
}

#[test]
fn the_command_line_takes_a_postgres_store() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let files = city_files(dir.path(), 600);
    let bin = env!("CARGO_BIN_EXE_talentmap");
    let data = dir.path().join("data");
    for kind in ImportKind::ALL {
        let out = std::process::Command::new(bin)
            .args(["import", kind.name()])
            .arg(files.join(kind.file_name()))
            .arg("--data")
            .arg(&data)
            .args(["--store", &db.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = std::process::Command::new(bin)
        .arg("stats")
        .env("TALENTMAP_STORE", &db.url)
        .env("TALENTMAP_DATA", &data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["version"].as_u64(), Some(ImportKind::ALL.len() as u64), "{stats}");
    assert!(!data.join(talentmap::store::DB_FILE).exists(), "no SQLite file beside a PostgreSQL store");
    // A store URL that is neither PostgreSQL nor SQLite is refused, named.
    let out = std::process::Command::new(bin).args(["stats", "--store", "mysql://x/y"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mysql://x/y"), "{}", String::from_utf8_lossy(&out.stderr));
}
