//! Graduated drawdown: bands of the drawdown from peak NAV size entries down; at the breaker new
//! entries halt. Interval semantics: with bands at 2% and 4% and a 6% breaker, a drawdown in
//! [0, 2%) sizes × 1, [2%, 4%) × the first band's multiplier, [4%, 6%) × the second's, ≥ 6% halts.

use ae_core::contracts::params::RiskParams;
use serde::{Deserialize, Serialize};

/// Where the account stands against its peak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DrawdownState {
    /// 1 − NAV / peak, as a positive fraction (0 at a new high).
    pub drawdown: f64,
    /// Size multiplier for new entries.
    pub multiplier: f64,
    /// Entries halted.
    pub halted: bool,
}

/// The drawdown state for `nav` against `peak_nav`.
pub fn drawdown_state(nav: f64, peak_nav: f64, p: &RiskParams) -> DrawdownState {
    let peak = peak_nav.max(nav);
    let drawdown = if peak > 0.0 { (1.0 - nav / peak).max(0.0) } else { 1.0 };
    if drawdown >= p.drawdown_breaker_pct.get() {
        return DrawdownState { drawdown, multiplier: 0.0, halted: true };
    }
    let multiplier =
        p.drawdown_tiers.iter().rev().find(|t| drawdown >= t.at_pct.get()).map(|t| t.multiplier.get()).unwrap_or(1.0);
    DrawdownState { drawdown, multiplier, halted: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::params;

    #[test]
    fn bands_use_interval_semantics() {
        let p = params().risk;
        // (nav, peak, multiplier, halted)
        let table = [
            (100.0, 100.0, 1.0, false),
            (98.5, 100.0, 1.0, false),
            (98.0, 100.0, 0.5, false), // exactly −2%: the half band starts
            (97.0, 100.0, 0.5, false), // −3%: half (the upstream off-by-one gave 1.0 here)
            (96.0, 100.0, 0.25, false),
            (94.5, 100.0, 0.25, false),
            (94.0, 100.0, 0.0, true), // the breaker
            (80.0, 100.0, 0.0, true),
            (110.0, 100.0, 1.0, false), // above the recorded peak: a new peak
        ];
        for (nav, peak, m, halted) in table {
            let s = drawdown_state(nav, peak, &p);
            assert!((s.multiplier - m).abs() < 1e-12 && s.halted == halted, "nav {nav} peak {peak}: {s:?}");
        }
    }
}
