//! The exposures of the sessions of the window: every name's beta and raw styles from the data
//! before each session, the styles then standardized across names (see the module documentation
//! of [`super`] for the definitions).
//!
//! Each name's history is first turned into cumulative sums of its known values ([`History`]),
//! so a statistic over any span of sessions costs two lookups whatever its length: the window's
//! 121 sessions × 500 names × 5 statistics over spans of up to 120 sessions would otherwise
//! dominate the model's time. The sums up to session `t` hold sessions `..t` only, so a value
//! after `t` cannot reach an exposure of `t` (tested by poisoning the future); the unit tests
//! check the sums against the direct computations of [`crate::metrics`].

use super::{ModelParams, N_STYLES, Panel};
use crate::metrics::{mean, quantile, std_sample};

/// Betas and standardized styles of every name of the panel for one session (NaN where unknown).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Exposures {
    /// β per name.
    pub beta: Vec<f64>,
    /// Standardized styles per name, in [`super::Style::ALL`] order.
    pub styles: Vec<[f64; N_STYLES]>,
}

/// The exposures that explain each session of `sessions` (from data before it only; a session
/// may be the panel's length: the exposures of the session after its last), in order.
pub(super) fn sessions(panel: &Panel<'_>, sessions: std::ops::Range<usize>, p: &ModelParams) -> Vec<Exposures> {
    let n = panel.returns.len();
    let mut out: Vec<Exposures> =
        sessions.clone().map(|_| Exposures { beta: Vec::with_capacity(n), styles: Vec::with_capacity(n) }).collect();
    for (r, dv) in panel.returns.iter().zip(panel.dollar_volume) {
        let h = History::new(r, dv, panel.benchmark);
        for (e, t) in out.iter_mut().zip(sessions.clone()) {
            e.beta.push(h.beta(t, p));
            e.styles.push(h.styles(t, p));
        }
    }
    for e in &mut out {
        for k in 0..N_STYLES {
            let mut column: Vec<f64> = e.styles.iter().map(|s| s[k]).collect();
            standardize(&mut column, p.winsorize);
            for (s, z) in e.styles.iter_mut().zip(column) {
                s[k] = z;
            }
        }
    }
    out
}

/// Cumulative count and sums of a series' known values: entry `t` covers sessions `..t`.
struct Cumulative<const M: usize> {
    count: Vec<usize>,
    sum: Vec<[f64; M]>,
}

impl<const M: usize> Cumulative<M> {
    /// Over sessions `0..len`, `value(s)` being `None` where session `s` is unknown.
    fn new(len: usize, value: impl Fn(usize) -> Option<[f64; M]>) -> Self {
        let mut count = Vec::with_capacity(len + 1);
        let mut sum = Vec::with_capacity(len + 1);
        let (mut c, mut acc) = (0, [0.0; M]);
        count.push(c);
        sum.push(acc);
        for s in 0..len {
            if let Some(v) = value(s) {
                c += 1;
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += x;
                }
            }
            count.push(c);
            sum.push(acc);
        }
        Self { count, sum }
    }

    /// Known values and their sums over sessions `lo..hi` (`hi` at most the series' length).
    fn span(&self, lo: usize, hi: usize) -> (usize, [f64; M]) {
        let (a, b) = (&self.sum[lo], &self.sum[hi]);
        (self.count[hi] - self.count[lo], std::array::from_fn(|j| b[j] - a[j]))
    }
}

/// One name's history in cumulative form: its returns (Σr, Σr², Σln(1+r)), its dollar volume,
/// and the sessions where both its return and the benchmark's are known (Σb, Σb², Σr, Σrb).
/// A return of −100% or worse (no log) counts as unknown.
struct History {
    returns: Cumulative<3>,
    dollar_volume: Cumulative<1>,
    joint: Cumulative<4>,
}

impl History {
    fn new(r: &[f64], dv: &[f64], b: &[f64]) -> Self {
        let len = r.len().min(dv.len()).min(b.len());
        let ret = |s: usize| Some(r[s]).filter(|x| x.is_finite() && *x > -1.0);
        Self {
            returns: Cumulative::new(len, |s| ret(s).map(|x| [x, x * x, x.ln_1p()])),
            dollar_volume: Cumulative::new(len, |s| Some(dv[s]).filter(|x| x.is_finite()).map(|x| [x])),
            joint: Cumulative::new(len, |s| match (ret(s), Some(b[s]).filter(|x| x.is_finite())) {
                (Some(x), Some(y)) => Some([y, y * y, x, x * y]),
                _ => None,
            }),
        }
    }

