//! Talent flows over HTTP: the moves feed (`POST /api/moves`), monthly
//! series per area, the flow map and early-warning alerts. The analytics are
//! in [`crate::analytics::flows`]; this module parses parameters, chooses the
//! disclosure and shapes JSON / GeoJSON.
//!
//! Disclosure ([`crate::analytics::privacy`]): `series?area=ID` is exact for
//! an admin and for an analyst whose jurisdiction covers the area; the flow
//! map and the alerts (every area) are exact for admins only; everyone else
//! gets counts perturbed per tally of move record keys (each month, each
//! window `from..=to` of whole months, each flow and destination its own
//! tally). Exact answers are audited.

use axum::Json;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::analytics::flows::{self, AlertError, AlertQuery, Scope, alerts, month_label, parse_month};
use crate::areas::Place;
use crate::auth::Principal;
use crate::import::{BatchError, MAX_BATCH, stage_moves_gated, stage_moves_keeping};
use crate::model::RegionKind;
use crate::snapshot::{NONE16, Snapshot};
use crate::spatial::round6;

use super::access::{self, Access, Caller};
use super::error::{BatchItemError, ErrorBody};
use super::params::{Level, Number};
use super::query::ApiQuery;
use super::types::flows::{Series as SeriesBody, *};
use super::{ApiError, AppState};
use axum::extract::Extension;
use serde_json::json;

/// Largest accepted request body of `POST /api/moves` (64 MiB: 50,000 moves
/// of about 250 bytes each, with room).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Longest span of months a series may ask for.
const MAX_SPAN_MONTHS: u32 = 600;

/// The flow routes, added to the route table.
pub fn routes(table: super::RouteTable) -> super::RouteTable {
    table
        .add("POST", "/api/moves", Access::Feed, post(post_moves).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .get("/api/flows/series", Access::Public, series)
        .get("/api/flows/od", Access::Public, super::od::od)
        .get("/api/flows/alerts", Access::Public, alerts_handler)
        .get("/api/stock", Access::Public, stock)
}

/// `POST /api/moves` with `{"moves": [{id, talent_id, date, event, from_lon,
/// from_lat, to_lon, to_lat, to_enterprise_id, destination}, …]}`.
///
/// - 200 `{"received", "stored", "unchanged", "version"}` once the batch is
///   committed (durable); the snapshot is then rebuilt in the background and
///   swapped in (readers keep the old one meanwhile).
/// - 400 `invalid_batch` with `error.items: [{"index", "field", "value",
///   "reason", "message"}]`: nothing stored.
/// - 413 over [`MAX_BATCH`] moves or [`MAX_BODY_BYTES`]; 503 when the server
///   has no data directory.
#[utoipa::path(post, path = "/api/moves", tag = "flows", request_body = MovesRequest,
    responses((status = 200, description = "The batch is stored", body = MovesStored),
              (status = 400, description = "The body is not a moves batch (`bad_request`, `bad_body`), or values are \
                                            invalid (`invalid_batch`, with `items`); nothing was stored", body = ErrorBody),
              (status = 413, description = "More than 50,000 moves or 64 MiB", body = ErrorBody),
              (status = 503, description = "The server has no data directory", body = ErrorBody)))]
