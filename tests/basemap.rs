//! The city basemap over HTTP (`serve --basemap`): the test fixture was
//! written by the `pmtiles` Python package with tiles encoded by
//! `mapbox-vector-tile` (scripts/make_test_basemap.py), so talentmap's
//! reader is checked against an archive it did not write; tiles are decoded
//! with geozero.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::mvt::decode;
use http_body_util::BodyExt;
use talentmap::api::{AppState, Settings, router};
use talentmap::basemap::Basemap;
use talentmap::model::Taxonomy;
use talentmap::snapshot::Snapshot;
use tower::ServiceExt;

const FIXTURE: &str = "fixtures/basemap/jinan-test.pmtiles";

fn state(basemap: bool) -> AppState {
    let basemap = basemap.then(|| Arc::new(Basemap::open(Path::new(FIXTURE)).unwrap()));
    let settings = Settings { basemap, public_url: "https://map.example.gov.cn".into(), ..Settings::default() };
    AppState::new(Snapshot::empty(Arc::new(Taxonomy::builtin())), None, settings)
}

async fn get(state: &AppState, uri: &str, gzip: bool) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn tilejson_names_the_schema_layers_and_public_tile_url() {
    let (status, _, body) = get(&state(true), "/basemap.json", false).await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["schema"], "openmaptiles");
    assert_eq!(doc["tiles"][0], "https://map.example.gov.cn/basemap/{z}/{x}/{y}.mvt");
    assert_eq!((doc["minzoom"].as_u64(), doc["maxzoom"].as_u64()), (Some(6), Some(14)));
    assert_eq!(doc["bounds"], serde_json::json!([116.75, 36.45, 117.35, 36.85]));
    let layers: Vec<&str> =
        doc["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert!(layers.contains(&"transportation") && layers.contains(&"water"), "{layers:?}");
    assert!(doc["attribution"].as_str().unwrap().contains("synthetic"));
    let (_, _, stats) = get(&state(true), "/api/stats", false).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&stats).unwrap()["basemap"], "openmaptiles");
}

#[tokio::test]
async fn tiles_are_served_as_stored_and_decoded_for_clients_without_gzip() {
    let s = state(true);
    // The city centre at zoom 10: roads, water and place names.
    let (status, headers, plain) = get(&s, "/basemap/10/844/399.mvt", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "application/vnd.mapbox-vector-tile");
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    let layers = decode(&plain);
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    for want in ["water", "transportation", "place"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let places = layers.iter().find(|l| l.name == "place").unwrap();
    assert!(!places.features.is_empty());
    // A browser gets the stored gzip bytes, which decompress to the same tile.
    let (status, headers, gz) = get(&s, "/basemap/10/844/399.mvt", true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
    assert_eq!(raw, plain);
    // Outside the file: no content; a bad coordinate is named.
    assert_eq!(get(&s, "/basemap/3/0/0.mvt", false).await.0, StatusCode::NO_CONTENT);
    let (status, _, body) = get(&s, "/basemap/3/9/0.mvt", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("\"parameter\":\"x\""));
}

#[tokio::test]
async fn a_server_without_a_basemap_says_so() {
    let s = state(false);
    for uri in ["/basemap.json", "/basemap/10/844/399.mvt"] {
        let (status, _, body) = get(&s, uri, false).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(String::from_utf8_lossy(&body).contains("--basemap"), "{uri}");
    }
    let (_, _, stats) = get(&s, "/api/stats", false).await;
    assert!(serde_json::from_slice::<serde_json::Value>(&stats).unwrap()["basemap"].is_null());
}
