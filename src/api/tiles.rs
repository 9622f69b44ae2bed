//! The two tile routes, `/tiles/{layer}.json` (TileJSON 3.0.0) and
//! `/tiles/{layer}/{z}/{x}/{y}.mvt`, for every source in
//! [`super::sources::SOURCES`].
//!
//! One path for all layers: strict coordinates (digits only, no sign or
//! leading zero, in range: a `400` naming `z`, `x` or `y`); an unknown layer
//! is a `404` listing the layers; the query is parsed by the layer's typed
//! parameters; the cache key is layer, z/x/y, canonical query and data
//! version, and the ETag is derived from it (`If-None-Match` gets `304`);
//! a miss renders on the compute pool; an empty tile is `204 No Content`
//! (MapLibre treats that as an empty tile). TileJSON tile URLs start with
//! the configured public URL, never with request headers.

use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::analytics::commute::heat::StudySelection;
use crate::encode::layers::stable_id;
use crate::spatial::{TileError, TileId};

use super::cache::TileCache;
use super::error::ErrorBody;
use super::fast::Remembered;
use super::query::{FilterParams, MonthParams};
use super::sources::{self, FilterLayer, MvtBody, Prepared, SourceContext, TileJsonDoc};
use super::{ApiError, AppState};

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
pub(super) const CACHE_CONTROL: &str = "public, max-age=60";

/// What the sources may use from the state, for the current snapshot.
pub(super) fn context(state: &AppState) -> SourceContext {
    SourceContext { snap: state.snapshot(), k: state.settings.k, commute: state.commute.clone(), study: None }
}

/// The context of a request to `source` with query `raw`: for a layer drawn
/// by `month=`, the snapshot of that month (`api::past`); for a study area
/// named by `work_area` or `home_area`, the area's cells. `true` with it
/// when the context is the served snapshot alone (no month, no study area).
async fn context_for(
    state: &AppState,
    source: &dyn sources::Source,
    raw: &str,
) -> Result<(SourceContext, bool), ApiError> {
    let value =
        |name: &str| form_urlencoded::parse(raw.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let mut cx = context(state);
    let mut plain = true;
    if source.takes_month() {
        let month = super::past::month_param(value("month").as_deref(), &cx.snap)?;
        plain = month.is_none();
        let view = state.view(month).await?;
        (cx.snap, cx.commute) = (view.snap, view.commute);
    }
    if source.name() == crate::encode::commute::LAYER {
        for param in ["work_area", "home_area"] {
            let Some(id) = value(param).filter(|id| crate::areas::store::is_area_id(id.trim())) else { continue };
            if let super::areas::Resolved::Study(_, footprint) =
                super::areas::resolve(state, &cx.snap, param, &id).await?
            {
                cx.study = Some(StudySelection { id: id.trim().to_string(), footprint });
                plain = false;
            }
        }
    }
    Ok((cx, plain))
}

/// `GET /tiles/{layer}.json`
#[utoipa::path(get, path = "/tiles/{layer}.json", tag = "tiles",
    params(("layer" = FilterLayer, Path, description = "A layer that takes the record filters; `shortage` and \
        `commute` have their own paths"), FilterParams, MonthParams),
    responses(
        (status = 200, description = "TileJSON 3.0.0 of the layer; tile URLs start with the configured public \
            URL and carry the canonical query", body = TileJsonDoc, content_type = "application/json"),
        (status = 400, description = "A query parameter is unknown, repeated or invalid", body = ErrorBody),
        (status = 404, description = "No such layer (the message lists the layers)", body = ErrorBody),
    ))]
