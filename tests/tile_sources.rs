//! The tile-source registry over HTTP: every registered layer answers
//! TileJSON and a tile that an independent decoder (geozero) reads; tile
//! coordinates are strict; TileJSON URLs come from the configured public
//! URL whatever the request headers say; the OpenAPI document describes
//! every layer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::mvt::decode;
use common::tiny_city;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AppState, Settings, router, tile_layers};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::spatial::morton;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://map.example.gov.cn/talent";

/// The query each layer needs to draw the tiny city; a layer added to the
/// registry without an entry here fails `every_registered_layer_answers`.
const QUERIES: [(&str, &str); 7] = [
    ("talents", ""),
    ("vacancies", ""),
    ("enterprises", ""),
    ("regions", ""),
    ("stations", ""),
    ("shortage", "field=0812"),
    ("commute", "work_area=P1"),
];

fn app() -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 50);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let settings = Settings { public_url: PUBLIC_URL.to_string(), ..Settings::default() };
    (dir, router(AppState::new(snap, None, settings)))
}

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// `z/x/y` of the tile holding the park (enterprise E1, station S1, the talents).
fn park_tile(z: u8) -> String {
    morton::tile_of(morton::key(117.012, 36.615), z).to_string()
}

#[tokio::test]
async fn every_registered_layer_answers_tilejson_and_a_tile_that_decodes() {
    let (_d, app) = app();
    let layers = tile_layers();
    assert_eq!(layers.len(), QUERIES.len(), "registry: {layers:?}");
    for layer in layers {
        let query = QUERIES.iter().find(|(l, _)| *l == layer).unwrap_or_else(|| panic!("no query for {layer}")).1;
        let sep = if query.is_empty() { "" } else { "?" };
        let (status, _, body) = get(&app, &format!("/tiles/{layer}.json{sep}{query}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{layer}");
        let tj = json(&body);
        assert_eq!(tj["tilejson"], "3.0.0");
        assert_eq!(tj["name"], format!("talentmap {layer}"));
        assert_eq!(tj["scheme"], "xyz");
        assert_eq!(tj["vector_layers"][0]["id"], layer);
        assert!(tj["vector_layers"][0]["fields"].as_object().unwrap().len() >= 3, "{layer}");
        assert!(tj["data_version"].as_u64().is_some(), "{layer}");
        assert_eq!(tj["center"].as_array().unwrap().len(), 3);
        let template = tj["tiles"][0].as_str().unwrap();
        assert!(template.starts_with(&format!("{PUBLIC_URL}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")), "{template}");
        // The advertised URL answers a tile that geozero decodes.
        let url = template.replace("{z}/{x}/{y}", &park_tile(12)).replace(PUBLIC_URL, "");
        let (status, headers, body) = get(&app, &url, &[]).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.mapbox-vector-tile");
        let decoded = decode(&body);
        assert_eq!(decoded.len(), 1, "{url}");
        assert_eq!((decoded[0].name.as_str(), decoded[0].extent), (layer, 4096));
        assert!(!decoded[0].features.is_empty(), "{url}");
    }
}

#[tokio::test]
async fn tilejson_urls_never_come_from_request_headers() {
    let (_d, app) = app();
    let hostile = [("host", "attacker.example"), ("x-forwarded-proto", "javascript"), ("x-forwarded-host", "evil")];
    for (layer, query) in QUERIES {
        let (status, _, body) = get(&app, &format!("/tiles/{layer}.json?{query}"), &hostile).await;
        assert_eq!(status, StatusCode::OK, "{layer}");
        let tj = json(&body);
        let tiles = tj["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 1);
        assert!(tiles[0].as_str().unwrap().starts_with(&format!("{PUBLIC_URL}/tiles/{layer}/")), "{tj}");
        let text = String::from_utf8(body).unwrap();
        assert!(!text.contains("attacker") && !text.contains("javascript") && !text.contains("evil"), "{text}");
    }
}

#[tokio::test]
async fn tile_coordinates_are_plain_decimals_in_range() {
    let (_d, app) = app();
    let cases = [
        ("2/%2B1/0", "x", "0..=3"),
        ("2/+1/0", "x", "0..=3"),
        ("2/01/0", "x", "0..=3"),
        ("2/4/0", "x", "0..=3"),
        ("2/-1/0", "x", "0..=3"),
        ("2/1.0/0", "x", "0..=3"),
        ("2/0/%201", "y", "0..=3"),
        ("2/0/00", "y", "0..=3"),
        ("2/0/99999999999999999999999", "y", "0..=3"),
        ("23/0/0", "z", "0..=22"),
        ("02/0/0", "z", "0..=22"),
        ("%2B2/0/0", "z", "0..=22"),
        ("z/0/0", "z", "0..=22"),
    ];
    for (layer, query) in QUERIES {
        for (zxy, param, range) in cases {
            let uri = format!("/tiles/{layer}/{zxy}.mvt?{query}");
            let (status, _, body) = get(&app, &uri, &[]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            let v = json(&body);
            assert_eq!(v["error"]["parameter"], param, "{uri}: {v}");
            assert!(v["error"]["message"].as_str().unwrap().contains(range), "{uri}: {v}");
        }
    }
    assert_eq!(get(&app, "/tiles/talents/0/0/0.mvt", &[]).await.0, StatusCode::OK, "0 itself is fine");
}

#[tokio::test]
async fn an_unknown_layer_is_404_listing_the_layers() {
    let (_d, app) = app();
    for uri in ["/tiles/people.json", "/tiles/persons/1/0/0.mvt"] {
        let (status, _, body) = get(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        let message = json(&body)["error"]["message"].as_str().unwrap().to_string();
        for layer in tile_layers() {
            assert!(message.contains(layer), "{uri}: {message}");
        }
    }
}

#[tokio::test]
async fn the_cache_key_is_the_canonical_query() {
    let (_d, app) = app();
    let tile = park_tile(12);
    let etag = |h: HeaderMap| h[header::ETAG].to_str().unwrap().to_string();
    let (_, a, _) = get(&app, &format!("/tiles/shortage/{tile}.mvt?field=0812"), &[]).await;
    let (_, b, _) = get(&app, &format!("/tiles/shortage/{tile}.mvt?prior=10&decay=gaussian&field=0812"), &[]).await;
    let (_, c, _) = get(&app, &format!("/tiles/shortage/{tile}.mvt?field=0812&prior=20"), &[]).await;
    assert_eq!(etag(a.clone()), etag(b), "defaults and order do not change the tile");
    assert_ne!(etag(a), etag(c));
    let (_, a, _) = get(&app, &format!("/tiles/regions/{tile}.mvt"), &[]).await;
    let (_, b, _) = get(&app, &format!("/tiles/regions/{tile}.mvt?field=0812"), &[]).await;
    assert_eq!(etag(a), etag(b), "filters do not draw regions");
    // A repeated parameter is refused, never half-read.
    let (status, _, body) = get(&app, &format!("/tiles/talents/{tile}.mvt?field=0812&field=0835"), &[]).await;
    assert_eq!((status, json(&body)["error"]["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("field")));
}

/// The parameter names of one operation of the document.
fn param_names(doc: &Value, path: &str) -> Vec<String> {
    let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap_or_else(|| panic!("{path} documented"));
    params.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn openapi_documents_every_layer_and_its_parameters() {
    let (_d, app) = app();
    let doc = json(&get(&app, "/openapi.json", &[]).await.2);
    let generic = "/tiles/{layer}/{z}/{x}/{y}.mvt";
    assert_eq!(
        param_names(&doc, generic),
        [
            "layer",
            "z",
            "x",
            "y",
            "industry",
            "field",
            "education",
            "title",
            "tier",
            "min_age",
            "max_age",
            "seeking",
            "month"
        ]
    );
    let enumerated: Vec<String> =
        serde_json::from_value(doc["components"]["schemas"]["FilterLayer"]["enum"].clone()).unwrap();
    assert_eq!(enumerated, ["talents", "vacancies", "enterprises", "regions", "stations"]);
    let shortage = param_names(&doc, "/tiles/shortage/{z}/{x}/{y}.mvt");
    assert_eq!(shortage, ["z", "x", "y", "field", "education", "title", "prior", "interval", "radius", "decay"]);
    assert_eq!(param_names(&doc, "/tiles/shortage.json")[0], "field");
    let commute = param_names(&doc, "/tiles/commute/{z}/{x}/{y}.mvt");
    assert_eq!(&commute[..5], ["z", "x", "y", "work_area", "work_bbox"]);
    assert!(commute.contains(&"seeking".to_string()));
    let responses = doc["paths"][generic]["get"]["responses"].as_object().unwrap();
    for status in ["200", "204", "304", "400", "404"] {
        assert!(responses.contains_key(status), "{status}");
    }
    let mvt = &responses["200"]["content"]["application/vnd.mapbox-vector-tile"]["schema"]["$ref"];
    assert_eq!(mvt, "#/components/schemas/MvtBody");
    assert_eq!(doc["components"]["schemas"]["MvtBody"]["format"], "binary");
    // Every reference of the tile paths resolves.
    let text = serde_json::to_string(&doc["paths"]).unwrap();
    for name in text.split("#/components/schemas/").skip(1).map(|s| s.split('"').next().unwrap()) {
        assert!(doc["components"]["schemas"][name].is_object(), "dangling reference to {name}");
    }
    // Every layer is documented, at the generic path or its own.
    for layer in tile_layers() {
        let own = doc["paths"][format!("/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")].is_object();
        assert!(own ^ enumerated.iter().any(|l| l == layer), "{layer}");
    }
}
