//! Study areas and area profiles (`crate::areas`, `analytics::profile`,
//! `docs/areas.md`):
//!
//! - `POST /api/areas`, `GET /api/areas`, `DELETE /api/areas/{id}`: a
//!   signed-in recruiter, analyst or admin keeps their own shapes;
//! - `GET /api/areas/{id}`: the shape, for anyone holding the link (the id
//!   is 128 random bits);
//! - `GET /api/areas/{id}/profile` for a study area, district or park, and
//!   `GET /api/compare?areas=A,B[,C,D]`, as JSON or — exports — CSV, XLSX
//!   and GeoJSON.
//!
//! Talent numbers follow the caller's disclosure: exact for an admin, and
//! for an analyst when the area lies in their jurisdiction (a district or
//! park of it, or a study area every cell of which does); perturbed
//! otherwise. Exact reads and every write are audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::analytics::flows::month_label;
use crate::analytics::privacy::Disclosure;
use crate::analytics::profile::{self, Place, Profile};
use crate::areas::{self, Footprint, ShapeKind, ShapeProperties, StudyArea, geometry_of};
use crate::auth::{Principal, PrincipalKind, Role};
use crate::model::RegionKind;
use crate::snapshot::Snapshot;

use super::access::{self, Access, Caller};
use super::body::ApiJson;
use super::error::ErrorBody;
use super::query::{ApiQuery, NoParams};
use super::xlsx::{Cell, Sheet};
use super::{ApiError, AppState};

/// Most areas in one comparison.
pub const MAX_COMPARE: usize = 4;

/// A study area to keep: a GeoJSON Feature.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Polygon or MultiPolygon; Point with `properties.radius_m` (a circle);
    /// LineString with `properties.buffer_m` (a corridor).
    #[schema(value_type = Object)]
    pub geometry: geojson::Geometry,
    pub properties: ShapeProperties,
    /// Ignored (an uploaded file's own id, say); the server gives the id.
    #[serde(rename = "id")]
    #[schema(value_type = Option<Object>)]
    pub _id: Option<serde_json::Value>,
    /// Ignored: the server computes the extent.
    #[serde(rename = "bbox")]
    #[schema(value_type = Option<Vec<f64>>)]
    pub _bbox: Option<serde_json::Value>,
}

/// What is known of a study area, without its geometry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaProperties {
    pub name: String,
    pub kind: ShapeKind,
    /// Whether the caller made it (only its maker, or an admin, may delete it).
    pub mine: bool,
    /// RFC 3339.
    pub created: String,
    /// Geodesic area, km².
    pub km2: f64,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
    /// Cells of level 17 its talent numbers are counted over.
    pub cells: usize,
    /// A circle's centre and radius, a corridor's line and half-width.
    #[schema(value_type = Option<Object>)]
    pub drawn: Option<areas::Drawn>,
}

/// A study area as GeoJSON.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaOut {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[schema(value_type = Object)]
    pub geometry: geojson::Geometry,
    pub properties: AreaProperties,
}

/// The caller's study areas.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaList {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: Vec<AreaOut>,
    /// How many one principal may keep.
    pub limit: usize,
}

fn area_out(a: &StudyArea, principal: &Principal) -> AreaOut {
    let f = Footprint::of(&a.shape.geometry);
    AreaOut {
        kind: "Feature",
        id: a.id.clone(),
        geometry: geometry_of(&a.shape.geometry),
        properties: AreaProperties {
            name: a.shape.name.clone(),
            kind: a.shape.kind,
            mine: a.owner == principal.label(),
            created: a.created.clone(),
            km2: (a.km2() * 1000.0).round() / 1000.0,
            bbox: a.bbox(),
            cells: f.len(),
            drawn: a.shape.drawn.clone(),
        },
    }
}

/// The owner label of a principal that may keep areas.
fn owner_of(principal: &Principal) -> Result<String, ApiError> {
    match principal.kind {
        PrincipalKind::Anonymous => Err(ApiError::Unauthorized("sign in to keep study areas".into())),
        _ => Ok(principal.label()),
    }
}

