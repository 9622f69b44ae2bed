//! The statistics behind flow alerts and trends, each checked against a
//! brute-force or textbook value in the tests.
//!
//! - [`ln_gamma`]: Lanczos approximation (g = 7, 9 coefficients; relative
//!   error about 1e-15 for x > 0), source: C. Lanczos, SIAM J. Numer. Anal. B
//!   1 (1964), coefficients as in Numerical Recipes / Boost.
//! - [`neg_binomial_upper_tail`]: `P(X ≥ x)` for the negative binomial, by
//!   summing probabilities outwards from `x` in log space, so tiny tails
//!   (p = 1e-300 and below) keep their logarithm instead of underflowing.
//! - [`normal_cdf`]: via the complementary error function of Numerical
//!   Recipes (`erfcc`, fractional error below 1.2e-7).
//! - [`mann_kendall`] and [`sen_slope`]: the non-parametric trend test and
//!   slope used in hydrology and climate monitoring (Mann 1945, Kendall 1975,
//!   Sen 1968), with the tie-corrected variance.

/// Natural logarithm of the gamma function for `x > 0`.
///
/// # Examples
/// ```
/// use talentmap::analytics::flows::stats::ln_gamma;
/// assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12); // Γ(5) = 4! = 24
/// assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
/// ```
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Log of the negative binomial probability `P(X = x)` with shape `r > 0`
/// and success probability `p ∈ (0, 1]`:
/// `Γ(x + r) / (Γ(r) x!) · p^r · (1 − p)^x`. Mean `r (1 − p) / p`.
pub fn neg_binomial_ln_pmf(x: u64, r: f64, p: f64) -> f64 {
    let x = x as f64;
    let q = 1.0 - p;
    let tail = if x == 0.0 {
        0.0
    } else if q <= 0.0 {
        f64::NEG_INFINITY
    } else {
        x * q.ln()
    };
    ln_gamma(x + r) - ln_gamma(r) - ln_gamma(x + 1.0) + r * p.ln() + tail
}

/// `ln P(X ≥ x)` for the negative binomial with shape `r` and success
/// probability `p` (see [`neg_binomial_ln_pmf`]).
///
/// Algorithm: above the mode the probabilities fall geometrically, so the
/// tail is `pmf(x) · Σ_j Π_{i<j} ρ_i` with `ρ_i = (x + i + r)(1 − p) / (x + i + 1)`,
/// summed until a term adds less than 1e-17 of the sum. At or below the mode
/// the tail is `1 − P(X ≤ x − 1)`, summed downwards the same way.
///
/// # Examples
/// With `r = 1` the distribution is geometric: `P(X ≥ x) = (1 − p)^x`.
/// ```
/// use talentmap::analytics::flows::stats::neg_binomial_ln_upper_tail;
/// let lt = neg_binomial_ln_upper_tail(3, 1.0, 0.5);
/// assert!((lt - 0.125f64.ln()).abs() < 1e-12);
/// ```
pub fn neg_binomial_ln_upper_tail(x: u64, r: f64, p: f64) -> f64 {
    if x == 0 {
        return 0.0;
    }
    let q = 1.0 - p;
    if q <= 0.0 {
        return f64::NEG_INFINITY; // all mass at 0
    }
    let mode = if r > 1.0 { ((r - 1.0) * q / p).floor() } else { 0.0 };
    if x as f64 > mode {
        let mut sum = 1.0f64;
        let mut term = 1.0f64;
        let mut i = x as f64;
        for _ in 0..10_000_000 {
            term *= (i + r) * q / (i + 1.0);
            sum += term;
            i += 1.0;
            if term < sum * 1e-17 {
                break;
            }
        }
        neg_binomial_ln_pmf(x, r, p) + sum.ln()
    } else {
        // 1 − CDF(x − 1), summing downwards from x − 1.
        let mut sum = 1.0f64;
        let mut term = 1.0f64;
        let mut i = (x - 1) as f64;
        while i > 0.0 {
            term *= i / ((i - 1.0 + r) * q);
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
            i -= 1.0;
        }
        let cdf = (neg_binomial_ln_pmf(x - 1, r, p) + sum.ln()).exp();
        (1.0 - cdf).max(f64::MIN_POSITIVE).ln()
    }
}

