//! GeoJSON (RFC 7946) and JSON views of the same data the tiles draw:
//! enterprises (paged), regions with statistics, one region's supply and
//! demand tables, the aggregate cells of a zoom and box, and the code tables.
//! The answers are the types of [`super::types::map`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use rstar::AABB;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::analytics::cells::{self, Cell};
use crate::analytics::filter::Filter;
use crate::analytics::flows::month_label;
use crate::analytics::privacy::{Disclosure, Tally, publishable};
use crate::areas::Place;
use crate::auth::Principal;
use crate::encode::layers::publish_cell;
use crate::encode::layers::unit;
use crate::model::{Education, RegionKind, Tier, Title};
use crate::snapshot::{NONE16, Snapshot};
use crate::spatial::{TileId, lonlat_to_unit, morton, round6};

use super::access::{self, Caller};
use super::error::ErrorBody;
use super::params;
use super::query::{ApiQuery, FilterParams, Filtered, Int, MonthParams, NoParams};
use super::types::map::*;
use super::types::{CollectionTag, FeatureTag, GeoJson, GeoJsonBytes, Geometry};
use super::{ApiError, AppState};

/// `GET /api/taxonomy`: the code tables with Chinese and English names.
#[utoipa::path(get, path = "/api/taxonomy", tag = "map", params(NoParams),
    responses((status = 200, description = "The code tables", body = Taxonomy),
              (status = 400, description = "A parameter was given", body = ErrorBody)))]
