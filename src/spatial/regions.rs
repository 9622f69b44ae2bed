//! Point-in-region lookup: which district and park a point falls in.
//!
//! Every imported record is assigned its regions, millions of points against
//! polygons of thousands of vertices, so a per-point polygon test against
//! every region is too slow. A uniform grid over the regions' extent records,
//! per cell, the regions that wholly contain the cell and the regions whose
//! boundary passes through it. A point then costs one cell lookup plus exact
//! tests against only the boundary regions of its cell.
//!
//! An exact test reads only the edges of the region that reach into the
//! point's grid row ([`RowEdges`]): a horizontal ray from the point crosses
//! no other edge, so the winding numbers, and the answer, are those of a
//! test of every edge (`geo`'s `Contains`, checked by a test), at a few
//! dozen edges instead of a district's thousands.

use geo::{BoundingRect, Contains, Coord, GeoNum, Kernel, MultiPolygon, Orientation, Point, Rect};

use crate::model::RegionKind;

/// Grid cells per side.
const GRID: usize = 256;

/// Marks a cell's region whose boundary crosses the cell (test exactly);
/// the others contain the whole cell.
const CROSSED: u32 = 1 << 31;

/// Regions indexed for point queries. Region numbers are positions in the
/// slice given to [`RegionLookup::new`].
#[derive(Debug, Clone)]
pub struct RegionLookup {
    kinds: Vec<RegionKind>,
    polygons: Vec<MultiPolygon<f64>>,
    extent: Option<Rect<f64>>,
    cell_w: f64,
    cell_h: f64,
    /// Cell `i`'s regions (in region order, [`CROSSED`] or not) are
    /// `cell_regions[cell_starts[i]..cell_starts[i + 1]]`: one array for the
    /// 65,536 cells, not two vectors each.
    cell_starts: Vec<u32>,
    cell_regions: Vec<u32>,
    /// Per region, its edges by grid row; `None` for a region with a ring
    /// of fewer than two points (tested with `geo` instead).
    rows: Vec<Option<RowEdges>>,
}

/// A region's edges by grid row: its vertices once, ring after ring, and
/// for each row the edges whose vertical extent reaches into it, each as
/// the index of its first vertex (the next one ends it), ascending.
#[derive(Debug, Clone, Default)]
struct RowEdges {
    vertices: Vec<Coord<f64>>,
    /// Where each ring's vertices start, then the number of vertices.
    rings: Vec<Ring>,
    edges: Vec<u32>,
    /// Row `r`'s edges are `edges[starts[r]..starts[r + 1]]`.
    starts: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Ring {
    start: u32,
    polygon: u32,
    exterior: bool,
}

/// Where a point is relative to one ring, from some of its edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RingPos {
    Outside,
    OnBoundary,
    Inside,
}

/// The position of `p` relative to a ring from `edges`, its edges whose
/// vertical extent includes `p.y` among others: `geo`'s winding number
/// rules (`coord_pos_relative_to_ring`), which an edge that does not reach
/// `p.y` never changes.
fn ring_pos(edges: impl Iterator<Item = (Coord<f64>, Coord<f64>)>, p: Coord<f64>) -> RingPos {
    let between = |v: f64, a: f64, b: f64| if a < b { v >= a && v <= b } else { v >= b && v <= a };
    let mut winding = 0i32;
    for (start, end) in edges {
        if start.y <= p.y {
            if end.y >= p.y {
                let o = <f64 as GeoNum>::Ker::orient2d(start, end, p);
                if o == Orientation::CounterClockwise && end.y != p.y {
                    winding += 1;
                } else if o == Orientation::Collinear && between(p.x, start.x, end.x) {
                    return RingPos::OnBoundary;
                }
            }
        } else if end.y <= p.y {
            let o = <f64 as GeoNum>::Ker::orient2d(start, end, p);
            if o == Orientation::Clockwise {
                winding -= 1;
            } else if o == Orientation::Collinear && between(p.x, start.x, end.x) {
                return RingPos::OnBoundary;
            }
        }
    }
    if winding == 0 { RingPos::Outside } else { RingPos::Inside }
}

