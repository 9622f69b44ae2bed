//! Underserved parks: many (young) workers, long commutes, far from rail.
//!
//! The case this exists for: one city found, from its job–housing heatmap,
//! an industrial park with about 190 firms and 2,000 young workers but an
//! awkward trip to the metro, and ran a shuttle bus within three days.
//!
//! # Score
//!
//! For each park whose published worker count is positive, from published
//! counts (exact or perturbed under the request's disclosure; `workers`,
//! `young` and the workers near rail are each a tally of record keys):
//!
//! ```text
//! E = young + ½ · (workers − young)                 effective workers: the young count double
//! S = ln(1 + E) / ln(1 + max E over ranked parks)   size, 0..1 (log: 2,000 is not 100 × 20)
//! F = share of workers whose workplace is > 800 m from a rail or metro station
//! D = min(nearest_station_m / 3000, 1)             distance of the park to rail, 0..1
//! C = min(median_commute_km / 20, 1)               commute length, 0..1 (0 when the median is not published)
//! score = 100 · S · (0.5·F + 0.25·D + 0.25·C)      0..100, higher = more underserved
//! ```
//!
//! The product makes size a gate: a park nobody works in is never urgent,
//! however far from rail. Transit access (F and D) carries three quarters of
//! the deficit because it is what a planner can change (a shuttle, a
//! station); the commute length says how much a change would matter.
//! `nearest_station_m` is measured from the park's representative point
//! (`RegionInfo::centre`); with no rail station in the city `D = 1`. The
//! median commute is published (and used) only for parks the disclosure
//! describes (at least 20 workers when perturbed); the score is then a
//! function of published numbers only, so it reveals no count.
//!
//! Worked example: a park with 2,000 workers of whom 1,500 young (E = 1,750,
//! the largest, so S = 1), all workplaces beyond 800 m (F = 1), 3.4 km from
//! the metro (D = 1) and a 14 km median commute (C = 0.7) scores
//! 100 · (0.5 + 0.25 + 0.175) = 92.5.

use serde::Serialize;

use crate::analytics::privacy::Disclosure;
use crate::model::RegionKind;
use crate::snapshot::Snapshot;

use super::indicators::AreaCounts;

/// Distance to rail at which `D` saturates, in metres.
pub const FAR_STATION_M: f64 = 3000.0;
/// Median commute at which `C` saturates, in km.
pub const LONG_COMMUTE_KM: f64 = 20.0;
/// Weights of F, D and C in the transit deficit.
pub const WEIGHTS: [f64; 3] = [0.5, 0.25, 0.25];

/// A park's nearest station (real or hypothetical).
#[derive(Debug, Clone, PartialEq)]
pub struct NearestStation {
    pub name: String,
    /// English name, empty when the data has none (the English reason then
    /// uses `name`).
    pub name_en: String,
    pub metres: f64,
    /// A stop added by a what-if scenario.
    pub hypothetical: bool,
}

/// The parts of the score, each in 0..1.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Components {
    pub size: f64,
    pub far_share: f64,
    pub station_distance: f64,
    pub commute: f64,
}

/// One ranked park.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Underserved {
    pub rank: usize,
    pub id: String,
    pub name: String,
    pub enterprises: u64,
    pub workers: u64,
    pub young_workers: u64,
    pub median_commute_km: Option<f64>,
    /// Ground distance from the park to the nearest rail or metro station.
    pub nearest_station_m: Option<f64>,
    pub nearest_station: Option<String>,
    /// The nearest station is a hypothetical one from a scenario.
    pub nearest_station_hypothetical: bool,
    pub share_far_from_station: f64,
    pub score: f64,
    pub components: Components,
    /// One line in Chinese.
    pub reason: String,
    /// The same line in English.
    pub reason_en: String,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Ranks the parks, most underserved first (ties: more workers, then id).