pub async fn taxonomy(State(state): State<AppState>, _: ApiQuery<NoParams>) -> Json<Taxonomy> {
    let t = &state.taxonomy;
    let codes = |items: &[crate::model::taxonomy::CodeEntry]| -> Vec<CodeEntry> {
        items
            .iter()
            .map(|c| CodeEntry {
                code: c.code.clone(),
                group: c.group.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
            })
            .collect()
    };
    let named = |items: &[(&'static str, &'static str, &'static str)]| -> Vec<NamedCode> {
        items.iter().map(|&(code, name_zh, name_en)| NamedCode { code, name_zh, name_en }).collect()
    };
    Json(Taxonomy {
        industries: codes(t.industries()),
        sections: codes(t.sections()),
        fields: codes(t.fields()),
        categories: codes(t.categories()),
        chains: t
            .chains()
            .iter()
            .map(|c| ChainEntry {
                id: c.id.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                divisions: c.divisions.clone(),
            })
            .collect(),
        education: named(&[
            ("associate", "大专", "Associate"),
            ("bachelor", "本科", "Bachelor's"),
            ("master", "硕士", "Master's"),
            ("doctorate", "博士", "Doctorate"),
        ]),
        titles: named(&[
            ("none", "无职称", "No title"),
            ("junior", "初级", "Junior"),
            ("intermediate", "中级", "Intermediate"),
            ("associate_senior", "副高级", "Associate senior"),
            ("senior", "正高级", "Senior"),
        ]),
        tiers: named(&[
            ("A", "A类 顶尖人才", "A: top"),
            ("B", "B类 国家级领军人才", "B: national leading"),
            ("C", "C类 省级领军人才", "C: provincial leading"),
            ("D", "D类 市级领军人才", "D: municipal leading"),
            ("E", "E类 高级人才", "E: senior"),
            ("none", "未认定", "Not classified"),
        ]),
    })
}

fn enterprise_feature(snap: &Snapshot, i: usize) -> EnterpriseFeature {
    let e = &snap.enterprises[i];
    let region = |r: u16| (r != NONE16).then(|| snap.regions[r as usize].id.clone());
    EnterpriseFeature {
        tag: FeatureTag::Feature,
        id: e.id.clone(),
        geometry: Geometry::point(e.lon, e.lat),
        properties: EnterpriseProperties {
            id: e.id.clone(),
            name: e.name.clone(),
            industry: snap.taxonomy.industry(e.industry).map(|x| x.code.clone()),
            employees: e.employees,
            key: e.is_key,
            openings: e.openings,
            district: region(e.district),
            park: region(e.park),
        },
    }
}

/// The parameters of `/api/enterprises` (besides the record filters).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnterprisesParams {
    /// `west,south,east,north` in degrees.
    #[param(example = "117.0,36.6,117.2,36.8")]
    pub bbox: Option<String>,
    /// Text in the name, or an exact id (case-insensitive).
    pub q: Option<String>,
    /// Page size: 1..=5000, default 500.
    #[param(inline)]
    pub limit: Option<Int<1, 5000>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/enterprises?bbox=…&q=…&industry=…&limit=N&cursor=C`: enterprise
/// points as GeoJSON, in id order, paged by `cursor` (the last id of the
/// previous page, returned as `next_cursor`). Runs on the compute pool.
#[utoipa::path(get, path = "/api/enterprises", tag = "map", params(EnterprisesParams, FilterParams),
    responses((status = 200, description = "A page of enterprises", body = EnterpriseCollection,
               content_type = "application/geo+json"),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn enterprises(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<Filtered<EnterprisesParams>>,
) -> Result<GeoJsonBytes, ApiError> {
    let snap = state.snapshot();
    let filter = query.filter.filter(&snap)?;
    let p = query.query;
    let bbox = p.bbox.as_deref().map(|v| params::parse_bbox("bbox", v)).transpose()?;
    let page = Page {
        limit: p.limit.map_or(500, |l| l.get() as usize),
        q: p.q.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()),
        cursor: p.cursor,
    };
    // Written on the pool: up to 5,000 enterprises, about a megabyte.
    state.compute.run(move || GeoJson(enterprise_page(&snap, &filter, bbox, &page)).written()).await?
}

/// What page of enterprises to answer.
struct Page {
    limit: usize,
    q: Option<String>,
    cursor: Option<String>,
}

fn enterprise_page(snap: &Snapshot, filter: &Filter, bbox: Option<[f64; 4]>, page: &Page) -> EnterpriseCollection {
    let candidates: Vec<usize> = match bbox {
        Some([w, s, e, n]) => {
            let (a, b) = (unit(w, n), unit(e, s));
            snap.enterprise_tree.locate_in_envelope(AABB::from_corners(a, b)).map(|p| p.data as usize).collect()
        }
        None => (0..snap.enterprises.len()).collect(),
    };
    let (q, cursor) = (page.q.as_deref(), page.cursor.as_deref());
    let mut hits: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let e = &snap.enterprises[i];
            filter.enterprise(e)
                && q.is_none_or(|q| e.name.to_lowercase().contains(q) || e.id.to_lowercase() == q)
                && cursor.is_none_or(|c| e.id.as_str() > c)
        })
        .collect();
    hits.sort_by(|&a, &b| snap.enterprises[a].id.cmp(&snap.enterprises[b].id));
    let more = hits.len() > page.limit;
    hits.truncate(page.limit);
    let next_cursor = if more { hits.last().map(|&i| snap.enterprises[i].id.clone()) } else { None };
    EnterpriseCollection {
        tag: CollectionTag::FeatureCollection,
        features: hits.iter().map(|&i| enterprise_feature(snap, i)).collect(),
        next_cursor,
    }
}

fn region_properties(snap: &Snapshot, i: usize, d: Disclosure) -> RegionProperties {
    let r = &snap.regions[i];
    let s = &r.stats;
    let seekers = Some(d.count(s.seekers_tally()));
    RegionProperties {
        id: r.id.clone(),
        name: r.name.clone(),
        name_en: (!r.name_en.is_empty()).then(|| r.name_en.clone()),
        kind: r.kind.code(),
        talents: Some(d.count(s.talents_tally())),
        suppressed: false,
        seekers,
        workers: Some(d.count(s.workers_tally())),
        enterprises: s.enterprises,
        key_enterprises: s.key_enterprises,
        employees: s.employees,
        openings: s.openings,
        ratio: seekers.filter(|&n| n > 0).map(|n| s.openings as f64 / n as f64),
        centre: r.centre.map(round6),
    }
}

/// A kind of region.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegionKindParam {
    District,
    Street,
    Park,
}

impl From<RegionKindParam> for RegionKind {
    fn from(k: RegionKindParam) -> RegionKind {
        match k {
            RegionKindParam::District => RegionKind::District,
            RegionKindParam::Street => RegionKind::Street,
            RegionKindParam::Park => RegionKind::Park,
        }
    }
}

/// The parameters of `/api/regions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionsParams {
    /// Only regions of this kind.
    pub kind: Option<RegionKindParam>,
    /// `YYYY-MM`: talent numbers as of the end of that month (reconstructed
    /// from the moves); openings and enterprises are today's.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// `GET /api/regions?kind=district|park|street`: regions as GeoJSON with
/// statistics.
#[utoipa::path(get, path = "/api/regions", tag = "map", params(RegionsParams),
    responses((status = 200, description = "Regions with statistics", body = RegionCollection,
               content_type = "application/geo+json"),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn regions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(principal): Extension<Principal>,
    ApiQuery(query): ApiQuery<RegionsParams>,
) -> Result<GeoJsonBytes, ApiError> {
    let kind = query.kind.map(RegionKind::from);
    let month = super::past::month_param(query.month.as_deref(), &state.snapshot())?;
    let k = access::disclosure_for(&principal, state.settings.k, &[]);
    let params = json!({"kind": kind.map(|k| k.code()), "month": month.map(month_label)});
    access::audit_exact(&caller, k, "GET /api/regions", params).await?;
    let snap = state.view(month).await?.snap;
    let as_of = snap.as_of.map(month_label);
    // Written on the pool: every boundary of the city (about 200 kB of
    // JSON for Jinan's districts and parks).
    state
        .compute
        .run(move || {
            let wanted = snap.regions.iter().enumerate().filter(|(_, r)| kind.is_none_or(|k| r.kind == k));
            let features = wanted
                .map(|(i, r)| RegionFeature {
                    tag: FeatureTag::Feature,
                    id: r.id.clone(),
                    geometry: Geometry::multipolygon(&r.geometry),
                    properties: region_properties(&snap, i, k),
                })
                .collect();
            GeoJson(RegionCollection { tag: CollectionTag::FeatureCollection, features, month: as_of }).written()
        })
        .await?
}

/// `GET /api/regions/{id}`: one region's (or study area's) totals and its
/// supply (resident talents) and demand (open positions) tables by field,
/// education and title. Talent counts follow the privacy rule. Runs on the
/// compute pool.
#[utoipa::path(get, path = "/api/regions/{id}", tag = "map",
    params(("id" = String, Path, description = "A district, street or park id, or a study-area id (`sa_…`)"), MonthParams),
    responses((status = 200, description = "The region's tables", body = RegionDetail),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No region or study area with this id", body = ErrorBody)))]
pub async fn region(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MonthParams>,
) -> Result<Json<RegionDetail>, ApiError> {
    let snap = state.snapshot();
    let month = super::past::month_param(query.month.as_deref(), &snap)?;
    let k = state.settings.k;
    // A district, park or street; or a study area (counted over its cells).
    let (about, d) = match snap.region(&id) {
        Some(index) => (About::Region(index), access::disclosure_for(&principal, k, &[id.as_str()])),
        None if crate::areas::store::is_area_id(id.trim()) => {
            let resolved = super::areas::resolve(&state, &snap, "id", &id).await?;
            let d = super::areas::disclosure(&state, &snap, &principal, &resolved).await?;
            (About::Study(resolved), d)
        }
        None => return Err(ApiError::NotFound(format!("no region or study area with id '{id}'"))),
    };
    let params = json!({ "id": id, "month": month.map(month_label) });
    access::audit_exact(&caller, d, "GET /api/regions/{id}", params).await?;
    let snap = state.view(month).await?.snap;
    state.compute.run(move || region_detail(&snap, &about, d, k)).await.map(Json)
}

/// What `/api/regions/{id}` is about.
enum About {
    Region(u16),
    Study(super::areas::Resolved),
}

/// Tallies of the talents living in a region.
struct SupplyCounts {
    field: Vec<Tally>,
    field_seekers: Vec<Tally>,
    education: [Tally; 4],
    title: [Tally; 5],
    tier: [Tally; 6],
}

/// Openings of the open vacancies in a region.
struct DemandCounts {
    field: Vec<u64>,
    education: [u64; 4],
    title: [u64; 5],
}

/// Tallies of the talents working in an area, and its enterprises' totals
/// (what a study area's statistics need besides the tables).
#[derive(Default)]
struct AreaTotals {
    residents: Tally,
    seekers: Tally,
    workers: Tally,
    enterprises: u64,
    key_enterprises: u64,
    employees: u64,
    openings: u64,
}

fn count_place(snap: &Snapshot, place: Place<'_>) -> (SupplyCounts, DemandCounts, AreaTotals) {
    let nf = snap.taxonomy.fields().len();
    let none = Tally::default();
    let mut s = SupplyCounts {
        field: vec![none; nf],
        field_seekers: vec![none; nf],
        education: [none; 4],
        title: [none; 5],
        tier: [none; 6],
    };
    let mut totals = AreaTotals::default();
    for t in &snap.talents {
        if place.works(t) {
            totals.workers.add(t.rkey);
        }
        if !place.lives(t) {
            continue;
        }
        totals.residents.add(t.rkey);
        s.field[t.field as usize].add(t.rkey);
        if t.seeking() {
            s.field_seekers[t.field as usize].add(t.rkey);
            totals.seekers.add(t.rkey);
        }
        s.education[t.education as usize & 3].add(t.rkey);
        s.title[(t.title as usize).min(4)].add(t.rkey);
        s.tier[(t.tier as usize).min(5)].add(t.rkey);
    }
    let hosts: Vec<bool> = snap.enterprises.iter().map(|e| place.hosts(e)).collect();
    for e in snap.enterprises.iter().zip(&hosts).filter(|(_, h)| **h).map(|(e, _)| e) {
        totals.enterprises += 1;
        totals.key_enterprises += e.is_key as u64;
        totals.employees += e.employees as u64;
        totals.openings += e.openings as u64;
    }
    let mut d = DemandCounts { field: vec![0; nf], education: [0; 4], title: [0; 5] };
    for v in snap.vacancies.iter().filter(|v| v.open && hosts.get(v.enterprise as usize).copied().unwrap_or(false)) {
        d.field[v.field as usize] += v.openings as u64;
        d.education[v.education as usize & 3] += v.openings as u64;
        d.title[(v.title as usize).min(4)] += v.openings as u64;
    }
    (s, d, totals)
}

fn region_detail(snap: &Snapshot, about: &About, d: Disclosure, k: u32) -> RegionDetail {
    let place = match about {
        About::Region(r) => Place::Region(*r),
        About::Study(resolved) => resolved.place(),
    };
    let (s, dem, totals) = count_place(snap, place);
    let field_code = |i: usize| snap.taxonomy.fields()[i].code.clone();
    let mut supply_by_field: Vec<FieldSupply> = (0..s.field.len())
        .map(|i| (i, d.count(s.field[i])))
        .filter(|&(_, talents)| talents > 0)
        .map(|(i, talents)| FieldSupply {
            field: field_code(i),
            talents: Some(talents),
            seekers: Some(d.count(s.field_seekers[i])),
        })
        .collect();
    supply_by_field.sort_by_key(|v| std::cmp::Reverse(v.talents.unwrap_or(0)));
    let mut demand_by_field: Vec<FieldDemand> = (0..dem.field.len())
        .filter(|&i| dem.field[i] > 0)
        .map(|i| FieldDemand { field: field_code(i), openings: dem.field[i] })
        .collect();
    demand_by_field.sort_by_key(|v| std::cmp::Reverse(v.openings));
    // Supply rows publish talent tallies, demand rows openings.
    let edu = |supply: Option<&[Tally; 4]>, demand: Option<&[u64; 4]>| -> Vec<EducationCount> {
        (0..4)
            .map(|i| EducationCount {
                education: Education::ALL[i].code(),
                talents: supply.map(|t| Some(d.count(t[i]))),
                openings: demand.map(|n| n[i]),
            })
            .collect()
    };
    let title = |supply: Option<&[Tally; 5]>, demand: Option<&[u64; 5]>| -> Vec<TitleCount> {
        (0..5)
            .map(|i| TitleCount {
                title: Title::ALL[i].code(),
                talents: supply.map(|t| Some(d.count(t[i]))),
                openings: demand.map(|n| n[i]),
            })
            .collect()
    };
    let by_tier =
        Tier::ALL.iter().zip(s.tier).map(|(t, n)| TierCount { tier: t.code(), talents: Some(d.count(n)) }).collect();
    let (stats, bbox) = match about {
        About::Region(r) => (region_properties(snap, *r as usize, d), snap.regions[*r as usize].bbox),
        About::Study(resolved) => {
            let named = super::areas::area_ref(snap, resolved);
            let b = named.bbox;
            let seekers = Some(d.count(totals.seekers));
            let stats = RegionProperties {
                id: named.id,
                name: named.name,
                name_en: None,
                kind: named.kind,
                talents: Some(d.count(totals.residents)),
                suppressed: false,
                seekers,
                workers: Some(d.count(totals.workers)),
                enterprises: totals.enterprises,
                key_enterprises: totals.key_enterprises,
                employees: totals.employees,
                openings: totals.openings,
                ratio: seekers.filter(|&n| n > 0).map(|n| totals.openings as f64 / n as f64),
                centre: [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0].map(round6),
            };
            (stats, b)
        }
    };
    RegionDetail {
        id: stats.id.clone(),
        name: stats.name.clone(),
        name_en: stats.name_en.clone(),
        month: snap.as_of.map(month_label),
        kind: stats.kind,
        bbox: bbox.map(round6),
        centre: stats.centre,
        stats,
        supply: Supply {
            by_field: supply_by_field,
            by_education: edu(Some(&s.education), None),
            by_title: title(Some(&s.title), None),
            by_tier,
        },
        demand: Demand {
            by_field: demand_by_field,
            by_education: edu(None, Some(&dem.education)),
            by_title: title(None, Some(&dem.title)),
        },
        privacy_k: k,
        exact_counts: d.is_exact(),
    }
}

/// Most tiles `/api/aggregates` will aggregate in one request.
const MAX_AGGREGATE_TILES: u64 = 256;

/// The record layer `/api/aggregates` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AggregateLayer {
    Talents,
    Vacancies,
}

/// The parameters of `/api/aggregates` (besides the record filters).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AggregatesParams {
    /// The records to count.
    pub layer: AggregateLayer,
    /// The tile zoom whose cells are answered (0..=14).
    #[param(inline)]
    pub zoom: Int<0, 14>,
    /// `west,south,east,north` in degrees; the tiles covering it at `zoom` (at most 256).
    #[param(example = "117.0,36.6,117.2,36.8")]
    pub bbox: String,
}

/// `GET /api/aggregates?layer=talents|vacancies&zoom=Z&bbox=…&filters`: the
/// cells the tiles of zoom `Z` covering the box contain, as GeoJSON
/// polygons, with the same properties and privacy rule as the tiles. Runs
/// on the compute pool.
#[utoipa::path(get, path = "/api/aggregates", tag = "map", params(AggregatesParams, FilterParams),
    responses((status = 200, description = "The aggregate cells", body = AggregateCollection,
               content_type = "application/geo+json"),
              (status = 400, description = "A parameter is unknown, repeated or invalid, or the box covers too many tiles",
               body = ErrorBody)))]
