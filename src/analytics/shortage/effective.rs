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
use super::catchment::{
    Before, Decay, PointChange, SEEKER_CELL_LEVEL, Sums, WeightedPoint, two_step_keyed, two_step_patched,
};
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
    /// What the next snapshot's catchment is patched from ([`follow`]);
    /// `None` for one read back from disk (`analytics::saved`).
    pub base: Option<Box<Base>>,
}

/// The seeker points of a catchment and its sums in fixed point: what
/// [`follow`] needs, beside the sites, to patch it after a moves batch
/// instead of computing it again.
#[derive(Debug, Clone)]
pub struct Base {
    /// The grid cell of each seeker point, ascending.
    cells: Vec<u64>,
    points: Vec<WeightedPoint>,
    tallies: Vec<Tally>,
    /// `C_i` per point and `A_j` per site.
    sums: Sums,
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
    following(None, seekers, rows, regions, narrow, p)
}

/// Seeker points changed in more than this share of the points make a
/// catchment computed again rather than patched.
const PATCH_SHARE: f64 = 0.25;

/// [`compute_from`], patched from `before` (the catchment of the same
/// query on an earlier snapshot) when it has the same sites and few of its
/// seeker points changed. The result is the same either way (the sums are
/// in fixed point, `catchment::Sum`; checked by tests).
fn following(
    before: Option<&FieldCatchment>,
    seekers: impl IntoIterator<Item = SeekerRec>,
    rows: impl IntoIterator<Item = DemandRec>,
    regions: usize,
    narrow: Narrow,
    p: CatchmentParams,
) -> FieldCatchment {
    // Seeker points: seekers binned to ~1 km cells at their centroid. The
    // list is sorted by key, so each cell is one run.
    let (mut cells, mut points, mut point_tallies) = (Vec::new(), Vec::new(), Vec::new());
    let mut current = u64::MAX;
    let (mut n, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    let mut tally = Tally::default();
    let mut close = |current: u64, n: f64, sx: f64, sy: f64, tally: Tally| {
        if n > 0.0 {
            cells.push(current);
            points.push(WeightedPoint { x: sx / n, y: sy / n, weight: n });
            point_tallies.push(tally);
        }
    };
    for s in seekers.into_iter().filter(|s| narrow.supply(s.education, s.title)) {
        let cell = morton::cell_id(s.key, SEEKER_CELL_LEVEL);
        if cell != current {
            close(current, n, sx, sy, tally);
            (current, n, sx, sy, tally) = (cell, 0.0, 0.0, 0.0, Tally::default());
        }
        let [x, y] = key_to_unit(s.key);
        n += 1.0;
        sx += x;
        sy += y;
        tally.add(s.rkey);
    }
    close(current, n, sx, sy, tally);
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
    let same_sites = |c: &FieldCatchment| {
        c.sites.len() == sites.len()
            && c.sites.iter().zip(&sites).all(|(a, b)| (a.key, a.openings) == (b.key, b.openings))
    };
    let patched = before.filter(|c| same_sites(c)).and_then(|c| Some((c, c.base.as_deref()?))).and_then(|(c, b)| {
        let change = changed_points(b, &cells, &points, &point_tallies)?;
        let reach = c.sites.iter().map(|s| s.reach).collect();
        Some(two_step_patched(
            (&b.points, &b.tallies, Before { competing: &b.sums.competing, access: b.sums.access.clone(), reach }),
            &points,
            &point_tallies,
            &change,
            &site_points,
            p.radius_m,
            p.decay,
        ))
    });
    let access = patched.unwrap_or_else(|| two_step_keyed(&points, &point_tallies, &site_points, p.radius_m, p.decay));
    let (mut reached_tally, mut unreached_tally) = (Tally::default(), Tally::default());
    for (t, &r) in point_tallies.iter().zip(&access.reached) {
        if r { reached_tally.merge(*t) } else { unreached_tally.merge(*t) }
    }
    let mut by_region = vec![0.0f64; regions];
    let mut region_reach = vec![Tally::default(); regions];
    let mut allocated = 0.0;
    let mut demand = 0.0;
    for ((s, &a), &reach) in sites.iter_mut().zip(&access.per_opening).zip(&access.reach) {
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
        base: Some(Box::new(Base { cells, points, tallies: point_tallies, sums: access.sums })),
    }
}

/// How the seeker points `points` (in `cells`, with `tallies`) differ from
/// those of `before`, matched by cell; `None` when more than
/// [`PATCH_SHARE`] of them changed (computing again costs less).
fn changed_points(before: &Base, cells: &[u64], points: &[WeightedPoint], tallies: &[Tally]) -> Option<PointChange> {
    let mut change = PointChange::default();
    let (mut i, mut j) = (0usize, 0usize);
    let limit = ((before.cells.len().max(cells.len()) as f64) * PATCH_SHARE) as usize;
    while i < before.cells.len() || j < cells.len() {
        let (a, b) = (before.cells.get(i).copied().unwrap_or(u64::MAX), cells.get(j).copied().unwrap_or(u64::MAX));
        if a == b {
            if before.points[i] == points[j] && before.tallies[i] == tallies[j] {
                change.kept.push((i as u32, j as u32));
            } else {
                change.gone.push(i as u32);
                change.came.push(j as u32);
            }
            (i, j) = (i + 1, j + 1);
        } else if a < b {
            change.gone.push(i as u32);
            i += 1;
        } else {
            change.came.push(j as u32);
            j += 1;
        }
        if change.gone.len().max(change.came.len()) > limit {
            return None;
        }
    }
    Some(change)
}

/// The catchment of a query, memoised with the snapshot.
pub fn of(snap: &Snapshot, basis: &Basis, field: u8, narrow: Narrow, p: CatchmentParams) -> Arc<FieldCatchment> {
    snap.memo.get_or_compute(&memo_key(field, narrow, p), || compute(snap, basis, field, narrow, p))
}

/// The catchment of a query on `snap`, patched from `before`, the same
/// query's catchment on an earlier snapshot (see [`following`]), and kept
/// in the memo as [`of`] keeps it: for the background thread that follows
/// each published snapshot after a moves batch.
pub fn follow(
    snap: &Snapshot,
    basis: &Basis,
    (field, narrow, p): (u8, Narrow, CatchmentParams),
    before: &FieldCatchment,
) -> Arc<FieldCatchment> {
    snap.memo.get_or_compute(&memo_key(field, narrow, p), || {
        let (seekers, rows) = (basis.seekers(snap, field), basis.demand(snap, field));
        following(Some(before), seekers.iter(), rows.iter(), snap.regions.len(), narrow, p)
    })
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
        let seekers = seekers_of(&mut rng, 3000);
        let rows = rows_of(&mut rng, 150);
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

    /// Seekers spread over a city, sorted by key.
    fn seekers_of(rng: &mut Rng, n: usize) -> Vec<SeekerRec> {
        let mut seekers: Vec<SeekerRec> = (0..n)
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
        seekers
    }

    fn assert_same(a: &FieldCatchment, b: &FieldCatchment, what: &str) {
        assert_eq!(a.sites, b.sites, "{what}");
        assert_eq!(a.by_region, b.by_region, "{what}");
        assert_eq!(a.region_reach, b.region_reach, "{what}");
        assert_eq!((a.demand, a.allocated, a.unreached), (b.demand, b.allocated, b.unreached), "{what}");
        assert_eq!((a.reached_tally, a.unreached_tally), (b.reached_tally, b.unreached_tally), "{what}");
        assert_eq!(a.seeker_points, b.seeker_points, "{what}");
        let (x, y) = (a.base.as_deref().unwrap(), b.base.as_deref().unwrap());
        assert_eq!(x.sums, y.sums, "{what}");
        assert_eq!((&x.cells, &x.points, &x.tallies), (&y.cells, &y.points, &y.tallies), "{what}");
    }

    /// Open vacancy rows spread over the same city, sorted by key.
    fn rows_of(rng: &mut Rng, n: u32) -> Vec<DemandRec> {
        let mut rows: Vec<DemandRec> = (0..n)
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
        rows
    }

    #[test]
    fn a_catchment_patched_after_seekers_move_equals_one_computed_again() {
        let mut rng = Rng::new(0x5eed, 7);
        let seekers = seekers_of(&mut rng, 4000);
        let rows = rows_of(&mut rng, 300);
        for decay in Decay::ALL {
            for radius_m in [2_000.0, 10_000.0] {
                let p = CatchmentParams { radius_m, decay };
                let what = format!("{decay} {radius_m}");
                let before = compute_from(seekers.iter().copied(), rows.iter().copied(), 5, Narrow::default(), p);
                // A batch: some seekers leave, some move, some arrive.
                let mut after: Vec<SeekerRec> = seekers.iter().copied().filter(|_| rng.f64() > 0.01).collect();
                for s in after.iter_mut() {
                    if rng.f64() < 0.01 {
                        s.key = key(116.8 + rng.f64() * 0.8, 36.4 + rng.f64() * 0.5);
                    }
                }
                after.extend(seekers_of(&mut rng, 40));
                after.sort_by_key(|s| s.key);
                let again = compute_from(after.iter().copied(), rows.iter().copied(), 5, Narrow::default(), p);
                let base = before.base.as_deref().unwrap();
                let again_base = again.base.as_deref().unwrap();
                let change = changed_points(base, &again_base.cells, &again_base.points, &again_base.tallies)
                    .expect("few points changed: patched");
                assert!(!change.gone.is_empty() && !change.came.is_empty() && !change.kept.is_empty());
                let patched =
                    following(Some(&before), after.iter().copied(), rows.iter().copied(), 5, Narrow::default(), p);
                assert_same(&patched, &again, &what);
                // Patched again from the patched one, back to the start.
                let back =
                    following(Some(&patched), seekers.iter().copied(), rows.iter().copied(), 5, Narrow::default(), p);
                assert_same(&back, &before, &what);
            }
        }
    }

    #[test]
    fn other_sites_or_many_changed_points_compute_again() {
        let mut rng = Rng::new(0x5eed, 8);
        let seekers = seekers_of(&mut rng, 2000);
        let row = |k: u64, openings: u32| DemandRec {
            key: k,
            enterprise: 0,
            openings,
            district: 0,
            park: NONE16,
            education: 1,
            title: 0,
        };
        let rows = [row(key(117.0, 36.6), 3), row(key(117.2, 36.7), 5)];
        let p = CatchmentParams { radius_m: 10_000.0, decay: Decay::Gaussian };
        let before = compute_from(seekers.iter().copied(), rows.iter().copied(), 1, Narrow::default(), p);
        // Sites with other openings: the sums of the sites do not carry over.
        let other = [row(key(117.0, 36.6), 4), row(key(117.2, 36.7), 5)];
        let patched = following(Some(&before), seekers.iter().copied(), other.iter().copied(), 1, Narrow::default(), p);
        let again = compute_from(seekers.iter().copied(), other.iter().copied(), 1, Narrow::default(), p);
        assert_same(&patched, &again, "other sites");
        // Every seeker somewhere else: more than a quarter of the points.
        let moved = seekers_of(&mut rng, 2000);
        let b = before.base.as_deref().unwrap();
        let a = compute_from(moved.iter().copied(), rows.iter().copied(), 1, Narrow::default(), p);
        let a = a.base.as_deref().unwrap();
        assert!(changed_points(b, &a.cells, &a.points, &a.tallies).is_none());
    }
}
