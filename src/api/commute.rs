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
//! requests on that snapshot. It holds tallies (counts with cell keys), not
//! published numbers, so it does not depend on who asks.
//!
//! Disclosure ([`crate::analytics::privacy`]): `summary?area=ID` is exact for
//! an admin and for an analyst whose jurisdiction covers the area; the
//! city-wide answers (districts, flows, underserved, scenario) are exact for
//! admins only; everyone else gets perturbed counts and statistics only for
//! groups of at least 20. Exact answers are audited.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::Json;
use axum::extract::{Extension, State};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::analytics::commute::CommuteIndex;
use crate::analytics::commute::flows::FlowLevel;
use crate::analytics::commute::indicators::{AreaCounts, Summary, summarize};
use crate::analytics::commute::scenario::{self, MAX_RADIUS_M, MAX_STOPS, Stop};
use crate::analytics::commute::stations::WALK_RADIUS_M;
use crate::analytics::commute::underserved::{self, Underserved};
use crate::analytics::filter::Filter;
use crate::analytics::privacy::Disclosure;
use crate::auth::Principal;
use crate::model::RegionKind;
use crate::snapshot::{Snapshot, TalentRec};

use super::access::{self, Caller};
use super::body::ApiJson;
use super::error::ErrorBody;
use super::query::{ApiQuery, FilterParams, Filtered, Int};
use super::types::commute::*;
use super::types::{CollectionTag, FeatureTag, GeoJson, GeoJsonBytes, Geometry};
use super::{ApiError, AppState};
use crate::spatial::MAX_LATITUDE;

/// The commute index of the snapshot being served, made at most once per
/// snapshot even when many requests ask at once (moka single flight). Holds
/// the snapshot weakly, so an old snapshot is freed when swapped out; its
/// index goes when the next snapshot's index is made (one entry).
///
/// A snapshot made by moves batches from the snapshot of the index made
/// last has its index followed from that one (`CommuteIndex::follow`,
/// about a tenth of a build at 4 M talents), whether the warming thread or
/// a request asks first: a request during a feed, before the warming thread
/// has reached the newest snapshot, does not build an index from scratch.
pub struct CommuteCache {
    /// Keyed by the snapshot's address; the `Weak` tells a reused address
    /// from the snapshot that was indexed.
    slot: moka::sync::Cache<usize, (Weak<Snapshot>, Arc<CommuteIndex>)>,
    /// The index of the newest snapshot made so far, with that snapshot's
    /// version.
    latest: std::sync::Mutex<Option<(u64, Arc<CommuteIndex>)>>,
}

impl Default for CommuteCache {
    fn default() -> Self {
        let slot = moka::sync::Cache::builder()
            .name("commute-index")
            .max_capacity(1)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        CommuteCache { slot, latest: std::sync::Mutex::new(None) }
    }
}

