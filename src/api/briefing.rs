//! `GET /api/briefing`: what changed this month and where to look, for a
//! policymaker who reads for one minute. It composes the existing
//! analytics — the shortage index (`analytics::shortage`), the underserved
//! parks (`analytics::commute`), the loss alerts and flows
//! (`analytics::flows`), hiring difficulty (`analytics::hiring`) — and adds
//! only the ranking of each kind of finding and its wording. Every talent
//! number is published under the caller's disclosure by the analytics it
//! comes from; the ranking rules are in docs/briefing.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::analytics::commute::CommuteIndex;
use crate::analytics::flows::{self, AlertQuery, Scope, alerts, month_label, parse_month};
use crate::analytics::hiring::{self, MIN_OPENINGS};
use crate::analytics::privacy::Disclosure;
use crate::analytics::shortage::areas::{By, Context, rank};
use crate::areas::Place;
use crate::auth::Principal;
use crate::encode::shortage::round4;
use crate::model::{Date, RegionKind, days_in_month};
use crate::snapshot::Snapshot;

use super::access::{self, Access, Caller};
use super::error::ErrorBody;
use super::query::{ApiQuery, Int};
use super::shortage::parse_query;
use super::xlsx::{Cell, Sheet};
use super::{ApiError, AppState};

/// Findings of each kind listed by default.
const DEFAULT_PER_KIND: usize = 3;

/// The language of titles and details.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The parameters of `/api/briefing`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BriefingParams {
    /// The month, `YYYY-MM` (default: the latest month with moves).
    #[param(pattern = r"^\d{4}-\d{2}$", example = "2026-10")]
    pub month: Option<String>,
    /// Language of titles and details (default zh).
    pub lang: Option<Lang>,
    /// Findings of each kind: 1..=10, default 3.
    #[param(inline)]
    pub per_kind: Option<Int<1, 10>>,
    /// `json` (default) or `xlsx` (the monthly brief as a workbook: an export).
    pub format: Option<BriefingFormat>,
}

/// The answer format of the briefing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BriefingFormat {
    #[default]
    Json,
    Xlsx,
}

/// A headline number with its changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Headline {
    /// The value at the end of the month (flows: during the month).
    pub value: Option<f64>,
    /// The same at the end of (during) the previous month.
    pub previous_month: Option<f64>,
    /// The same a year earlier.
    pub year_before: Option<f64>,
    /// `value − previous_month`.
    pub change_month: Option<f64>,
    /// `value − year_before`.
    pub change_year: Option<f64>,
}

impl Headline {
    fn of(value: Option<f64>, previous_month: Option<f64>, year_before: Option<f64>) -> Headline {
        let diff = |b: Option<f64>| value.zip(b).map(|(a, b)| round4(a - b));
        Headline {
            change_month: diff(previous_month),
            change_year: diff(year_before),
            value,
            previous_month,
            year_before,
        }
    }
}

/// The city's headline numbers for the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Headlines {
    /// Talents living in the city (districts) at the month's end, from the
    /// monthly stock (`/api/stock`).
    pub talents: Headline,
    /// Job seekers now: seeking is a register attribute, not tracked
    /// through time, so its changes are null.
    pub seekers: Headline,
    /// Openings open at the month's end (vacancy dates; exact).
    pub openings: Headline,
    /// Openings at the month's end ÷ job seekers now.
    pub ratio: Headline,
    /// Arrivals minus departures of the month, summed over the districts.
    pub net_flow: Headline,
}

/// One finding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    /// shortage, underserved, loss_alert, inflow, outflow or hiring_difficulty.
    pub kind: &'static str,
    /// 1 for the most important finding of its kind.
    pub rank: usize,
    /// District or park id; an industry division code for industry flows.
    pub area_id: String,
    pub area_name: String,
    pub title: String,
    /// Why it is listed, with the numbers it rests on.
    pub detail: String,
    /// The numbers, by name.
    #[schema(value_type = Object)]
    pub numbers: BTreeMap<&'static str, serde_json::Value>,
    /// The map's URL-hash state that shows it (`#…`).
    pub link: String,
}

/// `GET /api/briefing`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Briefing {
    pub month: String,
    pub data_version: u64,
    /// Whether talent counts are exact rather than perturbed.
    pub exact_counts: bool,
    pub privacy_k: u32,
    pub headline: Headlines,
    pub items: Vec<Finding>,
}

/// `GET /api/briefing[?month=YYYY-MM][&lang=zh|en][&per_kind=N]`: the
/// month's headline numbers with their changes and the top findings of
/// each kind (docs/briefing.md). Runs on the compute pool; an answer is
/// kept with the snapshot for each month, language and disclosure.
#[utoipa::path(get, path = "/api/briefing", tag = "briefing", params(BriefingParams),
    responses((status = 200, description = "Headline numbers and ranked findings", content(
                  (Briefing = "application/json"),
                  (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody)))]
