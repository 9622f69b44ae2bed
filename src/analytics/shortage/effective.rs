//! The commuting catchment of one query (field, narrowing, radius, decay),
//! computed from the per-field lists of the [`Basis`] and memoised with the
//! snapshot, so a ranking or tile request never recomputes it and never
//! scans the city.
//!
//! Seekers of the field are binned to grid cells of level
//! [`SEEKER_CELL_LEVEL`] (about 1 km) at their centroid; vacancy rows are
//! merged into sites, one per enterprise position. [`two_step`] then gives
//! every site its accessible seekers per opening `A_j`, and the site's
//! effective supply `O_j · A_j` is summed into its district and park.
//!
//! Privacy: every seeker point keeps the [`Tally`] of its seekers, and
//! every site the tally of the seekers within its reach ([`Site::reach`],
//! merged in the same pass as `A_j`). An allocation to a set of sites (a
//! district, a park, a cell) is published with
//! [`super::index::published_allocation`] under the **reach key** of the
//! set: the sites' reach tallies merged (a seeker within reach of two sites
//! counts twice). It is summed like the allocation itself, in one pass, and
//! depends only on the sites and the seekers around them, so the same sites
//! get the same number wherever they are summed. The seekers allocated
//! city-wide and those out of reach are plain counts with their tallies.

use std::sync::Arc;

use super::basis::{Basis, DemandRec, Narrow, SeekerRec};
use super::catchment::{Decay, SEEKER_CELL_LEVEL, WeightedPoint, two_step_keyed};
use crate::analytics::privacy::Tally;
use crate::snapshot::{NONE16, Snapshot, key_to_unit};
use crate::spatial::morton;

/// One vacancy site: the openings of a field at one position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    pub key: u64,
    /// First enterprise at the position.
    pub enterprise: u32,
    pub openings: f64,
    /// `A_j`: accessible seekers per opening.
    pub access: f64,
    pub district: u16,
    pub park: u16,
    /// The seekers within reach of the site (secret cell key; the count
    /// is not published).
    pub reach: Tally,
}

impl Site {
    /// Effective supply `O_j · A_j`.
    pub fn effective_supply(&self) -> f64 {
        self.openings * self.access
    }
}

/// The catchment result of one query.
#[derive(Debug, Clone)]
pub struct FieldCatchment {
    /// Sites sorted by key.
    pub sites: Vec<Site>,
    /// Effective supply per region index (districts and parks).
    pub by_region: Vec<f64>,
    /// Openings over all sites.
    pub demand: f64,
    /// Seekers allocated to some opening (`Σ_j O_j A_j`).
    pub allocated: f64,
    /// Seekers with no opening in reach.
    pub unreached: f64,
    /// Seeker points (grid cells) used.
    pub seeker_points: usize,
    /// The seekers allocated to some opening (`allocated` as a count).
    pub reached_tally: Tally,
    /// The seekers with no opening in reach.
    pub unreached_tally: Tally,
    /// Per region index: the reach key of the region's sites (their
    /// [`Site::reach`] merged).
    pub region_reach: Vec<Tally>,
}

impl FieldCatchment {
    /// Sites whose key lies in a range (a tile or a cell).
    pub fn sites_in(&self, keys: std::ops::Range<u64>) -> &[Site] {
        let a = self.sites.partition_point(|s| s.key < keys.start);
        let b = self.sites.partition_point(|s| s.key < keys.end);
        &self.sites[a..b]
    }

    /// The reach key of a set of sites: their [`Site::reach`] merged.
    pub fn reach_of(sites: &[Site]) -> Tally {
        sites.iter().map(|s| s.reach).sum()
    }
}

/// The catchment parameters, part of the memo key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchmentParams {
    pub radius_m: f64,
    pub decay: Decay,
}

/// Computes the catchment of `field` under `narrow`.
pub fn compute(snap: &Snapshot, basis: &Basis, field: u8, narrow: Narrow, p: CatchmentParams) -> FieldCatchment {
    let (seekers, rows) = (basis.seekers(snap, field), basis.demand(snap, field));
    compute_from(seekers.iter(), rows.iter(), snap.regions.len(), narrow, p)
}