pub async fn tilejson(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let Some(name) = file.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!("no route for /tiles/{file}; TileJSON is at /tiles/{{layer}}.json")));
    };
    let source = sources::find(name)?;
    let raw = raw.as_deref().unwrap_or("");
    let (cx, _) = context_for(&state, source, raw).await?;
    let body = source.tilejson(raw, &cx, &state.settings.public_url)?;
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "tiles",
    params(("layer" = FilterLayer, Path, description = "A layer that takes the record filters; `shortage` and \
        `commute` have their own paths"),
        ("z" = u8, Path, description = "Zoom, 0..=22 (digits only, no sign or leading zero)", minimum = 0, maximum = 22),
        ("x" = u32, Path, description = "Column, 0..=2^z - 1 (digits only, no sign or leading zero)", minimum = 0,
            maximum = 4194303),
        ("y" = u32, Path, description = "Row from the north (XYZ), 0..=2^z - 1, digits only, no sign or leading \
            zero; the segment ends in `.mvt`", minimum = 0, maximum = 4194303),
        FilterParams, MonthParams),
    responses(
        (status = 200, description = "Mapbox Vector Tile 2.1 (extent 4096), one layer named after the source",
            body = MvtBody, content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "The tile is empty"),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "A coordinate is out of range or not a plain decimal, or a query parameter \
            is unknown, repeated or invalid", body = ErrorBody),
        (status = 404, description = "No such layer (the message lists the layers), or the path does not end in \
            `.mvt`", body = ErrorBody),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let source = sources::find(&layer)?;
    let tile = parse_tile(source.name(), &z, &x, &y)?;
    let raw = raw.as_deref().unwrap_or("");
    let (cx, plain) = context_for(&state, source, raw).await?;
    let prepared = source.prepare(raw, tile, &cx)?;
    let version = source.version(&cx.snap);
    let key = format!("{}/{tile}?{}#{version}", source.name(), prepared.query);
    // What the warm path needs to answer this URI again (`api::fast`).
    let gzip = super::compress::accepts_gzip(&headers);
    let uri = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|u| plain && !state.warm.knows(u, version, gzip) && state.warm.asked_before(u));
    let etags = uri.map(|_| (etag(version, &key, false), etag(version, &key, true)));
    let (resp, sent) = respond(&state, &headers, gzip, source.name(), version, key, prepared).await?;
    if let (Some(uri), Some((etag, gz_etag)), Some((tile, gz))) = (uri, etags, sent)
        && let Some(r) = Remembered::new(source, version, (&etag, &gz_etag), tile, gz)
    {
        state.warm.remember(uri, r);
    }
    Ok(resp)
}

/// Parses the `{z}/{x}/{y}.mvt` segments of a tile route of layer `name`.
pub(super) fn parse_tile(name: &str, z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    let Some(y) = y.strip_suffix(".mvt") else {
        return Err(ApiError::NotFound(format!("tiles are at /tiles/{name}/{{z}}/{{x}}/{{y}}.mvt")));
    };
    TileId::parse(z, x, y).map_err(|e| {
        let param = match e {
            TileError::Zoom(_) => "z",
            TileError::Coordinate { axis, .. } => axis,
        };
        ApiError::param(param, e.to_string())
    })
}

/// The tile a request was answered with, and its gzip form when that was
/// sent.
type Sent = (Bytes, Option<Bytes>);

/// Answers a tile request whose cache `key` is known (`gzip`: the caller
/// accepts gzip): `304` when `If-None-Match` names the ETag, else the
/// cached bytes or the render's (on the compute pool, cached for next
/// time), `204` for an empty tile; ETag and Cache-Control on every answer.
/// With the answer, the bytes it sent (none for `304`).
async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    gzip: bool,
    name: &'static str,
    version: u64,
    key: String,
    prepared: Prepared,
) -> Result<(Response, Option<Sent>), ApiError> {
    let etag = etag(version, &key, gzip);
    if not_modified(headers, &etag) {
        return Ok((with_tile_headers(StatusCode::NOT_MODIFIED.into_response(), &etag), None));
    }
    let metrics = state.metrics.clone();
    let render = prepared.render;
    let timed = move || {
        let started = std::time::Instant::now();
        let bytes = render();
        metrics.tile_render(name, started.elapsed());
        bytes
    };
    let gz_key = gzip.then(|| TileCache::gzip_key(&key));
    let (bytes, gz, _rendered_now) = state.tile_cache.get_or_render(key, gz_key, &state.compute, timed).await?;
    let sent = (bytes.clone(), gz.clone());
    let resp = if bytes.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let mut r = if let Some(gz) = gz {
            // Stored compressed; the compression layer passes an encoded body through.
            let mut r = Response::new(Body::from(gz));
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            Response::new(Body::from(bytes))
        };
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_CONTENT_TYPE));
        r.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        r
    };
    state.metrics.tiles_served.fetch_add(1, Ordering::Relaxed);
    Ok((with_tile_headers(resp, &etag), Some(sent)))
}

fn with_tile_headers(mut resp: Response, etag: &str) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    resp
}

/// The ETag of a tile: the data version and a hash of the cache key, and
/// which encoding (each encoding is its own representation).
fn etag(version: u64, key: &str, gzip: bool) -> String {
    format!("\"v{version}-{:016x}{}\"", stable_id(key), if gzip { "-gz" } else { "" })
}

/// Whether the request's `If-None-Match` names `etag`.
pub(super) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}
