//! The benchmark, and the one definition of alpha: **portfolio return − benchmark return over the
//! same period**, total returns on both sides. The benchmark is SPY (its daily bars and cash
//! dividends, from the nightly update) wherever the store has SPY for both ends of a day, and the
//! S&P 500 index (a price index: no dividends) as the historical proxy otherwise — every report
//! says which one it used.

use serde::{Deserialize, Serialize};

use super::PriceStore;
use crate::calendar::TradingDay;

/// Which series a benchmark figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkSource {
    /// SPY, total return (close plus the cash dividend going ex that day).
    Etf,
    /// The S&P 500 index, price return (the embedded data's proxy: it has no SPY series).
    Index,
}

impl BenchmarkSource {
    /// How reports name it.
    pub fn label(self, etf: &str) -> String {
        match self {
            BenchmarkSource::Etf => format!("{etf} (total return)"),
            BenchmarkSource::Index => "S&P 500 index (price return; the historical proxy)".to_string(),
        }
    }
}

/// The benchmark over one session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchmarkDay {
    /// Its series.
    pub source: BenchmarkSource,
    /// The session's close.
    pub close: f64,
    /// The previous session's close.
    pub prev_close: f64,
    /// Cash dividend per share going ex this session (ETF only).
    pub dividend: f64,
    /// (close + dividend) / previous close − 1.
    pub total_return: f64,
}

fn close_on(bars: &super::bars::DailyBars, symbol: &str, date: TradingDay) -> Option<f64> {
    let s = bars.get(symbol)?;
    let i = s.dates.binary_search(&date).ok()?;
    let c = s.close[i];
    (c.is_finite() && c > 0.0).then_some(c)
}

/// The session before `date` that `bars` holds a close for, with the close.
fn prev_close(bars: &super::bars::DailyBars, symbol: &str, date: TradingDay) -> Option<(TradingDay, f64)> {
    let s = bars.get(symbol)?;
    let i = s.dates.partition_point(|d| *d < date);
    let j = i.checked_sub(1)?;
    let c = s.close[j];
    (c.is_finite() && c > 0.0).then_some((s.dates[j], c))
}

impl PriceStore {
    /// The benchmark over session `date` (from the previous close the series has): SPY (total
    /// return) when the store has SPY's close for `date` and an earlier one, else the index (price
    /// return), else `None`.
    pub fn benchmark_day(&self, date: TradingDay, etf_symbol: &str) -> Option<BenchmarkDay> {
        if let Some(etf) = &self.benchmark_etf
            && let (Some(close), Some((_, prev))) = (close_on(etf, etf_symbol, date), prev_close(etf, etf_symbol, date))
        {
            let dividend: f64 = self
                .dividends
                .dividends
                .iter()
                .filter(|d| d.ticker.as_str() == etf_symbol && d.ex_date == date.date())
                .map(|d| d.cash_amount)
                .sum();
            return Some(BenchmarkDay {
                source: BenchmarkSource::Etf,
                close,
                prev_close: prev,
                dividend,
                total_return: (close + dividend) / prev - 1.0,
            });
        }
        let sym = super::BENCHMARK_SYMBOL;
        let close = close_on(&self.benchmark, sym, date)?;
        let (_, prev) = prev_close(&self.benchmark, sym, date)?;
        Some(BenchmarkDay {
            source: BenchmarkSource::Index,
            close,
            prev_close: prev,
            dividend: 0.0,
            total_return: close / prev - 1.0,
        })
    }

    /// The benchmark's total return from the close of `from` to the close of `to`, chaining the
    /// daily figures (each day from whichever series has it; a session missing from both series
    /// is covered by the next day's figure, which reaches back to the last close); the sources
    /// used, in order of first use. `None` when `to` itself has no figure.
    pub fn benchmark_return(
        &self,
        from: TradingDay,
        to: TradingDay,
        etf_symbol: &str,
    ) -> Option<(f64, Vec<BenchmarkSource>)> {
        if to <= from {
            return Some((0.0, Vec::new()));
        }
        self.benchmark_day(to, etf_symbol)?;
        let mut growth = 1.0;
        let mut sources = Vec::new();
        let mut d = from;
        while d < to {
            d = d.next();
            let Some(day) = self.benchmark_day(d, etf_symbol) else { continue };
            growth *= 1.0 + day.total_return;
            if !sources.contains(&day.source) {
                sources.push(day.source);
            }
        }
        Some((growth - 1.0, sources))
    }
}

/// Alpha, the one definition: portfolio return − benchmark return over the same period.
pub fn alpha(portfolio_return: f64, benchmark_return: f64) -> f64 {
    portfolio_return - benchmark_return
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_the_excess_return_over_the_same_period() {
        assert!((alpha(0.05, 0.03) - 0.02).abs() < 1e-12);
        assert!((alpha(-0.0325, 0.0032) + 0.0357).abs() < 1e-12);
    }
}
