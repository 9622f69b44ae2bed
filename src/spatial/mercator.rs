//! Web Mercator (EPSG:3857) in unit coordinates and XYZ tile addressing.
//!
//! Unit coordinates put the whole world in `[0, 1) × [0, 1)`, x to the east
//! and y to the south, the frame of slippy-map tiles: tile `(z, x, y)` covers
//! `[x, x+1) × [y, y+1)` scaled by `2^-z`. Latitudes are clamped to
//! ±85.0511°, the square's edge.

use std::fmt;

/// Deepest zoom the service addresses. Tiles beyond it are answered by
/// overzooming on the client.
pub const MAX_ZOOM: u8 = 22;

/// Projects lon/lat in degrees to unit Web Mercator coordinates.
///
/// Algorithm: `x = (lon + 180) / 360`, `y = (1 - ln(tan φ + sec φ) / π) / 2`.
pub fn lonlat_to_unit(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

/// Inverse of [`lonlat_to_unit`].
pub fn unit_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// A tile address that was checked against its zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// An out-of-range tile address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("z must be an integer in 0..={MAX_ZOOM} (digits only, no sign or leading zero), got '{0}'")]
    Zoom(String),
    #[error("{axis} must be an integer in 0..={max} at zoom {z} (digits only, no sign or leading zero), got '{value}'")]
    Coordinate { axis: &'static str, z: u8, max: u32, value: String },
}

impl TileId {
    /// Checks `z ≤ MAX_ZOOM` and `x, y < 2^z`.
    pub fn new(z: u32, x: u64, y: u64) -> Result<TileId, TileError> {
        if z > MAX_ZOOM as u32 {
            return Err(TileError::Zoom(z.to_string()));
        }
        let z = z as u8;
        let n = 1u64 << z;
        for (axis, value) in [("x", x), ("y", y)] {
            if value >= n {
                return Err(TileError::Coordinate { axis, z, max: (n - 1) as u32, value: value.to_string() });
            }
        }
        Ok(TileId { z, x: x as u32, y: y as u32 })
    }

    /// Parses the three path segments of `/{z}/{x}/{y}`.
    ///
    /// Strict, so that every tile has exactly one URL (one cache entry, one
    /// ETag): each segment is ASCII digits with no sign, space or leading
    /// zero (`0` itself is fine; `+1`, `01`, ` 1` and `1.0` are refused),
    /// and in range for the zoom.
    pub fn parse(z: &str, x: &str, y: &str) -> Result<TileId, TileError> {
        let z_num = canonical_number(z).filter(|&n| n <= MAX_ZOOM as u64).ok_or_else(|| TileError::Zoom(z.into()))?;
        let max = (1u64 << z_num) - 1;
        let coord = |axis: &'static str, v: &str| -> Result<u64, TileError> {
            canonical_number(v).ok_or_else(|| TileError::Coordinate {
                axis,
                z: z_num as u8,
                max: max as u32,
                value: v.to_string(),
            })
        };
        TileId::new(z_num as u32, coord("x", x)?, coord("y", y)?)
    }

    /// Side of the tile in unit coordinates.
    pub fn size(self) -> f64 {
        1.0 / (1u64 << self.z) as f64
    }

    /// Unit-coordinate box `(min_x, min_y, max_x, max_y)`.
    pub fn unit_bounds(self) -> (f64, f64, f64, f64) {
        let s = self.size();
        (self.x as f64 * s, self.y as f64 * s, (self.x + 1) as f64 * s, (self.y + 1) as f64 * s)
    }

    /// Lon/lat box `(west, south, east, north)` in degrees.
    pub fn lonlat_bounds(self) -> (f64, f64, f64, f64) {
        let (x0, y0, x1, y1) = self.unit_bounds();
        let (west, north) = unit_to_lonlat(x0, y0);
        let (east, south) = unit_to_lonlat(x1, y1);
        (west, south, east, north)
    }

    /// Tile-local coordinates of a unit point at the given extent (4096 in
    /// MVT 2.1): `(0, 0)` is the tile's north-west corner.
    pub fn to_tile_coords(self, ux: f64, uy: f64, extent: u32) -> (f64, f64) {
        let scale = (1u64 << self.z) as f64 * extent as f64;
        ((ux - self.x as f64 * self.size()) * scale, (uy - self.y as f64 * self.size()) * scale)
    }
}

