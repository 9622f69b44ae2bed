//! Talent flows: monthly series per area, the origin–destination map and
//! early-warning alerts, all computed from the snapshot's move table and
//! its precomputed per-area monthly counts ([`crate::snapshot::FlowIndex`];
//! the counting rules are documented there).
//!
//! Everything here is an aggregate under the privacy rule
//! ([`super::privacy`]): a count between 1 and k−1 is published as `null`,
//! numbers derived from such a count (net flow, rates, expected values,
//! scores, trends) are withheld too, and small categories of a breakdown
//! (destinations, fields) are merged into `other` until every published part
//! is at least k.

pub mod alerts;
pub mod stats;

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{MoveEvent, RegionKind};
use crate::snapshot::moves::{Counts, counter};
use crate::snapshot::{NONE8, NONE16, Snapshot};

use super::privacy::publishable;

/// Which moves and talents count: a field and/or the divisions of an
/// industry chain (or a single division).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub field: Option<u8>,
    pub industries: Option<Vec<u8>>,
}

impl Scope {
    fn matches(&self, field: u8, industry: u8) -> bool {
        self.field.is_none_or(|f| f == field) && self.industries.as_ref().is_none_or(|l| l.contains(&industry))
    }
}

/// `YYYY-MM` of an absolute month index (`year * 12 + month − 1`).
pub fn month_label(month: u32) -> String {
    format!("{:04}-{:02}", month / 12, month % 12 + 1)
}

/// Parses `YYYY-MM` (years 1000–9999) into an absolute month index.
pub fn parse_month(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !s[..4].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !s[5..].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: u32 = s[..4].parse().ok()?;
    let month: u32 = s[5..].parse().ok()?;
    ((1000..=9999).contains(&year) && (1..=12).contains(&month)).then(|| year * 12 + month - 1)
}

/// One month of an area's series. Counts are `None` when suppressed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesMonth {
    pub month: String,
    pub arrivals: Option<u64>,
    pub departures: Option<u64>,
    pub job_changes_in: Option<u64>,
    pub job_changes_out: Option<u64>,
    pub relocations_in: Option<u64>,
    pub relocations_out: Option<u64>,
    /// Inflow minus outflow; `None` when any part is suppressed.
    pub net: Option<i64>,
    /// `net / talents × 1000`; `None` when `net` or `talents` is.
    pub net_rate: Option<f64>,
    /// Whether any count of this month is suppressed.
    pub suppressed: bool,
}

/// Net flow of one month's counts: `arrivals − departures + job changes in −
/// out + relocations in − out`.
pub fn net(c: &Counts) -> i64 {
    use counter::*;
    c[ARRIVALS] as i64 - c[DEPARTURES] as i64 + c[JOB_CHANGES_IN] as i64 - c[JOB_CHANGES_OUT] as i64
        + c[RELOCATIONS_IN] as i64
        - c[RELOCATIONS_OUT] as i64
}

/// Resident talents of a region (home in it) within a scope, from the
/// snapshot: the denominator of net rates. Precomputed per field and per
/// industry; a field and a chain together cost a scan of the talents.
pub fn resident_talents(snap: &Snapshot, region: u16, scope: &Scope) -> u64 {
    let slot = snap.flows.slot(region);
    let counted = match (scope.field, scope.industries.as_deref()) {
        (None, None) => return snap.regions.get(region as usize).map_or(0, |r| r.stats.talents),
        (Some(f), None) => snap.flows.residents_with_field(slot, f),
        (None, Some(list)) => snap.flows.residents_in_industries(slot, list),
        (Some(_), Some(_)) => None,
    };
    if let Some(n) = counted {
        return n;
    }
    snap.talents
        .iter()
        .filter(|t| (t.home_district == region || t.home_park == region) && scope.matches(t.field, t.industry))
        .count() as u64
}

