//! Commute distance between a home and a workplace.
//!
//! Today every commute is measured as the straight line on the sphere
//! (haversine great-circle distance). Travel over the road or transit network
//! is longer — typically by a factor of about 1.2–1.4 in Chinese cities —
//! and can be plugged in later through [`CommuteDistance`] without touching
//! the indicators, which only see kilometres.

/// Mean Earth radius in kilometres: the IUGG mean radius R₁ = (2a + b) / 3
/// of the GRS 80 / WGS 84 ellipsoid (Moritz, *Geodetic Reference System
/// 1980*, Bulletin Géodésique 54, 1980), 6 371 008.8 m.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres between two `[lon, lat]` points in
/// degrees on a sphere of radius [`EARTH_RADIUS_KM`].
///
/// Parameters: `a`, `b` as `[longitude, latitude]` in degrees (WGS 84).
///
/// Returns: kilometres, `0 ≤ d ≤ π·R`.
///
/// Algorithm (haversine, numerically stable for short distances):
/// `h = sin²(Δφ/2) + cos φ₁ · cos φ₂ · sin²(Δλ/2)`, `d = 2R · asin(√h)`.
///
/// Notes: the sphere differs from the ellipsoid by at most about 0.5 %, far
/// below the difference between a straight line and a real commute.
///
/// # Examples
/// Quancheng Square to Jinan West railway station, about 11.6 km apart:
/// ```
/// use talentmap::analytics::commute::distance::haversine_km;
/// let d = haversine_km([117.0196, 36.6616], [116.8905, 36.6714]);
/// assert!((d - 11.58).abs() < 0.05, "{d}");
/// ```
pub fn haversine_km(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (phi1, phi2) = (a[1].to_radians(), b[1].to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (b[0] - a[0]).to_radians();
    let s1 = (dphi / 2.0).sin();
    let s2 = (dlambda / 2.0).sin();
    let h = (s1 * s1 + phi1.cos() * phi2.cos() * s2 * s2).clamp(0.0, 1.0);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

/// How a commute is measured. Implementations must be cheap (the index calls
/// them once per talent with a workplace when a snapshot is first used) and
/// thread-safe (the build runs on all cores).
pub trait CommuteDistance: Sync {
    /// Short name reported by the API (`"haversine"`, later e.g. `"road"`).
    fn method(&self) -> &'static str;
    /// Commute in kilometres from `home` to `work`, both `[lon, lat]` in
    /// degrees.
    fn km(&self, home: [f64; 2], work: [f64; 2]) -> f64;
}

/// Straight-line (great-circle) commute distance, see [`haversine_km`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Haversine;

impl CommuteDistance for Haversine {
    fn method(&self) -> &'static str {
        "haversine"
    }
    fn km(&self, home: [f64; 2], work: [f64; 2]) -> f64 {
        haversine_km(home, work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_is_r_times_pi_over_180() {
        let d = haversine_km([117.0, 36.0], [117.0, 37.0]);
        assert!((d - EARTH_RADIUS_KM * std::f64::consts::PI / 180.0).abs() < 1e-9, "{d}");
        assert_eq!(haversine_km([117.0, 36.0], [117.0, 36.0]), 0.0);
        // Along a parallel the distance shrinks with cos φ (to first order).
        let east = haversine_km([117.0, 60.0], [117.01, 60.0]);
        assert!((east - 0.5 * 0.01f64.to_radians() * EARTH_RADIUS_KM).abs() < 1e-6, "{east}");
    }

    #[test]
    fn symmetric() {
        let (a, b) = ([116.9, 36.6], [117.3, 36.8]);
        assert!((haversine_km(a, b) - haversine_km(b, a)).abs() < 1e-12);
    }
}
