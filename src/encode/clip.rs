//! Clipping, simplification and projection of geometry into tile coordinates.
//!
//! A vector tile carries only what falls inside its square plus a small
//! buffer (so that strokes and fills meet seamlessly across tile edges), at
//! the precision of its integer grid. District and park boundaries are far
//! larger and finer than that, so before encoding they are projected to the
//! tile's coordinate frame, clipped to the buffered square, simplified to
//! about a grid unit, and rounded. All of this happens in `f64` tile
//! coordinates; only the final rounding produces the `i32` coordinates the
//! [`mvt`](super::mvt) encoder takes.
//!
//! Ring convention: rings passed in may be open or closed; rings returned by
//! this module are closed (first point repeated at the end), as in `geo`.

use geo::{LineString, MultiLineString, MultiPolygon};

use crate::spatial::{TileId, lonlat_to_unit};

type Pt = (f64, f64);

/// True if `p` lies in the closed square `[min, max]²`.
pub fn point_in_box(p: (f64, f64), min: f64, max: f64) -> bool {
    min <= p.0 && p.0 <= max && min <= p.1 && p.1 <= max
}

/// Clips one polygon's rings to the square `[min, max]²`.
///
/// Parameters: `rings` is one polygon, the exterior first and its holes
/// after it, open or closed, in tile coordinates.
///
/// Returns the clipped rings in the same order, closed, with rings that
/// vanish (fewer than 3 distinct points or zero area) left out. If the
/// exterior vanishes the result is empty: holes have nothing to cut.
///
/// Algorithm: Sutherland–Hodgman per ring against the four box edges in
/// turn. Rings whose bounding box is inside the square are copied, rings
/// whose bounding box misses it are dropped without clipping.
///
/// Notes: like every Sutherland–Hodgman clipper, a concave ring that leaves
/// and re-enters the box can come back with zero-width runs along the box
/// edge instead of being split in two; its area is still exactly the area of
/// the intersection, and the runs lie in the buffer, outside the visible
/// tile.
pub fn clip_polygon(rings: &[Vec<(f64, f64)>], min: f64, max: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let clipped = clip_ring(ring, min, max);
        if clipped.is_empty() {
            if i == 0 {
                return Vec::new();
            }
            continue;
        }
        out.push(clipped);
    }
    out
}

/// Clips a single ring (see [`clip_polygon`]); empty if nothing is left.
fn clip_ring(ring: &[Pt], min: f64, max: f64) -> Vec<Pt> {
    let open = strip_closure(ring);
    if open.len() < 3 {
        return Vec::new();
    }
    let (lo, hi) = bbox(open);
    if hi.0 < min || hi.1 < min || lo.0 > max || lo.1 > max {
        return Vec::new();
    }
    let mut cur: Vec<Pt> = open.to_vec();
    if !(point_in_box(lo, min, max) && point_in_box(hi, min, max)) {
        let mut next = Vec::with_capacity(open.len() + 4);
        // (axis, bound, keep the side with coordinate >= bound?)
        for (axis, bound, keep_ge) in [(0, min, true), (0, max, false), (1, min, true), (1, max, false)] {
            clip_against(&cur, &mut next, axis, bound, keep_ge);
            std::mem::swap(&mut cur, &mut next);
            if cur.is_empty() {
                return Vec::new();
            }
        }
    }
    cur.dedup();
    while cur.len() > 1 && cur.first() == cur.last() {
        cur.pop();
    }
    if cur.len() < 3 || ring_area2(&cur) == 0.0 {
        return Vec::new();
    }
    cur.push(cur[0]);
    cur
}

/// One Sutherland–Hodgman pass: keeps the part of the open ring `input` on
/// one side of the line `coordinate[axis] = bound`, writing it to `out`.
fn clip_against(input: &[Pt], out: &mut Vec<Pt>, axis: usize, bound: f64, keep_ge: bool) {
    out.clear();
    let coord = |p: Pt| if axis == 0 { p.0 } else { p.1 };
    let inside = |p: Pt| {
        if keep_ge { coord(p) >= bound } else { coord(p) <= bound }
    };
    let Some(&last) = input.last() else { return };
    let mut prev = last;
    let mut prev_in = inside(prev);
    for &p in input {
        let p_in = inside(p);
        if p_in != prev_in {
            out.push(intersect(prev, p, axis, bound));
        }
        if p_in {
            out.push(p);
        }
        prev = p;
        prev_in = p_in;
    }
}

