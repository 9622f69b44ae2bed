//! GeoJSON (RFC 7946) and JSON views of the same data the tiles draw:
//! enterprises (paged), regions with statistics, one region's supply and
//! demand tables, the aggregate cells of a zoom and box, and the code tables.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use geo::{CoordsIter, MultiPolygon, Winding};
use rstar::AABB;
use serde_json::{Value, json};

use crate::analytics::cells::{self, Cell};
use crate::analytics::privacy::{json_count, publishable};
use crate::encode::layers::unit;
use crate::model::{Education, Tier, Title};
use crate::snapshot::{NONE16, Snapshot};
use crate::spatial::{TileId, lonlat_to_unit, morton};

use super::{ApiError, AppState, params};

/// Coordinates rounded to 1e-6 degrees (about 0.1 m).
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// RFC 7946 polygon coordinates: exterior counter-clockwise, holes
/// clockwise, rings closed.
pub fn multipolygon_json(mp: &MultiPolygon<f64>) -> Value {
    let polys: Vec<Value> = mp
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.exterior_mut(|r| r.make_ccw_winding());
            p.interiors_mut(|rs| rs.iter_mut().for_each(|r| r.make_cw_winding()));
            let ring = |r: &geo::LineString<f64>| -> Value {
                Value::Array(r.coords_iter().map(|c| json!([round6(c.x), round6(c.y)])).collect())
            };
            let mut rings = vec![ring(p.exterior())];
            rings.extend(p.interiors().iter().map(ring));
            Value::Array(rings)
        })
        .collect();
    if polys.len() == 1 {
        json!({"type": "Polygon", "coordinates": polys[0]})
    } else {
        json!({"type": "MultiPolygon", "coordinates": polys})
    }
}

/// `GET /api/taxonomy`: the code tables with Chinese and English names.
pub async fn taxonomy(State(state): State<AppState>) -> Json<Value> {
    let t = &state.taxonomy;
    let named = |items: Vec<(&str, &str, &str)>| -> Vec<Value> {
        items.into_iter().map(|(c, zh, en)| json!({"code": c, "name_zh": zh, "name_en": en})).collect()
    };
    Json(json!({
        "industries": t.industries(),
        "sections": t.sections(),
        "fields": t.fields(),
        "categories": t.categories(),
        "chains": t.chains(),
        "education": named(vec![("associate", "大专", "Associate"), ("bachelor", "本科", "Bachelor's"), ("master", "硕士", "Master's"), ("doctorate", "博士", "Doctorate")]),
        "titles": named(vec![("none", "无职称", "No title"), ("junior", "初级", "Junior"), ("intermediate", "中级", "Intermediate"), ("associate_senior", "副高级", "Associate senior"), ("senior", "正高级", "Senior")]),
        "tiers": named(vec![("A", "A类 顶尖人才", "A: top"), ("B", "B类 国家级领军人才", "B: national leading"), ("C", "C类 省级领军人才", "C: provincial leading"), ("D", "D类 市级领军人才", "D: municipal leading"), ("E", "E类 高级人才", "E: senior"), ("none", "未认定", "Not classified")]),
    }))
}

fn enterprise_feature(snap: &Snapshot, i: usize) -> Value {
    let e = &snap.enterprises[i];
    let region = |r: u16| (r != NONE16).then(|| snap.regions[r as usize].id.clone());
    json!({
        "type": "Feature",
        "id": e.id,
        "geometry": {"type": "Point", "coordinates": [round6(e.lon), round6(e.lat)]},
        "properties": {
            "id": e.id, "name": e.name,
            "industry": snap.taxonomy.industry(e.industry).map(|x| x.code.clone()),
            "employees": e.employees, "key": e.is_key, "openings": e.openings,
            "district": region(e.district), "park": region(e.park),
        }
    })
}

