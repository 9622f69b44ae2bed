//! Effective shortage: supply counted within a commuting catchment of each
//! vacancy, by the two-step floating catchment area method (2SFCA).
//!
//! The plain ratio compares an area's openings with the seekers who live in
//! the same area. A business park has many openings and few residents, so
//! its ratio is high even when plenty of seekers live a short commute away.
//! 2SFCA allocates every seeker to the openings within their reach, so
//! "no such talent exists nearby" (effective index stays high) is told apart
//! from "the talent exists but lives elsewhere in the city" (effective index
//! falls back to the city ratio).
//!
//! # Algorithm
//!
//! Source: Luo & Wang (2003), *Measures of spatial accessibility to health
//! care in a GIS environment*, Environment and Planning B 30(6); with the
//! Gaussian distance decay of Dai (2010), *Black residential segregation,
//! disparities in spatial access to health care facilities*, Health & Place
//! 16(5). Here the "facilities" are vacancy sites `j` with `O_j` openings and
//! the "population" seeker points `i` with `P_i` seekers.
//!
//! 1. For each seeker point: the openings competing for it,
//!    `C_i = Σ_j w(d_ij) O_j`, and its seekers per competing opening
//!    `r_i = P_i / C_i` (0 when no opening is in reach).
//! 2. For each vacancy site: the seekers accessible per opening,
//!    `A_j = Σ_i w(d_ij) r_i`, and its **effective supply** `O_j · A_j`.
//!
//! Effective supply is conserved: summed over all sites it equals the
//! seekers that have at least one opening in reach (`Σ_j O_j A_j =
//! Σ_i P_i Σ_j w O_j / C_i`). An area's effective supply is the sum over its
//! sites, and its effective ratio is `D / Σ_j O_j A_j`; at a site it is
//! `1 / A_j`.
//!
//! Distance decay `w(d)` with radius `d₀` (default 10 km), all zero beyond
//! `d₀`:
//! - `gaussian` (default, Dai 2010): `(e^(−½(d/d₀)²) − e^(−½)) / (1 − e^(−½))`;
//! - `linear`: `1 − d/d₀`;
//! - `uniform`: 1 (the original 2SFCA).
//!
//! Distances are straight-line, computed in Web Mercator unit coordinates
//! scaled by the ground resolution at the pair's mean latitude
//! (`40,075,016.686 m · cos φ` per unit); within 50 km the error is far below
//! the positional error of a home address.
//!
//! Seekers enter as points already binned to grid cells (about 1 km, see
//! [`SEEKER_CELL_LEVEL`]) at their centroid; vacancy sites are the exact
//! enterprise positions. A uniform grid of cell size `d₀` indexes the seeker
//! points, so each site looks at the 3 × 3 grid squares around it: cost
//! `O(sites × seeker points within d₀)`, never a scan of the city.
//!
//! # Worked example (uniform decay)
//!
//! Sites A (10 openings) and B (30); seekers X (20) reach only A, Y (40)
//! reach both. Step 1: `r_X = 20 / 10 = 2`, `r_Y = 40 / (10 + 30) = 1`.
//! Step 2: `A_A = 2 + 1 = 3`, `A_B = 1`. Effective supply A = 30, B = 30
//! (sum 60 = 20 + 40); effective ratio A = 10/30 = 0.33, B = 30/30 = 1.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::analytics::privacy::Tally;

/// Grid level (Web Mercator zoom) at which seekers are binned: about 1 km
/// cells at Jinan's latitude (0.98 km at 36.6° N).
pub const SEEKER_CELL_LEVEL: u8 = 15;
/// Default catchment radius in metres (a 10 km commute; national commute
/// monitoring reports treat ≤ 5 km as a short commute and most commutes in
/// large Chinese cities stay under 10–12 km).
pub const DEFAULT_RADIUS_M: f64 = 10_000.0;
/// Metres per unit of Web Mercator x at the equator (WGS 84 circumference).
const EQUATOR_M: f64 = 40_075_016.686;

/// The Gaussian decay's value at the radius, `exp(-1/2)`, computed once.
static GAUSSIAN_EDGE: std::sync::LazyLock<f64> = std::sync::LazyLock::new(|| (-0.5f64).exp());

/// Distance decay of the catchment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Decay {
    #[default]
    Gaussian,
    Linear,
    Uniform,
}

impl Decay {
    pub const ALL: [Decay; 3] = [Decay::Gaussian, Decay::Linear, Decay::Uniform];

