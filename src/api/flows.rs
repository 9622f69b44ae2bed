//! Talent flows over HTTP: the moves feed (`POST /api/moves`), monthly
//! series per area, the flow map and early-warning alerts. The analytics are
//! in [`crate::analytics::flows`]; this module parses parameters, applies the
//! privacy threshold and shapes JSON / GeoJSON.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::analytics::flows::{self, AlertError, AlertQuery, Scope, alerts, merge_small, month_label, parse_month};
use crate::analytics::privacy::publishable;
use crate::import::{BatchError, MAX_BATCH, import_moves};
use crate::model::RegionKind;
use crate::snapshot::{NONE16, Snapshot};
use crate::store::Store;

use super::{ApiError, AppState, params};

/// Largest accepted request body of `POST /api/moves` (64 MiB: 50,000 moves
/// of about 250 bytes each, with room).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Longest span of months a series may ask for.
const MAX_SPAN_MONTHS: u32 = 600;

/// The flow routes, merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/moves", post(post_moves).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .route("/api/flows/series", get(series))
        .route("/api/flows/od", get(od))
        .route("/api/flows/alerts", get(alerts_handler))
}

fn error_response(status: StatusCode, code: &str, message: String, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({"error": {"code": code, "message": message}});
    if let Some((key, value)) = extra {
        body["error"][key] = value;
    }
    (status, Json(body)).into_response()
}

/// `POST /api/moves` with `{"moves": [{id, talent_id, date, event, from_lon,
/// from_lat, to_lon, to_lat, to_enterprise_id, destination}, …]}`.
///
/// - 200 `{"received", "stored", "unchanged", "version"}` once the batch is
///   committed (durable); the snapshot is then rebuilt in the background and
///   swapped in (readers keep the old one meanwhile).
/// - 400 `{"error": {"code": "invalid_batch", "message", "items": [{"index",
///   "field", "value", "reason", "message"}]}}`: nothing stored.
/// - 413 over [`MAX_BATCH`] moves or [`MAX_BODY_BYTES`]; 503 when the server
///   has no data directory.
pub async fn post_moves(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                e.status(),
                "bad_body",
                format!("cannot read the body: {e} (at most {MAX_BODY_BYTES} bytes)"),
                None,
            );
        }
    };
    let Some(dir) = state.data_dir.clone() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_store",
            "this server has no data directory; start it with one to accept moves".into(),
            None,
        );
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("body is not valid JSON: {e}"),
                None,
            );
        }
    };
    let items = match parsed {
        Value::Object(mut object) => {
            if let Some(key) = object.keys().find(|k| k.as_str() != "moves") {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("unknown key '{key}'; the body is {{\"moves\": [ … ]}}"),
                    None,
                );
            }
            match object.remove("moves") {
                Some(Value::Array(items)) => items,
                _ => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "expected {\"moves\": [ … ]} with an array of moves".into(),
                        None,
                    );
                }
            }
        }
        _ => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "expected a JSON object {\"moves\": [ … ]}".into(),
                None,
            );
        }
    };
    if items.len() > MAX_BATCH {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a batch holds at most {MAX_BATCH} moves, got {}; split it", items.len()),
            None,
        );
    }
    let received = items.len();
    let taxonomy = state.taxonomy.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<_, BatchError> {
        let mut store = Store::open(&dir).map_err(crate::import::ImportError::from)?;
        import_moves(&mut store, &taxonomy, &items)
    })
    .await;
    match result {
        Ok(Ok(summary)) => {
            if summary.stored > 0 {
                let s = state.clone();
                tokio::task::spawn_blocking(move || match s.refresh() {
                    Ok(Some(version)) => tracing::info!(version, "moves batch: new snapshot published"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "snapshot rebuild after a moves batch failed"),
                });
            }
            (StatusCode::OK, Json(json!(summary))).into_response()
        }
        Ok(Err(BatchError::Invalid { errors })) => {
            let message = format!(
                "{} invalid value{} in {} of {} moves; nothing was stored",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors.iter().map(|e| e.index).collect::<std::collections::BTreeSet<_>>().len(),
                received
            );
            error_response(StatusCode::BAD_REQUEST, "invalid_batch", message, Some(("items", json!(errors))))
        }
        Ok(Err(BatchError::TooLarge(n))) => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a batch holds at most {MAX_BATCH} moves, got {n}"),
            None,
        ),
        Ok(Err(e)) => ApiError::Internal(e.to_string()).into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

