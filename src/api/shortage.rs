//! Shortage and mismatch endpoints:
//!
//! - `GET /api/shortage?field=CODE&by=district|park|cell[&zoom=Z]` — areas
//!   ranked by shortage index, most short first;
//! - `GET /api/shortage/fields?area=ID` — the fields an area is short of;
//! - `GET /api/shortage/explain?area=ID&field=CODE` — how one number arose;
//! - `GET /api/mismatch?area=ID|chain=ID` — mismatch tables;
//! - the `shortage` tile layer (`/tiles/shortage/{z}/{x}/{y}.mvt?field=…`,
//!   `/tiles/shortage.json?field=…`), served through the common tile path.
//!
//! Common parameters: `education`, `title` (one value each; demand asks for
//! exactly it, supply holds at least it), `prior` (m, seekers, default 10),
//! `interval` (credible level, default 0.8), `radius` (catchment, km,
//! default 10), `decay` (gaussian, linear, uniform). Rankings take
//! `limit` and `format=json|csv`. Definitions and privacy rules:
//! [`crate::analytics::shortage`].
//!
//! Disclosure: talent counts (supply, employed, allocated seekers, the
//! seeker and workforce tables) are published under the request's
//! [`Disclosure`] from [`access::disclosure_for`], given the areas the route
//! is about: rankings (`by=district|park|cell`) and chains are about the
//! whole city (`[]`), `fields`, `explain` and `mismatch?area=` about their
//! `area`. Exact answers (an admin; an analyst for an area of the
//! jurisdiction) are audited with [`access::audit_exact`] and marked
//! `exact_counts: true`; all others publish perturbed counts
//! (`analytics::privacy`) and everything derived from them. City-wide
//! counts (the city supply behind `ρ`, the catchment's totals, a chain's
//! seekers) and the catchment's allocations (`effective_*`: seekers living
//! anywhere within reach) are about the whole city: exact for admins only. Grid cells
//! finer than the finest cell of the talents layer are refused (`400`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use axum::extract::Extension;

use crate::analytics::hiring::{self, Difficulty};
use crate::analytics::privacy::Disclosure;
use crate::analytics::shortage::areas::{
    Area, By, Context, Figures, Query, contributors, fields_in, fields_in_ranges, rank,
};
use crate::analytics::shortage::basis::{Basis, Narrow};
use crate::analytics::shortage::catchment::{DEFAULT_RADIUS_M, Decay};
use crate::analytics::shortage::effective::CatchmentParams;
use crate::analytics::shortage::index::{DEFAULT_INTERVAL, DEFAULT_PRIOR, Estimate, Smoothing, published_allocation};
use crate::analytics::shortage::mismatch::{Scope, mismatch as mismatch_report};
use crate::areas::Place;
use crate::auth::Principal;
use crate::encode::shortage::{MAXZOOM, round4};
use crate::model::{Date, Education, RegionKind, Title};
use crate::snapshot::Snapshot;
use crate::spatial::round6;

use super::access::{self, Access, Caller};
use super::error::ErrorBody;
use super::params::Number;
use super::query::{ApiQuery, Int, QueryParams, param_names};
use super::types::map::ChainEntry;
use super::types::shortage::*;
use super::{ApiError, AppState};

fn number(query: &BTreeMap<String, String>, name: &str, min: f64, max: f64, default: f64) -> Result<f64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(x),
            _ => Err(ApiError::param(name, format!("'{v}' is not accepted; accepted: a number in {min}..={max}"))),
        },
    }
}

/// Parses the shortage query of a request, to be answered under
/// `disclosure` (for the areas and the city alike; a route about one area
/// sets `smoothing.city_disclosure` apart). `field` is required.
pub fn parse_query(
    query: &BTreeMap<String, String>,
    snap: &Snapshot,
    disclosure: Disclosure,
) -> Result<Query, ApiError> {
    let accepted_fields = "one 4-digit first-level discipline code such as 0812 (see /api/taxonomy)";
    let field = match query.get("field").map(|s| s.trim()) {
        None | Some("") => return Err(ApiError::param("field", format!("required; accepted: {accepted_fields}"))),
        Some(code) => snap
            .taxonomy
            .field_index(code)
            .ok_or_else(|| ApiError::param("field", format!("unknown value '{code}'; accepted: {accepted_fields}")))?,
    };
    let education = query
        .get("education")
        .map(|v| {
            v.trim().parse::<Education>().map(|e| e.index()).map_err(|_| {
                ApiError::param(
                    "education",
                    format!("'{v}' is not accepted; accepted: one of {}", Education::accepted()),
                )
            })
        })
        .transpose()?;
    let title = query
        .get("title")
        .map(|v| {
            v.trim().parse::<Title>().map(|t| t.index()).map_err(|_| {
                ApiError::param("title", format!("'{v}' is not accepted; accepted: one of {}", Title::accepted()))
            })
        })
        .transpose()?;
    let decay = match query.get("decay") {
        None => Decay::default(),
        Some(v) => v
            .trim()
            .parse::<Decay>()
            .map_err(|accepted| ApiError::param("decay", format!("'{v}' is not accepted; accepted: {accepted}")))?,
    };
    Ok(Query {
        field,
        narrow: Narrow { education, title },
        smoothing: Smoothing::disclosed(
            number(query, "prior", 0.01, 10_000.0, DEFAULT_PRIOR)?,
            number(query, "interval", 0.5, 0.99, DEFAULT_INTERVAL)?,
            disclosure,
        ),
        catchment: CatchmentParams {
            radius_m: number(query, "radius", 0.5, 50.0, DEFAULT_RADIUS_M / 1000.0)? * 1000.0,
            decay,
        },
    })
}