pub async fn briefing(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<BriefingParams>,
) -> Result<Response, ApiError> {
    let xlsx = p.format == Some(BriefingFormat::Xlsx);
    if xlsx && let Some(refusal) = access::refusal(Access::Export, principal.role, "format=xlsx (an export)") {
        return Ok(refusal);
    }
    let snap = state.snapshot();
    let k = state.settings.k;
    // The data's months take a pass over the vacancies: on the compute pool.
    let s = snap.clone();
    let (first, latest) = state.compute.run(move || (first_month(&s), default_month(&s))).await?;
    let month = match p.month.as_deref().map(str::trim) {
        Some(v) => parse_month(v).ok_or_else(|| {
            ApiError::param("month", format!("'{v}' is not a month; accepted: YYYY-MM, e.g. 2026-10"))
        })?,
        None => latest,
    };
    if month < first || month > latest {
        return Err(ApiError::param(
            "month",
            format!(
                "{} is outside the data; accepted: {}..={}",
                month_label(month),
                month_label(first),
                month_label(latest)
            ),
        ));
    }
    let lang = p.lang.unwrap_or_default();
    let per_kind = p.per_kind.map_or(DEFAULT_PER_KIND, |n| n.get() as usize);
    let d = access::disclosure_for(&principal, k, &[]);
    access::audit_exact(&caller, d, "GET /api/briefing", json!({"month": month_label(month), "xlsx": xlsx})).await?;
    let commute = super::commute::index_of(&state, &snap).await?;
    let snap2 = snap.clone();
    let latest = state.catchments.clone();
    let answer = state
        .compute
        .run(move || {
            let key = memo_key(month, lang, per_kind, d);
            if snap2.memo.get::<Briefing>(&key).is_none() {
                // Not composed yet: the catchments followed from the newest
                // kept, on this thread (the request holds one permit).
                latest.keep(snap2.version, catchments_of(&snap2, k, &latest.earlier(), false));
            }
            cached(&snap2, &commute, month, lang, per_kind, d, k)
        })
        .await?;
    if xlsx {
        let bytes = state.compute.run(move || super::xlsx::workbook(&sheets(&answer, lang))).await??;
        return Ok(super::xlsx::response(bytes, &format!("briefing-{}.xlsx", month_label(month))));
    }
    Ok(Json(Arc::unwrap_or_clone(answer)).into_response())
}

/// The monthly brief as worksheets: the headline, the findings, the rules.
fn sheets(b: &Briefing, lang: Lang) -> Vec<Sheet> {
    let zh = lang == Lang::Zh;
    let pick = |z: &str, e: &str| if zh { z.to_string() } else { e.to_string() };
    let headline = [
        ("talents", pick("在市人才", "Talents in the city"), &b.headline.talents),
        ("seekers", pick("求职者", "Job seekers"), &b.headline.seekers),
        ("openings", pick("在招岗位", "Open openings"), &b.headline.openings),
        ("ratio", pick("岗位/求职比", "Jobs per applicant"), &b.headline.ratio),
        ("net_flow", pick("本月净流入", "Net flow this month"), &b.headline.net_flow),
    ];
    let head = Sheet {
        name: pick("概览", "Headline"),
        header: ["key", "", "value", "previous_month", "change_month", "year_before", "change_year"]
            .iter()
            .enumerate()
            .map(|(i, h)| if i == 1 { pick("指标", "number") } else { h.to_string() })
            .collect(),
        rows: headline
            .iter()
            .map(|(key, name, h)| {
                vec![
                    Cell::from(*key),
                    Cell::from(name.clone()),
                    Cell::from(h.value),
                    Cell::from(h.previous_month),
                    Cell::from(h.change_month),
                    Cell::from(h.year_before),
                    Cell::from(h.change_year),
                ]
            })
            .chain([
                vec![Cell::from("month"), Cell::from(pick("月份", "month")), Cell::from(b.month.clone())],
                vec![
                    Cell::from("data_version"),
                    Cell::from(pick("数据版本", "data version")),
                    Cell::Number(b.data_version as f64),
                ],
                vec![
                    Cell::from("exact_counts"),
                    Cell::from(pick("精确人数", "exact counts")),
                    Cell::from(if b.exact_counts { "true" } else { "false" }),
                ],
            ])
            .collect(),
    };
    let findings = Sheet {
        name: pick("发现", "Findings"),
        header: ["kind", "rank", "area_id", "area_name", "title", "detail", "numbers", "link"]
            .map(String::from)
            .to_vec(),
        rows: b
            .items
            .iter()
            .map(|it| {
                vec![
                    Cell::from(it.kind),
                    Cell::Number(it.rank as f64),
                    Cell::from(it.area_id.clone()),
                    Cell::from(it.area_name.clone()),
                    Cell::from(it.title.clone()),
                    Cell::from(it.detail.clone()),
                    Cell::from(serde_json::to_string(&it.numbers).unwrap_or_default()),
                    Cell::from(it.link.clone()),
                ]
            })
            .collect(),
    };
    let rules = Sheet {
        name: pick("规则", "Rules"),
        header: vec!["kind".into(), pick("排序规则（详见 docs/briefing.md）", "ranked by (docs/briefing.md)")],
        rows: RULES.iter().map(|(kind, rule)| vec![Cell::from(*kind), Cell::from(*rule)]).collect(),
    };
    vec![head, findings, rules]
}

