//! Morton (Z-order) keys over Web Mercator.
//!
//! A point's key interleaves the bits of its tile column and row at
//! [`KEY_ZOOM`]. Sorting records by key puts every tile's records in one
//! contiguous run: tile `(z, x, y)` holds exactly the keys whose top `2z`
//! bits are `interleave(x, y)`. That is what makes a tile's aggregate cost
//! proportional to the tile's contents rather than the city's size: two
//! binary searches find the run.

use std::ops::Range;

use super::mercator::{TileId, lonlat_to_unit};

/// Zoom whose tile grid the keys resolve: at zoom 24 a cell is about 2 m at
/// the equator, finer than any aggregate the service draws.
pub const KEY_ZOOM: u8 = 24;

/// Spreads the low 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut v = v as u64;
    v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    v = (v | (v << 1)) & 0x5555_5555_5555_5555;
    v
}

/// Inverse of [`spread`].
fn compact(v: u64) -> u32 {
    let mut v = v & 0x5555_5555_5555_5555;
    v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
    v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF;
    v as u32
}

/// Interleaves column `x` (even bits) and row `y` (odd bits).
pub fn interleave(x: u32, y: u32) -> u64 {
    spread(x) | (spread(y) << 1)
}

/// Inverse of [`interleave`].
pub fn deinterleave(key: u64) -> (u32, u32) {
    (compact(key), compact(key >> 1))
}

/// Key of a lon/lat point at [`KEY_ZOOM`].
pub fn key(lon: f64, lat: f64) -> u64 {
    let (x, y) = lonlat_to_unit(lon, lat);
    let n = (1u64 << KEY_ZOOM) as f64;
    let max = (1u32 << KEY_ZOOM) - 1;
    let col = ((x * n) as i64).clamp(0, max as i64) as u32;
    let row = ((y * n) as i64).clamp(0, max as i64) as u32;
    interleave(col, row)
}

/// The keys of all points inside `tile`.
pub fn tile_range(tile: TileId) -> Range<u64> {
    let shift = 2 * (KEY_ZOOM - tile.z.min(KEY_ZOOM)) as u32;
    let start = interleave(tile.x, tile.y) << shift;
    start..start + (1u64 << shift)
}

/// The tile at zoom `z` (≤ [`KEY_ZOOM`]) that contains a key.
pub fn tile_of(key: u64, z: u8) -> TileId {
    let (x, y) = deinterleave(key >> (2 * (KEY_ZOOM - z) as u32));
    TileId { z, x, y }
}

/// Stable identifier of the grid cell at `level` (≤ [`KEY_ZOOM`]) containing
/// `key`: the level in the top 6 bits, the cell's Morton code below. Unique
/// across levels, identical in every tile that shows the cell.
pub fn cell_id(key: u64, level: u8) -> u64 {
    ((level as u64) << 58) | (key >> (2 * (KEY_ZOOM - level) as u32))
}

/// The id of the cell at `level` containing the cell `id` (whose level is
/// `level` or finer): [`cell_id`] of any key inside it.
pub fn parent_id(id: u64, level: u8) -> u64 {
    let own = (id >> 58) as u8;
    ((level as u64) << 58) | ((id & ((1u64 << 58) - 1)) >> (2 * own.saturating_sub(level) as u32))
}

/// The cell addressed by a [`cell_id`], as a tile at the cell's level.
pub fn cell_tile(id: u64) -> TileId {
    let level = (id >> 58) as u8;
    let (x, y) = deinterleave(id & ((1u64 << 58) - 1));
    TileId { z: level, x, y }
}

/// Tiles per side of the covers [`box_ranges`] makes, at most.
const COVER_SIDE: u32 = 8;