fn field_code(snap: &Snapshot, field: u8) -> String {
    snap.taxonomy.field(field).map_or_else(String::new, |f| f.code.clone())
}

/// An education level (demand asks for exactly it, supply holds at least it).
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum EducationCode {
    Associate,
    Bachelor,
    Master,
    Doctorate,
}

/// A professional title (demand asks for exactly it, supply holds at least it).
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TitleCode {
    None,
    Junior,
    Intermediate,
    AssociateSenior,
    Senior,
}

/// The distance decay of the commuting catchment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecayCode {
    Gaussian,
    Linear,
    Uniform,
}

impl From<DecayCode> for crate::analytics::shortage::Decay {
    fn from(d: DecayCode) -> Self {
        use crate::analytics::shortage::Decay;
        match d {
            DecayCode::Gaussian => Decay::Gaussian,
            DecayCode::Linear => Decay::Linear,
            DecayCode::Uniform => Decay::Uniform,
        }
    }
}

impl DecayCode {
    fn code(self) -> &'static str {
        match self {
            DecayCode::Gaussian => "gaussian",
            DecayCode::Linear => "linear",
            DecayCode::Uniform => "uniform",
        }
    }
}

/// The parameters every shortage query takes (`field` is required where
/// the route needs one).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShortageParams {
    /// One 4-digit first-level discipline code such as 0812 (see /api/taxonomy).
    #[param(example = "0812")]
    pub field: Option<String>,
    /// One education level.
    #[param(value_type = Option<EducationCode>)]
    pub education: Option<String>,
    /// One professional title.
    #[param(value_type = Option<TitleCode>)]
    pub title: Option<String>,
    /// Prior strength m in seekers: 0.01..=10000, default 10.
    #[param(value_type = Option<f64>, minimum = 0.01, maximum = 10000.0)]
    pub prior: Option<Number>,
    /// Credible level of the interval: 0.5..=0.99, default 0.8.
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 0.99)]
    pub interval: Option<Number>,
    /// Catchment radius in km: 0.5..=50, default 10.
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 50.0)]
    pub radius: Option<Number>,
    /// Distance decay of the catchment (default gaussian).
    pub decay: Option<DecayCode>,
}

impl ShortageParams {
    /// The parameters as the shared parser (also used by the tiles) takes them.
    fn to_map(&self) -> BTreeMap<String, String> {
        let number = |n: &Option<Number>| n.map(|n| n.0.to_string());
        let entries = [
            ("field", self.field.clone()),
            ("education", self.education.clone()),
            ("title", self.title.clone()),
            ("prior", number(&self.prior)),
            ("interval", number(&self.interval)),
            ("radius", number(&self.radius)),
            ("decay", self.decay.map(|d| d.code().to_string())),
        ];
        entries.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect()
    }

    /// The analytics query under `disclosure`, or a `400` naming the
    /// parameter.
    pub(crate) fn query(&self, snap: &Snapshot, disclosure: Disclosure) -> Result<Query, ApiError> {
        parse_query(&self.to_map(), snap, disclosure)
    }
}

/// A route's own parameters `T` plus the [`ShortageParams`].
#[derive(Debug, Clone)]
pub struct WithShortage<T> {
    pub shortage: ShortageParams,
    pub own: T,
}

impl<T: QueryParams> QueryParams for WithShortage<T> {
    fn names() -> Vec<String> {
        let mut names = param_names::<ShortageParams>();
        names.extend(T::names());
        names
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let common = super::query::names_of::<ShortageParams>(param_names::<ShortageParams>);
        let (shortage, own): (Vec<_>, Vec<_>) = pairs.iter().cloned().partition(|(k, _)| common.contains(k));
        Ok(WithShortage { shortage: ShortageParams::from_pairs(&shortage)?, own: T::from_pairs(&own)? })
    }
}

