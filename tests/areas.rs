//! Study areas: kept by their maker, read by link, checked on the way in;
//! profiles of study areas against hand counts and against the park they
//! trace; comparisons; exports; who gets exact counts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talentmap::api::{AppState, Settings, router};
use talentmap::auth::Role;
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use tower::ServiceExt;

/// Talents of the tiny city: all live at 36.62 N between 117.010 and 117.019
/// E (in the park P1) and work at E1 (117.01, 36.61).
const N: usize = 40;

struct City {
    _dir: tempfile::TempDir,
    state: AppState,
    admin: String,
    recruiter: String,
    other: String,
    analyst_d1: String,
    feeder: String,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let store = tiny_city(dir.path(), N);
    let mut store = store;
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let keys = (
        bearer(&store, Role::Admin, &[]),
        bearer(&store, Role::Recruiter, &[]),
        bearer(&store, Role::Recruiter, &[]),
        bearer(&store, Role::Analyst, &["D1"]),
        bearer(&store, Role::Feeder, &[]),
    );
    let state = AppState::new(snap, Some(dir.path().join("data")), Settings::default());
    City { _dir: dir, state, admin: keys.0, recruiter: keys.1, other: keys.2, analyst_d1: keys.3, feeder: keys.4 }
}

async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = router(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn json_of(
    state: &AppState,
    method: Method,
    uri: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (s, b) = call(state, method, uri, auth, body).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn polygon(name: &str, ring: &[[f64; 2]]) -> Value {
    json!({"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
}

/// The park P1's outline as a drawn polygon.
fn p1_outline() -> Value {
    polygon("软件园画框", &[[117.0, 36.6], [117.05, 36.6], [117.05, 36.65], [117.0, 36.65], [117.0, 36.6]])
}

async fn keep(c: &City, auth: &str, feature: Value) -> String {
    let (status, v) = json_of(&c.state, Method::POST, "/api/areas", Some(auth), Some(feature)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn headline(v: &Value, key: &str) -> u64 {
    v["headline"][key].as_u64().unwrap_or_else(|| panic!("no headline {key} in {v:#}"))
}

fn table<'a>(v: &'a Value, id: &str) -> &'a Vec<Value> {
    v["tables"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["rows"].as_array().unwrap()
}

#[tokio::test]
async fn areas_belong_to_their_maker_and_are_read_by_link() {
    let c = city();
    let s = &c.state;
    // No credentials, or the feeder: no keeping.
    let (status, _) = json_of(s, Method::POST, "/api/areas", None, Some(p1_outline())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = json_of(s, Method::POST, "/api/areas", Some(&c.feeder), Some(p1_outline())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, v) = json_of(s, Method::POST, "/api/areas", Some(&c.recruiter), Some(p1_outline())).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sa_") && id.len() == 35, "{id}");
    assert_eq!((v["properties"]["kind"].as_str(), v["properties"]["mine"].as_bool()), (Some("polygon"), Some(true)));
    let km2 = v["properties"]["km2"].as_f64().unwrap();
    assert!((24.0..26.0).contains(&km2), "0.05° × 0.05° at 36.6° N is about 24.8 km²: {km2}");
    // Level-17 cells of ~245 m: about 24.8 / 0.06 of them.
    let cells = v["properties"]["cells"].as_u64().unwrap();
    assert!((350..460).contains(&cells), "{cells}");

    // The same square drawn clockwise: the same area, wound as RFC 7946 says.
    let clockwise = polygon("顺时针", &[[117.0, 36.6], [117.0, 36.65], [117.05, 36.65], [117.05, 36.6], [117.0, 36.6]]);
    let (status, cw) = json_of(s, Method::POST, "/api/areas", Some(&c.recruiter), Some(clockwise)).await;
    assert_eq!(status, StatusCode::CREATED, "{cw}");
    assert_eq!(cw["properties"]["km2"], v["properties"]["km2"]);
    assert_eq!(cw["properties"]["cells"], v["properties"]["cells"]);
    let ring = cw["geometry"]["coordinates"][0][0].as_array().unwrap();
    let signed: f64 = ring
        .windows(2)
        .map(|w| {
            w[0][0].as_f64().unwrap() * w[1][1].as_f64().unwrap()
                - w[1][0].as_f64().unwrap() * w[0][1].as_f64().unwrap()
        })
        .sum();
    assert!(signed > 0.0, "the shell is stored counter-clockwise");
    let (status, _) =
        call(s, Method::DELETE, &format!("/api/areas/{}", cw["id"].as_str().unwrap()), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let circle = json!({"type": "Feature", "properties": {"name": "站点周边", "radius_m": 800},
                        "geometry": {"type": "Point", "coordinates": [117.02, 36.62]}});
    let circle_id = keep(&c, &c.recruiter, circle).await;
    let other_id = keep(&c, &c.other, p1_outline()).await;

    // The list holds one's own, newest first.
    let (status, list) = json_of(s, Method::GET, "/api/areas", Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&id.as_str()) && ids.contains(&circle_id.as_str()) && !ids.contains(&other_id.as_str()));
    let (status, _) = json_of(s, Method::GET, "/api/areas", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Anyone with the link reads it, as a Feature; `mine` only for the maker.
    let (status, one) = json_of(s, Method::GET, &format!("/api/areas/{circle_id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((one["type"].as_str(), one["geometry"]["type"].as_str()), (Some("Feature"), Some("MultiPolygon")));
    assert_eq!(one["properties"]["mine"], false);
    assert_eq!(one["properties"]["drawn"]["distance_m"], 800.0);
    let km2 = one["properties"]["km2"].as_f64().unwrap();
    assert!((km2 - std::f64::consts::PI * 0.64).abs() < 0.02, "a circle of 800 m is 2.01 km²: {km2}");
    let (status, _) = json_of(s, Method::GET, "/api/areas/sa_00000000000000000000000000000000", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only the maker or an admin deletes.
    let (status, _) = call(s, Method::DELETE, &format!("/api/areas/{id}"), Some(&c.other), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(s, Method::DELETE, &format!("/api/areas/{id}"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(s, Method::GET, &format!("/api/areas/{id}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(s, Method::DELETE, &format!("/api/areas/{other_id}"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Keeping and deleting are in the audit log; the data version is unchanged.
    let (_, audit) = json_of(s, Method::GET, "/api/audit?limit=100", Some(&c.admin), None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "POST /api/areas").count(), 4, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "DELETE /api/areas/{id}").count(), 3, "{actions:?}");
    assert_eq!(s.snapshot().version, s.refresh().unwrap().unwrap_or(s.snapshot().version));
}

#[tokio::test]
async fn bad_shapes_are_refused_naming_the_part() {
    let c = city();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            polygon("x", &[[200.0, 36.6], [117.05, 36.6], [117.05, 36.65], [200.0, 36.6]]),
            "geometry.coordinates[0][0]",
            "longitude 200",
        ),
        (
            polygon("x", &[[117.0, 36.6], [117.05, 36.6], [117.05, 36.65], [117.0, 36.66]]),
            "geometry.coordinates[0]",
            "not closed",
        ),
        (polygon("x", &[[117.0, 36.6], [117.05, 36.6], [117.0, 36.6]]), "geometry.coordinates[0]", "at least 4"),
        // A bow tie crosses itself.
        (
            polygon("x", &[[117.0, 36.6], [117.05, 36.65], [117.05, 36.6], [117.0, 36.65], [117.0, 36.6]]),
            "geometry",
            "not a valid polygon",
        ),
        (polygon("", &[[117.0, 36.6], [117.05, 36.6], [117.05, 36.65], [117.0, 36.6]]), "properties.name", "required"),
        (polygon("far", &[[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.0]]), "geometry", "outside the city"),
        (
            json!({"type": "Feature", "properties": {"name": "c", "radius_m": 10},
                "geometry": {"type": "Point", "coordinates": [117.02, 36.62]}}),
            "properties.radius_m",
            "outside 50",
        ),
        (
            json!({"type": "Feature", "properties": {"name": "c"},
                "geometry": {"type": "Point", "coordinates": [117.02, 36.62]}}),
            "properties.radius_m",
            "required",
        ),
        (
            json!({"type": "Feature", "properties": {"name": "l", "radius_m": 100},
                "geometry": {"type": "LineString", "coordinates": [[117.0, 36.6], [117.1, 36.6]]}}),
            "properties.radius_m",
            "not taken",
        ),
        (
            json!({"type": "Feature", "properties": {"name": "m"},
                "geometry": {"type": "MultiPoint", "coordinates": [[117.0, 36.6]]}}),
            "geometry.type",
            "accepted",
        ),
        (
            json!({"type": "FeatureCollection", "properties": {"name": "m"},
                "geometry": {"type": "Point", "coordinates": [117.0, 36.6]}}),
            "type",
            "Feature",
        ),
        (
            json!({"type": "Feature", "properties": {"name": "m", "colour": "red"},
                "geometry": {"type": "Point", "coordinates": [117.0, 36.6]}}),
            "properties.colour",
            "unknown field",
        ),
    ];
    for (body, param, words) in cases {
        let (status, v) = json_of(&c.state, Method::POST, "/api/areas", Some(&c.recruiter), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {v}");
        let detail = &v["error"];
        let text = detail.to_string();
        assert!(text.contains(param) && text.contains(words), "{body}: expected {param} / {words} in {text}");
    }
    // Nothing was kept.
    let (_, list) = json_of(&c.state, Method::GET, "/api/areas", Some(&c.recruiter), None).await;
    assert_eq!(list["features"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_drawn_park_outline_profiles_like_the_park() {
    let c = city();
    let s = &c.state;
    let id = keep(&c, &c.recruiter, p1_outline()).await;
    let (status, drawn) = json_of(s, Method::GET, &format!("/api/areas/{id}/profile"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    let (status, park) = json_of(s, Method::GET, "/api/areas/P1/profile", Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    assert_eq!((drawn["area"]["kind"].as_str(), park["area"]["kind"].as_str()), (Some("study"), Some("park")));
    assert_eq!((drawn["exact_counts"].as_bool(), park["exact_counts"].as_bool()), (Some(true), Some(true)));
    for key in ["residents", "seekers", "workers", "enterprises", "key_enterprises", "employees", "openings"] {
        assert_eq!(headline(&drawn, key), headline(&park, key), "{key}");
    }
    // Hand counts: 40 seeking residents working at E1 (the key enterprise,
    // 120 employees), V1's 5 openings open (V2 is filled).
    assert_eq!((headline(&drawn, "residents"), headline(&drawn, "seekers"), headline(&drawn, "workers")), (40, 40, 40));
    assert_eq!(
        (headline(&drawn, "enterprises"), headline(&drawn, "key_enterprises"), headline(&drawn, "openings")),
        (1, 1, 5)
    );
    assert_eq!(drawn["key_enterprises"][0]["id"], "E1");
    assert_eq!(
        table(&drawn, "talents_by_field"),
        &vec![
            json!({"key": "0812", "name_zh": table(&drawn, "talents_by_field")[0]["name_zh"], "name_en": table(&drawn, "talents_by_field")[0]["name_en"], "value": 40})
        ]
    );
    let age = table(&drawn, "talents_by_age");
    let year = drawn["reference_year"].as_u64().unwrap();
    let band = ((year - 1995) / 5 * 5).to_string();
    let row = age.iter().find(|r| r["key"].as_str().unwrap().starts_with(&band)).unwrap();
    assert_eq!(row["value"], 40, "born 1995: {age:?}");
    assert_eq!(table(&drawn, "openings_by_field")[0]["value"], 5);
    // Distance/direction: every worker lives 1.1 km north (and up to 0.8 km
    // east) of E1; every resident works that far south.
    let dd = &drawn["distance_direction"];
    let workers: u64 = dd["workers"][0][0].as_u64().unwrap() + dd["workers"][0][1].as_u64().unwrap();
    assert_eq!(workers, 40, "{dd}");
    let residents: u64 = dd["residents"][0][4].as_u64().unwrap() + dd["residents"][0][5].as_u64().unwrap();
    assert_eq!(residents, 40, "{dd}");
    assert_eq!(drawn["commute"]["workers"], 40);
    // Flows: a district or park has them, a study area does not.
    assert!(drawn["flows"].is_null());
    assert!(park["flows"].is_object() || park["flows"].is_null());
}

#[tokio::test]
async fn circles_and_corridors_count_what_they_cover() {
    let c = city();
    let s = &c.state;
    // 300 m around the talents' homes: residents, no workplace, no enterprise.
    let circle = json!({"type": "Feature", "properties": {"name": "c", "radius_m": 300},
                        "geometry": {"type": "Point", "coordinates": [117.015, 36.62]}});
    let id = keep(&c, &c.recruiter, circle).await;
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{id}/profile"), Some(&c.admin), None).await;
    let residents = headline(&v, "residents");
    assert!(residents > 0 && residents < 40, "{residents}");
    assert_eq!((headline(&v, "workers"), headline(&v, "enterprises")), (0, 0));
    // A corridor of 200 m along 36.61 N covers E1 and everyone's workplace.
    let corridor = json!({"type": "Feature", "properties": {"name": "l", "buffer_m": 200},
                          "geometry": {"type": "LineString", "coordinates": [[117.0, 36.61], [117.1, 36.61]]}});
    let id = keep(&c, &c.recruiter, corridor).await;
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{id}/profile"), Some(&c.admin), None).await;
    assert_eq!((headline(&v, "workers"), headline(&v, "enterprises"), headline(&v, "residents")), (40, 1, 0));
    assert_eq!(v["area"]["shape"], "corridor");
    // A 20 m square around one home counts that home's whole cell.
    let tiny = polygon(
        "one house",
        &[[117.0149, 36.6199], [117.0151, 36.6199], [117.0151, 36.6201], [117.0149, 36.6201], [117.0149, 36.6199]],
    );
    let id = keep(&c, &c.recruiter, tiny).await;
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{id}/profile"), Some(&c.admin), None).await;
    assert_eq!(v["area"]["cells"], 1);
    assert!(headline(&v, "residents") >= 4, "a 245 m cell around 117.015 holds several homes: {}", v["headline"]);
}

#[tokio::test]
async fn who_gets_exact_counts() {
    let c = city();
    let s = &c.state;
    // Inside D1 with a margin: every cell of it lies in D1. The park's own
    // outline does not qualify: cells on its west and south edges reach
    // across D1's border.
    let inside = keep(
        &c,
        &c.analyst_d1,
        polygon("区内", &[[117.005, 36.605], [117.15, 36.605], [117.15, 36.75], [117.005, 36.75], [117.005, 36.605]]),
    )
    .await;
    let edge = keep(&c, &c.analyst_d1, p1_outline()).await;
    let across = keep(
        &c,
        &c.analyst_d1,
        polygon("跨区", &[[117.15, 36.65], [117.25, 36.65], [117.25, 36.75], [117.15, 36.75], [117.15, 36.65]]),
    )
    .await;
    let exact = |v: &Value| v["exact_counts"].as_bool().unwrap();
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{inside}/profile"), Some(&c.analyst_d1), None).await;
    assert!(exact(&v), "a study area inside the analyst's district");
    assert_eq!(headline(&v, "residents"), 40);
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{across}/profile"), Some(&c.analyst_d1), None).await;
    assert!(!exact(&v), "a study area reaching into D2");
    let (_, v) = json_of(s, Method::GET, &format!("/api/areas/{edge}/profile"), Some(&c.analyst_d1), None).await;
    assert!(!exact(&v), "cells across D1's edge");
    let (_, v) = json_of(s, Method::GET, "/api/areas/D2/profile", Some(&c.analyst_d1), None).await;
    assert!(!exact(&v));
    // The public and recruiters: perturbed, never 1..k−1.
    for auth in [None, Some(c.recruiter.as_str())] {
        let (status, v) = json_of(s, Method::GET, &format!("/api/areas/{inside}/profile"), auth, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!exact(&v));
        let r = headline(&v, "residents");
        assert!((38..=42).contains(&r), "40 published as {r}");
        for t in v["tables"].as_array().unwrap().iter().filter(|t| t["talent_counts"] == true) {
            for row in t["rows"].as_array().unwrap() {
                let n = row["value"].as_u64().unwrap();
                assert!(n == 0 || n >= 5, "{} {}: {n}", t["id"], row["key"]);
            }
        }
    }
    // Exact reads are audited, perturbed ones are not.
    let (_, audit) = json_of(s, Method::GET, "/api/audit?limit=100", Some(&c.admin), None).await;
    let reads =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "GET /api/areas/{id}/profile").count();
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn comparisons_line_up_rows_with_differences() {
    let c = city();
    let s = &c.state;
    let id = keep(
        &c,
        &c.recruiter,
        json!({"type": "Feature", "properties": {"name": "c", "radius_m": 300},
               "geometry": {"type": "Point", "coordinates": [117.015, 36.62]}}),
    )
    .await;
    let (status, v) = json_of(s, Method::GET, &format!("/api/compare?areas=P1,{id},D2"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["areas"].as_array().unwrap().len(), 3);
    assert_eq!(v["profiles"].as_array().unwrap().len(), 3);
    let headline_rows = v["tables"].as_array().unwrap().iter().find(|t| t["id"] == "headline").unwrap();
    let residents = headline_rows["rows"].as_array().unwrap().iter().find(|r| r["key"] == "residents").unwrap();
    let values: Vec<f64> = residents["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let diffs: Vec<f64> = residents["differences"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(values[0], 40.0);
    assert_eq!(values[2], 0.0);
    assert_eq!(diffs, vec![0.0, values[1] - 40.0, -40.0]);
    // Rows one area lacks are 0 there.
    let fields = v["tables"].as_array().unwrap().iter().find(|t| t["id"] == "openings_by_field").unwrap();
    for row in fields["rows"].as_array().unwrap() {
        assert!(row["values"].as_array().unwrap().iter().all(|x| x.is_number()), "{row}");
    }
    for (q, status) in [
        ("areas=P1", StatusCode::BAD_REQUEST),
        ("areas=P1,P1", StatusCode::BAD_REQUEST),
        ("areas=P1,D1,D2,P1x,D1x", StatusCode::BAD_REQUEST),
        ("areas=P1,nowhere", StatusCode::NOT_FOUND),
        ("areas=P1,D1&format=geojson", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = json_of(s, Method::GET, &format!("/api/compare?{q}"), Some(&c.admin), None).await;
        assert_eq!(got, status, "{q}: {body}");
    }
}

#[tokio::test]
async fn profiles_and_comparisons_export_as_csv_xlsx_and_geojson() {
    use calamine::Reader;
    let c = city();
    let s = &c.state;
    let id = keep(&c, &c.recruiter, p1_outline()).await;
    // Exports are for recruiters, analysts and admins.
    let (status, _) = call(s, Method::GET, &format!("/api/areas/{id}/profile?format=csv"), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, csv) =
        call(s, Method::GET, &format!("/api/areas/{id}/profile?format=csv"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("table,key,name_zh,name_en,value\n"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("headline,enterprises,") && l.ends_with(",1")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("workers_distance_direction,0–5 km N,")), "{text}");

    let (status, bytes) =
        call(s, Method::GET, &format!("/api/areas/{id}/profile?format=xlsx"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names().to_vec();
    for sheet in ["area", "headline", "talents_by_field", "openings_by_field", "key_enterprises"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let range = book.worksheet_range("key_enterprises").unwrap();
    assert_eq!(range.get((1, 0)).map(|c| c.to_string()), Some("E1".into()));

    let (status, bytes) =
        call(s, Method::GET, &format!("/api/areas/{id}/profile?format=geojson"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let f: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((f["type"].as_str(), f["geometry"]["type"].as_str()), (Some("Feature"), Some("MultiPolygon")));
    assert_eq!(f["properties"]["headline"]["enterprises"], 1);
    assert!(f["properties"]["talents_by_field"]["0812"].as_u64().unwrap() >= 38);

    let (status, bytes) =
        call(s, Method::GET, &format!("/api/compare?areas={id},D2&format=csv"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, format!("table,key,name_zh,name_en,value {id},value D2,difference D2 − {id}"));
    let (status, bytes) =
        call(s, Method::GET, &format!("/api/compare?areas={id},D2&format=xlsx"), Some(&c.recruiter), None).await;
    assert_eq!(status, StatusCode::OK);
    let book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert!(book.sheet_names().iter().any(|n| n == "talents_by_field"));
}

#[tokio::test]
async fn a_drawn_outline_has_the_flows_of_the_park_it_traces() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), N);
    let mut m = String::from("id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n");
    for i in 0..10 {
        m.push_str(&format!("L{i},T{i},2026-03-15,leave,117.015,36.62,,,,上海\n"));
    }
    for i in 10..15 {
        m.push_str(&format!("R{i},T{i},2026-04-10,relocate,117.30,36.70,117.015,36.62,,\n"));
    }
    for i in 15..21 {
        m.push_str(&format!("J{i},T{i},2026-05-20,job_change,117.01,36.61,117.30,36.70,E2,\n"));
    }
    import(&mut store, talentmap::import::ImportKind::Moves, &write(dir.path(), "moves.csv", &m)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let admin = bearer(&store, Role::Admin, &[]);
    let recruiter = bearer(&store, Role::Recruiter, &[]);
    let state = AppState::new(snap, Some(dir.path().join("data")), Settings::default());
    let (status, v) = json_of(&state, Method::POST, "/api/areas", Some(&recruiter), Some(p1_outline())).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap();
    let series = |area: String| {
        let state = state.clone();
        let admin = admin.clone();
        async move {
            let (status, v) = json_of(
                &state,
                Method::GET,
                &format!("/api/flows/series?area={area}&from=2026-02&to=2026-06"),
                Some(&admin),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            v
        }
    };
    let park = series("P1".into()).await;
    let drawn = series(id.to_string()).await;
    assert_eq!(drawn["area"]["kind"], "study");
    assert_eq!(park["months"], drawn["months"], "the same moves cross both outlines");
    let month = |v: &Value, m: &str, key: &str| {
        v["months"].as_array().unwrap().iter().find(|x| x["month"] == m).unwrap()[key].as_u64().unwrap()
    };
    assert_eq!(month(&drawn, "2026-03", "departures"), 10);
    assert_eq!(month(&drawn, "2026-04", "relocations_in"), 5);
    assert_eq!(month(&drawn, "2026-05", "job_changes_out"), 6);
    assert_eq!(month(&drawn, "2026-05", "job_changes_in"), 0);
    // The profile's last 12 months.
    let (_, profile) = json_of(&state, Method::GET, &format!("/api/areas/{id}/profile"), Some(&admin), None).await;
    assert_eq!((profile["flows"]["departures"].as_u64(), profile["flows"]["arrivals"].as_u64()), (Some(10), Some(0)));
    assert_eq!(profile["flows"]["net"].as_i64(), Some(-10 + 5 - 6));
    // Where its leavers went and its joiners came from.
    let od = |query: String| {
        let (state, admin) = (state.clone(), admin.clone());
        async move {
            let uri = format!("/api/flows/od?area={id}&from=2026-02&to=2026-06&{query}");
            let (status, v) = json_of(&state, Method::GET, &uri, Some(&admin), None).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            let lines: Vec<(String, String, u64)> = v["features"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["properties"]["kind"] == "flow")
                .map(|f| {
                    let p = &f["properties"];
                    (p["from"].as_str().unwrap().into(), p["to"].as_str().unwrap().into(), p["count"].as_u64().unwrap())
                })
                .collect();
            (v, lines)
        }
    };
    let (v, lines) = od("level=district".into()).await;
    assert_eq!(lines, vec![(id.to_string(), "D2".to_string(), 6), ("D2".to_string(), id.to_string(), 5)]);
    assert_eq!((v["focus"]["kind"].as_str(), v["focus"]["lost"].as_u64()), (Some("study"), Some(6)));
    let focus = v["features"].as_array().unwrap().iter().find(|f| f["properties"]["focus"] == true).unwrap();
    assert_eq!(focus["properties"]["departures"].as_u64(), Some(10));
    let (_, lines) = od("level=enterprise".into()).await;
    assert_eq!(lines, vec![(id.to_string(), "E2".to_string(), 6)], "the six went to E2");
}

#[tokio::test]
async fn commute_and_shortage_take_a_study_area_like_a_park() {
    let c = city();
    let s = &c.state;
    let id = keep(&c, &c.recruiter, p1_outline()).await;
    let (status, park) = json_of(s, Method::GET, "/api/commute/summary?area=P1", Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    let (status, drawn) =
        json_of(s, Method::GET, &format!("/api/commute/summary?area={id}"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    assert_eq!(drawn["kind"], "study");
    for key in ["workers", "residents", "resident_workers", "mean_commute_km", "share_within_5km", "histogram"] {
        assert_eq!(drawn[key], park[key], "{key}");
    }
    // A filter applies to a study area as to a park.
    let (_, none) =
        json_of(s, Method::GET, &format!("/api/commute/summary?area={id}&field=1007"), Some(&c.admin), None).await;
    assert_eq!((none["workers"].as_u64(), none["residents"].as_u64()), (Some(0), Some(0)));

    let (status, park) = json_of(s, Method::GET, "/api/shortage/fields?area=P1", Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    let (status, drawn) =
        json_of(s, Method::GET, &format!("/api/shortage/fields?area={id}"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    assert_eq!((drawn["area"]["id"].as_str(), drawn["area"]["kind"].as_str()), (Some(id.as_str()), Some("study")));
    let row = |v: &Value| v["items"][0].clone();
    assert_eq!(row(&drawn)["field"], "0812");
    assert_eq!(
        (row(&drawn)["demand"].clone(), row(&drawn)["supply"].clone()),
        (row(&park)["demand"].clone(), row(&park)["supply"].clone())
    );
    let (status, _) =
        json_of(s, Method::GET, "/api/shortage/fields?area=sa_00000000000000000000000000000000", Some(&c.admin), None)
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn mismatch_and_the_commute_heat_take_a_study_area_like_a_park() {
    let c = city();
    let s = &c.state;
    let id = keep(&c, &c.recruiter, p1_outline()).await;
    // The park's outline: the same seekers, workforce and openings.
    let (status, park) = json_of(s, Method::GET, "/api/mismatch?area=P1", Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    let (status, drawn) = json_of(s, Method::GET, &format!("/api/mismatch?area={id}"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    assert_eq!((drawn["area"]["id"].as_str(), drawn["area"]["kind"].as_str()), (Some(id.as_str()), Some("study")));
    for key in ["by_field", "by_education", "by_title", "by_field_education"] {
        assert_eq!(drawn[key], park[key], "{key}");
    }
    assert!(drawn["by_field"].as_array().is_some_and(|rows| !rows.is_empty()));
    // Everyone else: perturbed, never in 1..k−1.
    let (_, public) = json_of(s, Method::GET, &format!("/api/mismatch?area={id}"), None, None).await;
    assert_eq!(public["exact_counts"], false);
    for row in public["by_field_education"].as_array().unwrap() {
        for key in ["supply", "workforce"] {
            let n = row[key].as_u64().unwrap();
            assert!(n == 0 || n >= 5, "{key} = {n}");
        }
    }

    // Heat tiles: homes of those working in the drawn outline are those of
    // the park's workers; the TileJSON carries the id.
    let tile = talentmap::spatial::morton::tile_of(talentmap::spatial::morton::key(117.015, 36.62), 12);
    let (status, by_park) = call(s, Method::GET, &format!("/tiles/commute/{tile}.mvt?work_area=P1"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, by_drawn) =
        call(s, Method::GET, &format!("/tiles/commute/{tile}.mvt?work_area={id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!by_park.is_empty() && by_park == by_drawn);
    let (_, homes_park) = call(s, Method::GET, &format!("/tiles/commute/{tile}.mvt?home_area=P1"), None, None).await;
    let (_, homes_drawn) = call(s, Method::GET, &format!("/tiles/commute/{tile}.mvt?home_area={id}"), None, None).await;
    assert!(homes_park == homes_drawn);
    let (status, tj) = json_of(s, Method::GET, &format!("/tiles/commute.json?work_area={id}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{tj}");
    assert!(tj["tiles"][0].as_str().unwrap().contains(&format!("work_area={id}")), "{tj}");
    let missing = "sa_00000000000000000000000000000000";
    let (status, _) = call(s, Method::GET, &format!("/tiles/commute/{tile}.mvt?work_area={missing}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn region_statistics_take_a_study_area_like_a_park() {
    let c = city();
    let s = &c.state;
    let id = keep(&c, &c.recruiter, p1_outline()).await;
    let (status, park) = json_of(s, Method::GET, "/api/regions/P1", Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    let (status, drawn) = json_of(s, Method::GET, &format!("/api/regions/{id}"), Some(&c.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    assert_eq!((drawn["id"].as_str(), drawn["kind"].as_str()), (Some(id.as_str()), Some("study")));
    assert_eq!(drawn["supply"], park["supply"]);
    assert_eq!(drawn["demand"], park["demand"]);
    for key in ["talents", "seekers", "workers", "enterprises", "key_enterprises", "employees", "openings", "ratio"] {
        assert_eq!(drawn["stats"][key], park["stats"][key], "{key}");
    }
    assert!(drawn["stats"]["talents"].as_u64().unwrap() > 0);
    // Perturbed for the public; for the analyst of D1 as the area's profile is.
    let (_, public) = json_of(s, Method::GET, &format!("/api/regions/{id}"), None, None).await;
    assert_eq!(public["exact_counts"], false);
    let (_, analyst) = json_of(s, Method::GET, &format!("/api/regions/{id}"), Some(&c.analyst_d1), None).await;
    let uri = format!("/api/areas/{id}/profile");
    let (_, profile) = json_of(s, Method::GET, &uri, Some(&c.analyst_d1), None).await;
    assert_eq!(analyst["exact_counts"], profile["exact_counts"]);
    let missing = "sa_00000000000000000000000000000000";
    assert_eq!(json_of(s, Method::GET, &format!("/api/regions/{missing}"), None, None).await.0, StatusCode::NOT_FOUND);
}