    /// The code used in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Decay::Gaussian => "gaussian",
            Decay::Linear => "linear",
            Decay::Uniform => "uniform",
        }
    }

    /// Weight at distance `d` for radius `r` (same units), in [0, 1].
    ///
    /// # Examples
    /// ```
    /// use talentmap::analytics::shortage::catchment::Decay;
    /// assert_eq!(Decay::Gaussian.weight(0.0, 10.0), 1.0);
    /// assert_eq!(Decay::Gaussian.weight(10.0, 10.0), 0.0);
    /// assert_eq!(Decay::Linear.weight(2.5, 10.0), 0.75);
    /// assert_eq!(Decay::Uniform.weight(9.9, 10.0), 1.0);
    /// ```
    pub fn weight(self, d: f64, r: f64) -> f64 {
        if d > r {
            return 0.0;
        }
        match self {
            Decay::Uniform => 1.0,
            Decay::Linear => 1.0 - d / r,
            Decay::Gaussian => {
                let edge = *GAUSSIAN_EDGE;
                (((-0.5 * (d / r).powi(2)).exp() - edge) / (1.0 - edge)).max(0.0)
            }
        }
    }
}

impl FromStr for Decay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Decay::ALL.into_iter().find(|d| d.code() == s).ok_or_else(|| "gaussian, linear, uniform".to_string())
    }
}

impl fmt::Display for Decay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A weighted point in unit Web Mercator coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedPoint {
    pub x: f64,
    pub y: f64,
    /// Seekers (seeker points) or openings (sites).
    pub weight: f64,
}

/// Metres per unit Web Mercator distance at unit row `y`
/// (`EQUATOR_M · cos φ = EQUATOR_M / cosh(π (1 − 2y))`).
pub fn metres_per_unit(y: f64) -> f64 {
    EQUATOR_M / (std::f64::consts::PI * (1.0 - 2.0 * y)).cosh()
}

/// Ground distance in metres between two unit points.
pub fn distance_m(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let scale = metres_per_unit(0.5 * (ay + by));
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt() * scale
}

/// A uniform grid over seeker points, squares `cell` units wide.
#[derive(Debug, Clone)]
struct Grid {
    cell: f64,
    squares: HashMap<(i64, i64), Vec<u32>>,
}

impl Grid {
    /// The grid of `seekers` whose squares are at least `radius_m` wide
    /// wherever a seeker or a site lies, so the 3 × 3 squares around a site
    /// hold every seeker point within the radius.
    fn for_radius(seekers: &[WeightedPoint], sites: &[WeightedPoint], radius_m: f64) -> Grid {
        // The radius in unit coordinates at the lowest scale (highest
        // latitude) among the points.
        let min_scale = seekers.iter().chain(sites).map(|p| metres_per_unit(p.y)).fold(f64::INFINITY, f64::min);
        Grid::new(seekers, radius_m / min_scale)
    }

    fn new(points: &[WeightedPoint], cell: f64) -> Grid {
        let mut squares: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            squares.entry(((p.x / cell).floor() as i64, (p.y / cell).floor() as i64)).or_default().push(i as u32);
        }
        Grid { cell, squares }
    }

    /// Points in the 3 × 3 squares around `(x, y)`: a superset of those
    /// within one cell width.
    fn near(&self, x: f64, y: f64) -> impl Iterator<Item = u32> + '_ {
        let (cx, cy) = ((x / self.cell).floor() as i64, (y / self.cell).floor() as i64);
        (-1..=1)
            .flat_map(move |dy| (-1..=1).map(move |dx| (cx + dx, cy + dy)))
            .filter_map(|k| self.squares.get(&k))
            .flat_map(|v| v.iter().copied())
    }
}

/// The result of 2SFCA for a set of sites.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// `A_j` per site: accessible seekers per opening.
    pub per_opening: Vec<f64>,
    /// Seekers with no opening within the radius (not allocated).
    pub unreached: f64,
    /// Per seeker point: whether some opening is within reach (the point's
    /// seekers are allocated).
    pub reached: Vec<bool>,
    /// Per site (with [`two_step_keyed`]): the tallies of the seeker points
    /// within reach of the site (decay weight above 0, the site has
    /// openings), merged; empty tallies with [`two_step`].
    pub reach: Vec<Tally>,
    /// The sums behind the figures, in fixed point ([`Sum`]): `C_i` per
    /// seeker point and `A_j` per site. A change of some seeker points
    /// is applied to them ([`two_step_patched`]).
    pub sums: Sums,
}

/// A sum of the catchment in fixed point: every term is rounded to
/// 2⁻⁴⁰ before it is added, so a sum does not depend on the order of its
/// terms, and taking out a term that was put in leaves exactly the sum
/// without it. A catchment patched after a moves batch is then the same,
/// bit for bit, as one computed from scratch (the rounding is below
/// 10⁻¹² of a seeker or an opening).
pub type Sum = i128;

