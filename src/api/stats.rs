//! `/health` and `/api/stats`: what the service holds, per city and per
//! district.

use axum::Json;
use axum::extract::{Extension, State};

use crate::analytics::privacy::Disclosure;
use crate::auth::Principal;
use crate::model::RegionKind;

use super::access::{self, Caller};
use super::query::{ApiQuery, NoParams};
use super::types::map::{Health, Stats, StatsRegion};
use super::{ApiError, AppState};

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
pub async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(principal): Extension<Principal>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Stats>, ApiError> {
    let d = access::disclosure_for(&principal, state.settings.k, &[]);
    access::audit_exact(&caller, d, "GET /api/stats", serde_json::json!({})).await?;
    Ok(Json(stats_of(&state, d)))
}

/// The same answer as JSON with exact counts, for the `talentmap stats`
/// command (whoever can read the data directory reads the store anyway).
pub async fn stats_value(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(stats_of(&state, Disclosure::Exact)).unwrap_or_default())
}

/// Totals and per-region counts of the snapshot being served, talent counts
/// through `d`.
pub fn stats_of(state: &AppState, d: Disclosure) -> Stats {
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
                    talents: Some(d.count(s.talents_tally())),
                    seekers: Some(d.count(s.seekers_tally())),
                    workers: Some(d.count(s.workers_tally())),
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
        totals: crate::snapshot::Totals {
            talents: d.count(snap.totals_tallies.talents),
            seekers: d.count(snap.totals_tallies.seekers),
            registered: d.count(snap.totals_tallies.registered),
            departed: d.count(snap.totals_tallies.departed),
            ..snap.totals.clone()
        },
        snapshot_build_ms: snap.build_ms,
        reference_year: snap.reference_year,
        privacy_k: k,
        exact_counts: d.is_exact(),
        districts: regions(RegionKind::District),
        parks: regions(RegionKind::Park),
        basemap: state
            .settings
            .basemap
            .as_ref()
            .and_then(|b| serde_json::to_value(b.info().schema).ok().and_then(|v| v.as_str().map(String::from))),
    }
}
