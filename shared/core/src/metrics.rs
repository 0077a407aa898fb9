//! Performance and forecast metrics, with the conventions of empyrical (the oracle the test suite
//! checks against on real series): daily simple returns, 252 periods a year, sample standard
//! deviations (ddof = 1), annual return as CAGR, drawdown from a running peak that includes the
//! starting value, alpha as `(1 + mean daily excess over β·benchmark)^252 − 1`.
//!
//! Inputs are clean slices (no NaN): callers align and drop missing days first. Every estimate that
//! is reported comes with its sample size ([`Summary::n`]) or an interval ([`wilson_interval`]).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Trading days per year.
pub const PERIODS_PER_YEAR: f64 = 252.0;

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (ddof = 1).
pub fn std_sample(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// The standard normal distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// Growth of 1 over the whole series, minus 1.
pub fn total_return(r: &[f64]) -> f64 {
    r.iter().fold(1.0, |acc, x| acc * (1.0 + x)) - 1.0
}

/// Compound annual growth rate.
pub fn annual_return(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let years = r.len() as f64 / PERIODS_PER_YEAR;
    (1.0 + total_return(r)).powf(1.0 / years) - 1.0
}

/// Annualised volatility.
pub fn annual_volatility(r: &[f64]) -> f64 {
    std_sample(r) * PERIODS_PER_YEAR.sqrt()
}

/// Annualised Sharpe ratio of returns in excess of `risk_free` per period (0 when every excess
/// return is identical and zero dispersion makes it undefined, as empyrical does).
pub fn sharpe(r: &[f64], risk_free: f64) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    let adj: Vec<f64> = r.iter().map(|x| x - risk_free).collect();
    let constant = adj.iter().all(|v| *v == adj[0]);
    let sd = if constant { 0.0 } else { std_sample(&adj) };
    mean(&adj) / sd * PERIODS_PER_YEAR.sqrt()
}

/// Annualised downside deviation below `required` per period.
pub fn downside_risk(r: &[f64], required: f64) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let sq: Vec<f64> = r.iter().map(|x| (x - required).min(0.0).powi(2)).collect();
    mean(&sq).sqrt() * PERIODS_PER_YEAR.sqrt()
}

/// Annualised Sortino ratio.
pub fn sortino(r: &[f64], required: f64) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    let adj: Vec<f64> = r.iter().map(|x| x - required).collect();
    mean(&adj) * PERIODS_PER_YEAR / downside_risk(r, required)
}

/// Drawdown after each period (≤ 0), from a running peak that starts at the initial value.
pub fn drawdown_series(r: &[f64]) -> Vec<f64> {
    let mut value = 100.0;
    let mut peak = 100.0f64;
    r.iter()
        .map(|x| {
            value *= 1.0 + x;
            peak = peak.max(value);
            (value - peak) / peak
        })
        .collect()
}

/// Worst drawdown (≤ 0).
pub fn max_drawdown(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    drawdown_series(r).into_iter().fold(0.0, f64::min)
}

/// Annual return / |max drawdown| (NaN without a drawdown).
pub fn calmar(r: &[f64]) -> f64 {
    let dd = max_drawdown(r);
    if dd < 0.0 {
        let c = annual_return(r) / dd.abs();
        if c.is_infinite() { f64::NAN } else { c }
    } else {
        f64::NAN
    }
}

/// Annualised alpha and beta against a benchmark (aligned, same length).
pub fn alpha_beta(r: &[f64], bench: &[f64], risk_free: f64) -> (f64, f64) {
    assert_eq!(r.len(), bench.len(), "alpha_beta needs aligned series");
    if r.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let mb = mean(bench);
    let resid: Vec<f64> = bench.iter().map(|b| b - mb).collect();
    let cov = mean(&resid.iter().zip(r).map(|(d, x)| d * x).collect::<Vec<_>>());
    let var = mean(&resid.iter().map(|d| d * d).collect::<Vec<_>>());
    let beta = if var < 1e-30 { f64::NAN } else { cov / var };
    let alpha_series: Vec<f64> = r.iter().zip(bench).map(|(x, b)| (x - risk_free) - beta * (b - risk_free)).collect();
    let alpha = (mean(&alpha_series) + 1.0).powf(PERIODS_PER_YEAR) - 1.0;
    (alpha, beta)
}

/// The `q` quantile of `x` (`q` in [0, 1]), interpolating linearly between order statistics
/// (numpy's default); NaN for an empty slice. `quantile(x, 0.5)` is the median.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    // The two order statistics by selection (linear time) rather than a full sort: the one at
    // `lo`, and the next, the smallest of what selection left above it.
    let (_, at, above) = s.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *at;
    let b = if pos > lo as f64 { above.iter().copied().min_by(f64::total_cmp).unwrap_or(a) } else { a };
    a + (b - a) * (pos - lo as f64)
}