/// Point where segment `a`–`b` crosses `coordinate[axis] = bound`.
///
/// The crossing coordinate is set to `bound` exactly and the other one is
/// clamped between the endpoints' values, so rounding can never push the
/// result out of the box.
fn intersect(a: Pt, b: Pt, axis: usize, bound: f64) -> Pt {
    let (a_on, a_off, b_on, b_off) = if axis == 0 { (a.0, a.1, b.0, b.1) } else { (a.1, a.0, b.1, b.0) };
    let t = (bound - a_on) / (b_on - a_on);
    let off = (a_off + t * (b_off - a_off)).clamp(a_off.min(b_off), a_off.max(b_off));
    if axis == 0 { (bound, off) } else { (off, bound) }
}

/// Clips a polyline to the square `[min, max]²`.
///
/// Returns the visible pieces in order; a line that leaves and re-enters the
/// box becomes several pieces. Pieces have at least two points (they may
/// coincide if the line only touches the box).
///
/// Algorithm: Liang–Barsky per segment; consecutive visible segments that
/// join inside the box are chained into one piece.
pub fn clip_line(line: &[(f64, f64)], min: f64, max: f64) -> Vec<Vec<(f64, f64)>> {
    let mut pieces = Vec::new();
    if line.len() < 2 {
        return pieces;
    }
    let (lo, hi) = bbox(line);
    if point_in_box(lo, min, max) && point_in_box(hi, min, max) {
        pieces.push(line.to_vec());
        return pieces;
    }
    if hi.0 < min || hi.1 < min || lo.0 > max || lo.1 > max {
        return pieces;
    }
    let mut piece: Vec<Pt> = Vec::new();
    // Whether the previous segment was kept up to its end point.
    let mut joined = false;
    for w in line.windows(2) {
        match clip_segment(w[0], w[1], min, max) {
            Some((a, b, t0, t1)) => {
                if !(joined && t0 == 0.0) {
                    if piece.len() >= 2 {
                        pieces.push(std::mem::take(&mut piece));
                    }
                    piece.clear();
                    piece.push(a);
                }
                piece.push(b);
                joined = t1 == 1.0;
            }
            None => joined = false,
        }
    }
    if piece.len() >= 2 {
        pieces.push(piece);
    }
    pieces
}

/// Liang–Barsky: the part of segment `a`–`b` inside `[min, max]²` as its
/// end points and their parameters `t0 ≤ t1` along the segment.
fn clip_segment(a: Pt, b: Pt, min: f64, max: f64) -> Option<(Pt, Pt, f64, f64)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [(-dx, a.0 - min), (dx, max - a.0), (-dy, a.1 - min), (dy, max - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            ((a.0 + t * dx).clamp(min, max), (a.1 + t * dy).clamp(min, max))
        }
    };
    Some((at(t0), at(t1), t0, t1))
}

/// Douglas–Peucker simplification of a polyline.
///
/// Parameters: `tolerance` is the largest distance (tile units) a removed
/// point may lie from the simplified line.
///
/// Returns the kept points, always including both end points (lines with
/// fewer than 3 points are returned as they are).
///
/// Notes: distances are to the segment, not its infinite line, so a spike
/// that doubles back is kept; with `tolerance` 0 only exactly collinear
/// interior points are removed.
pub fn simplify_line(line: &[(f64, f64)], tolerance: f64) -> Vec<(f64, f64)> {
    if line.len() < 3 {
        return line.to_vec();
    }
    let keep = douglas_peucker(line, tolerance);
    line.iter().zip(keep).filter_map(|(&p, k)| k.then_some(p)).collect()
}

/// Douglas–Peucker simplification of a ring.
///
/// Returns a closed ring (at least 4 points including the closure), or an
/// empty `Vec` if the ring collapses below that, so the caller can drop it.
///
/// Algorithm: the ring is closed if open; the first point is kept as both
/// ends, and the recursion's first split is at the point farthest from it.
pub fn simplify_ring(ring: &[(f64, f64)], tolerance: f64) -> Vec<(f64, f64)> {
    let open = strip_closure(ring);
    if open.len() < 3 {
        return Vec::new();
    }
    let mut closed = open.to_vec();
    closed.push(open[0]);
    let out = simplify_line(&closed, tolerance);
    if out.len() < 4 { Vec::new() } else { out }
}

