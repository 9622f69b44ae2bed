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
