//! Volume: on-balance volume, rolling VWAP.

use super::nans;

/// On-balance volume, starting at the first bar's volume (TA-Lib convention).
pub fn obv(close: &[f64], volume: &[f64]) -> Vec<f64> {
    let mut out = nans(close.len());
    let Some(&v0) = volume.first() else {
        return out;
    };
    let mut acc = v0;
    let mut prev = close[0];
    out[0] = acc;
    for i in 1..close.len() {
        if close[i] > prev {
            acc += volume[i];
        } else if close[i] < prev {
            acc -= volume[i];
        }
        prev = close[i];
        out[i] = acc;
    }
    out
}

/// Rolling VWAP over `n` bars on the typical price `(H + L + C) / 3`.
pub fn rolling_vwap(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], n: usize) -> Vec<f64> {
    let len = close.len();
    let mut out = nans(len);
    if n == 0 || len < n {
        return out;
    }
    let pv: Vec<f64> = (0..len).map(|i| (high[i] + low[i] + close[i]) / 3.0 * volume[i]).collect();
    for i in n - 1..len {
        let num: f64 = pv[i + 1 - n..=i].iter().sum();
        let den: f64 = volume[i + 1 - n..=i].iter().sum();
        if den > 0.0 {
            out[i] = num / den;
        }
    }
    out
}
