//! Commute and job–housing endpoints:
//!
//! - `GET /tiles/commute/{z}/{x}/{y}.mvt?work_area=ID|work_bbox=w,s,e,n|enterprise=ID|home_area=ID[&filters]`
//!   and `GET /tiles/commute.json?…` (TileJSON): job–housing heat cells;
//! - `GET /api/commute/summary?area=ID[&filters]`: one area's indicators;
//! - `GET /api/commute/districts[?filters]`: every district and the city;
//! - `GET /api/commute/flows?level=district|park[&filters]`: OD lines (GeoJSON);
//! - `GET /api/commute/underserved[?limit=N]`: the underserved-park ranking;
//! - `POST /api/commute/scenario`: the same recomputed with hypothetical stops.
//!
//! The per-snapshot [`CommuteIndex`] is built on the first commute request
//! after a snapshot is published (on a blocking thread) and shared by all
//! requests on that snapshot.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde_json::{Map, Value, json};

use crate::analytics::commute::CommuteIndex;
use crate::analytics::commute::flows::FlowLevel;
use crate::analytics::commute::indicators::{AreaCounts, Summary, summarize};
use crate::analytics::commute::scenario::{self, MAX_RADIUS_M, MAX_STOPS, Stop};
use crate::analytics::commute::stations::WALK_RADIUS_M;
use crate::analytics::commute::underserved::{self, Underserved};
use crate::analytics::filter::Filter;
use crate::analytics::privacy::{json_count, publishable};
use crate::model::RegionKind;
use crate::snapshot::Snapshot;

use super::{ApiError, AppState, params};

/// The commute index of the snapshot being served, built at most once per
/// snapshot even when many requests ask at once (moka single flight). Holds
/// the snapshot weakly, so an old snapshot is freed when swapped out; its
/// index goes when the next snapshot's index is built (one entry).
pub struct CommuteCache {
    /// Keyed by the snapshot's address; the `Weak` tells a reused address
    /// from the snapshot that was indexed.
    slot: moka::sync::Cache<usize, (Weak<Snapshot>, Arc<CommuteIndex>)>,
}

impl Default for CommuteCache {
    fn default() -> Self {
        let slot = moka::sync::Cache::builder()
            .name("commute-index")
            .max_capacity(1)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        CommuteCache { slot }
    }
}

impl CommuteCache {
    fn cached(&self, snap: &Arc<Snapshot>) -> Option<Arc<CommuteIndex>> {
        let (s, index) = self.slot.get(&(Arc::as_ptr(snap) as usize))?;
        Weak::ptr_eq(&s, &Arc::downgrade(snap)).then_some(index)
    }

    /// The index of `snap`, building it (once per snapshot) if needed.
    pub fn get(&self, snap: &Arc<Snapshot>) -> Arc<CommuteIndex> {
        let key = Arc::as_ptr(snap) as usize;
        for _ in 0..2 {
            let (s, index) = self.slot.get_with(key, || {
                let index = Arc::new(CommuteIndex::build(snap));
                tracing::info!(ms = index.build_ms, version = snap.version, "commute index built");
                (Arc::downgrade(snap), index)
            });
            if Weak::ptr_eq(&s, &Arc::downgrade(snap)) {
                return index;
            }
            // The address of a freed snapshot, reused by this one.
            self.slot.invalidate(&key);
        }
        Arc::new(CommuteIndex::build(snap))
    }
}

/// The commute index of `snap` (the snapshot a request started with, so
/// region and enterprise positions resolved on it stay valid).
async fn index_of(state: &AppState, snap: &Arc<Snapshot>) -> Result<Arc<CommuteIndex>, ApiError> {
    if let Some(index) = state.commute.cached(snap) {
        return Ok(index);
    }
    let (cache, s) = (state.commute.clone(), snap.clone());
    tokio::task::spawn_blocking(move || cache.get(&s))
        .await
        .map_err(|e| ApiError::Internal(format!("commute index build failed: {e}")))
}

/// A region parameter that must name a district or a park.
pub(super) fn area_param(snap: &Snapshot, name: &str, id: &str) -> Result<u16, ApiError> {
    let r = snap.region(id).ok_or_else(|| ApiError::NotFound(format!("no region '{id}' (parameter {name})")))?;
    match snap.regions[r as usize].kind {
        RegionKind::District | RegionKind::Park => Ok(r),
        RegionKind::Street => Err(ApiError::param(
            name,
            format!(
                "'{id}' is a street; talents are assigned to districts and parks only; accepted: a district or park id"
            ),
        )),
    }
}

