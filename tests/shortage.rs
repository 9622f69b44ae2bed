//! Shortage index, effective shortage and mismatch through the HTTP API on
//! a constructed city whose answers are known by hand (read with an admin
//! key, which gets exact counts), plus cell figures against a brute-force
//! count on a seeded random city, disclosure control (perturbed counts for
//! everyone else: never 1..k−1, the same number on every route, the
//! nested-semantics attack, too-fine cells), tiles decoded with an
//! independent decoder, CSV, and parameter errors.

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
use talentmap::auth::Role;
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
    get_as(router, uri, None).await
}

async fn get_as(router: &axum::Router, uri: &str, auth: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

async fn json(router: &axum::Router, uri: &str) -> Value {
    json_as(router, uri, None).await
}

async fn json_as(router: &axum::Router, uri: &str, auth: Option<&str>) -> Value {
    let (status, _, body) = get_as(router, uri, auth).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// A city served with its data directory, and an admin's `Authorization`
/// header (exact counts).
struct City {
    _dir: tempfile::TempDir,
    app: axum::Router,
    snap: Arc<Snapshot>,
    admin: String,
    data: std::path::PathBuf,
}

impl City {
    /// An `Authorization` header of a new key of `role` for `areas`.
    fn key(&self, role: Role, areas: &[&str]) -> String {
        bearer(&talentmap::store::Store::open(&self.data).unwrap(), role, areas)
    }

    /// GET as the admin.
    async fn exact(&self, uri: &str) -> Value {
        json_as(&self.app, uri, Some(&self.admin)).await
    }

    /// GET without credentials (public role: perturbed counts).
    async fn public(&self, uri: &str) -> Value {
        json(&self.app, uri).await
    }
}

fn serve(dir: tempfile::TempDir, snap: Snapshot) -> City {
    let data = dir.path().join("data");
    let admin = bearer(&talentmap::store::Store::open(&data).unwrap(), Role::Admin, &[]);
    let state = AppState::new(snap, Some(data.clone()), Settings::default());
    let snap = state.snapshot();
    City { _dir: dir, app: router(state), snap, admin, data }
}

fn city(d2_small: usize, outside_small: usize) -> City {
    let dir = tempfile::tempdir().unwrap();
    let snap = constructed(dir.path(), d2_small, outside_small);
    serve(dir, Arc::into_inner(snap).unwrap())
}

fn random(n: usize, seed: u64) -> City {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), n, seed);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    drop(store);
    serve(dir, snap)
}

/// The privacy threshold of `Settings::default()`.
const K: u64 = 5;

/// Whether `n` may be published as a talent count: 0, or at least k.
fn publishable(n: u64) -> bool {
    n == 0 || n >= K
}

fn item<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["items"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("no item {id} in {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn district_ranking_matches_hand_computation() {
    let c = city(2, 2);
    let v = c.exact("/api/shortage?field=0812&by=district").await;
    assert_eq!(v["exact_counts"], true);
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
        assert!(it.get("supply_band").is_none() && it.get("effective_supply_band").is_none(), "{it}");
    }
    // Without credentials: perturbed counts, and every number derived from
    // the published ones.
    let p = c.public("/api/shortage?field=0812&by=district").await;
    assert_eq!(p["exact_counts"], false);
    let city_supply = p["city"]["supply"].as_u64().unwrap();
    assert!(city_supply.abs_diff(2000) <= 3, "{p}");
    let rho = 3003.0 / city_supply as f64;
    assert!((f(&p["city"]["ratio"]) - rho).abs() < 1e-4);
    let d1 = item(&p, "D1");
    let s = d1["supply"].as_u64().unwrap();
    assert!(s.abs_diff(300) <= 3, "{d1}");
    assert_eq!(f(&d1["ratio"]), (3000.0 / s as f64 * 1e4).round() / 1e4);
    assert!((f(&d1["index"]) - (3000.0 + 10.0 * rho) / (s as f64 + 10.0)).abs() < 1e-4);
    assert!(d1["employed"].as_u64().unwrap().abs_diff(50) <= 3);
    assert_eq!(item(&p, "D2")["supply"], 0, "0 stays 0");
}

