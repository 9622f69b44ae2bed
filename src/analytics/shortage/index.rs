//! The jobs-to-applicants ratio and the smoothed shortage index of one area.
//!
//! # Definitions
//!
//! For an area and a field (optionally narrowed by education and title):
//!
//! - `D` — demand: open openings of vacancies in the area (not personal
//!   data, published exactly);
//! - `S` — supply: seeking talents living in the area who hold the field
//!   (and at least the demanded education and title);
//! - **ratio** `D / S` — the jobs-to-applicants ratio (求人倍率) as used by
//!   the national public employment service's quarterly monitoring; `null`
//!   when `S = 0`;
//! - **index** — the ratio shrunk towards the city-wide ratio
//!   `ρ = D_city / S_city` by Gamma–Poisson (empirical Bayes) smoothing:
//!
//!   ```text
//!   D | λ ~ Poisson(λ · S)          λ = the area's openings per seeker
//!   λ     ~ Gamma(shape m·ρ, rate m)  prior: mean ρ, worth m seekers
//!   λ | D ~ Gamma(D + m·ρ, S + m)     posterior
//!   index = E[λ | D] = (D + m·ρ) / (S + m)
//!   ```
//!
//!   An area with few seekers gets an index near `ρ`, a large area keeps
//!   its raw ratio (`index − ratio → 0` as `S` grows, since
//!   `index − D/S = m (ρ − D/S) / (S + m)`). The prior strength `m`
//!   (default [`DEFAULT_PRIOR`] seekers) is the number of seekers at which
//!   the area's own data and the city ratio weigh the same.
//! - **interval** — the central credible interval of the posterior at level
//!   `c` (default 0.8): its `(1 − c)/2` and `(1 + c)/2` quantiles.
//! - **low_data** — `S < max(m, MIN_SEEKERS)`: the index rests more on the
//!   city ratio than on the area's own seekers. Such areas are flagged, and
//!   the smoothing keeps them from looking extreme.
//!
//! The Poisson model treats openings as independent events; one vacancy
//! row with many openings makes the true spread wider than the interval.
//!
//! # Privacy
//!
//! Supply counts talents, so it is a [`Tally`] and what enters every formula
//! is its **published** value, `disclosure.count(tally)`
//! ([`crate::analytics::privacy`]): the exact count for a principal entitled
//! to it, otherwise the perturbed count (0 stays 0, nothing in 1..k−1,
//! bounded centred noise above). Ratio, index, interval and `low_data` are
//! computed from that published value only, so no output depends on more
//! than what is published beside it. The city-wide supply behind `ρ` is
//! published the same way. An allocated (fractional) supply of the
//! catchment is published by [`published_allocation`].
//!
//! # Worked example
//!
//! City: 2,000 openings and 1,000 seekers for the field, so `ρ = 2`; `m = 10`.
//!
//! | area | D | S | ratio | index |
//! |---|---:|---:|---:|---:|
//! | A | 3 | 0 | — | (3 + 20) / (0 + 10) = 2.30 |
//! | B | 3,000 | 300 | 10.0 | (3,000 + 20) / (300 + 10) = 9.74 |
//! | C | 0 | 10 | 0.0 | (0 + 20) / (10 + 10) = 1.00 |
//!
//! Area A (3 openings, nobody seeking) does not outrank B; it is flagged
//! `low_data`. C's 80 % interval is that of Gamma(20, 20).

use crate::analytics::privacy::{Disclosure, Tally, perturb};

/// Default prior strength `m`, in seekers.
pub const DEFAULT_PRIOR: f64 = 10.0;
/// Default credible level of the interval.
pub const DEFAULT_INTERVAL: f64 = 0.8;
/// Fewest seekers for an index that is not flagged `low_data`, whatever the
/// prior strength.
pub const MIN_SEEKERS: f64 = 10.0;

/// The city-wide reference of one query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CityRatio {
    /// Open openings in the city.
    pub demand: f64,
    /// Seekers in the city as published.
    pub supply: f64,
    /// `ρ = demand / supply`; `demand` itself (as if one seeker) when there
    /// are no seekers, so the prior stays finite.
    pub ratio: f64,
}

impl CityRatio {
    /// The city ratio from openings and the **published** supply (a
    /// published count, or a published allocation).
    pub fn new(demand: f64, supply: f64) -> CityRatio {
        CityRatio { demand, supply, ratio: if supply > 0.0 { demand / supply } else { demand } }
    }
}