pub async fn aggregates(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<Filtered<AggregatesParams>>,
) -> Result<GeoJsonBytes, ApiError> {
    let snap = state.snapshot();
    let p = query.query;
    let [w, s, e, n] = params::parse_bbox("bbox", &p.bbox)?;
    let filter = query.filter.filter(&snap)?;
    let z = p.zoom.get() as u8;
    let scale = (1u64 << z) as f64;
    let (x0, y0) = lonlat_to_unit(w, n);
    let (x1, y1) = lonlat_to_unit(e, s);
    let clamp = |v: f64| (v * scale).floor().clamp(0.0, scale - 1.0) as u64;
    let (tx0, ty0, tx1, ty1) = (clamp(x0), clamp(y0), clamp(x1), clamp(y1));
    let tiles = (tx1 - tx0 + 1) * (ty1 - ty0 + 1);
    if tiles > MAX_AGGREGATE_TILES {
        return Err(ApiError::param(
            "bbox",
            format!(
                "covers {tiles} tiles at zoom {z}; at most {MAX_AGGREGATE_TILES}: use a smaller box or a lower zoom"
            ),
        ));
    }
    let k = state.settings.k;
    let talents = p.layer == AggregateLayer::Talents;
    state
        .compute
        .run(move || {
            let mut features = Vec::new();
            for (tx, ty) in (ty0..=ty1).flat_map(|ty| (tx0..=tx1).map(move |tx| (tx, ty))) {
                let tile = TileId { z, x: tx as u32, y: ty as u32 };
                let cells = match talents {
                    true => cells::talent_cells(&snap, tile, &filter),
                    false => cells::vacancy_cells(&snap, tile, &filter),
                };
                features.extend(cells.iter().filter_map(|c| cell_feature(&snap, c, talents, k)));
            }
            // Written here, on the pool: tens of megabytes at zoom 14.
            let collection = AggregateCollection {
                tag: CollectionTag::FeatureCollection,
                features,
                zoom: z,
                cell_level: cells::cell_level(z),
                privacy_k: k,
            };
            GeoJson(collection).written()
        })
        .await?
}