/// How each kind is ranked, one line each (docs/briefing.md has the full rules).
const RULES: [(&str, &str); 6] = [
    (
        "shortage",
        "lower end of the 80% interval of the smoothed index, where it is above 1 and the field's city ratio; low-data areas left out",
    ),
    ("underserved", "the underserved score of /api/commute/underserved"),
    ("loss_alert", "alert score of /api/flows/alerts (alpha 0.001), alerting areas only"),
    ("inflow", "net gain of the month, the largest areas and the largest industries ranked together"),
    ("outflow", "net loss of the month, the largest areas and the largest industries ranked together"),
    (
        "hiring_difficulty",
        "share of open openings posted more than 90 days before the month's end (at least 5 open), then how many",
    ),
];

/// The latest month with moves, else the month of the latest vacancy date.
fn default_month(snap: &Snapshot) -> u32 {
    let flows = &snap.flows;
    if flows.months > 0 {
        flows.first_month + flows.months as u32 - 1
    } else {
        hiring::as_of(snap).map_or(0, |d| d.month_index())
    }
}

/// The first month with moves or vacancy postings (the default month when
/// there are neither).
fn first_month(snap: &Snapshot) -> u32 {
    let moves = (snap.flows.months > 0).then_some(snap.flows.first_month);
    let posted = snap.vacancies.iter().map(|v| v.posted).min().map(|d| Date::from_days(d).month_index());
    moves.into_iter().chain(posted).min().unwrap_or_else(|| default_month(snap))
}

/// The memo key of the briefing of `month` in `lang` under `d`.
fn memo_key(month: u32, lang: Lang, per_kind: usize, d: Disclosure) -> String {
    format!("api::briefing:{month}:{lang:?}:{per_kind}:{}", d.is_exact())
}

/// The briefing of `month` in `lang` under `d`, kept in the snapshot's memo.
fn cached(
    snap: &Snapshot,
    commute: &CommuteIndex,
    month: u32,
    lang: Lang,
    per_kind: usize,
    d: Disclosure,
    k: u32,
) -> Arc<Briefing> {
    snap.memo.get_or_compute(&memo_key(month, lang, per_kind, d), || {
        compose(snap, month, lang, per_kind, d, k, &commute.underserved(snap, d))
    })
}

/// Builds what the start screen asks for first — the public briefing of the
/// default month in both languages, and with it every field's catchment —
/// after each publish (`background::warm_derived`), so no visitor waits.
/// The catchments are followed from the newest kept in `latest`
/// ([`catchments_of`]), and this snapshot's are kept there.
pub(super) fn warm(snap: &Snapshot, commute: &CommuteIndex, k: u32, latest: &LatestCatchments) {
    let made = catchments_of(snap, k, &latest.earlier(), true);
    latest.keep(snap.version, made);
    let month = default_month(snap);
    for lang in [Lang::Zh, Lang::En] {
        cached(snap, commute, month, lang, DEFAULT_PER_KIND, Disclosure::Protected { k }, k);
    }
}

