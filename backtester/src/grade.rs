//! The tear sheet of one simulated run against the benchmark: the performance summary (with its
//! sample size), the monthly return grid, the rolling 12-month Sharpe, turnover, and win rates of
//! closed trades by side, holding period and sector. Every number comes from
//! [`ae_shared::metrics`], the functions the suite checks against empyrical.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::metrics::{self, Summary, wilson_interval};
use chrono::Datelike;
use serde::Serialize;

use crate::sim::{SimResult, Trade};

/// A win rate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinRate {
    /// Bucket.
    pub bucket: String,
    /// Trades.
    pub n: u64,
    /// Winners (P&L > 0 after commissions).
    pub wins: u64,
    /// wins / n.
    pub rate: f64,
    /// 95% Wilson interval.
    pub interval: (f64, f64),
    /// Mean return per trade.
    pub mean_return: f64,
}

/// The tear sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TearSheet {
    /// First and last day.
    pub period: Option<(TradingDay, TradingDay)>,
    /// Performance vs the benchmark.
    pub summary: Summary,
    /// Monthly returns: (year, month, strategy, benchmark).
    pub monthly: Vec<(i32, u32, f64, f64)>,
    /// Rolling 252-session Sharpe at each day that has a full window (empty below a year).
    pub rolling_sharpe_12m: Vec<(TradingDay, f64)>,
    /// Annualised one-way turnover: traded notional / 2 / mean NAV, per year.
    pub turnover: f64,
    /// Closed trades.
    pub trades: u64,
    /// Win rates: all trades by side (the system is long-only), by holding period, by sector.
    pub win_rates: Vec<WinRate>,
}

fn win_rate(bucket: String, trades: &[&Trade]) -> WinRate {
    let n = trades.len() as u64;
    let wins = trades.iter().filter(|t| t.pnl > 0.0).count() as u64;
    WinRate {
        bucket,
        n,
        wins,
        rate: if n == 0 { f64::NAN } else { wins as f64 / n as f64 },
        interval: wilson_interval(wins, n, 0.95),
        mean_return: if n == 0 { f64::NAN } else { trades.iter().map(|t| t.ret).sum::<f64>() / n as f64 },
    }
}

/// Compounds daily returns into (year, month) buckets.
pub fn monthly(dates: &[TradingDay], r: &[f64], bench: &[f64]) -> Vec<(i32, u32, f64, f64)> {
    let mut out: Vec<(i32, u32, f64, f64)> = Vec::new();
    for ((d, x), b) in dates.iter().zip(r).zip(bench) {
        let (y, m) = (d.date().year(), d.date().month());
        match out.last_mut() {
            Some(last) if last.0 == y && last.1 == m => {
                last.2 = (1.0 + last.2) * (1.0 + x) - 1.0;
                last.3 = (1.0 + last.3) * (1.0 + b) - 1.0;
            }
            _ => out.push((y, m, *x, *b)),
        }
    }
    out
}

/// Grades a run (`res` must have been run with details).
pub fn tear_sheet(res: &SimResult, bench: &[f64]) -> TearSheet {
    let r = &res.returns;
    let summary = Summary::of(r, bench);
    let rolling_sharpe_12m = if r.len() >= 252 {
        (251..r.len()).map(|i| (res.dates[i], metrics::sharpe(&r[i - 251..=i], 0.0))).collect()
    } else {
        Vec::new()
    };
    let mean_nav = if res.nav.is_empty() { 0.0 } else { res.nav.iter().sum::<f64>() / res.nav.len() as f64 };
    let traded: f64 = res.traded.iter().sum();
    let turnover = if mean_nav > 0.0 && !r.is_empty() {
        traded / 2.0 / mean_nav * metrics::PERIODS_PER_YEAR / r.len() as f64
    } else {
        f64::NAN
    };
    let all: Vec<&Trade> = res.trades.iter().collect();
    let mut win_rates = vec![win_rate("long (all trades)".into(), &all), win_rate("short".into(), &[])];
    for (label, lo, hi) in [("held 0-5 days", 0, 5), ("held 6-20 days", 6, 20), ("held 21+ days", 21, u32::MAX)] {
        let b: Vec<&Trade> = all.iter().copied().filter(|t| t.days_held >= lo && t.days_held <= hi).collect();
        win_rates.push(win_rate(label.into(), &b));
    }
    let mut by_sector: BTreeMap<String, Vec<&Trade>> = BTreeMap::new();
    for t in &all {
        by_sector
            .entry(t.sector.map(|s| s.name().to_string()).unwrap_or_else(|| "unknown".into()))
            .or_default()
            .push(t);
    }
    for (s, v) in by_sector {
        win_rates.push(win_rate(format!("sector {s}"), &v));
    }
    TearSheet {
        period: res.dates.first().zip(res.dates.last()).map(|(a, b)| (*a, *b)),
        summary,
        monthly: monthly(&res.dates, r, bench),
        rolling_sharpe_12m,
        turnover,
        trades: res.trades.len() as u64,
        win_rates,
    }
}

/// The sweep objective: annualised Sharpe − 0.5 × |max drawdown| (NaN Sharpe counts as 0).
pub fn objective(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NEG_INFINITY;
    }
    let s = metrics::sharpe(r, 0.0);
    let s = if s.is_finite() { s } else { 0.0 };
    s - 0.5 * metrics::max_drawdown(r).abs()
}
