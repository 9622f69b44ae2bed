//! `GET /api/flows/od`: where talent goes and where it comes from, between
//! districts, parks, enterprises or industry divisions, for the city or one
//! area or enterprise (the counting rules are in
//! [`crate::analytics::flows::od`]).
//!
//! Disclosure: exact for admins only (the lines reach across every area);
//! everyone else gets each line, point and destination as its own
//! perturbed tally. Exact answers are audited.

use std::collections::HashSet;

use axum::extract::{Extension, State};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::analytics::flows::od::FOCUS;
use crate::analytics::flows::{self, OdFocus, OdLevel, OdMatrix, Scope, breakdown, month_label};
use crate::analytics::privacy::{Disclosure, Tally};
use crate::auth::Principal;
use crate::model::RegionKind;
use crate::snapshot::{NONE8, Snapshot};
use crate::spatial::round6;

use super::access::{self, Caller};
use super::areas::{Resolved, area_ref, resolve};
use super::error::ErrorBody;
use super::flows::{scope, span};
use super::query::{ApiQuery, Int};
use super::types::flows::{
    Destination, OdAreaFeature, OdAreaProperties, OdCollection, OdFeature, OdFlowFeature, OdFlowProperties, OdFocusInfo,
};
use super::types::{CollectionTag, FeatureTag, GeoJson, Geometry};
use super::{ApiError, AppState};

/// The units of `/api/flows/od`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OdLevelCode {
    #[default]
    District,
    Park,
    Enterprise,
    Industry,
}

impl OdLevelCode {
    fn level(self) -> OdLevel {
        match self {
            OdLevelCode::District => OdLevel::Region(RegionKind::District),
            OdLevelCode::Park => OdLevel::Region(RegionKind::Park),
            OdLevelCode::Enterprise => OdLevel::Enterprise,
            OdLevelCode::Industry => OdLevel::Industry,
        }
    }

    fn code(self) -> &'static str {
        match self {
            OdLevelCode::District => "district",
            OdLevelCode::Park => "park",
            OdLevelCode::Enterprise => "enterprise",
            OdLevelCode::Industry => "industry",
        }
    }
}

/// Lines listed at the enterprise level when `limit` is not given.
const ENTERPRISE_LINES: u64 = 500;

/// The parameters of `/api/flows/od`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OdParams {
    /// The units flows are drawn between (default district).
    pub level: Option<OdLevelCode>,
    /// Only the flows crossing this area's boundary: a district or park id
    /// or a study-area id (`sa_…`). Not with `enterprise`.
    pub area: Option<String>,
    /// Only the job changes to and from this enterprise (its id), with the
    /// arrivals it takes in and the departures it loses. Not with `area`.
    pub enterprise: Option<String>,
    /// First month, `YYYY-MM`.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub from: Option<String>,
    /// Last month, `YYYY-MM`.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub to: Option<String>,
    /// An industry chain id or a GB/T 4754-2017 division code.
    pub chain: Option<String>,
    /// A 4-digit first-level discipline code.
    pub field: Option<String>,
    /// The most lines listed, largest first (default: all; 500 at the
    /// enterprise level); the rest is `other_lines`.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 5000)]
    pub limit: Option<Int<1, 5000>>,
}

/// What the flows are focused on, resolved.
enum Focus {
    City,
    Area(Resolved),
    Enterprise(u32),
}

/// `GET /api/flows/od?level=district|park|enterprise|industry[&area=ID|&enterprise=ID][&from][&to][&chain][&field][&limit]`:
/// GeoJSON with a line per pair of units (moves from one to the other,
/// published positive; no geometry at the industry level) and a point per
/// unit (arrivals into and departures out of the city, with the
/// destinations). With `area` or `enterprise` only the moves crossing its
/// boundary count and the focus stands on its side of every line. Every
/// count is a tally of the moves of the window, perturbed unless the caller
/// is an admin. Runs on the compute pool.
#[utoipa::path(get, path = "/api/flows/od", tag = "flows", params(OdParams),
    responses((status = 200, description = "Flow lines and unit points", body = OdCollection,
               content_type = "application/geo+json"),
              (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
              (status = 404, description = "No district, park or study area with the `area` id", body = ErrorBody)))]