#[tokio::test]
async fn effective_shortage_separates_talent_elsewhere_from_no_talent() {
    let c = city(2, 2);
    // Park P1: 100 openings, no resident seekers, 200 seekers ~3 km away.
    let v = c.exact("/api/shortage?field=1007&by=park").await;
    let p1 = item(&v, "P1");
    assert_eq!(p1["demand"], 100);
    assert_eq!(p1["supply"], 0);
    assert!(p1["ratio"].is_null());
    assert!((f(&p1["effective_supply"]) - 200.0).abs() < 0.05, "{p1}");
    assert!((f(&p1["effective_ratio"]) - 0.5).abs() < 1e-3);
    assert!(f(&p1["effective_index"]) < f(&p1["index"]));
    // Perturbed: a whole number near the allocation, and the effective
    // numbers follow from it.
    let p = c.public("/api/shortage?field=1007&by=park").await;
    let p1 = item(&p, "P1");
    let eff = f(&p1["effective_supply"]);
    assert!(eff.fract() == 0.0 && (eff - 200.0).abs() <= 3.0, "{p1}");
    assert!((f(&p1["effective_ratio"]) - (100.0 / eff * 1e4).round() / 1e4).abs() < 1e-9);
    // 0812 in D1: the 1,700 seekers outside live > 10 km away: no rescue.
    let v = c.exact("/api/shortage?field=0812&by=district").await;
    let d1 = item(&v, "D1");
    assert!((f(&d1["effective_supply"]) - 300.0).abs() < 0.05, "{d1}");
    assert!((f(&d1["effective_ratio"]) - 10.0).abs() < 1e-3);
    // With a 100 km radius every seeker is in reach of E3 or E2.
    let wide = c.exact("/api/shortage?field=0812&by=district&radius=50&decay=uniform").await;
    let sum: f64 =
        wide["items"].as_array().unwrap().iter().map(|i| i["effective_supply"].as_f64().unwrap_or(0.0)).sum();
    assert!(sum > 300.0, "{wide}");
}

