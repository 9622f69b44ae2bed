//! Helpers shared by the integration tests: a tiny hand-made city whose
//! every number is known.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use talentmap::import::{ImportError, ImportKind, ImportOptions, ImportSummary, import_file};
use talentmap::model::Taxonomy;
use talentmap::store::Store;

/// A district square 117.0–117.2 E × 36.6–36.8 N with a park in its
/// south-west corner (117.0–117.05 × 36.6–36.65), and a second district east
/// of it (117.2–117.4).
pub const REGIONS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"D1","properties":{"name":"一区","name_en":"First District","kind":"district"},"geometry":{"type":"Polygon","coordinates":[[[117.0,36.6],[117.2,36.6],[117.2,36.8],[117.0,36.8],[117.0,36.6]]]}},
 {"type":"Feature","properties":{"id":"D2","name":"二区"},"geometry":{"type":"Polygon","coordinates":[[[117.2,36.6],[117.4,36.6],[117.4,36.8],[117.2,36.8],[117.2,36.6]]]}},
 {"type":"Feature","properties":{"id":"P1","name":"软件园","kind":"park"},"geometry":{"type":"Polygon","coordinates":[[[117.0,36.6],[117.05,36.6],[117.05,36.65],[117.0,36.65],[117.0,36.6]]]}}
]}"#;

pub const ENTERPRISES: &str = "id,name,lon,lat,industry,employees,key,park
E1,星辰软件,117.01,36.61,65,120,true,P1
E2,泉城制药,117.30,36.70,27,800,false,
E3,齐鲁金融,117.10,36.70,66,50,false,
";

pub const VACANCIES: &str = "id,enterprise_id,field,education,title,openings,posted,filled
V1,E1,0812,master,none,5,2026-03-01,
V2,E1,0812,bachelor,junior,3,2026-04-01,2026-05-01
V3,E2,1007,doctorate,senior,2,2026-01-15,
";

pub const STATIONS: &str = "id,name,lon,lat,mode,name_en
S1,一号站,117.02,36.62,metro,Station One
S2,二号站,117.31,36.71,bus,
";

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Talents: `n` in the park (home and work at E1), all seeking when `seeking`.
pub fn talents_csv(n: usize, seeking: bool) -> String {
    let mut s = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    for i in 0..n {
        let dx = (i % 10) as f64 * 0.001;
        s.push_str(&format!("T{i},{:.4},36.62,117.01,36.61,E1,0812,bachelor,none,none,1995,{seeking}\n", 117.01 + dx));
    }
    s
}

pub fn import(store: &mut Store, kind: ImportKind, path: &Path) -> Result<ImportSummary, ImportError> {
    import_file(store, &Taxonomy::builtin(), kind, path, ImportOptions::default())
}

/// A fixed pseudonym secret, so that record keys, and with them every
/// perturbed count, are the same on every run (a real store draws its own).
pub const TEST_SECRET: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// Opens the store in `dir/data` with [`TEST_SECRET`] as its secret.
pub fn test_store(dir: &Path) -> Store {
    let store = Store::open(&dir.join("data")).unwrap();
    store.conn().execute("UPDATE meta SET value = ?1 WHERE key = 'pseudonym_secret'", [TEST_SECRET]).unwrap();
    store
}

/// A store holding the tiny city with `talents` talents.
pub fn tiny_city(dir: &Path, talents: usize) -> Store {
    let mut store = test_store(dir);
    import(&mut store, ImportKind::Regions, &write(dir, "regions.geojson", REGIONS)).unwrap();
    import(&mut store, ImportKind::Enterprises, &write(dir, "enterprises.csv", ENTERPRISES)).unwrap();
    import(&mut store, ImportKind::Stations, &write(dir, "stations.csv", STATIONS)).unwrap();
    import(&mut store, ImportKind::Vacancies, &write(dir, "vacancies.csv", VACANCIES)).unwrap();
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &talents_csv(talents, true))).unwrap();
    store
}

/// Checks the rows a moves batch hands over (`delta`) against the rows as
/// stored after it (`read`, by `present::read_rows`): the same talents;
/// every move, but of a talent continued from its latest stored moves the
/// batch's alone (`fresh`, its move ids); that talent's tail, the latest of
/// its stored moves, all dated before its new ones. Every touched talent
/// with stored moves all before its new ones is continued.
#[allow(dead_code)]
pub fn check_handed_over(
    delta: &talentmap::import::present::Delta,
    read: &talentmap::import::present::Rows,
    fresh: &std::collections::HashSet<String>,
) {
    use talentmap::import::present::MoveRow;
    assert_eq!(format!("{:?}", delta.after.talents), format!("{:?}", read.talents));
    let continued = |m: &MoveRow| delta.continued.contains_key(&m.stored.talent_id);
    let expected: Vec<&MoveRow> = read.moves.iter().filter(|m| !continued(m) || fresh.contains(&m.stored.id)).collect();
    assert_eq!(format!("{:?}", delta.after.moves.iter().collect::<Vec<_>>()), format!("{expected:?}"));
    for t in &read.talents {
        let of = |m: &&MoveRow| m.stored.talent_id == t.id;
        let stored: Vec<&MoveRow> = read.moves.iter().filter(of).filter(|m| !fresh.contains(&m.stored.id)).collect();
        let new: Vec<&MoveRow> = read.moves.iter().filter(of).filter(|m| fresh.contains(&m.stored.id)).collect();
        let later = match (stored.last(), new.first()) {
            (Some(s), Some(n)) => s.stored.date < n.stored.date,
            _ => false,
        };
        // The tail starts on the earlier of the latest day with a move
        // naming an enterprise and the latest day with one setting the
        // employer; it is every stored move when either is missing.
        let latest_day = |f: &dyn Fn(&MoveRow) -> bool| stored.iter().rev().find(|m| f(m)).map(|m| m.stored.date);
        let names = latest_day(&|m| m.stored.to_enterprise_id.is_some());
        let sets = latest_day(&|m| {
            use talentmap::model::MoveEvent;
            m.stored.event == MoveEvent::JobChange
                || (m.stored.event == MoveEvent::Arrive && m.stored.to_enterprise_id.is_some())
        });
        let start = names.zip(sets).map(|(a, b)| a.min(b));
        let latest: Vec<&&MoveRow> = stored.iter().filter(|m| start.is_none_or(|d| m.stored.date >= d)).collect();
        // Found within the rows read: the tail and the move before it, or
        // every stored move.
        let within = latest.len() < talentmap::import::present::TAIL_ROWS;
        let Some(c) = delta.continued.get(&t.id) else {
            assert!(!(later && within), "{} has every new move after its stored ones and is replayed whole", t.id);
            continue;
        };
        assert!(later && within, "{} is continued though a new move comes among its stored ones", t.id);
        assert_eq!(format!("{:?}", c.tail.iter().collect::<Vec<_>>()), format!("{latest:?}"), "{}", t.id);
        assert_eq!(c.whole, latest.len() == stored.len(), "{}", t.id);
    }
}

