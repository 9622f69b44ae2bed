//! talentmap: an industry–talent geographic map service.
//!
//! Pipeline (dependencies point down this list; `model` is shared by all):
//!
//! ```text
//! import (CSV / GeoJSON) ─► store (SQLite) ─► snapshot (R-trees, cell pyramids)
//!   ─► analytics ─► encode (MVT, GeoJSON, JSON) ─► api (axum) ─► web (MapLibre GL JS)
//! ```

pub mod encode;
pub mod model;
pub mod spatial;
pub mod store;
pub mod import;
pub mod snapshot;
pub mod analytics;
pub mod api;
pub mod cli;
pub mod generate;
