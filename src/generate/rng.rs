//! Deterministic pseudo-random numbers for the demo city.
//!
//! The generator must produce the same bytes for the same seed, on every run
//! and independent of crate versions, so it carries its own small PRNG
//! instead of depending on `rand`: xoshiro256** (Blackman & Vigna, 2018)
//! seeded through SplitMix64. Each part of the city draws from its own
//! stream (`Rng::new(seed, stream)`), so changing how many vacancies are
//! drawn does not reshuffle the talents.
//!
//! It is also the seeded generator of the crate's unit tests (random points
//! for brute-force checks), so that there is one to read and trust.

use std::f64::consts::TAU;

/// One step of SplitMix64; used to expand a seed into xoshiro state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stateless 64-bit hash (the SplitMix64 finaliser), for lattice noise.
pub fn mix64(x: u64) -> u64 {
    let mut state = x;
    splitmix64(&mut state)
}

/// xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for one named purpose (`stream`) of one city (`seed`).
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1; // the all-zero state is the one fixed point of xoshiro
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in [0, n); `n` must be > 0. (Multiply-shift; the bias
    /// is below 2^-40 for the sizes used here.)
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform integer in [lo, hi] (inclusive).
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1]
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }

    /// Log-normal with the given median and log-scale standard deviation.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson-distributed count (Knuth's method; fine for small means).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.f64();
        while p > limit && k < 1000 {
            k += 1;
            p *= self.f64();
        }
        k
    }

    /// A uniformly chosen element; `items` must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A discrete distribution over `0..n` from non-negative weights, sampled by
/// binary search in the cumulative sums.
#[derive(Debug, Clone)]
pub struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// `None` when there is no positive weight.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Option<Weighted> {
        let mut total = 0.0;
        let cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                if w.is_finite() && w > 0.0 {
                    total += w;
                }
                total
            })
            .collect();
        (total > 0.0).then_some(Weighted { cumulative })
    }

    pub fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.f64() * self.total();
        let i = self.cumulative.partition_point(|&c| c <= x);
        i.min(self.cumulative.len() - 1)
    }
}

/// A discrete distribution over `0..n` sampled in constant time (Vose's
/// alias method), for large tables such as enterprises or raster cells.
#[derive(Debug, Clone)]
pub struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    /// `None` when there is no positive weight.
    pub fn new(weights: &[f64]) -> Option<Alias> {
        let clean = |w: f64| if w.is_finite() && w > 0.0 { w } else { 0.0 };
        let total: f64 = weights.iter().map(|&w| clean(w)).sum();
        let n = weights.len();
        if total <= 0.0 || n > u32::MAX as usize {
            return None;
        }
        let heaviest = (0..n).max_by(|&a, &b| clean(weights[a]).total_cmp(&clean(weights[b])))?;
        let mut scaled: Vec<f64> = weights.iter().map(|&w| clean(w) * n as f64 / total).collect();
        let mut prob = vec![0.0; n];
        let mut alias = vec![heaviest as u32; n];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (0..n as u32).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            prob[s as usize] = scaled[s as usize];
            alias[s as usize] = l;
            scaled[l as usize] += scaled[s as usize] - 1.0;
            if scaled[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Left-overs are 1 up to rounding; a zero weight must stay unreachable.
        for i in small.into_iter().chain(large) {
            prob[i as usize] = if clean(weights[i as usize]) > 0.0 { 1.0 } else { 0.0 };
        }
        Some(Alias { prob, alias })
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let i = rng.below(self.prob.len() as u64) as usize;
        if rng.f64() < self.prob[i] { i } else { self.alias[i] as usize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(42, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(42, 1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(42, 2);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn weighted_respects_zero_weights_and_ranges() {
        let w = Weighted::new([0.0, 1.0, 0.0, 3.0]).unwrap();
        let mut rng = Rng::new(7, 0);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[w.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[0] + counts[2], 0);
        assert!(counts[3] > 2 * counts[1]);
        assert!(Weighted::new([0.0, 0.0]).is_none());
        let a = Alias::new(&[0.0, 1.0, 0.0, 3.0]).unwrap();
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[a.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[0] + counts[2], 0);
        assert!((counts[3] as f64 / counts[1] as f64 - 3.0).abs() < 0.5, "{counts:?}");
        assert!(Alias::new(&[0.0]).is_none());
        for _ in 0..1000 {
            let x = rng.between(3, 5);
            assert!((3..=5).contains(&x));
            assert!(rng.f64() < 1.0);
        }
    }
}
