//! Tests of the demo city against the import contract, and of the patterns
//! that make it plausible (commutes, seasons, homes inside districts).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{Contains, Coord, Intersects, LineString, Point, Polygon};
use serde_json::Value;

use super::{GenerateOptions, GenerateSummary, generate};
use crate::analytics::commute::distance::haversine_km;
use crate::model::{Date, Education, MoveEvent, StationMode, Taxonomy, Tier, Title, validate_id};

const FILES: &[&str] =
    &["regions.geojson", "enterprises.csv", "stations.csv", "vacancies.csv", "talents.csv", "moves.csv", "README.txt"];

fn small() -> GenerateOptions {
    GenerateOptions { seed: 42, talents: 3_000, enterprises: 200 }
}

/// The small city, generated once for all tests.
fn city() -> &'static (tempfile::TempDir, GenerateSummary) {
    static CITY: OnceLock<(tempfile::TempDir, GenerateSummary)> = OnceLock::new();
    CITY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(&small(), dir.path()).unwrap();
        (dir, summary)
    })
}

fn path(name: &str) -> PathBuf {
    city().0.path().join(name)
}

struct Table {
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> Table {
        let bytes = std::fs::read(path).unwrap();
        assert!(!bytes.contains(&b'\r'), "{}: LF line ends only", path.display());
        assert!(bytes.ends_with(b"\n"));
        let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
        let header = reader.headers().unwrap().iter().map(str::to_string).collect();
        let rows = reader.records().collect::<Result<Vec<_>, _>>().unwrap();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap()
    }
}

fn coord(s: &str) -> f64 {
    let (int, frac) = s.split_once('.').unwrap_or_else(|| panic!("coordinate {s:?} has no decimals"));
    assert!(frac.len() == 6 && frac.bytes().all(|b| b.is_ascii_digit()), "coordinate {s:?} needs six decimals");
    assert!(!int.is_empty() && int.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()), "coordinate {s:?}");
    s.parse().unwrap()
}

/// Optional coordinate pair: both or neither.
fn pair(lon: &str, lat: &str) -> Option<(f64, f64)> {
    assert_eq!(lon.is_empty(), lat.is_empty(), "both or neither of {lon:?}, {lat:?}");
    (!lon.is_empty()).then(|| (coord(lon), coord(lat)))
}

fn boolean(s: &str) -> bool {
    match s {
        "true" => true,
        "false" => false,
        _ => panic!("{s:?} is not a boolean"),
    }
}

fn unique_ids<'a>(ids: impl Iterator<Item = &'a str>) -> HashSet<String> {
    let mut seen = HashSet::new();
    for id in ids {
        validate_id(id).unwrap();
        assert!(seen.insert(id.to_string()), "duplicate id {id}");
    }
    seen
}

struct Regions {
    districts: Vec<(String, Vec<Polygon<f64>>)>,
    parks: Vec<(String, Polygon<f64>)>,
}

fn ring_of(v: &Value) -> Vec<[f64; 2]> {
    v.as_array().unwrap().iter().map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect()
}

fn polygon_of(rings: &Value) -> Polygon<f64> {
    let rings: Vec<Vec<[f64; 2]>> = rings.as_array().unwrap().iter().map(ring_of).collect();
    for (i, r) in rings.iter().enumerate() {
        assert!(r.len() >= 4 && r.first() == r.last(), "rings are closed");
        let ccw = super::geography::signed_area(r) > 0.0;
        assert_eq!(ccw, i == 0, "exterior counter-clockwise, holes clockwise");
    }
    let ls = |r: &Vec<[f64; 2]>| LineString::from(r.iter().map(|&[x, y]| Coord { x, y }).collect::<Vec<_>>());
    Polygon::new(ls(&rings[0]), rings[1..].iter().map(ls).collect())
}

