//! The one indicator library every job uses.
//!
//! Batch functions take slices and return a vector of the same length with `NaN` where the
//! indicator is not yet defined (the warm-up), so index `i` always means "as of bar `i`" and never
//! reads a later bar. Seeding follows TA-Lib, the reference the test suite checks against to
//! 1e-9 relative on the real dataset:
//!
//! | function | first defined index | seeding |
//! |---|---|---|
//! | [`sma`]`(n)` | n−1 | — |
//! | [`ema`]`(n)` | n−1 | SMA of the first n values; then `(x − prev)·2/(n+1) + prev` |
//! | [`rsi`]`(n)` (Wilder) | n | mean gain/loss of the first n changes; then `(prev·(n−1) + x)/n` |
//! | [`macd`]`(f, s, sig)` | s+sig−2 | fast EMA seeded at s−1 on its own last f values (TA-Lib) |
//! | [`bollinger`]`(n, k)` | n−1 | population standard deviation |
//! | [`atr`]`(n)` (Wilder) | n | mean of true ranges 1..=n |
//! | [`obv`] | 0 | starts at the first volume |
//! | [`realized_vol`]`(n)` | n | sample std of n log returns × √252 |
//! | [`rolling_vwap`]`(n)` | n−1 | typical price (H+L+C)/3 |
//! | [`pct_return`]`(n)` | n | `(x − x[i−n]) / x[i−n]` |
//! | [`dist_from_high`] / [`dist_from_low`] | min_periods−1 | rolling max high / min low |
//!
//! Intraday (streaming) pieces for the daemon: [`SessionVwap`].

mod streaming;
mod volatility;
mod volume;

pub use streaming::SessionVwap;
pub use volatility::{Bollinger, atr, bollinger, realized_vol, realized_vol_last, true_range};
pub use volume::{obv, rolling_vwap};

/// TA-Lib's test for "zero" in divisions.
pub(crate) fn ta_is_zero(v: f64) -> bool {
    -0.00000001 < v && v < 0.00000001
}

fn nans(n: usize) -> Vec<f64> {
    vec![f64::NAN; n]
}

/// Simple moving average.
pub fn sma(x: &[f64], n: usize) -> Vec<f64> {
    let mut out = nans(x.len());
    if n == 0 || x.len() < n {
        return out;
    }
    let mut total: f64 = x[..n - 1].iter().sum();
    for i in n - 1..x.len() {
        total += x[i];
        out[i] = total / n as f64;
        total -= x[i + 1 - n];
    }
    out
}

/// Exponential moving average with smoothing `2/(n+1)`, seeded with the SMA of the first `n` values.
pub fn ema(x: &[f64], n: usize) -> Vec<f64> {
    ema_seeded_at(x, n, n.saturating_sub(1))
}

/// EMA whose seed is the SMA of the `n` values ending at `seed_index`; defined from there on.
fn ema_seeded_at(x: &[f64], n: usize, seed_index: usize) -> Vec<f64> {
    let mut out = nans(x.len());
    if n == 0 || seed_index + 1 < n || x.len() <= seed_index {
        return out;
    }
    let k = 2.0 / (n as f64 + 1.0);
    let mut prev = x[seed_index + 1 - n..=seed_index].iter().sum::<f64>() / n as f64;
    out[seed_index] = prev;
    for i in seed_index + 1..x.len() {
        prev = (x[i] - prev) * k + prev;
        out[i] = prev;
    }
    out
}

