//! The gamma distribution: regularized incomplete gamma function and its
//! inverse, for the credible interval of the shortage index.
//!
//! The shortage index is the mean of a Gamma posterior (see
//! [`super::index`]); its interval is two quantiles of that posterior. The
//! standard library has no gamma functions and the project takes no
//! statistics dependency for three functions, so they are implemented here
//! after well-known algorithms and tested against published values.
//!
//! Sources:
//! - `ln Γ`: Lanczos approximation, g = 7, n = 9 coefficients (Godfrey), as in
//!   Press et al., *Numerical Recipes*, 3rd ed., §6.1; relative error < 1e-15
//!   for positive arguments.
//! - `P(a, x)`: series for `x < a + 1`, Lentz's continued fraction for `Q`
//!   otherwise (Numerical Recipes §6.2).
//! - Quantile: Wilson–Hilferty start (Johnson, Kotz & Balakrishnan,
//!   *Continuous Univariate Distributions* vol. 1, §17.5), refined by Newton
//!   steps safeguarded by bisection until the step is below 1e-12 relative.

const LANCZOS: [f64; 9] = [
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

const EPS: f64 = 1e-15;
const TINY: f64 = 1e-300;
/// Iteration cap of the series and continued fraction; both need about
/// `sqrt(a)` terms near the mode, so this covers shapes up to about 1e10.
const MAX_TERMS: usize = 200_000;

/// Natural logarithm of the gamma function for `x > 0`.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::gamma::ln_gamma;
/// assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13); // Γ(5) = 4! = 24
/// ```
pub fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = LANCZOS[0];
    let t = x + 7.5;
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized lower incomplete gamma function
/// `P(a, x) = γ(a, x) / Γ(a)`: the distribution function at `x` of a Gamma
/// variable with shape `a > 0` and rate 1.
///
/// Returns 0 for `x ≤ 0` and 1 for `x = ∞`.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::gamma::reg_lower_gamma;
/// // P(1, x) = 1 − e^−x (the exponential distribution).
/// assert!((reg_lower_gamma(1.0, 2.0) - (1.0 - (-2f64).exp())).abs() < 1e-14);
/// ```
pub fn reg_lower_gamma(a: f64, x: f64) -> f64 {
    if x <= 0.0 || a <= 0.0 {
        return if a <= 0.0 { 1.0 } else { 0.0 };
    }
    if x.is_infinite() {
        return 1.0;
    }
    let log_prefix = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        // Series: γ(a, x) e^x x^−a = Σ x^n / (a (a+1) … (a+n)).
        let mut term = 1.0 / a;
        let mut sum = term;
        for n in 1..MAX_TERMS {
            term *= x / (a + n as f64);
            sum += term;
            if term.abs() < sum.abs() * EPS {
                break;
            }
        }
        (sum.ln() + log_prefix).exp().min(1.0)
    } else {
        // Continued fraction for Q(a, x) (modified Lentz).
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_TERMS {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        (1.0 - (log_prefix + h.ln()).exp()).max(0.0)
    }
}

/// Density of Gamma(a, rate 1) at `x > 0`.
fn density(a: f64, x: f64) -> f64 {
    ((a - 1.0) * x.ln() - x - ln_gamma(a)).exp()
}

/// Standard normal quantile, Abramowitz & Stegun 26.2.23 (absolute error
/// < 4.5e-4); only a starting point for Newton's method.
fn normal_quantile_approx(p: f64) -> f64 {
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    let t = (-2.0 * q.ln()).sqrt();
    let z = t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t);
    sign * z
}