/// `C_i` per seeker point and `A_j` per site ([`Sum`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    pub competing: Vec<Sum>,
    pub access: Vec<Sum>,
}

const FIXED_ONE: f64 = (1u64 << 40) as f64;

/// `x` as a term of a [`Sum`].
#[inline]
fn fixed(x: f64) -> Sum {
    (x * FIXED_ONE).round() as Sum
}

/// The value of a [`Sum`].
#[inline]
fn value(sum: Sum) -> f64 {
    sum as f64 / FIXED_ONE
}

/// Seekers of point `p` per opening competing for it (`r_i`), 0 when no
/// opening is in reach.
#[inline]
fn ratio_of(p: &WeightedPoint, competing: Sum) -> f64 {
    if competing > 0 { p.weight / value(competing) } else { 0.0 }
}

/// The figures of an access from its sums: `A_j`, the seekers out of
/// reach and which points are reached.
fn access_of(seekers: &[WeightedPoint], sums: Sums, reach: Vec<Tally>) -> Access {
    let mut unreached = 0.0;
    for (p, &c) in seekers.iter().zip(&sums.competing) {
        if c <= 0 {
            unreached += p.weight;
        }
    }
    Access {
        per_opening: sums.access.iter().map(|&a| value(a)).collect(),
        unreached,
        reached: sums.competing.iter().map(|&c| c > 0).collect(),
        reach,
        sums,
    }
}

/// Two-step floating catchment over seeker points and vacancy sites.
///
/// Parameters: `seekers` (weight = seekers at the point), `sites` (weight =
/// openings), `radius_m` the catchment radius in metres, `decay` the
/// distance decay. Returns `A_j` for each site in order (see the module
/// docs), and the seekers out of reach of every opening.
///
/// Cost: `O((seekers + sites) + Σ_sites seeker points in the 3 × 3 grid
/// squares)`, the grid square being the radius.
pub fn two_step(seekers: &[WeightedPoint], sites: &[WeightedPoint], radius_m: f64, decay: Decay) -> Access {
    two_step_keyed(seekers, &[], sites, radius_m, decay)
}

/// [`two_step`], also merging for every site the tallies (`tallies[i]` of
/// seeker point `i`; the seekers there, see `analytics::privacy`) of the
/// seeker points within its reach, in the same pass.
pub fn two_step_keyed(
    seekers: &[WeightedPoint],
    tallies: &[Tally],
    sites: &[WeightedPoint],
    radius_m: f64,
    decay: Decay,
) -> Access {
    if seekers.is_empty() || sites.is_empty() {
        let sums = Sums { competing: vec![0; seekers.len()], access: vec![0; sites.len()] };
        return access_of(seekers, sums, vec![Tally::default(); sites.len()]);
    }
    let grid = Grid::for_radius(seekers, sites, radius_m);
    // Most points of the 3 × 3 squares around a site are beyond the radius
    // (their weight is 0): a bound on the scale near the site tells so from
    // the squared unit distance, before the exact distance's cosh and
    // square root. The midpoint of a site and a point of its squares is
    // within two squares of the site, and the scale there is at least the
    // smaller of its values two squares north and south (it falls away
    // from the equator); the margin covers rounding, so only points whose
    // exact weight is 0 are passed over.
    let beyond = (radius_m * radius_m) * (1.0 + 1e-9);
    let scale_floor = |s: &WeightedPoint| {
        let lo = metres_per_unit(s.y - 2.0 * grid.cell).min(metres_per_unit(s.y + 2.0 * grid.cell));
        lo * lo
    };
    let near = |s: &WeightedPoint| {
        let (x, y, floor) = (s.x, s.y, scale_floor(s));
        grid.near(x, y).filter(move |&i| {
            let p = &seekers[i as usize];
            ((x - p.x).powi(2) + (y - p.y).powi(2)) * floor <= beyond
        })
    };
    // Step 1: openings competing for each seeker point.
    let mut competing: Vec<Sum> = vec![0; seekers.len()];
    for s in sites {
        for i in near(s) {
            let p = &seekers[i as usize];
            competing[i as usize] += fixed(decay.weight(distance_m(s.x, s.y, p.x, p.y), radius_m) * s.weight);
        }
    }
    let ratio: Vec<f64> = seekers.iter().zip(&competing).map(|(p, &c)| ratio_of(p, c)).collect();
    // Step 2: accessible seekers per opening at each site, and the seekers
    // within its reach.
    let mut reach = vec![Tally::default(); sites.len()];
    let access = sites
        .iter()
        .zip(&mut reach)
        .map(|(s, reach)| {
            let mut a: Sum = 0;
            for i in near(s) {
                let p = &seekers[i as usize];
                let w = decay.weight(distance_m(s.x, s.y, p.x, p.y), radius_m);
                a += fixed(w * ratio[i as usize]);
                if w > 0.0
                    && s.weight > 0.0
                    && let Some(t) = tallies.get(i as usize)
                {
                    reach.merge(*t);
                }
            }
            a
        })
        .collect();
    access_of(seekers, Sums { competing, access }, reach)
}