/// Wilder's relative strength index, 0..100.
pub fn rsi(x: &[f64], n: usize) -> Vec<f64> {
    let mut out = nans(x.len());
    if n == 0 || x.len() <= n {
        return out;
    }
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=n {
        let d = x[i] - x[i - 1];
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
    }
    gain /= n as f64;
    loss /= n as f64;
    let value = |g: f64, l: f64| {
        let t = g + l;
        if ta_is_zero(t) { 0.0 } else { 100.0 * (g / t) }
    };
    out[n] = value(gain, loss);
    for i in n + 1..x.len() {
        let d = x[i] - x[i - 1];
        // `loss -= d` on a fall, `gain += d` otherwise, written without a branch (prices fall
        // about half the time, so a branch would mispredict as often). Adding or taking away a
        // zero leaves either sum's bits unchanged: `gain` is never −0 and `loss − 0 = loss`.
        let fall = d < 0.0;
        gain = (gain * (n - 1) as f64 + if fall { 0.0 } else { d }) / n as f64;
        loss = (loss * (n - 1) as f64 - if fall { d } else { 0.0 }) / n as f64;
        out[i] = value(gain, loss);
    }
    out
}

/// MACD line, signal line and histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Macd {
    /// Fast EMA − slow EMA.
    pub line: Vec<f64>,
    /// EMA of the line.
    pub signal: Vec<f64>,
    /// line − signal.
    pub hist: Vec<f64>,
}

/// MACD(`fast`, `slow`, `signal`) as TA-Lib computes it: both EMAs start at index `slow − 1` (the
/// fast one seeded with the SMA of its own last `fast` values there); all three outputs are
/// defined from index `slow + signal − 2`.
pub fn macd(x: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
    let len = x.len();
    let mut res = Macd { line: nans(len), signal: nans(len), hist: nans(len) };
    if fast == 0 || signal == 0 || len < slow + signal - 1 {
        return res;
    }
    let start = slow - 1;
    let f = ema_seeded_at(x, fast, start);
    let s = ema_seeded_at(x, slow, start);
    let line: Vec<f64> = (start..len).map(|i| f[i] - s[i]).collect();
    let sig = ema_seeded_at(&line, signal, signal - 1);
    let first = start + signal - 1;
    for i in first..len {
        let l = line[i - start];
        let g = sig[i - start];
        res.line[i] = l;
        res.signal[i] = g;
        res.hist[i] = l - g;
    }
    res
}

/// Simple return over `n` bars: `(x[i] − x[i−n]) / x[i−n]`.
pub fn pct_return(x: &[f64], n: usize) -> Vec<f64> {
    let mut out = nans(x.len());
    for i in n..x.len() {
        let p = x[i - n];
        if p != 0.0 {
            out[i] = (x[i] - p) / p;
        }
    }
    out
}

/// Log return over `n` bars: `ln(x[i] / x[i−n])`.
pub fn log_return(x: &[f64], n: usize) -> Vec<f64> {
    let mut out = nans(x.len());
    for i in n..x.len() {
        if x[i] > 0.0 && x[i - n] > 0.0 {
            out[i] = (x[i] / x[i - n]).ln();
        }
    }
    out
}

/// The extreme (`pick`: `f64::max` or `f64::min`) of the last `window` values at each index,
/// ignoring `NaN` (`NaN` when the window holds nothing else), defined once `min_periods` values
/// exist. One pass: a queue of the indices that can still be the extreme, each at least as far from
/// the rest as every later one, so the front is the window's extreme.
fn rolling_extreme(x: &[f64], window: usize, min_periods: usize, pick: fn(f64, f64) -> f64) -> Vec<f64> {
    let mut out = nans(x.len());
    let min_periods = min_periods.max(1);
    let mut q: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for (i, &v) in x.iter().enumerate() {
        if !v.is_nan() {
            while q.back().is_some_and(|&j| pick(x[j], v) == v) {
                q.pop_back();
            }
            q.push_back(i);
        }
        let lo = (i + 1).saturating_sub(window);
        while q.front().is_some_and(|&j| j < lo) {
            q.pop_front();
        }
        if i + 1 - lo >= min_periods {
            out[i] = q.front().map_or(f64::NAN, |&j| x[j]);
        }
    }
    out
}