/// Every field's catchment as the briefing asks for it, memoised with the
/// snapshot (they are nearly all of a briefing's cost). Each is patched
/// from its catchment in `before` (those of an earlier snapshot) where that
/// has one: after a moves batch, only the seeker points the batch changed
/// are computed again. On two threads when `two_threads`. Returns the
/// catchments, for a later snapshot's.
fn catchments_of(snap: &Snapshot, k: u32, before: &Catchments, two_threads: bool) -> Catchments {
    use crate::analytics::shortage::{basis::Basis, effective};
    let queries = field_queries(snap, Disclosure::Protected { k });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let prepare = || {
        while let Some((_, q)) = queries.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            crate::pause::point();
            let key = effective::memo_key(q.field, q.narrow, q.catchment);
            if let Some(earlier) = before.get(&key) {
                effective::follow(snap, &Basis::of(snap), (q.field, q.narrow, q.catchment), earlier);
            }
            Context::new(snap, q);
        }
    };
    // The second thread pauses where this one does.
    let waits_for = crate::pause::current();
    std::thread::scope(|s| {
        // Both threads take the next field until none is left; without the
        // second thread this one does them all.
        let _other = two_threads.then(|| {
            std::thread::Builder::new()
                .name("warm-briefing".into())
                .spawn_scoped(s, || crate::pause::within(waits_for.as_ref(), prepare))
        });
        prepare();
    });
    queries
        .iter()
        .filter_map(|(_, q)| {
            let key = effective::memo_key(q.field, q.narrow, q.catchment);
            let catchment = snap.memo.get(&key)?;
            Some((key, catchment))
        })
        .collect()
}

/// The briefing's catchments of the newest snapshot that has them, shared
/// by the warming thread and the briefing requests: a request for a
/// snapshot the warming thread has not reached yet (a feed sending batch
/// after batch) follows them too, instead of computing every field's
/// catchment again (at 4 M talents, seconds against a few hundred
/// milliseconds).
#[derive(Default)]
pub struct LatestCatchments(std::sync::Mutex<Option<(u64, Catchments)>>);

impl LatestCatchments {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Catchments)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The catchments kept (none yet: empty).
    fn earlier(&self) -> Catchments {
        self.lock().as_ref().map(|(_, c)| c.clone()).unwrap_or_default()
    }

    /// Keeps `made`, the catchments of the snapshot of `version`, unless
    /// a newer snapshot's are kept.
    fn keep(&self, version: u64, made: Catchments) {
        let mut kept = self.lock();
        if kept.as_ref().is_none_or(|(v, _)| *v <= version) {
            *kept = Some((version, made));
        }
    }
}

/// The briefing's catchments of one snapshot by memo key, kept in
/// [`LatestCatchments`] for a later snapshot's.
pub(super) type Catchments =
    std::collections::HashMap<String, Arc<crate::analytics::shortage::effective::FieldCatchment>>;

/// The catchments [`warm`] builds: field, narrowing and parameters of each
/// field's query (kept on disk with the snapshot, `analytics::saved`).
pub(super) fn catchment_queries(
    snap: &Snapshot,
    k: u32,
) -> Vec<(u8, crate::analytics::shortage::basis::Narrow, crate::analytics::shortage::effective::CatchmentParams)> {
    field_queries(snap, Disclosure::Protected { k }).into_iter().map(|(f, q)| (f, q.narrow, q.catchment)).collect()
}

/// The text of `zh` or `en`.
fn say(lang: Lang, zh: String, en: String) -> String {
    if lang == Lang::Zh { zh } else { en }
}

/// The last day of absolute month `month`.
fn month_end(month: u32) -> Date {
    let (year, m) = (month / 12, month % 12 + 1);
    Date { year: year.clamp(1, 9999) as u16, month: m as u8, day: days_in_month(year, m) as u8 }
}

/// A map link: the hash state of the page (web/src/state.js).
fn link(centre: [f64; 2], zoom: f64, rest: &str) -> String {
    format!("#map={zoom:.2}/{:.5}/{:.5}&layers={rest}", centre[1], centre[0])
}

/// The zoom at which `bbox` (`[west, south, east, north]`, degrees) fills
/// about 600 pixels of the map (512-pixel tiles), between 8 and 14.
fn fit_zoom(bbox: [f64; 4]) -> f64 {
    let lat = ((bbox[1] + bbox[3]) / 2.0).to_radians();
    let span = (bbox[2] - bbox[0]).max((bbox[3] - bbox[1]) / lat.cos().max(0.1)).max(1e-6);
    ((600.0 * 360.0 / (512.0 * span)).log2() * 4.0).floor().clamp(32.0, 56.0) / 4.0
}

/// The link to region `r` with `rest` after its layers.
fn region_link(snap: &Snapshot, r: u16, rest: &str) -> String {
    let info = &snap.regions[r as usize];
    link(info.centre, fit_zoom(info.bbox), rest)
}

/// The centre of the districts' bounding box (the whole city in view).
fn city_centre(snap: &Snapshot) -> [f64; 2] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for r in snap.regions.iter().filter(|r| r.kind == RegionKind::District) {
        b = [b[0].min(r.bbox[0]), b[1].min(r.bbox[1]), b[2].max(r.bbox[2]), b[3].max(r.bbox[3])];
    }
    if b[0] > b[2] { [0.0, 0.0] } else { [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0] }
}

