//! Talent flows: monthly series per area, the origin–destination map and
//! early-warning alerts, all computed from the snapshot's move table and
//! its precomputed per-area monthly counts ([`crate::snapshot::FlowIndex`];
//! the counting rules are documented there).
//!
//! Privacy ([`super::privacy`]): every count is a [`Tally`] of the record
//! keys of the moves (or talents) it counts — a month's arrivals of an area,
//! a window's flow from one area to another, the departures to one
//! destination — and is published through the request's [`Disclosure`]:
//! exact for entitled principals, perturbed otherwise (never in 1..k−1, the
//! same records always give the same number). A window `from..=to` (whole
//! months) counts the moves of those months, so two overlapping windows are
//! two different tallies and their difference carries the noise of both.
//! Numbers derived from counts (net flow, rates, alerts) are computed from
//! the published counts, so they reveal nothing the counts do not.
//! Breakdowns (destinations, fields) publish each part as its own tally and
//! leave out parts published as 0.

pub mod alerts;
pub mod od;
pub mod stats;

pub use od::{OdFocus, OdLevel, OdMatrix, od};

use std::collections::HashMap;

use serde::Serialize;

use crate::areas::Place;
use crate::model::{MoveEvent, RegionKind};
use crate::snapshot::moves::{Counts, MoveRec, contributions, counter};
use crate::snapshot::{NONE8, NONE16, Snapshot};

use super::privacy::{Disclosure, Tally};

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

/// One month of an area's series: published counts (exact or perturbed).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesMonth {
    pub month: String,
    pub arrivals: Option<u64>,
    pub departures: Option<u64>,
    pub job_changes_in: Option<u64>,
    pub job_changes_out: Option<u64>,
    pub relocations_in: Option<u64>,
    pub relocations_out: Option<u64>,
    /// Inflow minus outflow of the published counts.
    pub net: Option<i64>,
    /// `net / talents × 1000` (published talents); `None` when those are 0.
    pub net_rate: Option<f64>,
}

/// Net flow of one month's counts: `arrivals − departures + job changes in −
/// out + relocations in − out`.
pub fn net(c: &Counts) -> i64 {
    use counter::*;
    c[ARRIVALS] as i64 - c[DEPARTURES] as i64 + c[JOB_CHANGES_IN] as i64 - c[JOB_CHANGES_OUT] as i64
        + c[RELOCATIONS_IN] as i64
        - c[RELOCATIONS_OUT] as i64
}

/// One month's counters of one area as tallies of move record keys.
pub type Tallies = [Tally; counter::N];

/// Resident talents of a region (home in it) within a scope, as a tally of
/// the talents' record keys: the denominator of net rates. Precomputed per
/// field and per industry; a field and a chain together cost a scan of the
/// talents.
pub fn resident_talents(snap: &Snapshot, place: Place<'_>, scope: &Scope) -> Tally {
    let region = match place {
        Place::Region(r) => r,
        Place::Study(_) => {
            let mut out = Tally::default();
            for t in snap.talents.iter().filter(|t| place.lives(t) && scope.matches(t.field, t.industry)) {
                out.add(t.rkey);
            }
            return out;
        }
    };
    let flows = &snap.flows;
    let slot = flows.slot(region);
    let counted = match (scope.field, scope.industries.as_deref()) {
        (None, None) => snap.regions.get(region as usize).map(|r| r.stats.talents_tally()),
        (Some(f), None) => flows.residents_with_field(slot, f),
        (None, Some(list)) => flows.residents_in_industries(slot, list),
        _ => None,
    };
    if let Some(tally) = counted {
        return tally;
    }
    let mut out = Tally::default();
    for t in &snap.talents {
        if (t.home_district == region || t.home_park == region) && scope.matches(t.field, t.industry) {
            out.add(t.rkey);
        }
    }
    out
}