pub async fn od(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<OdParams>,
) -> Result<GeoJson<OdCollection>, ApiError> {
    let snap = state.snapshot();
    let k = state.settings.k;
    let code = query.level.unwrap_or_default();
    let scope = scope(query.field.as_deref(), query.chain.as_deref(), &snap)?;
    let span = span(query.from.as_deref(), query.to.as_deref(), &snap)?;
    let focus = match (query.area.as_deref(), query.enterprise.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::param(
                "enterprise",
                "give either area or enterprise, not both; accepted: one of them",
            ));
        }
        (Some(area), None) => Focus::Area(resolve(&state, &snap, "area", area).await?),
        (None, Some(id)) => Focus::Enterprise(snap.enterprise(id.trim()).ok_or_else(|| {
            ApiError::param(
                "enterprise",
                format!("unknown enterprise '{id}'; accepted: an enterprise id (see /api/enterprises)"),
            )
        })?),
        (None, None) => Focus::City,
    };
    let limit = query.limit.map(|l| l.get()).or((code == OdLevelCode::Enterprise).then_some(ENTERPRISE_LINES));
    let version = snap.version;
    let d = access::disclosure_for(&principal, k, &[]);
    let params = json!({"level": code.code(), "area": query.area, "enterprise": query.enterprise,
        "field": query.field, "chain": query.chain, "limit": limit,
        "from": span.map(|s| month_label(s.0)), "to": span.map(|s| month_label(s.1))});
    access::audit_exact(&caller, d, "GET /api/flows/od", params).await?;
    let answer = state
        .compute
        .run(move || {
            let request = Request { snap: &snap, level: code.level(), focus: &focus, scope: &scope, d };
            let matrix = request.matrix(span);
            request.answer(&matrix, limit)
        })
        .await?;
    Ok(GeoJson(OdCollection {
        tag: CollectionTag::FeatureCollection,
        features: answer.features,
        level: code.code(),
        from: span.map(|s| month_label(s.0)),
        to: span.map(|s| month_label(s.1)),
        focus: answer.focus,
        lines_total: answer.lines_total,
        other_lines: answer.other_lines,
        k,
        exact_counts: d.is_exact(),
        version,
    }))
}

/// The records of two disjoint tallies.
fn both(mut a: Tally, b: Tally) -> Tally {
    a.merge(b);
    a
}

/// One flow request, resolved.
struct Request<'a> {
    snap: &'a Snapshot,
    level: OdLevel,
    focus: &'a Focus,
    scope: &'a Scope,
    d: Disclosure,
}

/// What the features and the focus summary came to.
struct Answer {
    features: Vec<OdFeature>,
    focus: Option<OdFocusInfo>,
    lines_total: usize,
    other_lines: Option<u64>,
}

/// A unit's name, id, point and kind.
struct Unit {
    id: String,
    name: String,
    point: Option<[f64; 2]>,
    kind: &'static str,
    level: &'static str,
}

