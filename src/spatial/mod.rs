//! Geometry shared by the pipeline stages: Web Mercator tile math, the
//! Morton (Z-order) keys that make every tile a contiguous key range, and
//! the point-in-region lookup used to assign records to districts and parks.

pub mod mercator;
pub mod morton;
pub mod regions;

pub use mercator::{MAX_LATITUDE, TileError, TileId, WORLD_BOUNDS, lonlat_to_unit, round6, unit_to_lonlat};
pub use regions::{RegionHit, RegionLookup};