/// Monthly series of one region (a district or park) for absolute months
/// `from..=to`, under the privacy threshold `k`. Months without moves are
/// zero.
///
/// `net_rate` is per 1,000 resident talents of the area within the scope
/// (current snapshot), so a rate of −2.5 means the area lost 2.5 talents in
/// every thousand that month.
pub fn series(snap: &Snapshot, region: u16, scope: &Scope, from: u32, to: u32, k: u32) -> Vec<SeriesMonth> {
    let flows = &snap.flows;
    let slot = flows.slot(region);
    let talents = publishable(resident_talents(snap, region, scope), k).filter(|&t| t > 0);
    (from..=to)
        .map(|month| {
            let counts = match flows.offset(month) {
                Some(offset) if slot != NONE16 => flows.counts(slot, offset, scope.field, scope.industries.as_deref()),
                _ => [0; counter::N],
            };
            let published: Vec<Option<u64>> = counts.iter().map(|&c| publishable(c, k)).collect();
            let suppressed = published.iter().any(Option::is_none);
            let net = (!suppressed).then(|| net(&counts));
            SeriesMonth {
                month: month_label(month),
                arrivals: published[counter::ARRIVALS],
                departures: published[counter::DEPARTURES],
                job_changes_in: published[counter::JOB_CHANGES_IN],
                job_changes_out: published[counter::JOB_CHANGES_OUT],
                relocations_in: published[counter::RELOCATIONS_IN],
                relocations_out: published[counter::RELOCATIONS_OUT],
                net,
                net_rate: net.zip(talents).map(|(n, t)| (n as f64 / t as f64 * 1000.0 * 100.0).round() / 100.0),
                suppressed,
            }
        })
        .collect()
}

/// A breakdown with small parts merged: `parts` (each ≥ k, at most `top`)
/// and `other` (0 or ≥ k, or `None` when the whole total is below k).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub parts: Vec<(String, u64)>,
    pub other: Option<u64>,
}

/// Merges a breakdown under the privacy rule: parts below `k` and parts
/// beyond the `top` largest go to `other`; while `other` is between 1 and
/// k−1 the smallest published part joins it, so no published number (nor
/// the total minus the published parts) reveals a count below k.
///
/// # Examples
/// ```
/// use talentmap::analytics::flows::merge_small;
/// let b = merge_small(vec![("北京".into(), 12), ("上海".into(), 7), ("青岛".into(), 3)], 5, 5);
/// // 青岛's 3 cannot stand alone, and "other = 3" would reveal it: 上海 joins.
/// assert_eq!(b.parts, vec![("北京".to_string(), 12)]);
/// assert_eq!(b.other, Some(10));
/// ```
pub fn merge_small(mut counts: Vec<(String, u64)>, k: u32, top: usize) -> Breakdown {
    counts.retain(|c| c.1 > 0);
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut other = 0u64;
    let mut parts = Vec::new();
    for (name, n) in counts {
        if n >= k as u64 && parts.len() < top {
            parts.push((name, n));
        } else {
            other += n;
        }
    }
    while other > 0 && other < k as u64 {
        match parts.pop() {
            Some((_, n)) => other += n,
            None => break,
        }
    }
    Breakdown { parts, other: publishable(other, k) }
}

/// The area position at `level` of a move's `from` and `to`.
fn ends(m: &crate::snapshot::MoveRec, level: RegionKind) -> (u16, u16) {
    match level {
        RegionKind::Park => (m.from_park, m.to_park),
        _ => (m.from_district, m.to_district),
    }
}

/// Flows between areas over a span of months, for the flow map.
#[derive(Debug, Clone, Default)]
pub struct OdMatrix {
    /// `(from region, to region) → (job changes, relocations)`, from ≠ to.
    pub lines: HashMap<(u16, u16), (u64, u64)>,
    /// Region → arrivals from outside the city.
    pub arrivals: HashMap<u16, u64>,
    /// Region → departures out of the city, by destination index.
    pub departures: HashMap<u16, HashMap<u16, u64>>,
}

