//! Commute and job–housing indicators of an area, as in China's annual
//! commute monitoring reports (中国主要城市通勤监测报告: mean commute
//! distance, share of commutes within 5 km, share of commuters living within
//! 800 m of rail transit, job–housing ratio).
//!
//! An area is seen from two sides:
//! - **workers** (jobs side): talents whose workplace lies in the area. All
//!   the flat indicators below are about them — where the people who work
//!   here live and how far they travel.
//! - **residents**: talents whose home lies in the area; those with a
//!   workplace are the area's *resident workers*, whose commute is reported
//!   separately in `residents_commute`.
//!
//! Definitions (commute km from [`super::distance`]; "near rail" = within
//! [`WALK_RADIUS_M`] of a metro or rail station, see [`super::stations`]):
//! - `mean_commute_km` = Σ km / workers; `median_commute_km` = the middle
//!   value (mean of the two middle values for an even count);
//! - `share_within_5km` = workers with km ≤ 5 / workers;
//!   `share_over_20km` = workers with km > 20 / workers;
//! - `share_homes_near_rail` = workers whose home is near rail / workers;
//!   `share_jobs_near_rail` = workers whose workplace is near rail / workers;
//! - `job_housing_ratio` = workers / resident workers (jobs ÷ employed
//!   residents; 1 is balanced, above 1 the area imports commuters);
//! - `young_share` = workers aged ≤ 35 / workers;
//! - `histogram`: workers per distance band, edges [`HISTOGRAM_EDGES_KM`].
//!
//! Privacy: a count in `1..k` is withheld (`null`) and named in
//! `suppressed`, and so is every number derived from it (a share or mean of
//! a withheld count, a ratio with a withheld side), so nothing lets a reader
//! recover it. Breakdowns of a published count (shares, bands) are published,
//! as the talents layer publishes seekers and young talents of its cells.
//!
//! Worked example (the unit test `hand_computed_area`): three workers with
//! commutes 1, 4 and 25 km, homes near rail for the first, workplaces near
//! rail for all, two of them young, and two employed residents → mean 10 km,
//! median 4 km, share ≤ 5 km 2/3, share > 20 km 1/3, homes near rail 1/3,
//! jobs near rail 1, young share 2/3, job–housing ratio 3/2 (with k = 1).

use serde::Serialize;

use crate::analytics::cells::YOUNG_MAX_AGE;
use crate::analytics::filter::Filter;
use crate::analytics::privacy::publishable;
use crate::snapshot::{NONE16, Snapshot};

use super::BitSet;
pub use super::stations::WALK_RADIUS_M;

/// Upper bound of a short commute in km (commute monitoring reports use
/// 5 km as the "happy commute" threshold, 幸福通勤).
pub const SHORT_KM: f64 = 5.0;
/// Lower bound (exclusive) of a long commute in km (the reports' "extreme
/// commute" starts at 25 km of travel; 20 km straight line is about that on
/// the network).
pub const LONG_KM: f64 = 20.0;
/// Lower edges of the distance bands in km; band `i` is
/// `[edge[i], edge[i+1])`, the last one open-ended.
pub const HISTOGRAM_EDGES_KM: [f64; 10] = [0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0];
const BINS: usize = HISTOGRAM_EDGES_KM.len();

/// Band of a commute of `km` kilometres.
pub fn band_of(km: f64) -> usize {
    HISTOGRAM_EDGES_KM.partition_point(|&e| e <= km).saturating_sub(1)
}

/// Running totals over a set of commuters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    /// Commuters (talents with a workplace).
    pub n: u64,
    pub km_sum: f64,
    pub within_short: u64,
    pub over_long: u64,
    pub young: u64,
    /// Commuters whose home is near rail.
    pub home_near: u64,
    /// Commuters whose workplace is near rail.
    pub work_near: u64,
    pub histogram: [u64; BINS],
    /// Median km, filled in when the totals are complete.
    pub median_km: Option<f64>,
}

impl Side {
    fn add(&mut self, km: f32, young: bool, home_near: bool, work_near: bool) {
        let km = km as f64;
        self.n += 1;
        self.km_sum += km;
        self.within_short += (km <= SHORT_KM) as u64;
        self.over_long += (km > LONG_KM) as u64;
        self.young += young as u64;
        self.home_near += home_near as u64;
        self.work_near += work_near as u64;
        self.histogram[band_of(km)] += 1;
    }
}

/// The totals of one area.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaCounts {
    /// Talents living in the area.
    pub residents: u64,
    /// Talents working in the area.
    pub jobs: Side,
    /// Talents living in the area who have a workplace.
    pub homes: Side,
}