/// `GET /api/enterprises?bbox=…&q=…&industry=…&limit=N&cursor=C`: enterprise
/// points as GeoJSON, in id order, paged by `cursor` (the last id of the
/// previous page, returned as `next_cursor`).
pub async fn enterprises(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, true, &["bbox", "q", "limit", "cursor"])?;
    let snap = state.snapshot();
    let filter = params::filter(&query, &snap)?;
    let bbox = params::bbox(&query, false)?;
    let limit = params::int(&query, "limit", 1, 5000, 500)? as usize;
    let q = query.get("q").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let cursor = query.get("cursor").cloned();
    let candidates: Vec<usize> = match bbox {
        Some([w, s, e, n]) => {
            let (a, b) = (unit(w, n), unit(e, s));
            snap.enterprise_tree.locate_in_envelope(AABB::from_corners(a, b)).map(|p| p.data as usize).collect()
        }
        None => (0..snap.enterprises.len()).collect(),
    };
    let mut hits: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let e = &snap.enterprises[i];
            filter.enterprise(e)
                && q.as_ref().is_none_or(|q| e.name.to_lowercase().contains(q.as_str()) || e.id.to_lowercase() == *q)
                && cursor.as_ref().is_none_or(|c| e.id.as_str() > c.as_str())
        })
        .collect();
    hits.sort_by(|&a, &b| snap.enterprises[a].id.cmp(&snap.enterprises[b].id));
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more { hits.last().map(|&i| snap.enterprises[i].id.clone()) } else { None };
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": hits.iter().map(|&i| enterprise_feature(&snap, i)).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

fn region_properties(snap: &Snapshot, i: usize, k: u32) -> Value {
    let r = &snap.regions[i];
    let s = &r.stats;
    let seekers = publishable(s.seekers, k);
    json!({
        "id": r.id, "name": r.name, "kind": r.kind.code(),
        "talents": json_count(s.talents, k),
        "suppressed": publishable(s.talents, k).is_none(),
        "seekers": seekers,
        "workers": json_count(s.workers, k),
        "enterprises": s.enterprises, "key_enterprises": s.key_enterprises,
        "employees": s.employees, "openings": s.openings,
        "ratio": seekers.filter(|&n| n > 0).map(|n| s.openings as f64 / n as f64),
        "centre": [round6(r.centre[0]), round6(r.centre[1])],
    })
}

/// `GET /api/regions?kind=district|park|street`: regions as GeoJSON with
/// statistics.
pub async fn regions(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["kind"])?;
    let kind = match query.get("kind") {
        None => None,
        Some(k) => Some(k.parse::<crate::model::RegionKind>().map_err(|e| ApiError::param("kind", e.to_string()))?),
    };
    let snap = state.snapshot();
    let features: Vec<Value> = snap
        .regions
        .iter()
        .enumerate()
        .filter(|(_, r)| kind.is_none_or(|k| r.kind == k))
        .map(|(i, r)| {
            json!({"type": "Feature", "id": r.id, "geometry": multipolygon_json(&r.geometry), "properties": region_properties(&snap, i, state.settings.k)})
        })
        .collect();
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}

/// `GET /api/regions/{id}`: one region's totals and its supply (resident
/// talents) and demand (open positions) tables by field, education and
/// title. Talent counts follow the privacy rule.
pub async fn region(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let index = snap.region(&id).ok_or_else(|| ApiError::NotFound(format!("no region with id '{id}'")))?;
    let r = &snap.regions[index as usize];
    let in_region = |district: u16, park: u16| district == index || park == index;
    let nf = snap.taxonomy.fields().len();
    let (mut s_field, mut s_field_seek) = (vec![0u64; nf], vec![0u64; nf]);
    let (mut s_edu, mut s_title, mut s_tier) = ([0u64; 4], [0u64; 5], [0u64; 6]);
    for t in snap.talents.iter().filter(|t| in_region(t.home_district, t.home_park)) {
        s_field[t.field as usize] += 1;
        s_field_seek[t.field as usize] += t.seeking() as u64;
        s_edu[t.education as usize & 3] += 1;
        s_title[(t.title as usize).min(4)] += 1;
        s_tier[(t.tier as usize).min(5)] += 1;
    }
    let (mut d_field, mut d_edu, mut d_title) = (vec![0u64; nf], [0u64; 4], [0u64; 5]);
    for v in snap.vacancies.iter().filter(|v| v.open && in_region(v.district, v.park)) {
        d_field[v.field as usize] += v.openings as u64;
        d_edu[v.education as usize & 3] += v.openings as u64;
        d_title[(v.title as usize).min(4)] += v.openings as u64;
    }
    let field_code = |i: usize| snap.taxonomy.fields()[i].code.clone();
    let mut supply_by_field: Vec<Value> = (0..nf)
        .filter(|&i| s_field[i] > 0)
        .map(|i| json!({"field": field_code(i), "talents": json_count(s_field[i], k), "seekers": json_count(s_field_seek[i], k)}))
        .collect();
    supply_by_field.sort_by_key(|v| std::cmp::Reverse(v["talents"].as_u64().unwrap_or(0)));
    let mut demand_by_field: Vec<Value> =
        (0..nf).filter(|&i| d_field[i] > 0).map(|i| json!({"field": field_code(i), "openings": d_field[i]})).collect();
    demand_by_field.sort_by_key(|v| std::cmp::Reverse(v["openings"].as_u64().unwrap_or(0)));
    let edu = |counts: &[u64; 4], key: &str, private: bool| -> Vec<Value> {
        Education::ALL
            .iter()
            .zip(counts)
            .map(|(e, &n)| json!({"education": e.code(), key: if private { json_count(n, k) } else { json!(n) }}))
            .collect()
    };
    let title = |counts: &[u64; 5], key: &str, private: bool| -> Vec<Value> {
        Title::ALL
            .iter()
            .zip(counts)
            .map(|(t, &n)| json!({"title": t.code(), key: if private { json_count(n, k) } else { json!(n) }}))
            .collect()
    };
    let tiers: Vec<Value> =
        Tier::ALL.iter().zip(s_tier).map(|(t, n)| json!({"tier": t.code(), "talents": json_count(n, k)})).collect();
    Ok(Json(json!({
        "id": r.id, "name": r.name, "kind": r.kind.code(),
        "bbox": r.bbox.map(round6), "centre": r.centre.map(round6),
        "stats": region_properties(&snap, index as usize, k),
        "supply": {"by_field": supply_by_field, "by_education": edu(&s_edu, "talents", true), "by_title": title(&s_title, "talents", true), "by_tier": tiers},
        "demand": {"by_field": demand_by_field, "by_education": edu(&d_edu, "openings", false), "by_title": title(&d_title, "openings", false)},
        "privacy_k": k,
    })))
}

