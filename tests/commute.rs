//! Commute and job–housing: indicators computed by hand on a tiny fixture,
//! catchments and heat tiles against brute force, the underserved ranking on
//! a constructed city (and a scenario that fixes its worst park), the
//! disclosure control (exact for an admin; perturbed counts, statistics only
//! for groups of 20, the same number for the same records, heat tiles that
//! do not answer presence below the work-box grid), and 400s for bad
//! parameters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::mvt::decode;
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::analytics::commute::CommuteIndex;
use talentmap::analytics::commute::distance::haversine_km;
use talentmap::analytics::commute::heat::{Selection, WORK_BOX_ZOOM, heat_cells, work_box_keys};
use talentmap::analytics::filter::Filter;
use talentmap::analytics::privacy::{MIN_GROUP, perturb};
use talentmap::api::{AppState, Settings, router};
use talentmap::encode::commute::render_commute;
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot, key_to_lonlat};
use talentmap::spatial::{TileId, lonlat_to_unit, morton};
use talentmap::store::Store;
use tower::ServiceExt;

/// Workplaces and homes of the tiny fixture (the tiny city of
/// `tests/common`: districts D1, D2, park P1 in D1, metro S1 at
/// 117.02, 36.62, bus S2).
const W_A: (f64, f64) = (117.02, 36.621); // in P1, 111 m from S1
const W_B: (f64, f64) = (117.10, 36.70); // D1, far from S1
const W_C: (f64, f64) = (117.30, 36.70); // D2
const H1: (f64, f64) = (117.021, 36.62); // in P1, 89 m from S1
const H2: (f64, f64) = (117.15, 36.75); // D1
const H3: (f64, f64) = (117.35, 36.65); // D2