/// A summary labelled with its region (`None` = the city).
fn labelled(snap: &Snapshot, region: Option<u16>, counts: &AreaCounts, k: u32) -> Summary {
    let mut s = summarize(counts, k);
    match region {
        Some(r) => {
            let info = &snap.regions[r as usize];
            s.id = Some(info.id.clone());
            s.name = Some(info.name.clone());
            s.kind = Some(info.kind.code());
        }
        None => s.kind = Some("city"),
    }
    s
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Fields every commute answer carries.
fn meta(snap: &Snapshot, index: &CommuteIndex, filter: &Filter, k: u32) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("method".into(), json!(index.method()));
    m.insert("walk_radius_m".into(), json!(WALK_RADIUS_M));
    m.insert("k".into(), json!(k));
    m.insert("filter".into(), json!(filter.canonical()));
    m.insert("data_version".into(), json!(snap.version));
    m
}

/// `GET /api/commute/summary?area=ID[&filters]`
pub async fn summary(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, true, &["area"])?;
    let snap = state.snapshot();
    let filter = params::filter(&query, &snap)?;
    let id = query.get("area").ok_or_else(|| ApiError::param("area", "required: a district or park id"))?;
    let r = area_param(&snap, "area", id.trim())?;
    let index = index_of(&state, &snap).await?;
    let k = state.settings.k;
    let counts = index.area_filtered(&snap, r, &filter);
    let mut body = meta(&snap, &index, &filter, k);
    if let Value::Object(s) = to_value(&labelled(&snap, Some(r), &counts, k))? {
        body.extend(s);
    }
    Ok(Json(Value::Object(body)))
}

/// Summaries of every district, then the city.
fn district_summaries(snap: &Snapshot, areas: &[AreaCounts], k: u32) -> (Vec<Summary>, Summary) {
    let districts = (0..snap.regions.len() as u16)
        .filter(|&r| snap.regions[r as usize].kind == RegionKind::District)
        .map(|r| labelled(snap, Some(r), &areas[r as usize], k))
        .collect();
    let city = labelled(snap, None, &areas[snap.regions.len()], k);
    (districts, city)
}

/// `GET /api/commute/districts[?filters]`
pub async fn districts(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, true, &[])?;
    let snap = state.snapshot();
    let filter = params::filter(&query, &snap)?;
    let index = index_of(&state, &snap).await?;
    let k = state.settings.k;
    let areas = index.districts(&snap, &filter);
    let (districts, city) = district_summaries(&snap, &areas, k);
    let mut body = meta(&snap, &index, &filter, k);
    body.insert("districts".into(), to_value(&districts)?);
    body.insert("city".into(), to_value(&city)?);
    Ok(Json(Value::Object(body)))
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `GET /api/commute/flows?level=district|park[&filters]`: a GeoJSON
/// FeatureCollection of LineStrings from the home area's centre to the work
/// area's centre, largest first, with `count`. Flows of `1..k` talents are
/// left out (`suppressed_flows` says how many); commuting inside one area
/// is listed in `internal`.
pub async fn flows(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, true, &["level"])?;
    let snap = state.snapshot();
    let filter = params::filter(&query, &snap)?;
    let level = match query.get("level") {
        None => FlowLevel::District,
        Some(v) => v.trim().parse::<FlowLevel>().map_err(|_| {
            ApiError::param("level", format!("'{v}' is not accepted; accepted: {}", FlowLevel::ACCEPTED))
        })?,
    };
    let index = index_of(&state, &snap).await?;
    let k = state.settings.k;
    let all = index.flows(&snap, level, &filter);
    let (mut features, mut internal, mut suppressed) = (Vec::new(), Vec::new(), 0u64);
    for f in all.iter() {
        let Some(count) = publishable(f.count, k) else {
            suppressed += 1;
            continue;
        };
        let (a, b) = (&snap.regions[f.from as usize], &snap.regions[f.to as usize]);
        if f.from == f.to {
            internal.push(json!({"id": a.id, "name": a.name, "count": count}));
            continue;
        }
        features.push(json!({
            "type": "Feature",
            "id": format!("{}>{}", a.id, b.id),
            "geometry": {"type": "LineString", "coordinates": [
                [round6(a.centre[0]), round6(a.centre[1])], [round6(b.centre[0]), round6(b.centre[1])]
            ]},
            "properties": {"from": a.id, "from_name": a.name, "to": b.id, "to_name": b.name, "count": count},
        }));
    }
    let mut body = meta(&snap, &index, &filter, k);
    body.insert("type".into(), json!("FeatureCollection"));
    body.insert("level".into(), json!(level.name()));
    body.insert("features".into(), Value::Array(features));
    body.insert("internal".into(), Value::Array(internal));
    body.insert("suppressed_flows".into(), json!(suppressed));
    Ok(Json(Value::Object(body)))
}