/// Most tiles `/api/aggregates` will aggregate in one request.
const MAX_AGGREGATE_TILES: u64 = 256;

/// `GET /api/aggregates?layer=talents|vacancies&zoom=Z&bbox=…&filters`: the
/// cells the tiles of zoom `Z` covering the box contain, as GeoJSON
/// polygons, with the same properties and privacy rule as the tiles.
pub async fn aggregates(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, true, &["layer", "zoom", "bbox"])?;
    let snap = state.snapshot();
    let talents = match query.get("layer").map(String::as_str) {
        Some("talents") => true,
        Some("vacancies") => false,
        Some(other) => {
            return Err(ApiError::param("layer", format!("'{other}' is not accepted; accepted: talents, vacancies")));
        }
        None => return Err(ApiError::param("layer", "required; accepted: talents, vacancies")),
    };
    let zoom = params::int(&query, "zoom", 0, 14, u64::MAX)?;
    if zoom == u64::MAX {
        return Err(ApiError::param("zoom", "required; accepted: an integer in 0..=14"));
    }
    let [w, s, e, n] = params::bbox(&query, true)?.unwrap_or_default();
    let filter = params::filter(&query, &snap)?;
    let z = zoom as u8;
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
    let mut features = Vec::new();
    for ty in ty0..=ty1 {
        for tx in tx0..=tx1 {
            let tile = TileId { z, x: tx as u32, y: ty as u32 };
            let cells = if talents {
                cells::talent_cells(&snap, tile, &filter)
            } else {
                cells::vacancy_cells(&snap, tile, &filter)
            };
            features.extend(cells.iter().map(|c| cell_feature(&snap, c, talents, k)));
        }
    }
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": features,
        "zoom": z,
        "cell_level": cells::cell_level(z),
        "privacy_k": k,
    })))
}

fn cell_feature(snap: &Snapshot, c: &Cell, talents: bool, k: u32) -> Value {
    let (w, s, e, n) = morton::cell_tile(c.id).lonlat_bounds();
    let (w, s, e, n) = (round6(w), round6(s), round6(e), round6(n));
    let geometry = json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]});
    let props = if publishable(c.count, k).is_none() {
        json!({"cell": c.id.to_string(), "suppressed": true})
    } else {
        let mut p = json!({
            "cell": c.id.to_string(),
            "count": c.count,
            "edu_associate": c.education[0], "edu_bachelor": c.education[1],
            "edu_master": c.education[2], "edu_doctorate": c.education[3],
            "top_field": c.top_field.and_then(|(f, _)| snap.taxonomy.field(f)).map(|f| f.code.clone()),
            "top_field_count": c.top_field.map(|(_, n)| n),
        });
        if talents {
            p["seekers"] = json!(c.seekers);
            p["young"] = json!(c.young);
        } else {
            p["rows"] = json!(c.rows);
        }
        p
    };
    json!({"type": "Feature", "id": c.id.to_string(), "geometry": geometry, "properties": props})
}