/// Median of `v` (reorders it): the middle value, or the mean of the two
/// middle values for an even length; `None` when empty.
pub fn median(v: &mut [f32]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let (len, mid) = (v.len(), v.len() / 2);
    let (left, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    let m = *m as f64;
    if len % 2 == 1 {
        return Some(m);
    }
    let below = left.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    Some((below + m) / 2.0)
}

/// Which areas to total: the `wants` regions, and the whole city in slot
/// `regions.len()` when `city`.
pub(crate) struct Scope<'a> {
    pub wants: &'a dyn Fn(u16) -> bool,
    pub city: bool,
}

/// Totals of every area in scope over the talents matching `filter`, one
/// pass over all talents. Slot `i < regions.len()` is region `i`; the last
/// slot is the city. `km`, `home_near` and `work_near` are per talent (see
/// [`super::CommuteIndex`]).
pub(crate) fn accumulate(
    snap: &Snapshot,
    km: &[f32],
    home_near: &BitSet,
    work_near: &BitSet,
    filter: &Filter,
    scope: &Scope<'_>,
) -> Vec<AreaCounts> {
    let city = snap.regions.len();
    let mut areas = vec![AreaCounts::default(); city + 1];
    let mut jobs_km: Vec<Vec<f32>> = vec![Vec::new(); city + 1];
    let mut homes_km: Vec<Vec<f32>> = vec![Vec::new(); city + 1];
    let in_scope: Vec<bool> = (0..city as u16).map(|r| (scope.wants)(r)).collect();
    let wants = |r: u16| r != NONE16 && in_scope.get(r as usize).copied().unwrap_or(false);
    let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
    let all = filter.is_empty();
    for (i, t) in snap.talents.iter().enumerate() {
        if !all && !filter.talent(t) {
            continue;
        }
        for r in [t.home_district, t.home_park] {
            if wants(r) {
                areas[r as usize].residents += 1;
            }
        }
        if scope.city {
            areas[city].residents += 1;
        }
        if !t.has_work() {
            continue;
        }
        let (k, young, hn, wn) = (km[i], t.birth_year >= young_from, home_near.get(i), work_near.get(i));
        for r in [t.work_district, t.work_park] {
            if wants(r) {
                areas[r as usize].jobs.add(k, young, hn, wn);
                jobs_km[r as usize].push(k);
            }
        }
        for r in [t.home_district, t.home_park] {
            if wants(r) {
                areas[r as usize].homes.add(k, young, hn, wn);
                homes_km[r as usize].push(k);
            }
        }
        if scope.city {
            areas[city].jobs.add(k, young, hn, wn);
            jobs_km[city].push(k);
        }
    }
    if scope.city {
        areas[city].homes = areas[city].jobs.clone();
    }
    for (a, (mut j, mut h)) in areas.iter_mut().zip(jobs_km.into_iter().zip(homes_km)) {
        a.jobs.median_km = median(&mut j);
        a.homes.median_km = median(&mut h);
    }
    if scope.city {
        areas[city].homes.median_km = areas[city].jobs.median_km;
    }
    areas
}

/// One distance band of the histogram.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Band {
    pub from_km: f64,
    /// `null` for the open-ended last band.
    pub to_km: Option<f64>,
    pub count: u64,
}

/// Commute of an area's employed residents.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ResidentsCommute {
    pub count: Option<u64>,
    pub mean_km: Option<f64>,
    pub median_km: Option<f64>,
    pub share_within_5km: Option<f64>,
    pub share_over_20km: Option<f64>,
    pub share_homes_near_rail: Option<f64>,
}

/// Indicators of one area as served (see the module documentation).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<&'static str>,
    /// Talents working in the area.
    pub workers: Option<u64>,
    /// Talents living in the area.
    pub residents: Option<u64>,
    /// Residents with a workplace.
    pub resident_workers: Option<u64>,
    /// Counts withheld under the privacy rule (numbers derived from them are
    /// withheld too).
    pub suppressed: Vec<&'static str>,
    pub mean_commute_km: Option<f64>,
    pub median_commute_km: Option<f64>,
    pub share_within_5km: Option<f64>,
    pub share_over_20km: Option<f64>,
    pub share_homes_near_rail: Option<f64>,
    pub share_jobs_near_rail: Option<f64>,
    pub job_housing_ratio: Option<f64>,
    pub young_workers: Option<u64>,
    pub young_share: Option<f64>,
    /// Workers per distance band; empty when `workers` is withheld or zero.
    pub histogram: Vec<Band>,
    pub residents_commute: ResidentsCommute,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `part / whole` rounded to 4 decimals, when `whole` is published and
/// positive.
fn share(part: u64, whole: Option<u64>) -> Option<f64> {
    whole.filter(|&w| w > 0).map(|w| round(part as f64 / w as f64, 4))
}

