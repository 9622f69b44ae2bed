//! Nearest rail station and station catchments, on the ground.
//!
//! Stations are indexed in unit Web Mercator coordinates (an rstar tree, as
//! the snapshot does), but every distance reported is the haversine distance
//! in metres. Mercator stretches distances by `sec φ`, so the nearest point
//! in the projected frame is not always the nearest on the ground; the
//! queries here stay exact by turning projected distances into a safe lower
//! bound on ground distance (see [`StationSet::nearest`]).

use rstar::RTree;
use rstar::primitives::GeomWithData;

use std::ops::Range;

use crate::snapshot::{key_to_lonlat, key_to_unit};
use crate::spatial::lonlat_to_unit;
use crate::spatial::morton;

use super::distance::{EARTH_RADIUS_KM, haversine_km};

/// Walking catchment of a rail or metro station in metres: 800 m, about ten
/// minutes on foot, the radius used by transit-oriented development
/// guidelines and by China's annual commute monitoring reports (share of
/// commuters living within 800 m of rail transit).
pub const WALK_RADIUS_M: f64 = 800.0;

/// Earth radius in metres.
const R_M: f64 = EARTH_RADIUS_KM * 1000.0;
/// Ground length of one unit of Web Mercator x at the equator, in metres.
const UNIT_M: f64 = 2.0 * std::f64::consts::PI * R_M;

/// Points (stations or hypothetical stops) with a nearest-point query that
/// answers in ground metres.
#[derive(Debug, Clone)]
pub struct StationSet {
    points: Vec<[f64; 2]>,
    tree: RTree<GeomWithData<[f64; 2], u32>>,
}

/// A ground distance below which a projected distance `du` cannot hide a
/// point, for paths that stay below latitude `max_lat` (radians): a path of
/// ground length `s` has projected length at most `s · sec(max_lat) / C`.
fn ground_lower_bound_m(du: f64, max_lat: f64) -> f64 {
    du * UNIT_M * max_lat.min(std::f64::consts::FRAC_PI_2).cos()
}

impl StationSet {
    /// Indexes `[lon, lat]` points (degrees); ids are positions in the list.
    pub fn new(points: Vec<[f64; 2]>) -> StationSet {
        let tree = RTree::bulk_load(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (x, y) = lonlat_to_unit(p[0], p[1]);
                    GeomWithData::new([x, y], i as u32)
                })
                .collect(),
        );
        StationSet { points, tree }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// `[lon, lat]` of point `i`.
    pub fn point(&self, i: u32) -> [f64; 2] {
        self.points[i as usize]
    }

    /// The point nearest to `at` on the ground: `(id, metres)`, or `None`
    /// for an empty set.
    ///
    /// Algorithm: visit points in increasing projected distance `du`
    /// (rstar's nearest-neighbour iterator), keep the best haversine distance
    /// `b`, and stop once `du · C · cos(|φ| + b/R) > b`: any point within `b`
    /// on the ground lies on a path that never leaves latitude `|φ| + b/R`,
    /// along which Mercator stretches lengths by at most `sec(|φ| + b/R)`,
    /// so its projected distance would be at most that bound. Equal to a
    /// brute-force scan (checked by the property test).
    pub fn nearest(&self, at: [f64; 2]) -> Option<(u32, f64)> {
        let (x, y) = lonlat_to_unit(at[0], at[1]);
        let lat = at[1].to_radians().abs();
        let mut best: Option<(u32, f64)> = None;
        for (p, d2) in self.tree.nearest_neighbor_iter_with_distance_2([x, y]) {
            if let Some((_, b)) = best
                && ground_lower_bound_m(d2.sqrt(), lat + b / R_M) > b
            {
                break;
            }
            let d = haversine_km(at, self.points[p.data as usize]) * 1000.0;
            if best.is_none_or(|(bi, b)| d < b || (d == b && p.data < bi)) {
                best = Some((p.data, d));
            }
        }
        best
    }
}

/// The points within `radius_m` metres on the ground of a centre: the
/// Morton key ranges that can hold them ([`Circle::ranges`]) and the exact
/// test of one key ([`Circle::holds`]). Any key-sorted array answers with
/// it — the talents by home, the workplace order by workplace — so no
/// separate spatial index of the talents is kept.
///
/// Algorithm: the projected circle with the radius widened to
/// `r / (C · cos(|φ| + r/R))` (a superset, by the argument of
/// [`StationSet::nearest`]) gives a box, covered by at most 8 × 8 tiles
/// ([`morton::box_ranges`]); a key in the ranges passes a squared unit
/// distance test against the widened radius, then the haversine test on its
/// position. Cost is proportional to the points near the centre.
#[derive(Debug, Clone)]
pub struct Circle {
    centre: [f64; 2],
    radius_m: f64,
    unit: [f64; 2],
    /// The widened radius squared, in unit coordinates.
    r2: f64,
    /// Ascending, disjoint key ranges holding every key in the circle.
    pub ranges: Vec<Range<u64>>,
}

