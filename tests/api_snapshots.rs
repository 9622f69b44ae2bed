//! Snapshot tests of representative JSON answers on the tiny city of
//! `tests/common`, with a fixed moves history: a change of an answer's shape
//! or numbers shows in review as a change of a `.snap` file under
//! `tests/snapshots/`. Timings are redacted so the snapshots are
//! deterministic. Also checks that the API reference page is served.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AppState, Settings, router};
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use tower::ServiceExt;

const MOVE_HEADER: &str = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n";

/// Moves of 16 months: every month some talents leave D1 for another city,
/// arrive in D2 or change jobs from D1 to D2; departures jump in the last
/// month so an alert has something to find.
fn moves_csv() -> String {
    let mut s = String::from(MOVE_HEADER);
    let mut id = 0;
    for m in 0..16u32 {
        let (year, month) = (2024 + m / 12, m % 12 + 1);
        let leaves = if m == 15 { 30 } else { 4 + m % 3 };
        for i in 0..(leaves + 6) {
            id += 1;
            let day = 1 + i % 28;
            let (event, from, to, dest) = match i {
                i if i < leaves => ("leave", "117.1,36.7", ",", if i % 2 == 0 { "北京" } else { "上海" }),
                i if i < leaves + 3 => ("arrive", ",", "117.3,36.7", ""),
                _ => ("job_change", "117.1,36.7", "117.3,36.7", ""),
            };
            let talent = id % 40;
            s.push_str(&format!("M{id},T{talent},{year}-{month:02}-{day:02},{event},{from},{to},,{dest}\n"));
        }
    }
    s
}

fn app() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    // T0–T39 move (many leave); T40–T79 stay in the park.
    let mut store = tiny_city(dir.path(), 80);
    import(&mut store, ImportKind::Moves, &write(dir.path(), "moves.csv", &moves_csv())).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    (dir, AppState::new(snap, None, Settings { k: 3, ..Settings::default() }))
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = router(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn json(state: &AppState, uri: &str, status: StatusCode) -> Value {
    let (s, _, body) = get(state, uri).await;
    assert_eq!(s, status, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn answers_keep_their_shape() {
    let (_dir, state) = app();
    let ok = StatusCode::OK;
    insta::assert_json_snapshot!("stats", json(&state, "/api/stats", ok).await, {
        ".snapshot_build_ms" => "[ms]", ".reference_year" => "[year]"
    });
    insta::assert_json_snapshot!("region_p1", json(&state, "/api/regions/P1", ok).await);
    insta::assert_json_snapshot!("shortage_0812", json(&state, "/api/shortage?field=0812&by=district", ok).await);
    insta::assert_json_snapshot!("explain_d1_0812", json(&state, "/api/shortage/explain?area=D1&field=0812", ok).await);
    insta::assert_json_snapshot!("commute_summary_p1", json(&state, "/api/commute/summary?area=P1", ok).await);
    insta::assert_json_snapshot!("flows_series_d1", json(&state, "/api/flows/series?area=D1", ok).await);
    insta::assert_json_snapshot!("flows_alerts", json(&state, "/api/flows/alerts", ok).await);
    let bad = StatusCode::BAD_REQUEST;
    insta::assert_json_snapshot!("error_repeated", json(&state, "/api/shortage?field=0812&field=0835", bad).await);
    insta::assert_json_snapshot!("error_enum", json(&state, "/api/shortage?field=0812&by=zone", bad).await);
}

#[tokio::test]
async fn csv_columns_are_the_json_keys() {
    let (dir, state) = app();
    let v = json(&state, "/api/shortage?field=0812", StatusCode::OK).await;
    let keys: Vec<String> = v["items"][0].as_object().unwrap().keys().cloned().collect();
    // The CSV file is an export: recruiters and up, not the public.
    let (status, _, _) = get(&state, "/api/shortage?field=0812&format=csv").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let data = dir.path().join("data");
    let mut store = talentmap::store::Store::open(&data).unwrap();
    let recruiter = bearer(&store, talentmap::auth::Role::Recruiter, &[]);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let state = AppState::new(snap, Some(data), Settings { k: 3, ..Settings::default() });
    let req = Request::get("/api/shortage?field=0812&format=csv")
        .header(header::AUTHORIZATION, recruiter)
        .body(Body::empty())
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let mut rdr = csv::Reader::from_reader(body.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let mut sorted = header.clone();
    sorted.sort();
    let mut json_keys = keys.clone();
    json_keys.sort();
    assert_eq!(sorted, json_keys);
    assert_eq!(rdr.records().count(), v["items"].as_array().unwrap().len());
}

#[tokio::test]
async fn the_reference_page_reads_the_openapi_document() {
    let (_dir, state) = app();
    let (status, ct, body) = get(&state, "/api/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("fetch('/openapi.json')"));
    assert!(!page.contains("http://") && !page.contains("https://"), "the page loads nothing from elsewhere");
    let doc = json(&state, "/openapi.json", StatusCode::OK).await;
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    for path in [
        "/health",
        "/metrics",
        "/api/stats",
        "/api/taxonomy",
        "/api/enterprises",
        "/api/regions",
        "/api/regions/{id}",
        "/api/aggregates",
        "/api/shortage",
        "/api/shortage/fields",
        "/api/shortage/explain",
        "/api/mismatch",
        "/api/commute/summary",
        "/api/commute/districts",
        "/api/commute/flows",
        "/api/commute/underserved",
        "/api/commute/scenario",
        "/api/moves",
        "/api/flows/series",
        "/api/flows/od",
        "/api/flows/alerts",
        "/api/docs",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test]
async fn geojson_is_served_as_geojson_and_every_error_has_one_shape() {
    let (_dir, state) = app();
    for uri in ["/api/regions", "/api/enterprises", "/api/flows/od", "/api/commute/flows"] {
        let (status, ct, _) = get(&state, uri).await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/geo+json"), "{uri}");
    }
    // The moves feed without credentials: the same error shape as every route.
    let req = Request::post("/api/moves").body(Body::from(r#"{"moves": []}"#)).unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].is_string());
    for uri in
        ["/api/stats?x=1", "/health?x=1", "/api/flows/series?area=D1&area=D2", "/api/commute/underserved?limit=+1"]
    {
        let v = json(&state, uri, StatusCode::BAD_REQUEST).await;
        assert_eq!(v["error"]["code"], "bad_parameter", "{uri}: {v}");
    }
}
