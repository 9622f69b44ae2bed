//! `/health` and `/api/stats`: what the service holds, per city and per
//! district.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::analytics::privacy::json_count;
use crate::model::RegionKind;

use super::AppState;

/// Liveness and the data version being served.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let snap = state.snapshot();
    Json(json!({"status": "ok", "version": snap.version}))
}

/// Totals of every kind, the data version, and per-district counts (talent
/// counts under the privacy rule).
pub async fn stats(State(state): State<AppState>) -> Json<Value> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let t = &snap.totals;
    let regions = |kind: RegionKind| -> Vec<Value> {
        snap.regions
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| {
                let s = &r.stats;
                json!({
                    "id": r.id, "name": r.name,
                    "talents": json_count(s.talents, k),
                    "seekers": json_count(s.seekers, k),
                    "workers": json_count(s.workers, k),
                    "enterprises": s.enterprises,
                    "key_enterprises": s.key_enterprises,
                    "employees": s.employees,
                    "openings": s.openings,
                })
            })
            .collect()
    };
    Json(json!({
        "version": snap.version,
        "enterprises": t.enterprises,
        "vacancies": t.vacancies,
        "openings": t.openings,
        "open_openings": t.open_openings,
        "talents": t.talents,
        "seekers": t.seekers,
        "stations": t.stations,
        "regions": t.regions,
        "moves": t.moves,
        "snapshot_build_ms": snap.build_ms,
        "reference_year": snap.reference_year,
        "privacy_k": k,
        "districts": regions(RegionKind::District),
        "parks": regions(RegionKind::Park),
    }))
}