/// Standard normal cumulative distribution `Φ(z)`.
///
/// # Examples
/// ```
/// use talentmap::analytics::flows::stats::normal_cdf;
/// assert!((normal_cdf(1.959964) - 0.975).abs() < 1e-6);
/// ```
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Result of the Mann–Kendall trend test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannKendall {
    /// `S = Σ_{i<j} sign(x_j − x_i)`.
    pub s: i64,
    /// Normal score with continuity correction: `(S − sign S) / √Var(S)`.
    pub z: f64,
    /// Two-sided p-value `2 (1 − Φ(|z|))`.
    pub p_value: f64,
}

/// Mann–Kendall test for a monotonic trend in `x` (in time order).
///
/// `Var(S) = [n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)] / 18`, the sum running over
/// groups of `t` tied values.
///
/// # Examples
/// `1, 2, 3, 4, 5`: S = 10, Var = 5·4·15/18 = 16.67, z = 9/4.08 = 2.20,
/// p = 0.027.
/// ```
/// use talentmap::analytics::flows::stats::mann_kendall;
/// let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]);
/// assert_eq!(mk.s, 10);
/// assert!((mk.z - 2.2045).abs() < 1e-3 && (mk.p_value - 0.0275).abs() < 1e-3);
/// ```
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let mut sorted: Vec<f64> = x.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var <= 0.0 || s == 0 { 0.0 } else { (s - s.signum()) as f64 / var.sqrt() };
    MannKendall { s, z, p_value: (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0) }
}

/// Sen's slope: the median of the pairwise slopes `(x_j − x_i) / (j − i)`,
/// in units of `x` per step. `None` for fewer than two values.
///
/// # Examples
/// `10, 12, 14, 16, 100`: six of the ten pairwise slopes are 2, the others
/// (22.5, 29.3, 43, 84) involve the outlier, so the median is 2.
/// ```
/// use talentmap::analytics::flows::stats::sen_slope;
/// assert_eq!(sen_slope(&[10.0, 12.0, 14.0, 16.0, 100.0]), Some(2.0));
/// assert_eq!(sen_slope(&[3.0, 1.0]), Some(-2.0));
/// ```
pub fn sen_slope(x: &[f64]) -> Option<f64> {
    let mut slopes = Vec::with_capacity(x.len() * x.len().saturating_sub(1) / 2);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            slopes.push((x[j] - x[i]) / (j - i) as f64);
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(|a, b| a.total_cmp(b));
    let m = slopes.len();
    Some(if m % 2 == 1 { slopes[m / 2] } else { (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_tail(x: u64, r: f64, p: f64) -> f64 {
        let cdf: f64 = (0..x).map(|i| neg_binomial_ln_pmf(i, r, p).exp()).sum();
        1.0 - cdf
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-9 * f.ln().max(1.0), "n={n}");
        }
    }

    #[test]
    fn tail_matches_brute_force() {
        for &(r, p) in &[(0.5, 0.3), (3.0, 0.5), (20.5, 0.9), (240.5, 0.95), (1200.5, 0.923)] {
            let mean = r * (1.0 - p) / p;
            for x in [0u64, 1, 2, (mean * 0.5) as u64, mean as u64, (mean * 1.5) as u64 + 1, (mean * 2.0) as u64 + 3] {
                let exact = brute_tail(x, r, p);
                let got = neg_binomial_ln_upper_tail(x, r, p).exp();
                assert!((got - exact).abs() < 1e-9 + 1e-7 * exact, "r={r} p={p} x={x}: {got} vs {exact}");
            }
        }
    }

    #[test]
    fn tiny_tails_keep_their_logarithm() {
        let lt = neg_binomial_ln_upper_tail(5000, 100.5, 0.9);
        assert!(lt.is_finite() && lt < -1000.0, "{lt}");
    }

    #[test]
    fn normal_quantiles() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(-1.644854) - 0.05).abs() < 1e-6);
        assert!((normal_cdf(3.090232) - 0.999).abs() < 1e-6);
    }

    #[test]
    fn mann_kendall_with_ties_and_flat() {
        let flat = mann_kendall(&[4.0; 12]);
        assert_eq!((flat.s, flat.z), (0, 0.0));
        assert!((flat.p_value - 1.0).abs() < 1e-6);
        let down = mann_kendall(&[12.0, 11.0, 11.0, 9.0, 8.0, 8.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        assert!(down.s < 0 && down.p_value < 0.001, "{down:?}");
    }

    #[test]
    fn sen_slope_is_robust_to_one_outlier() {
        let mut x: Vec<f64> = (0..12).map(|i| 10.0 + 2.0 * i as f64).collect();
        x[5] = 500.0;
        assert_eq!(sen_slope(&x), Some(2.0));
        assert_eq!(sen_slope(&[1.0]), None);
    }
}
