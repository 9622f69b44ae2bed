//! The city basemap (`serve --basemap FILE`, [`crate::basemap`]):
//! `GET /basemap.json` (TileJSON 3.0.0 with the file's vector layers and
//! schema) and `GET /basemap/{z}/{x}/{y}.mvt` (its tiles as stored; gzip
//! passed through to clients that accept it, decompressed for the others;
//! a tile the file lacks is `204`). Both are `404` on a server without a
//! basemap.

use std::io::Read;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::basemap::Basemap;

use super::error::ErrorBody;
use super::sources::MvtBody;
use super::{ApiError, AppState};

fn basemap(state: &AppState) -> Result<std::sync::Arc<Basemap>, ApiError> {
    state
        .settings
        .basemap
        .clone()
        .ok_or_else(|| ApiError::NotFound("no basemap on this server (talentmap serve --basemap FILE)".into()))
}

/// `GET /basemap.json`
#[utoipa::path(get, path = "/basemap.json", tag = "tiles", operation_id = "basemap_tilejson",
    responses(
        (status = 200, description = "TileJSON 3.0.0 of the basemap: tile URL under the configured public URL, \
            zoom range, bounds, attribution, the file's `vector_layers` and its `schema` (openmaptiles, protomaps \
            or other)", body = Object, content_type = "application/json"),
        (status = 404, description = "The server has no basemap", body = ErrorBody),
    ))]
pub async fn tilejson(State(state): State<AppState>) -> Result<Response, ApiError> {
    let map = basemap(&state)?;
    let info = map.info();
    let mut doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": "basemap",
        "tiles": [format!("{}/basemap/{{z}}/{{x}}/{{y}}.mvt", state.settings.public_url)],
        "scheme": "xyz",
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "vector_layers": info.vector_layers,
        "schema": info.schema,
    });
    if let Some(b) = info.bounds {
        doc["bounds"] = serde_json::json!(b);
    }
    if let Some(a) = &info.attribution {
        doc["attribution"] = serde_json::json!(a);
    }
    let mut resp = axum::Json(doc).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// `GET /basemap/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/basemap/{z}/{x}/{y}", tag = "tiles", operation_id = "basemap_tile",
    params(
        ("z" = u8, Path, description = "Zoom, 0..=22 (digits only, no sign or leading zero)", minimum = 0, maximum = 22),
        ("x" = u32, Path, description = "Column, 0..=2^z - 1", minimum = 0, maximum = 4194303),
        ("y" = u32, Path, description = "Row from the north (XYZ), 0..=2^z - 1; the segment ends in `.mvt`",
            minimum = 0, maximum = 4194303),
    ),
    responses(
        (status = 200, description = "The basemap's vector tile as stored in the file", body = MvtBody,
            content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "The file has no tile here"),
        (status = 400, description = "A coordinate is out of range or not a plain decimal", body = ErrorBody),
        (status = 404, description = "The server has no basemap, or the path does not end in `.mvt`",
            body = ErrorBody),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let map = basemap(&state)?;
    let tile = super::tiles::parse_tile("basemap", &z, &x, &y)?;
    let gzip_ok = super::compress::accepts_gzip(&headers);
    // Reading the file and, for a client without gzip, decompressing run on
    // the compute pool, not on the async workers.
    let read = move || -> Result<Option<(Vec<u8>, bool)>, ApiError> {
        let Some(stored) = map.tile(tile.z, tile.x, tile.y).map_err(|e| ApiError::Internal(e.to_string()))? else {
            return Ok(None);
        };
        if stored.gzip && !gzip_ok {
            let mut raw = Vec::with_capacity(stored.bytes.len() * 3);
            flate2::read::GzDecoder::new(&stored.bytes[..])
                .read_to_end(&mut raw)
                .map_err(|e| ApiError::Internal(format!("basemap tile {tile}: {e}")))?;
            return Ok(Some((raw, false)));
        }
        Ok(Some((stored.bytes, stored.gzip)))
    };
    let Some((bytes, gzip)) = state.compute.run(read).await?? else {
        return Ok(with_cache(StatusCode::NO_CONTENT.into_response()));
    };
    let mut resp = Response::new(Body::from(bytes));
    if gzip {
        resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(super::MVT_CONTENT_TYPE));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(with_cache(resp))
}

fn with_cache(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}