/// Rounded to 0.1 (effective supply is a weighted sum).
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The numbers of one estimate, its effective counterpart and the
/// employed count, as published under `disclosure` (the estimates already
/// rest on published supplies).
fn numbers(f: &Figures, e: &Estimate, eff: Option<&Estimate>, disclosure: Disclosure) -> Numbers {
    let (low, high) = e.interval.map_or((None, None), |(l, h)| (Some(round4(l)), Some(round4(h))));
    Numbers {
        demand: f.demand as u64,
        supply: e.supply as u64,
        ratio: e.ratio.map(round4),
        index: round4(e.index),
        low,
        high,
        low_data: e.low_data,
        employed: f.employed.map(|t| disclosure.count(t)),
        effective_supply: eff.map(|x| tenth(x.supply)),
        effective_ratio: eff.and_then(|x| x.ratio).map(round4),
        effective_index: eff.map(|x| round4(x.index)),
        effective_low_data: eff.map(|x| x.low_data),
    }
}

fn area_ref(snap: &Snapshot, area: Area) -> AreaRef {
    let [lon, lat] = area.centre(snap);
    AreaRef { id: area.id(snap), name: area.name(snap), kind: area.kind(snap), lon: round6(lon), lat: round6(lat) }
}

fn area_row(snap: &Snapshot, area: Area, n: Numbers) -> AreaRow {
    let a = area_ref(snap, area);
    AreaRow::new(a.id, a.name, a.kind, a.lon, a.lat, n)
}

/// Rows as a CSV download: the header is the row type's field names.
fn csv_response<T: Serialize>(rows: &[T], header: &[&str], filename: &str) -> Result<Response, ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(header).map_err(internal)?;
    }
    for row in rows {
        w.serialize(row).map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    Ok(super::xlsx::download(bytes, super::xlsx::CSV_CONTENT_TYPE, filename))
}

/// The answer format of a ranking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

fn query_echo(snap: &Snapshot, q: &Query, ctx: &Context) -> QueryEcho {
    QueryEcho {
        field: field_code(snap, q.field),
        education: q.narrow.education.and_then(Education::from_index).map(|e| e.code()),
        title: q.narrow.title.and_then(Title::from_index).map(|t| t.code()),
        prior: q.smoothing.prior,
        interval: q.smoothing.interval,
        radius_km: q.catchment.radius_m / 1000.0,
        decay: q.catchment.decay.code(),
        city: CityFigures {
            demand: ctx.city.demand as u64,
            supply: ctx.city.supply as u64,
            ratio: round4(ctx.city.ratio),
        },
        city_effective_ratio: round4(ctx.city_effective.ratio),
    }
}

/// How talent counts leave the server for `principal` on a route about
/// `areas` (see the module docs).
fn disclosure(state: &AppState, principal: &Principal, areas: &[&str]) -> Disclosure {
    access::disclosure_for(principal, state.settings.k, areas)
}

/// How city-wide talent counts leave the server for `principal`.
fn city_disclosure(state: &AppState, principal: &Principal) -> Disclosure {
    disclosure(state, principal, &[])
}

/// The finest grid level an area id may name: that of the finest cell the
/// talents layer draws (its maxzoom + 5). A finer cell would let a parent
/// minus its children place one person within metres.
pub fn finest_cell_level() -> u8 {
    crate::analytics::cells::cell_level(crate::encode::layers::Layer::Talents.maxzoom())
}

/// How a ranking groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ByCode {
    #[default]
    District,
    Park,
    Cell,
}

/// The parameters of `/api/shortage` besides [`ShortageParams`].
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// The areas ranked (default district).
    pub by: Option<ByCode>,
    /// Required with `by=cell`: the tile zoom whose grid cells are ranked.
    #[param(inline)]
    pub zoom: Option<Int<0, 14>>,
    /// Rows: 1..=100000, default 100 (CSV: all rows unless given).
    #[param(inline)]
    pub limit: Option<Int<1, 100_000>>,
    /// `json` (default) or `csv` (text/csv download of the same rows).
    pub format: Option<Format>,
}

/// `GET /api/shortage?field=CODE&by=district|park|cell[&zoom=Z][&education=…&title=…][&limit=N][&format=csv]`:
/// areas ranked by shortage index. Runs on the compute pool.
#[utoipa::path(get, path = "/api/shortage", tag = "shortage", params(ShortageParams, RankingParams),
    responses((status = 200, description = "Areas ranked by shortage index, most short first", content(
                  (Ranking = "application/json"),
                  (AreaRow = "text/csv"))),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody)))]
