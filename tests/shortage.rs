//! Shortage index, effective shortage and mismatch through the HTTP API on
//! a constructed city whose answers are known by hand, plus cell figures
//! against a brute-force count on a seeded random city, the privacy rule,
//! tiles decoded with an independent decoder, CSV, and parameter errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::mvt::{Val, decode};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AppState, Settings, router};
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::morton;
use tower::ServiceExt;

const HEADER: &str =
    "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n";

/// Adds `n` talents at one home to a talents CSV.
#[allow(clippy::too_many_arguments)]
fn people(
    csv: &mut String,
    prefix: &str,
    n: usize,
    home: (f64, f64),
    field: &str,
    education: &str,
    seeking: bool,
    work: Option<(&str, f64, f64)>,
) {
    for i in 0..n {
        let (w, e) = match work {
            Some((id, x, y)) => (format!("{x},{y}"), id.to_string()),
            None => (",".to_string(), String::new()),
        };
        csv.push_str(&format!(
            "{prefix}{i},{:.5},{:.5},{w},{e},{field},{education},none,none,1990,{seeking}\n",
            home.0 + (i % 7) as f64 * 0.0001,
            home.1 + (i % 5) as f64 * 0.0001
        ));
    }
}

/// The constructed city (tiny city geography: D1, D2 and park P1 in D1):
///
/// - field 0812: 3,000 openings at E3 (D1) and 300 seekers living next to
///   it; 3 openings at E2 (D2) and no seekers in D2; 1,700 seekers living
///   outside every district, beyond 10 km of any opening. City ratio
///   ρ = 3,003 / 2,000.
/// - field 1007: 100 openings at E1 in park P1, nobody seeking in P1, but
///   200 seekers living about 3 km away in D1 (outside P1); `d2_small`
///   seekers in D2 and `2 − …` more outside, far away.
/// - 50 employed 0812 talents working at E3, living in D2, not seeking.
fn constructed(dir: &Path, d2_small: usize, outside_small: usize) -> Arc<Snapshot> {
    let mut store = tiny_city(dir, 0);
    let vacancies = "id,enterprise_id,field,education,title,openings,posted,filled
V1,E3,0812,bachelor,none,3000,2026-03-01,
V2,E2,0812,bachelor,none,3,2026-03-01,
V3,E1,1007,master,none,100,2026-03-01,
V4,E2,0812,master,intermediate,7,2026-01-01,2026-02-01
";
    import(&mut store, ImportKind::Vacancies, &write(dir, "vacancies.csv", vacancies)).unwrap();
    let mut t = String::from(HEADER);
    people(&mut t, "A", 300, (117.10, 36.70), "0812", "bachelor", true, None);
    people(&mut t, "B", 1700, (117.80, 36.70), "0812", "bachelor", true, None);
    people(&mut t, "C", 200, (117.08, 36.62), "1007", "master", true, None);
    people(&mut t, "S", d2_small, (117.38, 36.78), "1007", "master", true, None);
    people(&mut t, "O", outside_small, (117.9, 36.9), "1007", "master", true, None);
    people(&mut t, "W", 50, (117.25, 36.65), "0812", "master", false, Some(("E3", 117.10, 36.70)));
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &t)).unwrap();
    Arc::new(snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap())
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