    /// OLS slope of the returns on the benchmark's over the `beta_days` sessions before `t`
    /// where both are known; NaN with fewer than `beta_min_obs` or a flat benchmark.
    fn beta(&self, t: usize, p: &ModelParams) -> f64 {
        let (n, [sb, sbb, sr, srb]) = self.joint.span(t.saturating_sub(p.beta_days), t);
        if n < p.beta_min_obs {
            return f64::NAN;
        }
        let n = n as f64;
        let sxx = sbb - sb * sb / n;
        let sxy = srb - sb * sr / n;
        if sxx / n < 1e-30 { f64::NAN } else { sxy / sxx }
    }

    /// Momentum, reversal, volatility and liquidity at `t` before standardizing (NaN where a span
    /// is cut by the start of the history or has too few known values).
    fn styles(&self, t: usize, p: &ModelParams) -> [f64; N_STYLES] {
        let span = |c: &Cumulative<3>, back: usize, skip: usize, least: usize| {
            let (lo, hi) = (t.checked_sub(back)?, t - skip);
            let (n, sums) = c.span(lo, hi);
            (n >= need(p.min_coverage, hi - lo, least)).then_some((n as f64, sums))
        };
        let momentum = span(&self.returns, p.momentum_days, p.reversal_days, 1).map(|(_, s)| s[2].exp_m1());
        let reversal = span(&self.returns, p.reversal_days, 0, 1).map(|(_, s)| s[2].exp_m1());
        let volatility = span(&self.returns, p.volatility_days, 0, 2)
            .map(|(n, [s, ss, _])| ((ss - s * s / n) / (n - 1.0)).max(0.0).sqrt());
        let liquidity = t.checked_sub(p.liquidity_days).and_then(|lo| {
            let (n, [s]) = self.dollar_volume.span(lo, t);
            let mean = s / n as f64;
            (n >= need(p.min_coverage, t - lo, 1) && mean > 0.0).then(|| mean.ln())
        });
        [momentum, reversal, volatility, liquidity].map(|x| x.unwrap_or(f64::NAN))
    }
}

/// Known values a span of `len` needs: the share `coverage` of it, at least `least`. (The
/// tolerance keeps 0.8 × 115 from rounding up to 93.)
fn need(coverage: f64, len: usize, least: usize) -> usize {
    ((coverage * len as f64 - 1e-9).ceil() as usize).max(least)
}

/// Winsorizes the finite values at ±`clip` robust standard deviations from their median (1.4826 ×
/// the median absolute deviation: an outlier cannot inflate the scale it is measured in, as it
/// does a standard deviation), then z-scores them (sample standard deviation), so they end with
/// mean 0 and standard deviation 1. Where more than half the values tie (no absolute deviation)
/// the scale is the standard deviation. All NaN when fewer than two values are finite or they do
/// not vary.
pub(super) fn standardize(x: &mut [f64], clip: f64) {
    let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let median = quantile(&finite, 0.5);
    let deviations: Vec<f64> = finite.iter().map(|v| (v - median).abs()).collect();
    let mad = MAD_TO_SD * quantile(&deviations, 0.5);
    let scale = if mad > 0.0 { mad } else { std_sample(&finite) };
    if scale.is_nan() || scale <= 0.0 {
        x.fill(f64::NAN);
        return;
    }
    let (lo, hi) = (median - clip * scale, median + clip * scale);
    let clipped: Vec<f64> = finite.iter().map(|v| v.clamp(lo, hi)).collect();
    let (m, sd) = (mean(&clipped), std_sample(&clipped));
    if sd.is_nan() || sd <= 0.0 {
        x.fill(f64::NAN);
        return;
    }
    for v in x.iter_mut() {
        *v = (v.clamp(lo, hi) - m) / sd;
    }
}