#[tokio::test]
async fn explain_shows_counts_prior_interval_catchment_and_enterprises() {
    let c = city(2, 2);
    let app = &c.app;
    let v = c.exact("/api/shortage/explain?area=P1&field=1007").await;
    assert_eq!(v["exact_counts"], true);
    assert_eq!(v["posterior"]["supply_used"], "exact");
    assert_eq!(v["area"]["id"], "P1");
    assert_eq!(v["numbers"]["demand"], 100);
    assert_eq!(v["numbers"]["supply"], 0);
    assert_eq!(v["prior_detail"]["strength"], 10.0);
    assert!((f(&v["posterior"]["rate"]) - 10.0).abs() < 1e-9);
    let rho = 100.0 / 204.0;
    assert!((f(&v["posterior"]["shape"]) - (100.0 + 10.0 * rho)).abs() < 1e-3);
    assert_eq!(v["catchment"]["radius_km"], 10.0);
    assert_eq!(v["catchment"]["city_unreached_seekers"], 4, "2 in D2 and 2 outside, > 10 km from E1");
    assert_eq!(v["catchment"]["city_allocated_seekers"], 200);
    let ents = v["enterprises"].as_array().unwrap();
    assert_eq!(ents.len(), 1);
    assert_eq!(ents[0]["id"], "E1");
    assert_eq!(ents[0]["openings"], 100);
    // Perturbed: 4 unreached seekers are published as 0 or k.
    let p = c.public("/api/shortage/explain?area=P1&field=1007").await;
    assert_eq!(p["exact_counts"], false);
    assert!([0, K].contains(&p["catchment"]["city_unreached_seekers"].as_u64().unwrap()), "{p}");
    assert!(p["posterior"]["supply_used"].as_str().unwrap().contains("perturbed"));
    let site = f(&p["enterprises"][0]["site_effective_supply"]);
    assert!(site.fract() == 0.0 && (site - 200.0).abs() <= 3.0, "{p}");
    // Unknown area → 404; missing area → 400.
    assert_eq!(get(app, "/api/shortage/explain?area=NOPE&field=1007").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(app, "/api/shortage/explain?field=1007").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn fields_of_an_area_rank_what_it_is_short_of() {
    let c = city(2, 2);
    let app = &c.app;
    let v = json(app, "/api/shortage/fields?area=D1").await;
    let fields: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["0812", "1007"], "{v}");
    let indexes: Vec<f64> = v["items"].as_array().unwrap().iter().map(|i| f(&i["index"])).collect();
    assert!(indexes.windows(2).all(|w| w[0] >= w[1]));
    // CSV download of the same ranking.
    let (status, ct, body) = get(app, "/api/shortage/fields?area=D1&format=csv").await;
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
    let c = city(2, 2);
    let uri = "/api/shortage?field=0812&by=district&format=csv";
    assert_eq!(get(&c.app, uri).await.0, StatusCode::UNAUTHORIZED, "an export needs credentials");
    // A recruiter may export (perturbed counts).
    let recruiter = c.key(Role::Recruiter, &[]);
    let (status, ct, body) = get_as(&c.app, uri, Some(&recruiter)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert!(!headers.iter().any(|h| h.ends_with("_band")), "{headers:?}");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "D1");
    assert_eq!(&rows[0][5], "3000");
    assert!(rows[0][6].parse::<u64>().unwrap().abs_diff(300) <= 3, "{rows:?}");
}

#[tokio::test]
async fn mismatch_tables_per_area_and_chain() {
    let c = city(2, 2);
    let app = &c.app;
    let v = c.exact("/api/mismatch?area=D1").await;
    assert_eq!(v["exact_counts"], true);
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
    let ch = c.exact("/api/mismatch?chain=finance").await;
    assert_eq!(ch["chain"]["id"], "finance");
    assert_eq!(ch["demand_total"], 3000);
    assert_eq!(ch["workforce_total"], 50);
    assert_eq!(ch["top_missing_fields"][0]["field"], "0812");
    // Chain biomed (27 = E2): 3 openings of 0812.
    let b = json(app, "/api/mismatch?chain=biomed").await;
    assert_eq!(b["demand_total"], 3);
    assert_eq!(b["exact_counts"], false);
    assert_eq!(get(app, "/api/mismatch?chain=nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(app, "/api/mismatch?area=D1&chain=finance").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(app, "/api/mismatch").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn mismatch_totals_are_their_own_perturbed_counts() {
    let c = random(4000, 23);
    for scope in ["area=D1", "area=D2", "area=P1", "chain=finance", "chain=biomed"] {
        let exact = c.exact(&format!("/api/mismatch?{scope}")).await;
        let v = c.public(&format!("/api/mismatch?{scope}")).await;
        assert_eq!(v["exact_counts"], false);
        assert_eq!(v["demand_total"], exact["demand_total"], "demand is not personal data");
        let mut counts = vec![v["supply_total"].as_u64().unwrap(), v["workforce_total"].as_u64().unwrap()];
        for table in ["by_field_education", "by_field", "by_education", "by_title"] {
            for row in v[table].as_array().unwrap() {
                counts.push(row["supply"].as_u64().unwrap());
                counts.push(row["workforce"].as_u64().unwrap());
            }
        }
        for row in v["top_missing_fields"].as_array().unwrap() {
            counts.push(row["supply"].as_u64().unwrap());
        }
        assert!(counts.iter().all(|&n| publishable(n)), "{scope}: {counts:?}");
        // Each total is perturbed on its own: within the noise of the exact
        // total, not the sum of the perturbed rows.
        for (total, table) in [("supply_total", "by_education"), ("workforce_total", "by_title")] {
            let t = v[total].as_u64().unwrap();
            assert!(t.abs_diff(exact[total].as_u64().unwrap()) <= 3, "{scope} {total}");
            let shares: f64 =
                v[table].as_array().unwrap().iter().map(|r| f(&r[&total.replace("_total", "_share")])).sum();
            assert!(shares == 0.0 || (shares - 1.0).abs() < 1e-9, "{scope}: shares of the published rows");
        }
    }
}

#[tokio::test]
async fn bad_parameters_get_400_with_accepted_values() {
    let c = city(2, 2);
    let app = &c.app;
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
        ("/api/shortage/explain?field=0812", "area", "0..=19"),
        ("/tiles/shortage/10/844/399.mvt", "field", "0812"),
        ("/tiles/shortage/10/844/399.mvt?field=0812&tier=A", "tier", "accepted"),
        ("/tiles/shortage.json", "field", "0812"),
    ];
    for (uri, param, accepted) in cases {
        let (status, _, body) = get(app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["parameter"], param, "{uri}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(accepted), "{uri}: {v}");
    }
    assert_eq!(get(app, "/api/shortage/fields?area=NOPE").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn grid_cells_finer_than_the_talents_layer_are_refused() {
    let c = city(2, 2);
    let home = c.snap.talents.iter().find(|t| t.seeking()).unwrap().home;
    // The talents layer's finest cells: maxzoom 14 + 5 = level 19.
    for level in [15u8, 17, 19] {
        let id = morton::cell_id(home, level);
        for route in ["/api/shortage/explain?field=0812&area=", "/api/shortage/fields?area="] {
            let (status, _, body) = get(&c.app, &format!("{route}{id}")).await;
            assert_eq!(status, StatusCode::OK, "level {level}: {}", String::from_utf8_lossy(&body));
        }
    }
    for level in [20u8, 22, 24] {
        let id = morton::cell_id(home, level);
        for route in ["/api/shortage/explain?field=0812&area=", "/api/shortage/fields?area="] {
            // Even an admin: the cells are refused, not just perturbed.
            let (status, _, body) = get_as(&c.app, &format!("{route}{id}"), Some(&c.admin)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "level {level}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["parameter"], "area", "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(&format!("level {level}")) && message.contains("0..=19"), "{message}");
        }
    }
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
    let c = random(4000, 11);
    let (snap, app) = (&c.snap, &c.app);
    for zoom in [7u8, 10, 12] {
        let level = zoom + 5;
        let expected = brute_cells(snap, "0812", level);
        let uri = format!("/api/shortage?field=0812&by=cell&zoom={zoom}&limit=100000");
        // Exact counts for an admin: every cell.
        let exact = c.exact(&uri).await;
        assert_eq!(exact["items"].as_array().unwrap().len(), expected.len(), "zoom {zoom}");
        for it in exact["items"].as_array().unwrap() {
            let id: u64 = it["id"].as_str().unwrap().parse().unwrap();
            assert_eq!((it["demand"].as_u64().unwrap(), it["supply"].as_u64().unwrap()), expected[&id]);
        }
        // Perturbed for everyone else: cells with demand all there, cells
        // whose only seekers are published as 0 left out.
        let v = json(app, &uri).await;
        let items = v["items"].as_array().unwrap();
        let with_demand = expected.values().filter(|(d, _)| *d > 0).count();
        assert!(items.len() >= with_demand && items.len() <= expected.len(), "zoom {zoom}");
        let mut last = f64::INFINITY;
        for it in items {
            let id: u64 = it["id"].as_str().unwrap().parse().unwrap();
            let (d, s) = expected[&id];
            assert_eq!(it["demand"], d);
            let n = it["supply"].as_u64().unwrap();
            assert!(publishable(n), "never 1..k-1: {n}");
            assert!(if s < K { n == 0 || n == K } else { n.abs_diff(s) <= 3 }, "{s} published as {n}");
            assert!(d > 0 || n > 0, "a cell shown is not empty as published");
            let index = f(&it["index"]);
            assert!(index <= last + 1e-12, "sorted most short first");
            last = index;
        }
        // The tiles of this zoom draw the same cells with the same numbers.
        let by_id: HashMap<String, &Value> = items.iter().map(|i| (i["id"].as_str().unwrap().to_string(), i)).collect();
        let mut seen = 0;
        let mut tiles: Vec<(u8, u32, u32)> = by_id
            .keys()
            .map(|id| id.parse::<u64>().unwrap())
            .map(|c| {
                let t = morton::cell_tile(c);
                (zoom, t.x >> 5, t.y >> 5)
            })
            .collect();
        tiles.sort();
        tiles.dedup();
        for t in tiles {
            // Tiles are shared: perturbed even for an admin.
            let (status, ct, body) =
                get_as(app, &format!("/tiles/shortage/{}/{}/{}.mvt?field=0812", t.0, t.1, t.2), Some(&c.admin)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(ct, "application/vnd.mapbox-vector-tile");
            for layer in decode(&body) {
                assert_eq!(layer.name, "shortage");
                for feat in layer.features {
                    let Val::Str(id) = &feat.props["id"] else { panic!("id is a string") };
                    assert_eq!(feat.id.unwrap().to_string(), *id);
                    let it = by_id[id];
                    assert_eq!(feat.props["demand"].as_u64().unwrap(), it["demand"].as_u64().unwrap());
                    assert_eq!(feat.props["supply"].as_u64().unwrap(), it["supply"].as_u64().unwrap());
                    let Val::Double(index) = feat.props["index"] else { panic!("index is a double") };
                    assert!((index - f(&it["index"])).abs() < 1e-9);
                    assert!(feat.props.contains_key("low") && feat.props.contains_key("high"));
                    assert!(feat.props.contains_key("low_data"));
                    if it["demand"].as_u64().unwrap() > 0 {
                        assert!(feat.props.contains_key("effective_index"));
                    }
                    assert!(!feat.props.contains_key("supply_band"));
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, items.len(), "zoom {zoom}: every ranked cell is drawn exactly once");
    }
    // TileJSON carries the query in its tile URL.
    let tj = json(app, "/tiles/shortage.json?field=0812&education=master").await;
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/shortage/{z}/{x}/{y}.mvt?field=0812&education=master"));
    assert_eq!(tj["vector_layers"][0]["id"], "shortage");
}

#[test]
fn constructed_city_builds() {
    let dir = tempfile::tempdir().unwrap();
    let snap = constructed(dir.path(), 2, 2);
    assert_eq!(snap.totals.seekers, 2000 + 200 + 4);
}

/// The members of [`Numbers`] every route publishes alike.
const NUMBERS: [&str; 12] = [
    "demand",
    "supply",
    "ratio",
    "index",
    "low",
    "high",
    "low_data",
    "employed",
    "effective_supply",
    "effective_ratio",
    "effective_index",
    "effective_low_data",
];

/// Asserts that no talent count of a set of shortage numbers lies in 1..k−1.
fn assert_publishable(n: &Value, what: &str) {
    let supply = n["supply"].as_u64().unwrap_or_else(|| panic!("{what}: supply is a count: {n}"));
    assert!(publishable(supply), "{what}: supply {supply}");
    if let Some(e) = n["employed"].as_u64() {
        assert!(publishable(e), "{what}: employed {e}");
    }
    if let Some(e) = n["effective_supply"].as_f64() {
        assert!(e.fract() == 0.0 && publishable(e as u64), "{what}: effective_supply {e}");
    }
}

#[tokio::test]
async fn no_published_talent_count_lies_below_k() {
    let c = random(4000, 5);
    let mut checked = 0usize;
    for field in FIELDS {
        for narrow in ["", "&education=bachelor", "&education=master", "&education=doctorate"] {
            for by in ["by=district", "by=park", "by=cell&zoom=8", "by=cell&zoom=11", "by=cell&zoom=14"] {
                let v = c.public(&format!("/api/shortage?field={field}&{by}{narrow}&limit=100000")).await;
                assert!(publishable(v["city"]["supply"].as_u64().unwrap()));
                for it in v["items"].as_array().unwrap() {
                    assert_publishable(it, &format!("{field} {by}{narrow} {}", it["id"]));
                    checked += 1;
                }
            }
        }
    }
    for area in ["D1", "D2", "P1"] {
        let v = c.public(&format!("/api/shortage/fields?area={area}&education=master")).await;
        for it in v["items"].as_array().unwrap() {
            assert_publishable(it, &format!("fields of {area}"));
        }
        for field in FIELDS {
            let e = c.public(&format!("/api/shortage/explain?area={area}&field={field}")).await;
            assert_publishable(&e["numbers"], &format!("explain {area} {field}"));
            for key in ["city_allocated_seekers", "city_unreached_seekers"] {
                assert!(publishable(e["catchment"][key].as_u64().unwrap()), "{area} {field} {key}");
            }
            for ent in e["enterprises"].as_array().unwrap() {
                let s = f(&ent["site_effective_supply"]);
                assert!(s.fract() == 0.0 && publishable(s as u64), "{area} {field}: site {s}");
            }
        }
    }
    assert!(checked > 1000, "{checked} rows checked");
}

#[tokio::test]
async fn the_same_seekers_give_the_same_number_on_every_route() {
    let c = random(4000, 17);
    for field in ["0812", "1007", "0202"] {
        for narrow in ["", "&education=master"] {
            // Districts and parks: ranking, field list, explanation.
            let mut rows: Vec<(String, Value)> = Vec::new();
            for by in ["district", "park"] {
                let v = c.public(&format!("/api/shortage?field={field}&by={by}{narrow}")).await;
                for it in v["items"].as_array().unwrap() {
                    rows.push((it["id"].as_str().unwrap().to_string(), it.clone()));
                }
            }
            // Cells of two zooms, the areas with the most demand first.
            for zoom in [9, 12] {
                let v = c.public(&format!("/api/shortage?field={field}&by=cell&zoom={zoom}&limit=15{narrow}")).await;
                for it in v["items"].as_array().unwrap() {
                    rows.push((it["id"].as_str().unwrap().to_string(), it.clone()));
                }
            }
            assert!(rows.len() > 10);
            for (id, ranked) in &rows {
                let e = c.public(&format!("/api/shortage/explain?area={id}&field={field}{narrow}")).await;
                let list = c.public(&format!("/api/shortage/fields?area={id}&limit=1000{narrow}")).await;
                let listed = list["items"].as_array().unwrap().iter().find(|i| i["field"] == field);
                for key in NUMBERS {
                    assert_eq!(ranked[key], e["numbers"][key], "{field}{narrow} {id} {key}: ranking vs explain");
                    if let Some(listed) = listed {
                        assert_eq!(ranked[key], listed[key], "{field}{narrow} {id} {key}: ranking vs fields");
                    }
                }
                if listed.is_none() {
                    assert!(ranked["demand"] == 0 && ranked["supply"] == 0, "{field} {id}: listed unless empty");
                }
            }
        }
    }
}

#[tokio::test]
async fn nested_supply_levels_do_not_give_away_small_counts() {
    // "At least bachelor" minus "at least master" is the number of
    // bachelors; for small differences, how often does the published
    // difference equal the true one?
    let c = random(12000, 29);
    let (mut pairs, mut recovered) = (0usize, 0usize);
    let mut large = (0usize, 0usize);
    let supplies = |v: &Value| -> HashMap<String, u64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["id"].as_str().unwrap().to_string(), i["supply"].as_u64().unwrap()))
            .collect()
    };
    for field in FIELDS {
        for by in ["by=district", "by=park", "by=cell&zoom=9", "by=cell&zoom=10", "by=cell&zoom=11", "by=cell&zoom=12"]
        {
            let uri = |level: &str| format!("/api/shortage?field={field}&{by}&education={level}&limit=100000");
            let (exact_b, exact_m) =
                (supplies(&c.exact(&uri("bachelor")).await), supplies(&c.exact(&uri("master")).await));
            let (pub_b, pub_m) =
                (supplies(&c.public(&uri("bachelor")).await), supplies(&c.public(&uri("master")).await));
            for (id, &b) in &exact_b {
                let m = exact_m.get(id).copied().unwrap_or(0);
                let truth = b - m;
                if !(1..=4).contains(&truth) {
                    continue;
                }
                pairs += 1;
                let published = pub_b.get(id).copied().unwrap_or(0) as i64 - pub_m.get(id).copied().unwrap_or(0) as i64;
                let hit = published == truth as i64;
                recovered += hit as usize;
                // Both counts in the full-noise range (k + 3 and above).
                if m >= K + 3 {
                    large.0 += 1;
                    large.1 += hit as usize;
                }
            }
        }
    }
    let share = recovered as f64 / pairs as f64;
    println!(
        "nested-semantics attack: {recovered} of {pairs} differences in 1..4 recovered exactly ({:.1} %)",
        100.0 * share
    );
    println!("  of which both counts >= k + 3: {} of {} recovered", large.1, large.0);
    assert!(pairs >= 200, "{pairs} pairs");
    assert!(large.0 < 50 || large.1 as f64 <= 0.25 * large.0 as f64, "{large:?}");
    assert!(share <= 0.25, "{recovered} of {pairs} recovered");
}

#[tokio::test]
async fn admins_and_analysts_in_their_jurisdiction_get_exact_counts() {
    let c = city(2, 2);
    let analyst = c.key(Role::Analyst, &["D1"]);
    let recruiter = c.key(Role::Recruiter, &[]);
    // The exact numbers of the constructed city: D1 has 300 seekers of 0812.
    let admin = c.exact("/api/shortage/explain?area=D1&field=0812").await;
    assert_eq!((admin["exact_counts"].clone(), admin["numbers"]["supply"].clone()), (Value::Bool(true), 300.into()));
    assert_eq!(admin["numbers"]["employed"], 50);
    let ranking = c.exact("/api/shortage?field=0812&by=district").await;
    assert_eq!(ranking["exact_counts"], true, "an admin gets exact rankings");
    assert_eq!(item(&ranking, "D1")["supply"], 300);
    let mismatch = c.exact("/api/mismatch?area=D2").await;
    assert_eq!(mismatch["exact_counts"], true);
    // An analyst: exact inside the jurisdiction only; rankings are about
    // the whole city.
    let inside = json_as(&c.app, "/api/shortage/explain?area=D1&field=0812", Some(&analyst)).await;
    assert_eq!(inside["exact_counts"], true);
    for key in ["demand", "supply", "ratio", "employed"] {
        assert_eq!(inside["numbers"][key], admin["numbers"][key], "{key}");
    }
    // Allocated seekers live anywhere within reach: perturbed unless admin.
    for key in ["effective_supply", "effective_ratio", "effective_index"] {
        assert_eq!(inside["numbers"][key], c.public("/api/shortage/explain?area=D1&field=0812").await["numbers"][key]);
    }
    // ... but the city-wide counts are about the whole city: as published
    // to everyone, not exact (no rest-of-city by subtraction).
    let public = c.public("/api/shortage/explain?area=D1&field=0812").await;
    assert_eq!(admin["city"]["supply"], 2000);
    assert_eq!(inside["city"], public["city"]);
    assert_eq!(inside["catchment"]["city_allocated_seekers"], public["catchment"]["city_allocated_seekers"]);
    let mismatch_d1 = json_as(&c.app, "/api/mismatch?area=D1", Some(&analyst)).await;
    assert_eq!(
        (mismatch_d1["exact_counts"].clone(), mismatch_d1["supply_total"].clone()),
        (Value::Bool(true), 500.into())
    );
    let city_ratio = |v: &Value| v["top_missing_fields"][0]["city_ratio"].clone();
    assert_eq!(city_ratio(&mismatch_d1), city_ratio(&c.public("/api/mismatch?area=D1").await));
    let fields = json_as(&c.app, "/api/shortage/fields?area=D1", Some(&analyst)).await;
    assert_eq!(fields["exact_counts"], true);
    for (uri, who) in [
        ("/api/shortage/explain?area=D2&field=1007", &analyst),
        ("/api/shortage?field=0812&by=district", &analyst),
        ("/api/mismatch?chain=finance", &analyst),
        ("/api/shortage/explain?area=D1&field=0812", &recruiter),
    ] {
        let v = json_as(&c.app, uri, Some(who)).await;
        assert_eq!(v["exact_counts"], false, "{uri}");
    }
    // Exact answers are audited; perturbed ones are not.
    let store = talentmap::store::Store::open(&c.data).unwrap();
    let entries = talentmap::auth::audit::list(&store, None, None, 1000).unwrap();
    let exact: Vec<&str> =
        entries.iter().filter(|e| e.outcome.contains("exact_counts")).map(|e| e.action.as_str()).collect();
    assert_eq!(
        exact,
        [
            "GET /api/shortage/explain",
            "GET /api/shortage",
            "GET /api/mismatch",
            "GET /api/shortage/explain",
            "GET /api/mismatch",
            "GET /api/shortage/fields"
        ]
    );
}

#[tokio::test]
async fn hiring_difficulty_ranks_areas_by_long_open_openings_and_days_to_fill() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    // Field 0812: in D1 (E3) 10 openings filled in 20 days and 6 recent open
    // ones; in D2 (E2) 4 openings filled in 60 days and 2 in 120, 8 openings
    // open for 150 days and 2 for 30. A 1007 vacancy filled on 2026-07-01
    // sets the data's date. The tiny city adds, at E1 (D1, P1), 5 openings of
    // 0812 open since 2026-03-01 and 3 filled in 30 days, and 2 of 1007 open
    // at E2.
    let vacancies = "id,enterprise_id,field,education,title,openings,posted,filled
H1,E3,0812,bachelor,none,10,2026-01-01,2026-01-21
H2,E3,0812,bachelor,none,6,2026-06-20,
H3,E2,0812,bachelor,none,2,2026-01-01,2026-05-01
H4,E2,0812,bachelor,none,4,2026-02-01,2026-04-02
H5,E2,0812,bachelor,none,8,2026-02-01,
H6,E2,0812,bachelor,none,2,2026-06-01,
H7,E1,1007,master,none,1,2026-06-01,2026-07-01
";
    import(&mut store, ImportKind::Vacancies, &write(dir.path(), "vacancies.csv", vacancies)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    drop(store);
    let city = serve(dir, snap);

    let v = city.public("/api/shortage/hiring?field=0812").await;
    assert_eq!(
        (v["as_of"].as_str(), v["field"].as_str(), v["by"].as_str()),
        (Some("2026-07-01"), Some("0812"), Some("district"))
    );
    assert_eq!((v["long_open_days"].as_i64(), v["min_openings"].as_u64()), (Some(90), Some(5)));
    let ids: Vec<&str> = v["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["D2", "D1"], "hardest first");
    let d2 = item(&v, "D2");
    assert_eq!((d2["filled_openings"].as_u64(), d2["median_days_to_fill"].as_u64()), (Some(6), Some(60)));
    assert_eq!(
        (d2["open_openings"].as_u64(), d2["open_long"].as_u64(), f(&d2["share_open_long"])),
        (Some(10), Some(8), 0.8)
    );
    let d1 = item(&v, "D1");
    // 13 filled openings (10 in 20 days, 3 in 30); 5 of 11 open openings open long.
    assert_eq!((d1["filled_openings"].as_u64(), d1["median_days_to_fill"].as_u64()), (Some(13), Some(20)));
    assert_eq!((d1["open_long"].as_u64(), f(&d1["share_open_long"])), (Some(5), 0.4545));
    let c = &v["city"];
    assert_eq!((c["filled_openings"].as_u64(), c["median_days_to_fill"].as_u64()), (Some(19), Some(20)));
    assert_eq!(
        (c["open_openings"].as_u64(), c["open_long"].as_u64(), f(&c["share_open_long"])),
        (Some(21), Some(13), 0.619)
    );

    // Every field, by park: P1 (E1) has 3 + 1 filled openings, too few for a median.
    let all = city.public("/api/shortage/hiring?by=park").await;
    let p1 = item(&all, "P1");
    assert_eq!((p1["filled_openings"].as_u64(), p1["median_days_to_fill"].as_u64()), (Some(4), None));
    assert!(all["field"].is_null());

    // Bad parameters are named; CSV is an export (refused to the public role).
    let (status, _, body) = get(&city.app, "/api/shortage/hiring?field=9999").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("field"));
    let (status, _, body) = get(&city.app, "/api/shortage/hiring?by=cell").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = get(&city.app, "/api/shortage/hiring?format=csv").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "sign in to export");
    let (status, ct, body) = get_as(&city.app, "/api/shortage/hiring?field=0812&format=csv", Some(&city.admin)).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(
            "id,name,kind,filled_openings,median_days_to_fill,open_openings,open_long,share_open_long\nD2,"
        ),
        "{text}"
    );
}
