//! Splits in unadjusted prices: detection and back-adjustment.
//!
//! A split shows up as an overnight jump of the price to a simple fraction of itself (½ for 2:1,
//! 10× for 1:10) on a day the market did not move. Ratios close to 1 (5:4) are deliberately not
//! recognised: a −20% day is a common earnings collapse, and adjusting a real loss away would
//! flatter every backtest (CVS fell 20% on 2009-11-05; it did not split). Detection compares the open and the close with
//! the previous close against common split ratios in log space; the tolerance widens with the
//! square root of the sessions between the two bars (prices drift across a gap in the data). A
//! jump that matches no ratio is left alone and later reported as a spike by the quality layer.
//!
//! Adjustment is point-in-time: [`adjust`] applies only splits on or before `as_of`, so a backtest at
//! day t sees the prices a trader saw at t, on the share basis in force at t.

use serde::{Deserialize, Serialize};

use super::bars::{BarSeries, DailyBars};
use crate::calendar::TradingDay;
use crate::config::SplitConfig;
use crate::types::Ticker;

/// New shares per old share for the ratios we recognise (forward and reverse).
const RATIOS: &[(f64, &str)] = &[
    (2.0, "2:1"),
    (3.0, "3:1"),
    (4.0, "4:1"),
    (5.0, "5:1"),
    (10.0, "10:1"),
    (1.5, "3:2"),
    (0.5, "1:2"),
    (1.0 / 3.0, "1:3"),
    (0.25, "1:4"),
    (0.2, "1:5"),
    (0.1, "1:10"),
    (0.05, "1:20"),
];

/// A detected split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Symbol.
    pub ticker: Ticker,
    /// First session on the new share basis.
    pub date: TradingDay,
    /// New shares per old share (2.0 for 2:1, 0.1 for 1:10).
    pub ratio: f64,
    /// Human label ("2:1").
    pub label: String,
    /// Observed open / previous close.
    pub observed_gap: f64,
    /// Sessions since the previous bar (1 when consecutive).
    pub sessions_since_previous_bar: i64,
}