pub async fn ranking(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<WithShortage<RankingParams>>,
) -> Result<Response, ApiError> {
    if params.own.format == Some(Format::Csv)
        && let Some(refusal) = access::refusal(Access::Export, principal.role, "format=csv (an export)")
    {
        return Ok(refusal);
    }
    let snap = state.snapshot();
    let k = state.settings.k;
    // A ranking is about every district, park or cell of the city.
    let d = disclosure(&state, &principal, &[]);
    let q = params.shortage.query(&snap, d)?;
    let p = params.own;
    let by = match (p.by.unwrap_or_default(), p.zoom) {
        (ByCode::District, None) => By::District,
        (ByCode::Park, None) => By::Park,
        (ByCode::Cell, Some(zoom)) => By::Cell { zoom: zoom.get() as u8 },
        (ByCode::Cell, None) => {
            return Err(ApiError::param(
                "zoom",
                format!("required with by=cell; accepted: an integer in 0..={MAXZOOM}"),
            ));
        }
        (_, Some(_)) => return Err(ApiError::param("zoom", "applies only to by=cell; accepted: by=cell&zoom=0..14")),
    };
    let csv = p.format == Some(Format::Csv);
    let limit = match p.limit {
        None if csv => None,
        l => Some(l.map_or(100, |l| l.get() as usize)),
    };
    let by_code = match by {
        By::District => "district",
        By::Park => "park",
        By::Cell { .. } => "cell",
    };
    let audited = serde_json::json!({"field": field_code(&snap, q.field), "by": by_code, "csv": csv});
    access::audit_exact(&caller, d, "GET /api/shortage", audited).await?;
    let (snap2, q2) = (snap.clone(), q);
    let (items, echo) = state
        .compute
        .run(move || {
            let ctx = Context::new(&snap2, &q2);
            let rows = rank(&snap2, &ctx, &q2, by, limit);
            let items: Vec<AreaRow> = rows
                .iter()
                .map(|r| area_row(&snap2, r.area, numbers(&r.figures, &r.estimate, r.effective.as_ref(), d)))
                .collect();
            (items, query_echo(&snap2, &q2, &ctx))
        })
        .await?;
    if csv {
        return csv_response(&items, &AREA_COLUMNS, &format!("shortage-{}.csv", field_code(&snap, q.field)));
    }
    let zoom = match by {
        By::Cell { zoom } => Some(zoom),
        By::District | By::Park => None,
    };
    let cell_level = zoom.map(crate::analytics::cells::cell_level);
    let exact_counts = d.is_exact();
    Ok(Json(Ranking { query: echo, by: by_code, zoom, cell_level, privacy_k: k, exact_counts, items }).into_response())
}

/// The CSV header of an empty ranking (the field names of [`AreaRow`]).
const AREA_COLUMNS: [&str; 17] = [
    "id",
    "name",
    "kind",
    "lon",
    "lat",
    "demand",
    "supply",
    "ratio",
    "index",
    "low",
    "high",
    "low_data",
    "employed",
    "effective_supply",
    "effective_ratio",
    "effective_index",
    "effective_low_data",
];

/// The `area` parameter: a district or park, or a grid cell no finer than
/// [`finest_cell_level`] (`400` naming `area` for a finer one).
fn area_param(id: Option<&str>, snap: &Snapshot) -> Result<Area, ApiError> {
    let finest = finest_cell_level();
    let accepted = format!("a district or park id, or a grid cell id of level 0..={finest}");
    let id = id
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param("area", format!("required; accepted: {accepted}")))?;
    if snap.region(id).is_none()
        && let Ok(cell) = id.parse::<u64>()
        && (cell >> 58) as u8 > finest
    {
        let level = cell >> 58;
        return Err(ApiError::param(
            "area",
            format!(
                "grid cell '{id}' is of level {level}, finer than the finest cell of the talents layer; \
                 accepted: {accepted}"
            ),
        ));
    }
    Area::parse(snap, id).ok_or_else(|| ApiError::NotFound(format!("no district, park or grid cell with id '{id}'")))
}

/// The parameters of `/api/shortage/fields` (all shortage parameters but `field`).
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FieldsParams {
    /// Required: a district or park id, a grid cell id of level 0..=19
    /// (no finer than the cells of the talents layer at its maxzoom 14), or
    /// a study-area id (`sa_…`, counted over its cells).
    pub area: Option<String>,
    /// One education level.
    #[param(value_type = Option<EducationCode>)]
    pub education: Option<String>,
    /// One professional title.
    #[param(value_type = Option<TitleCode>)]
    pub title: Option<String>,
    /// Prior strength m in seekers: 0.01..=10000, default 10.
    #[param(value_type = Option<f64>, minimum = 0.01, maximum = 10000.0)]
    pub prior: Option<Number>,
    /// Credible level of the interval: 0.5..=0.99, default 0.8.
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 0.99)]
    pub interval: Option<Number>,
    /// Catchment radius in km: 0.5..=50, default 10.
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 50.0)]
    pub radius: Option<Number>,
    /// Distance decay of the catchment (default gaussian).
    pub decay: Option<DecayCode>,
    /// Rows: 1..=1000, default 100 (CSV: all rows unless given).
    #[param(inline)]
    pub limit: Option<Int<1, 1000>>,
    /// `json` (default) or `csv`.
    pub format: Option<Format>,
}

