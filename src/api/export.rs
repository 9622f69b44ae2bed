//! `talentmap export pmtiles`: every tile of one public layer, for one
//! query, in a PMTiles archive ([`crate::encode::pmtiles`]) that a static
//! host or a content network serves without talentmap behind it.
//!
//! Only what the tile routes give the public role goes in: each tile is
//! rendered by the layer's own [`super::sources::Source`] exactly as
//! `/tiles/{layer}/{z}/{x}/{y}.mvt` renders it for the same data version
//! (the same disclosure control, the same bytes), then gzip-compressed.
//! Tiles are the ones covering the snapshot's bounds at each zoom of the
//! range; empty tiles are left out. The metadata is the layer's TileJSON
//! (its `vector_layers`, bounds, centre, attribution and data version)
//! without tile URLs, plus the query it was made for.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::encode::pmtiles::{self, ArchiveInfo, ArchiveSummary, ArchiveWriter};
use crate::spatial::{MAX_LATITUDE, TileId, WORLD_BOUNDS, lonlat_to_unit};

use super::sources::{self, Source, SourceContext};
use super::{ApiError, AppState};

/// What to export.
#[derive(Debug, Clone)]
pub struct PmtilesRequest {
    /// A layer of `/tiles` (any source: they are all public).
    pub layer: String,
    /// The layer's query, as in a tile URL (`field=…&education=…`).
    pub query: String,
    /// Zoom range; by default 0 to the layer's deepest zoom.
    pub minzoom: Option<u8>,
    pub maxzoom: Option<u8>,
}

/// Errors of an export: a request the layer refuses, or the file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Request(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PmtilesSummary {
    pub layer: &'static str,
    pub query: String,
    pub data_version: u64,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Tiles rendered (covering the bounds at every zoom).
    pub rendered: u64,
    /// Tiles in the archive (the non-empty ones).
    pub tiles: u64,
    /// Distinct tile contents stored.
    pub contents: u64,
    pub leaf_directories: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// Renders the layer's tiles and writes the archive to `path`: first to a
/// file beside it, renamed over `path` only when complete, so a failed
/// export leaves what was there before.
pub fn write_pmtiles(state: &AppState, req: &PmtilesRequest, path: &Path) -> Result<PmtilesSummary, ExportError> {
    let started = Instant::now();
    let cx = super::tiles::context(state);
    let source = sources::find(&req.layer).map_err(request)?;
    let (minzoom, maxzoom) = zoom_range(source, req)?;
    // Resolving the query once checks it before any tile is rendered.
    let tilejson = source.tilejson(&req.query, &cx, "").map_err(request)?;
    let canonical = source.prepare(&req.query, TileId { z: 0, x: 0, y: 0 }, &cx).map_err(request)?.query;
    let bounds = cx.snap.bounds().unwrap_or(WORLD_BOUNDS);
    let tiles: Vec<TileId> = (minzoom..=maxzoom).flat_map(|z| covering(bounds, z)).collect();
    let rendered = render_all(source, &req.query, &tiles, &cx)?;

    let mut writer = ArchiveWriter::new();
    for (tile, bytes) in rendered {
        writer.add(tile.z, tile.x, tile.y, bytes);
    }
    let metadata = metadata(tilejson, &canonical, (minzoom, maxzoom), cx.k);
    let center = (metadata.center.0, metadata.center.1, metadata.center.2.clamp(minzoom, maxzoom));
    let info = ArchiveInfo { minzoom, maxzoom, bounds, center };
    let io = |source| ExportError::Io { path: path.to_path_buf(), source };
    let partial = partial_path(path);
    let written = (|| -> std::io::Result<ArchiveSummary> {
        let file = std::fs::File::create(&partial)?;
        let mut out = std::io::BufWriter::new(file);
        let summary = writer.write(&info, metadata.json.as_bytes(), &mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)?;
        Ok(summary)
    })();
    let summary = match written {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(io(e));
        }
    };
    Ok(PmtilesSummary {
        layer: source.name(),
        query: canonical,
        data_version: cx.snap.version,
        minzoom,
        maxzoom,
        rendered: tiles.len() as u64,
        tiles: summary.addressed,
        contents: summary.contents,
        leaf_directories: summary.leaves,
        bytes: summary.bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn request(e: ApiError) -> ExportError {
    ExportError::Request(e.to_string())
}

/// `FILE.partial` beside `FILE`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

/// The requested zoom range, checked against the layer's.
fn zoom_range(source: &dyn Source, req: &PmtilesRequest) -> Result<(u8, u8), ExportError> {
    let deepest = source.maxzoom();
    let minzoom = req.minzoom.unwrap_or(0);
    let maxzoom = req.maxzoom.unwrap_or(deepest);
    if maxzoom > deepest {
        return Err(ExportError::Request(format!(
            "--maxzoom must be in 0..={deepest} for layer {} (its deepest zoom; clients overzoom beyond), got {maxzoom}",
            source.name()
        )));
    }
    if minzoom > maxzoom {
        return Err(ExportError::Request(format!(
            "--minzoom must be in 0..={maxzoom} (at most --maxzoom), got {minzoom}"
        )));
    }
    Ok((minzoom, maxzoom))
}

/// The tiles of zoom `z` that cover `[west, south, east, north]`.
fn covering([w, s, e, n]: [f64; 4], z: u8) -> impl Iterator<Item = TileId> {
    let count = 1u32 << z;
    let index = |u: f64| ((u * f64::from(count)).floor().max(0.0) as u32).min(count - 1);
    let clamp = |lat: f64| lat.clamp(-MAX_LATITUDE, MAX_LATITUDE);
    let (x0, y0) = lonlat_to_unit(w, clamp(n));
    let (x1, y1) = lonlat_to_unit(e, clamp(s));
    let (xs, ys) = (index(x0)..=index(x1), index(y0)..=index(y1));
    xs.flat_map(move |x| ys.clone().map(move |y| TileId { z, x, y }))
}

/// Tiles and their gzip-compressed bytes.
type Rendered = Vec<(TileId, Vec<u8>)>;

/// Renders and compresses `tiles` on every core; keeps the non-empty ones.
fn render_all(
    source: &'static dyn Source,
    query: &str,
    tiles: &[TileId],
    cx: &SourceContext,
) -> Result<Rendered, ExportError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(tiles.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || -> Result<Rendered, ExportError> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&tile) = tiles.get(i) else { return Ok(done) };
            let bytes = (source.prepare(query, tile, cx).map_err(request)?.render)();
            if !bytes.is_empty() {
                done.push((tile, pmtiles::gzip(&bytes)));
            }
        }
    };
    let results: Vec<Result<Rendered, ExportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(ExportError::Request("a tile render panicked".into()))))
            .collect()
    });
    let mut all = Vec::with_capacity(tiles.len());
    for part in results {
        all.extend(part?);
    }
    Ok(all)
}

