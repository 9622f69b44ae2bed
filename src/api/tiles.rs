//! `/tiles/{layer}.json` (TileJSON 3.0.0) and `/tiles/{layer}/{z}/{x}/{y}.mvt`.
//!
//! Empty tiles are answered `204 No Content` (MapLibre treats that as an
//! empty tile). Tiles carry an ETag made of the data version and a hash of
//! the request; `If-None-Match` gets `304`. Encoded tiles are cached per
//! layer, z/x/y, canonical filter and data version.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::encode::layers::{Layer, render, stable_id};
use crate::spatial::TileId;

use super::{ApiError, AppState, params};

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
const CACHE_CONTROL: &str = "public, max-age=60";

fn layer_of(name: &str) -> Result<Layer, ApiError> {
    name.parse::<Layer>().map_err(|_| {
        ApiError::NotFound(format!(
            "no layer '{name}'; layers: {}, {}",
            Layer::ALL.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "),
            crate::encode::shortage::LAYER
        ))
    })
}

/// `GET /tiles/{layer}.json`
pub async fn tilejson(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(name) = file.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!("no route for /tiles/{file}; TileJSON is at /tiles/{{layer}}.json")));
    };
    if name == crate::encode::shortage::LAYER {
        let snap = state.snapshot();
        let q = super::shortage::tile_query(&query, &snap, state.settings.k)?;
        let mut resp = axum::Json(super::shortage::tilejson(&snap, &q, &headers)).into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(resp);
    }
    let layer = layer_of(name)?;
    let snap = state.snapshot();
    params::check_known(&query, true, &[])?;
    let filter = params::filter(&query, &snap)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    let qs = if filter.canonical().is_empty() { String::new() } else { format!("?{}", filter.canonical()) };
    let bounds = snap.bounds().unwrap_or([-180.0, -85.0511, 180.0, 85.0511]);
    let centre = [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 9.0];
    let fields: serde_json::Map<String, Value> =
        layer.fields().iter().map(|(k, d)| (k.to_string(), Value::from(*d))).collect();
    let body = json!({
        "tilejson": "3.0.0",
        "name": format!("talentmap {}", layer.name()),
        "description": description(layer),
        "version": "1.0.0",
        "attribution": "talentmap; district boundaries: echarts-china-cities (MIT)",
        "scheme": "xyz",
        "tiles": [format!("{scheme}://{host}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{qs}", layer.name())],
        "minzoom": 0,
        "maxzoom": layer.maxzoom(),
        "bounds": bounds,
        "center": centre,
        "vector_layers": [{"id": layer.name(), "description": description(layer), "minzoom": 0, "maxzoom": layer.maxzoom(), "fields": fields}],
        "data_version": snap.version,
    });
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

fn description(layer: Layer) -> &'static str {
    match layer {
        Layer::Talents => {
            "Talent homes aggregated into grid cells (32 x 32 per tile); cells with 1..k-1 talents are suppressed"
        }
        Layer::Vacancies => "Open positions aggregated into grid cells at their enterprises",
        Layer::Enterprises => "Enterprise clusters below zoom 13, individual enterprises from zoom 13",
        Layer::Regions => "Districts and parks with totals and the jobs-to-applicants ratio",
        Layer::Stations => "Transit stations",
    }
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let shortage = layer == crate::encode::shortage::LAYER;
    let layer = if shortage { None } else { Some(layer_of(&layer)?) };
    let name = layer.map_or(crate::encode::shortage::LAYER, |l| l.name());
    let tile = parse_tile(name, &z, &x, &y)?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let (key, render_tile): (String, Box<dyn FnOnce() -> Vec<u8>>) = match layer {
        Some(layer) => {
            params::check_known(&query, true, &[])?;
            let filter = params::filter(&query, &snap)?;
            let key = format!("{}/{tile}?{}#{}", layer.name(), filter.canonical(), snap.version);
            let snap = snap.clone();
            (key, Box::new(move || render(&snap, layer, tile, &filter, k)))
        }
        None => {
            let q = super::shortage::tile_query(&query, &snap, k)?;
            let key = format!("{name}/{tile}?{}#{}", super::shortage::canonical(&q, &snap), snap.version);
            let snap = snap.clone();
            (key, Box::new(move || crate::encode::shortage::render(&snap, &q, tile)))
        }
    };
    Ok(respond(&state, &headers, name, snap.version, key, render_tile))
}

/// Parses the `{z}/{x}/{y}.mvt` segments of a tile route of layer `name`.
pub(super) fn parse_tile(name: &str, z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    let Some(y) = y.strip_suffix(".mvt") else {
        return Err(ApiError::NotFound(format!("tiles are at /tiles/{name}/{{z}}/{{x}}/{{y}}.mvt")));
    };
    TileId::parse(z, x, y).map_err(|e| {
        let param = match e {
            crate::spatial::TileError::Zoom(_) => "z",
            crate::spatial::TileError::Coordinate { axis, .. } => axis,
        };
        ApiError::param(param, e.to_string())
    })
}

/// Answers a tile request whose cache `key` is known: `304` when
/// `If-None-Match` names the ETag, else the cached bytes or `render()`'s
/// (cached for next time), `204` for an empty tile; ETag and Cache-Control
/// on every answer.
pub(super) fn respond(
    state: &AppState,
    headers: &HeaderMap,
    name: &'static str,
    version: u64,
    key: String,
    render: impl FnOnce() -> Vec<u8>,
) -> Response {
    let etag = etag(version, &key);
    if not_modified(headers, &etag) {
        return with_tile_headers(StatusCode::NOT_MODIFIED.into_response(), &etag);
    }
    let bytes = match state.tile_cache.get(&key) {
        Some(b) => b,
        None => {
            let started = std::time::Instant::now();
            let b = Bytes::from(render());
            state.metrics.tile_render(name, started.elapsed());
            state.tile_cache.put(key, b.clone());
            b
        }
    };
    let resp = if bytes.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let mut r = Response::new(Body::from(bytes));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_CONTENT_TYPE));
        r
    };
    state.metrics.tiles_served.fetch_add(1, Ordering::Relaxed);
    with_tile_headers(resp, &etag)
}

fn with_tile_headers(mut resp: Response, etag: &str) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    resp
}

/// The ETag of a tile: the data version and a hash of the cache key.
fn etag(version: u64, key: &str) -> String {
    format!("\"v{version}-{:016x}\"", stable_id(key))
}

/// Whether the request's `If-None-Match` names `etag`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}