/// `GET /api/shortage/fields?area=ID[&education=…&title=…][&limit=N][&format=csv]`.
/// Runs on the compute pool.
#[utoipa::path(get, path = "/api/shortage/fields", tag = "shortage", params(FieldsParams),
    responses((status = 200, description = "The fields the area is short of, most short first", content(
                  (AreaFields = "application/json"),
                  (FieldRow = "text/csv"))),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such area", body = ErrorBody)))]
pub async fn fields(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<FieldsParams>,
) -> Result<Response, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    // A study area (counted over its cells), or a district, park or grid cell.
    let target = match p.area.as_deref().map(str::trim) {
        Some(id) if crate::areas::store::is_area_id(id) => {
            Target::Study(super::areas::resolve(&state, &snap, "area", id).await?)
        }
        other => Target::Area(area_param(other, &snap)?),
    };
    let (named, d) = match &target {
        Target::Area(area) => {
            let named = area_ref(&snap, *area);
            let d = disclosure(&state, &principal, &[named.id.as_str()]);
            (named, d)
        }
        Target::Study(resolved) => {
            let a = super::areas::area_ref(&snap, resolved);
            let [w, south, e, n] = a.bbox;
            let centre = (round6((w + e) / 2.0), round6((south + n) / 2.0));
            let named = AreaRef { id: a.id, name: a.name, kind: a.kind, lon: centre.0, lat: centre.1 };
            (named, super::areas::disclosure(&state, &snap, &principal, resolved).await?)
        }
    };
    let area_id = named.id.clone();
    let csv = p.format == Some(Format::Csv);
    let limit = match p.limit {
        None if csv => usize::MAX,
        l => l.map_or(100, |l| l.get() as usize),
    };
    // The template query needs some field; it is replaced per field.
    let any = snap.taxonomy.fields().first().map(|f| f.code.clone());
    let common = ShortageParams {
        field: any,
        education: p.education,
        title: p.title,
        prior: p.prior,
        interval: p.interval,
        radius: p.radius,
        decay: p.decay,
    };
    let mut template = common.query(&snap, d)?;
    template.smoothing.city_disclosure = city_disclosure(&state, &principal);
    access::audit_exact(&caller, d, "GET /api/shortage/fields", serde_json::json!({"area": area_id, "csv": csv}))
        .await?;
    let (snap2, t2) = (snap.clone(), template);
    let items = state
        .compute
        .run(move || {
            let rows = match &target {
                Target::Area(a) => fields_in(&snap2, *a, &t2),
                Target::Study(r) => match r.place() {
                    Place::Study(f) => fields_in_ranges(&snap2, f.ranges(), &t2),
                    Place::Region(reg) => fields_in(&snap2, Area::Region(reg), &t2),
                },
            };
            field_rows(&snap2, &rows, &t2, limit)
        })
        .await?;
    if csv {
        return csv_response(&items, &FIELD_COLUMNS, &format!("shortage-fields-{area_id}.csv"));
    }
    Ok(Json(AreaFields {
        area: named,
        education: template.narrow.education.and_then(Education::from_index).map(|e| e.code()),
        title: template.narrow.title.and_then(Title::from_index).map(|t| t.code()),
        prior: template.smoothing.prior,
        interval: template.smoothing.interval,
        privacy_k: k,
        exact_counts: d.is_exact(),
        items,
    })
    .into_response())
}

/// What `/api/shortage/fields` is about.
enum Target {
    Area(Area),
    /// A study area, counted over its cells.
    Study(super::areas::Resolved),
}

/// The CSV header of an empty field list (the field names of [`FieldRow`]).
const FIELD_COLUMNS: [&str; 16] = [
    "field",
    "name_zh",
    "name_en",
    "city_ratio",
    "demand",
    "supply",
    "ratio",
    "index",
    "low",
    "high",
    "low_data",
    "employed",
    "effective_supply",
    "effective_ratio",
    "effective_index",
    "effective_low_data",
];

