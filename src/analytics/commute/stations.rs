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

use crate::snapshot::{PointIndex, key_to_lonlat};
use crate::spatial::lonlat_to_unit;

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

/// Ids in `index` whose position (`position(id)`, a Morton key) lies within
/// `radius_m` metres on the ground of `centre` (`[lon, lat]` in degrees).
///
/// Algorithm: a projected-circle query with the radius widened to
/// `r / (C · cos(|φ| + r/R))` (a superset, by the argument of
/// [`StationSet::nearest`]) plus a few metres for the `f32` coordinates of
/// the index, then the exact haversine test on each candidate's key
/// position. Cost is proportional to the points near the centre.
pub fn within_m(index: &PointIndex, position: impl Fn(u32) -> u64, centre: [f64; 2], radius_m: f64) -> Vec<u32> {
    let (x, y) = lonlat_to_unit(centre[0], centre[1]);
    let lat = centre[1].to_radians().abs() + radius_m / R_M;
    let r_unit = radius_m / (UNIT_M * lat.min(1.5).cos()) + 2e-7;
    let mut found = index.within([x as f32, y as f32], (r_unit * r_unit) as f32);
    found.retain(|&id| haversine_km(key_to_lonlat(position(id)), centre) * 1000.0 <= radius_m);
    found
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
        fn within_equals_brute_force(
            homes in proptest::collection::vec((116.95f64..117.05, 36.62f64..36.70), 0..400),
            radius in 50.0f64..3000.0,
        ) {
            let mut keys: Vec<u64> = homes.iter().map(|&(x, y)| crate::spatial::morton::key(x, y)).collect();
            keys.sort_unstable();
            let pts: Vec<([f32; 2], u32)> = keys.iter().enumerate().map(|(i, &k)| {
                let [x, y] = crate::snapshot::key_to_unit(k);
                ([x as f32, y as f32], i as u32)
            }).collect();
            let index = PointIndex::build(&pts);
            let centre = [117.0, 36.66];
            let mut got = within_m(&index, |i| keys[i as usize], centre, radius);
            got.sort_unstable();
            let want: Vec<u32> = (0..keys.len() as u32)
                .filter(|&i| haversine_km(key_to_lonlat(keys[i as usize]), centre) * 1000.0 <= radius)
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn empty_set_has_no_nearest() {
        assert_eq!(StationSet::new(Vec::new()).nearest([117.0, 36.6]), None);
    }
}
