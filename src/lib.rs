//! talentmap: an industry–talent geographic map service.
//!
//! Pipeline (dependencies point down this list; `model` is shared by all):
//!
//! ```text
//! import (CSV / GeoJSON) ─► store (SQLite) ─► snapshot (R-trees, cell pyramids)
//!   ─► analytics ─► encode (MVT, GeoJSON, JSON) ─► api (axum) ─► web (MapLibre GL JS)
//! ```

pub mod generate;
pub mod model;