/// Collects the origin–destination flows of `level` areas for month
/// offsets `from..=to` of the snapshot's move table (a scan of those
/// months' moves), within `scope`.
pub fn od(snap: &Snapshot, level: RegionKind, scope: &Scope, from: u16, to: u16) -> OdMatrix {
    let mut out = OdMatrix::default();
    for m in snap.flows.range_moves(from, to) {
        if !scope.matches(m.field, m.industry) {
            continue;
        }
        let (a, b) = ends(m, level);
        match MoveEvent::from_index(m.event) {
            Some(MoveEvent::Arrive) if b != NONE16 => *out.arrivals.entry(b).or_default() += 1,
            Some(MoveEvent::Leave) if a != NONE16 => {
                *out.departures.entry(a).or_default().entry(m.destination).or_default() += 1
            }
            Some(e @ (MoveEvent::JobChange | MoveEvent::Relocate)) if a != NONE16 && b != NONE16 && a != b => {
                let line = out.lines.entry((a, b)).or_default();
                if e == MoveEvent::JobChange {
                    line.0 += 1;
                } else {
                    line.1 += 1;
                }
            }
            _ => {}
        }
    }
    out
}

/// Alert request.
#[derive(Debug, Clone)]
pub struct AlertQuery {
    /// Absolute month assessed.
    pub month: u32,
    pub level: RegionKind,
    pub scope: Scope,
    pub alpha: f64,
    pub k: u32,
}

/// One assessed area.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaAlert {
    pub area_id: String,
    pub name: String,
    pub kind: &'static str,
    pub month: String,
    /// Observed departures (`None` when suppressed).
    pub departures: Option<u64>,
    /// Expected departures (`None` when derived from a suppressed count).
    pub expected: Option<f64>,
    pub p_value: Option<f64>,
    pub score: Option<f64>,
    pub alert: bool,
    pub method: &'static str,
    pub trend: Option<alerts::Trend>,
    /// Where those who left went: `[{"name", "count"}]` plus `other`.
    pub top_destinations: Vec<NamedCount>,
    pub other_destinations: Option<u64>,
    /// Fields of those who left.
    pub top_fields: Vec<NamedCount>,
    pub other_fields: Option<u64>,
    /// Label position `[lon, lat]` (for "fly to").
    pub centre: [f64; 2],
    pub bbox: [f64; 4],
}

/// A named count of a breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamedCount {
    pub code: Option<String>,
    pub name: String,
    pub count: u64,
}

/// Why alerts cannot be computed for a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertError {
    /// The month lies outside the data (`first..=last` months given).
    OutOfRange { first: u32, last: u32 },
    /// Fewer than [`alerts::HISTORY_MONTHS`] months of history before it.
    ShortHistory { first_assessable: u32, last: u32 },
}