impl RowEdges {
    /// `None` when a ring has fewer than two points.
    fn of(polygon: &MultiPolygon<f64>, row_of: impl Fn(f64) -> usize) -> Option<RowEdges> {
        let mut index = RowEdges::default();
        let mut listed: Vec<(u32, u32)> = Vec::new();
        for (pi, poly) in polygon.iter().enumerate() {
            for (ri, ring) in std::iter::once(poly.exterior()).chain(poly.interiors()).enumerate() {
                if ring.0.len() < 2 {
                    return None;
                }
                let start = index.vertices.len();
                index.rings.push(Ring { start: start as u32, polygon: pi as u32, exterior: ri == 0 });
                index.vertices.extend_from_slice(&ring.0);
                for (i, pair) in ring.0.windows(2).enumerate() {
                    let (r0, r1) = (row_of(pair[0].y.min(pair[1].y)), row_of(pair[0].y.max(pair[1].y)));
                    listed.extend((r0..=r1).map(|r| (r as u32, (start + i) as u32)));
                }
            }
        }
        index.rings.push(Ring { start: index.vertices.len() as u32, polygon: u32::MAX, exterior: false });
        listed.sort_unstable();
        index.starts = vec![0u32; GRID + 1];
        for (r, _) in &listed {
            index.starts[*r as usize + 1] += 1;
        }
        for r in 0..GRID {
            index.starts[r + 1] += index.starts[r];
        }
        index.edges = listed.into_iter().map(|(_, e)| e).collect();
        Some(index)
    }

    /// Whether `p`, in grid row `row`, is inside the region (not on its
    /// boundary), as `geo`'s `MultiPolygon::contains` says: inside some
    /// polygon's exterior and outside each of its holes.
    fn contains(&self, row: usize, p: Coord<f64>) -> bool {
        let edges = &self.edges[self.starts[row] as usize..self.starts[row + 1] as usize];
        let (mut at, mut ring) = (0, 0);
        // The polygon of the rings read so far, and whether `p` is inside
        // its exterior and outside its holes read so far.
        let mut polygon: Option<(u32, bool)> = None;
        while let Some(&first) = edges.get(at) {
            while self.rings[ring + 1].start <= first {
                ring += 1;
            }
            let end = self.rings[ring + 1].start;
            let n = edges[at..].iter().position(|&i| i >= end).unwrap_or(edges.len() - at);
            let pairs = edges[at..at + n].iter().map(|&i| (self.vertices[i as usize], self.vertices[i as usize + 1]));
            let pos = ring_pos(pairs, p);
            at += n;
            let info = self.rings[ring];
            polygon = match polygon {
                Some((q, inside)) if q == info.polygon => Some((q, inside && pos == RingPos::Outside)),
                Some((_, true)) => return true,
                _ => Some((info.polygon, info.exterior && pos == RingPos::Inside)),
            };
        }
        matches!(polygon, Some((_, true)))
    }
}

/// The regions a point falls in: at most one of each kind (the first by
/// region order where regions of one kind overlap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegionHit {
    pub district: Option<u32>,
    pub street: Option<u32>,
    pub park: Option<u32>,
}

