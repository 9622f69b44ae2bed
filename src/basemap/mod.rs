//! A city basemap from a local file (`serve --basemap FILE`): vector tiles
//! of roads, water, land use, buildings and place names that a city makes
//! offline from an OpenStreetMap extract (docs/basemap.md), served by
//! talentmap itself beneath its data layers. Nothing is fetched at run time.
//!
//! Two containers: PMTiles v3 (`.pmtiles`, [`pmtiles`]) and MBTiles
//! (`.mbtiles`, a SQLite file, [`mbtiles`]). Both must hold Mapbox Vector
//! Tiles; stored tiles are served as they are (gzip passed through to
//! browsers that accept it). The schema (OpenMapTiles or Protomaps) is
//! recognised from the vector layer names, so the page can style it.

mod mbtiles;
mod pmtiles;

use std::path::{Path, PathBuf};

/// Errors opening or reading a basemap file.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error("basemap {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("basemap {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("basemap {path}: {source}")]
    Sql { path: PathBuf, source: rusqlite::Error },
}

/// The tile schema of a basemap, from its layer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// OpenMapTiles (planetiler's and tilemaker's default): `water`,
    /// `landuse`, `transportation`, `building`, `place`, …
    OpenMapTiles,
    /// Protomaps basemap: `earth`, `water`, `landuse`, `roads`,
    /// `buildings`, `places`, …
    Protomaps,
    /// Anything else: served, drawn with a generic style.
    Other,
}

impl Schema {
    fn of(layers: &[String]) -> Schema {
        let has = |name: &str| layers.iter().any(|l| l == name);
        if has("transportation") {
            Schema::OpenMapTiles
        } else if has("roads") {
            Schema::Protomaps
        } else {
            Schema::Other
        }
    }
}

/// What the page and TileJSON need to know about a basemap.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BasemapInfo {
    pub schema: Schema,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// West, south, east, north.
    pub bounds: Option<[f64; 4]>,
    pub attribution: Option<String>,
    /// The `vector_layers` of its metadata (TileJSON), as stored.
    pub vector_layers: serde_json::Value,
}

/// An open basemap file.
pub enum Basemap {
    Pmtiles(pmtiles::PmtilesFile),
    Mbtiles(mbtiles::MbtilesFile),
}

impl std::fmt::Debug for Basemap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Basemap::Pmtiles(_) => "PMTiles",
            Basemap::Mbtiles(_) => "MBTiles",
        };
        write!(f, "Basemap({kind}, {:?})", self.info().schema)
    }
}

/// A stored tile: its bytes and whether they are gzip-compressed.
pub struct StoredTile {
    pub bytes: Vec<u8>,
    pub gzip: bool,
}

impl Basemap {
    /// Opens `path` by its extension (`.pmtiles` or `.mbtiles`) and checks
    /// that it holds vector tiles.
    pub fn open(path: &Path) -> Result<Basemap, BasemapError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("pmtiles") => Ok(Basemap::Pmtiles(pmtiles::PmtilesFile::open(path)?)),
            Some("mbtiles") => Ok(Basemap::Mbtiles(mbtiles::MbtilesFile::open(path)?)),
            _ => Err(BasemapError::Invalid {
                path: path.to_path_buf(),
                message: "must be a .pmtiles or .mbtiles file of vector tiles".into(),
            }),
        }
    }

    pub fn info(&self) -> &BasemapInfo {
        match self {
            Basemap::Pmtiles(f) => &f.info,
            Basemap::Mbtiles(f) => &f.info,
        }
    }

    /// The stored tile `z/x/y` (XYZ rows from the north), if any.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<StoredTile>, BasemapError> {
        match self {
            Basemap::Pmtiles(f) => f.tile(z, x, y),
            Basemap::Mbtiles(f) => f.tile(z, x, y),
        }
    }
}

/// The layer names of a `vector_layers` array.
fn layer_names(vector_layers: &serde_json::Value) -> Vec<String> {
    vector_layers
        .as_array()
        .map(|a| a.iter().filter_map(|l| l.get("id").and_then(|v| v.as_str()).map(String::from)).collect())
        .unwrap_or_default()
}

/// Whether `bytes` start with the gzip magic number.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}