/// Quantile of Gamma(shape `a`, rate 1): the `x` with `P(a, x) = p`.
/// Divide by the rate for other rates.
///
/// Returns 0 when `a ≤ 0` (a point mass at zero) or `p ≤ 0`, and infinity
/// for `p ≥ 1`.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::gamma::gamma_quantile;
/// // The chi-square distribution with ν degrees of freedom is Gamma(ν/2, 1/2):
/// // χ²(0.95; 1) = 3.841459.
/// assert!((2.0 * gamma_quantile(0.5, 0.95) - 3.841_458_820_694_124).abs() < 1e-9);
/// ```
pub fn gamma_quantile(a: f64, p: f64) -> f64 {
    if a <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    // Wilson–Hilferty: (X/a)^(1/3) is nearly normal with mean 1 − 1/(9a)
    // and variance 1/(9a); for small shapes use P(a, x) ≈ x^a / Γ(a + 1).
    let z = normal_quantile_approx(p);
    let v = 1.0 / (9.0 * a);
    let wh = a * (1.0 - v + z * v.sqrt()).powi(3);
    let small = ((p.ln() + ln_gamma(a + 1.0)) / a).exp();
    let mut x = if a < 1.0 || wh <= 0.0 { small.max(1e-300) } else { wh };
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    for _ in 0..200 {
        let f = reg_lower_gamma(a, x) - p;
        if f == 0.0 {
            return x;
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let step = f / density(a, x);

        let mut next = x - step;
        if !next.is_finite() || next <= lo || next >= hi {
            next = if hi.is_finite() { 0.5 * (lo + hi) } else { 2.0 * x.max(lo) + 1.0 };
        }
        if (next - x).abs() <= 1e-12 * x.max(1e-300) {
            return next;
        }
        x = next;
    }
    x
}

/// Central credible interval of Gamma(shape `a`, rate `b`) at level `level`
/// (e.g. 0.8): the quantiles at `(1 − level)/2` and `(1 + level)/2`.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::gamma::gamma_interval;
/// // Gamma(1, 20) is exponential with mean 0.05: quantile = −ln(1 − p) / 20.
/// let (lo, hi) = gamma_interval(1.0, 20.0, 0.8);
/// assert!((lo - (-(0.9f64).ln() / 20.0)).abs() < 1e-12);
/// assert!((hi - (-(0.1f64).ln() / 20.0)).abs() < 1e-12);
/// ```
pub fn gamma_interval(a: f64, b: f64, level: f64) -> (f64, f64) {
    let tail = (1.0 - level) / 2.0;
    (gamma_quantile(a, tail) / b, gamma_quantile(a, 1.0 - tail) / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut fact = 1.0f64;
        for n in 1..30 {
            assert!(close(ln_gamma(n as f64), fact.ln(), 1e-13), "Γ({n})");
            fact *= n as f64;
        }
        // Γ(1/2) = √π
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-14));
        // Γ(0.1) = 9.513507698668732
        assert!(close(ln_gamma(0.1), 9.513_507_698_668_732f64.ln(), 1e-13));
    }

    #[test]
    fn incomplete_gamma_matches_closed_forms() {
        // P(1, x) = 1 − e^−x; P(3, 2) = 1 − e^−2 (1 + 2 + 2); P(1/2, x) = erf(√x).
        for x in [0.01, 0.5, 1.0, 3.0, 10.0, 40.0] {
            assert!(close(reg_lower_gamma(1.0, x), 1.0 - (-x).exp(), 1e-13), "x = {x}");
        }
        assert!(close(reg_lower_gamma(3.0, 2.0), 0.323_323_583_816_936_6, 1e-13));
        assert!(close(reg_lower_gamma(0.5, 1.0), 0.842_700_792_949_714_9, 1e-13)); // erf(1)
        assert!(close(reg_lower_gamma(0.5, 4.0), 0.995_322_265_018_952_7, 1e-13)); // erf(2)
        // Large shape: P(a, a) → 1/2 + 1/(3 √(2π a)).
        let a: f64 = 1e6;
        let expected = 0.5 + 1.0 / (3.0 * (2.0 * std::f64::consts::PI * a).sqrt());
        assert!((reg_lower_gamma(a, a) - expected).abs() < 1e-6);
        assert_eq!(reg_lower_gamma(2.0, 0.0), 0.0);
    }

    #[test]
    fn quantiles_match_chi_square_tables() {
        // χ²(p; ν) = 2 · Q(ν/2, p), values from standard tables (R qchisq).
        let table = [
            (1.0, 0.95, 3.841_458_820_694_124),
            (10.0, 0.95, 18.307_038_053_275_146),
            (4.0, 0.1, 1.063_623_216_792_113),
            (2.0, 0.5, 1.386_294_361_119_890_6),
            (1.0, 0.1, 0.015_790_774_093_431_218),
            (100.0, 0.99, 135.806_723_190_449_88),
        ];
        for (nu, p, chi) in table {
            let q = 2.0 * gamma_quantile(nu / 2.0, p);
            assert!(close(q, chi, 1e-9), "ν = {nu}, p = {p}: {q} vs {chi}");
        }
    }

    #[test]
    fn quantile_inverts_the_distribution_function() {
        for a in [0.05, 0.3, 1.0, 2.5, 17.0, 230.0, 5e4, 3e6] {
            for p in [1e-6, 0.05, 0.1, 0.5, 0.9, 0.95, 0.999_999] {
                let x = gamma_quantile(a, p);
                assert!(x.is_finite() && x > 0.0, "a = {a}, p = {p}");
                assert!((reg_lower_gamma(a, x) - p).abs() < 1e-9, "a = {a}, p = {p}: P = {}", reg_lower_gamma(a, x));
            }
        }
        assert_eq!(gamma_quantile(0.0, 0.5), 0.0);
        assert_eq!(gamma_quantile(2.0, 1.0), f64::INFINITY);
    }
}