/// The counters a move adds to in a study area (the counting rules of
/// regions, `crate::snapshot::moves`, with the area's cells for its
/// districts and parks).
fn study_counters(m: &MoveRec, place: Place<'_>, origin: (u32, u32)) -> [Option<usize>; 2] {
    use counter::*;
    let from = || place.holds_end(origin, NONE16, NONE16, m.from_cell);
    let to = || place.holds_end(origin, NONE16, NONE16, m.to_cell);
    let crossing = |into: usize, out_of: usize| match (from(), to()) {
        (false, true) => [Some(into), None],
        (true, false) => [Some(out_of), None],
        _ => [None, None],
    };
    match MoveEvent::from_index(m.event) {
        Some(MoveEvent::Arrive) => [to().then_some(ARRIVALS), None],
        Some(MoveEvent::Leave) => [from().then_some(DEPARTURES), None],
        Some(MoveEvent::JobChange) => crossing(JOB_CHANGES_IN, JOB_CHANGES_OUT),
        Some(MoveEvent::Relocate) => crossing(RELOCATIONS_IN, RELOCATIONS_OUT),
        None => [None, None],
    }
}

/// The tallies of one area for month offsets `from..=to` of the move
/// table (one entry per month; months beyond the data are empty). For a
/// region without a scope from the counters and their key sums; otherwise
/// from a scan of those months' moves.
pub fn area_tallies(snap: &Snapshot, place: Place<'_>, scope: &Scope, from: u16, to: u16) -> Vec<Tallies> {
    let flows = &snap.flows;
    let len = (to as usize + 1).saturating_sub(from as usize);
    let mut out = vec![[Tally::default(); counter::N]; len];
    let region = match place {
        Place::Region(r) => r,
        Place::Study(_) => {
            for m in flows.range_moves(from, to) {
                if scope.matches(m.field, m.industry) {
                    for c in study_counters(m, place, flows.origin).into_iter().flatten() {
                        out[(m.month - from) as usize][c].add(m.rkey);
                    }
                }
            }
            return out;
        }
    };
    let slot = flows.slot(region);
    if slot == NONE16 {
        return out;
    }
    if scope.field.is_none() && scope.industries.is_none() {
        for (i, month) in (from..=to).enumerate() {
            if month >= flows.months {
                break;
            }
            out[i] = flows.tallies(slot, month);
        }
        return out;
    }
    for m in flows.range_moves(from, to) {
        if !scope.matches(m.field, m.industry) {
            continue;
        }
        for (r, c) in contributions(m) {
            if r == region {
                out[(m.month - from) as usize][c].add(m.rkey);
            }
        }
    }
    out
}

/// Monthly series of one region (a district or park) for absolute months
/// `from..=to`, counts published under `d`. Months without moves are zero.
///
/// `net` is computed from the published counts; `net_rate` is per 1,000
/// published resident talents of the area within the scope (current
/// snapshot), so a rate of −2.5 means the area lost 2.5 talents in every
/// thousand that month.
pub fn series(snap: &Snapshot, place: Place<'_>, scope: &Scope, from: u32, to: u32, d: Disclosure) -> Vec<SeriesMonth> {
    let flows = &snap.flows;
    let talents = d.count(resident_talents(snap, place, scope));
    // The months inside the data, as offsets.
    let first = flows.first_month;
    let last = first + (flows.months as u32).saturating_sub(1);
    let (lo, hi) = (from.max(first), to.min(last));
    let inside = if flows.months > 0 && lo <= hi {
        area_tallies(snap, place, scope, (lo - first) as u16, (hi - first) as u16)
    } else {
        Vec::new()
    };
    (from..=to)
        .map(|month| {
            let tallies = month.checked_sub(lo).and_then(|i| inside.get(i as usize)).copied().unwrap_or_default();
            let mut published = [0u64; counter::N];
            for (p, t) in published.iter_mut().zip(tallies) {
                *p = d.count(t);
            }
            let net = net(&published);
            SeriesMonth {
                month: month_label(month),
                arrivals: Some(published[counter::ARRIVALS]),
                departures: Some(published[counter::DEPARTURES]),
                job_changes_in: Some(published[counter::JOB_CHANGES_IN]),
                job_changes_out: Some(published[counter::JOB_CHANGES_OUT]),
                relocations_in: Some(published[counter::RELOCATIONS_IN]),
                relocations_out: Some(published[counter::RELOCATIONS_OUT]),
                net: Some(net),
                net_rate: (talents > 0).then(|| (net as f64 / talents as f64 * 1000.0 * 100.0).round() / 100.0),
            }
        })
        .collect()
}

