//! Volatility: true range, ATR (Wilder), Bollinger bands, realized volatility.

use super::{nans, sma};

/// True range per bar (`NaN` for the first bar, which has no previous close).
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    let mut out = nans(close.len());
    for i in 1..close.len() {
        let pc = close[i - 1];
        out[i] = (high[i] - low[i]).max((high[i] - pc).abs()).max((low[i] - pc).abs());
    }
    out
}

/// Wilder's average true range: the mean of true ranges 1..=n at index n, then
/// `(prev·(n−1) + TR) / n`.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    let len = close.len();
    let mut out = nans(len);
    if n == 0 || len <= n {
        return out;
    }
    let tr = true_range(high, low, close);
    let mut prev = tr[1..=n].iter().sum::<f64>() / n as f64;
    out[n] = prev;
    for i in n + 1..len {
        prev *= (n - 1) as f64;
        prev += tr[i];
        prev /= n as f64;
        out[i] = prev;
    }
    out
}

/// Bollinger bands.
#[derive(Debug, Clone, PartialEq)]
pub struct Bollinger {
    /// Middle band (SMA).
    pub middle: Vec<f64>,
    /// middle + k·σ.
    pub upper: Vec<f64>,
    /// middle − k·σ.
    pub lower: Vec<f64>,
    /// (x − lower) / (upper − lower); `NaN` when the bands coincide.
    pub percent_b: Vec<f64>,
}

/// Bollinger bands over `n` bars at `k` population standard deviations.
pub fn bollinger(x: &[f64], n: usize, k: f64) -> Bollinger {
    let len = x.len();
    let middle = sma(x, n);
    let (mut upper, mut lower, mut percent_b) = (nans(len), nans(len), nans(len));
    for i in (n.max(1) - 1)..len {
        if n == 0 || middle[i].is_nan() {
            continue;
        }
        let w = &x[i + 1 - n..=i];
        let m = w.iter().sum::<f64>() / n as f64;
        let var = w.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
        let sd = var.max(0.0).sqrt();
        upper[i] = middle[i] + k * sd;
        lower[i] = middle[i] - k * sd;
        let width = upper[i] - lower[i];
        if width > 0.0 {
            percent_b[i] = (x[i] - lower[i]) / width;
        }
    }
    Bollinger { middle, upper, lower, percent_b }
}

/// Annualised realized volatility: sample standard deviation of the last `n` daily log returns × √252.
pub fn realized_vol(close: &[f64], n: usize) -> Vec<f64> {
    let len = close.len();
    let mut out = nans(len);
    if n < 2 || len <= n {
        return out;
    }
    let r: Vec<f64> = (0..len).map(|i| if i == 0 { f64::NAN } else { log_return(close, i) }).collect();
    for i in n..len {
        out[i] = annualised_sd(&r[i + 1 - n..=i]);
    }
    out
}

/// The last value of [`realized_vol`] (`NaN` where it has none) from the last `n` returns only:
/// the same operations in the same order, so the same bits, for a caller that needs only today's.
pub fn realized_vol_last(close: &[f64], n: usize) -> f64 {
    let len = close.len();
    if n < 2 || len <= n {
        return f64::NAN;
    }
    let r: Vec<f64> = (len - n..len).map(|i| log_return(close, i)).collect();
    annualised_sd(&r)
}

fn log_return(close: &[f64], i: usize) -> f64 {
    (close[i] / close[i - 1]).ln()
}

/// Sample standard deviation of a window of returns × √252.
fn annualised_sd(w: &[f64]) -> f64 {
    let n = w.len();
    let m = w.iter().sum::<f64>() / n as f64;
    let var = w.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64;
    var.sqrt() * 252f64.sqrt()
}
