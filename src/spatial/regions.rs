//! Point-in-region lookup: which district and park a point falls in.
//!
//! Every imported record is assigned its regions, millions of points against
//! polygons of thousands of vertices, so a per-point polygon test against
//! every region is too slow. A uniform grid over the regions' extent records,
//! per cell, the regions that wholly contain the cell and the regions whose
//! boundary passes through it. A point then costs one cell lookup plus exact
//! tests against only the boundary regions of its cell.

use geo::{BoundingRect, Contains, Coord, MultiPolygon, Point, Rect};

use crate::model::RegionKind;

/// Grid cells per side.
const GRID: usize = 256;

#[derive(Debug, Clone, Default)]
struct Cell {
    /// Regions containing the whole cell.
    inside: Vec<u32>,
    /// Regions whose boundary crosses the cell: test exactly.
    boundary: Vec<u32>,
}

/// Regions indexed for point queries. Region numbers are positions in the
/// slice given to [`RegionLookup::new`].
#[derive(Debug, Clone)]
pub struct RegionLookup {
    kinds: Vec<RegionKind>,
    polygons: Vec<MultiPolygon<f64>>,
    extent: Option<Rect<f64>>,
    cell_w: f64,
    cell_h: f64,
    cells: Vec<Cell>,
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
        let mut lookup = RegionLookup { kinds, polygons, extent, cell_w: 1.0, cell_h: 1.0, cells: Vec::new() };
        let Some(extent) = extent else { return lookup };
        lookup.cell_w = (extent.width() / GRID as f64).max(1e-9);
        lookup.cell_h = (extent.height() / GRID as f64).max(1e-9);
        lookup.cells = vec![Cell::default(); GRID * GRID];
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
                        lookup.cells[i].boundary.push(index as u32);
                    } else {
                        let centre = Point::new(
                            extent.min().x + (c as f64 + 0.5) * lookup.cell_w,
                            extent.min().y + (r as f64 + 0.5) * lookup.cell_h,
                        );
                        if polygon.contains(&centre) {
                            lookup.cells[i].inside.push(index as u32);
                        }
                    }
                }
            }
        }
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
        let cell = &self.cells[r * GRID + c];
        let p = Point::new(lon, lat);
        let mut found: Vec<u32> = cell.inside.clone();
        found.extend(cell.boundary.iter().copied().filter(|&i| self.polygons[i as usize].contains(&p)));
        found.sort_unstable();
        found
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