fn name_of(snap: &Snapshot, lang: Lang, region: u16) -> String {
    let r = &snap.regions[region as usize];
    if lang == Lang::En && !r.name_en.is_empty() { r.name_en.clone() } else { r.name.clone() }
}

fn field_name(snap: &Snapshot, lang: Lang, field: u8) -> (String, String) {
    snap.taxonomy.field(field).map_or_else(
        || (String::new(), String::new()),
        |f| (f.code.clone(), if lang == Lang::En { f.name_en.clone() } else { f.name_zh.clone() }),
    )
}

fn fmt1(x: f64) -> String {
    format!("{x:.1}")
}

fn compose(
    snap: &Snapshot,
    month: u32,
    lang: Lang,
    per_kind: usize,
    d: Disclosure,
    k: u32,
    underserved: &[crate::analytics::commute::underserved::Underserved],
) -> Briefing {
    let mut items = Vec::new();
    items.extend(shortage_findings(snap, lang, per_kind, d));
    items.extend(underserved_findings(snap, lang, per_kind, underserved));
    items.extend(loss_findings(snap, month, lang, per_kind, d));
    items.extend(flow_findings(snap, month, lang, per_kind, d));
    items.extend(hiring_findings(snap, month, lang, per_kind));
    Briefing {
        month: month_label(month),
        data_version: snap.version,
        exact_counts: d.is_exact(),
        privacy_k: k,
        headline: headline(snap, month, d),
        items,
    }
}

fn headline(snap: &Snapshot, month: u32, d: Disclosure) -> Headlines {
    let districts: Vec<u16> =
        (0..snap.regions.len() as u16).filter(|&r| snap.regions[r as usize].kind == RegionKind::District).collect();
    let (from, to) = (month.saturating_sub(12), month);
    // Talents: the districts' monthly stock summed (months from..=to).
    let mut stock = vec![0u64; (to - from + 1) as usize];
    for &r in &districts {
        for (s, v) in stock.iter_mut().zip(flows::stock(snap, Place::Region(r), &Scope::default(), from, to, d)) {
            *s += v;
        }
    }
    let at = |m: Option<u32>| m.filter(|&m| m >= from).and_then(|m| stock.get((m - from) as usize)).map(|&v| v as f64);
    let talents = Headline::of(at(Some(month)), at(month.checked_sub(1)), at(month.checked_sub(12)));
    // Openings open at each month end (enterprise data, exact).
    // Months before the first posting in the data have no openings figure.
    let first_posted = snap.vacancies.iter().map(|v| v.posted).min();
    let openings_at = |m: Option<u32>| -> Option<f64> {
        let end = month_end(m?);
        (first_posted? <= end.days()).then(|| hiring::open_openings_as_of(snap, end) as f64)
    };
    let openings =
        Headline::of(openings_at(Some(month)), openings_at(month.checked_sub(1)), openings_at(month.checked_sub(12)));
    let seekers_now = d.count(snap.totals_tallies.seekers) as f64;
    let seekers = Headline::of(Some(seekers_now), None, None);
    let ratio_of = |o: Option<f64>| o.filter(|_| seekers_now > 0.0).map(|o| round4(o / seekers_now));
    let ratio =
        Headline::of(ratio_of(openings.value), ratio_of(openings.previous_month), ratio_of(openings.year_before));
    // Net flow: arrivals − departures of the month over the districts.
    let net_of = |m: u32| -> f64 {
        districts
            .iter()
            .map(|&r| {
                let s = flows::series(snap, Place::Region(r), &Scope::default(), m, m, d);
                s.first().map_or(0, |x| x.arrivals.unwrap_or(0) as i64 - x.departures.unwrap_or(0) as i64)
            })
            .sum::<i64>() as f64
    };
    // Months before the first move in the data have no flow figure.
    let flow_at = |m: Option<u32>| m.filter(|&m| m >= snap.flows.first_month && snap.flows.months > 0).map(net_of);
    let net_flow = Headline::of(flow_at(Some(month)), flow_at(month.checked_sub(1)), flow_at(month.checked_sub(12)));
    Headlines { talents, seekers, openings, ratio, net_flow }
}

/// Shortage: field × district or park by the lower end of the index's
/// interval, only where that lower end is above both 1 (openings outrun the
/// job seekers living there) and the field's city ratio (the area is short
/// against the rest of the city); low-data areas left out.
/// The shortage query of every field, as the briefing asks it.
fn field_queries(snap: &Snapshot, d: Disclosure) -> Vec<(u8, crate::analytics::shortage::areas::Query)> {
    (0..snap.taxonomy.fields().len().min(256) as u8)
        .filter_map(|field| {
            let code = snap.taxonomy.field(field)?.code.clone();
            Some((field, parse_query(&BTreeMap::from([("field".to_string(), code)]), snap, d).ok()?))
        })
        .collect()
}

