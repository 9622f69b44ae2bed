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
//! Privacy ([`crate::analytics::privacy`]): every count is kept as a
//! [`Tally`] of the talents' record keys and published through the
//! request's [`Disclosure`]: exact for entitled principals, perturbed
//! otherwise (each histogram band is its own tally, so a band of two people
//! is 0 or k like any other small count). Shares are ratios of published
//! (perturbed) counts; the mean, the median and the shares are published only
//! for groups the disclosure [`describes`](Disclosure::describes) (at least
//! [`MIN_GROUP`](crate::analytics::privacy::MIN_GROUP) people when
//! perturbed), else `null`. The job–housing ratio is a ratio of the two
//! published counts.
//!
//! Worked example (the unit test `hand_computed_area`): three workers with
//! commutes 1, 4 and 25 km, homes near rail for the first, workplaces near
//! rail for all, two of them young, and two employed residents → mean 10 km,
//! median 4 km, share ≤ 5 km 2/3, share > 20 km 1/3, homes near rail 1/3,
//! jobs near rail 1, young share 2/3, job–housing ratio 3/2 (exact
//! disclosure).

use serde::Serialize;

use crate::analytics::cells::YOUNG_MAX_AGE;
use crate::analytics::filter::Filter;
use crate::analytics::privacy::{Disclosure, Tally};
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
    pub n: Tally,
    /// Commute km summed: the value of `km_fixed`, filled in when the
    /// totals are complete ([`Side::settle`]).
    pub km_sum: f64,
    /// Commute km summed in fixed point (each commute rounded to 2⁻⁴⁰ km),
    /// so the sum does not depend on the order of the commuters and a
    /// commuter taken out leaves exactly the sum without it.
    pub km_fixed: i128,
    pub within_short: Tally,
    pub over_long: Tally,
    pub young: Tally,
    /// Commuters whose home is near rail.
    pub home_near: Tally,
    /// Commuters whose workplace is near rail.
    pub work_near: Tally,
    pub histogram: [Tally; BINS],
    /// Median km, filled in when the totals are complete.
    pub median_km: Option<f64>,
}

impl Side {
    fn add(&mut self, rkey: u32, km: f32, young: bool, home_near: bool, work_near: bool) {
        self.count(km, [young, home_near, work_near], |t| t.add(rkey));
        self.km_fixed += km_fixed(km as f64);
    }

    /// Takes out a commuter [`Side::add`] put in.
    fn sub(&mut self, rkey: u32, km: f32, young: bool, home_near: bool, work_near: bool) {
        self.count(km, [young, home_near, work_near], |t| *t = t.minus(Tally::one(rkey)));
        self.km_fixed -= km_fixed(km as f64);
    }

    /// Calls `change` on every tally a commuter of `km` (young, home and
    /// workplace near rail as the flags say) counts in.
    fn count(&mut self, km: f32, [young, home_near, work_near]: [bool; 3], mut change: impl FnMut(&mut Tally)) {
        let km = km as f64;
        change(&mut self.n);
        for (yes, t) in [
            (km <= SHORT_KM, &mut self.within_short),
            (km > LONG_KM, &mut self.over_long),
            (young, &mut self.young),
            (home_near, &mut self.home_near),
            (work_near, &mut self.work_near),
        ] {
            if yes {
                change(t);
            }
        }
        change(&mut self.histogram[band_of(km)]);
    }

    /// Completes the totals: the km sum's value and the median.
    pub(crate) fn settle(&mut self, median_km: Option<f64>) {
        self.km_sum = self.km_fixed as f64 / KM_FIXED_ONE;
        self.median_km = median_km;
    }
}

const KM_FIXED_ONE: f64 = (1u64 << 40) as f64;

/// A commute in the units of [`Side::km_fixed`].
fn km_fixed(km: f64) -> i128 {
    (km * KM_FIXED_ONE).round() as i128
}

/// The totals of one area.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaCounts {
    /// Talents living in the area.
    pub residents: Tally,
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

