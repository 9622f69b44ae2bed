//! Commute and job–housing analytics: where each area's workers live, how far
//! they travel, and which parks transit fails.
//!
//! Everything that does not depend on the request is computed once per
//! snapshot into a [`CommuteIndex`] (built on first use, in parallel): the
//! commute of every talent with a workplace (`f32` km), whether each home and
//! each workplace lies within 800 m of a rail or metro station (two bitsets),
//! the talents with a workplace in workplace-key order (for heat tiles of
//! where residents work), the unfiltered indicators of every district, park
//! and the city, the origin–destination matrices, and each park's nearest
//! station. Requests without filters then only format numbers; requests with
//! filters make one pass over the talents (about 10 ns per talent).
//!
//! | file | concept |
//! |---|---|
//! | [`distance`] | haversine commute distance, the [`distance::CommuteDistance`] trait for network distance later |
//! | [`stations`] | nearest rail station and station catchments in ground metres |
//! | [`indicators`] | per-area indicators (tallies of record keys) and how they are published |
//! | [`flows`] | origin–destination flows between districts and parks |
//! | [`underserved`] | the underserved-park score and ranking |
//! | [`scenario`] | what-if stations and shuttle stops |
//! | [`heat`] | job–housing heat cells for a tile |

pub mod distance;
pub mod flows;
pub mod heat;
pub mod indicators;
mod saved;
pub mod scenario;
pub mod stations;
pub mod underserved;

use std::sync::Arc;
use std::time::Instant;

use crate::analytics::filter::Filter;
use crate::model::RegionKind;
use crate::snapshot::patch::Renumbered;
use crate::snapshot::{NO_KEY, NONE32, Snapshot, key_to_lonlat};

use distance::{CommuteDistance, Haversine};
use flows::{Flow, FlowLevel};
use indicators::{AreaCounts, Scope};
use stations::{Circle, StationSet, WALK_RADIUS_M};
use underserved::NearestStation;

/// A fixed-size set of talent positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    /// An empty set for positions `0..n`.
    pub fn new(n: usize) -> BitSet {
        BitSet(vec![0; n.div_ceil(64)])
    }
    /// Whether `i` is in the set (`false` beyond the end).
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
    }
    /// Adds `i`; `true` when it was not in the set before.
    pub fn insert(&mut self, i: usize) -> bool {
        let Some(w) = self.0.get_mut(i >> 6) else { return false };
        let bit = 1u64 << (i & 63);
        let new = *w & bit == 0;
        *w |= bit;
        new
    }
    pub fn count(&self) -> u64 {
        self.0.iter().map(|w| w.count_ones() as u64).sum()
    }
}

/// Per-snapshot commute data (see the module documentation).
pub struct CommuteIndex {
    method: &'static str,
    /// Commute km per talent (NaN without a workplace).
    pub(crate) km: Vec<f32>,
    /// Talents whose home is within 800 m of a rail or metro station.
    pub(crate) home_near: BitSet,
    /// Talents whose workplace is within 800 m of a rail or metro station.
    pub(crate) work_near: BitSet,
    /// Rail and metro stations.
    pub(crate) rail: StationSet,
    /// Positions in `Snapshot::stations` of the points of `rail`.
    rail_ids: Vec<u32>,
    /// Per region position: the talents working in it when it is a park
    /// (empty otherwise), ascending, i.e. in home-key order.
    pub(crate) park_workers: Vec<Vec<u32>>,
    /// Talents of each enterprise, ascending (home-key order): those of
    /// enterprise `e` are `enterprise_talents[enterprise_start[e]..enterprise_start[e + 1]]`.
    enterprise_start: Vec<u32>,
    enterprise_talents: Vec<u32>,
    /// Unfiltered totals: slot `i` is region `i`, the last slot the city.
    pub(crate) areas: Vec<AreaCounts>,
    flows_district: Vec<Flow>,
    flows_park: Vec<Flow>,
    /// Nearest rail station of each park (by region position; `None` for
    /// other regions or without stations).
    pub(crate) park_nearest: Vec<Option<NearestStation>>,
    /// The commutes of each area, sorted, for the medians of the next
    /// moves batch's index ([`CommuteIndex::follow`]); kept from the first
    /// index that follows a batch on.
    commutes: Option<indicators::Commutes>,
    /// Milliseconds the build took.
    pub build_ms: u64,
}

