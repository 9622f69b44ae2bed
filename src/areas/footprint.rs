//! What a study area counts: the grid cells of level [`LEVEL`] (about 245 m
//! in Jinan, 0.06 km²) whose centre lies inside the shape, or — for a shape
//! too small to hold a cell centre — the cell holding its interior point.
//!
//! Talent numbers of a study area are counted over these cells, for every
//! role: a shape drawn around one house counts the whole cell it lies in,
//! like a grid cell of the talents layer, so an outline adds no finer
//! presence test than the map already has (`docs/privacy.md`). Enterprises
//! and openings are not personal data and are counted inside the exact
//! shape.
//!
//! Cells are found by scanlines: for each cell row, the shape's edges are
//! crossed at the row's centre line and the columns between crossing pairs
//! kept (even–odd rule, so holes stay out): rows × edges work, not cells ×
//! edges.

use std::ops::Range;

use geo::{Coord, InteriorPoint, Intersects, MultiPolygon, Point, Rect};

use crate::spatial::mercator::{lonlat_to_unit, unit_to_lonlat};
use crate::spatial::morton::{self, KEY_ZOOM};

/// Level of the cells a study area is counted over.
pub const LEVEL: u8 = 17;
/// Bits of a level-[`KEY_ZOOM`] key below a cell's code.
const SHIFT: u32 = 2 * (KEY_ZOOM - LEVEL) as u32;

/// A study area resolved into cells.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// Morton codes of the cells at [`LEVEL`], sorted, distinct.
    cells: Vec<u64>,
    /// The cells as ranges of point keys, adjacent cells merged, sorted.
    ranges: Vec<Range<u64>>,
    /// The cells as row runs `(row, first column, last column)`.
    runs: Vec<(u32, u32, u32)>,
    /// The exact shape, for enterprises and openings.
    shape: MultiPolygon<f64>,
    bbox: [f64; 4],
}