/// The published value of an allocated supply: seekers shared out among
/// openings by the commuting catchment, a fractional sum over vacancy sites
/// (see [`super::catchment`]), with `reach` its reach key: the tallies of
/// the seekers within reach of each of those sites, merged over the sites
/// (`super::effective`).
///
/// - Exact disclosure: the allocation itself.
/// - Protected: the allocation rounded to a whole number and perturbed like
///   a count, `perturb(round(value), reach.key, k)`: nothing in 1..k−1,
///   bounded centred noise above, and the noise is a function of the
///   rounded value, the sites and the seekers around them alone (the key
///   is a sum of secret record keys). The same sites give the same number
///   on every route (a district, a cell holding the same sites, the
///   explanation), asking again gains nothing, and for one site whose
///   allocation is a plain count of the seekers in its reach (nothing
///   competing, uniform decay) the number equals their published count.
///
/// Publishing the allocation only for groups of at least `MIN_GROUP`
/// seekers instead would not do: an exact allocation of 100 seekers at one
/// radius minus that at a slightly smaller radius is an exact count of a
/// few people.
///
/// # Examples
/// ```
/// use talentmap::analytics::privacy::{Disclosure, Tally};
/// use talentmap::analytics::shortage::index::published_allocation;
/// let reach = Tally { n: 40, key: 12345 };
/// assert_eq!(published_allocation(2.5, reach, Disclosure::Exact), 2.5);
/// for value in [1.2, 2.5, 3.9] {
///     let p = published_allocation(value, reach, Disclosure::Protected { k: 5 });
///     assert!(p == 0.0 || p == 5.0, "{value} -> {p}");
/// }
/// assert_eq!(published_allocation(0.4, reach, Disclosure::Protected { k: 5 }), 0.0);
/// let p = published_allocation(100.2, reach, Disclosure::Protected { k: 5 });
/// assert!((97.0..=103.0).contains(&p) && p.fract() == 0.0);
/// ```
pub fn published_allocation(value: f64, reach: Tally, disclosure: Disclosure) -> f64 {
    match disclosure {
        Disclosure::Exact => value,
        Disclosure::Protected { k } => perturb(value.max(0.0).round() as u64, reach.key, k) as f64,
    }
}

/// Smoothing parameters and how the numbers are disclosed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// Prior strength `m` in seekers (> 0).
    pub prior: f64,
    /// Credible level of the interval, in (0, 1).
    pub interval: f64,
    /// Exact or perturbed talent counts of the areas asked about
    /// (`analytics::privacy`).
    pub disclosure: Disclosure,
    /// Exact or perturbed city-wide talent counts (the supply behind `ρ`,
    /// the catchment's totals): exact only for a caller entitled to exact
    /// counts of the whole city, so an analyst exact for one district does
    /// not learn the rest of the city by subtraction.
    pub city_disclosure: Disclosure,
}

impl Smoothing {
    /// The same disclosure for the areas and the city.
    pub fn disclosed(prior: f64, interval: f64, disclosure: Disclosure) -> Smoothing {
        Smoothing { prior, interval, disclosure, city_disclosure: disclosure }
    }
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing::disclosed(DEFAULT_PRIOR, DEFAULT_INTERVAL, Disclosure::Protected { k: 5 })
    }
}

/// The published estimate for one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Openings `D`.
    pub demand: f64,
    /// Supply `S` as published (the value every number here is computed from).
    pub supply: f64,
    /// `D / S`, `None` when `S = 0`.
    pub ratio: Option<f64>,
    /// Posterior mean `(D + m·ρ) / (S + m)`.
    pub index: f64,
    /// Posterior shape `D + m·ρ`.
    pub shape: f64,
    /// Posterior rate `S + m`.
    pub rate: f64,
    /// Credible interval, filled by [`Estimate::with_interval`].
    pub interval: Option<(f64, f64)>,
    /// The index rests more on the city ratio than on the area.
    pub low_data: bool,
}