/// The `field` and `chain` parameters.
fn scope(query: &BTreeMap<String, String>, snap: &Snapshot) -> Result<Scope, ApiError> {
    let taxonomy = &snap.taxonomy;
    let field = match query.get("field") {
        None => None,
        Some(code) => Some(taxonomy.field_index(code.trim()).ok_or_else(|| {
            ApiError::param(
                "field",
                format!("unknown value '{code}'; accepted: one 4-digit first-level discipline code such as 0812 (see /api/taxonomy)"),
            )
        })?),
    };
    let industries = match query.get("chain") {
        None => None,
        Some(id) => Some(taxonomy.resolve_industry(id.trim()).ok_or_else(|| {
            ApiError::param(
                "chain",
                format!(
                    "unknown value '{id}'; accepted: an industry chain id ({}) or a GB/T 4754-2017 division code",
                    taxonomy.chains().iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?),
    };
    Ok(Scope { field, industries })
}

fn month_param(query: &BTreeMap<String, String>, name: &str) -> Result<Option<u32>, ApiError> {
    query
        .get(name)
        .map(|v| {
            parse_month(v.trim())
                .ok_or_else(|| ApiError::param(name, format!("'{v}' is not a month; accepted: YYYY-MM, e.g. 2025-07")))
        })
        .transpose()
}

/// `from`/`to` months, defaulting to the span of the data.
fn span(query: &BTreeMap<String, String>, snap: &Snapshot) -> Result<Option<(u32, u32)>, ApiError> {
    let flows = &snap.flows;
    let (first, last) = (flows.first_month, flows.first_month + (flows.months as u32).saturating_sub(1));
    let from = month_param(query, "from")?;
    let to = month_param(query, "to")?;
    if flows.months == 0 && from.is_none() && to.is_none() {
        return Ok(None);
    }
    let (from, to) = (from.unwrap_or(first), to.unwrap_or(last));
    if from > to {
        return Err(ApiError::param(
            "from",
            format!("{} is after to = {}; accepted: from ≤ to", month_label(from), month_label(to)),
        ));
    }
    if to - from >= MAX_SPAN_MONTHS {
        return Err(ApiError::param("to", format!("the span is longer than {MAX_SPAN_MONTHS} months")));
    }
    Ok(Some((from, to)))
}

fn level(query: &BTreeMap<String, String>) -> Result<RegionKind, ApiError> {
    match query.get("level").map(|s| s.trim()) {
        None | Some("district") => Ok(RegionKind::District),
        Some("park") => Ok(RegionKind::Park),
        Some(other) => Err(ApiError::param("level", format!("unknown value '{other}'; accepted: district, park"))),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `GET /api/flows/series?area=ID[&chain=ID][&field=CODE][&from=YYYY-MM][&to=YYYY-MM]`.
pub async fn series(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["area", "chain", "field", "from", "to"])?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let area = query
        .get("area")
        .ok_or_else(|| ApiError::param("area", "required; accepted: a district or park id (see /api/regions)"))?;
    let region = snap.region(area).ok_or_else(|| ApiError::NotFound(format!("no region with id '{area}'")))?;
    let info = &snap.regions[region as usize];
    if snap.flows.slot(region) == NONE16 {
        return Err(ApiError::param(
            "area",
            format!("'{area}' is a {}; flows are tracked for districts and parks", info.kind.code()),
        ));
    }
    let scope = scope(&query, &snap)?;
    let months = match span(&query, &snap)? {
        Some((from, to)) => flows::series(&snap, region, &scope, from, to, k),
        None => Vec::new(),
    };
    let talents = publishable(flows::resident_talents(&snap, region, &scope), k);
    Ok(Json(json!({
        "area": {"id": info.id, "name": info.name, "kind": info.kind.code(),
                 "centre": [round6(info.centre[0]), round6(info.centre[1])]},
        "field": query.get("field"),
        "chain": query.get("chain"),
        "talents": talents,
        "k": k,
        "version": snap.version,
        "months": months,
    })))
}

/// `GET /api/flows/od?level=district|park[&from=YYYY-MM][&to=YYYY-MM][&chain][&field]`:
/// GeoJSON with a `LineString` per pair of areas (job changes and
/// relocations from one to the other, at least k) and a `Point` per area
/// (arrivals into and departures out of the city, with the destinations).
pub async fn od(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["level", "from", "to", "chain", "field"])?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let level = level(&query)?;
    let scope = scope(&query, &snap)?;
    let span = span(&query, &snap)?;
    let flows_index = &snap.flows;
    let matrix = match span {
        Some((from, to)) if flows_index.months > 0 => {
            let last = flows_index.first_month + flows_index.months as u32 - 1;
            let lo = from.max(flows_index.first_month);
            let hi = to.min(last);
            if lo <= hi {
                let (a, b) = (lo - flows_index.first_month, hi - flows_index.first_month);
                flows::od(&snap, level, &scope, a as u16, b as u16)
            } else {
                Default::default()
            }
        }
        _ => Default::default(),
    };
    let centre = |r: u16| {
        let c = snap.regions[r as usize].centre;
        json!([round6(c[0]), round6(c[1])])
    };
    let mut features = Vec::new();
    let mut lines: Vec<((u16, u16), (u64, u64))> = matrix.lines.iter().map(|(&ab, &c)| (ab, c)).collect();
    lines.sort_by(|x, y| {
        let id = |r: u16| snap.regions[r as usize].id.as_str();
        (id(x.0.0), id(x.0.1)).cmp(&(id(y.0.0), id(y.0.1)))
    });
    for ((a, b), (jobs, relocations)) in lines {
        let count = jobs + relocations;
        if publishable(count, k).is_none() {
            continue;
        }
        let parts_ok = publishable(jobs, k).is_some() && publishable(relocations, k).is_some();
        let (ra, rb) = (&snap.regions[a as usize], &snap.regions[b as usize]);
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [centre(a), centre(b)]},
            "properties": {
                "kind": "flow", "from": ra.id, "from_name": ra.name, "to": rb.id, "to_name": rb.name,
                "count": count,
                "job_changes": parts_ok.then_some(jobs), "relocations": parts_ok.then_some(relocations),
            }
        }));
    }
    for (r, info) in snap.regions.iter().enumerate().filter(|(_, r)| r.kind == level) {
        let r = r as u16;
        let arrivals = matrix.arrivals.get(&r).copied().unwrap_or(0);
        let by_destination = matrix.departures.get(&r);
        let departures: u64 = by_destination.map_or(0, |d| d.values().sum());
        let breakdown = merge_small(
            by_destination
                .into_iter()
                .flatten()
                .map(|(&d, &n)| {
                    (flows_index.destinations.get(d as usize).cloned().unwrap_or_else(|| "unknown".into()), n)
                })
                .collect(),
            k,
            10,
        );
        features.push(json!({
            "type": "Feature",
            "id": info.id,
            "geometry": {"type": "Point", "coordinates": centre(r)},
            "properties": {
                "kind": "area", "id": info.id, "name": info.name, "level": info.kind.code(),
                "arrivals": publishable(arrivals, k), "departures": publishable(departures, k),
                "destinations": breakdown.parts.iter().map(|(name, count)| json!({"name": name, "count": count})).collect::<Vec<_>>(),
                "other_destinations": breakdown.other,
            }
        }));
    }
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": features,
        "level": level.code(),
        "from": span.map(|s| month_label(s.0)),
        "to": span.map(|s| month_label(s.1)),
        "k": k,
        "version": snap.version,
    })))
}

