//! Overfitting statistics for a parameter search.
//!
//! - **Deflated Sharpe ratio** (Bailey & López de Prado, 2014): the probability that the best
//!   point's true Sharpe is above the best Sharpe `n_trials` skill-less points would show, given
//!   the variance of the trials' Sharpes and the best series' skew and kurtosis.
//! - **Probability of backtest overfitting** (Bailey, Borwein, López de Prado & Zhu, 2015; CSCV):
//!   the days are cut into `blocks` blocks; for every half of the blocks, the point that is best in
//!   that half is ranked in the other half; PBO is the share of splits where it ranks at or below
//!   the median.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Per-period Sharpe (mean / sample std).
pub fn sharpe_per_period(r: &[f64]) -> f64 {
    let n = r.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let m = r.iter().sum::<f64>() / n;
    let v = r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    if v <= 0.0 { f64::NAN } else { m / v.sqrt() }
}

fn moments(r: &[f64]) -> (f64, f64) {
    let n = r.len() as f64;
    let m = r.iter().sum::<f64>() / n;
    let m2 = r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    if m2 <= 0.0 {
        return (0.0, 3.0);
    }
    let m3 = r.iter().map(|x| (x - m).powi(3)).sum::<f64>() / n;
    let m4 = r.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (m3 / m2.powf(1.5), m4 / (m2 * m2))
}

/// The deflated Sharpe ratio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deflated {
    /// Best point's per-period Sharpe.
    pub sharpe: f64,
    /// The Sharpe expected from the best of `n_trials` skill-less points.
    pub expected_max: f64,
    /// Trials.
    pub n_trials: usize,
    /// Periods.
    pub n_periods: usize,
    /// Probability that the best point has skill.
    pub probability: f64,
}

/// Deflated Sharpe of `best` among trials whose per-period Sharpes are `trial_sharpes`.
pub fn deflated_sharpe(best: &[f64], trial_sharpes: &[f64]) -> Deflated {
    let std = Normal::standard();
    let finite: Vec<f64> = trial_sharpes.iter().copied().filter(|s| s.is_finite()).collect();
    let n = finite.len().max(1);
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let var = if finite.len() > 1 {
        finite.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (finite.len() - 1) as f64
    } else {
        0.0
    };
    let gamma = 0.577_215_664_901_532_9;
    let e = std::f64::consts::E;
    let expected_max = if n > 1 {
        var.sqrt()
            * ((1.0 - gamma) * std.inverse_cdf(1.0 - 1.0 / n as f64)
                + gamma * std.inverse_cdf(1.0 - 1.0 / (n as f64 * e)))
    } else {
        0.0
    };
    let sr = sharpe_per_period(best);
    let t = best.len() as f64;
    let (skew, kurt) = moments(best);
    let denom = (1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr).max(1e-12).sqrt();
    let probability =
        if sr.is_finite() && t > 1.0 { std.cdf((sr - expected_max) * (t - 1.0).sqrt() / denom) } else { 0.0 };
    Deflated { sharpe: sr, expected_max, n_trials: n, n_periods: best.len(), probability }
}

/// The probability of backtest overfitting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pbo {
    /// Share of splits whose in-sample best ranks at or below the out-of-sample median.
    pub probability: f64,
    /// Splits evaluated.
    pub splits: usize,
    /// Blocks the days were cut into.
    pub blocks: usize,
}

fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::with_capacity(k);
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    go(0, n, k, &mut cur, &mut out);
    out
}

