//! An R-tree over millions of points with little memory per point.
//!
//! rstar stores each leaf in a node enum as large as an inner node (about
//! 48 bytes), which for 4 million talent homes would cost more than the
//! records themselves. Here each R-tree leaf is a *bucket* of up to
//! [`BUCKET`] points that are consecutive in Morton order (so spatially
//! compact), stored inline as `f32` Web Mercator unit coordinates: about 12
//! bytes per point (8 for the point, 4 for its record number) plus a few bytes
//! of bucket overhead. Queries descend the tree over bucket envelopes and then
//! test the points of the candidate buckets exactly, so results equal a
//! brute-force scan (checked by the property tests).
//!
//! Coordinates are unit Web Mercator (see `spatial::mercator`): conformal, so
//! within a city the nearest point in this frame is the nearest on the
//! ground; `f32` resolves about 2.4 m.

use rstar::{AABB, PointDistance, RTree, RTreeObject};

/// Points per bucket.
pub const BUCKET: usize = 32;

/// A run of nearby points.
#[derive(Debug, Clone)]
pub struct Bucket {
    envelope: AABB<[f32; 2]>,
    points: Box<[[f32; 2]]>,
    ids: Box<[u32]>,
}

impl RTreeObject for Bucket {
    type Envelope = AABB<[f32; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

fn d2(a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    dx * dx + dy * dy
}

impl PointDistance for Bucket {
    /// Exact: the squared distance to the nearest point of the bucket.
    fn distance_2(&self, point: &[f32; 2]) -> f32 {
        self.points.iter().map(|p| d2(*p, *point)).fold(f32::INFINITY, f32::min)
    }
}

/// Bucketed R-tree of points with `u32` record numbers.
#[derive(Debug, Clone)]
pub struct PointIndex {
    tree: RTree<Bucket>,
    len: usize,
}

impl PointIndex {
    /// Bulk-loads from `(unit point, id)` pairs that are already in Morton
    /// order (any order is correct; Morton order keeps buckets small).
    pub fn build(points: &[([f32; 2], u32)]) -> PointIndex {
        PointIndex::from_points(points.iter().copied())
    }

    /// [`Self::build`] from an iterator: the pairs go straight into their
    /// buckets, with no list of all points in between (at 4 M points that
    /// list would be 48 MB of fresh memory per build).
    pub fn from_points(points: impl Iterator<Item = ([f32; 2], u32)>) -> PointIndex {
        let mut buckets = Vec::new();
        let mut pts: Vec<[f32; 2]> = Vec::with_capacity(BUCKET);
        let mut ids: Vec<u32> = Vec::with_capacity(BUCKET);
        let mut len = 0;
        let mut seal = |pts: &mut Vec<[f32; 2]>, ids: &mut Vec<u32>| {
            let pts = std::mem::replace(pts, Vec::with_capacity(BUCKET));
            let ids = std::mem::replace(ids, Vec::with_capacity(BUCKET));
            buckets.push(Bucket {
                envelope: AABB::from_points(pts.iter()),
                points: pts.into_boxed_slice(),
                ids: ids.into_boxed_slice(),
            });
        };
        for (p, id) in points {
            pts.push(p);
            ids.push(id);
            len += 1;
            if pts.len() == BUCKET {
                seal(&mut pts, &mut ids);
            }
        }
        if !pts.is_empty() {
            seal(&mut pts, &mut ids);
        }
        PointIndex { tree: RTree::bulk_load(buckets), len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ids of the points inside the closed box `[min, max]`.
    pub fn in_box(&self, min: [f32; 2], max: [f32; 2]) -> Vec<u32> {
        let query = AABB::from_corners(min, max);
        let mut out = Vec::new();
        for b in self.tree.locate_in_envelope_intersecting(query) {
            for (p, id) in b.points.iter().zip(b.ids.iter()) {
                if p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1] {
                    out.push(*id);
                }
            }
        }
        out
    }

    /// The nearest point: `(id, squared distance)`. Ties go to the first in
    /// bucket order.
    pub fn nearest(&self, at: [f32; 2]) -> Option<(u32, f32)> {
        let (bucket, _) = self.tree.nearest_neighbor_with_distance_2(at)?;
        bucket
            .points
            .iter()
            .zip(bucket.ids.iter())
            .map(|(p, id)| (*id, d2(*p, at)))
            .reduce(|a, b| if b.1 < a.1 { b } else { a })
    }

    /// Ids of the points within squared distance `r2` of `at`.
    pub fn within(&self, at: [f32; 2], r2: f32) -> Vec<u32> {
        let mut out = Vec::new();
        for b in self.tree.locate_within_distance(at, r2) {
            for (p, id) in b.points.iter().zip(b.ids.iter()) {
                if d2(*p, at) <= r2 {
                    out.push(*id);
                }
            }
        }
        out
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        let buckets = self.len.div_ceil(BUCKET);
        self.len * (8 + 4) + buckets * (std::mem::size_of::<Bucket>() + 48)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::rng::Rng;
    use proptest::prelude::*;

    fn points(seed: u64, n: usize) -> Vec<([f32; 2], u32)> {
        let mut rng = Rng::new(seed, 0);
        let mut next = || rng.f64() as f32;
        // Clustered like a city: most points near a few centres.
        (0..n as u32)
            .map(|i| {
                let c = (i % 5) as f32 * 0.01;
                ([0.82 + c + next() * 0.02, 0.39 + c * 0.5 + next() * 0.02], i)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn box_and_nearest_equal_brute_force(seed in any::<u64>(), n in 0usize..3000, qx in 0.80f32..0.90, qy in 0.37f32..0.45, w in 0.0f32..0.03, h in 0.0f32..0.03) {
            let mut pts = points(seed, n);
            pts.sort_by_key(|(p, _)| crate::spatial::morton::interleave((p[0] * 1e6) as u32, (p[1] * 1e6) as u32));
            let index = PointIndex::build(&pts);
            let (min, max) = ([qx, qy], [qx + w, qy + h]);
            let mut got = index.in_box(min, max);
            got.sort_unstable();
            let mut want: Vec<u32> = pts.iter().filter(|(p, _)| p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1]).map(|(_, i)| *i).collect();
            want.sort_unstable();
            prop_assert_eq!(got, want);

            let brute = pts.iter().map(|(p, i)| (*i, d2(*p, [qx, qy]))).reduce(|a, b| if b.1 < a.1 { b } else { a });
            match (index.nearest([qx, qy]), brute) {
                (None, None) => {}
                (Some(a), Some(b)) => prop_assert_eq!(a.1, b.1, "nearest distance"),
                other => prop_assert!(false, "mismatch {:?}", other),
            }

            let r2 = w * w;
            let mut got = index.within([qx, qy], r2);
            got.sort_unstable();
            let mut want: Vec<u32> = pts.iter().filter(|(p, _)| d2(*p, [qx, qy]) <= r2).map(|(_, i)| *i).collect();
            want.sort_unstable();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn empty_index_answers_nothing() {
        let index = PointIndex::build(&[]);
        assert!(index.is_empty());
        assert_eq!(index.nearest([0.5, 0.5]), None);
        assert!(index.in_box([0.0, 0.0], [1.0, 1.0]).is_empty());
    }
}