fn field_rows(
    snap: &Snapshot,
    rows: &[crate::analytics::shortage::areas::FieldRow],
    template: &Query,
    limit: usize,
) -> Vec<FieldRow> {
    let d = template.smoothing.disclosure;
    rows.iter()
        .take(limit)
        .map(|r| {
            let entry = snap.taxonomy.field(r.field);
            FieldRow::new(
                entry.map(|e| e.code.clone()),
                entry.map(|e| e.name_zh.clone()),
                entry.map(|e| e.name_en.clone()),
                round4(r.city.ratio),
                numbers(&r.figures, &r.estimate, r.effective.as_ref(), d),
            )
        })
        .collect()
}

/// The parameters of `/api/shortage/explain` besides [`ShortageParams`].
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    /// Required: a district or park id, or a grid cell id of level 0..=19
    /// (no finer than the cells of the talents layer at its maxzoom 14).
    pub area: Option<String>,
}

/// `GET /api/shortage/explain?area=ID&field=CODE[&education=…&title=…]`.
/// Runs on the compute pool.
#[utoipa::path(get, path = "/api/shortage/explain", tag = "shortage", params(ShortageParams, ExplainParams),
    responses((status = 200, description = "How the area's index arose", body = Explain),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such area", body = ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<WithShortage<ExplainParams>>,
) -> Result<Json<Explain>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let area = area_param(p.own.area.as_deref(), &snap)?;
    let area_id = area.id(&snap);
    let d = disclosure(&state, &principal, &[area_id.as_str()]);
    let mut q = p.shortage.query(&snap, d)?;
    q.smoothing.city_disclosure = city_disclosure(&state, &principal);
    let audited = serde_json::json!({"area": area_id, "field": field_code(&snap, q.field)});
    access::audit_exact(&caller, d, "GET /api/shortage/explain", audited).await?;
    state.compute.run(move || explain_of(&snap, &q, area, k)).await.map(Json)
}

const POSTERIOR_FORMULA: &str =
    "index = (D + m·ρ) / (S + m); interval = Gamma(D + m·ρ, S + m) quantiles at (1 ∓ level)/2";
const CATCHMENT_METHOD: &str = "two-step floating catchment (2SFCA): seekers allocated to the openings within reach; effective supply = Σ openings × accessible seekers per opening over the area's sites";

fn explain_of(snap: &Snapshot, q: &Query, area: Area, k: u32) -> Explain {
    let ctx = Context::new(snap, q);
    let figures = ctx.figures(snap, q, area);
    let top = contributors(snap, &ctx, q, area, 10);
    let e = ctx.estimate(q, &figures).with_interval(q.smoothing.interval);
    let eff = ctx.effective(q, &figures);
    let m = q.smoothing.prior;
    let d = q.smoothing.disclosure;
    let supply_used = match d {
        Disclosure::Exact => "exact".to_string(),
        Disclosure::Protected { k } => format!("published (perturbed) count, k = {k}"),
    };
    Explain {
        query: query_echo(snap, q, &ctx),
        area: area_ref(snap, area),
        field_name: snap.taxonomy.field(q.field).map(|f| FieldName { zh: f.name_zh.clone(), en: f.name_en.clone() }),
        numbers: numbers(&figures, &e, eff.as_ref(), d),
        prior_detail: PriorDetail {
            strength: m,
            mean: round4(ctx.city.ratio),
            shape: round4(m * ctx.city.ratio),
            rate: m,
            note: "prior Gamma(m·ρ, m): the city ratio ρ, worth m seekers",
        },
        posterior: Posterior { shape: round4(e.shape), rate: round4(e.rate), formula: POSTERIOR_FORMULA, supply_used },
        low_data_rule: format!("low_data when supply < max(m, 10) = {}", m.max(10.0)),
        catchment: CatchmentDetail {
            radius_km: q.catchment.radius_m / 1000.0,
            decay: q.catchment.decay.code(),
            method: CATCHMENT_METHOD,
            city_demand: ctx.catchment.demand as u64,
            city_allocated_seekers: q.smoothing.city_disclosure.count(ctx.catchment.reached_tally),
            city_unreached_seekers: q.smoothing.city_disclosure.count(ctx.catchment.unreached_tally),
            city_effective_ratio: round4(ctx.city_effective.ratio),
        },
        enterprises: top.iter().map(|c| contributor(snap, c, q.smoothing.city_disclosure)).collect(),
        privacy_k: k,
        exact_counts: d.is_exact(),
    }
}

fn contributor(snap: &Snapshot, c: &crate::analytics::shortage::areas::Contributor, d: Disclosure) -> Contributor {
    let ent = &snap.enterprises[c.enterprise as usize];
    let site = published_allocation(c.site_effective_supply, c.site_reach, d);
    Contributor {
        id: ent.id.clone(),
        name: ent.name.clone(),
        lon: round6(ent.lon),
        lat: round6(ent.lat),
        industry: snap.taxonomy.industry(ent.industry).map(|i| i.code.clone()),
        openings: c.openings,
        site_openings: c.site_openings as u64,
        site_effective_supply: tenth(site),
        site_effective_ratio: (site > 0.0).then(|| round4(c.site_openings / site)),
    }
}

