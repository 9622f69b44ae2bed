//! What the fuzz targets share: a tiny city in a temporary store (built once
//! per process) and the checks each target runs on one input.
//!
//! The checks go beyond "does not panic": every reported line must be a line
//! of the input, a body reader must respect its limit, a parsed filter must
//! parse again from its own canonical form to the same filter, and a parsed
//! tile must lie inside its zoom level.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use talentmap::analytics::filter::Filter;
use talentmap::import::{
    ImportError, ImportKind, ImportOptions, RowError, check_moves, check_reader, import_reader, parse_moves_body,
};
use talentmap::model::Taxonomy;
use talentmap::spatial::{TileId, mercator::MAX_ZOOM};
use talentmap::store::Store;

/// Two districts and a park (the integration tests' city).
const REGIONS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"D1","properties":{"name":"一区","kind":"district"},"geometry":{"type":"Polygon","coordinates":[[[117.0,36.6],[117.2,36.6],[117.2,36.8],[117.0,36.8],[117.0,36.6]]]}},
 {"type":"Feature","properties":{"id":"D2","name":"二区"},"geometry":{"type":"Polygon","coordinates":[[[117.2,36.6],[117.4,36.6],[117.4,36.8],[117.2,36.8],[117.2,36.6]]]}},
 {"type":"Feature","properties":{"id":"P1","name":"软件园","kind":"park"},"geometry":{"type":"Polygon","coordinates":[[[117.0,36.6],[117.05,36.6],[117.05,36.65],[117.0,36.65],[117.0,36.6]]]}}
]}"#;

const CITY: [(ImportKind, &str); 5] = [
    (ImportKind::Enterprises, "id,name,lon,lat,industry,employees,key,park\nE1,星辰软件,117.01,36.61,65,120,true,P1\nE2,泉城制药,117.30,36.70,27,800,false,\n"),
    (ImportKind::Stations, "id,name,lon,lat,mode\nS1,一号站,117.02,36.62,metro\n"),
    (ImportKind::Vacancies, "id,enterprise_id,field,education,title,openings,posted,filled\nV1,E1,0812,master,none,5,2026-03-01,\n"),
    (ImportKind::Talents, "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\nT0,117.01,36.62,117.01,36.61,E1,0812,bachelor,none,none,1995,true\nT1,117.3,36.7,,,,1007,master,none,C,1988,false\n"),
    (ImportKind::Moves, "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\nM1,T0,2026-07-01,arrive,,,117.01,36.62,,\n"),
];

struct City {
    _dir: tempfile::TempDir,
    store: Store,
}

/// Which tiny city a target validates against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Enterprises, stations, vacancies, talents and moves but no regions:
    /// every import builds the region lookup of the store's regions (a
    /// 256 × 256 grid, tens of milliseconds), which would otherwise bound a
    /// CSV target to a few dozen executions per second. Points then get the
    /// "no regions yet" warning.
    NoRegions,
    /// The same with two districts and a park, for the regions target, which
    /// builds a lookup from every input anyway.
    WithRegions,
}

/// The built-in code tables.
fn taxonomy() -> &'static Taxonomy {
    static TAXONOMY: std::sync::OnceLock<Taxonomy> = std::sync::OnceLock::new();
    TAXONOMY.get_or_init(Taxonomy::builtin)
}

thread_local! {
    static TINY_CITY: RefCell<Option<City>> = const { RefCell::new(None) };
}

/// Runs `f` on a tiny city, building it on first use (one kind per process).
fn with_city<T>(kind: Kind, f: impl FnOnce(&mut Store, &Taxonomy) -> T) -> T {
    TINY_CITY.with(|cell| {
        let mut slot = cell.borrow_mut();
        let city = slot.get_or_insert_with(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(dir.path()).unwrap();
            let taxonomy = taxonomy();
            let options = ImportOptions::default();
            if kind == Kind::WithRegions {
                import_reader(&mut store, taxonomy, ImportKind::Regions, "regions", REGIONS.as_bytes(), options)
                    .unwrap();
            }
            for (kind, text) in CITY {
                import_reader(&mut store, taxonomy, kind, kind.name(), text.as_bytes(), options).unwrap();
            }
            City { _dir: dir, store }
        });
        f(&mut city.store, taxonomy())
    })
}