fn detect_in(
    s: &BarSeries<'_>,
    market_move: impl Fn(TradingDay, TradingDay) -> Option<f64>,
    cfg: &SplitConfig,
) -> Vec<Split> {
    let mut out = Vec::new();
    for i in 1..s.len() {
        let prev = s.close[i - 1];
        if prev <= 0.0 || s.open[i] <= 0.0 || s.close[i] <= 0.0 {
            continue;
        }
        let by_open = (s.open[i] / prev).ln();
        let by_close = (s.close[i] / prev).ln();
        if by_open.abs().min(by_close.abs()) < 0.2 {
            continue; // under ~20%: not a split candidate
        }
        let gap = s.dates[i - 1].days_until(s.dates[i]).max(1);
        let tol = cfg.ratio_tolerance * (gap as f64).sqrt();
        let best = RATIOS
            .iter()
            .map(|&(k, label)| {
                let target = (1.0 / k).ln();
                ((by_open - target).abs().min((by_close - target).abs()), k, label)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((dist, k, label)) = best else {
            continue;
        };
        if dist > tol {
            continue;
        }
        if let Some(m) = market_move(s.dates[i - 1], s.dates[i])
            && m.abs() > cfg.max_market_move * (gap as f64).sqrt()
        {
            continue;
        }
        out.push(Split {
            ticker: s.ticker.clone(),
            date: s.dates[i],
            ratio: k,
            label: label.to_string(),
            observed_gap: s.open[i] / prev,
            sessions_since_previous_bar: gap,
        });
    }
    out
}

/// Finds splits in every symbol; `benchmark` (when given) rules out days the whole market moved.
pub fn detect(bars: &DailyBars, benchmark: Option<BarSeries<'_>>, cfg: &SplitConfig) -> Vec<Split> {
    let market_move = |from: TradingDay, to: TradingDay| -> Option<f64> {
        let b = benchmark.as_ref()?;
        let i = b.index_on_or_before(from)?;
        let j = b.index_on_or_before(to)?;
        (b.dates[j] == to && b.close[i] > 0.0).then(|| b.close[j] / b.close[i] - 1.0)
    };
    bars.iter().flat_map(|s| detect_in(&s, market_move, cfg)).collect()
}

/// Back-adjusts prices and volumes for the splits on or before `as_of` (all of them when `None`).
pub fn adjust(bars: &DailyBars, splits: &[Split], as_of: Option<TradingDay>) -> DailyBars {
    adjusted(bars, splits, as_of).unwrap_or_else(|| bars.clone())
}

/// [`adjust`], or `None` when no split changes a row of `bars` (every split in force falls on or
/// before its symbol's first row, or names a symbol without rows): the bars are then their own
/// adjustment and need no copy.
pub fn adjusted(bars: &DailyBars, splits: &[Split], as_of: Option<TradingDay>) -> Option<DailyBars> {
    let in_force = || splits.iter().filter(|s| as_of.is_none_or(|a| s.date <= a));
    let changes = |sp: &Split| {
        bars.find(sp.ticker.as_str())
            .is_some_and(|i| bars.dates[bars.offsets[i]..bars.offsets[i + 1]].first().is_some_and(|d| *d < sp.date))
    };
    if !in_force().any(changes) {
        return None;
    }
    let mut out = bars.clone();
    for sp in in_force() {
        let Some(i) = out.find(sp.ticker.as_str()) else {
            continue;
        };
        let (lo, hi) = (out.offsets[i], out.offsets[i + 1]);
        for r in lo..hi {
            if out.dates[r] >= sp.date {
                break;
            }
            out.open[r] /= sp.ratio;
            out.high[r] /= sp.ratio;
            out.low[r] /= sp.ratio;
            out.close[r] /= sp.ratio;
            out.volume[r] *= sp.ratio;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::bars::Bar;

    fn series(closes: &[(&str, f64)]) -> DailyBars {
        let t = Ticker::new("X").unwrap();
        DailyBars::from_rows(
            closes
                .iter()
                .map(|(d, c)| {
                    (
                        t.clone(),
                        Bar {
                            date: TradingDay::parse(d).unwrap(),
                            open: *c,
                            high: *c,
                            low: *c,
                            close: *c,
                            volume: 1000.0,
                        },
                    )
                })
                .collect(),
        )
        .0
    }

    fn cfg() -> SplitConfig {
        SplitConfig { ratio_tolerance: 0.04, max_market_move: 0.05 }
    }

    #[test]
    fn finds_a_two_for_one_and_adjusts_only_up_to_as_of() {
        let b = series(&[("2010-06-10", 100.0), ("2010-06-11", 102.0), ("2010-06-14", 50.5), ("2010-06-15", 51.0)]);
        let s = detect(&b, None, &cfg());
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].label.as_str(), s[0].date.to_string()), ("2:1", "2010-06-14".to_string()));
        let adj = adjust(&b, &s, None);
        assert_eq!(adj.get("X").unwrap().close, &[50.0, 51.0, 50.5, 51.0]);
        assert_eq!(adj.get("X").unwrap().volume[0], 2000.0);
        let before = adjust(&b, &s, Some(TradingDay::parse("2010-06-11").unwrap()));
        assert_eq!(before.get("X").unwrap().close[0], 100.0, "a split after as_of is not known yet");
    }

    #[test]
    fn a_window_that_starts_on_or_after_every_split_needs_no_copy() {
        let b = series(&[("2010-06-10", 100.0), ("2010-06-11", 102.0), ("2010-06-14", 50.5), ("2010-06-15", 51.0)]);
        let s = detect(&b, None, &cfg());
        let d = |x: &str| TradingDay::parse(x).unwrap();
        // (window start, as of) -> the adjusted closes, and whether that needed a copy
        for (from, as_of, closes, copied) in [
            ("2010-06-10", "2010-06-15", vec![50.0, 51.0, 50.5, 51.0], true),
            ("2010-06-11", "2010-06-14", vec![51.0, 50.5], true),
            ("2010-06-14", "2010-06-15", vec![50.5, 51.0], false),
            ("2010-06-15", "2010-06-15", vec![51.0], false),
            ("2010-06-10", "2010-06-11", vec![100.0, 102.0], false),
        ] {
            let window = b.between(d(from), d(as_of));
            let a = adjusted(&window, &s, Some(d(as_of)));
            assert_eq!(a.is_some(), copied, "{from}..{as_of}");
            assert_eq!(a.as_ref().unwrap_or(&window).close, closes, "{from}..{as_of}");
            assert_eq!(adjust(&window, &s, Some(d(as_of))).close, closes, "{from}..{as_of}");
        }
    }

    #[test]
    fn a_crash_that_matches_no_ratio_is_not_a_split() {
        let b = series(&[("2010-06-10", 100.0), ("2010-06-11", 62.0)]);
        assert!(detect(&b, None, &cfg()).is_empty());
    }

    #[test]
    fn a_market_wide_move_is_not_a_split() {
        let x = series(&[("2010-06-10", 100.0), ("2010-06-11", 50.0)]);
        let t = Ticker::new("SPX").unwrap();
        let bench = DailyBars::from_rows(
            [("2010-06-10", 1000.0), ("2010-06-11", 600.0)]
                .iter()
                .map(|(d, c)| {
                    (
                        t.clone(),
                        Bar {
                            date: TradingDay::parse(d).unwrap(),
                            open: *c,
                            high: *c,
                            low: *c,
                            close: *c,
                            volume: 0.0,
                        },
                    )
                })
                .collect(),
        )
        .0;
        assert!(detect(&x, bench.get("SPX"), &cfg()).is_empty());
    }
}
