//! The 0–100 technical score the quant filter ranks by: RSI zone, MACD, price against the 50- and
//! 200-session averages, and 20-session momentum as a percentile of the universe.
//!
//! Components without data (MA200 before 200 bars) drop out and the weights of the others are
//! renormalised; a name with no component has no technical score.

use ae_shared::contracts::common::Regime;
use ae_shared::contracts::params::TechnicalWeights;

use crate::snapshot::NameView;

/// RSI zone score: oversold scores high (a bounce is likely), overbought low, linear between.
/// Zones by regime (overbought, oversold, score when oversold): neutral 70/30/100, bull 80/35/100, bear 70/40/75.
pub fn rsi_score(rsi: f64, regime: Regime) -> f64 {
    let (over, under, max) = match regime {
        Regime::Neutral => (70.0, 30.0, 100.0),
        Regime::Bull => (80.0, 35.0, 100.0),
        Regime::Bear => (70.0, 40.0, 75.0),
    };
    if rsi <= under {
        max
    } else if rsi >= over {
        20.0
    } else {
        max - (rsi - under) / (over - under) * (max - 20.0)
    }
}

/// MACD score: a cross within 3 sessions matters most, then the line's side of zero.
pub fn macd_score(line: f64, cross: i32) -> f64 {
    let above = line > 0.0;
    match (cross.signum(), above) {
        (1, true) => 100.0,
        (1, false) => 70.0,
        (-1, true) => 30.0,
        (-1, false) => 0.0,
        (_, true) => 60.0,
        (_, false) => 40.0,
    }
}

/// Price against a moving average: piecewise linear through (−15%, 0), (−5%, 30), (0, 50), (+5%, 80), (+15%, 100).
pub fn ma_score(vs_ma: f64) -> f64 {
    let pts = [(-0.15, 0.0), (-0.05, 30.0), (0.0, 50.0), (0.05, 80.0), (0.15, 100.0)];
    if vs_ma <= pts[0].0 {
        return 0.0;
    }
    for w in pts.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if vs_ma <= x1 {
            return y0 + (vs_ma - x0) / (x1 - x0) * (y1 - y0);
        }
    }
    100.0
}

/// Technical score 0–100 with its components; `momentum_pct` is the name's 20-session return
/// percentile (0–100) among eligible names.
pub fn score(
    n: &NameView,
    momentum_pct: Option<f64>,
    regime: Regime,
    w: &TechnicalWeights,
) -> Option<(f64, Vec<(&'static str, f64)>)> {
    // Every weight named (no `..`): a sub-score added to the weights and not scored fails to build.
    let TechnicalWeights { rsi, macd, ma50, ma200, momentum } = *w;
    let mut parts: Vec<(&'static str, f64, f64)> = Vec::new();
    if let Some(r) = n.rsi14 {
        parts.push(("rsi", rsi_score(r, regime), rsi));
    }
    if let (Some(l), Some(c)) = (n.macd_line, n.macd_cross) {
        parts.push(("macd", macd_score(l, c), macd));
    }
    if let Some(v) = n.vs_ma50 {
        parts.push(("ma50", ma_score(v), ma50));
    }
    if let Some(v) = n.vs_ma200 {
        parts.push(("ma200", ma_score(v), ma200));
    }
    if let Some(m) = momentum_pct {
        parts.push(("momentum", m, momentum));
    }
    let total: f64 = parts.iter().map(|p| p.2).sum();
    if parts.is_empty() || total <= 0.0 {
        return None;
    }
    let s = parts.iter().map(|p| p.1 * p.2).sum::<f64>() / total;
    Some((s.clamp(0.0, 100.0), parts.into_iter().map(|p| (p.0, p.1)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_scores() {
        struct Case {
            got: f64,
            want: f64,
        }
        let cases = [
            // TC1: deeply oversold in a neutral regime scores the maximum.
            Case { got: rsi_score(25.0, Regime::Neutral), want: 100.0 },
            // TC2: a bear regime caps the oversold score at 75.
            Case { got: rsi_score(25.0, Regime::Bear), want: 75.0 },
            // TC3: overbought scores 20.
            Case { got: rsi_score(85.0, Regime::Bull), want: 20.0 },
            // TC4: halfway between the zones scores halfway between 100 and 20.
            Case { got: rsi_score(50.0, Regime::Neutral), want: 60.0 },
            // TC5: a fresh bullish cross above zero.
            Case { got: macd_score(0.4, 2), want: 100.0 },
            // TC6: a bearish cross below zero.
            Case { got: macd_score(-0.4, -1), want: 0.0 },
            // TC7: no cross, below zero.
            Case { got: macd_score(-0.1, 0), want: 40.0 },
            // TC8: at the average.
            Case { got: ma_score(0.0), want: 50.0 },
            // TC9: +5% over the average.
            Case { got: ma_score(0.05), want: 80.0 },
            // TC10: +10% is halfway from 80 to 100.
            Case { got: ma_score(0.10), want: 90.0 },
            // TC11: far below floors at 0, far above caps at 100.
            Case { got: ma_score(-0.4) + ma_score(0.5), want: 100.0 },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!((c.got - c.want).abs() < 1e-9, "TC{}: {} != {}", i + 1, c.got, c.want);
        }
    }
}