/// The median absolute deviation of a normal sample times this estimates its standard deviation.
const MAD_TO_SD: f64 = 1.482_602_218_505_602;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{alpha_beta, total_return};
    use crate::tail_risk::SplitMix64;

    /// Three names over seven sessions, with short spans so every exposure is checked by hand.
    /// Session 0 has no return (it has no previous close).
    fn hand_panel() -> (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>) {
        let nan = f64::NAN;
        let bench = vec![nan, 0.01, -0.01, 0.02, 0.00, 0.01, -0.02];
        let returns = vec![
            // Name 0: exactly twice the benchmark.
            bench.iter().map(|b| 2.0 * b).collect(),
            // Name 1: the benchmark plus a constant.
            bench.iter().map(|b| b + 0.001).collect(),
            // Name 2: a missing return inside the beta and momentum spans.
            vec![nan, 0.03, nan, 0.01, 0.02, 0.00, -0.01],
        ];
        let dv = vec![vec![100.0; 7], vec![1000.0; 7], vec![10.0, 10.0, 10.0, 10.0, 10.0, 30.0, 50.0]];
        (returns, dv, bench)
    }

    fn hand_params() -> ModelParams {
        ModelParams {
            beta_days: 5,
            beta_min_obs: 4,
            momentum_days: 4,
            reversal_days: 1,
            volatility_days: 3,
            liquidity_days: 2,
            ..ModelParams::default()
        }
    }

    #[test]
    fn hand_made_panel_raw_exposures() {
        let (r, dv, b) = hand_panel();
        let p = hand_params();
        let h: Vec<History> = (0..3).map(|i| History::new(&r[i], &dv[i], &b)).collect();
        // Session t = 6 sees sessions 0..=5.
        let t = 6;
        let beta: Vec<f64> = h.iter().map(|x| x.beta(t, &p)).collect();
        assert!((beta[0] - 2.0).abs() < 1e-12, "{beta:?}");
        assert!((beta[1] - 1.0).abs() < 1e-12, "{beta:?}");
        // Name 2 has 4 known returns in sessions 1..=5 (session 2 is missing): enough for 4.
        let (x2, b2) = ([0.03, 0.01, 0.02, 0.00], [0.01, 0.02, 0.00, 0.01]);
        let want = {
            let mb = b2.iter().sum::<f64>() / 4.0;
            let cov: f64 = x2.iter().zip(&b2).map(|(x, b)| x * (b - mb)).sum();
            cov / b2.iter().map(|b| (b - mb) * (b - mb)).sum::<f64>()
        };
        assert!((beta[2] - want).abs() < 1e-12, "{} vs {want}", beta[2]);
        assert!(h[2].beta(5, &p).is_nan(), "before session 5 it has only 3");

        // Name 0 at t = 6: momentum compounds sessions 2..=4 (4 − 1 = 3 of them, the last skipped).
        let s0 = h[0].styles(t, &p);
        assert!((s0[0] - (0.98 * 1.04 * 1.00 - 1.0)).abs() < 1e-14, "{s0:?}");
        assert!((s0[1] - 0.02).abs() < 1e-14, "reversal is session 5's return");
        assert!((s0[2] - std_sample(&[0.04, 0.00, 0.02])).abs() < 1e-14);
        assert!((s0[3] - 100f64.ln()).abs() < 1e-14);
        // Name 2: momentum's span 2..=4 has 2 of 3 known, short of 80%; volatility's is whole.
        let s2 = h[2].styles(t, &p);
        assert!(s2[0].is_nan(), "momentum span 2..=4 holds the missing return");
        assert!((s2[2] - std_sample(&[0.01, 0.02, 0.00])).abs() < 1e-14);
        assert!((s2[3] - 20f64.ln()).abs() < 1e-14, "mean of 10 and 30");
        // Too early for any span: the momentum of session 3 would reach back to session −1.
        assert!(h[0].styles(3, &p)[0].is_nan() && h[0].beta(3, &p).is_nan());
    }

    #[test]
    fn a_style_skips_a_few_missing_values_but_not_many() {
        let nan = f64::NAN;
        let p = ModelParams { momentum_days: 6, reversal_days: 1, volatility_days: 5, ..hand_params() };
        let b = [0.0; 6];
        // Momentum's span (5 returns) has one missing: 4 of 5 is 80%, enough; it compounds the 4.
        let r = [0.01, 0.02, nan, 0.03, 0.04, 0.05];
        let s = History::new(&r, &[1.0; 6], &b).styles(6, &p);
        assert!((s[0] - (1.01 * 1.02 * 1.03 * 1.04 - 1.0)).abs() < 1e-14, "{s:?}");
        assert!((s[2] - std_sample(&[0.02, 0.03, 0.04, 0.05])).abs() < 1e-14, "{s:?}");
        // Two missing: 3 of 5 is not.
        let r = [0.01, nan, nan, 0.03, 0.04, 0.05];
        let s = History::new(&r, &[1.0; 6], &b).styles(6, &p);
        assert!(s[0].is_nan() && s[2].is_nan(), "{s:?}");
    }

    #[test]
    fn the_cumulative_sums_agree_with_the_direct_statistics() {
        // Random series with gaps: every exposure of every session equals the one computed
        // directly over the span with the metrics helpers.
        let mut rng = SplitMix64::new(5);
        let mut u = || rng.next_u64() as f64 / u64::MAX as f64;
        let len: usize = 400;
        let b: Vec<f64> = (0..len).map(|_| 0.02 * (u() - 0.5)).collect();
        let r: Vec<f64> = b.iter().map(|x| if u() < 0.05 { f64::NAN } else { 1.3 * x + 0.03 * (u() - 0.5) }).collect();
        let dv: Vec<f64> = (0..len).map(|_| if u() < 0.05 { f64::NAN } else { 1e7 * (1.0 + u()) }).collect();
        let p = ModelParams::default();
        let h = History::new(&r, &dv, &b);
        let known = |x: &[f64]| x.iter().copied().filter(|v| v.is_finite()).collect::<Vec<_>>();
        let close = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-11 * b.abs().max(1e-3);
        let mut checked = 0;
        for t in 0..=len {
            let pairs: Vec<(f64, f64)> = (t.saturating_sub(p.beta_days)..t)
                .filter(|&s| r[s].is_finite() && b[s].is_finite())
                .map(|s| (r[s], b[s]))
                .collect();
            let (rs, bs): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            let beta = if rs.len() < p.beta_min_obs { f64::NAN } else { alpha_beta(&rs, &bs, 0.0).1 };
            let direct = |lo: Option<usize>, hi: usize, least: usize, x: &[f64], f: fn(&[f64]) -> f64| {
                lo.map(|lo| known(&x[lo..hi]))
                    .filter(|k| k.len() >= need(p.min_coverage, hi - lo.unwrap_or(0), least))
                    .map_or(f64::NAN, |k| f(&k))
            };
            let want = [
                direct(t.checked_sub(120), t.saturating_sub(5), 1, &r, total_return),
                direct(t.checked_sub(5), t, 1, &r, total_return),
                direct(t.checked_sub(60), t, 2, &r, std_sample),
                direct(t.checked_sub(20), t, 1, &dv, |x| mean(x).ln()),
            ];
            let got = h.styles(t, &p);
            assert!(close(h.beta(t, &p), beta), "t {t}: beta {} vs {beta}", h.beta(t, &p));
            for k in 0..N_STYLES {
                assert!(close(got[k], want[k]), "t {t} style {k}: {} vs {}", got[k], want[k]);
                checked += usize::from(want[k].is_finite());
            }
        }
        assert!(checked > 1_000, "{checked}");
    }

    #[test]
    fn styles_are_standardized_across_the_names_that_have_them() {
        let (r, dv, b) = hand_panel();
        let (sectors, names) = (vec![Some(0); 3], vec!["A".to_string()]);
        let panel = Panel { returns: &r, dollar_volume: &dv, benchmark: &b, sectors: &sectors, sector_names: &names };
        let e = sessions(&panel, 6..7, &hand_params()).remove(0);
        // Liquidity: ln 100, ln 1000, ln 20 — z-scores of three values, mean 0, sd 1.
        let liq: Vec<f64> = e.styles.iter().map(|s| s[3]).collect();
        let raw = [100f64.ln(), 1000f64.ln(), 20f64.ln()];
        let (m, sd) = (mean(&raw), std_sample(&raw));
        for (z, x) in liq.iter().zip(raw) {
            assert!((z - (x - m) / sd).abs() < 1e-12, "{liq:?}");
        }
        // Momentum: only names 0 (+1.92%) and 1 (+1.28%) have it; two values standardize to
        // ±1/√2 (half their gap over a sample sd of gap/√2).
        let mom: Vec<f64> = e.styles.iter().map(|s| s[0]).collect();
        assert!(mom[2].is_nan());
        assert!((mom[0] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12, "{mom:?}");
        assert!((mom[1] + std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12, "{mom:?}");
    }

    #[test]
    fn standardizing_winsorizes_an_outlier_and_ends_at_mean_zero_sd_one() {
        // 0..=6 repeated (median 3, median absolute deviation 2: robust sd 2.97) and one huge
        // value, pulled in to 3 + 3 × 2.97 before the z-score.
        let mut x: Vec<f64> = (0..49).map(|i| f64::from(i % 7)).collect();
        x.push(1e6);
        x.push(f64::NAN);
        standardize(&mut x, 3.0);
        let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
        assert_eq!(finite.len(), 50);
        assert!(mean(&finite).abs() < 1e-12 && (std_sample(&finite) - 1.0).abs() < 1e-12);
        let bound = 3.0 + 3.0 * 2.0 * MAD_TO_SD;
        let raw: Vec<f64> = (0..49).map(|i| f64::from(i % 7)).chain([bound]).collect();
        let want = (bound - mean(&raw)) / std_sample(&raw);
        assert!((x[49] - want).abs() < 1e-12, "{} vs {want}", x[49]);
        assert!(x[49] < 4.5 && x[49] == finite.iter().copied().fold(f64::MIN, f64::max));
        assert!(x[50].is_nan());
        // More than half tie: the scale falls back to the standard deviation.
        let mut ties = vec![1.0, 1.0, 1.0, 1.0, 2.0];
        standardize(&mut ties, 3.0);
        assert!((ties[4] - 1.788_854_381_999_831_7).abs() < 1e-12, "{ties:?}");
        let mut flat = vec![1.0, 1.0, 1.0];
        standardize(&mut flat, 3.0);
        assert!(flat.iter().all(|v| v.is_nan()), "no dispersion, no exposure");
    }
}