async fn json(router: &axum::Router, uri: &str) -> Value {
    let (status, _, body) = get(router, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn city(d2_small: usize, outside_small: usize) -> (tempfile::TempDir, axum::Router, Arc<Snapshot>) {
    let dir = tempfile::tempdir().unwrap();
    let snap = constructed(dir.path(), d2_small, outside_small);
    let state = AppState::new(Arc::into_inner(snap).unwrap(), None, Settings::default());
    let snap = state.snapshot();
    (dir, router(state), snap)
}

fn item<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["items"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("no item {id} in {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn district_ranking_matches_hand_computation() {
    let (_dir, app, _) = city(2, 2);
    let v = json(&app, "/api/shortage?field=0812&by=district").await;
    let rho = 3003.0 / 2000.0;
    assert!((f(&v["city"]["ratio"]) - rho).abs() < 1e-4);
    let ids: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["D1", "D2"], "3,000 openings for 300 seekers outrank 3 openings for nobody");
    let d1 = item(&v, "D1");
    assert_eq!(d1["demand"], 3000);
    assert_eq!(d1["supply"], 300);
    assert_eq!(f(&d1["ratio"]), 10.0);
    assert!((f(&d1["index"]) - (3000.0 + 10.0 * rho) / 310.0).abs() < 1e-4);
    assert!(f(&d1["low"]) < f(&d1["index"]) && f(&d1["index"]) < f(&d1["high"]));
    assert_eq!(d1["low_data"], false);
    assert_eq!(d1["employed"], 50);
    let d2 = item(&v, "D2");
    assert_eq!(d2["demand"], 3);
    assert_eq!(d2["supply"], 0);
    assert!(d2["ratio"].is_null());
    assert!((f(&d2["index"]) - (3.0 + 10.0 * rho) / 10.0).abs() < 1e-4);
    assert_eq!(d2["low_data"], true);
    // Every item carries the contract's members.
    for it in v["items"].as_array().unwrap() {
        for key in [
            "id",
            "name",
            "lon",
            "lat",
            "demand",
            "supply",
            "ratio",
            "index",
            "low",
            "high",
            "low_data",
            "effective_index",
        ] {
            assert!(it.get(key).is_some(), "{key} missing in {it}");
        }
    }
}

#[tokio::test]
async fn effective_shortage_separates_talent_elsewhere_from_no_talent() {
    let (_dir, app, _) = city(2, 2);
    // Park P1: 100 openings, no resident seekers, 200 seekers ~3 km away.
    let v = json(&app, "/api/shortage?field=1007&by=park").await;
    let p1 = item(&v, "P1");
    assert_eq!(p1["demand"], 100);
    assert_eq!(p1["supply"], 0);
    assert!(p1["ratio"].is_null());
    assert!((f(&p1["effective_supply"]) - 200.0).abs() < 0.05, "{p1}");
    assert!((f(&p1["effective_ratio"]) - 0.5).abs() < 1e-3);
    assert!(f(&p1["effective_index"]) < f(&p1["index"]));
    // 0812 in D1: the 1,700 seekers outside live > 10 km away: no rescue.
    let v = json(&app, "/api/shortage?field=0812&by=district").await;
    let d1 = item(&v, "D1");
    assert!((f(&d1["effective_supply"]) - 300.0).abs() < 0.05, "{d1}");
    assert!((f(&d1["effective_ratio"]) - 10.0).abs() < 1e-3);
    // With a 100 km radius every seeker is in reach of E3 or E2.
    let wide = json(&app, "/api/shortage?field=0812&by=district&radius=50&decay=uniform").await;
    let sum: f64 =
        wide["items"].as_array().unwrap().iter().map(|i| i["effective_supply"].as_f64().unwrap_or(0.0)).sum();
    assert!(sum > 300.0, "{wide}");
}

#[tokio::test]
async fn explain_shows_counts_prior_interval_catchment_and_enterprises() {
    let (_dir, app, _) = city(2, 2);
    let v = json(&app, "/api/shortage/explain?area=P1&field=1007").await;
    assert_eq!(v["area"]["id"], "P1");
    assert_eq!(v["numbers"]["demand"], 100);
    assert_eq!(v["numbers"]["supply"], 0);
    assert_eq!(v["prior_detail"]["strength"], 10.0);
    assert!((f(&v["posterior"]["rate"]) - 10.0).abs() < 1e-9);
    let rho = 100.0 / 204.0;
    assert!((f(&v["posterior"]["shape"]) - (100.0 + 10.0 * rho)).abs() < 1e-3);
    assert_eq!(v["catchment"]["radius_km"], 10.0);
    assert!(v["catchment"]["city_unreached_seekers"].is_null(), "4 unreached seekers are suppressed");
    let ents = v["enterprises"].as_array().unwrap();
    assert_eq!(ents.len(), 1);
    assert_eq!(ents[0]["id"], "E1");
    assert_eq!(ents[0]["openings"], 100);
    // Unknown area → 404; missing area → 400.
    assert_eq!(get(&app, "/api/shortage/explain?area=NOPE&field=1007").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/api/shortage/explain?field=1007").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn small_supply_counts_are_banded_and_do_not_change_any_output() {
    // D2 holds 2 or 4 seekers of 1007; the city total is the same (4).
    let (_a, app_a, _) = city(2, 2);
    let (_b, app_b, _) = city(4, 0);
    let a = json(&app_a, "/api/shortage?field=1007&by=district").await;
    let b = json(&app_b, "/api/shortage?field=1007&by=district").await;
    let (da, db) = (item(&a, "D2"), item(&b, "D2"));
    assert!(da["supply"].is_null());
    assert_eq!(da["supply_band"], "1-4");
    assert_eq!(da, db, "published numbers must not depend on a count in 1..k-1");
    // Same for the area's field list and the explanation.
    let fa = json(&app_a, "/api/shortage/fields?area=D2").await;
    let fb = json(&app_b, "/api/shortage/fields?area=D2").await;
    assert_eq!(fa["items"], fb["items"]);
    let ea = json(&app_a, "/api/shortage/explain?area=D2&field=1007").await;
    let eb = json(&app_b, "/api/shortage/explain?area=D2&field=1007").await;
    assert_eq!(ea["numbers"], eb["numbers"]);
    assert_eq!(ea["posterior"], eb["posterior"]);
}

#[tokio::test]
async fn fields_of_an_area_rank_what_it_is_short_of() {
    let (_dir, app, _) = city(2, 2);
    let v = json(&app, "/api/shortage/fields?area=D1").await;
    let fields: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["0812", "1007"], "{v}");
    let indexes: Vec<f64> = v["items"].as_array().unwrap().iter().map(|i| f(&i["index"])).collect();
    assert!(indexes.windows(2).all(|w| w[0] >= w[1]));
    // CSV download of the same ranking.
    let (status, ct, body) = get(&app, "/api/shortage/fields?area=D1&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("field,name_zh,name_en,city_ratio,demand,supply"), "{}", lines[0]);
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("0812,"));
}

#[tokio::test]
async fn ranking_csv_has_one_row_per_area() {
    let (dir, app, _) = city(2, 2);
    let uri = "/api/shortage?field=0812&by=district&format=csv";
    assert_eq!(get(&app, uri).await.0, StatusCode::UNAUTHORIZED, "an export needs credentials");
    // A recruiter may export.
    let data = dir.path().join("data");
    let mut store = talentmap::store::Store::open(&data).unwrap();
    let recruiter = bearer(&store, talentmap::auth::Role::Recruiter, &[]);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let app = router(AppState::new(snap, Some(data), Settings::default()));
    let req = Request::get(uri).header("authorization", recruiter).body(Body::empty()).unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "D1");
    assert_eq!(&rows[0][5], "3000");
}

#[tokio::test]
async fn mismatch_tables_per_area_and_chain() {
    let (_dir, app, _) = city(2, 2);
    let v = json(&app, "/api/mismatch?area=D1").await;
    // D1 demand: 3,000 bachelor 0812 at E3 + 100 master 1007 at E1 (P1 ⊂ D1).
    assert_eq!(v["demand_total"], 3100);
    assert_eq!(v["supply_total"], 500);
    let bachelor = v["by_education"].as_array().unwrap().iter().find(|r| r["code"] == "bachelor").unwrap();
    assert_eq!(bachelor["demand"], 3000);
    assert_eq!(bachelor["supply"], 300);
    // ≥ master: demand 100/3100, supply 200/500 → supply holds more: below.
    let vert = &v["vertical_education"]["against_supply"];
    assert!((f(&vert["below"]) - (0.4 - 100.0 / 3100.0)).abs() < 1e-9, "{vert}");
    assert_eq!(vert["direction"], "below");
    assert!(v["horizontal"]["absent_fields"].as_array().unwrap().is_empty());
    // Chain finance (division 66 = E3): demand 3,000 of 0812, workforce the 50 employed.
    let c = json(&app, "/api/mismatch?chain=finance").await;
    assert_eq!(c["chain"]["id"], "finance");
    assert_eq!(c["demand_total"], 3000);
    assert_eq!(c["workforce_total"], 50);
    assert_eq!(c["top_missing_fields"][0]["field"], "0812");
    // Chain biomed (27 = E2): 3 openings of 0812.
    let b = json(&app, "/api/mismatch?chain=biomed").await;
    assert_eq!(b["demand_total"], 3);
    assert_eq!(get(&app, "/api/mismatch?chain=nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/api/mismatch?area=D1&chain=finance").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, "/api/mismatch").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_parameters_get_400_with_accepted_values() {
    let (_dir, app, _) = city(2, 2);
    let cases = [
        ("/api/shortage?by=district", "field", "0812"),
        ("/api/shortage?field=9999", "field", "discipline"),
        ("/api/shortage?field=0812&by=zone", "by", "district, park, cell"),
        ("/api/shortage?field=0812&by=cell", "zoom", "0..=14"),
        ("/api/shortage?field=0812&by=cell&zoom=20", "zoom", "0..=14"),
        ("/api/shortage?field=0812&zoom=3", "zoom", "by=cell"),
        ("/api/shortage?field=0812&education=phd", "education", "associate, bachelor, master, doctorate"),
        ("/api/shortage?field=0812&education=master,doctorate", "education", "one of"),
        ("/api/shortage?field=0812&title=boss", "title", "junior"),
        ("/api/shortage?field=0812&prior=0", "prior", "0.01..=10000"),
        ("/api/shortage?field=0812&interval=1.5", "interval", "0.5..=0.99"),
        ("/api/shortage?field=0812&radius=500", "radius", "0.5..=50"),
        ("/api/shortage?field=0812&decay=cubic", "decay", "gaussian, linear, uniform"),
        ("/api/shortage?field=0812&limit=0", "limit", "1..=100000"),
        ("/api/shortage?field=0812&format=xml", "format", "json, csv"),
        ("/api/shortage?field=0812&colour=red", "colour", "accepted"),
        ("/api/shortage/fields", "area", "district or park"),
        ("/tiles/shortage/10/844/399.mvt", "field", "0812"),
        ("/tiles/shortage/10/844/399.mvt?field=0812&tier=A", "tier", "accepted"),
        ("/tiles/shortage.json", "field", "0812"),
    ];
    for (uri, param, accepted) in cases {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["parameter"], param, "{uri}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(accepted), "{uri}: {v}");
    }
    assert_eq!(get(&app, "/api/shortage/fields?area=NOPE").await.0, StatusCode::NOT_FOUND);
}

/// Brute-force cell figures from the snapshot's records.
fn brute_cells(snap: &Snapshot, field: &str, level: u8) -> HashMap<u64, (u64, u64)> {
    let f = snap.taxonomy.field_index(field).unwrap();
    let mut out: HashMap<u64, (u64, u64)> = HashMap::new();
    for v in snap.vacancies.iter().filter(|v| v.open && v.field == f) {
        out.entry(morton::cell_id(v.key, level)).or_default().0 += v.openings as u64;
    }
    for t in snap.talents.iter().filter(|t| t.seeking() && t.field == f) {
        out.entry(morton::cell_id(t.home, level)).or_default().1 += 1;
    }
    out
}

#[tokio::test]
async fn cell_rankings_and_tiles_match_a_brute_force_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), 4000, 11);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let state = AppState::new(snap, None, Settings::default());
    let snap = state.snapshot();
    let app = router(state);
    for zoom in [7u8, 10, 12] {
        let level = zoom + 5;
        let expected = brute_cells(&snap, "0812", level);
        let v = json(&app, &format!("/api/shortage?field=0812&by=cell&zoom={zoom}&limit=100000")).await;
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), expected.len(), "zoom {zoom}");
        let mut last = f64::INFINITY;
        for it in items {
            let id: u64 = it["id"].as_str().unwrap().parse().unwrap();
            let (d, s) = expected[&id];
            assert_eq!(it["demand"], d);
            match it["supply"].as_u64() {
                Some(n) => assert_eq!(n, s),
                None => assert!((1..5).contains(&s), "only 1..k-1 is banded"),
            }
            let index = f(&it["index"]);
            assert!(index <= last + 1e-12, "sorted most short first");
            last = index;
        }
        // The tiles of this zoom draw the same cells with the same numbers.
        let by_id: HashMap<String, &Value> = items.iter().map(|i| (i["id"].as_str().unwrap().to_string(), i)).collect();
        let mut seen = 0;
        let mut tiles: Vec<(u8, u32, u32)> = expected
            .keys()
            .map(|&c| {
                let t = morton::cell_tile(c);
                (zoom, t.x >> 5, t.y >> 5)
            })
            .collect();
        tiles.sort();
        tiles.dedup();
        for t in tiles {
            let (status, ct, body) =
                get(&app, &format!("/tiles/shortage/{}/{}/{}.mvt?field=0812", t.0, t.1, t.2)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(ct, "application/vnd.mapbox-vector-tile");
            for layer in decode(&body) {
                assert_eq!(layer.name, "shortage");
                for feat in layer.features {
                    let Val::Str(id) = &feat.props["id"] else { panic!("id is a string") };
                    assert_eq!(feat.id.unwrap().to_string(), *id);
                    let it = by_id[id];
                    assert_eq!(feat.props["demand"].as_u64().unwrap(), it["demand"].as_u64().unwrap());
                    let Val::Double(index) = feat.props["index"] else { panic!("index is a double") };
                    assert!((index - f(&it["index"])).abs() < 1e-9);
                    assert!(feat.props.contains_key("low") && feat.props.contains_key("high"));
                    assert!(feat.props.contains_key("low_data"));
                    if it["demand"].as_u64().unwrap() > 0 {
                        assert!(feat.props.contains_key("effective_index"));
                    }
                    assert_eq!(feat.props.contains_key("supply_band"), it["supply"].is_null());
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, items.len(), "zoom {zoom}: every ranked cell is drawn exactly once");
    }
    // TileJSON carries the query in its tile URL.
    let tj = json(&app, "/tiles/shortage.json?field=0812&education=master").await;
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/shortage/{z}/{x}/{y}.mvt?field=0812&education=master"));
    assert_eq!(tj["vector_layers"][0]["id"], "shortage");
}

#[test]
fn constructed_city_builds() {
    let dir = tempfile::tempdir().unwrap();
    let snap = constructed(dir.path(), 2, 2);
    assert_eq!(snap.totals.seekers, 2000 + 200 + 4);
}