///
/// Parameters: `areas` are per-region totals as in
/// [`super::CommuteIndex`] (slot = region position), `nearest` the nearest
/// station of each park by region position, `d` how counts are published.
pub fn rank(
    snap: &Snapshot,
    areas: &[AreaCounts],
    nearest: &[Option<NearestStation>],
    d: Disclosure,
) -> Vec<Underserved> {
    // (region, published workers, published young, published workers near rail)
    let parks: Vec<(usize, u64, u64, u64)> = (0..snap.regions.len())
        .filter(|&r| snap.regions[r].kind == RegionKind::Park)
        .filter_map(|r| {
            let a = areas.get(r)?;
            let workers = d.count(a.jobs.n);
            (workers > 0)
                .then(|| (r, workers, d.count(a.jobs.young).min(workers), d.count(a.jobs.work_near).min(workers)))
        })
        .collect();
    let effective = |workers: u64, young: u64| young as f64 + 0.5 * (workers - young) as f64;
    let max_e = parks.iter().map(|&(_, w, y, _)| effective(w, y)).fold(0.0, f64::max);
    let mut items: Vec<Underserved> = parks
        .into_iter()
        .map(|(r, workers, young, work_near)| {
            let region = &snap.regions[r];
            let a = &areas[r];
            let size = if max_e > 0.0 { (1.0 + effective(workers, young)).ln() / (1.0 + max_e).ln() } else { 0.0 };
            let far_share = 1.0 - work_near as f64 / workers as f64;
            let near = nearest.get(r).cloned().flatten();
            let station_distance = near.as_ref().map_or(1.0, |n| (n.metres / FAR_STATION_M).min(1.0));
            let median = a.jobs.median_km.filter(|_| d.describes(a.jobs.n));
            let commute = median.map_or(0.0, |m| (m / LONG_COMMUTE_KM).min(1.0));
            let deficit = WEIGHTS[0] * far_share + WEIGHTS[1] * station_distance + WEIGHTS[2] * commute;
            let (reason, reason_en) = reason(workers, young, median, near.as_ref(), far_share);
            Underserved {
                rank: 0,
                id: region.id.clone(),
                name: region.name.clone(),
                enterprises: region.stats.enterprises,
                workers,
                young_workers: young,
                median_commute_km: median.map(|m| round(m, 2)),
                nearest_station_m: near.as_ref().map(|n| n.metres.round()),
                nearest_station: near.as_ref().map(|n| n.name.clone()),
                nearest_station_hypothetical: near.as_ref().is_some_and(|n| n.hypothetical),
                share_far_from_station: round(far_share, 4),
                score: round(100.0 * size * deficit, 2),
                components: Components {
                    size: round(size, 4),
                    far_share: round(far_share, 4),
                    station_distance: round(station_distance, 4),
                    commute: round(commute, 4),
                },
                reason,
                reason_en,
            }
        })
        .collect();
    items.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.workers.cmp(&a.workers)).then(a.id.cmp(&b.id)));
    for (i, it) in items.iter_mut().enumerate() {
        it.rank = i + 1;
    }
    items
}

/// The one-line plain-language reason, in Chinese and English.
fn reason(
    workers: u64,
    young: u64,
    median: Option<f64>,
    near: Option<&NearestStation>,
    far_share: f64,
) -> (String, String) {
    let median_zh = median.map_or("通勤距离未知".to_string(), |m| format!("通勤距离中位数 {m:.1} 公里"));
    let median_en = median.map_or("commute unknown".to_string(), |m| format!("median commute {m:.1} km"));
    let (station_zh, station_en) = match near {
        Some(n) if n.hypothetical => (
            format!("最近站点为拟设的「{}」，{:.1} 公里", n.name, n.metres / 1000.0),
            format!("nearest stop is the proposed \"{}\", {:.1} km away", n.name, n.metres / 1000.0),
        ),
        Some(n) => (
            format!("距最近轨道站「{}」{:.1} 公里", n.name, n.metres / 1000.0),
            format!(
                "nearest rail station \"{}\" {:.1} km away",
                if n.name_en.is_empty() { &n.name } else { &n.name_en },
                n.metres / 1000.0
            ),
        ),
        None => ("全市无轨道站".to_string(), "no rail station in the city".to_string()),
    };
    let pct = (far_share * 100.0).round();
    (
        format!(
            "{workers} 名在园区工作的人才（35 岁及以下 {young} 名），{median_zh}，{station_zh}，{pct:.0}% 的岗位不在站点 800 米步行范围内"
        ),
        format!(
            "{workers} people work here ({young} aged 35 or under), {median_en}, {station_en}; {pct:.0}% of jobs are beyond an 800 m walk of a station"
        ),
    )
}