/// Assesses every area of a level for one month (see [`alerts`] for the
/// method). Returns all areas, most severe first (alerts first, then by
/// score).
pub fn assess_areas(snap: &Snapshot, q: &AlertQuery) -> Result<Vec<AreaAlert>, AlertError> {
    let flows = &snap.flows;
    let first = flows.first_month;
    let last = first + (flows.months as u32).saturating_sub(1);
    let Some(m) = flows.offset(q.month).filter(|_| flows.months > 0) else {
        return Err(AlertError::OutOfRange { first, last });
    };
    let history = alerts::HISTORY_MONTHS as u16;
    if m < history {
        return Err(AlertError::ShortHistory { first_assessable: first + history as u32, last });
    }
    let k = q.k as u64;
    let slots: Vec<(u16, u16)> = flows
        .region_of_slot
        .iter()
        .enumerate()
        .filter(|(_, r)| snap.regions[**r as usize].kind == q.level)
        .map(|(s, r)| (s as u16, *r))
        .collect();
    let departures: Vec<Vec<u64>> = slots
        .iter()
        .map(|&(slot, _)| {
            (0..=m)
                .map(|t| flows.counts(slot, t, q.scope.field, q.scope.industries.as_deref())[counter::DEPARTURES])
                .collect()
        })
        .collect();
    let pooled: Vec<u64> = (0..m as usize).map(|t| departures.iter().map(|d| d[t]).sum()).collect();
    let factors = alerts::seasonal_factors(&pooled, first);

    // Breakdowns of this month's leavers, one pass.
    /// Leavers of one area by destination and by field.
    type Leavers = (HashMap<u16, u64>, HashMap<u8, u64>);
    let mut by_region: HashMap<u16, Leavers> = HashMap::new();
    for mv in flows.month_moves(m) {
        if mv.event != MoveEvent::Leave.index() || !q.scope.matches(mv.field, mv.industry) {
            continue;
        }
        let (from, _) = ends(mv, q.level);
        if from == NONE16 {
            continue;
        }
        let entry = by_region.entry(from).or_default();
        *entry.0.entry(mv.destination).or_default() += 1;
        *entry.1.entry(mv.field).or_default() += 1;
    }

    let mut out = Vec::with_capacity(slots.len());
    for (&(_, region), deps) in slots.iter().zip(&departures) {
        let info = &snap.regions[region as usize];
        let observed = deps[m as usize];
        let window = &deps[(m - history) as usize..m as usize];
        let a = alerts::assess(window, q.month, observed, &factors, q.alpha, q.k);
        let history_total: u64 = window.iter().sum();
        let observed_ok = publishable(observed, q.k).is_some();
        let history_ok = publishable(history_total, q.k).is_some();
        let last12 = &deps[(m + 1 - history) as usize..=m as usize];
        let trend =
            if last12.iter().all(|&c| c == 0 || c >= k) { alerts::trend(last12, q.month, &factors) } else { None };
        let (dest, fields) = by_region.remove(&region).unwrap_or_default();
        let destinations = merge_small(
            dest.into_iter()
                .map(|(d, n)| (flows.destinations.get(d as usize).cloned().unwrap_or_else(|| "unknown".into()), n))
                .collect(),
            q.k,
            5,
        );
        let fields = merge_small(
            fields.into_iter().map(|(f, n)| (if f == NONE8 { String::new() } else { f.to_string() }, n)).collect(),
            q.k,
            5,
        );
        let named_field = |(code, n): (String, u64)| -> NamedCount {
            let entry = code.parse::<u8>().ok().and_then(|i| snap.taxonomy.field(i));
            NamedCount {
                code: entry.map(|e| e.code.clone()),
                name: entry.map_or_else(|| "unknown".to_string(), |e| e.name_zh.clone()),
                count: n,
            }
        };
        out.push(AreaAlert {
            area_id: info.id.clone(),
            name: info.name.clone(),
            kind: info.kind.code(),
            month: month_label(q.month),
            departures: publishable(observed, q.k),
            expected: history_ok.then_some((a.expected * 10.0).round() / 10.0),
            p_value: (observed_ok && history_ok).then_some(a.p_value),
            score: (observed_ok && history_ok).then_some((a.score * 100.0).round() / 100.0),
            alert: a.alert && observed_ok && history_ok,
            method: alerts::METHOD,
            trend,
            top_destinations: destinations
                .parts
                .into_iter()
                .map(|(name, count)| NamedCount { code: None, name, count })
                .collect(),
            other_destinations: destinations.other,
            top_fields: fields.parts.into_iter().map(named_field).collect(),
            other_fields: fields.other,
            centre: info.centre,
            bbox: info.bbox,
        });
    }
    out.sort_by(|a, b| {
        b.alert
            .cmp(&a.alert)
            .then_with(|| b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
            .then_with(|| a.area_id.cmp(&b.area_id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_month;

    /// Found by the contract test: month `00` overflowed while computing the
    /// index of a month that was then refused (a panic in debug builds).
    #[test]
    fn month_zero_is_refused_without_overflow() {
        for bad in ["0000-00", "2024-00", "0999-01", "2024-13", "2024-1", "2024/01", "+024-01"] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(parse_month("2024-01"), Some(2024 * 12));
        assert_eq!(parse_month("2024-12"), Some(2024 * 12 + 11));
    }
}