/// Flags the points Douglas–Peucker keeps (iterative, no recursion).
fn douglas_peucker(points: &[Pt], tolerance: f64) -> Vec<bool> {
    let n = points.len();
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((first, last)) = stack.pop() {
        if last <= first + 1 {
            continue;
        }
        let (a, b) = (points[first], points[last]);
        let mut worst = (first, -1.0f64);
        for (i, &p) in points.iter().enumerate().take(last).skip(first + 1) {
            let d = segment_distance2(p, a, b);
            if d > worst.1 {
                worst = (i, d);
            }
        }
        if worst.1 > tolerance * tolerance {
            keep[worst.0] = true;
            stack.push((first, worst.0));
            stack.push((worst.0, last));
        }
    }
    keep
}

/// Squared distance from `p` to segment `a`–`b`.
fn segment_distance2(p: Pt, a: Pt, b: Pt) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let (px, py) = (p.0 - a.0, p.1 - a.1);
    if len2 == 0.0 {
        return px * px + py * py;
    }
    let t = (px * dx + py * dy) / len2;
    if t <= 0.0 {
        px * px + py * py
    } else if t >= 1.0 {
        let (qx, qy) = (p.0 - b.0, p.1 - b.1);
        qx * qx + qy * qy
    } else {
        let cross = px * dy - py * dx;
        cross * cross / len2
    }
}

/// Projects a lon/lat point into tile `tile`'s coordinates and rounds it.
pub fn point_to_tile(tile: TileId, extent: u32, lon: f64, lat: f64) -> (i32, i32) {
    let (x, y) = project(tile, extent, lon, lat);
    (x.round() as i32, y.round() as i32)
}

/// Prepares a lon/lat multipolygon for [`LayerBuilder::add_polygon`](super::mvt::LayerBuilder::add_polygon).
///
/// Parameters: `tile` and `extent` set the frame; `buffer` is the margin
/// around the tile kept, in tile units (e.g. 64 of 4096); `tolerance` the
/// Douglas–Peucker tolerance in tile units (0 keeps every non-collinear
/// vertex; ~1 drops detail below the grid).
///
/// Returns polygons as lists of closed integer rings, each exterior followed
/// by its holes; polygons outside the buffered tile or collapsing to nothing
/// are left out.
///
/// Algorithm: project each vertex (`lonlat_to_unit` → `to_tile_coords`),
/// clip each polygon to `[-buffer, extent + buffer]²`, simplify each ring,
/// round, drop consecutive duplicates and rings left with fewer than 3
/// distinct points or zero area (a vanished exterior takes its holes along).
pub fn polygon_to_tile(
    tile: TileId,
    extent: u32,
    buffer: u32,
    tolerance: f64,
    polygon: &MultiPolygon<f64>,
) -> Vec<Vec<Vec<(i32, i32)>>> {
    let (min, max) = (-f64::from(buffer), f64::from(extent) + f64::from(buffer));
    let mut out = Vec::new();
    let mut projected: Vec<Vec<Pt>> = Vec::new();
    for poly in polygon {
        projected.clear();
        projected.push(project_line(tile, extent, poly.exterior()));
        projected.extend(poly.interiors().iter().map(|r| project_line(tile, extent, r)));
        let mut rings = Vec::new();
        for (i, ring) in clip_polygon(&projected, min, max).iter().enumerate() {
            let simplified = simplify_ring(ring, tolerance);
            let rounded = round_ring(&simplified);
            if rounded.is_empty() {
                if i == 0 {
                    break;
                }
                continue;
            }
            rings.push(rounded);
        }
        if !rings.is_empty() {
            out.push(rings);
        }
    }
    out
}