fn shortage_findings(snap: &Snapshot, lang: Lang, per_kind: usize, d: Disclosure) -> Vec<Finding> {
    struct Hit {
        field: u8,
        region: u16,
        demand: f64,
        supply: f64,
        index: f64,
        low: f64,
        high: f64,
        city: f64,
    }
    let mut hits = Vec::new();
    for (field, q) in field_queries(snap, d) {
        let ctx = Context::new(snap, &q);
        if ctx.city.demand <= 0.0 {
            continue;
        }
        for by in [By::District, By::Park] {
            for row in rank(snap, &ctx, &q, by, None) {
                let crate::analytics::shortage::areas::Area::Region(region) = row.area else { continue };
                let e = &row.estimate;
                if e.low_data || e.demand <= 0.0 {
                    continue;
                }
                let (low, high) = e.interval.unwrap_or((e.index, e.index));
                if low <= ctx.city.ratio.max(1.0) {
                    continue;
                }
                hits.push(Hit {
                    field,
                    region,
                    demand: e.demand,
                    supply: e.supply,
                    index: e.index,
                    low,
                    high,
                    city: ctx.city.ratio,
                });
            }
        }
    }
    hits.sort_by(|a, b| {
        b.low.total_cmp(&a.low).then(b.index.total_cmp(&a.index)).then((a.field, a.region).cmp(&(b.field, b.region)))
    });
    hits.into_iter()
        .take(per_kind)
        .enumerate()
        .map(|(i, h)| {
            let area = name_of(snap, lang, h.region);
            let (code, field) = field_name(snap, lang, h.field);
            let r = &snap.regions[h.region as usize];
            let times = if h.city > 0.0 { h.index / h.city } else { h.index };
            let by = if r.kind == RegionKind::Park { "park" } else { "district" };
            Finding {
                kind: "shortage",
                rank: i + 1,
                area_id: r.id.clone(),
                area_name: area.clone(),
                title: say(lang, format!("{area}：{field}人才紧缺"), format!("{area}: short of {field} talent")),
                detail: say(
                    lang,
                    format!(
                        "{area}有{field}岗位 {} 个，居住在此的求职者 {} 人；平滑紧缺指数 {}（80% 区间 {}–{}），是全市水平 {} 的 {} 倍。",
                        h.demand, h.supply, fmt1(h.index), fmt1(h.low), fmt1(h.high), fmt1(h.city), fmt1(times)
                    ),
                    format!(
                        "{area} has {} openings in {field} and {} job seekers living there: smoothed index {} (80% interval {}–{}), {}× the city's {}.",
                        h.demand, h.supply, fmt1(h.index), fmt1(h.low), fmt1(h.high), fmt1(times), fmt1(h.city)
                    ),
                ),
                numbers: BTreeMap::from([
                    ("field", json!(code)),
                    ("openings", json!(h.demand)),
                    ("seekers", json!(h.supply)),
                    ("index", json!(round4(h.index))),
                    ("low", json!(round4(h.low))),
                    ("high", json!(round4(h.high))),
                    ("city_ratio", json!(round4(h.city))),
                ]),
                link: region_link(snap, h.region, &format!("&view=shortage&sfield={code}&sby={by}&sarea={}", r.id)),
            }
        })
        .collect()
}

/// Underserved parks, by the commute analytics' own score and wording.
fn underserved_findings(
    snap: &Snapshot,
    lang: Lang,
    per_kind: usize,
    ranked: &[crate::analytics::commute::underserved::Underserved],
) -> Vec<Finding> {
    ranked
        .iter()
        .take(per_kind)
        .enumerate()
        .filter_map(|(i, u)| {
            let region = snap.region(&u.id)?;
            let area = name_of(snap, lang, region);
            Some(Finding {
                kind: "underserved",
                rank: i + 1,
                area_id: u.id.clone(),
                area_name: area.clone(),
                title: say(lang, format!("{area}：通勤服务不足"), format!("{area}: workers far from transit")),
                detail: say(lang, u.reason.clone(), u.reason_en.clone()),
                numbers: BTreeMap::from([
                    ("score", json!(u.score)),
                    ("workers", json!(u.workers)),
                    ("young_workers", json!(u.young_workers)),
                    ("median_commute_km", json!(u.median_commute_km)),
                    ("nearest_station_m", json!(u.nearest_station_m)),
                    ("share_far_from_station", json!(u.share_far_from_station)),
                ]),
                link: region_link(snap, region, &format!("&view=commute&park={}", u.id)),
            })
        })
        .collect()
}

