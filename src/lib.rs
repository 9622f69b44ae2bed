//! talentmap: an industry–talent geographic map service.
//!
//! Pipeline (dependencies point down this list; `model` is shared by all):
//!
//! ```text
//! import (CSV / GeoJSON) ─► store (SQLite) ─► snapshot (R-trees, cell pyramids)
//!   ─► analytics ─► encode (MVT, GeoJSON, JSON) ─► api (axum) ─► web (MapLibre GL JS)
//! ```

/// The memory allocator of every program built on this crate (the server,
/// the command line, examples and tests): mimalloc. flate2's backend is
/// zlib-rs (the XLSX writer's zip crate turns it on), which allocates its
/// compressor state with 64-byte alignment; glibc's allocator serves such
/// allocations from its heap once its mmap threshold has grown, and kept
/// results between them (cached gzip tiles) fragmented it to about 100 KiB
/// per compression — 23 GiB after 210,000 tiles, against 30 MiB here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod analytics;
pub mod api;
pub mod areas;
pub mod auth;
pub mod basemap;
pub mod cli;
pub mod encode;
pub mod generate;
pub mod import;
pub mod model;
pub mod pause;
pub mod room;
pub mod snapshot;
pub mod spare;
pub mod spatial;
pub mod store;
pub mod timing;