/// The talents living in a region (a district or park) within a scope at
/// the end of each month `from..=to`, reconstructed from the moves and
/// published under `d`: the published resident count now (the end of the
/// data's last month) minus, month by month going back, the published
/// home-changing flows of the later months — arrivals and relocations in
/// added to the area, departures and relocations out taken from it (job
/// changes move workplaces, not homes). Months after the data's last keep
/// today's count. Every number is derived from published counts, so a
/// stock series reveals nothing the counts and the flow series do not; its
/// noise (perturbed counts) adds up going back. A value below zero (noise,
/// or an irregular feed: docs/present.md) is published as 0.
pub fn stock(snap: &Snapshot, place: Place<'_>, scope: &Scope, from: u32, to: u32, d: Disclosure) -> Vec<u64> {
    let flows = &snap.flows;
    let now = d.count(resident_talents(snap, place, scope)) as i64;
    let last = flows.first_month + (flows.months as u32).saturating_sub(1);
    if flows.months == 0 || from >= last {
        return vec![now.max(0) as u64; (to + 1).saturating_sub(from) as usize];
    }
    // Published monthly counts of from + 1 ..= last, then back from `last`.
    let later = series(snap, place, scope, from + 1, last, d);
    let home_net = |m: &SeriesMonth| {
        let c = |v: Option<u64>| v.unwrap_or(0) as i64;
        c(m.arrivals) - c(m.departures) + c(m.relocations_in) - c(m.relocations_out)
    };
    let mut at_end = vec![0i64; (last - from + 1) as usize];
    at_end[(last - from) as usize] = now;
    for i in (0..later.len()).rev() {
        // `later[i]` is month from + 1 + i; the stock before it is the end of month from + i.
        at_end[i] = at_end[i + 1] - home_net(&later[i]);
    }
    (from..=to).map(|m| at_end.get((m - from) as usize).copied().unwrap_or(now).max(0) as u64).collect()
}

/// Arrivals into and departures out of the city in absolute month
/// `month`, per industry division (a move's industry as the move table
/// attributes it: `crate::snapshot::moves`), as tallies of the moves'
/// record keys, in division order; moves without an industry are left out.
pub fn city_flows_by_industry(snap: &Snapshot, month: u32) -> Vec<(u8, Tally, Tally)> {
    let flows = &snap.flows;
    let mut by = vec![(Tally::default(), Tally::default()); flows.industries];
    if let Some(offset) = flows.offset(month) {
        for m in flows.range_moves(offset, offset) {
            let Some(slot) = by.get_mut(m.industry as usize) else { continue };
            match MoveEvent::from_index(m.event) {
                Some(MoveEvent::Arrive) => slot.0.add(m.rkey),
                Some(MoveEvent::Leave) => slot.1.add(m.rkey),
                _ => {}
            }
        }
    }
    by.into_iter().enumerate().filter(|(_, (a, d))| a.n > 0 || d.n > 0).map(|(i, (a, d))| (i as u8, a, d)).collect()
}

/// Published parts of a breakdown: each part is its own tally; parts
/// published as 0 are left out, the `top` largest published parts are
/// listed (ties by name) and the rest is one tally, `other`.
pub fn breakdown(parts: Vec<(String, Tally)>, d: Disclosure, top: usize) -> Breakdown {
    let mut published: Vec<(String, u64, Tally)> =
        parts.into_iter().map(|(name, t)| (name, d.count(t), t)).filter(|p| p.2.n > 0).collect();
    published.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut rest = Tally::default();
    let mut listed = Vec::new();
    for (name, n, t) in published {
        if n > 0 && listed.len() < top {
            listed.push((name, n));
        } else {
            rest.merge(t);
        }
    }
    Breakdown { parts: listed, other: Some(d.count(rest)) }
}

/// A published breakdown (see [`breakdown`]): the listed `parts` and the
/// published rest, `other`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub parts: Vec<(String, u64)>,
    pub other: Option<u64>,
}

/// Alert request.
#[derive(Debug, Clone)]
pub struct AlertQuery {
    /// Absolute month assessed.
    pub month: u32,
    pub level: RegionKind,
    pub scope: Scope,
    pub alpha: f64,
    /// How counts are published; alerts are computed from the published
    /// departures.
    pub disclosure: Disclosure,
}