/// Areas (districts and parks) alerting this month, by the alert score.
fn loss_findings(snap: &Snapshot, month: u32, lang: Lang, per_kind: usize, d: Disclosure) -> Vec<Finding> {
    let mut alerting = Vec::new();
    for level in [RegionKind::District, RegionKind::Park] {
        let q = AlertQuery { month, level, scope: Scope::default(), alpha: alerts::DEFAULT_ALPHA, disclosure: d };
        if let Ok(areas) = flows::assess_areas(snap, &q) {
            alerting.extend(areas.into_iter().filter(|a| a.alert));
        }
    }
    alerting.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)).then(a.area_id.cmp(&b.area_id)));
    alerting
        .into_iter()
        .take(per_kind)
        .enumerate()
        .filter_map(|(i, a)| {
            let region = snap.region(&a.area_id)?;
            let area = name_of(snap, lang, region);
            let (left, expected) = (a.departures.unwrap_or(0), a.expected.unwrap_or(0.0));
            let to = a.top_destinations.first().map(|c| c.name.clone()).unwrap_or_default();
            Some(Finding {
                kind: "loss_alert",
                rank: i + 1,
                area_id: a.area_id.clone(),
                area_name: area.clone(),
                title: say(lang, format!("{area}：人才流失预警"), format!("{area}: losing talent")),
                detail: say(
                    lang,
                    format!("本月离开 {left} 人，按其季节调整后的历史预期约 {} 人（p = {:.1e}）；去向最多：{to}。", fmt1(expected), a.p_value.unwrap_or(1.0)),
                    format!("{left} left this month against about {} expected from its seasonally adjusted history (p = {:.1e}); most went to {to}.", fmt1(expected), a.p_value.unwrap_or(1.0)),
                ),
                numbers: BTreeMap::from([
                    ("departures", json!(a.departures)),
                    ("expected", json!(a.expected)),
                    ("p_value", json!(a.p_value)),
                    ("score", json!(a.score)),
                ]),
                link: region_link(snap, region, &format!("&view=flows&farea={}&month={}", a.area_id, month_label(month))),
            })
        })
        .collect()
}

/// Largest net gains (inflow) and losses (outflow) of the month: by
/// district or park from the published flow series, and by industry from
/// the city's arrivals and departures.
fn flow_findings(snap: &Snapshot, month: u32, lang: Lang, per_kind: usize, d: Disclosure) -> Vec<Finding> {
    struct Net {
        id: String,
        name: String,
        net: i64,
        arrivals: u64,
        departures: u64,
        link: String,
        industry: bool,
    }
    let mut nets = Vec::new();
    for (r, info) in snap.regions.iter().enumerate() {
        if !matches!(info.kind, RegionKind::District | RegionKind::Park) {
            continue;
        }
        let Some(m) =
            flows::series(snap, Place::Region(r as u16), &Scope::default(), month, month, d).into_iter().next()
        else {
            continue;
        };
        let arrivals = m.arrivals.unwrap_or(0) + m.relocations_in.unwrap_or(0) + m.job_changes_in.unwrap_or(0);
        let departures = m.departures.unwrap_or(0) + m.relocations_out.unwrap_or(0) + m.job_changes_out.unwrap_or(0);
        nets.push(Net {
            id: info.id.clone(),
            name: name_of(snap, lang, r as u16),
            net: m.net.unwrap_or(0),
            arrivals,
            departures,
            link: region_link(snap, r as u16, &format!("&view=flows&farea={}&month={}", info.id, month_label(month))),
            industry: false,
        });
    }
    for (i, a, dep) in flows::city_flows_by_industry(snap, month) {
        let Some(entry) = snap.taxonomy.industry(i) else { continue };
        let (arrivals, departures) = (d.count(a), d.count(dep));
        nets.push(Net {
            id: entry.code.clone(),
            name: if lang == Lang::En { entry.name_en.clone() } else { entry.name_zh.clone() },
            net: arrivals as i64 - departures as i64,
            arrivals,
            departures,
            link: link(city_centre(snap), 9.0, &format!("enterprises&industry={}", entry.code)),
            industry: true,
        });
    }
    let mut out = Vec::new();
    for (kind, sign) in [("inflow", 1i64), ("outflow", -1i64)] {
        let order = |a: &&Net, b: &&Net| (b.net * sign).cmp(&(a.net * sign)).then(a.id.cmp(&b.id));
        // The largest of the areas and the largest of the industries, each
        // group at most `per_kind`, ranked together by size.
        let mut list = Vec::new();
        for industry in [false, true] {
            let mut group: Vec<&Net> = nets.iter().filter(|n| n.industry == industry && n.net * sign > 0).collect();
            group.sort_by(order);
            list.extend(group.into_iter().take(per_kind));
        }
        list.sort_by(|a, b| order(a, b).then(a.industry.cmp(&b.industry)));
        for (i, n) in list.into_iter().enumerate() {
            let (who_zh, who_en) = if n.industry {
                (format!("{}行业", n.name), format!("{} (industry)", n.name))
            } else {
                (n.name.clone(), n.name.clone())
            };
            let (zh, en) = if sign > 0 {
                (format!("{who_zh}：人才净流入 {}", n.net), format!("{who_en}: net gain of {} talents", n.net))
            } else {
                (format!("{who_zh}：人才净流出 {}", -n.net), format!("{who_en}: net loss of {} talents", -n.net))
            };
            out.push(Finding {
                kind,
                rank: i + 1,
                area_id: n.id.clone(),
                area_name: n.name.clone(),
                title: say(lang, zh, en),
                detail: say(
                    lang,
                    format!(
                        "{} 本月流入 {} 人、流出 {} 人（净 {}）。",
                        month_label(month),
                        n.arrivals,
                        n.departures,
                        n.net
                    ),
                    format!("In {} {} came and {} left (net {}).", month_label(month), n.arrivals, n.departures, n.net),
                ),
                numbers: BTreeMap::from([
                    ("net", json!(n.net)),
                    ("in", json!(n.arrivals)),
                    ("out", json!(n.departures)),
                    ("by", json!(if n.industry { "industry" } else { "area" })),
                ]),
                link: n.link.clone(),
            });
        }
    }
    out
}