impl CommuteIndex {
    /// Builds the index with straight-line ([`Haversine`]) commutes.
    pub fn build(snap: &Snapshot) -> CommuteIndex {
        CommuteIndex::build_with(snap, &Haversine)
    }

    /// Builds the index measuring commutes with `distance`.
    ///
    /// Cost: one distance per talent with a workplace (spread over the
    /// machine's cores), one catchment query per rail station (homes and
    /// workplaces as runs of the records and of the snapshot's workplace
    /// order) and one pass for the totals, beside the workers of each park
    /// and enterprise and the home–work flows on a second thread.
    pub fn build_with(snap: &Snapshot, distance: &dyn CommuteDistance) -> CommuteIndex {
        let started = Instant::now();
        let mut phases = crate::timing::Phases::start();
        let km = commute_km(snap, distance);
        phases.mark("distances");

        let (mut rail_points, mut rail_ids) = (Vec::new(), Vec::new());
        for (i, s) in snap.stations.iter().enumerate() {
            if s.mode.is_rail() {
                rail_points.push([s.lon, s.lat]);
                rail_ids.push(i as u32);
            }
        }
        let rail = StationSet::new(rail_points);
        // Two independent halves on two threads: the catchments and the
        // area totals that need them; the workers of each park and
        // enterprise, and the home–work flows.
        let ((home_near, work_near, areas), ((park_workers, enterprise_start, enterprise_talents), flows)) =
            std::thread::scope(|s| {
                let other = s.spawn(|| {
                    let started = Instant::now();
                    let workers = workers_of(snap);
                    let district = flows::od(snap, FlowLevel::District, &Filter::default());
                    let park = flows::od(snap, FlowLevel::Park, &Filter::default());
                    tracing::debug!(
                        ms = started.elapsed().as_millis() as u64,
                        "commute index: workers, home-work flows"
                    );
                    (workers, (district, park))
                });
                let n = snap.talents.len();
                let (mut home_near, mut work_near) = (BitSet::new(n), BitSet::new(n));
                for i in 0..rail.len() as u32 {
                    mark_catchment(snap, rail.point(i), WALK_RADIUS_M, &mut home_near, &mut work_near, |_, _| {});
                }
                let areas = indicators::accumulate(
                    snap,
                    &km,
                    &home_near,
                    &work_near,
                    &Filter::default(),
                    &Scope { wants: &|_| true, city: true },
                );
                let rest = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                ((home_near, work_near, areas), rest)
            });
        let (flows_district, flows_park) = flows;
        phases.mark("catchments and area totals, beside workers and flows");
        tracing::debug!(talents = snap.talents.len(), phases = %phases, "commute index built");
        let park_nearest = snap
            .regions
            .iter()
            .map(|r| {
                if r.kind != RegionKind::Park {
                    return None;
                }
                rail.nearest(r.centre).map(|(i, metres)| NearestStation {
                    name: snap.stations[rail_ids[i as usize] as usize].name.clone(),
                    name_en: snap.stations[rail_ids[i as usize] as usize].name_en.clone(),
                    metres,
                    hypothetical: false,
                })
            })
            .collect();
        CommuteIndex {
            method: distance.method(),
            km,
            home_near,
            work_near,
            rail,
            rail_ids,
            park_workers,
            enterprise_start,
            enterprise_talents,
            areas,
            flows_district,
            flows_park,
            park_nearest,
            commutes: None,
            build_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// The index of `snap`, made by moves batches' patches from the
    /// snapshot `before` was built for (`steps`, oldest first, say where
    /// each record went in each batch), with straight-line commutes, batch
    /// by batch: the commutes and station catchments of the records that
    /// stayed carried to their new positions and those of the records put
    /// in measured; the workers of each park and enterprise renumbered with
    /// the new ones merged in; the area totals and home–work flows changed
    /// by the records taken out and put in, each area's commutes kept
    /// sorted for its median (counted again the first time, when `before`
    /// does not keep them). Equal to [`CommuteIndex::build`] of `snap`
    /// (checked by tests) at a fraction of its cost. `None` when `before`
    /// measures commutes another way or its positions do not match.
    pub fn follow(before: &CommuteIndex, snap: &Snapshot, steps: &[Arc<Renumbered>]) -> Option<CommuteIndex> {
        // Counted again (not patched) only where the totals' commutes are
        // not kept, which needs the last step's snapshot.
        if before.commutes.is_none() && steps.len() != 1 {
            return None;
        }
        let started = Instant::now();
        let mut index: Option<CommuteIndex> = None;
        for step in steps {
            let next = Self::step(index.as_ref().unwrap_or(before), snap, step)?;
            index = Some(next);
        }
        let mut index = index?;
        index.build_ms = started.elapsed().as_millis() as u64;
        Some(index)
    }

    /// One batch of [`CommuteIndex::follow`]: the index after `renumbered`
    /// from `before`, the records put in read from `renumbered`, the
    /// regions, enterprises and stations from `snap` (a batch does not
    /// change them).
    fn step(before: &CommuteIndex, snap: &Snapshot, renumbered: &Renumbered) -> Option<CommuteIndex> {
        if before.method != Haversine.method()
            || before.km.len() != renumbered.moved_to.len()
            || renumbered.placed.len() != renumbered.placed_records.len()
        {
            return None;
        }
        let n = before.km.len() - renumbered.taken.len() + renumbered.placed.len();
        let mut phases = crate::timing::Phases::start();
        let (mut km, mut home_near, mut work_near) = (vec![f32::NAN; n], BitSet::new(n), BitSet::new(n));
        for (i, &to) in renumbered.moved_to.iter().enumerate() {
            if to == NONE32 {
                continue;
            }
            let to = to as usize;
            km[to] = before.km[i];
            if before.home_near.get(i) {
                home_near.insert(to);
            }
            if before.work_near.get(i) {
                work_near.insert(to);
            }
        }
        let circles: Vec<Circle> =
            (0..before.rail.len() as u32).map(|i| Circle::new(before.rail.point(i), WALK_RADIUS_M)).collect();
        let near = |key: u64| circles.iter().any(|c| c.holds(key));
        for (&at, t) in renumbered.placed.iter().zip(&renumbered.placed_records) {
            let at = at as usize;
            if near(t.home) {
                home_near.insert(at);
            }
            if t.work != NO_KEY {
                km[at] = Haversine.km(key_to_lonlat(t.home), key_to_lonlat(t.work)) as f32;
                if near(t.work) {
                    work_near.insert(at);
                }
            }
        }
        phases.mark("commutes and catchments carried");
        crate::pause::point();
        let gone: Vec<indicators::Counted<'_>> = renumbered
            .taken
            .iter()
            .zip(&renumbered.taken_records)
            .map(|(&i, t)| {
                (t, before.km[i as usize], before.home_near.get(i as usize), before.work_near.get(i as usize))
            })
            .collect();
        let came: Vec<indicators::Counted<'_>> = renumbered
            .placed
            .iter()
            .zip(&renumbered.placed_records)
            .map(|(&at, t)| (t, km[at as usize], home_near.get(at as usize), work_near.get(at as usize)))
            .collect();
        // The area totals patched when `before` keeps its areas' commutes
        // sorted; counted again (and the commutes sorted, for the next
        // batch) the first time.
        let (areas, commutes) = match &before.commutes {
            Some(commutes) => {
                let young_from = snap.reference_year.saturating_sub(crate::analytics::cells::YOUNG_MAX_AGE);
                indicators::patch((&before.areas, commutes), &gone, &came, young_from)
            }
            None if snap.talents.len() == n => std::thread::scope(|s| {
                // Pausing where this thread pauses.
                let waits_for = crate::pause::current();
                let (km, home_near, work_near) = (&km, &home_near, &work_near);
                let every = s.spawn(move || {
                    crate::pause::within(waits_for.as_ref(), || {
                        let all = snap.talents.iter().enumerate();
                        let all = all.map(|(i, t)| (t, km[i], home_near.get(i), work_near.get(i)));
                        indicators::commutes(all, snap.regions.len())
                    })
                });
                let scope = Scope { wants: &|_| true, city: true };
                let areas = indicators::accumulate(snap, km, home_near, work_near, &Filter::default(), &scope);
                (areas, every.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            }),
            None => return None,
        };
        phases.mark("area totals");
        crate::pause::point();
        let (gone_records, came_records) = (|| gone.iter().map(|c| c.0), || came.iter().map(|c| c.0));
        let flows_district =
            flows::od_patched(&before.flows_district, FlowLevel::District, gone_records(), came_records());
        let flows_park = flows::od_patched(&before.flows_park, FlowLevel::Park, gone_records(), came_records());
        let (park_workers, enterprise_start, enterprise_talents) = workers_renumbered(before, snap, renumbered);
        phases.mark("home-work flows and workers");
        tracing::debug!(talents = n, phases = %phases, "commute index followed");
        Some(CommuteIndex {
            method: before.method,
            km,
            home_near,
            work_near,
            rail: before.rail.clone(),
            rail_ids: before.rail_ids.clone(),
            park_workers,
            enterprise_start,
            enterprise_talents,
            areas,
            flows_district,
            flows_park,
            park_nearest: before.park_nearest.clone(),
            commutes: Some(commutes),
            build_ms: 0,
        })
    }

    /// Whether this index was followed from an earlier snapshot's
    /// ([`Self::follow`]; it then keeps each area's commutes sorted).
    pub fn was_followed(&self) -> bool {
        self.commutes.is_some()
    }

    /// The parts in which this index and `other` differ (none for the
    /// same index, however it was made; its build time aside).
    pub fn differences(&self, other: &CommuteIndex) -> Vec<&'static str> {
        let bits = |km: &[f32]| km.iter().map(|k| k.to_bits()).collect::<Vec<_>>();
        [
            ("method", self.method == other.method),
            ("km", bits(&self.km) == bits(&other.km)),
            ("home_near", self.home_near == other.home_near),
            ("work_near", self.work_near == other.work_near),
            ("rail", self.rail_ids == other.rail_ids),
            ("park_workers", self.park_workers == other.park_workers),
            ("enterprise_start", self.enterprise_start == other.enterprise_start),
            ("enterprise_talents", self.enterprise_talents == other.enterprise_talents),
            ("areas", self.areas == other.areas),
            ("flows_district", self.flows_district == other.flows_district),
            ("flows_park", self.flows_park == other.flows_park),
            ("park_nearest", self.park_nearest == other.park_nearest),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect()
    }

    /// How commutes are measured (`"haversine"`).
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// Commute km of talent `i` (its position in `Snapshot::talents`), or
    /// `None` without a workplace.
    pub fn commute_km(&self, i: usize) -> Option<f32> {
        self.km.get(i).copied().filter(|k| !k.is_nan())
    }

    /// Whether talent `i` lives within 800 m of a rail or metro station.
    /// Public so that `tests/commute.rs` can check the catchments against a
    /// brute-force scan.
    pub fn home_near_rail(&self, i: usize) -> bool {
        self.home_near.get(i)
    }

    /// Whether talent `i` works within 800 m of a rail or metro station
    /// (public for the same check).
    pub fn work_near_rail(&self, i: usize) -> bool {
        self.work_near.get(i)
    }

    /// The rail or metro station nearest to `[lon, lat]`: its position in
    /// `Snapshot::stations` and the ground distance in metres.
    pub fn nearest_rail(&self, at: [f64; 2]) -> Option<(u32, f64)> {
        self.rail.nearest(at).map(|(i, m)| (self.rail_ids[i as usize], m))
    }

    /// Unfiltered totals of region `r` (or of the city for `None`).
    pub fn area(&self, r: Option<u16>) -> &AreaCounts {
        let city = self.areas.len() - 1;
        &self.areas[r.map_or(city, |r| (r as usize).min(city))]
    }

    /// Totals of every district (and the city, last) for talents matching
    /// `filter`; precomputed when the filter is empty.
    pub fn districts(&self, snap: &Snapshot, filter: &Filter) -> Vec<AreaCounts> {
        if filter.is_empty() {
            return self.areas.clone();
        }
        let wants = |r: u16| snap.regions[r as usize].kind == RegionKind::District;
        indicators::accumulate(
            snap,
            &self.km,
            &self.home_near,
            &self.work_near,
            filter,
            &Scope { wants: &wants, city: true },
        )
    }

    /// Totals of region `r` for talents matching `filter`; precomputed when
    /// the filter is empty.
    pub fn area_filtered(&self, snap: &Snapshot, r: u16, filter: &Filter) -> AreaCounts {
        if filter.is_empty() {
            return self.area(Some(r)).clone();
        }
        let wants = |x: u16| x == r;
        let mut all = indicators::accumulate(
            snap,
            &self.km,
            &self.home_near,
            &self.work_near,
            filter,
            &Scope { wants: &wants, city: false },
        );
        all.swap_remove(r as usize)
    }

    /// Totals of an area given by membership tests (a study area).
    pub fn place(
        &self,
        snap: &Snapshot,
        lives: &dyn Fn(&crate::snapshot::TalentRec) -> bool,
        works: &dyn Fn(&crate::snapshot::TalentRec) -> bool,
    ) -> AreaCounts {
        indicators::accumulate_place(snap, &self.km, &self.home_near, &self.work_near, lives, works)
    }

    /// Origin–destination flows at `level` for talents matching `filter`;
    /// precomputed when the filter is empty.
    pub fn flows(&self, snap: &Snapshot, level: FlowLevel, filter: &Filter) -> std::borrow::Cow<'_, [Flow]> {
        match (filter.is_empty(), level) {
            (true, FlowLevel::District) => std::borrow::Cow::Borrowed(&self.flows_district),
            (true, FlowLevel::Park) => std::borrow::Cow::Borrowed(&self.flows_park),
            (false, _) => std::borrow::Cow::Owned(flows::od(snap, level, filter)),
        }
    }

    /// The underserved-park ranking on this snapshot, counts published
    /// under `disclosure` (see [`underserved`]).
    pub fn underserved(
        &self,
        snap: &Snapshot,
        disclosure: crate::analytics::privacy::Disclosure,
    ) -> Vec<underserved::Underserved> {
        underserved::rank(snap, &self.areas, &self.park_nearest, disclosure)
    }

    /// Talents employed by enterprise `e` (position in
    /// `Snapshot::enterprises`), in home-key order.
    pub fn enterprise_talents(&self, e: u32) -> &[u32] {
        let e = e as usize;
        match (self.enterprise_start.get(e), self.enterprise_start.get(e + 1)) {
            (Some(&a), Some(&b)) => &self.enterprise_talents[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Approximate heap bytes of the index.
    pub fn heap_bytes(&self) -> usize {
        let lists: usize = self.park_workers.iter().map(|l| l.capacity()).sum();
        (self.km.capacity() + lists) * 4
            + (self.enterprise_start.capacity() + self.enterprise_talents.capacity()) * 4
            + (self.home_near.0.len() + self.work_near.0.len()) * 8
    }
}

/// [`workers_of`] `snap` from those of `before` (the index of the
/// snapshot a moves batch was applied to): every list renumbered (a
/// renumbering keeps the order of the records that stay), the records put
/// in merged in.
fn workers_renumbered(
    before: &CommuteIndex,
    snap: &Snapshot,
    renumbered: &Renumbered,
) -> (Vec<Vec<u32>>, Vec<u32>, Vec<u32>) {
    let mut new_in_park: Vec<Vec<u32>> = vec![Vec::new(); snap.regions.len()];
    let mut new_in_enterprise: Vec<(u32, u32)> = Vec::new();
    for (&at, t) in renumbered.placed.iter().zip(&renumbered.placed_records) {
        if let Some(park) = new_in_park.get_mut(t.work_park as usize)
            && t.has_work()
            && snap.regions[t.work_park as usize].kind == RegionKind::Park
        {
            park.push(at);
        }
        if (t.enterprise as usize) < snap.enterprises.len() {
            new_in_enterprise.push((t.enterprise, at));
        }
    }
    new_in_enterprise.sort_unstable();
    let park_workers = before
        .park_workers
        .iter()
        .zip(&new_in_park)
        .map(|(list, added)| {
            let mut out = Vec::with_capacity(list.len() + added.len());
            renumbered.renumber_into(list, added, &mut out);
            out.shrink_to_fit();
            out
        })
        .collect();
    let enterprises = snap.enterprises.len();
    let mut enterprise_start = Vec::with_capacity(enterprises + 1);
    let mut enterprise_talents = Vec::with_capacity(before.enterprise_talents.len() + new_in_enterprise.len());
    let mut added = new_in_enterprise.chunk_by(|a, b| a.0 == b.0).peekable();
    let mut scratch = Vec::new();
    for e in 0..enterprises {
        enterprise_start.push(enterprise_talents.len() as u32);
        scratch.clear();
        if let Some(run) = added.next_if(|run| run[0].0 as usize == e) {
            scratch.extend(run.iter().map(|&(_, at)| at));
        }
        renumbered.renumber_into(before.enterprise_talents(e as u32), &scratch, &mut enterprise_talents);
    }
    enterprise_start.push(enterprise_talents.len() as u32);
    (park_workers, enterprise_start, enterprise_talents)
}

/// The workers of each park (by region position; empty for other
/// regions) and of each enterprise (`starts`, `talents` as in
/// [`CommuteIndex`]), ascending.
fn workers_of(snap: &Snapshot) -> (Vec<Vec<u32>>, Vec<u32>, Vec<u32>) {
    let mut park_workers: Vec<Vec<u32>> = vec![Vec::new(); snap.regions.len()];
    let mut enterprise_start = vec![0u32; snap.enterprises.len() + 1];
    for t in &snap.talents {
        if let Some(c) = enterprise_start.get_mut(t.enterprise as usize + 1) {
            *c += 1;
        }
    }
    for e in 1..enterprise_start.len() {
        enterprise_start[e] += enterprise_start[e - 1];
    }
    let mut enterprise_talents = vec![0u32; enterprise_start.last().copied().unwrap_or(0) as usize];
    let mut fill = enterprise_start.clone();
    for (i, t) in snap.talents.iter().enumerate() {
        if let Some(park) = park_workers.get_mut(t.work_park as usize)
            && t.has_work()
        {
            park.push(i as u32);
        }
        if let Some(at) = fill.get_mut(t.enterprise as usize) {
            enterprise_talents[*at as usize] = i as u32;
            *at += 1;
        }
    }
    for (r, list) in snap.regions.iter().zip(park_workers.iter_mut()) {
        if r.kind != RegionKind::Park {
            list.clear();
        }
        list.shrink_to_fit();
    }
    (park_workers, enterprise_start, enterprise_talents)
}

fn commute_km(snap: &Snapshot, distance: &dyn CommuteDistance) -> Vec<f32> {
    let mut km = vec![f32::NAN; snap.talents.len()];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).max(1);
    let chunk = snap.talents.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (talents, out) in snap.talents.chunks(chunk).zip(km.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (t, o) in talents.iter().zip(out.iter_mut()) {
                    if t.work != NO_KEY {
                        *o = distance.km(key_to_lonlat(t.home), key_to_lonlat(t.work)) as f32;
                    }
                }
            });
        }
    });
    km
}

/// Adds to `home_near` / `work_near` the talents whose home / workplace lies
/// within `radius_m` of `centre`, calling `newly(talent, is_home)` for each
/// one not in the set before.
pub(crate) fn mark_catchment(
    snap: &Snapshot,
    centre: [f64; 2],
    radius_m: f64,
    home_near: &mut BitSet,
    work_near: &mut BitSet,
    mut newly: impl FnMut(usize, bool),
) {
    let circle = Circle::new(centre, radius_m);
    circle.each_within(
        &snap.talents,
        |t| t.home,
        |i| {
            if home_near.insert(i) {
                newly(i, true);
            }
        },
    );
    circle.each_within(
        &snap.by_work,
        |&i| snap.talents[i as usize].work,
        |at| {
            let i = snap.by_work[at] as usize;
            if work_near.insert(i) {
                newly(i, false);
            }
        },
    );
}
