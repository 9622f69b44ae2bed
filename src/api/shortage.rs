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

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::analytics::privacy::json_count;
use crate::analytics::shortage::areas::{Area, By, Context, Figures, Query, contributors, fields_in, rank};
use crate::analytics::shortage::basis::{Basis, Narrow};
use crate::analytics::shortage::catchment::{DEFAULT_RADIUS_M, Decay};
use crate::analytics::shortage::effective::CatchmentParams;
use crate::analytics::shortage::index::{DEFAULT_INTERVAL, DEFAULT_PRIOR, Estimate, Smoothing, supply_band};
use crate::analytics::shortage::mismatch::{Scope, mismatch as mismatch_report};
use crate::encode::shortage::{MAXZOOM, round4};
use crate::model::{Education, Title};
use crate::snapshot::Snapshot;

use super::{ApiError, AppState, params};

/// Parameters every shortage query accepts.
const QUERY_PARAMS: [&str; 7] = ["field", "education", "title", "prior", "interval", "radius", "decay"];

fn number(query: &BTreeMap<String, String>, name: &str, min: f64, max: f64, default: f64) -> Result<f64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(x),
            _ => Err(ApiError::param(name, format!("'{v}' is not accepted; accepted: a number in {min}..={max}"))),
        },
    }
}

/// Parses the shortage query of a request. `field` is required.
pub fn parse_query(query: &BTreeMap<String, String>, snap: &Snapshot, k: u32) -> Result<Query, ApiError> {
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
        smoothing: Smoothing {
            prior: number(query, "prior", 0.01, 10_000.0, DEFAULT_PRIOR)?,
            interval: number(query, "interval", 0.5, 0.99, DEFAULT_INTERVAL)?,
            k,
        },
        catchment: CatchmentParams {
            radius_m: number(query, "radius", 0.5, 50.0, DEFAULT_RADIUS_M / 1000.0)? * 1000.0,
            decay,
        },
    })
}

fn field_code(snap: &Snapshot, field: u8) -> String {
    snap.taxonomy.field(field).map_or_else(String::new, |f| f.code.clone())
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The numbers of one estimate as JSON members (privacy applied).
fn estimate_members(out: &mut serde_json::Map<String, Value>, e: &Estimate, k: u32) {
    match e.supply.exact {
        Some(s) => {
            out.insert("supply".into(), json!(s as u64));
        }
        None => {
            out.insert("supply".into(), Value::Null);
            out.insert("supply_band".into(), json!(supply_band(k)));
        }
    }
    out.insert("ratio".into(), json!(e.ratio.map(round4)));
    out.insert("index".into(), json!(round4(e.index)));
    let (lo, hi) = e.interval.map_or((None, None), |(l, h)| (Some(round4(l)), Some(round4(h))));
    out.insert("low".into(), json!(lo));
    out.insert("high".into(), json!(hi));
    out.insert("low_data".into(), json!(e.low_data));
}

fn effective_members(out: &mut serde_json::Map<String, Value>, e: Option<&Estimate>, k: u32) {
    match e {
        Some(x) => {
            match x.supply.exact {
                Some(s) => {
                    out.insert("effective_supply".into(), json!((s * 10.0).round() / 10.0));
                }
                None => {
                    out.insert("effective_supply".into(), Value::Null);
                    out.insert("effective_supply_band".into(), json!(supply_band(k)));
                }
            }
            out.insert("effective_ratio".into(), json!(x.ratio.map(round4)));
            out.insert("effective_index".into(), json!(round4(x.index)));
            out.insert("effective_low_data".into(), json!(x.low_data));
        }
        None => {
            for key in ["effective_supply", "effective_ratio", "effective_index", "effective_low_data"] {
                out.insert(key.into(), Value::Null);
            }
        }
    }
}

fn area_item(snap: &Snapshot, area: Area, f: &Figures, e: &Estimate, eff: Option<&Estimate>, k: u32) -> Value {
    let [lon, lat] = area.centre(snap);
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(area.id(snap)));
    m.insert("name".into(), json!(area.name(snap)));
    m.insert("kind".into(), json!(area.kind(snap)));
    m.insert("lon".into(), json!(round6(lon)));
    m.insert("lat".into(), json!(round6(lat)));
    m.insert("demand".into(), json!(f.demand as u64));
    estimate_members(&mut m, e, k);
    m.insert("employed".into(), f.employed.map_or(Value::Null, |n| json_count(n, k)));
    effective_members(&mut m, eff, k);
    Value::Object(m)
}