/// CSCV over `returns[point][day]` with `blocks` (even) blocks, performance = per-period Sharpe
/// (additive over blocks through its moments; the sweep's objective adds a drawdown term that is
/// not, so the in-sample choice here is by Sharpe).
pub fn pbo(returns: &[Vec<f64>], blocks: usize) -> Pbo {
    let points = returns.len();
    let days = returns.first().map(Vec::len).unwrap_or(0);
    if points < 2 || blocks < 2 || days < blocks * 2 {
        return Pbo { probability: f64::NAN, splits: 0, blocks };
    }
    // Per point and block: (n, sum, sum of squares).
    let size = days / blocks;
    let stats: Vec<Vec<(f64, f64, f64)>> = returns
        .iter()
        .map(|r| {
            (0..blocks)
                .map(|b| {
                    let end = if b + 1 == blocks { days } else { (b + 1) * size };
                    let s = &r[b * size..end];
                    (s.len() as f64, s.iter().sum(), s.iter().map(|x| x * x).sum())
                })
                .collect()
        })
        .collect();
    let perf = |p: usize, set: &[usize]| -> f64 {
        let (mut n, mut s, mut q) = (0.0, 0.0, 0.0);
        for &b in set {
            let (bn, bs, bq) = stats[p][b];
            n += bn;
            s += bs;
            q += bq;
        }
        let m = s / n;
        let v = (q - n * m * m) / (n - 1.0);
        if v > 0.0 { m / v.sqrt() } else { 0.0 }
    };
    let splits = combinations(blocks, blocks / 2);
    let mut overfit = 0usize;
    for is in &splits {
        let oos: Vec<usize> = (0..blocks).filter(|b| !is.contains(b)).collect();
        let best = (0..points).max_by(|a, b| perf(*a, is).total_cmp(&perf(*b, is))).expect("points");
        let best_oos = perf(best, &oos);
        let oos_perf: Vec<f64> = (0..points).map(|p| perf(p, &oos)).collect();
        let below = oos_perf.iter().filter(|x| **x < best_oos).count();
        // Ties share the middle rank: grid points whose parameter never binds have identical
        // returns and must not count as beating the chosen one.
        let ties = oos_perf.iter().filter(|x| **x == best_oos).count() - 1;
        // Relative rank in (0, 1); logit <= 0 means at or below the median.
        let omega = (below as f64 + ties as f64 / 2.0 + 1.0) / (points as f64 + 1.0);
        if omega <= 0.5 {
            overfit += 1;
        }
    }
    Pbo { probability: overfit as f64 / splits.len() as f64, splits: splits.len(), blocks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn noise(points: usize, days: usize, seed: u64, edge: Option<(usize, f64)>) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..points)
            .map(|p| {
                (0..days)
                    .map(|_| {
                        let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                        0.01 * z + edge.filter(|(i, _)| *i == p).map(|(_, e)| e).unwrap_or(0.0)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn noise_is_flagged_and_a_real_edge_is_not() {
        let m = noise(200, 500, 7, None);
        let sharpes: Vec<f64> = m.iter().map(|r| sharpe_per_period(r)).collect();
        let best = (0..m.len()).max_by(|a, b| sharpes[*a].total_cmp(&sharpes[*b])).unwrap();
        let d = deflated_sharpe(&m[best], &sharpes);
        assert!(d.probability < 0.95, "the best of 200 noise series is not skill: {d:?}");
        let p = pbo(&m, 10);
        assert!(p.probability > 0.3, "noise overfits often: {p:?}");

        let m = noise(200, 500, 7, Some((3, 0.004)));
        let sharpes: Vec<f64> = m.iter().map(|r| sharpe_per_period(r)).collect();
        let d = deflated_sharpe(&m[3], &sharpes);
        assert!(d.probability > 0.95, "a 0.4 per-period Sharpe edge is skill: {d:?}");
        let p = pbo(&m, 10);
        assert!(p.probability < 0.1, "a real edge keeps its rank out of sample: {p:?}");
    }

    #[test]
    fn combinations_count() {
        assert_eq!(combinations(10, 5).len(), 252);
        assert_eq!(combinations(4, 2), vec![vec![0, 1], vec![0, 2], vec![0, 3], vec![1, 2], vec![1, 3], vec![2, 3]]);
    }
}