/// How many talents a pass over all of them counts between two pause
/// points (`crate::pause`): a few milliseconds' work, so that a moves
/// batch that starts meanwhile waits no longer than that for the core.
const PAUSE_EVERY: usize = 1 << 16;

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
        if i % PAUSE_EVERY == 0 {
            crate::pause::point();
        }
        if !all && !filter.talent(t) {
            continue;
        }
        for r in [t.home_district, t.home_park] {
            if wants(r) {
                areas[r as usize].residents.add(t.rkey);
            }
        }
        if scope.city {
            areas[city].residents.add(t.rkey);
        }
        if !t.has_work() {
            continue;
        }
        let (rk, k, young, hn, wn) = (t.rkey, km[i], t.birth_year >= young_from, home_near.get(i), work_near.get(i));
        for r in [t.work_district, t.work_park] {
            if wants(r) {
                areas[r as usize].jobs.add(rk, k, young, hn, wn);
                jobs_km[r as usize].push(k);
            }
        }
        for r in [t.home_district, t.home_park] {
            if wants(r) {
                areas[r as usize].homes.add(rk, k, young, hn, wn);
                homes_km[r as usize].push(k);
            }
        }
        if scope.city {
            areas[city].jobs.add(rk, k, young, hn, wn);
            jobs_km[city].push(k);
        }
    }
    if scope.city {
        areas[city].homes = areas[city].jobs.clone();
    }
    for (a, (mut j, mut h)) in areas.iter_mut().zip(jobs_km.into_iter().zip(homes_km)) {
        a.jobs.settle(median(&mut j));
        a.homes.settle(median(&mut h));
    }
    if scope.city {
        areas[city].homes.median_km = areas[city].jobs.median_km;
    }
    areas
}

/// The commutes of every area of [`accumulate`]'s unfiltered totals,
/// ascending (as `f32` bits: commutes are not negative, so their bits sort
/// as they do), per slot: what [`patch`] finds the medians in.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Commutes {
    jobs: Vec<Vec<u32>>,
    homes: Vec<Vec<u32>>,
}

/// One talent as [`accumulate`] counts it: its record, its commute and
/// whether its home and workplace are near rail.
pub(crate) type Counted<'a> = (&'a crate::snapshot::TalentRec, f32, bool, bool);

/// The slots a talent's residence, workplace and home as a commuter are
/// counted in, among `regions` regions (the city last; `NONE16` for none).
fn slots_of(t: &crate::snapshot::TalentRec, regions: usize) -> [[u16; 3]; 3] {
    let ok = |r: u16| if (r as usize) < regions { r } else { NONE16 };
    let city = regions as u16;
    let homes = [ok(t.home_district), ok(t.home_park), city];
    let jobs = if t.has_work() { [ok(t.work_district), ok(t.work_park), city] } else { [NONE16; 3] };
    let commuter_homes = if t.has_work() { [ok(t.home_district), ok(t.home_park), NONE16] } else { [NONE16; 3] };
    [homes, jobs, commuter_homes]
}

/// The commutes of [`accumulate`]'s unfiltered totals over `talents`
/// (see [`Commutes`]), sorted once; a patch keeps them sorted.
pub(crate) fn commutes<'a>(talents: impl Iterator<Item = Counted<'a>>, regions: usize) -> Commutes {
    let mut c = Commutes { jobs: vec![Vec::new(); regions + 1], homes: vec![Vec::new(); regions + 1] };
    for (i, (t, km, _, _)) in talents.enumerate() {
        if i % PAUSE_EVERY == 0 {
            crate::pause::point();
        }
        let [_, jobs, homes] = slots_of(t, regions);
        for r in jobs.into_iter().filter(|&r| r != NONE16) {
            c.jobs[r as usize].push(km.to_bits());
        }
        for r in homes.into_iter().filter(|&r| r != NONE16) {
            c.homes[r as usize].push(km.to_bits());
        }
    }
    for v in c.jobs.iter_mut().chain(c.homes.iter_mut()) {
        crate::pause::point();
        v.sort_unstable();
    }
    c
}

/// The median of ascending `f32` bits, as [`median`] gives it.
fn median_of_sorted(v: &[u32]) -> Option<f64> {
    let (len, mid) = (v.len(), v.len() / 2);
    let m = f64::from(f32::from_bits(*v.get(mid)?));
    if len % 2 == 1 { Some(m) } else { Some((f64::from(f32::from_bits(v[mid - 1])) + m) / 2.0) }
}

/// `list` (ascending) without the values `gone` and with `came` (both
/// ascending; each gone value is in the list).
fn merged(list: &[u32], gone: &[u32], came: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(list.len() + came.len() - gone.len().min(list.len() + came.len()));
    let (mut gone, mut came) = (gone.iter().peekable(), came.iter().peekable());
    for &v in list {
        while let Some(&c) = came.next_if(|&&c| c < v) {
            out.push(c);
        }
        if gone.next_if(|&&g| g == v).is_some() {
            continue;
        }
        out.push(v);
    }
    out.extend(came);
    out
}