/// One cell as GeoJSON: talent cells through disclosure control (`None`
/// when published as 0, like an empty cell), vacancy cells under the
/// threshold rule.
fn cell_feature(snap: &Arc<Snapshot>, c: &Cell, talents: bool, k: u32) -> Option<CellFeature> {
    let (w, s, e, n) = morton::cell_tile(c.id).lonlat_bounds();
    let cell = c.id.to_string();
    let properties = if talents {
        let p = publish_cell(snap, c, Disclosure::Protected { k })?;
        CellProperties::Published(CellCounts {
            cell: cell.clone(),
            count: p.count,
            edu_associate: p.education[0],
            edu_bachelor: p.education[1],
            edu_master: p.education[2],
            edu_doctorate: p.education[3],
            top_field: p.top_field.map(|(code, _)| code.to_string()),
            top_field_count: p.top_field.map(|(_, n)| n),
            seekers: Some(p.seekers),
            young: Some(p.young),
            rows: None,
        })
    } else if publishable(c.count, k).is_none() {
        CellProperties::Suppressed(SuppressedCell { cell: cell.clone(), suppressed: true })
    } else {
        CellProperties::Published(CellCounts {
            cell: cell.clone(),
            count: c.count,
            edu_associate: c.education[0],
            edu_bachelor: c.education[1],
            edu_master: c.education[2],
            edu_doctorate: c.education[3],
            top_field: c.top_field.and_then(|(f, _)| snap.taxonomy.field(f)).map(|f| f.code.clone()),
            top_field_count: c.top_field.map(|(_, n)| n),
            seekers: None,
            young: None,
            rows: Some(c.rows),
        })
    };
    Some(CellFeature { tag: FeatureTag::Feature, id: cell, geometry: Geometry::rectangle(w, s, e, n), properties })
}
