//! Output encodings for map clients.
//!
//! The API answers tile requests with Mapbox Vector Tiles; this module holds
//! the pieces that turn tile-coordinate geometry and properties into tile
//! bytes: a protobuf wire writer, the MVT layer/tile encoder on top of it,
//! and the clipping/simplification that brings lon/lat geometry into a
//! tile's integer frame.

pub mod clip;
pub mod mvt;
pub mod protobuf;

pub use clip::{
    clip_line, clip_polygon, line_to_tile, point_in_box, point_to_tile, polygon_to_tile, simplify_line, simplify_ring,
};
pub use mvt::{DEFAULT_EXTENT, GeomType, LayerBuilder, MVT_VERSION, PropValue, encode_tile};
pub mod commute;
pub mod layers;
pub mod pmtiles;
pub mod shortage;

/// Gzip of `raw` at `level`. Writing to memory cannot fail, so neither can
/// this; the tile cache uses the fast level, archives the default one.
pub fn gzip(raw: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 3 + 64), level);
    let _ = enc.write_all(raw);
    enc.finish().unwrap_or_default()
}