/// `GET /api/flows/alerts?month=YYYY-MM[&level=district|park][&chain=ID][&field=CODE][&alpha=P]`:
/// `{"items": [alerts, most severe first], "areas": [every area assessed],
/// "method": {…}}`. `month` defaults to the latest month of the data.
pub async fn alerts_handler(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    params::check_known(&query, false, &["month", "level", "chain", "field", "alpha"])?;
    let snap = state.snapshot();
    let k = state.settings.k;
    let level = level(&query)?;
    let scope = scope(&query, &snap)?;
    let alpha = match query.get("alpha") {
        None => alerts::DEFAULT_ALPHA,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(a) if a > 0.0 && a <= 0.5 => a,
            _ => {
                return Err(ApiError::param(
                    "alpha",
                    format!("'{v}' is not accepted; accepted: a probability in (0, 0.5]"),
                ));
            }
        },
    };
    let flows_index = &snap.flows;
    if flows_index.months == 0 {
        return Err(ApiError::param("month", "there are no moves yet; import or POST moves first"));
    }
    let month = match month_param(&query, "month")? {
        Some(m) => m,
        None => flows_index.first_month + flows_index.months as u32 - 1,
    };
    let areas = flows::assess_areas(&snap, &AlertQuery { month, level, scope, alpha, k }).map_err(|e| match e {
        AlertError::OutOfRange { first, last } => ApiError::param(
            "month",
            format!(
                "{} is outside the data; accepted: {}..{}",
                month_label(month),
                month_label(first),
                month_label(last)
            ),
        ),
        AlertError::ShortHistory { first_assessable, last } => ApiError::param(
            "month",
            format!(
                "{} has less than {} months of history before it; accepted: {}..{}",
                month_label(month),
                alerts::HISTORY_MONTHS,
                month_label(first_assessable),
                month_label(last)
            ),
        ),
    })?;
    let items: Vec<&flows::AreaAlert> = areas.iter().filter(|a| a.alert).collect();
    Ok(Json(json!({
        "month": month_label(month),
        "level": level.code(),
        "chain": query.get("chain"),
        "field": query.get("field"),
        "method": {
            "name": alerts::METHOD,
            "alpha": alpha,
            "false_alarm_rate": alpha,
            "history_months": alerts::HISTORY_MONTHS,
            "description": "departures against the area's own last 12 months (seasonally adjusted with the city's calendar-month pattern); negative binomial predictive upper tail; alert when p < alpha and departures ≥ k. For stationary departures at most alpha of area-months alert.",
            "trend": "Sen slope (departures per month, seasonally adjusted) and Mann–Kendall two-sided p over the 12 months ending with the month",
        },
        "k": k,
        "version": snap.version,
        "items": items,
        "areas": areas,
    })))
}
