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
//! Supply counts talents. A count `S` in `1..k` is not published; it is
//! banded (`supply: null, supply_band: "1-4"` for k = 5) and every number
//! derived from it — ratio, index, interval — is computed with the fixed
//! band value `k / 2` instead of `S`, so no output depends on the exact small
//! count. The city-wide supply behind `ρ` passes the same rule.
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
    /// Seekers in the city as published (banded value when in `1..k`).
    pub supply: f64,
    /// `ρ = demand / supply`; `demand` itself (as if one seeker) when there
    /// are no seekers, so the prior stays finite.
    pub ratio: f64,
}

impl CityRatio {
    /// The city ratio from exact counts (or an allocated, fractional
    /// supply), after the privacy rule.
    pub fn new(demand: f64, supply: f64, k: u32) -> CityRatio {
        let supply = published_supply(supply, k).value;
        CityRatio { demand, supply, ratio: if supply > 0.0 { demand / supply } else { demand } }
    }
}

/// A supply count as it may be used in published numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedSupply {
    /// The exact count, or `None` when it lies in `(0, k)` and is banded.
    pub exact: Option<f64>,
    /// The value every published number is computed from: the count, or
    /// `k / 2` when banded.
    pub value: f64,
}

/// The privacy rule for a supply count (or a fractional supply such as a
/// catchment's allocated seekers): values in `(0, k)` are banded and
/// replaced by `k / 2`.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::index::published_supply;
/// assert_eq!(published_supply(3.0, 5).exact, None);
/// assert_eq!(published_supply(3.0, 5).value, 2.5);
/// assert_eq!(published_supply(1.0, 5).value, 2.5);
/// assert_eq!(published_supply(7.0, 5).exact, Some(7.0));
/// assert_eq!(published_supply(0.0, 5).exact, Some(0.0));
/// ```
pub fn published_supply(count: f64, k: u32) -> PublishedSupply {
    if count > 0.0 && count < k as f64 {
        PublishedSupply { exact: None, value: k as f64 / 2.0 }
    } else {
        PublishedSupply { exact: Some(count), value: count }
    }
}

/// The band label of suppressed counts, e.g. `"1-4"` for k = 5.
pub fn supply_band(k: u32) -> String {
    format!("1-{}", k.saturating_sub(1))
}

/// Smoothing parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// Prior strength `m` in seekers (> 0).
    pub prior: f64,
    /// Credible level of the interval, in (0, 1).
    pub interval: f64,
    /// Privacy threshold k.
    pub k: u32,
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing { prior: DEFAULT_PRIOR, interval: DEFAULT_INTERVAL, k: 5 }
    }
}

/// The published estimate for one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Openings `D`.
    pub demand: f64,
    /// Supply under the privacy rule.
    pub supply: PublishedSupply,
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

/// The estimate of an area with `demand` openings and `supply` seekers
/// (exact counts; the privacy rule is applied here). The interval is left
/// out because it costs two quantile inversions; rankings add it only to
/// the items they return.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::index::{CityRatio, Smoothing, estimate};
/// let city = CityRatio::new(2000.0, 1000.0, 5); // ρ = 2
/// let s = Smoothing { prior: 10.0, interval: 0.8, k: 5 };
/// let b = estimate(3000.0, 300.0, &city, &s);
/// assert!((b.index - 3020.0 / 310.0).abs() < 1e-12);
/// assert_eq!(b.ratio, Some(10.0));
/// ```
pub fn estimate(demand: f64, supply: f64, city: &CityRatio, s: &Smoothing) -> Estimate {
    let published = published_supply(supply, s.k);
    let sv = published.value;
    let shape = demand + s.prior * city.ratio;
    let rate = sv + s.prior;
    Estimate {
        demand,
        supply: published,
        ratio: (sv > 0.0).then(|| demand / sv),
        index: shape / rate,
        shape,
        rate,
        interval: None,
        low_data: sv < s.prior.max(MIN_SEEKERS),
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
        Smoothing { prior: 10.0, interval: 0.8, k: 5 }
    }

    #[test]
    fn worked_example_by_hand() {
        let city = CityRatio::new(2000.0, 1000.0, 5);
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
        let city = CityRatio::new(100.0, 1000.0, 5);
        let e = estimate(0.0, 10.0, &city, &smoothing()).with_interval(0.8);
        let (lo, hi) = e.interval.unwrap();
        assert!((lo - 0.005_268_025_782_891_316).abs() < 1e-12, "{lo}");
        assert!((hi - 0.115_129_254_649_702_28).abs() < 1e-12, "{hi}");
        assert!(lo < e.index && e.index < hi);
    }

    #[test]
    fn large_areas_stay_close_to_their_raw_ratio() {
        let city = CityRatio::new(2000.0, 1000.0, 5);
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
    fn small_supply_counts_do_not_change_published_numbers() {
        let city = CityRatio::new(2000.0, 1000.0, 5);
        let outputs: Vec<Estimate> =
            (1..5).map(|s| estimate(7.0, s as f64, &city, &smoothing()).with_interval(0.8)).collect();
        for e in &outputs {
            assert_eq!(e.supply.exact, None);
            assert_eq!(*e, outputs[0], "supply 1..4 must give identical outputs");
        }
        assert_ne!(estimate(7.0, 5.0, &city, &smoothing()).index, outputs[0].index);
        // The city ratio follows the same rule.
        assert_eq!(CityRatio::new(10.0, 1.0, 5), CityRatio::new(10.0, 4.0, 5));
    }
}