impl Request<'_> {
    /// The flows of the months `span` clipped to the data.
    fn matrix(&self, span: Option<(u32, u32)>) -> OdMatrix {
        let index = &self.snap.flows;
        let Some((from, to)) = span.filter(|_| index.months > 0) else {
            return OdMatrix::default();
        };
        let last = index.first_month + index.months as u32 - 1;
        let (lo, hi) = (from.max(index.first_month), to.min(last));
        if lo > hi {
            return OdMatrix::default();
        }
        let focus = match self.focus {
            Focus::City => OdFocus::City,
            Focus::Area(r) => OdFocus::Area(r.place()),
            Focus::Enterprise(e) => OdFocus::Enterprise(*e),
        };
        let (lo, hi) = ((lo - index.first_month) as u16, (hi - index.first_month) as u16);
        flows::od(self.snap, self.level, focus, self.scope, lo, hi)
    }

    fn unit(&self, u: u32) -> Unit {
        let snap = self.snap;
        if u == FOCUS {
            return match self.focus {
                Focus::Area(r) => {
                    let named = area_ref(snap, r);
                    let point = match r {
                        Resolved::Region(i) => snap.regions[*i as usize].centre,
                        Resolved::Study(..) => {
                            let b = named.bbox;
                            [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]
                        }
                    };
                    Unit { id: named.id, name: named.name, point: Some(point), kind: "area", level: named.kind }
                }
                Focus::Enterprise(e) => self.enterprise_unit(*e),
                Focus::City => Unit { id: String::new(), name: String::new(), point: None, kind: "area", level: "" },
            };
        }
        match self.level {
            OdLevel::Region(_) => {
                let r = &snap.regions[u as usize];
                Unit {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    point: Some(r.centre),
                    kind: "area",
                    level: r.kind.code(),
                }
            }
            OdLevel::Enterprise => self.enterprise_unit(u),
            OdLevel::Industry => {
                let entry = u8::try_from(u).ok().and_then(|i| snap.taxonomy.industry(i));
                Unit {
                    id: entry.map_or_else(String::new, |e| e.code.clone()),
                    name: entry.map_or_else(String::new, |e| e.name_zh.clone()),
                    point: None,
                    kind: "industry",
                    level: "industry",
                }
            }
        }
    }

    fn enterprise_unit(&self, e: u32) -> Unit {
        let rec = &self.snap.enterprises[e as usize];
        Unit {
            id: rec.id.clone(),
            name: rec.name.clone(),
            point: Some([rec.lon, rec.lat]),
            kind: "enterprise",
            level: "enterprise",
        }
    }

    fn answer(&self, matrix: &OdMatrix, limit: Option<u64>) -> Answer {
        let d = self.d;
        let regions_level = matches!(self.level, OdLevel::Region(_));
        // Published lines, largest first, then by ids.
        let mut lines: Vec<(u32, u32, u64, Tally, Tally)> = matrix
            .lines
            .iter()
            .map(|(&(a, b), &(jobs, relocations))| (a, b, d.count(both(jobs, relocations)), jobs, relocations))
            .filter(|l| l.2 > 0)
            .collect();
        let ids: std::collections::HashMap<u32, Unit> = lines
            .iter()
            .flat_map(|l| [l.0, l.1])
            .collect::<HashSet<u32>>()
            .into_iter()
            .map(|u| (u, self.unit(u)))
            .collect();
        let id = |u: u32| ids.get(&u).map_or("", |x| x.id.as_str());
        lines.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| (id(x.0), id(x.1)).cmp(&(id(y.0), id(y.1)))));
        let lines_total = lines.len();
        let keep = limit.map_or(lines.len(), |l| (l as usize).min(lines.len()));
        let other_lines = (keep < lines.len()).then(|| {
            let rest: Tally = lines[keep..].iter().map(|l| both(l.3, l.4)).sum();
            d.count(rest)
        });
        lines.truncate(keep);
        let mut features = Vec::new();
        for &(a, b, count, jobs, relocations) in &lines {
            let (ua, ub) = (&ids[&a], &ids[&b]);
            let geometry = match (ua.point, ub.point) {
                (Some(pa), Some(pb)) => Some(Geometry::line(pa, pb)),
                _ => None,
            };
            features.push(OdFeature::Flow(OdFlowFeature {
                tag: FeatureTag::Feature,
                geometry,
                properties: OdFlowProperties {
                    kind: "flow",
                    from: ua.id.clone(),
                    from_name: ua.name.clone(),
                    to: ub.id.clone(),
                    to_name: ub.name.clone(),
                    count,
                    job_changes: Some(d.count(jobs)),
                    relocations: regions_level.then(|| d.count(relocations)),
                },
            }));
        }
        // Points: every district or park of the level for the city; the
        // focus and the listed lines' ends otherwise, and, for the city at
        // the industry level, every division with an arrival or departure.
        let mut points: Vec<u32> = Vec::new();
        match (self.focus, self.level) {
            (Focus::City, OdLevel::Region(kind)) => {
                let regions = self.snap.regions.iter().enumerate();
                points.extend(regions.filter(|(_, r)| r.kind == kind).map(|(i, _)| i as u32));
            }
            (Focus::City, OdLevel::Industry) => {
                let mut units: HashSet<u32> = lines.iter().flat_map(|l| [l.0, l.1]).collect();
                units.extend(matrix.arrivals.keys().chain(matrix.departures.keys()).copied());
                points.extend(units.into_iter().filter(|&u| u != u32::from(NONE8)));
                points.sort_unstable();
            }
            _ => {
                let mut seen = HashSet::new();
                if !matches!(self.focus, Focus::City) {
                    seen.insert(FOCUS);
                    points.push(FOCUS);
                }
                for l in &lines {
                    for u in [l.0, l.1] {
                        if seen.insert(u) {
                            points.push(u);
                        }
                    }
                }
            }
        }
        features.extend(points.into_iter().map(|u| OdFeature::Area(self.point(matrix, u))));
        let focus = (!matches!(self.focus, Focus::City)).then(|| {
            let unit = self.unit(FOCUS);
            let side = |out: bool| -> Tally {
                matrix
                    .lines
                    .iter()
                    .filter(|((a, b), _)| if out { *a == FOCUS } else { *b == FOCUS })
                    .map(|(_, &(j, r))| both(j, r))
                    .sum()
            };
            OdFocusInfo {
                id: unit.id,
                name: unit.name,
                kind: if unit.kind == "enterprise" { "enterprise" } else { unit.level },
                lost: Some(d.count(side(true))),
                gained: Some(d.count(side(false))),
            }
        });
        Answer { features, focus, lines_total, other_lines }
    }

    /// A unit's point: arrivals, departures and destinations.
    fn point(&self, matrix: &OdMatrix, u: u32) -> OdAreaFeature {
        let d = self.d;
        let unit = self.unit(u);
        let arrivals = matrix.arrivals.get(&u).copied().unwrap_or_default();
        let by_destination = matrix.departures.get(&u);
        let departures: Tally = by_destination.map_or_else(Tally::default, |to| to.values().copied().sum());
        let names = &self.snap.flows.destinations;
        let named = by_destination
            .into_iter()
            .flatten()
            .map(|(&dest, &n)| (names.get(dest as usize).cloned().unwrap_or_else(|| "unknown".into()), n));
        let breakdown = breakdown(named.collect(), d, 10);
        OdAreaFeature {
            tag: FeatureTag::Feature,
            id: unit.id.clone(),
            geometry: unit.point.map(|p| Geometry::point(round6(p[0]), round6(p[1]))),
            properties: OdAreaProperties {
                kind: unit.kind,
                id: unit.id,
                name: unit.name,
                level: unit.level,
                focus: u == FOCUS,
                arrivals: Some(d.count(arrivals)),
                departures: Some(d.count(departures)),
                destinations: breakdown
                    .parts
                    .iter()
                    .map(|(name, count)| Destination { name: name.clone(), count: *count })
                    .collect(),
                other_destinations: breakdown.other,
            },
        }
    }
}
