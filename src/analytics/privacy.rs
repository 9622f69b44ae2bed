//! Disclosure control for talent-derived numbers (personal data): the
//! cell-key method of interactive statistical tables (the Australian Bureau
//! of Statistics' TableBuilder; see `docs/privacy.md`).
//!
//! - Every talent and every move has a permanent, secret **record key**: 32
//!   bits that look random (`auth::record_key`), stored on import, never
//!   published.
//! - A count is kept as a [`Tally`]: the number of records and their
//!   **cell key**, the sum of their record keys modulo 2³². Sums are
//!   additive, so grid cells, pyramids and region totals aggregate in one
//!   pass as before, and the same set of records has the same cell key on
//!   every route, zoom, filter path and restart.
//! - A principal not entitled to exact counts gets [`perturb`]`(n, cell key)`
//!   from a fixed table: 0 stays 0; nothing in 1..k−1 is ever published
//!   (small counts become 0 or k, with expectation n); larger counts get
//!   bounded, centred noise of at most ±2. Asking again, or averaging, gains
//!   nothing: the answer is a function of the records counted.
//! - Statistics that describe a few people (a median, a mean, a share, the
//!   most common field) are published for such principals only for groups of
//!   at least [`MIN_GROUP`].
//!
//! Principals entitled to exact counts (an admin; an analyst for the
//! districts and parks of their jurisdiction) get [`Disclosure::Exact`].

/// Smallest group whose statistics (median, mean, share, mode) are published
/// to a principal without exact counts.
pub const MIN_GROUP: u64 = 20;

/// The noise added to counts of at least k + 2: `(noise, probability)`.
/// Centred (mean 0), variance 1.6, mean absolute value 1.0, at most ±2; the
/// probability that two independent draws are equal is 0.215, so the
/// difference of two published counts equals the difference of the true
/// counts about one time in five.
pub const NOISE: [(i64, f64); 5] = [(-2, 0.15), (-1, 0.2), (0, 0.3), (1, 0.2), (2, 0.15)];

/// How numbers leave the server for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disclosure {
    /// Exact counts (admins; analysts inside their jurisdiction).
    Exact,
    /// Perturbed counts with threshold `k`, minimum group sizes.
    Protected { k: u32 },
}

impl Disclosure {
    /// The published value of a tally.
    pub fn count(self, t: Tally) -> u64 {
        match self {
            Disclosure::Exact => t.n,
            Disclosure::Protected { k } => perturb(t.n, t.key, k),
        }
    }

    /// Whether a statistic of the group `t` (a median, a mean, a share) may
    /// be published: any non-empty group for exact disclosure, at least
    /// [`MIN_GROUP`] records otherwise.
    pub fn describes(self, t: Tally) -> bool {
        match self {
            Disclosure::Exact => t.n > 0,
            Disclosure::Protected { .. } => t.n >= MIN_GROUP,
        }
    }

    /// Whether this is exact disclosure.
    pub fn is_exact(self) -> bool {
        self == Disclosure::Exact
    }

    /// A short stable text for cache keys.
    pub fn tag(self) -> String {
        match self {
            Disclosure::Exact => "exact".into(),
            Disclosure::Protected { k } => format!("k{k}"),
        }
    }
}

/// A count with its cell key: the number of records and the sum of their
/// record keys modulo 2³².
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tally {
    pub n: u64,
    pub key: u32,
}

impl Tally {
    /// One record with record key `rkey`.
    pub fn one(rkey: u32) -> Tally {
        Tally { n: 1, key: rkey }
    }

    /// Counts one more record.
    #[inline]
    pub fn add(&mut self, rkey: u32) {
        self.n += 1;
        self.key = self.key.wrapping_add(rkey);
    }

    /// Adds the records of another, disjoint tally.
    #[inline]
    pub fn merge(&mut self, other: Tally) {
        self.n += other.n;
        self.key = self.key.wrapping_add(other.key);
    }

    /// The records of `self` that are not in `part` (a subset of them).
    #[inline]
    pub fn minus(self, part: Tally) -> Tally {
        Tally { n: self.n - part.n, key: self.key.wrapping_sub(part.key) }
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Tally {
        iter.fold(Tally::default(), |mut a, t| {
            a.merge(t);
            a
        })
    }
}

/// A uniform 32-bit number from a cell key and the count it belongs to (a
/// fixed bit mixer: SplitMix64's finaliser).
#[inline]
fn uniform(n: u64, key: u32) -> u32 {
    let mut z = u64::from(key) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 32) as u32
}

/// Cumulative probabilities of a noise table in units of 2⁻³², for integer
/// lookups.
const fn thresholds<const N: usize>(table: [(i64, f64); N]) -> [u64; N] {
    let mut out = [0u64; N];
    let mut acc = 0.0;
    let mut i = 0;
    while i < N {
        acc += table[i].1;
        out[i] = (acc * 4_294_967_296.0) as u64;
        i += 1;
    }
    out[N - 1] = 1 << 32;
    out
}