impl Circle {
    /// The circle of `radius_m` metres around `centre` (`[lon, lat]` in
    /// degrees).
    pub fn new(centre: [f64; 2], radius_m: f64) -> Circle {
        let (x, y) = lonlat_to_unit(centre[0], centre[1]);
        let lat = centre[1].to_radians().abs() + radius_m / R_M;
        // A key's position is its cell's centre: one cell of margin.
        let r_unit = radius_m / (UNIT_M * lat.min(1.5).cos()) + 1.0 / (1u64 << morton::KEY_ZOOM) as f64;
        let ranges = morton::box_ranges([x - r_unit, y - r_unit], [x + r_unit, y + r_unit]);
        Circle { centre, radius_m, unit: [x, y], r2: r_unit * r_unit, ranges }
    }

    /// Whether the point of `key` lies within the circle, on the ground.
    #[inline]
    pub fn holds(&self, key: u64) -> bool {
        let [kx, ky] = key_to_unit(key);
        let (dx, dy) = (kx - self.unit[0], ky - self.unit[1]);
        dx * dx + dy * dy <= self.r2 && haversine_km(key_to_lonlat(key), self.centre) * 1000.0 <= self.radius_m
    }

    /// Calls `found` with each position in `sorted` (ascending by
    /// `key_of`) whose key the circle holds, in ascending order.
    pub fn each_within<T>(&self, sorted: &[T], key_of: impl Fn(&T) -> u64, mut found: impl FnMut(usize)) {
        for range in &self.ranges {
            let start = sorted.partition_point(|t| key_of(t) < range.start);
            let end = start + sorted[start..].partition_point(|t| key_of(t) < range.end);
            for (i, t) in sorted[start..end].iter().enumerate() {
                if self.holds(key_of(t)) {
                    found(start + i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(points: &[[f64; 2]], at: [f64; 2]) -> Option<(u32, f64)> {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u32, haversine_km(at, *p) * 1000.0))
            .reduce(|a, b| if b.1 < a.1 { b } else { a })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Stations scattered over a city and beyond (including far north,
        /// where Mercator distortion differs most across the set).
        #[test]
        fn nearest_equals_brute_force(
            stations in proptest::collection::vec((116.5f64..117.6, 36.2f64..37.2), 0..60),
            north in proptest::collection::vec((10.0f64..20.0, 60.0f64..70.0), 0..10),
            qx in 116.4f64..117.7, qy in 36.1f64..37.3,
        ) {
            let mut points: Vec<[f64; 2]> = stations.iter().map(|&(x, y)| [x, y]).collect();
            points.extend(north.iter().map(|&(x, y)| [x, y]));
            let set = StationSet::new(points.clone());
            match (set.nearest([qx, qy]), brute(&points, [qx, qy])) {
                (None, None) => {}
                (Some(a), Some(b)) => prop_assert!((a.1 - b.1).abs() < 1e-6, "{:?} vs {:?}", a, b),
                other => prop_assert!(false, "mismatch {:?}", other),
            }
            // High latitude queries, where the projected order is most wrong.
            let q = [15.0, 65.0];
            match (set.nearest(q), brute(&points, q)) {
                (None, None) => {}
                (Some(a), Some(b)) => prop_assert!((a.1 - b.1).abs() < 1e-6, "{:?} vs {:?}", a, b),
                other => prop_assert!(false, "mismatch {:?}", other),
            }
        }

        #[test]
        fn circle_equals_brute_force(
            homes in proptest::collection::vec((116.95f64..117.05, 36.62f64..36.70), 0..400),
            radius in 50.0f64..3000.0,
            north in proptest::collection::vec((10.0f64..10.2, 64.9f64..65.1), 0..50),
        ) {
            for (points, centre) in [(homes, [117.0, 36.66]), (north, [10.1, 65.0])] {
                let mut keys: Vec<u64> = points.iter().map(|&(x, y)| morton::key(x, y)).collect();
                keys.sort_unstable();
                let circle = Circle::new(centre, radius);
                let mut got = Vec::new();
                circle.each_within(&keys, |&k| k, |i| got.push(i));
                let want: Vec<usize> = (0..keys.len())
                    .filter(|&i| haversine_km(key_to_lonlat(keys[i]), centre) * 1000.0 <= radius)
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn empty_set_has_no_nearest() {
        assert_eq!(StationSet::new(Vec::new()).nearest([117.0, 36.6]), None);
    }
}