impl CommuteCache {
    fn cached(&self, snap: &Arc<Snapshot>) -> Option<Arc<CommuteIndex>> {
        let (s, index) = self.slot.get(&(Arc::as_ptr(snap) as usize))?;
        Weak::ptr_eq(&s, &Arc::downgrade(snap)).then_some(index)
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, Option<(u64, Arc<CommuteIndex>)>> {
        self.latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `index` as the newest made unless a newer snapshot's is.
    fn made(&self, version: u64, index: &Arc<CommuteIndex>) {
        let mut latest = self.latest();
        if latest.as_ref().is_none_or(|(v, _)| *v <= version) {
            *latest = Some((version, index.clone()));
        }
    }

    /// The index of `snap`, made (once per snapshot) if needed: followed
    /// from the index of the newest snapshot made so far when `snap` was
    /// made from it by moves batches, otherwise built.
    pub fn get(&self, snap: &Arc<Snapshot>) -> Arc<CommuteIndex> {
        let key = Arc::as_ptr(snap) as usize;
        for _ in 0..2 {
            let (s, index) = self.slot.get_with(key, || (Arc::downgrade(snap), self.followed_or_built(snap)));
            if Weak::ptr_eq(&s, &Arc::downgrade(snap)) {
                return index;
            }
            // The address of a freed snapshot, reused by this one.
            self.slot.invalidate(&key);
        }
        self.followed_or_built(snap)
    }

    fn followed_or_built(&self, snap: &Arc<Snapshot>) -> Arc<CommuteIndex> {
        let followed = || {
            let (version, before) = self.latest().clone()?;
            let steps = crate::snapshot::patch::renumbered(snap)?.steps(version)?;
            CommuteIndex::follow(&before, snap, &steps)
        };
        let index = match followed() {
            Some(index) => {
                tracing::info!(ms = index.build_ms, version = snap.version, "commute index followed");
                index
            }
            None => {
                let index = CommuteIndex::build(snap);
                tracing::info!(ms = index.build_ms, version = snap.version, "commute index built");
                index
            }
        };
        let index = Arc::new(index);
        self.made(snap.version, &index);
        index
    }

    /// Takes `index` as the index of `snap` (one read back from the saved
    /// derived indexes, `analytics::saved`).
    pub fn put(&self, snap: &Arc<Snapshot>, index: Arc<CommuteIndex>) {
        self.made(snap.version, &index);
        self.slot.insert(Arc::as_ptr(snap) as usize, (Arc::downgrade(snap), index));
    }
}

/// The commute index of `snap` (the snapshot a request started with, so
/// region and enterprise positions resolved on it stay valid).
pub(super) async fn index_of(state: &AppState, snap: &Arc<Snapshot>) -> Result<Arc<CommuteIndex>, ApiError> {
    if let Some(index) = state.commute.cached(snap) {
        return Ok(index);
    }
    let (cache, s) = (state.commute.clone(), snap.clone());
    state.compute.run(move || cache.get(&s)).await
}

/// The commute index of a view's snapshot (today's or a past month's,
/// `api::past`), built on the compute pool on first use.
pub(super) async fn index_in(state: &AppState, view: &super::past::View) -> Result<Arc<CommuteIndex>, ApiError> {
    if let Some(index) = view.commute.cached(&view.snap) {
        return Ok(index);
    }
    let (cache, s) = (view.commute.clone(), view.snap.clone());
    state.compute.run(move || cache.get(&s)).await
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
fn labelled(snap: &Snapshot, region: Option<u16>, counts: &AreaCounts, d: Disclosure) -> Summary {
    let mut s = summarize(counts, d);
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

/// Members every commute answer carries.
fn meta(snap: &Snapshot, index: &CommuteIndex, filter: &Filter, k: u32, d: Disclosure) -> CommuteMeta {
    CommuteMeta {
        method: index.method(),
        walk_radius_m: WALK_RADIUS_M,
        k,
        exact_counts: d.is_exact(),
        filter: filter.canonical().to_string(),
        data_version: snap.version,
    }
}

/// The parameters of `/api/commute/summary` besides the record filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Required: a district or park id, or a study-area id (`sa_…`).
    pub area: Option<String>,
}

/// `GET /api/commute/summary?area=ID[&filters]`. The index build and the
/// filtered counts run on the compute pool.
#[utoipa::path(get, path = "/api/commute/summary", tag = "commute", params(SummaryParams, FilterParams),
    responses((status = 200, description = "The area's commute and job–housing indicators", body = CommuteSummary),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such region", body = ErrorBody)))]
pub async fn summary(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<Filtered<SummaryParams>>,
) -> Result<Json<CommuteSummary>, ApiError> {
    let snap = state.snapshot();
    let filter = query.filter.filter(&snap)?;
    let id = query.query.area.ok_or_else(|| ApiError::param("area", "required: a district, park or study-area id"))?;
    let resolved = super::areas::resolve(&state, &snap, "area", id.trim()).await?;
    let named = super::areas::area_ref(&snap, &resolved);
    let k = state.settings.k;
    let d = super::areas::disclosure(&state, &snap, &principal, &resolved).await?;
    access::audit_exact(
        &caller,
        d,
        "GET /api/commute/summary",
        json!({"area": named.id, "filter": filter.canonical().to_string()}),
    )
    .await?;
    let index = index_of(&state, &snap).await?;
    let meta = meta(&snap, &index, &filter, k, d);
    let summary = state
        .compute
        .run(move || match resolved {
            super::areas::Resolved::Region(r) => labelled(&snap, Some(r), &index.area_filtered(&snap, r, &filter), d),
            super::areas::Resolved::Study(..) => {
                let place = resolved.place();
                let lives = |t: &TalentRec| filter.talent(t) && place.lives(t);
                let works = |t: &TalentRec| filter.talent(t) && place.works(t);
                let mut s = summarize(&index.place(&snap, &lives, &works), d);
                (s.id, s.name, s.kind) = (Some(named.id), Some(named.name), Some("study"));
                s
            }
        })
        .await?;
    Ok(Json(CommuteSummary { meta, summary }))
}

/// Summaries of every district, then the city.
fn district_summaries(snap: &Snapshot, areas: &[AreaCounts], d: Disclosure) -> (Vec<Summary>, Summary) {
    let districts = (0..snap.regions.len() as u16)
        .filter(|&r| snap.regions[r as usize].kind == RegionKind::District)
        .map(|r| labelled(snap, Some(r), &areas[r as usize], d))
        .collect();
    let city = labelled(snap, None, &areas[snap.regions.len()], d);
    (districts, city)
}

/// The parameters of a commute route that takes only the record filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnlyFilters {}

/// `GET /api/commute/districts[?filters]`. Runs on the compute pool.
#[utoipa::path(get, path = "/api/commute/districts", tag = "commute", params(FilterParams),
    responses((status = 200, description = "Every district's indicators and the city's", body = CommuteDistricts),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn districts(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<Filtered<OnlyFilters>>,
) -> Result<Json<CommuteDistricts>, ApiError> {
    let snap = state.snapshot();
    let filter = query.filter.filter(&snap)?;
    let k = state.settings.k;
    let d = access::disclosure_for(&principal, k, &[]);
    let params = json!({"filter": filter.canonical().to_string()});
    access::audit_exact(&caller, d, "GET /api/commute/districts", params).await?;
    let index = index_of(&state, &snap).await?;
    let meta = meta(&snap, &index, &filter, k, d);
    let (districts, city) =
        state.compute.run(move || district_summaries(&snap, &index.districts(&snap, &filter), d)).await?;
    Ok(Json(CommuteDistricts { meta, districts, city }))
}

/// The areas commute flows are drawn between.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowLevelCode {
    #[default]
    District,
    Park,
}

/// The parameters of `/api/commute/flows` besides the record filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlowsParams {
    /// Default district.
    pub level: Option<FlowLevelCode>,
}

/// `GET /api/commute/flows?level=district|park[&filters]`: a GeoJSON
/// FeatureCollection of LineStrings from the home area's centre to the work
/// area's centre, largest published count first, with `count` (each flow
/// its own tally: perturbed unless the caller is an admin); flows published
/// as 0 are left out; commuting inside one area is listed in `internal`.
/// Runs on the compute pool.
#[utoipa::path(get, path = "/api/commute/flows", tag = "commute", params(FlowsParams, FilterParams),
    responses((status = 200, description = "Home-to-work flows between areas", body = CommuteFlows,
               content_type = "application/geo+json"),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn flows(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<Filtered<FlowsParams>>,
) -> Result<GeoJsonBytes, ApiError> {
    let snap = state.snapshot();
    let filter = query.filter.filter(&snap)?;
    let level = match query.query.level.unwrap_or_default() {
        FlowLevelCode::District => FlowLevel::District,
        FlowLevelCode::Park => FlowLevel::Park,
    };
    let k = state.settings.k;
    let d = access::disclosure_for(&principal, k, &[]);
    let params = json!({"level": level.name(), "filter": filter.canonical().to_string()});
    access::audit_exact(&caller, d, "GET /api/commute/flows", params).await?;
    let index = index_of(&state, &snap).await?;
    let meta = meta(&snap, &index, &filter, k, d);
    // Written as JSON on the pool, where the flows are found.
    state
        .compute
        .run(move || {
            let (features, internal) = flow_features(&snap, &index, level, &filter, d);
            let tag = CollectionTag::FeatureCollection;
            GeoJson(CommuteFlows { meta, tag, level: level.name(), features, internal }).written()
        })
        .await?
}

type FlowParts = (Vec<CommuteFlowFeature>, Vec<InternalFlow>);

fn flow_features(snap: &Snapshot, index: &CommuteIndex, level: FlowLevel, filter: &Filter, d: Disclosure) -> FlowParts {
    let (mut features, mut internal) = (Vec::new(), Vec::new());
    let mut published: Vec<(u16, u16, u64)> = index
        .flows(snap, level, filter)
        .iter()
        .map(|f| (f.from, f.to, d.count(f.count)))
        .filter(|&(_, _, count)| count > 0)
        .collect();
    published.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    for (from, to, count) in published {
        let (a, b) = (&snap.regions[from as usize], &snap.regions[to as usize]);
        if from == to {
            internal.push(InternalFlow { id: a.id.clone(), name: a.name.clone(), count });
            continue;
        }
        features.push(CommuteFlowFeature {
            tag: FeatureTag::Feature,
            id: format!("{}>{}", a.id, b.id),
            geometry: Geometry::line(a.centre, b.centre),
            properties: CommuteFlowProperties {
                from: a.id.clone(),
                from_name: a.name.clone(),
                to: b.id.clone(),
                to_name: b.name.clone(),
                count,
            },
        });
    }
    (features, internal)
}

/// The score formula as served next to the ranking.
const FORMULA: &str = "score = 100 * S * (0.5*F + 0.25*D + 0.25*C); S = ln(1+E)/ln(1+max E), E = young + 0.5*(workers - young); F = share of workers whose workplace is > 800 m from rail/metro; D = min(nearest_station_m/3000, 1); C = min(median_commute_km/20, 1)";

fn ranking_of(items: Vec<Underserved>, limit: usize, parks: usize) -> UnderservedRanking {
    let ranked = items.len();
    let items =
        items.into_iter().take(limit).map(|park| RankedPark { park, rank_before: None, score_before: None }).collect();
    UnderservedRanking { items, ranked, parks, formula: FORMULA }
}

/// The parameters of `/api/commute/underserved`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnderservedParams {
    /// Ranked parks answered: 1..=1000, default 20.
    #[param(inline)]
    pub limit: Option<Int<1, 1000>>,
}

/// `GET /api/commute/underserved[?limit=N]`: parks whose published worker
/// count is positive, most underserved first (score in [`underserved`],
/// from published counts). Runs on the compute pool.
#[utoipa::path(get, path = "/api/commute/underserved", tag = "commute", params(UnderservedParams),
    responses((status = 200, description = "Parks ranked by the underserved score", body = CommuteUnderserved),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn underserved(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<UnderservedParams>,
) -> Result<Json<CommuteUnderserved>, ApiError> {
    let limit = query.limit.map_or(20, |l| l.get() as usize);
    let snap = state.snapshot();
    let k = state.settings.k;
    let d = access::disclosure_for(&principal, k, &[]);
    access::audit_exact(&caller, d, "GET /api/commute/underserved", json!({"limit": limit})).await?;
    let index = index_of(&state, &snap).await?;
    let meta = meta(&snap, &index, &Filter::default(), k, d);
    let parks = snap.regions.iter().filter(|r| r.kind == RegionKind::Park).count();
    let items = state.compute.run(move || index.underserved(&snap, d)).await?;
    Ok(Json(CommuteUnderserved { meta, ranking: ranking_of(items, limit, parks) }))
}

/// A validated scenario: its stops, area and limit.
struct Scenario {
    stops: Vec<Stop>,
    area: Option<String>,
    limit: usize,
}

/// Checks the ranges of a scenario body (its shape is checked by serde).
fn validate_scenario(req: ScenarioRequest) -> Result<Scenario, ApiError> {
    let mut stops = Vec::new();
    for (list, items) in [("stations", req.stations), ("stops", req.stops)] {
        for (i, item) in items.into_iter().flatten().enumerate() {
            stops.push(validate_stop(list, i, item, stops.len())?);
        }
    }
    if stops.is_empty() || stops.len() > MAX_STOPS {
        return Err(ApiError::param(
            "stations",
            format!("{} stops given; accepted: 1..={MAX_STOPS} items over stations and stops", stops.len()),
        ));
    }
    let limit = match req.limit {
        None => 20,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::param("limit", format!("{n} is not accepted; accepted: an integer in 1..=1000")));
        }
    };
    Ok(Scenario { stops, area: req.area.map(|a| a.trim().to_string()), limit })
}

fn validate_stop(list: &str, i: usize, item: StopInput, before: usize) -> Result<Stop, ApiError> {
    let at = |field: &str| format!("{list}[{i}].{field}");
    if !(-180.0..=180.0).contains(&item.lon) {
        let message = format!("{} is not accepted; accepted: a longitude in [-180, 180] degrees", item.lon);
        return Err(ApiError::param(at("lon"), message));
    }
    if !(-MAX_LATITUDE..=MAX_LATITUDE).contains(&item.lat) {
        let message =
            format!("{} is not accepted; accepted: a latitude in [-{MAX_LATITUDE}, {MAX_LATITUDE}] degrees", item.lat);
        return Err(ApiError::param(at("lat"), message));
    }
    let radius_m = item.radius_m.unwrap_or(WALK_RADIUS_M);
    if !(radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
        let message = format!("{radius_m} is not accepted; accepted: metres in (0, {MAX_RADIUS_M}]");
        return Err(ApiError::param(at("radius_m"), message));
    }
    let name = match item.name {
        None => format!("{} {}", if list == "stations" { "station" } else { "stop" }, before + 1),
        Some(s) if !s.trim().is_empty() && s.chars().count() <= 100 => s.trim().to_string(),
        Some(_) => return Err(ApiError::param(at("name"), "accepted: a non-empty string of at most 100 characters")),
    };
    Ok(Stop { lon: item.lon, lat: item.lat, radius_m, name })
}

/// `POST /api/commute/scenario` with `{"stations": [{"lon", "lat",
/// "radius_m"?, "name"?}], "stops"?: […], "area"?: ID, "limit"?: N}`: the
/// district and city indicators, the area's (if given) and the underserved
/// ranking as if the stops existed, each ranked park with its `rank_before`
/// and `score_before`. Nothing is stored. Runs on the compute pool.
#[utoipa::path(post, path = "/api/commute/scenario", tag = "commute", request_body = ScenarioRequest,
    responses((status = 200, description = "The indicators as if the stops existed", body = ScenarioOutcome),
              (status = 400, description = "The body is not JSON (`bad_request`) or a field is invalid (`bad_parameter`, \
                                            naming it, e.g. `stations[1].lat`)", body = ErrorBody),
              (status = 404, description = "No such area", body = ErrorBody),
              (status = 413, description = "The body is too large", body = ErrorBody)))]