/// [`compute`] over one field's seekers and open vacancy rows (both in key
/// order), with `regions` region indices.
pub fn compute_from(
    seekers: impl IntoIterator<Item = SeekerRec>,
    rows: impl IntoIterator<Item = DemandRec>,
    regions: usize,
    narrow: Narrow,
    p: CatchmentParams,
) -> FieldCatchment {
    // Seeker points: seekers binned to ~1 km cells at their centroid. The
    // list is sorted by key, so each cell is one run.
    let mut points: Vec<WeightedPoint> = Vec::new();
    let mut point_tallies: Vec<Tally> = Vec::new();
    let mut current = u64::MAX;
    let (mut n, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    let mut tally = Tally::default();
    for s in seekers.into_iter().filter(|s| narrow.supply(s.education, s.title)) {
        let cell = morton::cell_id(s.key, SEEKER_CELL_LEVEL);
        if cell != current {
            if n > 0.0 {
                points.push(WeightedPoint { x: sx / n, y: sy / n, weight: n });
                point_tallies.push(tally);
            }
            (current, n, sx, sy, tally) = (cell, 0.0, 0.0, 0.0, Tally::default());
        }
        let [x, y] = key_to_unit(s.key);
        n += 1.0;
        sx += x;
        sy += y;
        tally.add(s.rkey);
    }
    if n > 0.0 {
        points.push(WeightedPoint { x: sx / n, y: sy / n, weight: n });
        point_tallies.push(tally);
    }
    // Sites: open rows merged per position.
    let mut sites: Vec<Site> = Vec::new();
    for r in rows.into_iter().filter(|r| narrow.demand(r.education, r.title)) {
        match sites.last_mut() {
            Some(last) if last.key == r.key => last.openings += r.openings as f64,
            _ => sites.push(Site {
                key: r.key,
                enterprise: r.enterprise,
                openings: r.openings as f64,
                access: 0.0,
                district: r.district,
                park: r.park,
                reach: Tally::default(),
            }),
        }
    }
    let site_points: Vec<WeightedPoint> = sites
        .iter()
        .map(|s| {
            let [x, y] = key_to_unit(s.key);
            WeightedPoint { x, y, weight: s.openings }
        })
        .collect();
    let access = two_step_keyed(&points, &point_tallies, &site_points, p.radius_m, p.decay);
    let (mut reached_tally, mut unreached_tally) = (Tally::default(), Tally::default());
    for (t, &r) in point_tallies.iter().zip(&access.reached) {
        if r { reached_tally.merge(*t) } else { unreached_tally.merge(*t) }
    }
    let mut by_region = vec![0.0f64; regions];
    let mut region_reach = vec![Tally::default(); regions];
    let mut allocated = 0.0;
    let mut demand = 0.0;
    for ((s, a), reach) in sites.iter_mut().zip(access.per_opening).zip(access.reach) {
        s.access = a;
        s.reach = reach;
        let eff = s.effective_supply();
        allocated += eff;
        demand += s.openings;
        for r in [s.district, s.park] {
            if r != NONE16
                && let (Some(slot), Some(key)) = (by_region.get_mut(r as usize), region_reach.get_mut(r as usize))
            {
                *slot += eff;
                key.merge(reach);
            }
        }
    }
    FieldCatchment {
        sites,
        by_region,
        demand,
        allocated,
        unreached: access.unreached,
        seeker_points: points.len(),
        reached_tally,
        unreached_tally,
        region_reach,
    }
}

/// The catchment of a query, memoised with the snapshot.
pub fn of(snap: &Snapshot, basis: &Basis, field: u8, narrow: Narrow, p: CatchmentParams) -> Arc<FieldCatchment> {
    snap.memo.get_or_compute(&memo_key(field, narrow, p), || compute(snap, basis, field, narrow, p))
}

/// The memo key of a catchment (see [`of`]).
pub fn memo_key(field: u8, narrow: Narrow, p: CatchmentParams) -> String {
    format!(
        "shortage/catchment/{field}/{:?}/{:?}/{}/{}",
        narrow.education,
        narrow.title,
        p.radius_m.to_bits(),
        p.decay.code()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::shortage::catchment::distance_m;
    use crate::generate::rng::Rng;

    fn key(lon: f64, lat: f64) -> u64 {
        crate::spatial::morton::key(lon, lat)
    }

    #[test]
    fn reach_keys_are_summed_like_allocations_and_seekers_are_conserved() {
        let mut rng = Rng::new(0xbeef, 0);
        let mut seekers: Vec<SeekerRec> = (0..3000)
            .map(|_| SeekerRec {
                key: key(116.8 + rng.f64() * 0.8, 36.4 + rng.f64() * 0.5),
                district: (rng.next_u64() % 4) as u16,
                park: NONE16,
                education: (rng.next_u64() % 4) as u8,
                title: 0,
                rkey: rng.next_u64() as u32,
            })
            .collect();
        seekers.sort_by_key(|s| s.key);
        let mut rows: Vec<DemandRec> = (0..150)
            .map(|i| DemandRec {
                key: key(116.8 + rng.f64() * 0.8, 36.4 + rng.f64() * 0.5),
                enterprise: i,
                openings: 1 + (rng.next_u64() % 9) as u32,
                district: (rng.next_u64() % 4) as u16,
                park: if i % 5 == 0 { 4 } else { NONE16 },
                education: 1,
                title: 0,
            })
            .collect();
        rows.sort_by_key(|r| r.key);
        for decay in [Decay::Uniform, Decay::Gaussian] {
            for radius_m in [1_500.0, 6_000.0] {
                let p = CatchmentParams { radius_m, decay };
                let c = compute_from(seekers.iter().copied(), rows.iter().copied(), 5, Narrow::default(), p);
                let all: Tally = seekers.iter().map(|s| s.tally()).sum();
                let mut both = c.reached_tally;
                both.merge(c.unreached_tally);
                assert_eq!(both, all);
                assert!((c.allocated - c.reached_tally.n as f64).abs() < 1e-6 * c.allocated.max(1.0));
                // A site's reach: the seekers of the ~1 km points within the
                // radius (brute force over every point's seekers).
                for site in c.sites.iter().take(40) {
                    let [x, y] = key_to_unit(site.key);
                    let mut expected = Tally::default();
                    let mut runs = seekers.chunk_by(|a, b| {
                        morton::cell_id(a.key, SEEKER_CELL_LEVEL) == morton::cell_id(b.key, SEEKER_CELL_LEVEL)
                    });
                    for run in &mut runs {
                        let n = run.len() as f64;
                        let (cx, cy) = run.iter().fold((0.0, 0.0), |(sx, sy), s| {
                            let [a, b] = key_to_unit(s.key);
                            (sx + a, sy + b)
                        });
                        if decay.weight(distance_m(x, y, cx / n, cy / n), radius_m) > 0.0 {
                            run.iter().for_each(|s| expected.add(s.rkey));
                        }
                    }
                    assert_eq!(site.reach, expected, "{decay} {radius_m}");
                }
                for (r, reach) in c.region_reach.iter().enumerate() {
                    let sites: Vec<Site> =
                        c.sites.iter().filter(|s| s.district == r as u16 || s.park == r as u16).copied().collect();
                    assert_eq!(*reach, FieldCatchment::reach_of(&sites), "{decay} {radius_m} region {r}");
                }
            }
        }
    }
}