/// [`accumulate`]'s unfiltered totals (every region and the city) and
/// their [`Commutes`] after the talents `gone` were taken out and `came`
/// put in, from `areas` and `commutes` before: the same totals and
/// medians as counting every talent again (checked by tests).
pub(crate) fn patch(
    (areas, commutes): (&[AreaCounts], &Commutes),
    gone: &[Counted<'_>],
    came: &[Counted<'_>],
    young_from: u16,
) -> (Vec<AreaCounts>, Commutes) {
    let regions = areas.len() - 1;
    let mut areas = areas.to_vec();
    let (mut gone_km, mut came_km) = (Commutes::default(), Commutes::default());
    for lists in [&mut gone_km, &mut came_km] {
        (lists.jobs, lists.homes) = (vec![Vec::new(); regions + 1], vec![Vec::new(); regions + 1]);
    }
    for (list, into, lists) in [(gone, false, &mut gone_km), (came, true, &mut came_km)] {
        for &(t, km, hn, wn) in list {
            let [homes, jobs, commuter_homes] = slots_of(t, regions);
            for r in homes.into_iter().filter(|&r| r != NONE16) {
                let residents = &mut areas[r as usize].residents;
                if into {
                    residents.add(t.rkey);
                } else {
                    *residents = residents.minus(Tally::one(t.rkey));
                }
            }
            let young = t.birth_year >= young_from;
            for (slots, homes) in [(jobs, false), (commuter_homes, true)] {
                for r in slots.into_iter().filter(|&r| r != NONE16) {
                    let side = if homes { &mut areas[r as usize].homes } else { &mut areas[r as usize].jobs };
                    if into {
                        side.add(t.rkey, km, young, hn, wn);
                    } else {
                        side.sub(t.rkey, km, young, hn, wn);
                    }
                    let sorted = if homes { &mut lists.homes } else { &mut lists.jobs };
                    sorted[r as usize].push(km.to_bits());
                }
            }
        }
    }
    let mut out = Commutes::default();
    for (a, r) in areas.iter_mut().zip(0..) {
        crate::pause::point();
        fn pick(c: &Commutes, homes: bool, r: usize) -> &Vec<u32> {
            if homes { &c.homes[r] } else { &c.jobs[r] }
        }
        let side_of = |homes: bool| {
            let (mut gone, mut came) = (pick(&gone_km, homes, r).clone(), pick(&came_km, homes, r).clone());
            gone.sort_unstable();
            came.sort_unstable();
            merged(pick(commutes, homes, r), &gone, &came)
        };
        let (jobs, homes) = (side_of(false), side_of(true));
        a.jobs.settle(median_of_sorted(&jobs));
        a.homes.settle(median_of_sorted(&homes));
        out.jobs.push(jobs);
        out.homes.push(homes);
    }
    // The city's commuters are counted as jobs; its homes are the same.
    areas[regions].homes = areas[regions].jobs.clone();
    (areas, out)
}

/// Totals of one area given by membership tests (a study area: where a
/// talent `lives` and `works`), one pass over all talents; the same
/// counting as [`accumulate`] for a region.
pub(crate) fn accumulate_place(
    snap: &Snapshot,
    km: &[f32],
    home_near: &BitSet,
    work_near: &BitSet,
    lives: &dyn Fn(&crate::snapshot::TalentRec) -> bool,
    works: &dyn Fn(&crate::snapshot::TalentRec) -> bool,
) -> AreaCounts {
    let mut area = AreaCounts::default();
    let (mut jobs_km, mut homes_km) = (Vec::new(), Vec::new());
    let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
    for (i, t) in snap.talents.iter().enumerate() {
        let home = lives(t);
        if home {
            area.residents.add(t.rkey);
        }
        if !t.has_work() {
            continue;
        }
        let (rk, k, young, hn, wn) = (t.rkey, km[i], t.birth_year >= young_from, home_near.get(i), work_near.get(i));
        if works(t) {
            area.jobs.add(rk, k, young, hn, wn);
            jobs_km.push(k);
        }
        if home {
            area.homes.add(rk, k, young, hn, wn);
            homes_km.push(k);
        }
    }
    area.jobs.settle(median(&mut jobs_km));
    area.homes.settle(median(&mut homes_km));
    area
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
    /// Residents with a workplace (published value).
    pub count: Option<u64>,
    /// `null` unless the group is large enough to describe.
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
    /// Talents working in the area (published value: exact or perturbed).
    pub workers: Option<u64>,
    /// Talents living in the area.
    pub residents: Option<u64>,
    /// Residents with a workplace.
    pub resident_workers: Option<u64>,
    /// Mean, median and shares of the workers: `null` unless the group is
    /// large enough to describe (at least 20 workers for perturbed answers).
    pub mean_commute_km: Option<f64>,
    pub median_commute_km: Option<f64>,
    pub share_within_5km: Option<f64>,
    pub share_over_20km: Option<f64>,
    pub share_homes_near_rail: Option<f64>,
    pub share_jobs_near_rail: Option<f64>,
    /// Published workers ÷ published resident workers (`null` when the
    /// latter is 0).
    pub job_housing_ratio: Option<f64>,
    pub young_workers: Option<u64>,
    pub young_share: Option<f64>,
    /// Workers per distance band (each band its own published count); empty
    /// when the published `workers` is zero.
    pub histogram: Vec<Band>,
    pub residents_commute: ResidentsCommute,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Published `part / whole` rounded to 4 decimals (at most 1), when `whole`
/// is published positive.
fn share(d: Disclosure, part: Tally, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round((d.count(part) as f64 / whole as f64).min(1.0), 4))
}

/// The served indicators of an area's totals under `disclosure`.
pub fn summarize(c: &AreaCounts, d: Disclosure) -> Summary {
    let j = &c.jobs;
    let h = &c.homes;
    let workers = d.count(j.n);
    let resident_workers = d.count(h.n);
    let histogram = if workers > 0 {
        HISTOGRAM_EDGES_KM
            .iter()
            .enumerate()
            .map(|(i, &from_km)| Band {
                from_km,
                to_km: HISTOGRAM_EDGES_KM.get(i + 1).copied(),
                count: d.count(j.histogram[i]),
            })
            .collect()
    } else {
        Vec::new()
    };
    let ratio = (resident_workers > 0).then(|| round(workers as f64 / resident_workers as f64, 4));
    let jobs_described = d.describes(j.n) && workers > 0;
    let homes_described = d.describes(h.n) && resident_workers > 0;
    let jobs_share = |part: Tally| share(d, part, workers).filter(|_| jobs_described);
    let homes_share = |part: Tally| share(d, part, resident_workers).filter(|_| homes_described);
    Summary {
        id: None,
        name: None,
        kind: None,
        workers: Some(workers),
        residents: Some(d.count(c.residents)),
        resident_workers: Some(resident_workers),
        mean_commute_km: jobs_described.then(|| round(j.km_sum / j.n.n as f64, 3)),
        median_commute_km: j.median_km.filter(|_| jobs_described).map(|m| round(m, 3)),
        share_within_5km: jobs_share(j.within_short),
        share_over_20km: jobs_share(j.over_long),
        share_homes_near_rail: jobs_share(j.home_near),
        share_jobs_near_rail: jobs_share(j.work_near),
        job_housing_ratio: ratio,
        young_workers: Some(d.count(j.young)),
        young_share: jobs_share(j.young),
        histogram,
        residents_commute: ResidentsCommute {
            count: Some(resident_workers),
            mean_km: homes_described.then(|| round(h.km_sum / h.n.n as f64, 3)),
            median_km: h.median_km.filter(|_| homes_described).map(|m| round(m, 3)),
            share_within_5km: homes_share(h.within_short),
            share_over_20km: homes_share(h.over_long),
            share_homes_near_rail: homes_share(h.home_near),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_commutes_merge_and_give_the_median_of_a_select() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        let list = bits(&[0.5, 1.0, 1.0, 4.0, 25.0]);
        let out = merged(&list, &bits(&[1.0, 25.0]), &bits(&[0.25, 1.0, 30.0]));
        assert_eq!(out, bits(&[0.25, 0.5, 1.0, 1.0, 4.0, 30.0]));
        for v in [vec![3.0f32], vec![6.0, 2.0], vec![1.0, 25.0, 4.0, 4.5], vec![]] {
            let mut sorted = bits(&v);
            sorted.sort_unstable();
            assert_eq!(median_of_sorted(&sorted), median(&mut v.clone()), "{v:?}");
        }
    }

    #[test]
    fn hand_computed_area() {
        let mut c = AreaCounts { residents: Tally { n: 2, key: 7 }, ..AreaCounts::default() };
        c.jobs.add(11, 1.0, true, true, true);
        c.jobs.add(12, 4.0, true, false, true);
        c.jobs.add(13, 25.0, false, false, true);
        c.jobs.settle(median(&mut [1.0, 25.0, 4.0]));
        c.homes.add(21, 2.0, false, false, false);
        c.homes.add(22, 6.0, false, true, false);
        c.homes.settle(median(&mut [6.0, 2.0]));
        let s = summarize(&c, Disclosure::Exact);
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

        // Perturbed with k = 5: no count in 1..4 (each band is its own
        // tally), and nothing describes a group of three.
        let s = summarize(&c, Disclosure::Protected { k: 5 });
        for v in [s.workers, s.residents, s.resident_workers, s.young_workers].into_iter().flatten() {
            assert!(v == 0 || v >= 5, "{v}");
        }
        assert!(s.histogram.iter().all(|b| b.count == 0 || b.count >= 5));
        assert_eq!(
            (s.mean_commute_km, s.median_commute_km, s.share_within_5km, s.young_share),
            (None, None, None, None)
        );
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