pub mod mvt;
pub mod pg;

/// Status and body bytes of `GET uri` on the state's router.
pub async fn get_bytes(state: &talentmap::api::AppState, uri: &str) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
    let resp = talentmap::api::router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// Takes a store back from schema 8 to schema 4 as that schema stored it:
/// the register in the talent columns, no present, moves indexed by talent,
/// no English names, no study areas, talents indexed by employer.
pub const BACK_TO_SCHEMA_4: &str = "
    CREATE INDEX talents_enterprise ON talents(enterprise_id) WHERE enterprise_id IS NOT NULL;
    DROP TABLE study_areas;
    UPDATE talents SET home_lon = reg_home_lon, home_lat = reg_home_lat, work_lon = reg_work_lon,
        work_lat = reg_work_lat, enterprise_id = reg_enterprise_id;
    ALTER TABLE talents DROP COLUMN here;
    ALTER TABLE talents DROP COLUMN reg_home_lon; ALTER TABLE talents DROP COLUMN reg_home_lat;
    ALTER TABLE talents DROP COLUMN reg_work_lon; ALTER TABLE talents DROP COLUMN reg_work_lat;
    ALTER TABLE talents DROP COLUMN reg_enterprise_id;
    DROP INDEX moves_talent; CREATE INDEX moves_talent ON moves(talent_id);
    ALTER TABLE regions DROP COLUMN name_en; ALTER TABLE stations DROP COLUMN name_en;
    PRAGMA user_version = 4;";

/// A new API key of `role` (with `areas` for an analyst) in `store`: the
/// `Authorization` header value that presents it.
pub fn bearer(store: &Store, role: talentmap::auth::Role, areas: &[&str]) -> String {
    let areas: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
    let actor = talentmap::auth::audit::Actor::cli();
    let key = talentmap::auth::keys::create(store, role, &areas, "test", &actor).unwrap();
    format!("Bearer {}", key.key)
}

/// Deterministic xorshift generator for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

pub const FIELDS: [&str; 5] = ["0812", "0810", "1007", "0202", "0802"];
pub const EDUCATION: [&str; 4] = ["associate", "bachelor", "master", "doctorate"];
pub const TIERS: [&str; 3] = ["none", "E", "C"];

/// The tiny city plus `n` seeded random talents and vacancies spread over
/// both districts, with clusters so that cells of every size occur.
pub fn random_city(dir: &Path, n: usize, seed: u64) -> Store {
    let mut store = tiny_city(dir, 0);
    let mut rng = Rng(seed | 1);
    let mut t = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    let employers = [("E1", 117.01, 36.61), ("E2", 117.30, 36.70), ("E3", 117.10, 36.70)];
    for i in 0..n {
        let (lon, lat) = if rng.next().is_multiple_of(3) {
            (117.0 + rng.unit() * 0.4, 36.6 + rng.unit() * 0.2)
        } else {
            let c = (rng.next() % 4) as f64;
            (117.05 + c * 0.08 + rng.unit() * 0.01, 36.65 + c * 0.03 + rng.unit() * 0.01)
        };
        let (work, ent) = if rng.next().is_multiple_of(4) {
            (",".to_string(), String::new())
        } else {
            let (id, x, y) = employers[(rng.next() % 3) as usize];
            (format!("{x},{y}"), id.to_string())
        };
        t.push_str(&format!(
            "T{i},{lon:.6},{lat:.6},{work},{ent},{},{},none,{},{},{}\n",
            rng.pick(&FIELDS),
            rng.pick(&EDUCATION),
            rng.pick(&TIERS),
            1966 + rng.next() % 40,
            rng.next().is_multiple_of(5)
        ));
    }
    import(&mut store, talentmap::import::ImportKind::Talents, &write(dir, "talents.csv", &t)).unwrap();
    let mut v = String::from("id,enterprise_id,field,education,title,openings,posted,filled\n");
    for i in 0..(n / 10).max(3) {
        let (id, _, _) = employers[(rng.next() % 3) as usize];
        v.push_str(&format!(
            "V{i},{id},{},{},none,{},2026-03-01,{}\n",
            rng.pick(&FIELDS),
            rng.pick(&EDUCATION),
            1 + rng.next() % 6,
            if rng.next().is_multiple_of(5) { "2026-05-01" } else { "" }
        ));
    }
    import(&mut store, talentmap::import::ImportKind::Vacancies, &write(dir, "vacancies.csv", &v)).unwrap();
    store
}