pub async fn scenario(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<ScenarioRequest>,
) -> Result<Json<ScenarioOutcome>, ApiError> {
    let req = validate_scenario(body)?;
    let snap = state.snapshot();
    let area = req.area.as_deref().map(|id| area_param(&snap, "area", id)).transpose()?;
    let k = state.settings.k;
    let d = access::disclosure_for(&principal, k, &[]);
    let params = json!({"stops": req.stops.len(), "area": req.area});
    access::audit_exact(&caller, d, "POST /api/commute/scenario", params).await?;
    let index = index_of(&state, &snap).await?;
    let meta = meta(&snap, &index, &Filter::default(), k, d);
    state.compute.run(move || run_scenario(&snap, &index, req, area, d, meta)).await.map(Json)
}

fn run_scenario(
    snap: &Snapshot,
    index: &CommuteIndex,
    req: Scenario,
    area: Option<u16>,
    d: Disclosure,
    meta: CommuteMeta,
) -> ScenarioOutcome {
    let outcome = scenario::apply(snap, index, &req.stops);
    let before: HashMap<String, (usize, f64)> =
        index.underserved(snap, d).into_iter().map(|u| (u.id, (u.rank, u.score))).collect();
    let after = underserved::rank(snap, &outcome.areas, &outcome.park_nearest, d);
    let parks = snap.regions.iter().filter(|r| r.kind == RegionKind::Park).count();
    let mut ranking = ranking_of(after, req.limit, parks);
    for item in &mut ranking.items {
        if let Some(&(rank, score)) = before.get(&item.park.id) {
            item.rank_before = Some(rank);
            item.score_before = Some(score);
        }
    }
    let (districts, city) = district_summaries(snap, &outcome.areas, d);
    ScenarioOutcome {
        meta,
        newly_served_homes: Some(d.count(outcome.newly_served_homes)),
        newly_served_jobs: Some(d.count(outcome.newly_served_jobs)),
        underserved: ranking,
        districts,
        city,
        area: area.map(|r| labelled(snap, Some(r), &outcome.areas[r as usize], d)),
    }
}
