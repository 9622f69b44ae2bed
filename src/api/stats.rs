//! `/health` and `/api/stats`: what the service holds, per city and per
//! district.

use axum::Json;
use axum::extract::State;

use crate::analytics::privacy::publishable;
use crate::model::RegionKind;

use super::AppState;
use super::query::{ApiQuery, NoParams};
use super::types::map::{Health, Stats, StatsRegion};

/// Liveness and the data version being served.
#[utoipa::path(get, path = "/health", tag = "service", params(NoParams),
    responses((status = 200, description = "The service is up", body = Health),
              (status = 400, description = "A parameter was given", body = super::error::ErrorBody)))]
pub async fn health(State(state): State<AppState>, _: ApiQuery<NoParams>) -> Json<Health> {
    Json(Health { status: "ok", version: state.snapshot().version })
}

/// Totals of every kind, the data version, and per-district counts (talent
/// counts under the privacy rule).
#[utoipa::path(get, path = "/api/stats", tag = "map", params(NoParams),
    responses((status = 200, description = "Totals and per-district and per-park counts", body = Stats),
              (status = 400, description = "A parameter was given", body = super::error::ErrorBody)))]
pub async fn stats(State(state): State<AppState>, _: ApiQuery<NoParams>) -> Json<Stats> {
    Json(stats_of(&state))
}

/// The same answer as JSON, for the `talentmap stats` command.
pub async fn stats_value(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(stats_of(&state)).unwrap_or_default())
}

/// Totals and per-region counts of the snapshot being served.
pub fn stats_of(state: &AppState) -> Stats {
    let snap = state.snapshot();
    let k = state.settings.k;
    let regions = |kind: RegionKind| -> Vec<StatsRegion> {
        snap.regions
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| {
                let s = &r.stats;
                StatsRegion {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    talents: publishable(s.talents, k),
                    seekers: publishable(s.seekers, k),
                    workers: publishable(s.workers, k),
                    enterprises: s.enterprises,
                    key_enterprises: s.key_enterprises,
                    employees: s.employees,
                    openings: s.openings,
                }
            })
            .collect()
    };
    Stats {
        version: snap.version,
        totals: snap.totals.clone(),
        snapshot_build_ms: snap.build_ms,
        reference_year: snap.reference_year,
        privacy_k: k,
        districts: regions(RegionKind::District),
        parks: regions(RegionKind::Park),
    }
}