/// Historical value at risk: the `cutoff` quantile of returns (linear interpolation).
pub fn value_at_risk(r: &[f64], cutoff: f64) -> f64 {
    quantile(r, cutoff)
}

/// Conditional value at risk: mean of the worst `⌊(n−1)·cutoff⌋ + 1` returns (empyrical's definition).
pub fn conditional_value_at_risk(r: &[f64], cutoff: f64) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let mut s = r.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((r.len() - 1) as f64 * cutoff) as usize;
    mean(&s[..=k])
}

/// Each value minus the mean of the finite values in its group (a sector-neutral return, say).
/// NaN where the value is not finite, the group is unknown, or the group has fewer than two
/// finite members.
pub fn group_demean<G: Ord + Copy>(values: &[f64], groups: &[Option<G>]) -> Vec<f64> {
    let mut sums: std::collections::BTreeMap<G, (f64, usize)> = std::collections::BTreeMap::new();
    for (v, g) in values.iter().zip(groups) {
        if let (Some(g), true) = (g, v.is_finite()) {
            let e = sums.entry(*g).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    values
        .iter()
        .zip(groups)
        .map(|(v, g)| match g.and_then(|g| sums.get(&g)) {
            Some(&(sum, count)) if v.is_finite() && count >= 2 => v - sum / count as f64,
            _ => f64::NAN,
        })
        .collect()
}

/// Pearson correlation (NaN when either side has no dispersion).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "pearson needs aligned series");
    if x.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// Pearson correlation over the pairs of two aligned series where both values are finite, with the
/// number of such pairs; the same figure, to the bit, as [`pearson`] of the filtered pairs, without
/// copying them.
pub fn pearson_finite_pairs(x: &[f64], y: &[f64]) -> (f64, usize) {
    assert_eq!(x.len(), y.len(), "pearson needs aligned series");
    let pairs = || x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite());
    let n = pairs().count();
    if n < 2 {
        return (f64::NAN, n);
    }
    let mx = pairs().map(|(a, _)| *a).sum::<f64>() / n as f64;
    let my = pairs().map(|(_, b)| *b).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in pairs() {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }, n)
}

/// Ranks 1..=n with ties given their average rank.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            ranks[*k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman rank correlation (Pearson on average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Information coefficient: Pearson correlation of forecasts with outcomes.
pub fn ic(forecast: &[f64], outcome: &[f64]) -> f64 {
    pearson(forecast, outcome)
}

/// Rank information coefficient: Spearman correlation of forecasts with outcomes.
pub fn rank_ic(forecast: &[f64], outcome: &[f64]) -> f64 {
    spearman(forecast, outcome)
}

/// Information ratio of a series of ICs: mean / sample std.
pub fn icir(ics: &[f64]) -> f64 {
    mean(ics) / std_sample(ics)
}

/// Share of `true`, with the count.
pub fn hit_rate(hits: &[bool]) -> (f64, usize) {
    let n = hits.len();
    let k = hits.iter().filter(|h| **h).count();
    (if n == 0 { f64::NAN } else { k as f64 / n as f64 }, n)
}

/// Wilson score interval for `successes` out of `n` at two-sided `confidence` (e.g. 0.95).
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    (center - half, center + half)
}

/// The usual table of a return series against its benchmark, with its sample size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Periods (trading days) the numbers rest on.
    pub n: usize,
    /// Total return.
    pub total_return: f64,
    /// Benchmark total return.
    pub benchmark_total_return: f64,
    /// CAGR.
    pub annual_return: f64,
    /// Annualised volatility.
    pub annual_volatility: f64,
    /// Sharpe (rf = 0).
    pub sharpe: f64,
    /// Sortino (required = 0).
    pub sortino: f64,
    /// Max drawdown (≤ 0).
    pub max_drawdown: f64,
    /// Calmar.
    pub calmar: f64,
    /// Annualised alpha vs the benchmark.
    pub alpha: f64,
    /// Beta vs the benchmark.
    pub beta: f64,
}

