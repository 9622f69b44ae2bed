//! talentmap: an industry–talent geographic map service.
//!
//! Pipeline (dependencies point down this list; `model` is shared by all):
//!
//! ```text
//! import (CSV / GeoJSON) ─► store (SQLite) ─► snapshot (R-trees, cell pyramids)
//!   ─► analytics ─► encode (MVT, GeoJSON, JSON) ─► api (axum) ─► web (MapLibre GL JS)
//! ```

pub mod analytics;
pub mod api;
pub mod auth;
pub mod basemap;
pub mod cli;
pub mod encode;
pub mod generate;
pub mod import;
pub mod model;
pub mod snapshot;
pub mod spatial;
pub mod store;
pub mod timing;