/// The parameters of `/api/mismatch`: exactly one of `area` or `chain`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MismatchParams {
    /// A district or park id, or a study-area id (`sa_…`: seekers and
    /// workforce over its cells, openings of the enterprises inside it).
    pub area: Option<String>,
    /// An industry chain id (see /api/taxonomy).
    pub chain: Option<String>,
    /// Prior strength m in seekers: 0.01..=10000, default 10.
    #[param(value_type = Option<f64>, minimum = 0.01, maximum = 10000.0)]
    pub prior: Option<Number>,
}

/// `GET /api/mismatch?area=ID` or `?chain=ID[&prior=m]`. Runs on the
/// compute pool.
#[utoipa::path(get, path = "/api/mismatch", tag = "shortage", params(MismatchParams),
    responses((status = 200, description = "Vertical and horizontal mismatch tables", body = MismatchReport),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such area or chain", body = ErrorBody)))]
pub async fn mismatch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<MismatchParams>,
) -> Result<Json<MismatchReport>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let prior = p.prior.map_or(Ok(DEFAULT_PRIOR), |n| n.within("prior", 0.01, 10_000.0))?;
    let study = match p.area.as_deref().map(str::trim) {
        Some(id) if p.chain.is_none() && crate::areas::store::is_area_id(id) => {
            Some(super::areas::resolve(&state, &snap, "area", id).await?)
        }
        _ => None,
    };
    let (scope, area, chain, d) = match &study {
        Some(resolved) => {
            let named = super::areas::area_ref(&snap, resolved);
            let d = super::areas::disclosure(&state, &snap, &principal, resolved).await?;
            let about = MismatchArea { id: named.id, name: named.name, kind: named.kind };
            let (s2, r2) = (snap.clone(), resolved.clone());
            let rows = state.compute.run(move || Basis::place_rows(&s2, r2.place())).await?;
            (Scope::Counted(rows), Some(about), None, d)
        }
        None => {
            let (scope, area, chain) = mismatch_scope(&snap, p.area.as_deref(), p.chain.as_deref())?;
            // A chain's supply is the city's seekers: about the whole city.
            let areas: Vec<&str> = area.iter().map(|a| a.id.as_str()).collect();
            let d = disclosure(&state, &principal, &areas);
            (scope, area, chain, d)
        }
    };
    let audited = serde_json::json!({"area": area.as_ref().map(|a| &a.id), "chain": chain.as_ref().map(|c| &c.id)});
    access::audit_exact(&caller, d, "GET /api/mismatch", audited).await?;
    let smoothing = Smoothing {
        city_disclosure: city_disclosure(&state, &principal),
        ..Smoothing::disclosed(prior, DEFAULT_INTERVAL, d)
    };
    let supply_definition = match scope {
        Scope::Region(_) => "seekers living in the area; workforce = talents working in the area",
        Scope::Counted(_) => {
            "seekers living in the study area's cells; workforce = talents working in them; openings of the \
             enterprises inside its outline"
        }
        Scope::Chain(_) => "seekers city-wide; workforce = talents employed in the chain's divisions",
    };
    let report = state.compute.run(move || mismatch_report(&snap, &Basis::of(&snap), &scope, &smoothing)).await?;
    Ok(Json(MismatchReport { report, area, chain, supply_definition, privacy_k: k, exact_counts: d.is_exact() }))
}

type MismatchScope = (Scope, Option<MismatchArea>, Option<ChainEntry>);

fn mismatch_scope(snap: &Snapshot, area: Option<&str>, chain: Option<&str>) -> Result<MismatchScope, ApiError> {
    match (area, chain) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::param(
            "area",
            "exactly one of area (a district, park or study-area id) or chain (an industry chain id) is required",
        )),
        (Some(id), None) => match Area::parse(snap, id.trim()) {
            Some(Area::Region(r)) => {
                let reg = &snap.regions[r as usize];
                let about = MismatchArea { id: reg.id.clone(), name: reg.name.clone(), kind: reg.kind.code() };
                Ok((Scope::Region(r), Some(about), None))
            }
            _ => Err(ApiError::NotFound(format!("no district or park with id '{id}'"))),
        },
        (None, Some(id)) => {
            let chain = snap.taxonomy.chain(id.trim()).ok_or_else(|| {
                let chains = snap.taxonomy.chains().iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ");
                ApiError::NotFound(format!("no industry chain '{id}'; chains: {chains}"))
            })?;
            let divisions: Vec<u8> = chain.divisions.iter().filter_map(|d| snap.taxonomy.industry_index(d)).collect();
            let about = ChainEntry {
                id: chain.id.clone(),
                name_zh: chain.name_zh.clone(),
                name_en: chain.name_en.clone(),
                divisions: chain.divisions.clone(),
            };
            Ok((Scope::Chain(divisions), None, Some(about)))
        }
    }
}