/// Key ranges, ascending and disjoint, that together hold every key whose
/// cell at [`KEY_ZOOM`] meets the unit-square box from `min` to `max`
/// (`[x, y]` corners): the box's tiles at the finest zoom where it spans
/// at most [`COVER_SIDE`] tiles a side, ranges of tiles that follow each
/// other in key order merged. A sorted array of keys holds the box's
/// points in these runs, among others: the cover's area is at most about
/// 2.5 times the box's for a box wider than a few key cells.
pub fn box_ranges(min: [f64; 2], max: [f64; 2]) -> Vec<Range<u64>> {
    let n = (1u64 << KEY_ZOOM) as f64;
    let last = (1i64 << KEY_ZOOM) - 1;
    let cell = |v: f64| ((v * n).floor() as i64).clamp(0, last) as u32;
    let (c0, r0, c1, r1) = (cell(min[0]), cell(min[1]), cell(max[0]), cell(max[1]));
    if c1 < c0 || r1 < r0 {
        return Vec::new();
    }
    let mut shift = 0;
    while shift < u32::from(KEY_ZOOM)
        && ((c1 >> shift) - (c0 >> shift) >= COVER_SIDE || (r1 >> shift) - (r0 >> shift) >= COVER_SIDE)
    {
        shift += 1;
    }
    let z = KEY_ZOOM - shift as u8;
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for x in c0 >> shift..=c1 >> shift {
        for y in r0 >> shift..=r1 >> shift {
            ranges.push(tile_range(TileId { z, x, y }));
        }
    }
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(m) if m.end == r.start => m.end = r.end,
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_id_is_the_cell_id_of_any_key_inside() {
        for &(lon, lat) in &[(117.0, 36.65), (120.15, 30.28), (-0.1, 51.5), (179.9, -85.0)] {
            let k = key(lon, lat);
            for fine in 0..=KEY_ZOOM {
                for level in 0..=fine {
                    assert_eq!(parent_id(cell_id(k, fine), level), cell_id(k, level), "{lon},{lat} {fine}->{level}");
                }
            }
        }
    }

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [(0, 0), (1, 0), (0, 1), (844, 399), ((1 << 24) - 1, 12345)] {
            assert_eq!(deinterleave(interleave(x, y)), (x, y));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
        assert_eq!(interleave(3, 3), 15);
    }

    #[test]
    fn a_point_key_lies_in_the_range_of_every_tile_containing_it() {
        let k = key(117.02, 36.66);
        for z in 0..=KEY_ZOOM {
            let t = tile_of(k, z);
            assert!(tile_range(t).contains(&k), "zoom {z}");
            if z == 10 {
                assert_eq!((t.x, t.y), (844, 399));
            }
        }
    }

    #[test]
    fn cells_round_trip() {
        let k = key(117.02, 36.66);
        let id = cell_id(k, 15);
        assert_eq!(cell_tile(id), tile_of(k, 15));
        assert_ne!(cell_id(k, 15), cell_id(k, 16));
    }

    #[test]
    fn box_ranges_hold_exactly_the_keys_that_can_meet_the_box() {
        let mut rng = crate::generate::rng::Rng::new(3, 0);
        for _ in 0..300 {
            // Boxes from a few key cells to a few kilometres, near Jinan.
            let side = 10f64.powf(-8.0 + 4.0 * rng.f64());
            let (x, y) = lonlat_to_unit(116.9 + rng.f64() * 0.3, 36.5 + rng.f64() * 0.3);
            let (min, max) = ([x, y], [x + side, y + side * (0.5 + rng.f64())]);
            let ranges = box_ranges(min, max);
            assert!(ranges.windows(2).all(|w| w[0].end < w[1].start), "ascending, disjoint, merged");
            let n = (1u64 << KEY_ZOOM) as f64;
            let (c0, r0) = ((min[0] * n) as u32, (min[1] * n) as u32);
            let (c1, r1) = ((max[0] * n) as u32, (max[1] * n) as u32);
            // Every cell of the box and a ring around it.
            let step = ((c1 - c0) / 40).max(1);
            for c in (c0.saturating_sub(2 * step)..=c1 + 2 * step).step_by(step as usize) {
                for r in (r0.saturating_sub(2 * step)..=r1 + 2 * step).step_by(step as usize) {
                    let key = interleave(c, r);
                    let held = ranges.iter().any(|g| g.contains(&key));
                    if (c0..=c1).contains(&c) && (r0..=r1).contains(&r) {
                        assert!(held, "cell ({c}, {r}) of the box");
                    }
                }
            }
            let covered: u64 = ranges.iter().map(|g| g.end - g.start).sum();
            let area = u64::from(c1 - c0 + 1) * u64::from(r1 - r0 + 1);
            assert!(covered >= area);
            if c1 - c0 >= 16 && r1 - r0 >= 16 {
                assert!(covered <= 3 * area, "{covered} keys for a box of {area}");
            }
        }
        assert!(box_ranges([0.5, 0.5], [0.4, 0.6]).is_empty());
        assert_eq!(box_ranges([0.0, 0.0], [1.0, 1.0]), vec![0..1u64 << (2 * KEY_ZOOM)]);
    }
}