/// Home, workplace, enterprise and birth year of a fixture talent.
type FixtureTalent = ((f64, f64), Option<(f64, f64)>, &'static str, u16);

/// The fixture's talents, by age this year: young = aged 34 or less (the
/// five-year band edge a filter can name).
fn fixture_talents() -> Vec<FixtureTalent> {
    let born = |age: i32| (talentmap::import::current_year() - age) as u16;
    vec![
        (H1, Some(W_A), "E1", born(31)),
        (H2, Some(W_A), "E1", born(46)),
        (H3, Some(W_A), "E1", born(26)),
        (H2, Some(W_B), "E3", born(36)),
        (H3, Some(W_C), "E2", born(34)),
        (H1, None, "", born(41)),
        (H3, Some(W_C), "E2", born(56)),
    ]
}

fn tiny_fixture() -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    let mut csv = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    for (i, (h, w, e, born)) in fixture_talents().into_iter().enumerate() {
        let work = w.map_or(",".to_string(), |w| format!("{},{}", w.0, w.1));
        csv.push_str(&format!("F{i},{},{},{work},{e},0812,master,none,none,{born},false\n", h.0, h.1));
    }
    import(&mut store, ImportKind::Talents, &write(dir.path(), "talents.csv", &csv)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    (dir, snap)
}

fn app(snap: Snapshot, k: u32) -> axum::Router {
    router(AppState::new(snap, None, Settings { k, ..Settings::default() }))
}

/// An app over the store in `dir` (its data directory known) and an admin
/// key's `Authorization` value.
fn admin_app(dir: &std::path::Path, snap: Snapshot, k: u32) -> (axum::Router, String) {
    let data = dir.join("data");
    let admin = bearer(&Store::open(&data).unwrap(), talentmap::auth::Role::Admin, &[]);
    (router(AppState::new(snap, Some(data), Settings { k, ..Settings::default() })), admin)
}

/// A JSON GET presenting `authorization`.
async fn get_json_as(app: &axum::Router, uri: &str, authorization: &str) -> Value {
    let req = Request::get(uri).header(header::AUTHORIZATION, authorization).body(Body::empty()).unwrap();
    let (status, body) = send(app, req).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Asserts that a published count is 0 or at least `k`.
fn never_small(v: &Value, k: u64, what: &str) {
    let n = v.as_u64().unwrap_or_else(|| panic!("{what}: {v} is not a count"));
    assert!(n == 0 || n >= k, "{what} = {n} is in 1..k-1");
}

/// Every count of a summary: never in 1..k-1.
fn summary_never_small(s: &Value, k: u64) {
    for key in ["workers", "residents", "resident_workers", "young_workers"] {
        never_small(&s[key], k, key);
    }
    never_small(&s["residents_commute"]["count"], k, "residents_commute.count");
    for b in s["histogram"].as_array().unwrap() {
        never_small(&b["count"], k, "histogram band");
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_json(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

async fn post_json(app: &axum::Router, uri: &str, body: &str) -> (StatusCode, Value) {
    post_json_as(app, uri, body, None).await
}

async fn post_json_as(app: &axum::Router, uri: &str, body: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let req = req.body(Body::from(body.to_string()));
    let (status, bytes) = send(app, req.unwrap()).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    haversine_km([a.0, a.1], [b.0, b.1])
}

fn close(got: &Value, want: f64, tol: f64) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{got} is not a number"));
    assert!((g - want).abs() <= tol, "got {g}, want {want}");
}

#[tokio::test]
async fn hand_computed_indicators_of_a_park_and_districts() {
    let (d, snap) = tiny_fixture();
    let (app, admin) = admin_app(d.path(), snap, 5);
    let admin = admin.as_str();

    // P1: workers 1, 2, 3 (all at W_A), residents 1 and 6 (home H1).
    let p1 = get_json_as(&app, "/api/commute/summary?area=P1", admin).await;
    assert_eq!(p1["exact_counts"], true);
    assert_eq!(
        (p1["id"].as_str(), p1["kind"].as_str(), p1["method"].as_str()),
        (Some("P1"), Some("park"), Some("haversine"))
    );
    assert_eq!(p1["workers"], 3);
    assert_eq!(p1["residents"], 2);
    assert_eq!(p1["resident_workers"], 1);
    let (d1, d2, d3) = (km(H1, W_A), km(H2, W_A), km(H3, W_A));
    let tol = 0.01; // positions are stored to about 2 m
    close(&p1["mean_commute_km"], (d1 + d2 + d3) / 3.0, tol);
    close(&p1["median_commute_km"], d2, tol); // d1 < d2 < d3
    assert!(d1 < d2 && d2 < d3);
    close(&p1["share_within_5km"], [d1, d2, d3].iter().filter(|&&d| d <= 5.0).count() as f64 / 3.0, 1e-4);
    close(&p1["share_over_20km"], [d1, d2, d3].iter().filter(|&&d| d > 20.0).count() as f64 / 3.0, 1e-4);
    close(&p1["share_homes_near_rail"], 1.0 / 3.0, 1e-4); // only H1 is within 800 m of S1
    close(&p1["share_jobs_near_rail"], 1.0, 0.0); // W_A is 111 m from S1
    close(&p1["job_housing_ratio"], 3.0, 0.0); // 3 jobs, 1 resident worker
    close(&p1["young_share"], 2.0 / 3.0, 1e-4);
    assert_eq!(p1["young_workers"], 2);
    let bands: u64 = p1["histogram"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(bands, 3, "every worker in one band");
    assert_eq!(p1["histogram"][0]["count"], 1, "H1 → W_A is under 1 km");
    close(&p1["residents_commute"]["median_km"], d1, tol);

    // Districts and the city.
    let all = get_json_as(&app, "/api/commute/districts", admin).await;
    let districts = all["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 2);
    let d1s = districts.iter().find(|d| d["id"] == "D1").unwrap();
    assert_eq!(
        (d1s["workers"].as_u64(), d1s["residents"].as_u64(), d1s["resident_workers"].as_u64()),
        (Some(4), Some(4), Some(3))
    );
    close(&d1s["job_housing_ratio"], 4.0 / 3.0, 1e-4);
    let d2s = districts.iter().find(|d| d["id"] == "D2").unwrap();
    assert_eq!(
        (d2s["workers"].as_u64(), d2s["residents"].as_u64(), d2s["resident_workers"].as_u64()),
        (Some(2), Some(3), Some(3))
    );
    close(&d2s["mean_commute_km"], km(H3, W_C), tol);
    let city = &all["city"];
    assert_eq!((city["workers"].as_u64(), city["residents"].as_u64()), (Some(6), Some(7)));
    close(&city["job_housing_ratio"], 1.0, 0.0);
    let mut all_km = [d1, d2, d3, km(H2, W_B), km(H3, W_C), km(H3, W_C)];
    all_km.sort_by(f64::total_cmp);
    close(&city["median_commute_km"], (all_km[2] + all_km[3]) / 2.0, tol);

    // Filters: only the young (aged 34 or less).
    let young = get_json_as(&app, "/api/commute/summary?area=P1&max_age=34", admin).await;
    assert_eq!(young["workers"], 2);
    close(&young["young_share"], 1.0, 0.0);
    close(&young["median_commute_km"], (d1 + d3) / 2.0, tol);
    assert_eq!(young["filter"], "max_age=34");

    // Flows: D1→D1 3, D2→D1 1, D2→D2 2; parks: D1→P1 2, D2→P1 1.
    let flows = get_json_as(&app, "/api/commute/flows?level=district", admin).await;
    assert_eq!(flows["type"], "FeatureCollection");
    let features = flows["features"].as_array().unwrap();
    assert_eq!(features.len(), 1);
    assert_eq!(
        (features[0]["properties"]["from"].as_str(), features[0]["properties"]["to"].as_str()),
        (Some("D2"), Some("D1"))
    );
    assert_eq!(features[0]["properties"]["count"], 1);
    assert_eq!(features[0]["geometry"]["type"], "LineString");
    let internal: Vec<(String, u64)> = flows["internal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(internal, [("D1".to_string(), 3), ("D2".to_string(), 2)]);
    let parks = get_json_as(&app, "/api/commute/flows?level=park", admin).await;
    let counts: Vec<(String, u64)> = parks["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["from"].as_str().unwrap().to_string(), f["properties"]["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("D1".to_string(), 2), ("D2".to_string(), 1)]);

    // The one park is ranked; its distance to rail is P1's centre to S1.
    let ranking = get_json_as(&app, "/api/commute/underserved", admin).await;
    let items = ranking["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let p = &items[0];
    assert_eq!((p["id"].as_str(), p["workers"].as_u64(), p["young_workers"].as_u64()), (Some("P1"), Some(3), Some(2)));
    assert_eq!(p["enterprises"], 1);
    assert_eq!(p["nearest_station"], "一号站");
    close(&p["nearest_station_m"], km((117.025, 36.625), (117.02, 36.62)) * 1000.0, 1.0);
    close(&p["share_far_from_station"], 0.0, 0.0);
    assert!(p["reason"].as_str().unwrap().contains("3 名") && p["reason_en"].as_str().unwrap().contains("3 people"));
    // score = 100 · S · (0.5 F + 0.25 D + 0.25 C) with S = 1 (the only park), F = 0.
    let want = 100.0 * (0.25 * (p["nearest_station_m"].as_f64().unwrap() / 3000.0) + 0.25 * (d2 / 20.0));
    close(&p["score"], want, 0.02);
}

#[tokio::test]
async fn small_counts_are_perturbed_and_small_groups_not_described() {
    let (_d, snap) = tiny_fixture();
    let app = app(snap, 5);
    let p1 = get_json(&app, "/api/commute/summary?area=P1").await;
    assert_eq!(p1["exact_counts"], false);
    summary_never_small(&p1, 5);
    assert!(p1.get("suppressed").is_none());
    // Three workers: nothing describes them.
    for key in [
        "mean_commute_km",
        "median_commute_km",
        "share_within_5km",
        "share_over_20km",
        "share_homes_near_rail",
        "share_jobs_near_rail",
        "young_share",
    ] {
        assert_eq!(p1[key], Value::Null, "{key}");
    }
    assert_eq!(p1["residents_commute"]["median_km"], Value::Null);
    // The city has 6 workers: published within ±1 (k + 1), not described.
    let all = get_json(&app, "/api/commute/districts").await;
    let city = &all["city"];
    assert!((5..=7).contains(&city["workers"].as_u64().unwrap()), "{city}");
    assert_eq!(city["median_commute_km"], Value::Null);
    for d in all["districts"].as_array().unwrap() {
        summary_never_small(d, 5);
    }
    // Flows are perturbed per flow; flows published as 0 are left out.
    let flows = get_json(&app, "/api/commute/flows").await;
    assert!(flows.get("suppressed_flows").is_none());
    for f in flows["features"].as_array().unwrap() {
        assert!(f["properties"]["count"].as_u64().unwrap() >= 5, "{f}");
    }
    for f in flows["internal"].as_array().unwrap() {
        assert!(f["count"].as_u64().unwrap() >= 5, "{f}");
    }
    let ranking = get_json(&app, "/api/commute/underserved").await;
    for p in ranking["items"].as_array().unwrap() {
        never_small(&p["workers"], 5, "workers");
        never_small(&p["young_workers"], 5, "young");
        assert_eq!(p["median_commute_km"], Value::Null);
    }
    // Heat cells: perturbed counts only, never a `suppressed` marker.
    let tile = morton::tile_of(morton::key(117.2, 36.7), 8);
    let (status, body) = get(&app, &format!("/tiles/commute/{tile}.mvt?work_area=P1")).await;
    assert!(status == StatusCode::OK || status == StatusCode::NO_CONTENT);
    for f in decode(&body).into_iter().flat_map(|l| l.features) {
        assert!(!f.props.contains_key("suppressed"));
        assert!(f.props["count"].as_u64().unwrap() >= 5);
    }
}

/// On a random city, for many filters: every published count is 0 or ≥ k;
/// a district's workers are the same number in `/districts` and in
/// `/summary?area=`; medians and shares appear exactly for groups of at
/// least 20 (the true size read by an admin); the admin's numbers are
/// exact and audited.
#[tokio::test]
async fn the_same_records_give_the_same_numbers_and_small_groups_have_no_median() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), 3000, 17);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    drop(store);
    let (app, admin) = admin_app(dir.path(), snap, 5);
    let (mut described, mut not_described, mut changed) = (0, 0, 0);
    let filters = [
        "",
        "field=0812",
        "field=0202&education=master",
        "field=0812&education=doctorate&tier=E",
        "field=0810&education=bachelor&tier=C",
        "field=1007&education=master&seeking=true",
        "field=0802&education=associate&min_age=50",
    ];
    for filter in filters {
        let districts = get_json(&app, &format!("/api/commute/districts?{filter}")).await;
        let exact = get_json_as(&app, &format!("/api/commute/districts?{filter}"), &admin).await;
        assert_eq!(exact["exact_counts"], true);
        for (d, e) in districts["districts"].as_array().unwrap().iter().zip(exact["districts"].as_array().unwrap()) {
            summary_never_small(d, 5);
            let id = d["id"].as_str().unwrap();
            let one = get_json(&app, &format!("/api/commute/summary?area={id}&{filter}")).await;
            for key in ["workers", "residents", "resident_workers", "young_workers", "histogram"] {
                assert_eq!(one[key], d[key], "{id} {filter}: {key}");
            }
            let workers = e["workers"].as_u64().unwrap();
            changed += (d["workers"] != e["workers"]) as u32;
            let big = workers >= MIN_GROUP;
            assert_eq!(!d["median_commute_km"].is_null(), big, "{id} {filter}: {workers} workers");
            assert_eq!(!d["share_within_5km"].is_null(), big, "{id} {filter}");
            if big { described += 1 } else { not_described += 1 }
        }
        for park in ["P1"] {
            let p = get_json(&app, &format!("/api/commute/summary?area={park}&{filter}")).await;
            let e = get_json_as(&app, &format!("/api/commute/summary?area={park}&{filter}"), &admin).await;
            summary_never_small(&p, 5);
            let big = e["workers"].as_u64().unwrap() >= MIN_GROUP;
            assert_eq!(!p["median_commute_km"].is_null(), big, "{park} {filter}");
            assert_eq!(
                !p["residents_commute"]["median_km"].is_null(),
                e["resident_workers"].as_u64().unwrap() >= MIN_GROUP
            );
        }
    }
    assert!(described > 0 && not_described > 0, "{described} {not_described}");
    assert!(changed > 0, "counts are perturbed");
    // Exact answers are audited; perturbed ones are not.
    let log = get_json_as(&app, "/api/audit?limit=1000", &admin).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"GET /api/commute/districts"), "{actions:?}");
    let summaries = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "GET /api/commute/summary")
        .inspect(|e| assert_eq!(e["outcome"]["exact_counts"], true))
        .count();
    assert_eq!(summaries, filters.len(), "one per admin summary");
}

/// Tiles of zoom `z` covering the tiny city's box.
fn covering(z: u8) -> Vec<TileId> {
    let n = (1u64 << z) as f64;
    let (x0, y0) = lonlat_to_unit(116.99, 36.81);
    let (x1, y1) = lonlat_to_unit(117.41, 36.59);
    let mut out = Vec::new();
    for y in (y0 * n) as u32..=(y1 * n) as u32 {
        for x in (x0 * n) as u32..=(x1 * n) as u32 {
            out.push(TileId { z, x, y });
        }
    }
    out
}

/// Sum of the true counts over the commute cells of all covering tiles at
/// `z`; checks on the way that each rendered tile holds exactly the cells
/// whose perturbed count is positive, with that count.
fn heat_total(snap: &Snapshot, index: &CommuteIndex, sel: Selection, z: u8, filter: &Filter) -> u64 {
    let k = 5;
    let mut total = 0;
    for t in covering(z) {
        let cells = heat_cells(snap, index, &sel, t, filter);
        total += cells.iter().map(|c| c.count.n).sum::<u64>();
        let want: Vec<(u64, u64)> =
            cells.iter().map(|c| (c.id, perturb(c.count.n, c.count.key, k))).filter(|&(_, n)| n > 0).collect();
        let got: Vec<(u64, u64)> = decode(&render_commute(snap, index, &sel, t, filter, k))
            .into_iter()
            .flat_map(|l| l.features)
            .map(|f| (f.id.unwrap(), f.props["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, want, "{t}");
    }
    total
}

#[test]
fn heat_cells_and_catchments_equal_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), 4000, 11);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let index = CommuteIndex::build(&snap);
    let (d1, p1, d2) = (snap.region("D1").unwrap(), snap.region("P1").unwrap(), snap.region("D2").unwrap());
    let e2 = snap.enterprise("E2").unwrap();
    let q = [("field".to_string(), "0812".to_string())].into();
    let field = Filter::parse(&q, &snap.taxonomy, snap.reference_year).unwrap();
    let bbox = [117.09, 36.69, 117.31, 36.71];
    // The box widened to whole zoom-15 tiles.
    let [c0, r0, c1, r1] = work_box_keys(bbox);
    let in_bbox = |k: u64| {
        let (c, r) = morton::deinterleave(k);
        (c0..=c1).contains(&c) && (r0..=r1).contains(&r)
    };
    let [lon0, lat0] = key_to_lonlat(morton::interleave(c0, r1));
    let [lon1, lat1] = key_to_lonlat(morton::interleave(c1, r0));
    assert!(lon0 <= bbox[0] && lat0 <= bbox[1] && lon1 >= bbox[2] && lat1 >= bbox[3], "widened, not narrowed");
    assert!(lon1 - lon0 < bbox[2] - bbox[0] + 0.03, "by at most a tile on each side");
    for filter in [Filter::default(), field] {
        let matching = |pred: &dyn Fn(&talentmap::snapshot::TalentRec) -> bool| {
            snap.talents.iter().filter(|t| filter.talent(t) && pred(t)).count() as u64
        };
        for z in [6u8, 9, 12] {
            let work_d1 = matching(&|t| t.has_work() && (t.work_district == d1 || t.work_park == d1));
            assert_eq!(heat_total(&snap, &index, Selection::WorkArea(d1), z, &filter), work_d1, "work_area D1 z{z}");
            let work_p1 = matching(&|t| t.has_work() && t.work_park == p1);
            assert_eq!(heat_total(&snap, &index, Selection::WorkArea(p1), z, &filter), work_p1, "work_area P1 z{z}");
            let home_d2 = matching(&|t| t.has_work() && t.home_district == d2);
            assert_eq!(heat_total(&snap, &index, Selection::HomeArea(d2), z, &filter), home_d2, "home_area D2 z{z}");
            let of_e2 = matching(&|t| t.enterprise == e2);
            assert_eq!(heat_total(&snap, &index, Selection::Enterprise(e2), z, &filter), of_e2, "enterprise E2 z{z}");
            let boxed = matching(&|t| t.has_work() && in_bbox(t.work));
            assert!(boxed > 0);
            assert_eq!(heat_total(&snap, &index, Selection::WorkBox(bbox), z, &filter), boxed, "work_bbox z{z}");
        }
    }
    // Catchments: within 800 m of the metro station S1 (S2 is a bus stop).
    let s1 = [117.02, 36.62];
    let mut near = 0;
    for (i, t) in snap.talents.iter().enumerate() {
        let home = haversine_km(key_to_lonlat(t.home), s1) * 1000.0 <= 800.0;
        assert_eq!(index.home_near_rail(i), home, "home of talent {i}");
        let work = t.has_work() && haversine_km(key_to_lonlat(t.work), s1) * 1000.0 <= 800.0;
        assert_eq!(index.work_near_rail(i), work, "work of talent {i}");
        near += home as u64 + work as u64;
        if let Some(km) = index.commute_km(i) {
            let want = haversine_km(key_to_lonlat(t.home), key_to_lonlat(t.work));
            assert!((km as f64 - want).abs() < 1e-3, "commute of talent {i}");
        }
    }
    assert!(near > 0, "some homes lie near S1");
    // Nearest rail station: only S1 is rail.
    for p in [[117.3, 36.7], [117.0, 36.6], [117.02, 36.62]] {
        let (id, m) = index.nearest_rail(p).unwrap();
        assert_eq!(snap.stations[id as usize].id, "S1");
        assert!((m - haversine_km(p, s1) * 1000.0).abs() < 1e-6);
    }
}

/// A city with three parks: PA has many young workers and no rail station
/// (only a bus stop); PB and PC each have a metro station at their centre
/// but older workforces with longer commutes.
fn constructed_city() -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut store = Store::open(&d.join("data")).unwrap();
    let square = |id: &str, kind: &str, x: f64, y: f64, s: f64| {
        format!(
            r#"{{"type":"Feature","properties":{{"id":"{id}","name":"{id}","kind":"{kind}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x2},{y}],[{x2},{y2}],[{x},{y2}],[{x},{y}]]]}}}}"#,
            x2 = x + s,
            y2 = y + s
        )
    };
    let regions = format!(
        r#"{{"type":"FeatureCollection","features":[{},{},{},{}]}}"#,
        square("D0", "district", 116.8, 36.5, 0.8),
        square("PA", "park", 117.40, 36.80, 0.04),
        square("PB", "park", 117.00, 36.60, 0.04),
        square("PC", "park", 117.20, 36.60, 0.04),
    );
    import(&mut store, ImportKind::Regions, &write(d, "regions.geojson", &regions)).unwrap();
    let enterprises = "id,name,lon,lat,industry,employees,key\nEA,甲,117.42,36.82,39,300,false\nEB,乙,117.02,36.62,39,200,false\nEC,丙,117.22,36.62,39,150,false\n";
    import(&mut store, ImportKind::Enterprises, &write(d, "enterprises.csv", enterprises)).unwrap();
    let stations = "id,name,lon,lat,mode\nSA,甲园公交站,117.42,36.826,bus\nSB,乙园地铁站,117.02,36.62,metro\nSC,丙园地铁站,117.22,36.62,metro\n";
    import(&mut store, ImportKind::Stations, &write(d, "stations.csv", stations)).unwrap();
    let mut csv = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    let mut rng = Rng(5);
    let mut add = |prefix: &str, n: usize, ent: &str, work: (f64, f64), home: (f64, f64), young_every: usize| {
        for i in 0..n {
            let j = |r: &mut Rng| (r.unit() - 0.5) * 0.004; // about ±180 m
            let born = if i % young_every == 0 { 1975 } else { 1998 };
            csv.push_str(&format!(
                "{prefix}{i},{:.6},{:.6},{:.6},{:.6},{ent},0812,bachelor,none,none,{born},false\n",
                home.0 + j(&mut rng),
                home.1 + j(&mut rng),
                work.0 + j(&mut rng),
                work.1 + j(&mut rng),
            ));
        }
    };
    add("A", 300, "EA", (117.42, 36.82), (117.33, 36.82), 10); // 8 km commutes, 90 % young
    add("B", 200, "EB", (117.02, 36.62), (117.19, 36.62), 1); // 15 km, none young
    add("C", 150, "EC", (117.22, 36.62), (117.05, 36.62), 1);
    import(&mut store, ImportKind::Talents, &write(d, "talents.csv", &csv)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    (dir, snap)
}

#[tokio::test]
async fn the_park_transit_fails_ranks_first_until_a_station_is_added_beside_it() {
    let (d, snap) = constructed_city();
    let (app, admin) = admin_app(d.path(), snap, 5);
    // Perturbed counts rank PA first too.
    let public = get_json(&app, "/api/commute/underserved").await;
    assert_eq!(public["items"][0]["id"], "PA", "{public}");
    assert!(public["items"][0]["workers"].as_u64().unwrap().abs_diff(300) <= 3);
    let ranking = get_json_as(&app, "/api/commute/underserved", &admin).await;
    let items = ranking["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "PA", "{ranking}");
    assert_eq!(ids.len(), 3);
    let pa = &items[0];
    assert_eq!(
        (pa["workers"].as_u64(), pa["young_workers"].as_u64(), pa["enterprises"].as_u64()),
        (Some(300), Some(270), Some(1))
    );
    close(&pa["share_far_from_station"], 1.0, 0.0);
    assert!(pa["nearest_station_m"].as_f64().unwrap() > 20_000.0, "the nearest metro is in another park");
    close(&pa["median_commute_km"], km((117.33, 36.82), (117.42, 36.82)), 0.3);
    assert!(items[1]["score"].as_f64().unwrap() < pa["score"].as_f64().unwrap() / 2.0);
    assert_eq!(get_json(&app, "/api/commute/underserved?limit=1").await["items"].as_array().unwrap().len(), 1);

    // A shuttle stop beside PA's enterprise.
    let (status, out) = post_json_as(
        &app,
        "/api/commute/scenario",
        r#"{"stations": [{"lon": 117.421, "lat": 36.821, "name": "甲园接驳站"}], "area": "PA"}"#,
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let after = out["underserved"]["items"].as_array().unwrap();
    let pa_after = after.iter().find(|i| i["id"] == "PA").unwrap();
    assert!(pa_after["rank"].as_u64().unwrap() > 1, "PA moved down: {out}");
    assert_eq!(pa_after["rank_before"], 1);
    assert!(pa_after["score"].as_f64().unwrap() < pa_after["score_before"].as_f64().unwrap());
    assert_eq!(pa_after["nearest_station"], "甲园接驳站");
    assert_eq!(pa_after["nearest_station_hypothetical"], true);
    close(&pa_after["share_far_from_station"], 0.0, 0.0);
    close(&out["area"]["share_jobs_near_rail"], 1.0, 0.0);
    assert_eq!(out["newly_served_jobs"], 300);
    assert_eq!(out["newly_served_homes"], 0, "homes are 8 km away");
    // Nothing was persisted.
    let again = get_json(&app, "/api/commute/underserved").await;
    assert_eq!(again["items"][0]["id"], "PA");
    let pa_summary = get_json(&app, "/api/commute/summary?area=PA").await;
    close(&pa_summary["share_jobs_near_rail"], 0.0, 0.0);

    // A stop with a 100 m radius 500 m away serves nobody.
    let (_, small) =
        post_json(&app, "/api/commute/scenario", r#"{"stops": [{"lon": 117.42, "lat": 36.8255, "radius_m": 100}]}"#)
            .await;
    assert_eq!(small["newly_served_jobs"], 0);
    assert_eq!(small["underserved"]["items"][0]["id"], "PA");
}

#[tokio::test]
async fn commute_tiles_and_tilejson() {
    let (_d, snap) = tiny_fixture();
    // With k = 1 a cell of one talent is published as 1: the fixture's
    // cells hold one talent each at zoom 6.
    let app = app(snap, 1);
    let tile = morton::tile_of(morton::key(117.2, 36.7), 6);
    let (status, body) = get(&app, &format!("/tiles/commute/{tile}.mvt?work_area=P1")).await;
    assert_eq!(status, StatusCode::OK);
    let layers = decode(&body);
    assert_eq!(layers[0].name, "commute");
    let total: u64 = layers[0].features.iter().map(|f| f.props["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 3, "homes of P1's three workers");
    let (_, body) = get(&app, &format!("/tiles/commute/{tile}.mvt?home_area=D2")).await;
    let total: u64 = decode(&body)[0].features.iter().map(|f| f.props["count"].as_u64().unwrap()).sum();
    assert!((2..=4).contains(&total), "workplaces of D2's three resident workers, two in one cell: {total}");
    let (_, body) = get(&app, &format!("/tiles/commute/{tile}.mvt?enterprise=E1")).await;
    assert_eq!(decode(&body)[0].features.iter().map(|f| f.props["count"].as_u64().unwrap()).sum::<u64>(), 3);
    let (_, body) = get(&app, &format!("/tiles/commute/{tile}.mvt?work_bbox=117.09,36.69,117.11,36.71")).await;
    assert_eq!(decode(&body)[0].features.iter().map(|f| f.props["count"].as_u64().unwrap()).sum::<u64>(), 1);
    // A tile far away is empty.
    let (status, _) = get(&app, "/tiles/commute/6/0/0.mvt?work_area=P1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // ETags answer 304.
    let resp = app
        .clone()
        .oneshot(Request::get(format!("/tiles/commute/{tile}.mvt?work_area=P1")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_string();
    let req = Request::get(format!("/tiles/commute/{tile}.mvt?work_area=P1")).header(header::IF_NONE_MATCH, &etag);
    assert_eq!(send(&app, req.body(Body::empty()).unwrap()).await.0, StatusCode::NOT_MODIFIED);

    let tj = get_json(&app, "/tiles/commute.json?work_area=P1&education=master").await;
    assert_eq!(tj["vector_layers"][0]["id"], "commute");
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/commute/{z}/{x}/{y}.mvt?work_area=P1&education=master"));
    // The generic layers still answer.
    assert_eq!(get(&app, "/tiles/talents.json").await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_parameters_get_400_naming_them_and_unknown_ids_404() {
    let (_d, snap) = tiny_fixture();
    let app = app(snap, 5);
    let cases: &[(&str, &str)] = &[
        ("/tiles/commute/8/0/0.mvt", "work_area|work_bbox|enterprise|home_area"),
        ("/tiles/commute/8/0/0.mvt?work_area=P1&home_area=D1", "work_area|work_bbox|enterprise|home_area"),
        ("/tiles/commute/8/0/0.mvt?work_bbox=1,2,3", "work_bbox"),
        ("/tiles/commute/8/0/0.mvt?work_bbox=117.2,36.6,117.0,36.8", "work_bbox"),
        ("/tiles/commute/23/0/0.mvt?work_area=P1", "z"),
        ("/tiles/commute/8/0/0.mvt?work_area=P1&colour=red", "colour"),
        ("/tiles/commute/8/0/0.mvt?work_area=P1&education=phd", "education"),
        ("/tiles/commute.json", "work_area|work_bbox|enterprise|home_area"),
        ("/api/commute/summary", "area"),
        ("/api/commute/summary?area=P1&min_age=x", "min_age"),
        ("/api/commute/summary?area=P1&radius=3", "radius"),
        ("/api/commute/flows?level=street", "level"),
        ("/api/commute/underserved?limit=0", "limit"),
        ("/api/commute/underserved?limit=abc", "limit"),
        ("/api/commute/districts?field=9999", "field"),
    ];
    for (uri, param) in cases {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["parameter"], *param, "{uri}: {v}");
    }
    for uri in [
        "/api/commute/summary?area=NOPE",
        "/tiles/commute/8/0/0.mvt?work_area=NOPE",
        "/tiles/commute/8/0/0.mvt?enterprise=NOPE",
    ] {
        assert_eq!(get(&app, uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    let bodies: &[(&str, &str)] = &[
        (r#"{"stations": []}"#, "stations"),
        (r#"{"stations": [{"lon": 117.0, "lat": 36.6}, {"lon": 117.0, "lat": 95}]}"#, "stations[1].lat"),
        (r#"{"stations": [{"lat": 36.6}]}"#, "stations[0].lon"),
        (r#"{"stops": [{"lon": 117.0, "lat": 36.6, "radius_m": 0}]}"#, "stops[0].radius_m"),
        (r#"{"stops": [{"lon": 117.0, "lat": 36.6, "radius_m": 9000}]}"#, "stops[0].radius_m"),
        (r#"{"stations": [{"lon": 117.0, "lat": 36.6, "colour": 1}]}"#, "stations[0].colour"),
        (r#"{"stations": {"lon": 117.0}}"#, "stations"),
        (r#"{"stations": [{"lon": 117.0, "lat": 36.6}], "limit": 0}"#, "limit"),
        (r#"{"stations": [{"lon": 117.0, "lat": 36.6}], "when": 1}"#, "when"),
    ];
    for (body, param) in bodies {
        let (status, v) = post_json(&app, "/api/commute/scenario", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(v["error"]["parameter"], *param, "{body}: {v}");
    }
    let (status, v) = post_json(&app, "/api/commute/scenario", "not json").await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, _) =
        post_json(&app, "/api/commute/scenario", r#"{"stations": [{"lon": 117.0, "lat": 36.6}], "area": "NOPE"}"#)
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A GET's status, headers and body.
async fn get_full(app: &axum::Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// The presence oracle: a `work_bbox` holding one person's workplace, on
/// the tile of their home, against a box holding nobody. A cell of one
/// person is published as 0 or k by its cell key, so most one-person
/// answers are the very same 204 as the empty box's; those published as k
/// cannot be narrowed below one zoom-15 tile: every box inside the same
/// tiles answers the same.
#[tokio::test]
async fn one_person_work_boxes_answer_like_empty_ones_or_no_finer_than_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    let mut csv = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    let mut rng = Rng(99);
    let mut people = Vec::new();
    for i in 0..128 {
        // Workplaces 0.025° apart, so a small box widened to whole
        // zoom-15 tiles (about 0.011°) holds one of them.
        let work = (117.005 + (i % 16) as f64 * 0.025, 36.605 + (i / 16) as f64 * 0.025);
        let home = (117.0 + rng.unit() * 0.4, 36.6 + rng.unit() * 0.2);
        csv.push_str(&format!(
            "Q{i},{:.6},{:.6},{:.6},{:.6},,0812,master,none,none,1990,false\n",
            home.0, home.1, work.0, work.1
        ));
        people.push((home, work));
    }
    import(&mut store, ImportKind::Talents, &write(dir.path(), "talents.csv", &csv)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let app = app(snap, 5);
    let bbox = |w: f64, s: f64, e: f64, n: f64| format!("{w:.7},{s:.7},{e:.7},{n:.7}");
    let (mut shown, mut hidden) = (0, 0);
    for &(home, work) in &people {
        let tile = morton::tile_of(morton::key(home.0, home.1), 12);
        let d = 0.0005;
        let one = bbox(work.0 - d, work.1 - d, work.0 + d, work.1 + d);
        let none = bbox(work.0 + 0.0125 - d, work.1 - d, work.0 + 0.0125 + d, work.1 + d);
        let (s1, h1, b1) = get_full(&app, &format!("/tiles/commute/{tile}.mvt?work_bbox={one}")).await;
        let (s0, h0, b0) = get_full(&app, &format!("/tiles/commute/{tile}.mvt?work_bbox={none}")).await;
        assert_eq!((s0, b0.len()), (StatusCode::NO_CONTENT, 0), "nobody works there");
        if s1 == StatusCode::NO_CONTENT {
            hidden += 1;
            assert!(b1.is_empty());
            let names = |h: &axum::http::HeaderMap| h.keys().map(|k| k.as_str().to_string()).collect::<Vec<_>>();
            assert_eq!(names(&h1), names(&h0), "the same headers");
            assert_eq!(h1.get(header::CACHE_CONTROL), h0.get(header::CACHE_CONTROL));
            continue;
        }
        shown += 1;
        assert_eq!(s1, StatusCode::OK);
        let counts: Vec<u64> =
            decode(&b1).into_iter().flat_map(|l| l.features).map(|f| f.props["count"].as_u64().unwrap()).collect();
        assert_eq!(counts, [5], "one person is published as k");
        // Bisection stops at the grid: the two halves of the workplace's
        // zoom-15 tile answer the same as the small box.
        let [c0, r0, c1, r1] = work_box_keys([work.0 - d, work.1 - d, work.0 + d, work.1 + d]);
        let grid = morton::tile_of(morton::key(work.0, work.1), WORK_BOX_ZOOM);
        let [west, north] = key_to_lonlat(morton::tile_range(grid).start);
        let inset = 1e-5;
        let (west, north) = (west + inset, north - inset);
        let size = 360.0 / f64::from(1u32 << WORK_BOX_ZOOM);
        let (east, south) = (west + size - 3.0 * inset, north - size * 0.7);
        let mid = (west + east) / 2.0;
        for half in [[west, south, mid, north], [mid, south, east, north]] {
            let keys = work_box_keys(half);
            assert!(keys[0] >= c0 && keys[2] <= c1 && keys[1] >= r0 && keys[3] <= r1, "inside the widened box");
            let uri = format!("/tiles/commute/{tile}.mvt?work_bbox={}", bbox(half[0], half[1], half[2], half[3]));
            let (s, _, b) = get_full(&app, &uri).await;
            assert_eq!((s, b), (s1, b1.clone()), "{uri}");
        }
    }
    println!(
        "presence oracle: {shown} of {} one-person boxes answer 200, {hidden} answer 204 like an empty box",
        shown + hidden
    );
    assert!(hidden > shown, "most single people are published as 0");
    assert!(shown > 0, "the data must exercise a published single person");
}

/// A district's workers minus its other published inflows would be the
/// remaining inflow. Each flow is its own tally, so the difference is
/// noisy: the share of small flows (1..4) recovered exactly stays low.
#[tokio::test]
async fn workers_minus_published_inflows_do_not_reveal_small_flows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), 3000, 23);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    drop(store);
    let (app, admin) = admin_app(dir.path(), snap, 5);
    // Flows into each district: origin → count.
    let inflows = |flows: &Value| -> Vec<(String, String, u64)> {
        let mut out: Vec<(String, String, u64)> = flows["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = &f["properties"];
                (
                    p["from"].as_str().unwrap().to_string(),
                    p["to"].as_str().unwrap().to_string(),
                    p["count"].as_u64().unwrap(),
                )
            })
            .collect();
        for i in flows["internal"].as_array().unwrap() {
            let id = i["id"].as_str().unwrap().to_string();
            out.push((id.clone(), id, i["count"].as_u64().unwrap()));
        }
        out
    };
    let (mut small, mut recovered) = (0u32, 0u32);
    for field in FIELDS {
        for education in EDUCATION {
            for (tier, seeking) in TIERS.iter().flat_map(|t| [(t, "true"), (t, "false")]) {
                let filter = format!("field={field}&education={education}&tier={tier}&seeking={seeking}");
                let public = get_json(&app, &format!("/api/commute/districts?{filter}")).await;
                let exact = get_json_as(&app, &format!("/api/commute/districts?{filter}"), &admin).await;
                let pub_flows = inflows(&get_json(&app, &format!("/api/commute/flows?{filter}")).await);
                let true_flows = inflows(&get_json_as(&app, &format!("/api/commute/flows?{filter}"), &admin).await);
                for (p, e) in public["districts"].as_array().unwrap().iter().zip(exact["districts"].as_array().unwrap())
                {
                    let id = e["id"].as_str().unwrap();
                    let into: Vec<&(String, String, u64)> = true_flows.iter().filter(|f| f.1 == id).collect();
                    if into.iter().map(|f| f.2).sum::<u64>() != e["workers"].as_u64().unwrap() {
                        continue; // some workers live outside every district
                    }
                    for target in &into {
                        if !(1..5).contains(&target.2) {
                            continue;
                        }
                        small += 1;
                        let others: u64 = pub_flows.iter().filter(|f| f.1 == id && f.0 != target.0).map(|f| f.2).sum();
                        let guess = p["workers"].as_u64().unwrap() as i64 - others as i64;
                        recovered += (guess == target.2 as i64) as u32;
                    }
                }
            }
        }
    }
    let share = f64::from(recovered) / f64::from(small.max(1));
    println!("inflow attack: {recovered} of {small} small flows recovered exactly ({:.1} %)", share * 100.0);
    assert!(small >= 50, "the data must exercise the attack: {small}");
    assert!(share <= 0.25, "{recovered} of {small}");
}