fn regions() -> Regions {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path("regions.geojson")).unwrap()).unwrap();
    assert_eq!(doc["type"], "FeatureCollection");
    let mut out = Regions { districts: Vec::new(), parks: Vec::new() };
    let mut ids = HashSet::new();
    for f in doc["features"].as_array().unwrap() {
        assert_eq!(f["type"], "Feature");
        let props = &f["properties"];
        let id = props["id"].as_str().unwrap().to_string();
        validate_id(&id).unwrap();
        assert!(ids.insert(id.clone()));
        assert!(!props["name"].as_str().unwrap().is_empty());
        assert!(!props["name_en"].as_str().unwrap().is_empty(), "region {id} has no English name");
        let g = &f["geometry"];
        let polys: Vec<Polygon<f64>> = match g["type"].as_str().unwrap() {
            "Polygon" => vec![polygon_of(&g["coordinates"])],
            "MultiPolygon" => g["coordinates"].as_array().unwrap().iter().map(polygon_of).collect(),
            other => panic!("unexpected geometry {other}"),
        };
        match props["kind"].as_str().unwrap() {
            "district" => {
                assert!(props.get("synthetic").is_none());
                out.districts.push((id, polys));
            }
            "park" => {
                assert_eq!(props["synthetic"], true);
                assert_eq!(polys.len(), 1);
                out.parks.push((id, polys.into_iter().next().unwrap()));
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    out
}

#[test]
fn regions_are_real_districts_and_parks_inside_them() {
    let r = regions();
    assert_eq!(r.districts.len(), 10);
    assert!(r.districts.iter().any(|(id, _)| id == "370102"));
    assert!((6..=8).contains(&r.parks.len()));
    for (id, park) in &r.parks {
        assert!(
            r.districts.iter().any(|(_, d)| d.iter().any(|p| p.contains(park))),
            "park {id} lies inside a district"
        );
        let ring: Vec<[f64; 2]> = park.exterior().coords().map(|c| [c.x, c.y]).collect();
        let km2 = super::geography::signed_area(&ring)
            * super::geography::km_per_deg_lon(ring[0][1])
            * super::geography::KM_PER_DEG_LAT;
        assert!((2.0..=15.0).contains(&km2), "park {id} has {km2:.1} km²");
        for (other, q) in &r.parks {
            if other != id {
                assert!(!park.intersects(q), "parks {id} and {other} overlap");
            }
        }
    }
}

#[test]
fn summary_lists_files_in_import_order() {
    let (_, summary) = city();
    let kinds: Vec<&str> = summary.files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(kinds, ["regions", "enterprises", "stations", "vacancies", "talents", "moves"]);
    let readme = std::fs::read_to_string(path("README.txt")).unwrap();
    assert!(readme.contains("SYNTHETIC") && readme.contains("fixtures/regions/README.md"));
    for (kind, file, n) in &summary.files {
        if kind != "regions" {
            assert_eq!(Table::read(file).rows.len(), *n, "{kind}");
        }
    }
}

#[test]
fn same_seed_gives_same_bytes() {
    let again = tempfile::tempdir().unwrap();
    generate(&small(), again.path()).unwrap();
    for f in FILES {
        assert!(std::fs::read(path(f)).unwrap() == std::fs::read(again.path().join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn different_seed_gives_different_city() {
    let other = tempfile::tempdir().unwrap();
    generate(&GenerateOptions { seed: 7, ..small() }, other.path()).unwrap();
    for f in ["regions.geojson", "enterprises.csv", "stations.csv", "vacancies.csv", "talents.csv", "moves.csv"] {
        assert!(std::fs::read(path(f)).unwrap() != std::fs::read(other.path().join(f)).unwrap(), "{f} is the same");
    }
}

/// Every file against the import contract.
#[test]
fn files_follow_the_contract() {
    let tax = Taxonomy::builtin();
    let r = regions();
    let park_ids: HashSet<&str> = r.parks.iter().map(|p| p.0.as_str()).collect();

    let ent = Table::read(&path("enterprises.csv"));
    assert_eq!(ent.header, ["id", "name", "lon", "lat", "industry", "employees", "key", "park"]);
    let ent_ids = unique_ids(ent.rows.iter().map(|r| &r[0]));
    let mut names = HashSet::new();
    let mut locations = HashMap::new();
    for row in &ent.rows {
        assert!(names.insert(row[1].to_string()), "duplicate name {}", &row[1]);
        let loc = pair(&row[2], &row[3]).unwrap();
        locations.insert(row[0].to_string(), (row[2].to_string(), row[3].to_string()));
        assert!((116.0..118.0).contains(&loc.0) && (36.0..37.6).contains(&loc.1));
        assert!(tax.industry_index(&row[4]).is_some() && row[4].len() == 2, "industry {}", &row[4]);
        assert!(row[5].parse::<u32>().unwrap() >= 1);
        boolean(&row[6]);
        assert!(row[7].is_empty() || park_ids.contains(&row[7]), "park {}", &row[7]);
    }

    let st = Table::read(&path("stations.csv"));
    assert_eq!(st.header, ["id", "name", "lon", "lat", "mode", "name_en"]);
    unique_ids(st.rows.iter().map(|r| &r[0]));
    let mut modes = HashMap::new();
    for row in &st.rows {
        assert!(!row[1].is_empty());
        pair(&row[2], &row[3]).unwrap();
        // Every station has an English name for the map's labels in English.
        assert!(row[5].is_ascii() || row[5].contains('ü'), "English name {}", &row[5]);
        assert!(!row[5].is_empty(), "station {} has no English name", &row[1]);
        *modes.entry(row[4].parse::<StationMode>().unwrap()).or_insert(0) += 1;
    }
    assert!(modes[&StationMode::Metro] >= 30 && modes[&StationMode::Rail] >= 1 && modes[&StationMode::Bus] >= 80);

    let window = (Date::parse("2024-11-01").unwrap(), Date::parse("2026-10-31").unwrap());
    let vac = Table::read(&path("vacancies.csv"));
    assert_eq!(vac.header, ["id", "enterprise_id", "field", "education", "title", "openings", "posted", "filled"]);
    unique_ids(vac.rows.iter().map(|r| &r[0]));
    let posted_from = Date::parse("2025-11-01").unwrap();
    for row in &vac.rows {
        assert!(ent_ids.contains(&row[1]));
        assert!(tax.field_index(&row[2]).is_some() && row[2].len() == 4);
        row[3].parse::<Education>().unwrap();
        row[4].parse::<Title>().unwrap();
        assert!(row[5].parse::<u32>().unwrap() >= 1);
        let posted = Date::parse(&row[6]).unwrap();
        assert!(posted >= posted_from && posted <= window.1);
        if !row[7].is_empty() {
            let filled = Date::parse(&row[7]).unwrap();
            assert!(filled > posted && filled <= window.1);
        }
    }

    let tal = Table::read(&path("talents.csv"));
    assert_eq!(
        tal.header,
        [
            "id",
            "home_lon",
            "home_lat",
            "work_lon",
            "work_lat",
            "enterprise_id",
            "field",
            "education",
            "title",
            "tier",
            "birth_year",
            "seeking"
        ]
    );
    let tal_ids = unique_ids(tal.rows.iter().map(|r| &r[0]));
    for row in &tal.rows {
        pair(&row[1], &row[2]).unwrap();
        let work = pair(&row[3], &row[4]);
        if row[5].is_empty() {
            assert!(work.is_none(), "no work point without an enterprise");
        } else {
            assert_eq!(locations[&row[5]], (row[3].to_string(), row[4].to_string()), "work point is the enterprise");
        }
        assert!(tax.field_index(&row[6]).is_some() && row[6].len() == 4);
        row[7].parse::<Education>().unwrap();
        row[8].parse::<Title>().unwrap();
        row[9].parse::<Tier>().unwrap();
        assert!((1966..=2004).contains(&row[10].parse::<u16>().unwrap()), "age 22–60");
        boolean(&row[11]);
    }

    let mv = Table::read(&path("moves.csv"));
    assert_eq!(
        mv.header,
        [
            "id",
            "talent_id",
            "date",
            "event",
            "from_lon",
            "from_lat",
            "to_lon",
            "to_lat",
            "to_enterprise_id",
            "destination"
        ]
    );
    unique_ids(mv.rows.iter().map(|r| &r[0]));
    let mut last_date = window.0;
    for row in &mv.rows {
        assert!(tal_ids.contains(&row[1]));
        let date = Date::parse(&row[2]).unwrap();
        assert!(date >= window.0 && date <= window.1);
        assert!(date >= last_date, "moves are in date order");
        last_date = date;
        let (from, to) = (pair(&row[4], &row[5]), pair(&row[6], &row[7]));
        assert!(row[8].is_empty() || ent_ids.contains(&row[8]));
        match row[3].parse::<MoveEvent>().unwrap() {
            MoveEvent::Arrive => assert!(from.is_none() && to.is_some() && row[9].is_empty()),
            MoveEvent::Leave => assert!(from.is_some() && to.is_none() && !row[9].is_empty()),
            MoveEvent::Relocate => assert!(from.is_some() && to.is_some() && row[8].is_empty()),
            MoveEvent::JobChange => assert!(to.is_some() && !row[8].is_empty() && row[9].is_empty()),
        }
    }

    // Volumes scale with the talents.
    let n = tal.rows.len() as f64;
    assert!((vac.rows.len() as f64 / (n / 4.0) - 1.0).abs() < 0.15, "vacancies ≈ talents / 4: {}", vac.rows.len());
    assert!((mv.rows.len() as f64 / (n * 1.25) - 1.0).abs() < 0.15, "moves ≈ 1.25 × talents: {}", mv.rows.len());
}

/// Each talent's history ends in its current record: the last relocation
/// goes to the home, the last job change to the employer, an arrival comes
/// first and a departure last, after which the talent has no employer.
#[test]
fn histories_match_the_register() {
    let tal = Table::read(&path("talents.csv"));
    let talents: HashMap<&str, &csv::StringRecord> = tal.rows.iter().map(|r| (&r[0], r)).collect();
    let mv = Table::read(&path("moves.csv"));
    let mut history: HashMap<&str, Vec<&csv::StringRecord>> = HashMap::new();
    for row in &mv.rows {
        history.entry(&row[1]).or_default().push(row);
    }
    let mut checked = 0;
    for (id, events) in &history {
        let t = talents[id];
        let kinds: Vec<&str> = events.iter().map(|e| &e[3]).collect();
        if let Some(i) = kinds.iter().position(|k| *k == "arrive") {
            assert_eq!(i, 0, "{id}: arrival first");
        }
        if let Some(i) = kinds.iter().position(|k| *k == "leave") {
            assert_eq!(i, kinds.len() - 1, "{id}: departure last");
            assert!(t[5].is_empty() && &t[11] == "false", "{id} left: no employer, not seeking");
            assert_eq!((&events[i][4], &events[i][5]), (&t[1], &t[2]), "{id} leaves from home");
        }
        if let Some(e) = events.iter().rev().find(|e| &e[3] == "relocate") {
            assert_eq!((&e[6], &e[7]), (&t[1], &t[2]), "{id}: last relocation goes home");
        }
        if let Some(e) = events.iter().rev().find(|e| &e[3] == "job_change")
            && !t[5].is_empty()
        {
            assert_eq!(&e[8], &t[5], "{id}: last job change goes to the employer");
            checked += 1;
        }
    }
    assert!(checked > 100);
}

#[test]
fn homes_are_inside_districts() {
    let r = regions();
    let tal = Table::read(&path("talents.csv"));
    for row in &tal.rows {
        let p = Point::new(coord(&row[1]), coord(&row[2]));
        assert!(
            r.districts.iter().any(|(_, polys)| polys.iter().any(|q| q.contains(&p))),
            "home of {} at {p:?}",
            &row[0]
        );
    }
}

fn commutes() -> Vec<f64> {
    let tal = Table::read(&path("talents.csv"));
    let mut d: Vec<f64> = tal
        .rows
        .iter()
        .filter(|r| !r[3].is_empty())
        .map(|r| haversine_km([coord(&r[1]), coord(&r[2])], [coord(&r[3]), coord(&r[4])]))
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

#[test]
fn commutes_look_real() {
    let d = commutes();
    let median = d[d.len() / 2];
    let within_15 = d.iter().filter(|&&x| x <= 15.0).count() as f64 / d.len() as f64;
    assert!((5.0..=12.0).contains(&median), "median commute {median:.1} km");
    assert!(within_15 > 0.6, "share ≤ 15 km {within_15:.2}");
    assert!(d.len() as f64 > 0.8 * 3_000.0, "about 85% employed: {}", d.len());
}

/// Counts of one event per month (year * 12 + month), and the district of
/// its `from` point for departures.
fn monthly(event: &str) -> HashMap<u32, usize> {
    let mv = Table::read(&path("moves.csv"));
    let mut m = HashMap::new();
    for row in mv.rows.iter().filter(|r| &r[3] == event) {
        *m.entry(Date::parse(&row[2]).unwrap().month_index()).or_insert(0) += 1;
    }
    m
}

#[test]
fn graduates_arrive_in_july() {
    let arrivals = monthly("arrive");
    let july: Vec<usize> = arrivals.iter().filter(|(m, _)| *m % 12 == 6).map(|(_, n)| *n).collect();
    let others: Vec<usize> = arrivals.iter().filter(|(m, _)| *m % 12 != 6).map(|(_, n)| *n).collect();
    let july_mean = july.iter().sum::<usize>() as f64 / 2.0;
    let other_mean = others.iter().sum::<usize>() as f64 / 22.0;
    assert!(july_mean > 2.0 * other_mean, "July {july_mean} vs {other_mean}");
    let changes = monthly("job_change");
    let march: usize = changes.iter().filter(|(m, _)| *m % 12 == 2).map(|(_, n)| n).sum();
    let december: usize = changes.iter().filter(|(m, _)| *m % 12 == 11).map(|(_, n)| n).sum();
    assert!(march > december, "job changes peak after the Spring Festival");
}

#[test]
fn departures_climb_in_one_district() {
    let r = regions();
    let huaiyin = &r.districts.iter().find(|(id, _)| id == super::moves::SPIKE_DISTRICT).unwrap().1;
    let mv = Table::read(&path("moves.csv"));
    let mut by_month = [0usize; 24];
    for row in mv.rows.iter().filter(|r| &r[3] == "leave") {
        let p = Point::new(coord(&row[4]), coord(&row[5]));
        if huaiyin.iter().any(|q| q.contains(&p)) {
            let m = Date::parse(&row[2]).unwrap().month_index() - Date::parse("2024-11-01").unwrap().month_index();
            by_month[m as usize] += 1;
        }
    }
    let before = by_month[..21].iter().sum::<usize>() as f64 / 21.0;
    let last = by_month[21..].iter().sum::<usize>() as f64 / 3.0;
    assert!(last > 2.5 * before, "departures {by_month:?}");
}

#[test]
fn metro_serves_the_software_park_but_not_the_innovation_valley() {
    let r = regions();
    let st = Table::read(&path("stations.csv"));
    let rail: Vec<[f64; 2]> =
        st.rows.iter().filter(|r| &r[4] == "metro" || &r[4] == "rail").map(|r| [coord(&r[2]), coord(&r[3])]).collect();
    let nearest_km = |park: &str| {
        let poly = &r.parks.iter().find(|p| p.0 == park).unwrap().1;
        rail.iter()
            .map(|&s| {
                if poly.contains(&Point::new(s[0], s[1])) {
                    0.0
                } else {
                    poly.exterior().coords().map(|c| haversine_km(s, [c.x, c.y])).fold(f64::MAX, f64::min)
                }
            })
            .fold(f64::MAX, f64::min)
    };
    assert!(nearest_km("park-qilu-software") < 0.5);
    assert!(nearest_km("park-innovation-valley") > 5.0);
}

#[test]
fn rejects_a_city_without_enterprises() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(&GenerateOptions { enterprises: 0, ..small() }, dir.path()).is_err());
}

/// Distributions for tuning; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn print_statistics() {
    let opts = GenerateOptions { seed: 42, talents: 50_000, enterprises: 2_000 };
    let dir = tempfile::tempdir().unwrap();
    // Set TALENTMAP_KEEP_CITY=DIR to keep the files for a look.
    let keep = std::env::var_os("TALENTMAP_KEEP_CITY").map(PathBuf::from);
    let summary = generate(&opts, keep.as_deref().unwrap_or(dir.path())).unwrap();
    let dir = keep.unwrap_or_else(|| dir.path().to_path_buf());
    println!("{summary:#?}");
    let count = |file: &str, col: &str| {
        let t = Table::read(&dir.join(file));
        let c = t.col(col);
        let mut m: HashMap<String, usize> = HashMap::new();
        for r in &t.rows {
            *m.entry(r[c].to_string()).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        v.truncate(25);
        println!("{file} {col}: {v:?}");
    };
    count("talents.csv", "tier");
    count("talents.csv", "education");
    count("talents.csv", "title");
    count("talents.csv", "seeking");
    count("talents.csv", "birth_year");
    count("talents.csv", "field");
    count("enterprises.csv", "key");
    count("enterprises.csv", "park");
    count("enterprises.csv", "industry");
    count("vacancies.csv", "field");
    count("vacancies.csv", "openings");
    count("vacancies.csv", "education");
    count("vacancies.csv", "title");
    count("moves.csv", "event");
    count("moves.csv", "destination");
    let vac = Table::read(&dir.join("vacancies.csv"));
    let filled = vac.rows.iter().filter(|r| !r[7].is_empty()).count();
    println!("filled share {:.3}", filled as f64 / vac.rows.len() as f64);
    let ent = Table::read(&dir.join("enterprises.csv"));
    let mut emp: Vec<u32> = ent.rows.iter().map(|r| r[5].parse().unwrap()).collect();
    emp.sort();
    let q = |p: f64| emp[((emp.len() - 1) as f64 * p) as usize];
    println!("employees quantiles 10/50/90/99/max: {} {} {} {} {}", q(0.1), q(0.5), q(0.9), q(0.99), q(1.0));
    let tal = Table::read(&dir.join("talents.csv"));
    let mut d: Vec<f64> = tal
        .rows
        .iter()
        .filter(|r| !r[3].is_empty())
        .map(|r| haversine_km([coord(&r[1]), coord(&r[2])], [coord(&r[3]), coord(&r[4])]))
        .collect();
    d.sort_by(f64::total_cmp);
    let q = |p: f64| d[((d.len() - 1) as f64 * p) as usize];
    println!(
        "commute km 10/25/50/75/90/99: {:.1} {:.1} {:.1} {:.1} {:.1} {:.1}; ≤5 km {:.2}, ≤15 km {:.2}, >40 km {}",
        q(0.1),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.9),
        q(0.99),
        d.iter().filter(|&&x| x <= 5.0).count() as f64 / d.len() as f64,
        d.iter().filter(|&&x| x <= 15.0).count() as f64 / d.len() as f64,
        d.iter().filter(|&&x| x > 40.0).count()
    );
    // Jobs-to-applicants by field: open openings ÷ seeking talents.
    let mut demand: HashMap<String, f64> = HashMap::new();
    for r in vac.rows.iter().filter(|r| r[7].is_empty()) {
        *demand.entry(r[2].to_string()).or_default() += r[5].parse::<f64>().unwrap();
    }
    let mut supply: HashMap<String, f64> = HashMap::new();
    for r in tal.rows.iter().filter(|r| &r[11] == "true") {
        *supply.entry(r[6].to_string()).or_default() += 1.0;
    }
    let mut ratios: Vec<(String, f64, f64, f64)> = demand
        .iter()
        .map(|(f, d)| (f.clone(), *d, supply.get(f).copied().unwrap_or(0.0), d / supply.get(f).copied().unwrap_or(0.5)))
        .collect();
    ratios.sort_by(|a, b| b.3.total_cmp(&a.3));
    let total_d: f64 = demand.values().sum();
    let total_s: f64 = supply.values().sum();
    println!("city ratio {:.2} ({total_d} / {total_s})", total_d / total_s);
    println!("top: {:?}", &ratios[..12]);
    println!("bottom: {:?}", &ratios[ratios.len() - 12..]);
    // Workers' age by park.
    let park_of: HashMap<String, String> = ent.rows.iter().map(|r| (r[0].to_string(), r[7].to_string())).collect();
    let mut ages: HashMap<String, Vec<u32>> = HashMap::new();
    for r in tal.rows.iter().filter(|r| !r[5].is_empty()) {
        ages.entry(park_of[&r[5]].clone()).or_default().push(2026 - r[10].parse::<u32>().unwrap());
    }
    let mut parks: Vec<_> = ages
        .iter_mut()
        .map(|(p, a)| {
            a.sort();
            (p.clone(), a.len(), a[a.len() / 2], a.iter().filter(|&&x| x < 35).count() as f64 / a.len() as f64)
        })
        .collect();
    parks.sort_by(|a, b| a.0.cmp(&b.0));
    println!("workers by park (n, median age, share < 35): {parks:?}");
    let mv = Table::read(&dir.join("moves.csv"));
    let mut months: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for r in &mv.rows {
        *months.entry((r[3].to_string(), r[2][..7].to_string())).or_default() += 1;
    }
    println!("{months:?}");
}

/// Timing at scale (not a timed test: it only prints); run in release:
/// `cargo test --release --lib generate::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing() {
    // TALENTMAP_TIMING="talents,enterprises" times one size instead.
    let sizes = match std::env::var("TALENTMAP_TIMING") {
        Ok(v) => {
            let (t, e) = v.split_once(',').unwrap();
            vec![(t.parse().unwrap(), e.parse().unwrap())]
        }
        Err(_) => vec![(100_000, 4_000), (1_000_000, 40_000), (4_000_000, 200_000)],
    };
    for (talents, enterprises) in sizes {
        let dir = tempfile::tempdir().unwrap();
        let t0 = std::time::Instant::now();
        let summary = generate(&GenerateOptions { seed: 42, talents, enterprises }, dir.path()).unwrap();
        println!("{talents} talents, {enterprises} enterprises: {:.1} s", t0.elapsed().as_secs_f64());
        for (kind, file, n) in &summary.files {
            println!("  {kind:12} {n:>9} records {:>8.1} MB", std::fs::metadata(file).unwrap().len() as f64 / 1e6);
        }
    }
}