/// The score formula as served next to the ranking.
const FORMULA: &str = "score = 100 * S * (0.5*F + 0.25*D + 0.25*C); S = ln(1+E)/ln(1+max E), E = young + 0.5*(workers - young); F = share of workers whose workplace is > 800 m from rail/metro; D = min(nearest_station_m/3000, 1); C = min(median_commute_km/20, 1)";

fn ranking_body(items: &[Underserved], limit: usize, parks: usize) -> Result<Map<String, Value>, ApiError> {
    let mut body = Map::new();
    body.insert("items".into(), to_value(&items.iter().take(limit).collect::<Vec<_>>())?);
    body.insert("ranked".into(), json!(items.len()));
    body.insert("parks".into(), json!(parks));
    body.insert("formula".into(), json!(FORMULA));
    Ok(body)
}

/// `GET /api/commute/underserved[?limit=N]`: parks with at least k workers,
/// most underserved first (score in [`underserved`]).
pub async fn underserved(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["limit"])?;
    let limit = params::int(&query, "limit", 1, 1000, 20)? as usize;
    let snap = state.snapshot();
    let index = index_of(&state, &snap).await?;
    let k = state.settings.k;
    let items = index.underserved(&snap, k);
    let parks = snap.regions.iter().filter(|r| r.kind == RegionKind::Park).count();
    let mut body = meta(&snap, &index, &Filter::default(), k);
    body.extend(ranking_body(&items, limit, parks)?);
    Ok(Json(Value::Object(body)))
}

/// A scenario request, validated.
struct ScenarioRequest {
    stops: Vec<Stop>,
    area: Option<String>,
    limit: usize,
}