/// Distance of the close from the highest high of the last `window` bars: `close / max(high) − 1` (≤ 0).
/// Defined once `min_periods` bars exist (a 52-week window on a shorter history uses what there is).
pub fn dist_from_high(high: &[f64], close: &[f64], window: usize, min_periods: usize) -> Vec<f64> {
    let hi = rolling_extreme(high, window, min_periods, f64::max);
    close.iter().zip(&hi).map(|(c, h)| c / h - 1.0).collect()
}

/// Distance of the close from the lowest low of the last `window` bars: `close / min(low) − 1` (≥ 0).
pub fn dist_from_low(low: &[f64], close: &[f64], window: usize, min_periods: usize) -> Vec<f64> {
    let lo = rolling_extreme(low, window, min_periods, f64::min);
    close.iter().zip(&lo).map(|(c, l)| c / l - 1.0).collect()
}

/// Lowest low of the last `window` bars (support), defined once `window` bars exist.
pub fn rolling_min(x: &[f64], window: usize) -> Vec<f64> {
    rolling_extreme(x, window, window, f64::min)
}

/// Highest value of the last `window` bars, defined once `window` bars exist.
pub fn rolling_max(x: &[f64], window: usize) -> Vec<f64> {
    rolling_extreme(x, window, window, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(1.0)
    }

    /// Wilder's RSI with the textbook branch, the reference for the branch-free loop.
    fn rsi_with_a_branch(x: &[f64], n: usize) -> Vec<f64> {
        let mut out = nans(x.len());
        if n == 0 || x.len() <= n {
            return out;
        }
        let (mut gain, mut loss) = (0.0, 0.0);
        for i in 1..=n {
            let d = x[i] - x[i - 1];
            if d < 0.0 {
                loss -= d;
            } else {
                gain += d;
            }
        }
        gain /= n as f64;
        loss /= n as f64;
        let value = |g: f64, l: f64| if ta_is_zero(g + l) { 0.0 } else { 100.0 * (g / (g + l)) };
        out[n] = value(gain, loss);
        for i in n + 1..x.len() {
            let d = x[i] - x[i - 1];
            gain *= (n - 1) as f64;
            loss *= (n - 1) as f64;
            if d < 0.0 {
                loss -= d;
            } else {
                gain += d;
            }
            gain /= n as f64;
            loss /= n as f64;
            out[i] = value(gain, loss);
        }
        out
    }

    proptest! {
        #[test]
        fn branch_free_rsi_equals_the_textbook_loop_to_the_bit(
            steps in proptest::collection::vec(prop_oneof![Just(0.0), -5.0..5.0f64, Just(f64::NAN)], 0..300),
            n in 1usize..30,
        ) {
            let mut x = Vec::with_capacity(steps.len());
            let mut p = 100.0;
            for s in steps {
                p += s;
                x.push(if s.is_nan() { f64::NAN } else { p });
                if p.is_nan() { p = 100.0; }
            }
            let (a, b) = (rsi(&x, n), rsi_with_a_branch(&x, n));
            prop_assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }

    /// The textbook rolling extreme: a fold over each window.
    fn rolling_extreme_by_folding(x: &[f64], window: usize, min_periods: usize, pick: fn(f64, f64) -> f64) -> Vec<f64> {
        let mut out = nans(x.len());
        for i in 0..x.len() {
            let lo = (i + 1).saturating_sub(window);
            if i + 1 - lo >= min_periods.max(1) {
                out[i] = x[lo..=i].iter().copied().fold(x[lo], pick);
            }
        }
        out
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    proptest! {
        #[test]
        fn the_one_pass_rolling_extreme_equals_the_fold_over_each_window_to_the_bit(
            x in proptest::collection::vec(prop_oneof![1.0..200.0f64, Just(f64::NAN), Just(50.0)], 0..200),
            window in 1usize..40,
            min_periods in 0usize..40,
        ) {
            for pick in [f64::max as fn(f64, f64) -> f64, f64::min] {
                prop_assert_eq!(
                    bits(&rolling_extreme(&x, window, min_periods, pick)),
                    bits(&rolling_extreme_by_folding(&x, window, min_periods, pick))
                );
            }
        }

        #[test]
        fn the_last_realized_vol_is_the_series_last_value_to_the_bit(
            x in proptest::collection::vec(1.0..200.0f64, 0..120),
            n in 0usize..70,
        ) {
            let all = realized_vol(&x, n);
            let last = realized_vol_last(&x, n);
            prop_assert_eq!(all.last().copied().unwrap_or(f64::NAN).to_bits(), last.to_bits());
        }
    }

    #[test]
    fn sma_and_ema_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let s = sma(&x, 3);
        assert!(s[1].is_nan() && close(s[2], 2.0) && close(s[4], 4.0));
        let e = ema(&x, 3);
        assert!(e[1].is_nan());
        assert!(close(e[2], 2.0));
        assert!(close(e[3], 3.0) && close(e[4], 4.0));
    }

    #[test]
    fn rsi_extremes() {
        let up: Vec<f64> = (0..30).map(|i| i as f64).collect();
        assert_eq!(rsi(&up, 14)[20], 100.0);
        let flat = vec![5.0; 30];
        assert_eq!(rsi(&flat, 14)[20], 0.0);
        assert!(rsi(&up, 14)[13].is_nan());
    }

    #[test]
    fn macd_starts_where_ta_lib_does() {
        let x: Vec<f64> = (0..60).map(|i| (i as f64 * 0.3).sin() + i as f64 * 0.1).collect();
        let m = macd(&x, 12, 26, 9);
        assert!(m.line[32].is_nan() && !m.line[33].is_nan());
        assert!(close(m.hist[40], m.line[40] - m.signal[40]));
    }

    #[test]
    fn highs_lows_and_returns() {
        let h = [10.0, 12.0, 11.0, 9.0];
        let c = [9.0, 11.0, 10.0, 9.0];
        let d = dist_from_high(&h, &c, 3, 2);
        assert!(d[0].is_nan());
        assert!(close(d[3], 9.0 / 12.0 - 1.0));
        let r = pct_return(&c, 1);
        assert!(close(r[1], 2.0 / 9.0));
        assert!(close(log_return(&c, 2)[2], (10.0f64 / 9.0).ln()));
        assert_eq!(rolling_min(&c, 2)[3], 9.0);
    }

    /// Changing bars after index t never changes any output at or before t.
    #[test]
    fn no_indicator_reads_the_future() {
        let n = 120;
        let base: Vec<f64> = (0..n).map(|i| 50.0 + (i as f64 * 0.37).sin() * 3.0 + i as f64 * 0.05).collect();
        let mut poisoned = base.clone();
        let t = 80;
        for v in poisoned.iter_mut().skip(t + 1) {
            *v *= 3.0;
        }
        let hl = |x: &[f64], f: f64| x.iter().map(|v| v * f).collect::<Vec<_>>();
        let outputs = |x: &[f64]| -> Vec<Vec<f64>> {
            let h = hl(x, 1.01);
            let l = hl(x, 0.99);
            let v: Vec<f64> = x.iter().map(|p| p * 1000.0).collect();
            let m = macd(x, 12, 26, 9);
            let b = bollinger(x, 20, 2.0);
            vec![
                sma(x, 10),
                ema(x, 10),
                rsi(x, 14),
                m.line,
                m.signal,
                b.upper,
                b.percent_b,
                atr(&h, &l, x, 14),
                obv(x, &v),
                realized_vol(x, 20),
                rolling_vwap(&h, &l, x, &v, 14),
                pct_return(x, 5),
                dist_from_high(&h, x, 252, 20),
                dist_from_low(&l, x, 252, 20),
            ]
        };
        for (a, b) in outputs(&base).iter().zip(outputs(&poisoned)) {
            for i in 0..=t {
                assert!(a[i] == b[i] || (a[i].is_nan() && b[i].is_nan()), "index {i}");
            }
        }
    }
}