impl RegionLookup {
    /// Builds the grid. Cost: linear in the total number of polygon vertices
    /// plus one exact test per (region, inner cell).
    pub fn new(regions: &[(RegionKind, MultiPolygon<f64>)]) -> RegionLookup {
        let kinds = regions.iter().map(|r| r.0).collect();
        let polygons: Vec<MultiPolygon<f64>> = regions.iter().map(|r| r.1.clone()).collect();
        let extent = polygons.iter().filter_map(|p| p.bounding_rect()).reduce(|a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        });
        let mut lookup = RegionLookup {
            kinds,
            polygons,
            extent,
            cell_w: 1.0,
            cell_h: 1.0,
            cell_starts: Vec::new(),
            cell_regions: Vec::new(),
            rows: Vec::new(),
        };
        let Some(extent) = extent else { return lookup };
        lookup.cell_w = (extent.width() / GRID as f64).max(1e-9);
        lookup.cell_h = (extent.height() / GRID as f64).max(1e-9);
        lookup.rows =
            lookup.polygons.iter().map(|p| RowEdges::of(p, |y| lookup.cell_of(extent.min().x, y).1)).collect();
        // (cell, region) pairs, regions in order.
        let mut listed: Vec<(u32, u32)> = Vec::new();
        for (index, polygon) in lookup.polygons.iter().enumerate() {
            let mut touched = vec![false; GRID * GRID];
            for line in polygon.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())) {
                for seg in line.lines() {
                    let (c0, r0) = lookup.cell_of(seg.start.x.min(seg.end.x), seg.start.y.min(seg.end.y));
                    let (c1, r1) = lookup.cell_of(seg.start.x.max(seg.end.x), seg.start.y.max(seg.end.y));
                    for r in r0..=r1 {
                        for c in c0..=c1 {
                            touched[r * GRID + c] = true;
                        }
                    }
                }
            }
            let Some(bbox) = polygon.bounding_rect() else { continue };
            let (c0, r0) = lookup.cell_of(bbox.min().x, bbox.min().y);
            let (c1, r1) = lookup.cell_of(bbox.max().x, bbox.max().y);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    let i = r * GRID + c;
                    if touched[i] {
                        listed.push((i as u32, index as u32 | CROSSED));
                    } else {
                        let centre = Point::new(
                            extent.min().x + (c as f64 + 0.5) * lookup.cell_w,
                            extent.min().y + (r as f64 + 0.5) * lookup.cell_h,
                        );
                        if polygon.contains(&centre) {
                            listed.push((i as u32, index as u32));
                        }
                    }
                }
            }
        }
        // Stable: a cell's regions stay in region order.
        listed.sort_by_key(|&(cell, _)| cell);
        lookup.cell_starts = vec![0u32; GRID * GRID + 1];
        for &(cell, _) in &listed {
            lookup.cell_starts[cell as usize + 1] += 1;
        }
        for i in 0..GRID * GRID {
            lookup.cell_starts[i + 1] += lookup.cell_starts[i];
        }
        lookup.cell_regions = listed.into_iter().map(|(_, region)| region).collect();
        lookup
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let Some(extent) = self.extent else { return (0, 0) };
        let c = ((x - extent.min().x) / self.cell_w).floor().clamp(0.0, (GRID - 1) as f64) as usize;
        let r = ((y - extent.min().y) / self.cell_h).floor().clamp(0.0, (GRID - 1) as f64) as usize;
        (c, r)
    }

    /// All regions containing the point, in region order.
    pub fn containing(&self, lon: f64, lat: f64) -> Vec<u32> {
        let Some(extent) = self.extent else { return Vec::new() };
        if !(lon >= extent.min().x && lon <= extent.max().x && lat >= extent.min().y && lat <= extent.max().y) {
            return Vec::new();
        }
        let (c, r) = self.cell_of(lon, lat);
        let i = r * GRID + c;
        let regions = &self.cell_regions[self.cell_starts[i] as usize..self.cell_starts[i + 1] as usize];
        let p = Coord { x: lon, y: lat };
        let crossed_contains = |i: u32| match &self.rows[i as usize] {
            Some(rows) => rows.contains(r, p),
            None => self.polygons[i as usize].contains(&Point::from(p)),
        };
        regions.iter().filter(|&&e| e & CROSSED == 0 || crossed_contains(e & !CROSSED)).map(|&e| e & !CROSSED).collect()
    }

    /// The district, street and park of a point.
    pub fn locate(&self, lon: f64, lat: f64) -> RegionHit {
        let mut hit = RegionHit::default();
        for i in self.containing(lon, lat) {
            let slot = match self.kinds[i as usize] {
                RegionKind::District => &mut hit.district,
                RegionKind::Street => &mut hit.street,
                RegionKind::Park => &mut hit.park,
            };
            slot.get_or_insert(i);
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]),
            vec![],
        )])
    }

    #[test]
    fn grid_lookup_equals_brute_force_on_real_districts() {
        let text = include_str!("../../fixtures/regions/jinan_districts.geojson");
        let fc: geojson::FeatureCollection = text.parse().unwrap();
        let regions: Vec<(RegionKind, MultiPolygon<f64>)> = fc
            .features
            .iter()
            .map(|f| {
                let g: geo::Geometry<f64> = f.geometry.clone().unwrap().try_into().unwrap();
                let mp = match g {
                    geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                    geo::Geometry::MultiPolygon(m) => m,
                    other => panic!("unexpected {other:?}"),
                };
                (RegionKind::District, mp)
            })
            .collect();
        let lookup = RegionLookup::new(&regions);
        // Deterministic pseudo-random points over and around the city.
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut inside = 0;
        for _ in 0..20_000 {
            let (lon, lat) = (116.1 + next() * 1.8, 36.0 + next() * 1.6);
            let brute: Vec<u32> = regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.1.contains(&Point::new(lon, lat)))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(lookup.containing(lon, lat), brute, "at {lon},{lat}");
            inside += brute.len();
        }
        assert!(inside > 5_000, "the sample covers the city");
    }

    #[test]
    fn row_edges_agree_with_geo_on_boundaries_holes_and_parts() {
        let ring = |points: &[(f64, f64)]| LineString::from(points.to_vec());
        let holed = MultiPolygon::new(vec![Polygon::new(
            ring(&[(0.0, 0.0), (8.0, 0.0), (8.0, 8.0), (0.0, 8.0), (0.0, 0.0)]),
            vec![ring(&[(2.0, 2.0), (4.0, 2.0), (4.0, 5.0), (2.0, 5.0), (2.0, 2.0)])],
        )]);
        let parts = MultiPolygon::new(vec![
            Polygon::new(ring(&[(9.0, 1.0), (12.0, 1.0), (12.0, 3.0), (9.0, 3.0), (9.0, 1.0)]), vec![]),
            Polygon::new(ring(&[(9.0, 5.0), (11.0, 9.5), (12.5, 5.0), (9.0, 5.0)]), vec![]),
        ]);
        // Clockwise, with a vertical edge and a spike.
        let odd = MultiPolygon::new(vec![Polygon::new(
            ring(&[(1.0, 9.0), (1.0, 12.0), (3.0, 12.0), (3.0, 10.0), (6.0, 10.5), (3.0, 9.0), (1.0, 9.0)]),
            vec![],
        )]);
        let regions = vec![(RegionKind::District, holed), (RegionKind::Park, parts), (RegionKind::District, odd)];
        let lookup = RegionLookup::new(&regions);
        let mut boundary = 0;
        // Every quarter step: vertices, points on edges and on hole
        // boundaries, grid rows' edges, and points between.
        for i in -4..=56 {
            for j in -4..=52 {
                let (lon, lat) = (f64::from(i) * 0.25, f64::from(j) * 0.25);
                let p = Point::new(lon, lat);
                let brute: Vec<u32> =
                    regions.iter().enumerate().filter(|(_, r)| r.1.contains(&p)).map(|(k, _)| k as u32).collect();
                assert_eq!(lookup.containing(lon, lat), brute, "at {lon},{lat}");
                boundary += usize::from(regions.iter().any(|r| {
                    use geo::coordinate_position::{CoordPos, CoordinatePosition};
                    r.1.coordinate_position(&p.0) == CoordPos::OnBoundary
                }));
            }
        }
        assert!(boundary > 100, "the points include boundaries ({boundary})");
    }

    #[test]
    fn kinds_are_reported_separately() {
        let lookup = RegionLookup::new(&[
            (RegionKind::District, square(0.0, 0.0, 10.0)),
            (RegionKind::Park, square(2.0, 2.0, 1.0)),
        ]);
        assert_eq!(lookup.locate(2.5, 2.5), RegionHit { district: Some(0), street: None, park: Some(1) });
        assert_eq!(lookup.locate(5.0, 5.0), RegionHit { district: Some(0), street: None, park: None });
        assert_eq!(lookup.locate(50.0, 5.0), RegionHit::default());
        assert_eq!(RegionLookup::new(&[]).locate(1.0, 1.0), RegionHit::default());
    }
}
