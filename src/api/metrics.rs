//! Prometheus metrics at `/metrics`: tiles served and their render time per
//! layer, tile cache hits and misses, snapshot build time and data version.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;

/// Counters shared by the handlers.
#[derive(Default)]
pub struct Metrics {
    pub tiles_served: AtomicU64,
    /// Tile answers (304s included) from the warm path (`api::fast`).
    pub warm_tiles: AtomicU64,
    renders: Mutex<BTreeMap<&'static str, (u64, f64)>>,
}

impl Metrics {
    /// Records one uncached tile render.
    pub fn tile_render(&self, layer: &'static str, took: Duration) {
        let mut r = self.renders.lock().unwrap_or_else(|p| p.into_inner());
        let e = r.entry(layer).or_default();
        e.0 += 1;
        e.1 += took.as_secs_f64();
    }
}

/// `GET /metrics` in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4: data version, snapshot build \
                                            time and count, tiles served, tiles from the warm path, tile cache \
                                            hits and misses, tile render time per layer, records by kind", body = String,
               content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let snap = state.snapshot();
    let m = &state.metrics;
    let mut out = String::new();
    let _ =
        writeln!(out, "# HELP talentmap_data_version Data version being served.\n# TYPE talentmap_data_version gauge");
    let _ = writeln!(out, "talentmap_data_version {}", snap.version);
    let _ = writeln!(
        out,
        "# HELP talentmap_snapshot_build_seconds Time the current snapshot took to build.\n# TYPE talentmap_snapshot_build_seconds gauge"
    );
    let _ = writeln!(out, "talentmap_snapshot_build_seconds {}", snap.build_ms as f64 / 1000.0);
    let _ = writeln!(
        out,
        "# HELP talentmap_snapshot_builds_total Snapshots published.\n# TYPE talentmap_snapshot_builds_total counter"
    );
    let _ = writeln!(out, "talentmap_snapshot_builds_total {}", state.snapshot_builds.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP talentmap_tiles_served_total Tile responses (including 204).\n# TYPE talentmap_tiles_served_total counter"
    );
    let _ = writeln!(out, "talentmap_tiles_served_total {}", m.tiles_served.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP talentmap_warm_tiles_total Tile answers (304 included) from the warm path.\n# TYPE talentmap_warm_tiles_total counter"
    );
    let _ = writeln!(out, "talentmap_warm_tiles_total {}", m.warm_tiles.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP talentmap_tile_cache_hits_total Tile cache hits.\n# TYPE talentmap_tile_cache_hits_total counter"
    );
    let _ = writeln!(out, "talentmap_tile_cache_hits_total {}", state.tile_cache.hits.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP talentmap_tile_cache_misses_total Tile cache misses.\n# TYPE talentmap_tile_cache_misses_total counter"
    );
    let _ = writeln!(out, "talentmap_tile_cache_misses_total {}", state.tile_cache.misses.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP talentmap_tile_render_seconds Uncached tile render time.\n# TYPE talentmap_tile_render_seconds summary"
    );
    for (layer, (count, sum)) in m.renders.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(out, "talentmap_tile_render_seconds_count{{layer=\"{layer}\"}} {count}");
        let _ = writeln!(out, "talentmap_tile_render_seconds_sum{{layer=\"{layer}\"}} {sum}");
    }
    let t = &snap.totals;
    let _ = writeln!(out, "# HELP talentmap_records Records in the snapshot by kind.\n# TYPE talentmap_records gauge");
    for (kind, n) in [
        ("enterprises", t.enterprises),
        ("vacancies", t.vacancies),
        ("talents", t.talents),
        ("stations", t.stations),
        ("regions", t.regions),
        ("moves", t.moves),
    ] {
        let _ = writeln!(out, "talentmap_records{{kind=\"{kind}\"}} {n}");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