/// `POST /api/areas` with a GeoJSON Feature: keeps the study area for the
/// caller and answers it (`201`, with `Location`).
#[utoipa::path(post, path = "/api/areas", tag = "areas", request_body = AreaFeature,
    responses((status = 201, description = "The study area as kept", body = AreaOut),
              (status = 400, description = "The Feature is invalid (`bad_parameter` naming the part: \
                                            `geometry.coordinates[0][3]`, `properties.radius_m`, …) or the caller \
                                            keeps the most areas allowed", body = ErrorBody),
              (status = 413, description = "The body is too large", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<AreaFeature>,
) -> Result<Response, ApiError> {
    let owner = owner_of(&principal)?;
    if body.kind != "Feature" {
        return Err(ApiError::param("type", format!("'{}': accepted: Feature", body.kind)));
    }
    let snap = state.snapshot();
    let bounds = snap.bounds();
    let shape = state
        .compute
        .run(move || areas::parse(&body.geometry, &body.properties, bounds))
        .await?
        .map_err(|e| ApiError::param(e.path, e.message))?;
    let now = crate::auth::rfc3339(crate::auth::now());
    let (name, kind) = (shape.name.clone(), shape.kind);
    let kept =
        state.auth.with_store(move |store| areas::store::insert(store.conn(), &owner, shape, &now)).await?.ok_or_else(
            || {
                ApiError::BadRequest(format!(
                    "you keep {} study areas, the most one principal may keep; delete some first",
                    areas::store::MAX_PER_OWNER
                ))
            },
        )?;
    access::audit(
        &caller,
        "POST /api/areas",
        json!({"id": kept.id, "name": name, "kind": kind.code()}),
        json!({"created": true}),
    )
    .await?;
    let location = format!("/api/areas/{}", kept.id);
    let out = state.compute.run(move || area_out(&kept, &principal)).await?;
    let mut resp = (StatusCode::CREATED, Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /api/areas`: the caller's study areas, newest first.
#[utoipa::path(get, path = "/api/areas", tag = "areas", params(NoParams),
    responses((status = 200, description = "The caller's study areas", body = AreaList),
              (status = 400, description = "A parameter was given", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    _: ApiQuery<NoParams>,
) -> Result<Json<AreaList>, ApiError> {
    let owner = owner_of(&principal)?;
    let kept = state.auth.with_store(move |store| areas::store::list(store.conn(), &owner)).await?;
    let features = state.compute.run(move || kept.iter().map(|a| area_out(a, &principal)).collect()).await?;
    Ok(Json(AreaList { kind: "FeatureCollection", features, limit: areas::store::MAX_PER_OWNER }))
}

/// A study area by id, or 404.
async fn study_area(state: &AppState, id: &str) -> Result<StudyArea, ApiError> {
    let not_found = || ApiError::NotFound(format!("no study area with id '{id}'"));
    if !areas::store::is_area_id(id) {
        return Err(not_found());
    }
    let key = id.to_string();
    state.auth.with_store(move |store| areas::store::get(store.conn(), &key)).await?.ok_or_else(not_found)
}

/// `GET /api/areas/{id}`: one study area as a GeoJSON Feature.
#[utoipa::path(get, path = "/api/areas/{id}", tag = "areas",
    params(("id" = String, Path, description = "A study-area id (`sa_…`)"), NoParams),
    responses((status = 200, description = "The study area", body = AreaOut),
              (status = 404, description = "No such study area", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<AreaOut>, ApiError> {
    let area = study_area(&state, &id).await?;
    Ok(Json(state.compute.run(move || area_out(&area, &principal)).await?))
}

/// `DELETE /api/areas/{id}`: by its maker or an admin; `204`.
#[utoipa::path(delete, path = "/api/areas/{id}", tag = "areas",
    params(("id" = String, Path, description = "A study-area id (`sa_…`)")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such study area", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = owner_of(&principal)?;
    let area = study_area(&state, &id).await?;
    if area.owner != owner && principal.role != Role::Admin {
        return Err(ApiError::Forbidden("only the principal who made a study area, or an admin, may delete it".into()));
    }
    let key = id.clone();
    state.auth.with_store(move |store| areas::store::delete(store.conn(), &key)).await?;
    access::audit(&caller, "DELETE /api/areas/{id}", json!({"id": id}), json!({"deleted": true})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An area resolved against the snapshot.
#[derive(Debug, Clone)]
pub enum Resolved {
    Region(u16),
    Study(Arc<StudyArea>, Arc<Footprint>),
}

impl Resolved {
    pub fn place(&self) -> Place<'_> {
        match self {
            Resolved::Region(r) => Place::Region(*r),
            Resolved::Study(_, f) => Place::Study(f),
        }
    }
}

/// Which area a profile is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileArea {
    pub id: String,
    pub name: String,
    pub name_en: String,
    /// `district`, `park` or `study`.
    pub kind: &'static str,
    /// For study areas: how it was made.
    pub shape: Option<ShapeKind>,
    pub km2: f64,
    pub bbox: [f64; 4],
    /// For study areas: the cells (level 17, about 245 m) talent numbers
    /// are counted over.
    pub cells: Option<usize>,
}

pub(super) fn area_ref(snap: &Snapshot, r: &Resolved) -> ProfileArea {
    match r {
        Resolved::Region(i) => {
            let reg = &snap.regions[*i as usize];
            ProfileArea {
                id: reg.id.clone(),
                name: reg.name.clone(),
                name_en: reg.name_en.clone(),
                kind: reg.kind.code(),
                shape: None,
                km2: (areas::km2(&reg.geometry) * 1000.0).round() / 1000.0,
                bbox: reg.bbox,
                cells: None,
            }
        }
        Resolved::Study(a, f) => ProfileArea {
            id: a.id.clone(),
            name: a.shape.name.clone(),
            name_en: a.shape.name.clone(),
            kind: "study",
            shape: Some(a.shape.kind),
            km2: (a.km2() * 1000.0).round() / 1000.0,
            bbox: a.bbox(),
            cells: Some(f.len()),
        },
    }
}

/// Resolves a district, park or study-area id; `param` names it in errors.
pub(super) async fn resolve(
    state: &AppState,
    snap: &Arc<Snapshot>,
    param: &str,
    id: &str,
) -> Result<Resolved, ApiError> {
    let id = id.trim();
    if let Some(r) = snap.region(id) {
        let kind = snap.regions[r as usize].kind;
        if matches!(kind, RegionKind::District | RegionKind::Park) {
            return Ok(Resolved::Region(r));
        }
        return Err(ApiError::param(
            param,
            format!("'{id}' is a {}; accepted: a district, park or study-area id", kind.code()),
        ));
    }
    if areas::store::is_area_id(id) {
        let area = study_area(state, id).await?;
        let geometry = area.shape.geometry.clone();
        let f = state.compute.run(move || Footprint::of(&geometry)).await?;
        return Ok(Resolved::Study(Arc::new(area), Arc::new(f)));
    }
    Err(ApiError::NotFound(format!("{param}: no district, park or study area with id '{id}'")))
}

/// The disclosure of an area's talent numbers for `principal`. The
/// jurisdiction test of a study area (geometry) runs on the compute pool.
pub(super) async fn disclosure(
    state: &AppState,
    snap: &Arc<Snapshot>,
    principal: &Principal,
    r: &Resolved,
) -> Result<Disclosure, ApiError> {
    let k = state.settings.k;
    Ok(match r {
        Resolved::Region(i) => access::disclosure_for(principal, k, &[snap.regions[*i as usize].id.as_str()]),
        Resolved::Study(_, f) => match principal.role {
            Role::Admin => Disclosure::Exact,
            Role::Analyst => {
                let (s, p, f) = (snap.clone(), principal.clone(), f.clone());
                if state.compute.run(move || cells_in_jurisdiction(&s, &p, &f)).await? {
                    Disclosure::Exact
                } else {
                    Disclosure::Protected { k }
                }
            }
            _ => Disclosure::Protected { k },
        },
    })
}

/// Whether every cell of a study area lies inside the districts and parks
/// of the analyst's jurisdiction (a cell across its border counts people
/// outside it, so the answer is then perturbed). Decided by geometry alone,
/// so whether an answer is exact says nothing about who lives where.
fn cells_in_jurisdiction(snap: &Snapshot, principal: &Principal, f: &Footprint) -> bool {
    use geo::{BooleanOps, Contains, MultiPolygon};
    let mut union: Option<MultiPolygon<f64>> = None;
    for r in snap.regions.iter().filter(|r| principal.jurisdiction.contains(&r.id)) {
        union = Some(match union {
            None => r.geometry.clone(),
            Some(u) => u.union(&r.geometry),
        });
    }
    let Some(union) = union else { return false };
    f.rectangles().all(|rect| union.contains(&rect.to_polygon()))
}

/// The answer format of a profile or comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProfileFormat {
    #[default]
    Json,
    /// One table per row group: `table,key,name_zh,name_en,value…` (an export).
    Csv,
    /// One worksheet per table (an export).
    Xlsx,
    /// The area's outline with its headline numbers and tables as
    /// properties (an export; profiles only).
    Geojson,
}

/// The parameters of `/api/areas/{id}/profile`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileParams {
    /// `json` (default), or the exports `csv`, `xlsx`, `geojson`.
    pub format: Option<ProfileFormat>,
    /// `YYYY-MM`: the talents as of the end of that month (see `month` in
    /// the answer); enterprises and openings are today's.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// A profile as served.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaProfile {
    pub area: ProfileArea,
    pub data_version: u64,
    /// `YYYY-MM` when the talent numbers are as of the end of that month
    /// (`month=`); null for today.
    pub month: Option<String>,
    pub reference_year: u16,
    pub privacy_k: u32,
    /// Whether talent counts are exact rather than perturbed.
    pub exact_counts: bool,
    #[serde(flatten)]
    pub profile: Profile,
}

fn export_refusal(principal: &Principal, format: ProfileFormat) -> Option<Response> {
    let what = match format {
        ProfileFormat::Json => return None,
        ProfileFormat::Csv => "format=csv (an export)",
        ProfileFormat::Xlsx => "format=xlsx (an export)",
        ProfileFormat::Geojson => "format=geojson (an export)",
    };
    access::refusal(Access::Export, principal.role, what)
}

/// `GET /api/areas/{id}/profile[?format=csv|xlsx|geojson]`: the area
/// profile of a study area, district or park. Runs on the compute pool.
#[utoipa::path(get, path = "/api/areas/{id}/profile", tag = "areas",
    params(("id" = String, Path, description = "A study-area, district or park id"), ProfileParams),
    responses((status = 200, description = "The area's profile", content(
                  (AreaProfile = "application/json"),
                  (String = "text/csv"),
                  (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                  (Object = "application/geo+json"))),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such area", body = ErrorBody)))]
pub async fn profile(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ProfileParams>,
) -> Result<Response, ApiError> {
    let format = p.format.unwrap_or_default();
    if let Some(refusal) = export_refusal(&principal, format) {
        return Ok(refusal);
    }
    let snap = state.snapshot();
    let resolved = resolve(&state, &snap, "id", &id).await?;
    let month = super::past::month_param(p.month.as_deref(), &snap)?;
    let d = disclosure(&state, &snap, &principal, &resolved).await?;
    let city_d = access::disclosure_for(&principal, state.settings.k, &[]);
    let area = area_ref(&snap, &resolved);
    let params = json!({"area": area.id, "format": format!("{format:?}").to_lowercase(),
        "month": month.map(month_label)});
    access::audit_exact(&caller, d, "GET /api/areas/{id}/profile", params).await?;
    let view = state.view(month).await?;
    let snap = view.snap.clone();
    let commute = super::commute::index_in(&state, &view).await?;
    let (k, version, year) = (state.settings.k, snap.version, snap.reference_year);
    let s = snap.clone();
    let r2 = resolved.clone();
    let built = state.compute.run(move || profile::profile(&s, &commute, r2.place(), d, city_d)).await?;
    let answer = AreaProfile {
        area,
        data_version: version,
        month: snap.as_of.map(month_label),
        reference_year: year,
        privacy_k: k,
        exact_counts: d.is_exact(),
        profile: built,
    };
    let name = format!("profile-{}", answer.area.id);
    match format {
        ProfileFormat::Json => Ok(Json(answer).into_response()),
        ProfileFormat::Csv => {
            let header = ["table", "key", "name_zh", "name_en", "value"].map(String::from).to_vec();
            let rows =
                profile_rows(&answer).into_iter().map(|r| vec![r.table, r.key, r.name_zh, r.name_en, number(r.value)]);
            csv_download(header, rows, &format!("{name}.csv"))
        }
        ProfileFormat::Xlsx => {
            let bytes = state.compute.run(move || super::xlsx::workbook(&profile_sheets(&answer))).await??;
            Ok(super::xlsx::response(bytes, &format!("{name}.xlsx")))
        }
        ProfileFormat::Geojson => {
            let geometry = match &resolved {
                Resolved::Region(r) => geometry_of(&snap.regions[*r as usize].geometry),
                Resolved::Study(a, _) => geometry_of(&a.shape.geometry),
            };
            let body = serde_json::to_vec(&profile_feature(&answer, geometry))
                .map_err(|e| ApiError::Internal(format!("geojson: {e}")))?;
            Ok(super::xlsx::download(body, "application/geo+json", &format!("{name}.geojson")))
        }
    }
}

/// One flattened row of a profile (CSV): `table,key,name_zh,name_en,value`.
#[derive(Debug, Clone, PartialEq)]
struct FlatRow {
    table: String,
    key: String,
    name_zh: String,
    name_en: String,
    value: Option<f64>,
}

fn flat(table: &str, key: &str, zh: &str, en: &str, value: Option<f64>) -> FlatRow {
    FlatRow { table: table.into(), key: key.into(), name_zh: zh.into(), name_en: en.into(), value }
}

/// Every number of a profile as flat rows, in the order of the JSON.
fn profile_rows(p: &AreaProfile) -> Vec<FlatRow> {
    let pr = &p.profile;
    let h = &pr.headline;
    let mut out = vec![
        flat("headline", "residents", "常住人才", "Resident talents", Some(h.residents as f64)),
        flat("headline", "seekers", "求职人才", "Job seekers", Some(h.seekers as f64)),
        flat("headline", "workers", "就业人才", "Workers", Some(h.workers as f64)),
        flat("headline", "enterprises", "企业", "Enterprises", Some(h.enterprises as f64)),
        flat("headline", "key_enterprises", "重点企业", "Key enterprises", Some(h.key_enterprises as f64)),
        flat("headline", "employees", "从业人数", "Employees", Some(h.employees as f64)),
        flat("headline", "openings", "空缺岗位", "Openings", Some(h.openings as f64)),
    ];
    for t in &pr.tables {
        out.extend(t.rows.iter().map(|r| flat(t.id, &r.key, &r.name_zh, &r.name_en, Some(r.value as f64))));
    }
    for s in &pr.shortage {
        out.push(flat("shortage_index", &s.field, &s.name_zh, &s.name_en, Some(s.index)));
    }
    let c = &pr.commute;
    for (key, zh, en, v) in [
        ("mean_commute_km", "平均通勤距离(km)", "Mean commute (km)", c.mean_commute_km),
        ("median_commute_km", "通勤距离中位数(km)", "Median commute (km)", c.median_commute_km),
        ("share_within_5km", "5公里内通勤占比", "Share within 5 km", c.share_within_5km),
        ("share_over_20km", "20公里以上通勤占比", "Share over 20 km", c.share_over_20km),
        ("share_homes_near_rail", "居住地临近轨道占比", "Homes near rail", c.share_homes_near_rail),
        ("share_jobs_near_rail", "就业地临近轨道占比", "Jobs near rail", c.share_jobs_near_rail),
        ("job_housing_ratio", "职住比", "Job–housing ratio", c.job_housing_ratio),
    ] {
        out.push(flat("commute", key, zh, en, v));
    }
    let dd = &pr.distance_direction;
    for (table, grid, same) in [
        ("workers_distance_direction", &dd.workers, dd.workers_same_place),
        ("residents_distance_direction", &dd.residents, dd.residents_same_place),
    ] {
        for (b, row) in grid.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                let key = format!("{} {}", dd.bands[b], dd.directions[i]);
                out.push(flat(table, &key, &key, &key, Some(*v as f64)));
            }
        }
        out.push(flat(table, "same place", "同一地点", "Same place", Some(same as f64)));
    }
    if let Some(f) = &pr.flows {
        for m in &f.months {
            out.push(flat("arrivals", &m.month, &m.month, &m.month, m.arrivals.map(|v| v as f64)));
            out.push(flat("departures", &m.month, &m.month, &m.month, m.departures.map(|v| v as f64)));
        }
    }
    out
}

/// A number as CSV text: integers without a decimal point, empty for none.
fn number(v: Option<f64>) -> String {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        Some(x) => format!("{x}"),
        None => String::new(),
    }
}

/// A CSV download of `header` and `rows`.
fn csv_download(
    header: Vec<String>,
    rows: impl Iterator<Item = Vec<String>>,
    filename: &str,
) -> Result<Response, ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(&header).map_err(internal)?;
    for row in rows {
        w.write_record(&row).map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    Ok(super::xlsx::download(bytes, super::xlsx::CSV_CONTENT_TYPE, filename))
}

/// The workbook of a profile: an overview, then one sheet per table.
fn profile_sheets(p: &AreaProfile) -> Vec<Sheet> {
    let rows = profile_rows(p);
    let mut tables: Vec<String> = Vec::new();
    for r in &rows {
        if !tables.contains(&r.table) {
            tables.push(r.table.clone());
        }
    }
    let mut sheets = vec![Sheet {
        name: "area".into(),
        header: vec![
            "id".into(),
            "name".into(),
            "kind".into(),
            "km2".into(),
            "data_version".into(),
            "exact_counts".into(),
        ],
        rows: vec![vec![
            Cell::from(p.area.id.as_str()),
            Cell::from(p.area.name.as_str()),
            Cell::from(p.area.kind),
            Cell::from(Some(p.area.km2)),
            Cell::from(Some(p.data_version as f64)),
            Cell::from(if p.exact_counts { "yes" } else { "no" }),
        ]],
    }];
    for t in tables {
        sheets.push(Sheet {
            name: t.clone(),
            header: vec!["key".into(), "name_zh".into(), "name_en".into(), "value".into()],
            rows: rows
                .iter()
                .filter(|r| r.table == t)
                .map(|r| {
                    vec![
                        Cell::from(r.key.as_str()),
                        Cell::from(r.name_zh.as_str()),
                        Cell::from(r.name_en.as_str()),
                        Cell::from(r.value),
                    ]
                })
                .collect(),
        });
    }
    sheets.push(Sheet {
        name: "key_enterprises".into(),
        header: ["id", "name", "industry", "employees", "openings", "lon", "lat"].map(String::from).to_vec(),
        rows: p
            .profile
            .key_enterprises
            .iter()
            .map(|e| {
                vec![
                    Cell::from(e.id.as_str()),
                    Cell::from(e.name.as_str()),
                    Cell::from(e.industry.clone().unwrap_or_default()),
                    Cell::from(Some(e.employees as f64)),
                    Cell::from(Some(e.openings as f64)),
                    Cell::from(Some(e.lon)),
                    Cell::from(Some(e.lat)),
                ]
            })
            .collect(),
    });
    sheets
}

/// The area's outline with its numbers as properties.
fn profile_feature(p: &AreaProfile, geometry: geojson::Geometry) -> serde_json::Value {
    let mut props = serde_json::Map::new();
    props.insert("id".into(), json!(p.area.id));
    props.insert("name".into(), json!(p.area.name));
    props.insert("kind".into(), json!(p.area.kind));
    props.insert("data_version".into(), json!(p.data_version));
    props.insert("exact_counts".into(), json!(p.exact_counts));
    props.insert("privacy_k".into(), json!(p.privacy_k));
    props.insert("headline".into(), json!(p.profile.headline));
    for t in &p.profile.tables {
        let rows: serde_json::Map<String, serde_json::Value> =
            t.rows.iter().map(|r| (r.key.clone(), json!(r.value))).collect();
        props.insert(t.id.into(), serde_json::Value::Object(rows));
    }
    props.insert("commute".into(), json!(p.profile.commute));
    json!({"type": "Feature", "id": p.area.id, "geometry": geometry, "properties": props})
}

/// The parameters of `/api/compare`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// Required: 2–4 distinct district, park or study-area ids, comma-separated.
    pub areas: Option<String>,
    /// `json` (default), or the exports `csv`, `xlsx`.
    pub format: Option<ProfileFormat>,
    /// `YYYY-MM`: the talents as of the end of that month; enterprises and
    /// openings are today's.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// One row compared across the areas.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompareRow {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    /// One value per area, in the order asked (`null` where the area has no row).
    pub values: Vec<Option<f64>>,
    /// Each value minus the first area's (`null` where either is missing).
    pub differences: Vec<Option<f64>>,
}

/// One table compared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompareTable {
    pub id: String,
    pub rows: Vec<CompareRow>,
}

/// `/api/compare`'s answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comparison {
    pub areas: Vec<ProfileArea>,
    /// Per area: whether its talent counts are exact.
    pub exact_counts: Vec<bool>,
    pub data_version: u64,
    /// `YYYY-MM` when the talent numbers are as of the end of that month; null for today.
    pub month: Option<String>,
    pub privacy_k: u32,
    /// `headline`, each profile table, `commute`, `shortage_index`, the
    /// distance/direction tables and the flows, row by row.
    pub tables: Vec<CompareTable>,
    /// The full profile of each area, in the order asked.
    pub profiles: Vec<AreaProfile>,
}

/// `GET /api/compare?areas=A,B[,C,D][&format=csv|xlsx]`: the profiles of
/// two to four areas side by side, with each value's difference from the
/// first area's.
#[utoipa::path(get, path = "/api/compare", tag = "areas", params(CompareParams),
    responses((status = 200, description = "The profiles side by side", content(
                  (Comparison = "application/json"),
                  (String = "text/csv"),
                  (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, description = "A parameter is missing, unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No such area", body = ErrorBody)))]
pub async fn compare(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<CompareParams>,
) -> Result<Response, ApiError> {
    let format = p.format.unwrap_or_default();
    if format == ProfileFormat::Geojson {
        return Err(ApiError::param("format", "geojson is for one area's profile; accepted here: json, csv, xlsx"));
    }
    if let Some(refusal) = export_refusal(&principal, format) {
        return Ok(refusal);
    }
    let raw = p.areas.ok_or_else(|| ApiError::param("areas", "required: 2–4 area ids, comma-separated"))?;
    let ids: Vec<&str> = raw.split(',').map(str::trim).collect();
    if ids.len() < 2 || ids.len() > MAX_COMPARE || ids.iter().any(|s| s.is_empty()) {
        return Err(ApiError::param(
            "areas",
            format!("{} ids given; accepted: 2–{MAX_COMPARE}, comma-separated", ids.len()),
        ));
    }
    if let Some(dup) = ids.iter().enumerate().find(|(i, a)| ids[..*i].contains(a)) {
        return Err(ApiError::param("areas", format!("'{}' is named twice", dup.1)));
    }
    let snap = state.snapshot();
    let month = super::past::month_param(p.month.as_deref(), &snap)?;
    let city_d = access::disclosure_for(&principal, state.settings.k, &[]);
    let mut resolved = Vec::new();
    for id in &ids {
        let r = resolve(&state, &snap, "areas", id).await?;
        let d = disclosure(&state, &snap, &principal, &r).await?;
        resolved.push((r, d));
    }
    let exact: Vec<&str> = ids.iter().zip(&resolved).filter(|(_, (_, d))| d.is_exact()).map(|(id, _)| *id).collect();
    if !exact.is_empty() {
        let params = json!({"areas": ids, "month": month.map(month_label)});
        access::audit(&caller, "GET /api/compare", params, json!({"exact_counts": exact})).await?;
    }
    let view = state.view(month).await?;
    let snap = view.snap.clone();
    let commute = super::commute::index_in(&state, &view).await?;
    let (k, version, year) = (state.settings.k, snap.version, snap.reference_year);
    let s = snap.clone();
    let profiles = state
        .compute
        .run(move || {
            resolved
                .iter()
                .map(|(r, d)| AreaProfile {
                    area: area_ref(&s, r),
                    data_version: version,
                    month: s.as_of.map(month_label),
                    reference_year: year,
                    privacy_k: k,
                    exact_counts: d.is_exact(),
                    profile: profile::profile(&s, &commute, r.place(), *d, city_d),
                })
                .collect::<Vec<_>>()
        })
        .await?;
    let answer = Comparison {
        areas: profiles.iter().map(|p| p.area.clone()).collect(),
        exact_counts: profiles.iter().map(|p| p.exact_counts).collect(),
        data_version: version,
        month: snap.as_of.map(month_label),
        privacy_k: k,
        tables: compare_tables(&profiles),
        profiles,
    };
    let name = format!("compare-{}", ids.join("-"));
    match format {
        ProfileFormat::Csv => csv_compare(&answer, &format!("{name}.csv")),
        ProfileFormat::Xlsx => {
            let bytes = state.compute.run(move || super::xlsx::workbook(&compare_sheets(&answer))).await??;
            Ok(super::xlsx::response(bytes, &format!("{name}.xlsx")))
        }
        _ => Ok(Json(answer).into_response()),
    }
}

/// The profiles' flat rows aligned by table and key, in first-seen order.
fn compare_tables(profiles: &[AreaProfile]) -> Vec<CompareTable> {
    let n = profiles.len();
    let mut tables: Vec<CompareTable> = Vec::new();
    for (i, p) in profiles.iter().enumerate() {
        for r in profile_rows(p) {
            let t = match tables.iter().position(|t| t.id == r.table) {
                Some(t) => t,
                None => {
                    tables.push(CompareTable { id: r.table.clone(), rows: Vec::new() });
                    tables.len() - 1
                }
            };
            let rows = &mut tables[t].rows;
            let row = match rows.iter().position(|x| x.key == r.key) {
                Some(x) => x,
                None => {
                    rows.push(CompareRow {
                        key: r.key.clone(),
                        name_zh: r.name_zh.clone(),
                        name_en: r.name_en.clone(),
                        values: vec![None; n],
                        differences: vec![None; n],
                    });
                    rows.len() - 1
                }
            };
            rows[row].values[i] = r.value;
        }
    }
    // Count tables list only non-zero rows: a row one area lacks is a 0 there.
    let counts: Vec<String> =
        profiles.first().map(|p| p.profile.tables.iter().map(|t| t.id.to_string()).collect()).unwrap_or_default();
    for t in &mut tables {
        let zero_fill = counts.contains(&t.id);
        for row in &mut t.rows {
            if zero_fill {
                for v in &mut row.values {
                    v.get_or_insert(0.0);
                }
            }
            let first = row.values[0];
            row.differences = row
                .values
                .iter()
                .map(|v| match (first, v) {
                    (Some(a), Some(b)) => Some(b - a),
                    _ => None,
                })
                .collect();
        }
    }
    tables
}

fn csv_compare(c: &Comparison, filename: &str) -> Result<Response, ApiError> {
    let mut header = vec!["table".to_string(), "key".into(), "name_zh".into(), "name_en".into()];
    header.extend(c.areas.iter().map(|a| format!("value {}", a.id)));
    header.extend(c.areas.iter().skip(1).map(|a| format!("difference {} − {}", a.id, c.areas[0].id)));
    let rows = c.tables.iter().flat_map(|t| {
        t.rows.iter().map(|r| {
            let mut rec = vec![t.id.clone(), r.key.clone(), r.name_zh.clone(), r.name_en.clone()];
            rec.extend(r.values.iter().map(|v| number(*v)));
            rec.extend(r.differences.iter().skip(1).map(|v| number(*v)));
            rec
        })
    });
    csv_download(header, rows, filename)
}

fn compare_sheets(c: &Comparison) -> Vec<Sheet> {
    let mut header = vec!["key".to_string(), "name_zh".into(), "name_en".into()];
    header.extend(c.areas.iter().map(|a| a.name.clone()));
    header.extend(c.areas.iter().skip(1).map(|a| format!("{} − {}", a.name, c.areas[0].name)));
    let mut sheets = vec![Sheet {
        name: "areas".into(),
        header: ["id", "name", "kind", "km2", "exact_counts"].map(String::from).to_vec(),
        rows: c
            .areas
            .iter()
            .zip(&c.exact_counts)
            .map(|(a, e)| {
                vec![
                    Cell::from(a.id.as_str()),
                    Cell::from(a.name.as_str()),
                    Cell::from(a.kind),
                    Cell::from(Some(a.km2)),
                    Cell::from(if *e { "yes" } else { "no" }),
                ]
            })
            .collect(),
    }];
    for t in &c.tables {
        sheets.push(Sheet {
            name: t.id.clone(),
            header: header.clone(),
            rows: t
                .rows
                .iter()
                .map(|r| {
                    let mut row = vec![
                        Cell::from(r.key.as_str()),
                        Cell::from(r.name_zh.as_str()),
                        Cell::from(r.name_en.as_str()),
                    ];
                    row.extend(r.values.iter().map(|v| Cell::from(*v)));
                    row.extend(r.differences.iter().skip(1).map(|v| Cell::from(*v)));
                    row
                })
                .collect(),
        });
    }
    sheets
}
