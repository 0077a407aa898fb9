//! Labels: forward `h`-session log return minus the equal-weight mean of the sector's members over
//! the same window, clipped to ±`clip`. (The embedded data has no sector ETFs: the sector is the
//! equal-weight average of its members.) The label of session t reads closes at t and t + h — so a
//! training row at t is only usable once t + h ≤ the training cutoff.

use ae_shared::metrics::group_demean;
use ae_shared::store::bars::DailyBars;

use ae_shared::TradingDay;
use ae_shared::contracts::common::Sector;

/// Written into every artefact.
pub fn describe(horizon: u32, clip: f64) -> String {
    format!(
        "forward {horizon}-session log return minus the equal-weight mean of its GICS sector's members, clipped to ±{clip}"
    )
}

/// The benchmark the label is relative to.
pub const BENCHMARK: &str = "equal-weight GICS sector";

/// Labels `[t][n]` aligned with the panel's frame (`dates`, and `sectors` in `bars`' symbol
/// order: [`crate::features::frame`]); NaN when t + h is beyond the data or a close is missing.
pub fn compute(
    dates: &[TradingDay],
    sectors: &[Option<Sector>],
    bars: &DailyBars,
    horizon: usize,
    clip: f64,
) -> Vec<f32> {
    let (nt, nn) = (dates.len(), bars.tickers.len());
    // Close by (t, n).
    let mut close = vec![f64::NAN; nt * nn];
    for n in 0..nn {
        let s = bars.series(n);
        for k in 0..s.len() {
            if let Ok(t) = dates.binary_search(&s.dates[k]) {
                close[t * nn + n] = s.close[k];
            }
        }
    }
    let mut out = vec![f32::NAN; nt * nn];
    for t in 0..nt.saturating_sub(horizon) {
        let fwd: Vec<f64> = (0..nn)
            .map(|n| {
                let (a, b) = (close[t * nn + n], close[(t + horizon) * nn + n]);
                if a > 0.0 && b > 0.0 { (b / a).ln() } else { f64::NAN }
            })
            .collect();
        for (n, v) in group_demean(&fwd, sectors).into_iter().enumerate() {
            if v.is_finite() {
                out[t * nn + n] = v.clamp(-clip, clip) as f32;
            }
        }
    }
    out
}