/// One assessed area.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaAlert {
    pub area_id: String,
    pub name: String,
    pub kind: &'static str,
    pub month: String,
    /// Observed departures (published).
    pub departures: Option<u64>,
    /// Expected departures (from the published history).
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

/// Departures of every area slot for month offsets `0..=upto`, as tallies
/// (`[slot][month]`): from the counters and their key sums without a scope,
/// else from one scan of those months' moves.
fn departure_tallies(snap: &Snapshot, scope: &Scope, upto: u16) -> Vec<Vec<Tally>> {
    let flows = &snap.flows;
    let slots = flows.region_of_slot.len();
    let months = upto as usize + 1;
    let mut out = vec![vec![Tally::default(); months]; slots];
    if scope.field.is_none() && scope.industries.is_none() {
        for (slot, row) in out.iter_mut().enumerate() {
            for (t, cell) in row.iter_mut().enumerate().take(flows.months as usize) {
                *cell = flows.tallies(slot as u16, t as u16)[counter::DEPARTURES];
            }
        }
        return out;
    }
    for m in flows.range_moves(0, upto) {
        if !scope.matches(m.field, m.industry) {
            continue;
        }
        for (r, c) in contributions(m) {
            let slot = flows.slot(r);
            if c == counter::DEPARTURES && slot != NONE16 {
                out[slot as usize][m.month as usize].add(m.rkey);
            }
        }
    }
    out
}

/// Assesses every area of a level for one month (see [`alerts`] for the
/// method). Returns all areas, most severe first (alerts first, then by
/// score).
///
/// Everything is computed from the published departures: exact for an
/// entitled principal, perturbed otherwise (the history, the seasonal
/// factors, the observed month, the trend). Perturbation adds at most ±3 to
/// each month and is centred, so a surge that matters still alerts, while
/// the p-value and score reveal nothing beyond the published counts.
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
    let d = q.disclosure;
    let k = match d {
        Disclosure::Exact => 1,
        Disclosure::Protected { k } => k,
    };
    let tallies = departure_tallies(snap, &q.scope, m);
    let slots: Vec<(u16, u16)> = flows
        .region_of_slot
        .iter()
        .enumerate()
        .filter(|(_, r)| snap.regions[**r as usize].kind == q.level)
        .map(|(s, r)| (s as u16, *r))
        .collect();
    let departures: Vec<Vec<u64>> =
        slots.iter().map(|&(slot, _)| tallies[slot as usize].iter().map(|&t| d.count(t)).collect()).collect();
    let pooled: Vec<u64> = (0..m as usize).map(|t| departures.iter().map(|row| row[t]).sum()).collect();
    let factors = alerts::seasonal_factors(&pooled, first);

    // Breakdowns of this month's leavers, one pass.
    let mut by_region: HashMap<u16, Leavers> = HashMap::new();
    for mv in flows.month_moves(m) {
        if mv.event != MoveEvent::Leave.index() || !q.scope.matches(mv.field, mv.industry) {
            continue;
        }
        let (from, _) = od::ends(mv, q.level);
        if from == NONE16 {
            continue;
        }
        let entry = by_region.entry(from).or_default();
        entry.0.entry(mv.destination).or_default().add(mv.rkey);
        entry.1.entry(mv.field).or_default().add(mv.rkey);
    }

    let mut out = Vec::with_capacity(slots.len());
    for (&(_, region), deps) in slots.iter().zip(&departures) {
        let info = &snap.regions[region as usize];
        let who = Assessed {
            id: info.id.clone(),
            name: info.name.clone(),
            kind: info.kind.code(),
            centre: info.centre,
            bbox: info.bbox,
        };
        let leavers = by_region.remove(&region).unwrap_or_default();
        out.push(area_alert(snap, q, (m, k), &factors, deps, leavers, who));
    }
    out.sort_by(|a, b| {
        b.alert
            .cmp(&a.alert)
            .then_with(|| b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
            .then_with(|| a.area_id.cmp(&b.area_id))
    });
    Ok(out)
}