impl Summary {
    /// Computes every field (rf = 0).
    pub fn of(r: &[f64], bench: &[f64]) -> Self {
        let (alpha, beta) = alpha_beta(r, bench, 0.0);
        Self {
            n: r.len(),
            total_return: total_return(r),
            benchmark_total_return: total_return(bench),
            annual_return: annual_return(r),
            annual_volatility: annual_volatility(r),
            sharpe: sharpe(r, 0.0),
            sortino: sortino(r, 0.0),
            max_drawdown: max_drawdown(r),
            calmar: calmar(r),
            alpha,
            beta,
        }
    }
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (ascending order not promised).
/// Accurate to ~1e-12 of the largest eigenvalue for the small correlation matrices the risk layer
/// decomposes; the input is consumed.
pub fn symmetric_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (lo, hi) = a.split_at_mut(q);
                for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
                    let (apk, aqk) = (*x, *y);
                    *x = c * apk - s * aqk;
                    *y = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_eigenvalues_of_known_matrices() {
        let table: &[(Vec<Vec<f64>>, Vec<f64>)] = &[
            (vec![vec![2.0, 1.0], vec![1.0, 2.0]], vec![1.0, 3.0]),
            (vec![vec![1.0, 0.0, 0.0], vec![0.0, 5.0, 0.0], vec![0.0, 0.0, 3.0]], vec![1.0, 3.0, 5.0]),
            // Equicorrelated 3×3 with ρ = 0.5: 1 + 2ρ once, 1 − ρ twice.
            (vec![vec![1.0, 0.5, 0.5], vec![0.5, 1.0, 0.5], vec![0.5, 0.5, 1.0]], vec![0.5, 0.5, 2.0]),
        ];
        for (m, want) in table {
            let mut got = symmetric_eigenvalues(m.clone());
            got.sort_by(f64::total_cmp);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{m:?}: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn group_demean_skips_unknown_groups_missing_values_and_singletons() {
        let v = [1.0, 3.0, 10.0, f64::NAN, 5.0, 7.0];
        let g = [Some('a'), Some('a'), Some('b'), Some('a'), None, Some('c')];
        let d = group_demean(&v, &g);
        assert_eq!((d[0], d[1]), (-1.0, 1.0));
        assert!(d[2].is_nan(), "a group of one has no peer mean");
        assert!(d[3].is_nan() && d[4].is_nan() && d[5].is_nan());
    }

    #[test]
    fn by_hand() {
        let r = [0.01, -0.02, 0.03, 0.0];
        assert!((total_return(&r) - (1.01 * 0.98 * 1.03 - 1.0)).abs() < 1e-15);
        assert!((max_drawdown(&r) - -0.02).abs() < 1e-12);
        assert_eq!(max_drawdown(&[0.01, 0.02]), 0.0);
        assert!(calmar(&[0.01, 0.02]).is_nan());
        assert_eq!(average_ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 25.0]) - 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[2.0, 3.0]).is_nan());
        let (b_alpha, beta) = alpha_beta(&[0.02, 0.04, -0.02], &[0.01, 0.02, -0.01], 0.0);
        assert!((beta - 2.0).abs() < 1e-12 && b_alpha.abs() < 1e-12);
        assert_eq!(hit_rate(&[true, false, true, true]), (0.75, 4));
        let q = [3.0, 1.0, 4.0, 2.0, 2.0];
        assert_eq!([0.0, 0.5, 1.0, 0.625, 0.125].map(|p| quantile(&q, p)), [1.0, 2.0, 4.0, 2.5, 1.5]);
        assert!(quantile(&[], 0.5).is_nan());
    }

    proptest::proptest! {
        #[test]
        fn pearson_over_finite_pairs_equals_pearson_of_the_filtered_copies_to_the_bit(
            v in proptest::collection::vec((-1.0f64..1.0, -1.0f64..1.0, 0u8..6), 0..80)
        ) {
            // Every sixth value of each side is missing (NaN) or infinite, at independent places.
            let hole = |x: f64, k: u8, at: u8| match (k == at, k % 2) { (true, 0) => f64::NAN, (true, _) => f64::INFINITY, _ => x };
            let x: Vec<f64> = v.iter().map(|&(a, _, k)| hole(a, k, 0)).collect();
            let y: Vec<f64> = v.iter().map(|&(_, b, k)| hole(b, k, 1)).collect();
            let (a, b): (Vec<f64>, Vec<f64>) =
                x.iter().zip(&y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).unzip();
            let (r, n) = pearson_finite_pairs(&x, &y);
            proptest::prop_assert_eq!(n, a.len());
            proptest::prop_assert_eq!(r.to_bits(), pearson(&a, &b).to_bits());
        }
    }

    #[test]
    fn wilson_matches_the_textbook_example() {
        // 81 successes in 263 trials, 95%: (0.2553, 0.3662) to four places.
        let (lo, hi) = wilson_interval(81, 263, 0.95);
        assert!((lo - 0.2553).abs() < 5e-5 && (hi - 0.3662).abs() < 5e-5, "{lo} {hi}");
    }
}