/// The row for k+1: −1, 0, +1 with probabilities ¼, ½, ¼.
const NEAR_K: [(i64, f64); 3] = [(-1, 0.25), (0, 0.5), (1, 0.25)];
const NEAR_K_AT: [u64; 3] = thresholds(NEAR_K);
const NOISE_AT: [u64; 5] = thresholds(NOISE);

/// The published value of a true count `n` with cell key `key` under
/// threshold `k` (the perturbation table, `docs/privacy.md`):
///
/// | true count | published |
/// |---|---|
/// | 0 | 0 |
/// | 1 … k−1 | k with probability n/k, else 0 (expectation n) |
/// | k | k |
/// | k+1 | n − 1, n, n + 1 with probabilities ¼, ½, ¼ |
/// | ≥ k+2 | n + [`NOISE`]: −2 … +2 with probabilities 0.15, 0.2, 0.3, 0.2, 0.15 |
///
/// Every row is centred (expectation n), none publishes a value in 1..k−1,
/// and the value is a function of `(n, key)` alone. Integer arithmetic only:
/// a tile publishes thousands of these.
///
/// ```
/// use talentmap::analytics::privacy::perturb;
/// assert_eq!(perturb(0, 12345, 5), 0);
/// for key in [0, 1, 99, u32::MAX] {
///     assert!([0, 5].contains(&perturb(3, key, 5)));
///     assert!((998..=1002).contains(&perturb(1000, key, 5)));
///     assert_eq!(perturb(1000, key, 5), perturb(1000, key, 5));
/// }
/// ```
#[inline]
pub fn perturb(n: u64, key: u32, k: u32) -> u64 {
    let k = u64::from(k.max(1));
    if n == 0 {
        return 0;
    }
    let u = u64::from(uniform(n, key));
    let pick = |table: &[(i64, f64)], at: &[u64]| -> i64 {
        let i = at.iter().position(|&t| u < t).unwrap_or(at.len() - 1);
        table[i].0
    };
    match n {
        n if n < k => {
            // u / 2³² < n / k
            if u * k < n << 32 { k } else { 0 }
        }
        n if n == k => k,
        n if n == k + 1 => (n as i64 + pick(&NEAR_K, &NEAR_K_AT)) as u64,
        n => (n as i64 + pick(&NOISE, &NOISE_AT)) as u64,
    }
}

/// The published value of a plain count under the old threshold rule, for
/// numbers that are not talent counts by record (kept for callers that have
/// no record keys): `None` for 1..k−1.
///
/// ```
/// use talentmap::analytics::privacy::publishable;
/// assert_eq!(publishable(0, 5), Some(0));
/// assert_eq!(publishable(4, 5), None);
/// assert_eq!(publishable(5, 5), Some(5));
/// ```
pub fn publishable(count: u64, k: u32) -> Option<u64> {
    if count > 0 && count < k as u64 { None } else { Some(count) }
}

/// JSON for a count under the threshold rule: the number, or `null`.
pub fn json_count(count: u64, k: u32) -> serde_json::Value {
    publishable(count, k).map_or(serde_json::Value::Null, serde_json::Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize, seed: u64) -> Vec<u32> {
        let mut rng = crate::generate::rng::Rng::new(seed, 0);
        (0..n).map(|_| rng.next_u64() as u32).collect()
    }

    #[test]
    fn the_table_is_centred_bounded_and_never_small() {
        let k = 5;
        for n in 0..40u64 {
            let mut sum = 0.0;
            let draws = keys(40_000, n + 1);
            for &key in &draws {
                let p = perturb(n, key, k);
                assert!(p == 0 || p >= u64::from(k), "n={n} published {p}");
                assert!((p as i64 - n as i64).abs() <= 4, "bounded: n={n} p={p}");
                sum += p as f64;
            }
            let mean = sum / draws.len() as f64;
            assert!((mean - n as f64).abs() < 0.06 + 0.02 * (n as f64).sqrt(), "centred: n={n} mean={mean}");
        }
        assert!((NOISE.iter().map(|(_, p)| p).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(NOISE.iter().map(|(d, p)| *d as f64 * p).sum::<f64>().abs() < 1e-12);
    }

    #[test]
    fn tallies_add_like_the_records_they_count() {
        let ks = keys(100, 9);
        let mut all = Tally::default();
        let (mut a, mut b) = (Tally::default(), Tally::default());
        for (i, &key) in ks.iter().enumerate() {
            all.add(key);
            if i % 3 == 0 { a.add(key) } else { b.add(key) }
        }
        let mut merged = a;
        merged.merge(b);
        assert_eq!(merged, all);
        assert_eq!(all.minus(a), b);
        assert_eq!([a, b].into_iter().sum::<Tally>(), all);
        let d = Disclosure::Protected { k: 5 };
        assert_eq!(d.count(merged), d.count(all), "the same records, the same published value");
        assert_eq!(Disclosure::Exact.count(all), 100);
        assert!(d.describes(Tally { n: 20, key: 0 }) && !d.describes(Tally { n: 19, key: 0 }));
    }
}