pub async fn post_moves(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MovesStored>, ApiError> {
    let body = body.map_err(|e| {
        let message = format!("cannot read the body: {e} (at most {MAX_BODY_BYTES} bytes)");
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(message),
            _ => ApiError::BadBody(message),
        }
    })?;
    let Some(pool) = state.store.clone() else {
        return Err(ApiError::NoStore("this server has no data directory; start it with one to accept moves".into()));
    };
    let items = moves_of(&body)?;
    let received = items.len();
    let taxonomy = state.taxonomy.clone();
    let s = state.clone();
    let actor = caller.actor();
    let result = tokio::task::spawn_blocking(move || -> Result<_, BatchError> {
        // The snapshot follows the batch before the answer: a caller who
        // gets 200 and then reads the map sees the batch.
        let _one_at_a_time = s.refresh_lock();
        let _underway = s.batch_underway();
        // The arrays the snapshot patch writes into, readied on the other
        // core while this one validates (waited for only by a batch that
        // stores moves: one whose moves are all stored already patches
        // nothing).
        let wanted = crate::snapshot::patch::rooms_wanted(&s.snapshot_guard());
        let readying = std::thread::Builder::new()
            .name("ready-arrays".into())
            .spawn(move || {
                // Fresh memory is faulted in where the batch's reads leave a
                // core idle, not beside them.
                super::background::yield_to_requests();
                if let Some(wanted) = wanted {
                    crate::snapshot::patch::ready_rooms(wanted)
                }
            })
            .map_err(|e| tracing::debug!(error = %e, "the patch's arrays were not readied"))
            .ok();
        s.with_feed_store(&pool, |store, context, gate| {
            let staged = match gate {
                Some(gate) => stage_moves_gated(store, &taxonomy, &items, context, gate)?,
                None => stage_moves_keeping(store, &taxonomy, &items, context)?,
            };
            if let Some(readying) = readying.filter(|_| staged.summary().stored > 0) {
                let _ = readying.join();
            }
            // The audit entry of a batch that stores moves is written in the
            // batch's transaction: stored together or not at all.
            s.commit_and_follow(staged, |conn, summary| {
                let (params, outcome) = (json!({"received": received}), stored_outcome(summary));
                crate::auth::audit::append_in(conn, &actor, MOVES_ACTION, &params, &outcome, crate::auth::now())
                    .map(|_| ())
                    .map_err(|e| format!("audit entry: {e}"))
            })
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let summary = match result.map_err(|e| batch_error(e, received)) {
        Ok((summary, true)) => summary,
        Ok((summary, false)) => {
            access::audit(&caller, MOVES_ACTION, json!({"received": received}), stored_outcome(&summary)).await?;
            summary
        }
        Err(e) => {
            let refused = json!({"result": "refused", "error": e.to_string()});
            access::audit(&caller, MOVES_ACTION, json!({"received": received}), refused).await?;
            return Err(e);
        }
    };
    Ok(Json(MovesStored {
        received: summary.received,
        stored: summary.stored,
        unchanged: summary.unchanged,
        version: summary.version,
        warnings: summary
            .warnings
            .into_iter()
            .map(|w| MoveWarning { index: w.index, field: w.field, value: w.value, message: w.message })
            .collect(),
    }))
}

/// The audit log's name of a moves batch.
const MOVES_ACTION: &str = "POST /api/moves";

/// What the audit log records of a batch that was taken.
fn stored_outcome(summary: &crate::import::BatchSummary) -> Value {
    json!({"stored": summary.stored, "unchanged": summary.unchanged, "version": summary.version})
}

/// The items of a moves body `{"moves": [ … ]}`, at most [`MAX_BATCH`]:
/// read as a stream that stops at the first move over the limit, so an
/// oversized batch is refused without materialising the rest of it.
fn moves_of(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    crate::import::parse_moves_body(body, MAX_BATCH).map_err(|e| match e {
        e @ BatchError::TooMany { .. } => ApiError::PayloadTooLarge(e.to_string()),
        e => ApiError::BadRequest(e.to_string()),
    })
}

/// A refused batch in the API's error shape.
fn batch_error(e: BatchError, received: usize) -> ApiError {
    match e {
        BatchError::Invalid { errors } => {
            let message = format!(
                "{} invalid value{} in {} of {} moves; nothing was stored",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors.iter().map(|e| e.index).collect::<std::collections::BTreeSet<_>>().len(),
                received
            );
            ApiError::InvalidBatch { message, items: errors.iter().map(BatchItemError::from).collect() }
        }
        BatchError::TooLarge(n) => {
            ApiError::PayloadTooLarge(format!("a batch holds at most {MAX_BATCH} moves, got {n}"))
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// The `field` and `chain` parameters.
pub(super) fn scope(field: Option<&str>, chain: Option<&str>, snap: &Snapshot) -> Result<Scope, ApiError> {
    let taxonomy = &snap.taxonomy;
    let field = match field {
        None => None,
        Some(code) => Some(taxonomy.field_index(code.trim()).ok_or_else(|| {
            ApiError::param(
                "field",
                format!("unknown value '{code}'; accepted: one 4-digit first-level discipline code such as 0812 (see /api/taxonomy)"),
            )
        })?),
    };
    let industries = match chain {
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

fn month_param(value: Option<&str>, name: &str) -> Result<Option<u32>, ApiError> {
    value
        .map(|v| {
            parse_month(v.trim())
                .ok_or_else(|| ApiError::param(name, format!("'{v}' is not a month; accepted: YYYY-MM, e.g. 2025-07")))
        })
        .transpose()
}

/// A `from..=to` window is in order and at most [`MAX_SPAN_MONTHS`] long.
fn check_span(from: u32, to: u32) -> Result<(), ApiError> {
    if from > to {
        return Err(ApiError::param(
            "from",
            format!("{} is after to = {}; accepted: from ≤ to", month_label(from), month_label(to)),
        ));
    }
    if to - from >= MAX_SPAN_MONTHS {
        return Err(ApiError::param("to", format!("the span is longer than {MAX_SPAN_MONTHS} months")));
    }
    Ok(())
}

/// `from`/`to` months, defaulting to the span of the data.
pub(super) fn span(from: Option<&str>, to: Option<&str>, snap: &Snapshot) -> Result<Option<(u32, u32)>, ApiError> {
    let flows = &snap.flows;
    let (first, last) = (flows.first_month, flows.first_month + (flows.months as u32).saturating_sub(1));
    let from = month_param(from, "from")?;
    let to = month_param(to, "to")?;
    if flows.months == 0 && from.is_none() && to.is_none() {
        return Ok(None);
    }
    let (from, to) = (from.unwrap_or(first), to.unwrap_or(last));
    check_span(from, to)?;
    Ok(Some((from, to)))
}

/// The parameters of `/api/flows/series`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Required: a district or park id (see /api/regions) or a study-area id (`sa_…`).
    pub area: Option<String>,
    /// An industry chain id or a GB/T 4754-2017 division code.
    pub chain: Option<String>,
    /// A 4-digit first-level discipline code.
    pub field: Option<String>,
    /// First month, `YYYY-MM` (default: the first month of the data).
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2025-01")]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: the last month of the data); at most 600 months after `from`.
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2025-12")]
    pub to: Option<String>,
}

/// `GET /api/flows/series?area=ID[&chain=ID][&field=CODE][&from=YYYY-MM][&to=YYYY-MM]`.
#[utoipa::path(get, path = "/api/flows/series", tag = "flows", params(SeriesParams),
    responses((status = 200, description = "Monthly arrivals, departures, job changes, relocations and net rate",
               body = SeriesBody),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No region with this id", body = ErrorBody)))]
pub async fn series(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<SeriesParams>,
) -> Result<Json<SeriesBody>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let area = query.area.as_deref().ok_or_else(|| {
        ApiError::param("area", "required; accepted: a district or park id (see /api/regions) or a study-area id")
    })?;
    let resolved = super::areas::resolve(&state, &snap, "area", area).await?;
    let scope = scope(query.field.as_deref(), query.chain.as_deref(), &snap)?;
    let span = span(query.from.as_deref(), query.to.as_deref(), &snap)?;
    let version = snap.version;
    let d = super::areas::disclosure(&state, &snap, &principal, &resolved).await?;
    let named = super::areas::area_ref(&snap, &resolved);
    let params = json!({"area": named.id, "field": query.field, "chain": query.chain,
        "from": span.map(|s| month_label(s.0)), "to": span.map(|s| month_label(s.1))});
    access::audit_exact(&caller, d, "GET /api/flows/series", params).await?;
    let bbox = named.bbox;
    let centre = match resolved {
        super::areas::Resolved::Region(r) => snap.regions[r as usize].centre,
        _ => [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0],
    };
    let area = FlowArea { id: named.id, name: named.name, kind: named.kind, centre: centre.map(round6) };
    let (months, talents) = state
        .compute
        .run(move || {
            let place = resolved.place();
            let months = span.map_or_else(Vec::new, |(from, to)| flows::series(&snap, place, &scope, from, to, d));
            (months, Some(d.count(flows::resident_talents(&snap, place, &scope))))
        })
        .await?;
    let exact_counts = d.is_exact();
    Ok(Json(SeriesBody { area, field: query.field, chain: query.chain, talents, k, exact_counts, version, months }))
}

/// The parameters of `/api/flows/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsParams {
    /// The month assessed, `YYYY-MM` (default: the latest month of the data).
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    /// The areas assessed (default district).
    pub level: Option<Level>,
    /// An industry chain id or a GB/T 4754-2017 division code.
    pub chain: Option<String>,
    /// A 4-digit first-level discipline code.
    pub field: Option<String>,
    /// The false-alarm rate: a probability in (0, 0.5], default 0.001.
    #[param(value_type = Option<f64>, minimum = 0.0, maximum = 0.5)]
    pub alpha: Option<Number>,
    /// Assess only this area: a district, park or study-area id (`sa_…`);
    /// the seasonal pattern is still pooled over the areas of `level`.
    pub area: Option<String>,
}

const ALERT_DESCRIPTION: &str = "departures against the area's own last 12 months (seasonally adjusted with the city's calendar-month pattern); negative binomial predictive upper tail; alert when p < alpha and departures ≥ k. For stationary departures at most alpha of area-months alert. Computed from the published departures (perturbed unless exact_counts).";
const ALERT_TREND: &str = "Sen slope (departures per month, seasonally adjusted) and Mann–Kendall two-sided p over the 12 months ending with the month";

/// `GET /api/flows/alerts?month=YYYY-MM[&level=district|park][&chain=ID][&field=CODE][&alpha=P][&area=ID]`:
/// `{"items": [alerts, most severe first], "areas": [every area assessed],
/// "method": {…}}`. `month` defaults to the latest month of the data. Runs
/// on the compute pool.
#[utoipa::path(get, path = "/api/flows/alerts", tag = "flows", params(AlertsParams),
    responses((status = 200, description = "Alerts and every area assessed", body = Alerts),
              (status = 400, description = "A parameter is unknown, repeated or invalid, or the month cannot be assessed",
               body = ErrorBody),
              (status = 404, description = "No district, park or study area with the `area` id", body = ErrorBody)))]
pub async fn alerts_handler(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<AlertsParams>,
) -> Result<Json<Alerts>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let level = query.level.unwrap_or_default().kind();
    let scope = scope(query.field.as_deref(), query.chain.as_deref(), &snap)?;
    let alpha = match query.alpha {
        None => alerts::DEFAULT_ALPHA,
        Some(Number(a)) if a > 0.0 && a <= 0.5 => a,
        Some(Number(a)) => {
            return Err(ApiError::param(
                "alpha",
                format!("'{a}' is not accepted; accepted: a probability in (0, 0.5]"),
            ));
        }
    };
    let flows_index = &snap.flows;
    if flows_index.months == 0 {
        return Err(ApiError::param("month", "there are no moves yet; import or POST moves first"));
    }
    let month = match month_param(query.month.as_deref(), "month")? {
        Some(m) => m,
        None => flows_index.first_month + flows_index.months as u32 - 1,
    };
    let version = snap.version;
    let city = access::disclosure_for(&principal, k, &[]);
    let one = match query.area.as_deref() {
        Some(id) => Some(super::areas::resolve(&state, &snap, "area", id).await?),
        None => None,
    };
    let d = match &one {
        Some(r) => super::areas::disclosure(&state, &snap, &principal, r).await?,
        None => city,
    };
    let params = json!({"month": month_label(month), "level": level.code(), "field": query.field,
        "chain": query.chain, "alpha": alpha, "area": query.area});
    access::audit_exact(&caller, d, "GET /api/flows/alerts", params).await?;
    let alert_query = AlertQuery { month, level, scope, alpha, disclosure: d };
    let areas = state
        .compute
        .run(move || match one {
            None => flows::assess_areas(&snap, &alert_query),
            Some(r) => {
                let named = super::areas::area_ref(&snap, &r);
                let centre = match r {
                    super::areas::Resolved::Region(i) => snap.regions[i as usize].centre,
                    _ => [(named.bbox[0] + named.bbox[2]) / 2.0, (named.bbox[1] + named.bbox[3]) / 2.0],
                };
                let who =
                    flows::Assessed { id: named.id, name: named.name, kind: named.kind, centre, bbox: named.bbox };
                flows::assess_place(&snap, &alert_query, r.place(), city, who).map(|a| vec![a])
            }
        })
        .await?;
    let areas = areas.map_err(|e| alert_error(e, month))?;
    let items = areas.iter().filter(|a| a.alert).cloned().collect();
    Ok(Json(Alerts {
        month: month_label(month),
        level: level.code(),
        chain: query.chain,
        field: query.field,
        method: AlertMethod {
            name: alerts::METHOD,
            alpha,
            false_alarm_rate: alpha,
            history_months: alerts::HISTORY_MONTHS,
            description: ALERT_DESCRIPTION,
            trend: ALERT_TREND,
        },
        k,
        exact_counts: d.is_exact(),
        version,
        items,
        areas,
    }))
}

/// A month alerts cannot be computed for, as a 400 naming `month`.
fn alert_error(e: AlertError, month: u32) -> ApiError {
    let message = match e {
        AlertError::OutOfRange { first, last } => format!(
            "{} is outside the data; accepted: {}..{}",
            month_label(month),
            month_label(first),
            month_label(last)
        ),
        AlertError::ShortHistory { first_assessable, last } => format!(
            "{} has less than {} months of history before it; accepted: {}..{}",
            month_label(month),
            alerts::HISTORY_MONTHS,
            month_label(first_assessable),
            month_label(last)
        ),
    };
    ApiError::param("month", message)
}

/// Months a stock series covers by default, ending at the data's last month.
const STOCK_DEFAULT_MONTHS: u32 = 24;

/// The parameters of `/api/stock`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockParams {
    /// `district` (default), `park`, or one district or park id.
    pub level: Option<String>,
    /// First month, `YYYY-MM` (default: 23 months before `to`).
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2025-01")]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: the last month with moves, else this
    /// month); at most 600 months after `from`.
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2026-10")]
    pub to: Option<String>,
    /// An industry chain id or a GB/T 4754-2017 division code.
    pub chain: Option<String>,
    /// A 4-digit first-level discipline code.
    pub field: Option<String>,
}

/// `GET /api/stock?level=district|park|ID[&from=YYYY-MM][&to=YYYY-MM][&chain][&field]`:
/// the talents living in each area at the end of each month, reconstructed
/// from the moves (`analytics::flows::stock`), published under the caller's
/// disclosure. Runs on the compute pool.
#[utoipa::path(get, path = "/api/stock", tag = "flows", params(StockParams),
    responses((status = 200, description = "Monthly talent stock per area", body = Stock),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No region with this id", body = ErrorBody)))]
pub async fn stock(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<StockParams>,
) -> Result<Json<Stock>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let level = query.level.as_deref().map(str::trim).unwrap_or("district").to_string();
    let regions: Vec<u16> = match level.as_str() {
        "district" | "park" => {
            let kind = if level == "district" { RegionKind::District } else { RegionKind::Park };
            (0..snap.regions.len() as u16).filter(|&r| snap.regions[r as usize].kind == kind).collect()
        }
        id => {
            let r = snap.region(id).ok_or_else(|| ApiError::NotFound(format!("no region with id '{id}'")))?;
            if snap.flows.slot(r) == NONE16 {
                return Err(ApiError::param(
                    "level",
                    format!(
                        "'{id}' is a {}; accepted: district, park, or a district or park id",
                        snap.regions[r as usize].kind.code()
                    ),
                ));
            }
            vec![r]
        }
    };
    let scope = scope(query.field.as_deref(), query.chain.as_deref(), &snap)?;
    let flows_data = &snap.flows;
    let data_until = (flows_data.months > 0).then(|| flows_data.first_month + flows_data.months as u32 - 1);
    let to = month_param(query.to.as_deref(), "to")?
        .or(data_until)
        .unwrap_or_else(|| crate::import::current_year() as u32 * 12);
    let from = month_param(query.from.as_deref(), "from")?.unwrap_or(to.saturating_sub(STOCK_DEFAULT_MONTHS - 1));
    check_span(from, to)?;
    let ids: Vec<&str> = regions.iter().map(|&r| snap.regions[r as usize].id.as_str()).collect();
    let d = access::disclosure_for(&principal, k, &ids);
    let params = json!({"level": level, "field": query.field, "chain": query.chain,
        "from": month_label(from), "to": month_label(to)});
    access::audit_exact(&caller, d, "GET /api/stock", params).await?;
    let snap2 = snap.clone();
    let areas = state
        .compute
        .run(move || {
            regions
                .iter()
                .map(|&r| {
                    let info = &snap2.regions[r as usize];
                    let counts = flows::stock(&snap2, Place::Region(r), &scope, from, to, d);
                    StockArea {
                        id: info.id.clone(),
                        name: info.name.clone(),
                        kind: info.kind.code(),
                        months: (from..=to)
                            .zip(counts)
                            .map(|(m, talents)| StockMonth { month: month_label(m), talents })
                            .collect(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(Stock {
        level,
        from: month_label(from),
        to: month_label(to),
        data_until: data_until.map(month_label),
        field: query.field,
        chain: query.chain,
        k,
        exact_counts: d.is_exact(),
        version: snap.version,
        areas,
    }))
}