/// The archive's metadata and the centre it names.
struct Metadata {
    json: String,
    center: (f64, f64, u8),
}

/// The layer's TileJSON without tile URLs, with the export's zoom range,
/// query and privacy threshold (an archive made with a smaller k than the
/// server's would publish counts the server suppresses).
fn metadata(tilejson: tilejson::TileJSON, query: &str, (minzoom, maxzoom): (u8, u8), k: u32) -> Metadata {
    let center = tilejson.center.map_or((0.0, 0.0, minzoom), |c| (c.longitude, c.latitude, c.zoom));
    let mut doc = serde_json::to_value(&tilejson).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        for key in ["tiles", "scheme", "tilejson", "grids", "data", "template", "legend"] {
            obj.remove(key);
        }
        obj.insert("type".into(), "overlay".into());
        obj.insert("format".into(), "pbf".into());
        obj.insert("minzoom".into(), minzoom.into());
        obj.insert("maxzoom".into(), maxzoom.into());
        obj.insert("query".into(), query.into());
        obj.insert("privacy_k".into(), k.into());
        obj.insert("generator".into(), format!("talentmap {}", env!("CARGO_PKG_VERSION")).into());
    }
    Metadata { json: doc.to_string(), center }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_tiles_span_the_bounds() {
        let jinan = [116.2, 36.0, 117.9, 37.6];
        assert_eq!(covering(jinan, 0).collect::<Vec<_>>(), vec![TileId { z: 0, x: 0, y: 0 }]);
        let z8: Vec<_> = covering(jinan, 8).collect();
        // 116.2..117.9 °E is columns 210..211 at zoom 8; 37.6..36.0 °N rows 99..100.
        assert_eq!(z8.iter().map(|t| t.x).min(), Some(210));
        assert_eq!(z8.iter().map(|t| t.x).max(), Some(211));
        assert_eq!(z8.iter().map(|t| t.y).min(), Some(99));
        assert_eq!(z8.iter().map(|t| t.y).max(), Some(100));
        assert_eq!(z8.len(), 4);
        // The whole world at zoom 2 is 16 tiles, the poles clamped.
        assert_eq!(covering(WORLD_BOUNDS, 2).count(), 16);
    }

    #[test]
    fn partial_file_is_beside_the_target() {
        assert_eq!(partial_path(Path::new("/tmp/a/talents.pmtiles")), Path::new("/tmp/a/talents.pmtiles.partial"));
    }
}