impl Footprint {
    /// The cells of `shape`.
    pub fn of(shape: &MultiPolygon<f64>) -> Footprint {
        let n = (1u64 << LEVEL) as f64;
        // Edges in cell coordinates.
        let mut edges: Vec<([f64; 2], [f64; 2])> = Vec::new();
        for poly in &shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    let (ax, ay) = lonlat_to_unit(w[0].x, w[0].y);
                    let (bx, by) = lonlat_to_unit(w[1].x, w[1].y);
                    edges.push(([ax * n, ay * n], [bx * n, by * n]));
                }
            }
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (a, b) in &edges {
            lo = lo.min(a[1]).min(b[1]);
            hi = hi.max(a[1]).max(b[1]);
        }
        let mut cells = Vec::new();
        let mut runs = Vec::new();
        if lo.is_finite() {
            let max = n as i64 - 1;
            let mut xs: Vec<f64> = Vec::new();
            for row in (lo.floor() as i64).max(0)..=(hi.ceil() as i64).min(max) {
                let yc = row as f64 + 0.5;
                xs.clear();
                for (a, b) in &edges {
                    if (a[1] <= yc) != (b[1] <= yc) {
                        xs.push(a[0] + (yc - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
                    }
                }
                xs.sort_by(f64::total_cmp);
                for pair in xs.chunks_exact(2) {
                    // Columns whose centre c + 0.5 lies in [x0, x1).
                    let first = ((pair[0] - 0.5).ceil() as i64).max(0);
                    let last = ((pair[1] - 0.5).ceil() as i64 - 1).min(max);
                    if first <= last {
                        runs.push((row as u32, first as u32, last as u32));
                    }
                    for col in first..=last {
                        cells.push(morton::interleave(col as u32, row as u32));
                    }
                }
            }
        }
        if cells.is_empty()
            && let Some(p) = shape.interior_point()
        {
            let cell = morton::key(p.x(), p.y()) >> SHIFT;
            let (col, row) = morton::deinterleave(cell);
            cells.push(cell);
            runs.push((row, col, col));
        }
        cells.sort_unstable();
        cells.dedup();
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for &c in &cells {
            let r = (c << SHIFT)..((c + 1) << SHIFT);
            match ranges.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => ranges.push(r),
            }
        }
        Footprint { cells, ranges, runs, shape: shape.clone(), bbox: super::bbox(shape) }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there are no cells (never, for a footprint of a non-empty shape).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Point-key ranges of the cells, sorted: records sorted by key (talents
    /// by home) are found by two binary searches per range.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Whether a point key (a talent's home or workplace) lies in one of the cells.
    pub fn holds_key(&self, key: u64) -> bool {
        key != crate::snapshot::NO_KEY && self.cells.binary_search(&(key >> SHIFT)).is_ok()
    }

    /// Whether the level-[`LEVEL`] cell with Morton code `code` is one of the cells.
    pub fn holds_cell(&self, code: u64) -> bool {
        self.cells.binary_search(&code).is_ok()
    }

    /// Whether a position (an enterprise) lies inside the exact shape
    /// (boundary included).
    pub fn holds_point(&self, lon: f64, lat: f64) -> bool {
        let b = &self.bbox;
        lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3] && self.shape.intersects(&Point::new(lon, lat))
    }

    /// `[west, south, east, north]` of the shape.
    pub fn bbox(&self) -> [f64; 4] {
        self.bbox
    }

    /// The cells as rectangles, one per run of cells in a row.
    pub fn rectangles(&self) -> impl Iterator<Item = Rect<f64>> + '_ {
        let n = (1u64 << LEVEL) as f64;
        self.runs.iter().map(move |&(row, first, last)| {
            let (w, n_lat) = unit_to_lonlat(first as f64 / n, row as f64 / n);
            let (e, s_lat) = unit_to_lonlat((last + 1) as f64 / n, (row + 1) as f64 / n);
            Rect::new(Coord { x: w, y: s_lat }, Coord { x: e, y: n_lat })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    /// `[lon, lat]` of each cell's centre.
    fn centres(f: &Footprint) -> Vec<[f64; 2]> {
        let n = (1u64 << LEVEL) as f64;
        f.cells
            .iter()
            .map(|&c| {
                let (x, y) = morton::deinterleave(c);
                let (lon, lat) = unit_to_lonlat((x as f64 + 0.5) / n, (y as f64 + 0.5) / n);
                [lon, lat]
            })
            .collect()
    }

    fn square(w: f64, s: f64, e: f64, n: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![Polygon::new(LineString::from(vec![(w, s), (e, s), (e, n), (w, n), (w, s)]), vec![])])
    }

    #[test]
    fn cells_are_those_whose_centre_is_inside() {
        let shape = square(117.00, 36.60, 117.05, 36.64);
        let f = Footprint::of(&shape);
        assert!(!f.is_empty());
        // Every centre inside, and every cell whose centre is inside found.
        for [lon, lat] in centres(&f) {
            assert!(f.holds_point(lon, lat), "{lon},{lat}");
        }
        let n = (1u64 << LEVEL) as f64;
        let (x0, y1) = lonlat_to_unit(117.00, 36.60);
        let (x1, y0) = lonlat_to_unit(117.05, 36.64);
        let cols = ((x1 * n - 0.5).ceil() - (x0 * n - 0.5).ceil()) as usize;
        let rows = ((y1 * n - 0.5).ceil() - (y0 * n - 0.5).ceil()) as usize;
        assert_eq!(f.len(), cols * rows);
        // Keys: a point in the middle is held, one outside is not.
        assert!(f.holds_key(morton::key(117.025, 36.62)));
        assert!(!f.holds_key(morton::key(117.10, 36.62)));
        // Runs cover the same cells, rows of the rectangle.
        let area: f64 = f.rectangles().map(|r| r.width() * r.height()).sum();
        assert!((area - 0.05 * 0.04).abs() < 0.05 * 0.04 * 0.05, "{area}");
        // Ranges cover exactly the cells.
        let covered: u64 = f.ranges().iter().map(|r| (r.end - r.start) >> SHIFT).sum();
        assert_eq!(covered as usize, f.len());
        assert!(f.ranges().windows(2).all(|w| w[0].end < w[1].start));
    }

    #[test]
    fn holes_are_left_out_and_tiny_shapes_get_their_cell() {
        let outer = square(117.00, 36.60, 117.05, 36.64).0.remove(0);
        let hole = square(117.02, 36.61, 117.03, 36.63).0.remove(0);
        let with_hole = MultiPolygon(vec![Polygon::new(outer.exterior().clone(), vec![hole.exterior().clone()])]);
        let f = Footprint::of(&with_hole);
        assert!(!f.holds_key(morton::key(117.025, 36.62)));
        assert!(f.holds_key(morton::key(117.01, 36.62)));
        // 20 m across: no cell centre inside, the interior point's cell counts.
        let tiny = square(117.0200, 36.6200, 117.0202, 36.6202);
        let t = Footprint::of(&tiny);
        assert_eq!(t.len(), 1);
        assert!(t.holds_key(morton::key(117.0201, 36.6201)));
    }
}