/// The parameters of `/api/shortage/hiring`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HiringParams {
    /// One 4-digit first-level discipline code such as 0812 (see
    /// /api/taxonomy); every field when absent.
    #[param(example = "0812")]
    pub field: Option<String>,
    /// The areas (default district; `cell` is not accepted).
    pub by: Option<ByCode>,
    /// `json` (default) or `csv`.
    pub format: Option<Format>,
}

/// Hardest to fill first: share open long, then median days to fill, both
/// descending with missing values last, then id.
fn hardest_first(a: &HiringRow, b: &HiringRow) -> std::cmp::Ordering {
    let share = |r: &HiringRow| r.share_open_long.unwrap_or(-1.0);
    let median = |r: &HiringRow| r.median_days_to_fill.map_or(-1, i64::from);
    share(b).total_cmp(&share(a)).then(median(b).cmp(&median(a))).then_with(|| a.id.cmp(&b.id))
}

fn hiring_row(id: String, name: String, kind: &'static str, d: Difficulty) -> HiringRow {
    HiringRow {
        id,
        name,
        kind,
        filled_openings: d.filled_openings,
        median_days_to_fill: d.median_days_to_fill,
        open_openings: d.open_openings,
        open_long: d.open_long,
        share_open_long: d.share_open_long.map(round4),
    }
}

/// `GET /api/shortage/hiring[?field=CODE][&by=district|park][&format=csv]`:
/// median days to fill and the share of openings open longer than 90 days,
/// per district or park and for the city. Runs on the compute pool.
#[utoipa::path(get, path = "/api/shortage/hiring", tag = "shortage", params(HiringParams),
    responses((status = 200, description = "Hiring difficulty by area, hardest first", content(
                  (Hiring = "application/json"),
                  (HiringRow = "text/csv"))),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn hiring(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiQuery(p): ApiQuery<HiringParams>,
) -> Result<Response, ApiError> {
    let csv = p.format == Some(Format::Csv);
    if csv && let Some(refusal) = access::refusal(Access::Export, principal.role, "format=csv (an export)") {
        return Ok(refusal);
    }
    let snap = state.snapshot();
    let accepted = "one 4-digit first-level discipline code such as 0812 (see /api/taxonomy)";
    let field = match p.field.as_deref().map(str::trim) {
        None => None,
        Some(code) => Some(
            snap.taxonomy
                .field_index(code)
                .ok_or_else(|| ApiError::param("field", format!("unknown value '{code}'; accepted: {accepted}")))?,
        ),
    };
    let (kind, by) = match p.by.unwrap_or_default() {
        ByCode::District => (RegionKind::District, "district"),
        ByCode::Park => (RegionKind::Park, "park"),
        ByCode::Cell => return Err(ApiError::param("by", "'cell' is not accepted here; accepted: district, park")),
    };
    let snap2 = snap.clone();
    // The data's date and the pass over the vacancies, once each, on the compute pool.
    let (items, city, as_of) = state
        .compute
        .run(move || {
            let as_of = hiring::as_of(&snap2);
            let day = as_of.unwrap_or(Date { year: 1970, month: 1, day: 1 });
            let (regions, city) = hiring::by_region_as_of(&snap2, field, day);
            let mut items: Vec<HiringRow> = regions
                .into_iter()
                .zip(&snap2.regions)
                .filter(|(_, r)| r.kind == kind)
                .map(|(d, r)| hiring_row(r.id.clone(), r.name.clone(), kind.code(), d))
                .collect();
            items.sort_by(hardest_first);
            (items, city, as_of)
        })
        .await?;
    let field_code = field.map(|f| field_code(&snap, f));
    if csv {
        let name = format!("hiring-{}-{by}.csv", field_code.as_deref().unwrap_or("all"));
        return csv_response(&items, &HIRING_COLUMNS, &name);
    }
    Ok(Json(Hiring {
        as_of: as_of.map(|d| d.to_string()),
        field: field_code,
        by,
        long_open_days: hiring::LONG_OPEN_DAYS,
        min_openings: hiring::MIN_OPENINGS,
        city: hiring_row("city".into(), String::new(), "city", city),
        items,
    })
    .into_response())
}

/// The CSV header of an empty hiring table (the field names of [`HiringRow`]).
const HIRING_COLUMNS: [&str; 8] =
    ["id", "name", "kind", "filled_openings", "median_days_to_fill", "open_openings", "open_long", "share_open_long"];