/// Columns of the CSV download, in order.
const CSV_COLUMNS: [&str; 19] = [
    "id",
    "name",
    "kind",
    "lon",
    "lat",
    "demand",
    "supply",
    "supply_band",
    "ratio",
    "index",
    "low",
    "high",
    "low_data",
    "employed",
    "effective_supply",
    "effective_supply_band",
    "effective_ratio",
    "effective_index",
    "effective_low_data",
];

/// Items as CSV with `columns` (missing or null members are empty cells).
fn csv_response(items: &[Value], columns: &[&str], filename: &str) -> Result<Response, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    w.write_record(columns).map_err(internal)?;
    for item in items {
        let row: Vec<String> = columns
            .iter()
            .map(|c| match &item[*c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        w.write_record(&row).map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `json` (default) or `csv`.
fn wants_csv(query: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    match query.get("format").map(|s| s.trim()) {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::param("format", format!("'{other}' is not accepted; accepted: json, csv"))),
    }
}

fn query_echo(snap: &Snapshot, q: &Query, ctx: &Context) -> Value {
    json!({
        "field": field_code(snap, q.field),
        "education": q.narrow.education.and_then(Education::from_index).map(|e| e.code()),
        "title": q.narrow.title.and_then(Title::from_index).map(|t| t.code()),
        "prior": q.smoothing.prior,
        "interval": q.smoothing.interval,
        "radius_km": q.catchment.radius_m / 1000.0,
        "decay": q.catchment.decay.code(),
        "city": {"demand": ctx.city.demand as u64, "supply": city_supply(ctx.city.supply, q.smoothing.k), "ratio": round4(ctx.city.ratio)},
        "city_effective_ratio": round4(ctx.city_effective.ratio),
    })
}

fn city_supply(published_value: f64, k: u32) -> Value {
    if published_value > 0.0 && published_value < k as f64 { Value::Null } else { json!(published_value as u64) }
}

/// `GET /api/shortage?field=CODE&by=district|park|cell[&zoom=Z][&education=…&title=…][&limit=N][&format=csv]`
pub async fn ranking(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut accepted = QUERY_PARAMS.to_vec();
    accepted.extend(["by", "zoom", "limit", "format"]);
    params::check_known(&query, false, &accepted)?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let q = parse_query(&query, &snap, k)?;
    let by = match query.get("by").map(|s| s.trim()) {
        None | Some("district") => By::District,
        Some("park") => By::Park,
        Some("cell") => {
            let zoom = params::int(&query, "zoom", 0, MAXZOOM as u64, u64::MAX)?;
            if zoom == u64::MAX {
                return Err(ApiError::param(
                    "zoom",
                    format!("required with by=cell; accepted: an integer in 0..={MAXZOOM}"),
                ));
            }
            By::Cell { zoom: zoom as u8 }
        }
        Some(other) => {
            return Err(ApiError::param("by", format!("'{other}' is not accepted; accepted: district, park, cell")));
        }
    };
    if query.contains_key("zoom") && !matches!(by, By::Cell { .. }) {
        return Err(ApiError::param("zoom", "applies only to by=cell; accepted: by=cell&zoom=0..14"));
    }
    let csv = wants_csv(&query)?;
    let limit = match query.get("limit") {
        None if csv => None,
        _ => Some(params::int(&query, "limit", 1, 100_000, 100)? as usize),
    };
    let ctx = Context::new(&snap, &q);
    let rows = rank(&snap, &ctx, &q, by, limit);
    let items: Vec<Value> =
        rows.iter().map(|r| area_item(&snap, r.area, &r.figures, &r.estimate, r.effective.as_ref(), k)).collect();
    if csv {
        return csv_response(&items, &CSV_COLUMNS, &format!("shortage-{}.csv", field_code(&snap, q.field)));
    }
    let mut body = query_echo(&snap, &q, &ctx);
    body["by"] = json!(match by {
        By::District => "district",
        By::Park => "park",
        By::Cell { .. } => "cell",
    });
    if let By::Cell { zoom } = by {
        body["zoom"] = json!(zoom);
        body["cell_level"] = json!(crate::analytics::cells::cell_level(zoom));
    }
    body["privacy_k"] = json!(k);
    body["items"] = Value::Array(items);
    Ok(Json(body).into_response())
}

fn area_param(query: &BTreeMap<String, String>, snap: &Snapshot) -> Result<Area, ApiError> {
    let id = query
        .get("area")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param("area", "required; accepted: a district or park id, or a grid cell id"))?;
    Area::parse(snap, id).ok_or_else(|| ApiError::NotFound(format!("no district, park or grid cell with id '{id}'")))
}

/// `GET /api/shortage/fields?area=ID[&education=…&title=…][&limit=N][&format=csv]`
pub async fn fields(
    State(state): State<AppState>,
    QueryParams(mut query): QueryParams<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut accepted: Vec<&str> = QUERY_PARAMS.iter().copied().filter(|p| *p != "field").collect();
    accepted.extend(["area", "limit", "format"]);
    params::check_known(&query, false, &accepted)?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let area = area_param(&query, &snap)?;
    let csv = wants_csv(&query)?;
    let limit = match query.get("limit") {
        None if csv => usize::MAX,
        _ => params::int(&query, "limit", 1, 1000, 100)? as usize,
    };
    // The template query needs some field; it is replaced per field.
    let any = snap.taxonomy.fields().first().map(|f| f.code.clone()).unwrap_or_default();
    query.insert("field".into(), any);
    let template = parse_query(&query, &snap, k)?;
    let rows = fields_in(&snap, area, &template);
    let items: Vec<Value> = rows
        .iter()
        .take(limit)
        .map(|r| {
            let entry = snap.taxonomy.field(r.field);
            let mut m = serde_json::Map::new();
            m.insert("field".into(), json!(entry.map(|e| e.code.clone())));
            m.insert("name_zh".into(), json!(entry.map(|e| e.name_zh.clone())));
            m.insert("name_en".into(), json!(entry.map(|e| e.name_en.clone())));
            m.insert("demand".into(), json!(r.figures.demand as u64));
            estimate_members(&mut m, &r.estimate, k);
            m.insert("employed".into(), r.figures.employed.map_or(Value::Null, |n| json_count(n, k)));
            m.insert("city_ratio".into(), json!(round4(r.city.ratio)));
            effective_members(&mut m, r.effective.as_ref(), k);
            Value::Object(m)
        })
        .collect();
    if csv {
        let mut columns = vec!["field", "name_zh", "name_en", "city_ratio"];
        columns.extend(CSV_COLUMNS.iter().skip(5));
        return csv_response(&items, &columns, &format!("shortage-fields-{}.csv", area.id(&snap)));
    }
    let [lon, lat] = area.centre(&snap);
    Ok(Json(json!({
        "area": {"id": area.id(&snap), "name": area.name(&snap), "kind": area.kind(&snap), "lon": round6(lon), "lat": round6(lat)},
        "education": template.narrow.education.and_then(Education::from_index).map(|e| e.code()),
        "title": template.narrow.title.and_then(Title::from_index).map(|t| t.code()),
        "prior": template.smoothing.prior,
        "interval": template.smoothing.interval,
        "privacy_k": k,
        "items": items,
    }))
    .into_response())
}

/// `GET /api/shortage/explain?area=ID&field=CODE[&education=…&title=…]`
pub async fn explain(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut accepted = QUERY_PARAMS.to_vec();
    accepted.push("area");
    params::check_known(&query, false, &accepted)?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let q = parse_query(&query, &snap, k)?;
    let area = area_param(&query, &snap)?;
    let ctx = Context::new(&snap, &q);
    let figures = ctx.figures(&q, area);
    let top = contributors(&snap, &ctx, &q, area, 10);
    let e = ctx.estimate(&q, &figures).with_interval(q.smoothing.interval);
    let eff = ctx.effective(&q, &figures);
    let m = q.smoothing.prior;
    let mut numbers = serde_json::Map::new();
    numbers.insert("demand".into(), json!(figures.demand as u64));
    estimate_members(&mut numbers, &e, k);
    numbers.insert("employed".into(), figures.employed.map_or(Value::Null, |n| json_count(n, k)));
    effective_members(&mut numbers, eff.as_ref(), k);
    let enterprises: Vec<Value> = top
        .iter()
        .map(|c| {
            let ent = &snap.enterprises[c.enterprise as usize];
            let site = crate::analytics::shortage::index::published_supply(c.site_effective_supply, k);
            json!({
                "id": ent.id, "name": ent.name, "lon": round6(ent.lon), "lat": round6(ent.lat),
                "industry": snap.taxonomy.industry(ent.industry).map(|i| i.code.clone()),
                "openings": c.openings,
                "site_openings": c.site_openings as u64,
                "site_effective_supply": site.exact.map(|s| (s * 10.0).round() / 10.0),
                "site_effective_ratio": (site.value > 0.0).then(|| round4(c.site_openings / site.value)),
            })
        })
        .collect();
    let [lon, lat] = area.centre(&snap);
    let mut echo = query_echo(&snap, &q, &ctx);
    echo["area"] = json!({"id": area.id(&snap), "name": area.name(&snap), "kind": area.kind(&snap), "lon": round6(lon), "lat": round6(lat)});
    echo["field_name"] = json!(snap.taxonomy.field(q.field).map(|f| json!({"zh": f.name_zh, "en": f.name_en})));
    echo["numbers"] = Value::Object(numbers);
    echo["prior_detail"] = json!({
        "strength": m,
        "mean": round4(ctx.city.ratio),
        "shape": round4(m * ctx.city.ratio),
        "rate": m,
        "note": "prior Gamma(m·ρ, m): the city ratio ρ, worth m seekers",
    });
    echo["posterior"] = json!({
        "shape": round4(e.shape),
        "rate": round4(e.rate),
        "formula": "index = (D + m·ρ) / (S + m); interval = Gamma(D + m·ρ, S + m) quantiles at (1 ∓ level)/2",
        "supply_used": if e.supply.exact.is_some() { json!("exact") } else { json!(format!("band value k/2 = {}", k as f64 / 2.0)) },
    });
    echo["low_data_rule"] = json!(format!("low_data when supply < max(m, 10) = {}", m.max(10.0)));
    echo["catchment"] = json!({
        "radius_km": q.catchment.radius_m / 1000.0,
        "decay": q.catchment.decay.code(),
        "method": "two-step floating catchment (2SFCA): seekers allocated to the openings within reach; effective supply = Σ openings × accessible seekers per opening over the area's sites",
        "city_demand": ctx.catchment.demand as u64,
        "city_allocated_seekers": json_count(ctx.catchment.allocated.round() as u64, k),
        "city_unreached_seekers": json_count(ctx.catchment.unreached.round() as u64, k),
        "city_effective_ratio": round4(ctx.city_effective.ratio),
    });
    echo["enterprises"] = Value::Array(enterprises);
    echo["privacy_k"] = json!(k);
    Ok(Json(echo))
}

/// `GET /api/mismatch?area=ID` or `?chain=ID[&prior=m]`
pub async fn mismatch(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["area", "chain", "prior"])?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let smoothing =
        Smoothing { prior: number(&query, "prior", 0.01, 10_000.0, DEFAULT_PRIOR)?, interval: DEFAULT_INTERVAL, k };
    let (scope, about) = match (query.get("area"), query.get("chain")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::param(
                "area",
                "exactly one of area (a district or park id) or chain (an industry chain id) is required",
            ));
        }
        (Some(id), None) => match Area::parse(&snap, id.trim()) {
            Some(Area::Region(r)) => {
                let reg = &snap.regions[r as usize];
                (Scope::Region(r), json!({"area": {"id": reg.id, "name": reg.name, "kind": reg.kind.code()}}))
            }
            _ => return Err(ApiError::NotFound(format!("no district or park with id '{id}'"))),
        },
        (None, Some(id)) => {
            let chain = snap.taxonomy.chain(id.trim()).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no industry chain '{id}'; chains: {}",
                    snap.taxonomy.chains().iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let divisions: Vec<u8> = chain.divisions.iter().filter_map(|d| snap.taxonomy.industry_index(d)).collect();
            (
                Scope::Chain(divisions),
                json!({"chain": {"id": chain.id, "name_zh": chain.name_zh, "name_en": chain.name_en, "divisions": chain.divisions}}),
            )
        }
    };
    let report = mismatch_report(&snap, &Basis::of(&snap), &scope, &smoothing);
    let mut body = serde_json::to_value(&report).map_err(|e| ApiError::Internal(format!("json: {e}")))?;
    if let (Some(b), Some(a)) = (body.as_object_mut(), about.as_object()) {
        b.extend(a.clone());
        b.insert(
            "supply_definition".into(),
            json!(match scope {
                Scope::Region(_) => "seekers living in the area; workforce = talents working in the area",
                Scope::Chain(_) => "seekers city-wide; workforce = talents employed in the chain's divisions",
            }),
        );
        b.insert("privacy_k".into(), json!(k));
    }
    Ok(Json(body))
}