/// The estimate of an area with `demand` openings and the **published**
/// supply `supply` (see the module docs). The interval is left out because
/// it costs two quantile inversions; rankings add it only to the items they
/// return.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::index::{CityRatio, Smoothing, estimate};
/// let city = CityRatio::new(2000.0, 1000.0); // ρ = 2
/// let s = Smoothing { prior: 10.0, ..Smoothing::default() };
/// let b = estimate(3000.0, 300.0, &city, &s);
/// assert!((b.index - 3020.0 / 310.0).abs() < 1e-12);
/// assert_eq!(b.ratio, Some(10.0));
/// ```
pub fn estimate(demand: f64, supply: f64, city: &CityRatio, s: &Smoothing) -> Estimate {
    let shape = demand + s.prior * city.ratio;
    let rate = supply + s.prior;
    Estimate {
        demand,
        supply,
        ratio: (supply > 0.0).then(|| demand / supply),
        index: shape / rate,
        shape,
        rate,
        interval: None,
        low_data: supply < s.prior.max(MIN_SEEKERS),
    }
}

impl Estimate {
    /// Adds the central credible interval at `level`.
    pub fn with_interval(mut self, level: f64) -> Estimate {
        self.interval = Some(super::gamma::gamma_interval(self.shape, self.rate, level));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoothing() -> Smoothing {
        Smoothing::disclosed(10.0, 0.8, Disclosure::Exact)
    }

    #[test]
    fn worked_example_by_hand() {
        let city = CityRatio::new(2000.0, 1000.0);
        assert_eq!(city.ratio, 2.0);
        let a = estimate(3.0, 0.0, &city, &smoothing());
        assert!((a.index - 2.3).abs() < 1e-12);
        assert_eq!(a.ratio, None);
        assert!(a.low_data);
        let b = estimate(3000.0, 300.0, &city, &smoothing());
        assert!((b.index - 9.741_935_483_870_968).abs() < 1e-12);
        assert!(!b.low_data);
        assert!(b.index > a.index, "3 openings and no seekers must not outrank 3,000 openings and 300 seekers");
        let c = estimate(0.0, 10.0, &city, &smoothing());
        assert!((c.index - 1.0).abs() < 1e-12);
        assert_eq!(c.ratio, Some(0.0));
    }

    #[test]
    fn interval_by_hand_for_an_exponential_posterior() {
        // ρ = 0.1, m = 10, D = 0: shape 1, S = 10: rate 20 → exponential with
        // rate 20, quantile −ln(1 − p) / 20.
        let city = CityRatio::new(100.0, 1000.0);
        let e = estimate(0.0, 10.0, &city, &smoothing()).with_interval(0.8);
        let (lo, hi) = e.interval.unwrap();
        assert!((lo - 0.005_268_025_782_891_316).abs() < 1e-12, "{lo}");
        assert!((hi - 0.115_129_254_649_702_28).abs() < 1e-12, "{hi}");
        assert!(lo < e.index && e.index < hi);
    }

    #[test]
    fn large_areas_stay_close_to_their_raw_ratio() {
        let city = CityRatio::new(2000.0, 1000.0);
        for (d, s) in [(50_000.0, 10_000.0), (1_000.0, 5_000.0), (123_456.0, 40_000.0)] {
            let e = estimate(d, s, &city, &smoothing());
            let raw = d / s;
            // index − D/S = m (ρ − D/S) / (S + m)
            assert!((e.index - raw - 10.0 * (city.ratio - raw) / (s + 10.0)).abs() < 1e-12);
            assert!((e.index - raw).abs() / raw < 0.02, "{d}/{s}: {} vs {raw}", e.index);
            let (lo, hi) = e.with_interval(0.9).interval.unwrap();
            assert!(lo < e.index && e.index < hi && (hi - lo) / raw < 0.15, "{d}/{s}: [{lo}, {hi}]");
        }
    }

    #[test]
    fn allocations_are_published_like_counts_of_the_seekers_in_reach() {
        let protected = Disclosure::Protected { k: 5 };
        let mut rng = crate::generate::rng::Rng::new(77, 0);
        for _ in 0..2000 {
            let reach = Tally { n: 50, key: rng.next_u64() as u32 };
            let value = rng.f64() * 60.0;
            let p = published_allocation(value, reach, protected);
            assert!(p == 0.0 || p >= 5.0, "{value} published as {p}");
            assert!((p - value.round()).abs() <= 5.0, "{value} published as {p}");
            assert_eq!(p, published_allocation(value, reach, protected), "a function of its inputs");
        }
        // A whole allocation of every seeker in reach is their published count.
        let reach = Tally { n: 37, key: 991 };
        assert_eq!(published_allocation(37.0, reach, protected), protected.count(reach) as f64);
        assert_eq!(published_allocation(3.25, reach, Disclosure::Exact), 3.25);
    }
}