/// Physical lines of `data` (`\n`, `\r\n` and a lone `\r` end a line).
fn physical_lines(data: &[u8]) -> u64 {
    let mut lines = 1;
    let mut after_cr = false;
    for &b in data {
        if b == b'\r' || (b == b'\n' && !after_cr) {
            lines += 1;
        }
        after_cr = b == b'\r';
    }
    lines
}

fn check_locations(kind: ImportKind, data: &[u8], rows: &[RowError]) {
    let lines = physical_lines(data);
    for e in rows {
        // GeoJSON errors located by JSON path have line 0.
        let lowest = if kind == ImportKind::Regions { 0 } else { 1 };
        assert!((lowest..=lines).contains(&e.line), "line {} outside 1..={lines}: {e:?}", e.line);
    }
}

/// Validates `data` as a file of `kind` against the tiny city; the store is
/// never changed.
pub fn check_file(kind: ImportKind, data: &[u8]) {
    let city = if kind == ImportKind::Regions { Kind::WithRegions } else { Kind::NoRegions };
    with_city(city, |store, taxonomy| {
        let version = store.data_version().unwrap();
        match check_reader(store, taxonomy, kind, "fuzz", data, ImportOptions::default()) {
            Ok(summary) => {
                assert!(!summary.changed);
                assert!(summary.warnings.len() as u64 <= summary.total_warnings);
                check_locations(kind, data, &summary.warnings);
            }
            Err(e @ (ImportError::Invalid { .. } | ImportError::Header { .. } | ImportError::Integrity { .. })) => {
                assert!(!e.row_errors().is_empty() || matches!(e, ImportError::Integrity { .. }), "{e}");
                check_locations(kind, data, e.row_errors());
            }
            Err(e) => panic!("a valid store and an in-memory file give no system error: {e}"),
        }
        assert_eq!(store.data_version().unwrap(), version, "a check changes nothing");
    });
}

/// Most moves a fuzzed body may hold (the real limit is 50,000).
const FUZZ_MAX_MOVES: usize = 64;

/// Reads `data` as a moves feed body and validates its items.
pub fn check_moves_body(data: &[u8]) {
    let Ok(items) = parse_moves_body(data, FUZZ_MAX_MOVES) else { return };
    assert!(items.len() <= FUZZ_MAX_MOVES);
    // Whatever the body reader accepts, the old whole-body parse accepts too.
    let whole: serde_json::Value = serde_json::from_slice(data).expect("the streaming reader accepted invalid JSON");
    assert_eq!(whole["moves"].as_array().map(Vec::len), Some(items.len()));
    with_city(Kind::NoRegions, |store, taxonomy| {
        let version = store.data_version().unwrap();
        if let Ok(summary) = check_moves(store, taxonomy, &items) {
            assert_eq!(summary.received, items.len());
            assert!(summary.stored + summary.unchanged <= items.len());
        }
        assert_eq!(store.data_version().unwrap(), version, "a check changes nothing");
    });
}

/// Parses `data` as a query string `k=v&k=v` with the filter parser.
pub fn check_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let query = query_map(text);
    if let Ok(filter) = Filter::parse(&query, taxonomy(), 2026) {
        let again = Filter::parse(&query_map(filter.canonical()), taxonomy(), 2026)
            .unwrap_or_else(|e| panic!("canonical form {:?} does not parse: {e:?}", filter.canonical()));
        assert_eq!(again, filter, "canonical form {:?}", filter.canonical());
    }
}

fn query_map(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parses `data` as a tile path `z/x/y`.
pub fn check_tile_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '/');
    let (z, x, y) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if let Ok(tile) = TileId::parse(z, x, y) {
        assert!(tile.z <= MAX_ZOOM);
        let n = 1u64 << tile.z;
        assert!(u64::from(tile.x) < n && u64::from(tile.y) < n, "{tile:?}");
    }
}