/// Leavers of one area by destination and by field.
type Leavers = (HashMap<u16, Tally>, HashMap<u8, Tally>);

/// Which area an alert is about.
pub struct Assessed {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub centre: [f64; 2],
    pub bbox: [f64; 4],
}

/// The alert of one area from its published departures `deps` (month
/// offsets `0..=m`) and this month's leavers.
fn area_alert(
    snap: &Snapshot,
    q: &AlertQuery,
    (m, k): (u16, u32),
    factors: &[f64; 12],
    deps: &[u64],
    (dest, fields): Leavers,
    who: Assessed,
) -> AreaAlert {
    let flows = &snap.flows;
    let d = q.disclosure;
    let history = alerts::HISTORY_MONTHS as u16;
    let observed = deps[m as usize];
    let window = &deps[(m - history) as usize..m as usize];
    let a = alerts::assess(window, q.month, observed, factors, q.alpha, k);
    let last12 = &deps[(m + 1 - history) as usize..=m as usize];
    let trend = alerts::trend(last12, q.month, factors);
    let destinations = breakdown(
        dest.into_iter()
            .map(|(dest, n)| (flows.destinations.get(dest as usize).cloned().unwrap_or_else(|| "unknown".into()), n))
            .collect(),
        d,
        5,
    );
    let fields = breakdown(
        fields.into_iter().map(|(f, n)| (if f == NONE8 { String::new() } else { f.to_string() }, n)).collect(),
        d,
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
    AreaAlert {
        area_id: who.id,
        name: who.name,
        kind: who.kind,
        month: month_label(q.month),
        departures: Some(observed),
        expected: Some((a.expected * 10.0).round() / 10.0),
        p_value: Some(a.p_value),
        score: Some((a.score * 100.0).round() / 100.0),
        alert: a.alert,
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
        centre: who.centre,
        bbox: who.bbox,
    }
}

/// Assesses one area (a district, park or study area) for one month, by
/// the method of [`assess_areas`]: its own published departures against
/// its history, the seasonal pattern pooled over the areas of `q.level`
/// (published under `city`, the disclosure of the city-wide numbers).
pub fn assess_place(
    snap: &Snapshot,
    q: &AlertQuery,
    place: Place<'_>,
    city: Disclosure,
    who: Assessed,
) -> Result<AreaAlert, AlertError> {
    let flows = &snap.flows;
    let first = flows.first_month;
    let last = first + (flows.months as u32).saturating_sub(1);
    let Some(m) = flows.offset(q.month).filter(|_| flows.months > 0) else {
        return Err(AlertError::OutOfRange { first, last });
    };
    if m < alerts::HISTORY_MONTHS as u16 {
        return Err(AlertError::ShortHistory { first_assessable: first + alerts::HISTORY_MONTHS as u32, last });
    }
    let k = match q.disclosure {
        Disclosure::Exact => 1,
        Disclosure::Protected { k } => k,
    };
    let tallies = departure_tallies(snap, &q.scope, m);
    let pooled: Vec<u64> = (0..m as usize)
        .map(|t| {
            let slots = flows.region_of_slot.iter().enumerate();
            let of_level = slots.filter(|(_, r)| snap.regions[**r as usize].kind == q.level);
            of_level.map(|(s, _)| city.count(tallies[s][t])).sum()
        })
        .collect();
    let factors = alerts::seasonal_factors(&pooled, first);
    let origin = flows.origin;
    let mut months = vec![Tally::default(); m as usize + 1];
    let mut leavers = Leavers::default();
    for mv in flows.range_moves(0, m) {
        if mv.event != MoveEvent::Leave.index()
            || !q.scope.matches(mv.field, mv.industry)
            || !place.holds_end(origin, mv.from_district, mv.from_park, mv.from_cell)
        {
            continue;
        }
        months[mv.month as usize].add(mv.rkey);
        if mv.month == m {
            leavers.0.entry(mv.destination).or_default().add(mv.rkey);
            leavers.1.entry(mv.field).or_default().add(mv.rkey);
        }
    }
    let deps: Vec<u64> = months.into_iter().map(|t| q.disclosure.count(t)).collect();
    Ok(area_alert(snap, q, (m, k), &factors, &deps, leavers, who))
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