fn parse_scenario(body: &[u8]) -> Result<ScenarioRequest, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not JSON ({e}); accepted: {{\"stations\": [{{\"lon\", \"lat\", \"radius_m\"?, \"name\"?}}], \"stops\"?: […], \"area\"?, \"limit\"?}}"
        ))
    })?;
    let Value::Object(obj) = v else {
        return Err(ApiError::BadRequest("the body must be a JSON object with a \"stations\" list".into()));
    };
    for key in obj.keys() {
        if !["stations", "stops", "area", "limit"].contains(&key.as_str()) {
            return Err(ApiError::param(key, "unknown field; accepted: stations, stops, area, limit"));
        }
    }
    let mut stops = Vec::new();
    for list in ["stations", "stops"] {
        let Some(items) = obj.get(list) else { continue };
        let Value::Array(items) = items else {
            return Err(ApiError::param(list, "must be a list of {\"lon\", \"lat\", \"radius_m\"?, \"name\"?}"));
        };
        for (i, item) in items.iter().enumerate() {
            let at = |field: &str| format!("{list}[{i}].{field}");
            let Value::Object(item) = item else {
                return Err(ApiError::param(
                    format!("{list}[{i}]"),
                    "must be an object {\"lon\", \"lat\", \"radius_m\"?, \"name\"?}",
                ));
            };
            for key in item.keys() {
                if !["lon", "lat", "radius_m", "name"].contains(&key.as_str()) {
                    return Err(ApiError::param(at(key), "unknown field; accepted: lon, lat, radius_m, name"));
                }
            }
            let number = |field: &str, lo: f64, hi: f64, what: &str| -> Result<Option<f64>, ApiError> {
                match item.get(field) {
                    None => Ok(None),
                    Some(x) => match x.as_f64() {
                        Some(n) if n.is_finite() && n >= lo && n <= hi => Ok(Some(n)),
                        _ => Err(ApiError::param(at(field), format!("{x} is not accepted; accepted: {what}"))),
                    },
                }
            };
            let lon = number("lon", -180.0, 180.0, "a longitude in [-180, 180] degrees")?
                .ok_or_else(|| ApiError::param(at("lon"), "required: a longitude in [-180, 180] degrees"))?;
            let lat = number("lat", -85.0511, 85.0511, "a latitude in [-85.0511, 85.0511] degrees")?
                .ok_or_else(|| ApiError::param(at("lat"), "required: a latitude in [-85.0511, 85.0511] degrees"))?;
            let radius_m = number("radius_m", 0.0, MAX_RADIUS_M, "metres in (0, 5000]")?.unwrap_or(WALK_RADIUS_M);
            if radius_m <= 0.0 {
                return Err(ApiError::param(at("radius_m"), "0 is not accepted; accepted: metres in (0, 5000]"));
            }
            let name = match item.get("name") {
                None => format!("{} {}", if list == "stations" { "station" } else { "stop" }, stops.len() + 1),
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 100 => s.trim().to_string(),
                Some(_) => {
                    return Err(ApiError::param(at("name"), "accepted: a non-empty string of at most 100 characters"));
                }
            };
            stops.push(Stop { lon, lat, radius_m, name });
        }
    }
    if stops.is_empty() || stops.len() > MAX_STOPS {
        return Err(ApiError::param(
            "stations",
            format!("{} stops given; accepted: 1..={MAX_STOPS} items over stations and stops", stops.len()),
        ));
    }
    let area = match obj.get("area") {
        None => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(ApiError::param("area", "accepted: a district or park id (string)")),
    };
    let limit = match obj.get("limit") {
        None => 20,
        Some(x) => match x.as_u64() {
            Some(n) if (1..=1000).contains(&n) => n as usize,
            _ => {
                return Err(ApiError::param("limit", format!("{x} is not accepted; accepted: an integer in 1..=1000")));
            }
        },
    };
    Ok(ScenarioRequest { stops, area, limit })
}

/// `POST /api/commute/scenario` with `{"stations": [{"lon", "lat",
/// "radius_m"?, "name"?}], "stops"?: […], "area"?: ID, "limit"?: N}`: the
/// district and city indicators, the area's (if given) and the underserved
/// ranking as if the stops existed, each ranked park with its `rank_before`
/// and `score_before`. Nothing is stored.
pub async fn scenario(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req = parse_scenario(&body)?;
    let snap = state.snapshot();
    let area = req.area.as_deref().map(|id| area_param(&snap, "area", id)).transpose()?;
    let index = index_of(&state, &snap).await?;
    let k = state.settings.k;
    let stops = req.stops;
    let (snap2, index2) = (snap.clone(), index.clone());
    let outcome = tokio::task::spawn_blocking(move || scenario::apply(&snap2, &index2, &stops))
        .await
        .map_err(|e| ApiError::Internal(format!("scenario failed: {e}")))?;
    let before: HashMap<String, (usize, f64)> =
        index.underserved(&snap, k).into_iter().map(|u| (u.id, (u.rank, u.score))).collect();
    let after = underserved::rank(&snap, &outcome.areas, &outcome.park_nearest, k);
    let parks = snap.regions.iter().filter(|r| r.kind == RegionKind::Park).count();
    let mut ranking = ranking_body(&after, req.limit, parks)?;
    if let Some(Value::Array(items)) = ranking.get_mut("items") {
        for item in items {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            if let (Some((rank, score)), Value::Object(o)) = (before.get(&id), item) {
                o.insert("rank_before".into(), json!(rank));
                o.insert("score_before".into(), json!(score));
            }
        }
    }
    let (districts, city) = district_summaries(&snap, &outcome.areas, k);
    let mut body = meta(&snap, &index, &Filter::default(), k);
    body.insert("newly_served_homes".into(), json_count(outcome.newly_served_homes, k));
    body.insert("newly_served_jobs".into(), json_count(outcome.newly_served_jobs, k));
    body.insert("underserved".into(), Value::Object(ranking));
    body.insert("districts".into(), to_value(&districts)?);
    body.insert("city".into(), to_value(&city)?);
    if let Some(r) = area {
        body.insert("area".into(), to_value(&labelled(&snap, Some(r), &outcome.areas[r as usize], k))?);
    }
    Ok(Json(Value::Object(body)))
}