/// Prepares lon/lat lines for [`LayerBuilder::add_linestring`](super::mvt::LayerBuilder::add_linestring).
///
/// Parameters as in [`polygon_to_tile`].
///
/// Returns the visible pieces as integer polylines with at least two
/// distinct points each.
///
/// Algorithm: project, clip (a line may split into several pieces),
/// simplify, round, drop consecutive duplicates and pieces shorter than two
/// points.
pub fn line_to_tile(
    tile: TileId,
    extent: u32,
    buffer: u32,
    tolerance: f64,
    lines: &MultiLineString<f64>,
) -> Vec<Vec<(i32, i32)>> {
    let (min, max) = (-f64::from(buffer), f64::from(extent) + f64::from(buffer));
    let mut out = Vec::new();
    for line in lines {
        let projected = project_line(tile, extent, line);
        for piece in clip_line(&projected, min, max) {
            let mut rounded: Vec<(i32, i32)> = simplify_line(&piece, tolerance).iter().map(|&p| round(p)).collect();
            rounded.dedup();
            if rounded.len() >= 2 {
                out.push(rounded);
            }
        }
    }
    out
}

fn project(tile: TileId, extent: u32, lon: f64, lat: f64) -> Pt {
    let (ux, uy) = lonlat_to_unit(lon, lat);
    tile.to_tile_coords(ux, uy, extent)
}

fn project_line(tile: TileId, extent: u32, line: &LineString<f64>) -> Vec<Pt> {
    line.coords().map(|c| project(tile, extent, c.x, c.y)).collect()
}

fn round(p: Pt) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

/// Rounds a closed ring to integers; empty if it degenerates.
fn round_ring(ring: &[Pt]) -> Vec<(i32, i32)> {
    let mut r: Vec<(i32, i32)> = ring.iter().map(|&p| round(p)).collect();
    r.dedup();
    while r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    if r.len() < 3 || super::mvt::signed_area2(&r) == 0 {
        return Vec::new();
    }
    r.push(r[0]);
    r
}

/// The ring without its closing duplicate point(s).
fn strip_closure(ring: &[Pt]) -> &[Pt] {
    let mut n = ring.len();
    while n > 1 && ring[n - 1] == ring[0] {
        n -= 1;
    }
    &ring[..n]
}

/// Bounding box `(min corner, max corner)` of a non-empty point list.
fn bbox(points: &[Pt]) -> (Pt, Pt) {
    let mut lo = (f64::INFINITY, f64::INFINITY);
    let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        lo = (lo.0.min(x), lo.1.min(y));
        hi = (hi.0.max(x), hi.1.max(y));
    }
    (lo, hi)
}