/// The value of a path segment written as a canonical decimal: digits only,
/// no leading zero unless it is `0`, at most 10 digits (x and y stay below
/// 2^22 at the deepest zoom).
fn canonical_number(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = s.len() > 1 && s.starts_with('0');
    if digits && !leading_zero { s.parse().ok() } else { None }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// Latitude limit of Web Mercator in degrees: the latitude at which the
/// projected world is square, `atan(sinh(π))` ≈ 85.05113°, rounded to the
/// four decimals that every accepted-range message quotes.
pub const MAX_LATITUDE: f64 = 85.0511;

/// The whole projectable world as `[west, south, east, north]` in degrees,
/// the bounds a layer advertises when the snapshot holds no data.
pub const WORLD_BOUNDS: [f64; 4] = [-180.0, -MAX_LATITUDE, 180.0, MAX_LATITUDE];

/// A coordinate in degrees rounded to 1e-6 (about 0.1 m), the precision of
/// every coordinate the API writes.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips() {
        for (lon, lat) in [(117.0, 36.65), (-73.98, 40.75), (0.0, 0.0), (179.9, -85.0)] {
            let (x, y) = lonlat_to_unit(lon, lat);
            let (lon2, lat2) = unit_to_lonlat(x, y);
            assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }
        assert_eq!(lonlat_to_unit(0.0, 0.0), (0.5, 0.5));
    }

    #[test]
    fn tile_containing_jinan_centre() {
        // Quanchengguangchang (泉城广场), 117.02 E 36.66 N, lies in z10 tile 844/399.
        let (x, y) = lonlat_to_unit(117.02, 36.66);
        assert_eq!(((x * 1024.0) as u32, (y * 1024.0) as u32), (844, 399));
        let t = TileId::new(10, 844, 399).unwrap();
        let (w, s, e, n) = t.lonlat_bounds();
        assert!(w < 117.02 && 117.02 < e && s < 36.66 && 36.66 < n);
    }

    #[test]
    fn bad_addresses_are_rejected_with_ranges() {
        assert_eq!(
            TileId::parse("23", "0", "0").unwrap_err().to_string(),
            "z must be an integer in 0..=22 (digits only, no sign or leading zero), got '23'"
        );
        assert_eq!(
            TileId::parse("2", "4", "0").unwrap_err().to_string(),
            "x must be an integer in 0..=3 at zoom 2 (digits only, no sign or leading zero), got '4'"
        );
        assert!(TileId::parse("2", "-1", "0").is_err());
        assert!(TileId::parse("a", "0", "0").is_err());
        assert!(TileId::parse("0", "0", "0").is_ok());
    }

    #[test]
    fn a_tile_has_exactly_one_spelling() {
        assert_eq!(TileId::parse("10", "844", "399"), Ok(TileId { z: 10, x: 844, y: 399 }));
        for (z, x, y, axis) in [
            ("2", "+1", "0", "x"),
            ("2", "01", "0", "x"),
            ("2", "0", " 1", "y"),
            ("2", "0", "1.0", "y"),
            ("2", "0", "", "y"),
            ("02", "0", "0", "z"),
            ("+2", "0", "0", "z"),
            ("2", "0", "99999999999999999999", "y"),
        ] {
            let named = match TileId::parse(z, x, y) {
                Err(TileError::Zoom(_)) => "z",
                Err(TileError::Coordinate { axis, .. }) => axis,
                Ok(t) => panic!("{z}/{x}/{y} accepted as {t}"),
            };
            assert_eq!(named, axis, "{z}/{x}/{y}");
        }
    }
}