/// What [`two_step_patched`] changes: the sums and the sites' reach of
/// the access before.
pub struct Before<'a> {
    pub competing: &'a [Sum],
    pub access: Vec<Sum>,
    pub reach: Vec<Tally>,
}

/// How the seeker points of a catchment changed: positions in the points
/// before of those gone or changed, positions in the points now of those
/// new or changed, and the pairs of positions (before, now) of the points
/// that stayed as they were.
#[derive(Debug, Clone, Default)]
pub struct PointChange {
    pub gone: Vec<u32>,
    pub came: Vec<u32>,
    pub kept: Vec<(u32, u32)>,
}

/// [`two_step_keyed`] of `seekers` (with `tallies`) and `sites`, from
/// `before`, the access of the same sites, radius and decay to the points
/// `seekers_before` (with `tallies_before`), the points having changed as
/// `change` says: the terms of the points gone are taken out of the sites
/// within their reach, those of the points that came are put in, and the
/// points that stayed keep their `C_i` (the sites did not change). Equal
/// to [`two_step_keyed`] of the points now (the sums are [`Sum`]s;
/// checked by tests), at a cost of the sites near the changed points
/// instead of every site's points.
pub fn two_step_patched(
    (seekers_before, tallies_before, before): (&[WeightedPoint], &[Tally], Before<'_>),
    seekers: &[WeightedPoint],
    tallies: &[Tally],
    change: &PointChange,
    sites: &[WeightedPoint],
    radius_m: f64,
    decay: Decay,
) -> Access {
    let mut competing: Vec<Sum> = vec![0; seekers.len()];
    for &(was, now) in &change.kept {
        competing[now as usize] = before.competing[was as usize];
    }
    let (mut access, mut reach) = (before.access, before.reach);
    if sites.is_empty() {
        return access_of(seekers, Sums { competing, access }, reach);
    }
    // The sites on a grid whose squares are at least the radius wherever a
    // changed point or a site lies.
    let involved = change
        .gone
        .iter()
        .map(|&i| &seekers_before[i as usize])
        .chain(change.came.iter().map(|&i| &seekers[i as usize]));
    let min_scale = involved.chain(sites).map(|p| metres_per_unit(p.y)).fold(f64::INFINITY, f64::min);
    let grid = Grid::new(sites, radius_m / min_scale);
    let weight = |s: &WeightedPoint, p: &WeightedPoint| decay.weight(distance_m(s.x, s.y, p.x, p.y), radius_m);
    for &i in &change.gone {
        let p = &seekers_before[i as usize];
        let r = ratio_of(p, before.competing[i as usize]);
        for j in grid.near(p.x, p.y) {
            let s = &sites[j as usize];
            let w = weight(s, p);
            access[j as usize] -= fixed(w * r);
            if w > 0.0
                && s.weight > 0.0
                && let Some(t) = tallies_before.get(i as usize)
            {
                reach[j as usize] = reach[j as usize].minus(*t);
            }
        }
    }
    for &i in &change.came {
        let p = &seekers[i as usize];
        let c: Sum = grid.near(p.x, p.y).map(|j| fixed(weight(&sites[j as usize], p) * sites[j as usize].weight)).sum();
        competing[i as usize] = c;
        let r = ratio_of(p, c);
        for j in grid.near(p.x, p.y) {
            let s = &sites[j as usize];
            let w = weight(s, p);
            access[j as usize] += fixed(w * r);
            if w > 0.0
                && s.weight > 0.0
                && let Some(t) = tallies.get(i as usize)
            {
                reach[j as usize].merge(*t);
            }
        }
    }
    access_of(seekers, Sums { competing, access }, reach)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::rng::Rng;

    /// The reference: every pair, no index.
    fn brute_force(seekers: &[WeightedPoint], sites: &[WeightedPoint], r: f64, decay: Decay) -> Vec<f64> {
        let w = |a: &WeightedPoint, b: &WeightedPoint| decay.weight(distance_m(a.x, a.y, b.x, b.y), r);
        let ratio: Vec<f64> = seekers
            .iter()
            .map(|p| {
                let c: f64 = sites.iter().map(|s| w(s, p) * s.weight).sum();
                if c > 0.0 { p.weight / c } else { 0.0 }
            })
            .collect();
        sites.iter().map(|s| seekers.iter().zip(&ratio).map(|(p, r)| w(s, p) * r).sum()).collect()
    }

    fn point(lon: f64, lat: f64, weight: f64) -> WeightedPoint {
        let (x, y) = crate::spatial::lonlat_to_unit(lon, lat);
        WeightedPoint { x, y, weight }
    }

    #[test]
    fn worked_example_by_hand() {
        // Points 1 km apart east–west near Jinan; radius 5 km reaches X–A
        // (1 km), Y–A and Y–B (1 km), but not X–B (2 km > 1.5 km radius).
        let a = point(117.0, 36.65, 10.0);
        let b = point(117.0 + 2.0 * 0.011_2, 36.65, 30.0);
        let x = point(117.0 - 0.011_2, 36.65, 20.0);
        let y = point(117.0 + 0.011_2, 36.65, 40.0);
        assert!((distance_m(a.x, a.y, y.x, y.y) - 1000.0).abs() < 5.0);
        let access = two_step(&[x, y], &[a, b], 1_500.0, Decay::Uniform);
        assert!((access.per_opening[0] - 3.0).abs() < 1e-12);
        assert!((access.per_opening[1] - 1.0).abs() < 1e-12);
        assert_eq!(access.unreached, 0.0);
    }

    #[test]
    fn matches_brute_force_on_random_points_and_conserves_seekers() {
        let mut rng = Rng::new(0x5eed_1234_abcd, 0);
        for decay in Decay::ALL {
            for radius in [2_000.0, 10_000.0, 25_000.0] {
                let seekers: Vec<WeightedPoint> = (0..300)
                    .map(|_| point(116.8 + rng.f64() * 0.8, 36.4 + rng.f64() * 0.5, 1.0 + (rng.f64() * 20.0).floor()))
                    .collect();
                let sites: Vec<WeightedPoint> = (0..120)
                    .map(|_| point(116.8 + rng.f64() * 0.8, 36.4 + rng.f64() * 0.5, 1.0 + (rng.f64() * 9.0).floor()))
                    .collect();
                let tallies: Vec<Tally> =
                    seekers.iter().map(|p| Tally { n: p.weight as u64, key: rng.next_u64() as u32 }).collect();
                let fast = two_step_keyed(&seekers, &tallies, &sites, radius, decay);
                let slow = brute_force(&seekers, &sites, radius, decay);
                for (f, s) in fast.per_opening.iter().zip(&slow) {
                    assert!((f - s).abs() <= 1e-9 * s.abs().max(1.0), "{decay} {radius}: {f} vs {s}");
                }
                assert_eq!(two_step(&seekers, &sites, radius, decay).per_opening, fast.per_opening);
                // The seekers within reach of each site, against every pair.
                for (site, reach) in sites.iter().zip(&fast.reach) {
                    let expected: Tally = seekers
                        .iter()
                        .zip(&tallies)
                        .filter(|(p, _)| decay.weight(distance_m(site.x, site.y, p.x, p.y), radius) > 0.0)
                        .map(|(_, t)| *t)
                        .sum();
                    assert_eq!(*reach, expected, "{decay} {radius}");
                }
                let reached: f64 = seekers.iter().zip(&fast.reached).filter(|(_, r)| **r).map(|(p, _)| p.weight).sum();
                assert!((reached + fast.unreached - seekers.iter().map(|p| p.weight).sum::<f64>()).abs() < 1e-9);
                let allocated: f64 = fast.per_opening.iter().zip(&sites).map(|(a, s)| a * s.weight).sum();
                let total: f64 = seekers.iter().map(|p| p.weight).sum();
                assert!((allocated + fast.unreached - total).abs() < 1e-6, "{decay} {radius}: conservation");
            }
        }
    }

    #[test]
    fn gaussian_decay_by_hand() {
        // w(d₀/2) = (e^−⅛ − e^−½) / (1 − e^−½) = 0.7014...
        let expected = ((-0.125f64).exp() - (-0.5f64).exp()) / (1.0 - (-0.5f64).exp());
        assert!((Decay::Gaussian.weight(5.0, 10.0) - expected).abs() < 1e-15);
        assert!((expected - 0.701_367).abs() < 1e-6);
        assert_eq!(Decay::Linear.weight(11.0, 10.0), 0.0);
    }
}