/// Twice the signed (surveyor's) area of an open ring, relative to its
/// first point to limit cancellation.
fn ring_area2(ring: &[Pt]) -> f64 {
    let Some(&(x0, y0)) = ring.first() else {
        return 0.0;
    };
    ring.windows(2).map(|w| (w[0].0 - x0) * (w[1].1 - y0) - (w[1].0 - x0) * (w[0].1 - y0)).sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Coord, Polygon, Rect};
    use proptest::prelude::*;

    fn area(rings: &[Vec<Pt>]) -> f64 {
        rings.iter().enumerate().map(|(i, r)| ring_area2(r).abs() / 2.0 * if i == 0 { 1.0 } else { -1.0 }).sum()
    }

    /// Rotation of a closed ring so that it starts at its smallest point,
    /// for order-insensitive comparison.
    fn canonical(ring: &[Pt]) -> Vec<Pt> {
        let open = strip_closure(ring);
        let start = (0..open.len()).min_by(|&a, &b| open[a].partial_cmp(&open[b]).unwrap()).unwrap();
        let mut r: Vec<Pt> = open[start..].iter().chain(&open[..start]).copied().collect();
        r.push(r[0]);
        r
    }

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Pt> {
        vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    }

    #[test]
    fn square_partially_outside_is_cut_to_the_box() {
        let clipped = clip_polygon(&[square(-100.0, 1000.0, 500.0, 5000.0)], -64.0, 4160.0);
        assert_eq!(clipped.len(), 1);
        assert_eq!(canonical(&clipped[0]), canonical(&square(-64.0, 1000.0, 500.0, 4160.0)));
    }

    #[test]
    fn polygon_inside_is_unchanged_and_outside_vanishes() {
        let rings = vec![square(10.0, 10.0, 100.0, 100.0), square(20.0, 20.0, 30.0, 30.0)];
        assert_eq!(clip_polygon(&rings, 0.0, 4096.0), rings);
        assert!(clip_polygon(&[square(5000.0, 5000.0, 6000.0, 6000.0)], 0.0, 4096.0).is_empty());
        // Bounding box overlaps the box but the triangle does not.
        let triangle = vec![(4000.0, 4200.0), (4200.0, 4000.0), (4200.0, 4200.0)];
        assert!(clip_polygon(&[triangle], 0.0, 4096.0).is_empty());
        // A hole outside the box is dropped, a hole across the edge is cut.
        let rings =
            vec![square(0.0, 0.0, 200.0, 200.0), square(150.0, 150.0, 190.0, 190.0), square(50.0, 50.0, 150.0, 150.0)];
        let clipped = clip_polygon(&rings, 0.0, 100.0);
        assert_eq!(clipped.len(), 2);
        assert_eq!(canonical(&clipped[0]), canonical(&square(0.0, 0.0, 100.0, 100.0)));
        assert_eq!(canonical(&clipped[1]), canonical(&square(50.0, 50.0, 100.0, 100.0)));
        // An exterior clipped away takes its holes along.
        let rings = vec![square(200.0, 200.0, 300.0, 300.0), square(-10.0, -10.0, 10.0, 10.0)];
        assert!(clip_polygon(&rings, 0.0, 100.0).is_empty());
    }

    #[test]
    fn lines_are_cut_and_split() {
        let line = [(-10.0, 50.0), (50.0, 50.0), (50.0, 150.0), (80.0, 150.0), (80.0, 50.0), (120.0, 50.0)];
        assert_eq!(
            clip_line(&line, 0.0, 100.0),
            vec![vec![(0.0, 50.0), (50.0, 50.0), (50.0, 100.0)], vec![(80.0, 100.0), (80.0, 50.0), (100.0, 50.0)]]
        );
        let inside = [(1.0, 1.0), (2.0, 2.0), (3.0, 1.0)];
        assert_eq!(clip_line(&inside, 0.0, 100.0), vec![inside.to_vec()]);
        assert!(clip_line(&[(200.0, 0.0), (300.0, 0.0)], 0.0, 100.0).is_empty());
        // Diagonal through a corner region that misses the box.
        assert!(clip_line(&[(-50.0, 40.0), (40.0, -50.0)], 0.0, 100.0).is_empty());
        assert!(point_in_box((0.0, 100.0), 0.0, 100.0));
        assert!(!point_in_box((-0.5, 50.0), 0.0, 100.0));
    }

    #[test]
    fn simplify_removes_collinear_points_only() {
        let line = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (2.0, 1.0), (2.0, 3.0), (5.0, 7.0)];
        assert_eq!(simplify_line(&line, 0.0), vec![(0.0, 0.0), (2.0, 0.0), (2.0, 3.0), (5.0, 7.0)]);
        // Spike doubling back along the same line is not collinear "inside".
        let spike = [(0.0, 0.0), (4.0, 0.0), (2.0, 0.0)];
        assert_eq!(simplify_line(&spike, 0.0), spike.to_vec());
        // Larger tolerance smooths a zigzag to its end points.
        let zigzag = [(0.0, 0.0), (1.0, 0.4), (2.0, -0.4), (3.0, 0.4), (4.0, 0.0)];
        assert_eq!(simplify_line(&zigzag, 0.5), vec![(0.0, 0.0), (4.0, 0.0)]);
        assert_eq!(simplify_line(&zigzag, 0.0), zigzag.to_vec());

        let ring = [(0.0, 0.0), (5.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 5.0), (0.0, 0.0)];
        assert_eq!(simplify_ring(&ring, 0.0), square(0.0, 0.0, 10.0, 10.0));
        // A thin sliver collapses below a triangle and is dropped.
        let sliver = [(0.0, 0.0), (10.0, 0.1), (20.0, 0.0), (10.0, -0.1)];
        assert!(simplify_ring(&sliver, 1.0).is_empty());
        assert_eq!(simplify_ring(&sliver, 0.0).len(), 5);
    }

    #[test]
    fn polygon_and_line_projection_into_a_tile() {
        let tile = TileId::new(10, 844, 403).unwrap();
        let (w, s, e, n) = tile.lonlat_bounds();
        let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
        // A square around the tile centre with a hole, plus one far away.
        let ext = |d: f64| {
            LineString::from(vec![
                (cx - d, cy - d),
                (cx + d, cy - d),
                (cx + d, cy + d),
                (cx - d, cy + d),
                (cx - d, cy - d),
            ])
        };
        let dw = (e - w) / 4.0;
        let poly = Polygon::new(ext(dw), vec![ext(dw / 2.0)]);
        let far = Polygon::new(LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]), vec![]);
        let big = Polygon::new(ext(dw * 8.0), vec![]);
        let mp = MultiPolygon(vec![poly, far, big]);
        let out = polygon_to_tile(tile, 4096, 64, 0.0, &mp);
        assert_eq!(out.len(), 2, "far polygon dropped");
        assert_eq!(out[0].len(), 2, "hole kept");
        let corner = |dx: f64, dy: f64| point_to_tile(tile, 4096, cx + dx, cy + dy);
        let expected = [corner(-dw, -dw), corner(dw, -dw), corner(dw, dw), corner(-dw, dw), corner(-dw, -dw)];
        assert_eq!(out[0][0], expected);
        assert_eq!((expected[0].0, expected[1].0), (1024, 3072));
        // The big square covers the buffered tile: clipped to it exactly.
        let b = &out[1][0];
        assert_eq!(b.len(), 5);
        assert!(b.iter().all(|&(x, y)| [-64, 4160].contains(&x) && [-64, 4160].contains(&y)));

        let (px, py) = point_to_tile(tile, 4096, cx, cy);
        assert!((px - 2048).abs() <= 1 && (py - 2048).abs() <= 30, "{px},{py}");

        let lines = MultiLineString(vec![LineString::from(vec![(w - 1.0, cy), (cx, cy), (cx, n + 1.0)])]);
        let out = line_to_tile(tile, 4096, 64, 0.5, &lines);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0][0], (-64, py));
        assert_eq!(out[0][1], (px, py));
        assert_eq!(out[0][2], (px, -64));
    }

    /// Polygon star-shaped around `c` (hence simple): vertex `i` at radius
    /// `r_i` and an angle advanced by a share of the full turn proportional
    /// to `w_i`. With at least 4 weights in `[0.5, 1)` no angular gap reaches
    /// π, so `c` sees every edge.
    fn star(c: Pt, parts: &[(f64, f64)]) -> Vec<Pt> {
        let total: f64 = parts.iter().map(|p| p.0).sum();
        let mut angle = 0.0f64;
        let mut ring: Vec<Pt> = Vec::new();
        for &(w, r) in parts {
            ring.push((c.0 + r * angle.cos(), c.1 + r * angle.sin()));
            angle += w / total * std::f64::consts::TAU;
        }
        ring.push(ring[0]);
        ring
    }

    proptest! {
        #[test]
        fn clipped_polygons_stay_in_the_box_and_keep_the_intersection_area(
            cx in -3000.0f64..7000.0,
            cy in -3000.0f64..7000.0,
            parts in prop::collection::vec((0.5f64..1.0, 1.0f64..4000.0), 4..24),
        ) {
            let (min, max) = (-64.0, 4160.0);
            let ring = star((cx, cy), &parts);
            let clipped = clip_polygon(std::slice::from_ref(&ring), min, max);
            for r in &clipped {
                for &p in r {
                    prop_assert!(point_in_box(p, min, max), "{p:?}");
                }
            }
            let original = area(std::slice::from_ref(&ring));
            let got = area(&clipped);
            prop_assert!(got <= original * (1.0 + 1e-9) + 1e-6);

            let poly = Polygon::new(LineString::from(ring.clone()), vec![]);
            let bx = Rect::new(Coord { x: min, y: min }, Coord { x: max, y: max }).to_polygon();
            let expected = poly.intersection(&bx).unsigned_area();
            prop_assert!((got - expected).abs() <= 1e-6 * original.max(1.0), "got {got}, expected {expected}");
        }

        #[test]
        fn clipped_lines_stay_in_the_box(
            pts in prop::collection::vec((-500.0f64..600.0, -500.0f64..600.0), 2..20),
        ) {
            for piece in clip_line(&pts, 0.0, 100.0) {
                prop_assert!(piece.len() >= 2);
                for &p in &piece {
                    prop_assert!(point_in_box(p, 0.0, 100.0), "{p:?}");
                }
            }
        }
    }
}