/// The served indicators of an area's totals under privacy threshold `k`.
pub fn summarize(c: &AreaCounts, k: u32) -> Summary {
    let workers = publishable(c.jobs.n, k);
    let residents = publishable(c.residents, k);
    let resident_workers = publishable(c.homes.n, k);
    let mut suppressed = Vec::new();
    for (name, v) in [("workers", workers), ("residents", residents), ("resident_workers", resident_workers)] {
        if v.is_none() {
            suppressed.push(name);
        }
    }
    let has_workers = workers.filter(|&w| w > 0);
    let j = &c.jobs;
    let histogram = match has_workers {
        Some(_) => HISTOGRAM_EDGES_KM
            .iter()
            .enumerate()
            .map(|(i, &from_km)| Band { from_km, to_km: HISTOGRAM_EDGES_KM.get(i + 1).copied(), count: j.histogram[i] })
            .collect(),
        None => Vec::new(),
    };
    let ratio = match (workers, resident_workers) {
        (Some(w), Some(r)) if r > 0 => Some(round(w as f64 / r as f64, 4)),
        _ => None,
    };
    let h = &c.homes;
    let has_rw = resident_workers.filter(|&r| r > 0);
    Summary {
        id: None,
        name: None,
        kind: None,
        workers,
        residents,
        resident_workers,
        suppressed,
        mean_commute_km: has_workers.map(|w| round(j.km_sum / w as f64, 3)),
        median_commute_km: has_workers.and(j.median_km).map(|m| round(m, 3)),
        share_within_5km: share(j.within_short, workers),
        share_over_20km: share(j.over_long, workers),
        share_homes_near_rail: share(j.home_near, workers),
        share_jobs_near_rail: share(j.work_near, workers),
        job_housing_ratio: ratio,
        young_workers: workers.map(|_| j.young),
        young_share: share(j.young, workers),
        histogram,
        residents_commute: ResidentsCommute {
            count: resident_workers,
            mean_km: has_rw.map(|n| round(h.km_sum / n as f64, 3)),
            median_km: has_rw.and(h.median_km).map(|m| round(m, 3)),
            share_within_5km: share(h.within_short, resident_workers),
            share_over_20km: share(h.over_long, resident_workers),
            share_homes_near_rail: share(h.home_near, resident_workers),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_area() {
        let mut c = AreaCounts { residents: 2, ..AreaCounts::default() };
        c.jobs.add(1.0, true, true, true);
        c.jobs.add(4.0, true, false, true);
        c.jobs.add(25.0, false, false, true);
        c.jobs.median_km = median(&mut [1.0, 25.0, 4.0]);
        c.homes.add(2.0, false, false, false);
        c.homes.add(6.0, false, true, false);
        c.homes.median_km = median(&mut [6.0, 2.0]);
        let s = summarize(&c, 1);
        assert_eq!(s.workers, Some(3));
        assert_eq!(s.mean_commute_km, Some(10.0));
        assert_eq!(s.median_commute_km, Some(4.0));
        assert_eq!(s.share_within_5km, Some(0.6667));
        assert_eq!(s.share_over_20km, Some(0.3333));
        assert_eq!(s.share_homes_near_rail, Some(0.3333));
        assert_eq!(s.share_jobs_near_rail, Some(1.0));
        assert_eq!(s.young_share, Some(0.6667));
        assert_eq!(s.job_housing_ratio, Some(1.5));
        assert_eq!(s.residents_commute.median_km, Some(4.0));
        assert_eq!(s.residents_commute.share_homes_near_rail, Some(0.5));
        let bands: Vec<u64> = s.histogram.iter().map(|b| b.count).collect();
        assert_eq!(bands, [0, 1, 0, 1, 0, 0, 0, 1, 0, 0], "1 km, 4 km and 25 km");
        assert_eq!(s.histogram[9].to_km, None);
        assert!(s.suppressed.is_empty());

        // With k = 5 every count is withheld, and so is everything derived.
        let s = summarize(&c, 5);
        assert_eq!(s.suppressed, ["workers", "residents", "resident_workers"]);
        assert_eq!(
            (s.mean_commute_km, s.share_within_5km, s.job_housing_ratio, s.young_workers),
            (None, None, None, None)
        );
        assert!(s.histogram.is_empty());
        assert_eq!(s.residents_commute.median_km, None);
    }

    #[test]
    fn bands_and_medians() {
        assert_eq!(band_of(0.0), 0);
        assert_eq!(band_of(0.99), 0);
        assert_eq!(band_of(1.0), 1);
        assert_eq!(band_of(4.99), 3);
        assert_eq!(band_of(5.0), 4);
        assert_eq!(band_of(500.0), 9);
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