/// Field × district by the share of openings open longer than 90 days at
/// the month's end (at least [`MIN_OPENINGS`] open), then median days to fill.
fn hiring_findings(snap: &Snapshot, month: u32, lang: Lang, per_kind: usize) -> Vec<Finding> {
    let end = month_end(month);
    // Every field's districts in one pass over the vacancies, shared by the
    // briefing's languages.
    let fields = snap.taxonomy.fields().len().min(256);
    let by_field = snap.memo.get_or_compute(&format!("api::briefing:hiring:{}", end.days()), || {
        hiring::by_field_and_region_as_of(snap, fields, end)
    });
    let mut hits = Vec::new();
    for (field, regions) in by_field.iter().enumerate() {
        let field = field as u8;
        for (r, h) in regions.iter().cloned().enumerate() {
            if snap.regions[r].kind != RegionKind::District || h.open_openings < MIN_OPENINGS {
                continue;
            }
            if let Some(share) = h.share_open_long.filter(|&s| s > 0.0) {
                hits.push((field, r as u16, share, h));
            }
        }
    }
    hits.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then(b.3.open_long.cmp(&a.3.open_long))
            .then(b.3.median_days_to_fill.cmp(&a.3.median_days_to_fill))
            .then((a.0, a.1).cmp(&(b.0, b.1)))
    });
    hits.into_iter()
        .take(per_kind)
        .enumerate()
        .map(|(i, (field, region, share, h))| {
            let area = name_of(snap, lang, region);
            let (code, name) = field_name(snap, lang, field);
            let pct = fmt1(share * 100.0);
            let (filled_zh, filled_en) = match h.median_days_to_fill {
                Some(d) => {
                    (format!("已填补岗位的填补天数中位为 {d} 天"), format!("filled ones took a median {d} days"))
                }
                None => ("已填补岗位不足 5 个".to_string(), "fewer than 5 of its openings were filled".to_string()),
            };
            let r = &snap.regions[region as usize];
            Finding {
                kind: "hiring_difficulty",
                rank: i + 1,
                area_id: r.id.clone(),
                area_name: area.clone(),
                title: say(lang, format!("{area}：{name}岗位难招"), format!("{area}: {name} openings hard to fill")),
                detail: say(
                    lang,
                    format!("{} 个仍空缺的岗位中 {}% 已发布超过 90 天；{filled_zh}。", h.open_openings, pct),
                    format!(
                        "{}% of {} open openings were posted more than 90 days ago; {filled_en}.",
                        pct, h.open_openings
                    ),
                ),
                numbers: BTreeMap::from([
                    ("field", json!(code)),
                    ("open_openings", json!(h.open_openings)),
                    ("open_long", json!(h.open_long)),
                    ("share_open_long", json!(round4(share))),
                    ("median_days_to_fill", json!(h.median_days_to_fill)),
                ]),
                link: region_link(snap, region, &format!("&view=shortage&sfield={code}&sby=district&sarea={}", r.id)),
            }
        })
        .collect()
}
