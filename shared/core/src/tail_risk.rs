//! The tail risk of a book: value at risk and conditional value at risk (expected shortfall) at a
//! horizon, two ways, each figure with the sample it rests on.
//!
//! - **Historical, by full revaluation**: today's weights applied to every past session's returns
//!   of the names held ([`book_returns`]), so the figure is the loss today's book would have had on
//!   each of those days (not the loss of the books held then).
//! - **Monte Carlo block bootstrap** ([`block_bootstrap`]): paths of `horizon` sessions built by
//!   drawing blocks of `block` consecutive sessions of that history (wrapping at its end), so the
//!   autocorrelation and volatility clustering inside a block survive; compounded per path. The
//!   generator is seeded ([`SplitMix64`]): the same inputs and seed give the same paths.
//!
//! [`kupiec`] tests a VaR's coverage against the losses that followed (a backtest's exceedances).
//!
//! VaR and CVaR are the functions of [`crate::metrics`] (empyrical's definitions, oracle-tested),
//! applied to the sample: returns, negative in the tail, at `cutoff` = 1 − confidence.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::metrics::{conditional_value_at_risk, value_at_risk};

/// A tail figure with what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tail {
    /// 1 − confidence (0.01 for 99%).
    pub cutoff: f64,
    /// Value at risk, a return (negative: a loss).
    pub var: f64,
    /// Conditional value at risk (mean of the returns at or beyond the VaR), a return.
    pub cvar: f64,
    /// Observations or paths the figure rests on.
    pub n: usize,
}

impl Tail {
    /// VaR and CVaR of `sample` at `cutoff` (NaN for an empty sample).
    pub fn of(sample: &[f64], cutoff: f64) -> Self {
        Self {
            cutoff,
            var: value_at_risk(sample, cutoff),
            cvar: conditional_value_at_risk(sample, cutoff),
            n: sample.len(),
        }
    }
}

/// Today's book revalued over history: for each past session `t`, `Σ w_i · r_i[t]`, where
/// `positions` are (weight as a share of NAV, that name's daily returns, oldest first, all the
/// same length). A session where a held name has no finite return is left out (the figure says
/// how many sessions it rests on).
pub fn book_returns(positions: &[(f64, &[f64])]) -> Vec<f64> {
    let n = positions.iter().map(|(_, r)| r.len()).min().unwrap_or(0);
    (0..n)
        .filter_map(|t| {
            let mut sum = 0.0;
            for (w, r) in positions {
                let x = r[r.len() - n + t];
                if !x.is_finite() {
                    return None;
                }
                sum += w * x;
            }
            Some(sum)
        })
        .collect()
}

/// How the block bootstrap draws its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Paths drawn.
    pub paths: usize,
    /// Sessions per path.
    pub horizon: usize,
    /// Consecutive sessions per block (1: an i.i.d. bootstrap).
    pub block: usize,
    /// Seed of the generator.
    pub seed: u64,
}

/// Compounded `horizon`-session returns of `cfg.paths` paths drawn from `history` in blocks of
/// `cfg.block` consecutive sessions (wrapping at its end). Empty when `history` is empty or a
/// setting is zero.
pub fn block_bootstrap(history: &[f64], cfg: &Bootstrap) -> Vec<f64> {
    let n = history.len();
    if n == 0 || cfg.paths == 0 || cfg.horizon == 0 || cfg.block == 0 {
        return Vec::new();
    }
    let mut rng = SplitMix64::new(cfg.seed);
    let mut out = Vec::with_capacity(cfg.paths);
    for _ in 0..cfg.paths {
        let mut growth = 1.0;
        let mut left = cfg.horizon;
        while left > 0 {
            let start = rng.below(n as u64) as usize;
            let take = cfg.block.min(left);
            for k in 0..take {
                growth *= 1.0 + history[(start + k) % n];
            }
            left -= take;
        }
        out.push(growth - 1.0);
    }
    out
}

/// Kupiec's proportion-of-failures test of a VaR's coverage: `exceedances` losses beyond the VaR
/// in `n` sessions, against the `cutoff` the VaR promises (0.01 for a 99% VaR). Returns the
/// likelihood ratio and its p-value under χ²(1) (small: the VaR is wrong, too tight or too
/// loose), or `None` when `n` is 0, `exceedances` > `n` or `cutoff` is not in (0, 1).
pub fn kupiec(exceedances: usize, n: usize, cutoff: f64) -> Option<(f64, f64)> {
    if n == 0 || exceedances > n || !(cutoff > 0.0 && cutoff < 1.0) {
        return None;
    }
    let (x, n) = (exceedances as f64, n as f64);
    // x·ln(q) with 0·ln(0) = 0.
    let xlog = |k: f64, q: f64| if k == 0.0 { 0.0 } else { k * q.ln() };
    let promised = xlog(n - x, 1.0 - cutoff) + xlog(x, cutoff);
    let observed = xlog(n - x, 1.0 - x / n) + xlog(x, x / n);
    let lr = (-2.0 * (promised - observed)).max(0.0);
    let p = ChiSquared::new(1.0).map(|c| c.sf(lr)).unwrap_or(f64::NAN);
    Some((lr, p))
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator for the pure core, which
/// carries no `rand` crate. Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; `n` > 0), without modulo bias beyond 2⁻⁶⁴·n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic return series with volatility clusters and positive autocorrelation.
    fn history(n: usize, persistence: f64) -> Vec<f64> {
        let mut rng = SplitMix64::new(7);
        let mut prev = 0.0;
        (0..n)
            .map(|i| {
                let u = rng.next_u64() as f64 / u64::MAX as f64 - 0.5;
                let vol = if (i / 50) % 2 == 0 { 0.01 } else { 0.03 };
                prev = persistence * prev + vol * u;
                prev
            })
            .collect()
    }

    #[test]
    fn the_generator_matches_the_published_splitmix64_sequence() {
        // First outputs for seed 1234567 (the reference implementation's test vector).
        let mut g = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(got, vec![6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423]);
    }

    #[test]
    fn the_same_seed_gives_the_same_paths_and_another_seed_others() {
        let h = history(600, 0.0);
        let cfg = Bootstrap { paths: 2_000, horizon: 10, block: 5, seed: 42 };
        assert_eq!(block_bootstrap(&h, &cfg), block_bootstrap(&h, &cfg));
        assert_ne!(block_bootstrap(&h, &cfg), block_bootstrap(&h, &Bootstrap { seed: 43, ..cfg }));
        assert!(block_bootstrap(&[], &cfg).is_empty());
        assert!(block_bootstrap(&h, &Bootstrap { block: 0, ..cfg }).is_empty());
    }

    #[test]
    fn a_one_day_bootstrap_recovers_the_historical_tail() {
        let h = history(1_000, 0.0);
        let hist = Tail::of(&h, 0.01);
        let mc = Tail::of(&block_bootstrap(&h, &Bootstrap { paths: 50_000, horizon: 1, block: 1, seed: 1 }), 0.01);
        assert_eq!((hist.n, mc.n), (1_000, 50_000));
        assert!((mc.var / hist.var - 1.0).abs() < 0.05, "{mc:?} vs {hist:?}");
        assert!((mc.cvar / hist.cvar - 1.0).abs() < 0.05, "{mc:?} vs {hist:?}");
        assert!(mc.cvar <= mc.var && mc.var < 0.0);
    }

    #[test]
    fn blocks_keep_the_persistence_an_iid_draw_destroys() {
        // Strongly autocorrelated returns: ten-day losses compound, so a bootstrap that keeps
        // ten-day blocks sees a deeper 99% tail than one that shuffles single days.
        let h = history(2_000, 0.8);
        let draw =
            |block| Tail::of(&block_bootstrap(&h, &Bootstrap { paths: 20_000, horizon: 10, block, seed: 9 }), 0.01);
        let (iid, blocks) = (draw(1), draw(10));
        assert!(blocks.var < iid.var * 1.5, "blocks {blocks:?} vs iid {iid:?}");
    }

    #[test]
    fn kupiec_refuses_what_it_cannot_test_and_accepts_exact_coverage() {
        assert_eq!(kupiec(0, 0, 0.01), None);
        assert_eq!(kupiec(5, 4, 0.01), None);
        assert_eq!(kupiec(1, 100, 1.0), None);
        let (lr, p) = kupiec(5, 500, 0.01).unwrap();
        assert!(lr.abs() < 1e-12 && (p - 1.0).abs() < 1e-12, "{lr} {p}");
        assert!(kupiec(25, 500, 0.01).unwrap().1 < 0.001, "five times the promised losses");
    }

    #[test]
    fn the_book_is_revalued_with_todays_weights_over_the_common_history() {
        let a = [0.01, -0.02, 0.03, f64::NAN];
        let b = [0.5, 0.02, 0.01, 0.00, -0.01];
        let r = book_returns(&[(0.5, &a), (0.25, &b)]);
        // The last 4 sessions of b align with a; the session where a is NaN is left out.
        let want = [0.5 * 0.01 + 0.25 * 0.02, 0.5 * -0.02 + 0.25 * 0.01, 0.5 * 0.03 + 0.25 * 0.00];
        assert_eq!(r.len(), 3);
        for (x, w) in r.iter().zip(want) {
            assert!((x - w).abs() < 1e-15);
        }
        assert!(book_returns(&[]).is_empty());
    }
}
