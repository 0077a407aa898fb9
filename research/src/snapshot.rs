//! The market as research sees it at a run: every measurement per name, computed only from bars up
//! to `as_of` (the session before the run date — research runs at 05:00, before the open).
//!
//! Each measurement is `None` where its window does not exist yet (a 3-month return needs 64 bars),
//! never a filled-in value. Governance is assessed point-in-time too: a name that stopped trading,
//! or whose data has defects as of `as_of`, is ineligible, with the reasons.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::config::DataConfig;
use ae_shared::contracts::common::Sector;
use ae_shared::indicators as ind;
use ae_shared::store::PriceStore;
use ae_shared::store::bars::{BarSeries, DailyBars};
use ae_shared::store::quality;
use ae_shared::types::Ticker;

/// One name's measurements as of the snapshot day.
#[derive(Debug, Clone, PartialEq)]
pub struct NameView {
    /// Symbol.
    pub ticker: Ticker,
    /// GICS sector, when the sector map has it.
    pub sector: Option<Sector>,
    /// Why the name may not be used (data defects, stopped trading); empty when eligible.
    pub defects: Vec<String>,
    /// Bars up to the snapshot day.
    pub bars: usize,
    /// Last close (split-adjusted as of the snapshot day, i.e. the price traded then).
    pub close: f64,
    /// RSI(14).
    pub rsi14: Option<f64>,
    /// MACD line − signal (12, 26, 9).
    pub macd_hist: Option<f64>,
    /// MACD line.
    pub macd_line: Option<f64>,
    /// +n: the line crossed above the signal n sessions ago (≤ 3); −n: crossed below.
    pub macd_cross: Option<i32>,
    /// close / MA50 − 1.
    pub vs_ma50: Option<f64>,
    /// close / MA200 − 1.
    pub vs_ma200: Option<f64>,
    /// ATR(14) / close.
    pub atr_pct: Option<f64>,
    /// ATR(14) in dollars.
    pub atr: Option<f64>,
    /// Simple returns over 5, 21, 63, 126 sessions.
    pub ret_5: Option<f64>,
    /// 21 sessions (one month).
    pub ret_21: Option<f64>,
    /// 63 sessions (three months).
    pub ret_63: Option<f64>,
    /// 126 sessions (six months).
    pub ret_126: Option<f64>,
    /// Return from 252 to 21 sessions ago (12-1 momentum).
    pub ret_12_1: Option<f64>,
    /// close / highest high of 252 sessions − 1 (needs 252 bars).
    pub vs_high_252: Option<f64>,
    /// Annualised realized volatility over 60 sessions.
    pub vol_60: Option<f64>,
    /// Average daily dollar volume over 20 sessions.
    pub adv_usd_20: Option<f64>,
    /// Lowest low of the last 20 sessions (support).
    pub support_20: Option<f64>,
    /// Calendar days to the next earnings date (within 60 days), when known.
    pub days_to_earnings: Option<i64>,
    /// Next earnings date within 60 days.
    pub next_earnings: Option<chrono::NaiveDate>,
}

impl NameView {
    /// Eligible: no defects and a sector.
    pub fn eligible(&self) -> bool {
        self.defects.is_empty() && self.sector.is_some()
    }
}

/// The benchmark's state.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkView {
    /// Last close.
    pub close: f64,
    /// close / MA200 − 1.
    pub vs_ma200: Option<f64>,
    /// Annualised realized volatility over 20 sessions.
    pub vol_20: Option<f64>,
    /// 63-session return.
    pub ret_63: Option<f64>,
    /// 21-session return.
    pub ret_21: Option<f64>,
}

/// Everything research measures, as of one day.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The run date.
    pub run_date: TradingDay,
    /// The last session used (the session before the run date).
    pub as_of: TradingDay,
    /// Names with at least one bar, by ticker.
    pub names: BTreeMap<Ticker, NameView>,
    /// The benchmark.
    pub benchmark: BenchmarkView,
    /// Sessions in the store up to `as_of`.
    pub sessions: usize,
}

fn last(v: &[f64]) -> Option<f64> {
    v.last().copied().and_then(finite)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn ret_between(close: &[f64], back_from: usize, back_to: usize) -> Option<f64> {
    // close[n-1-back_to] / close[n-1-back_from] − 1, with back_from > back_to.
    let n = close.len();
    if n <= back_from {
        return None;
    }
    let a = close[n - 1 - back_from];
    let b = close[n - 1 - back_to];
    (a > 0.0).then(|| b / a - 1.0)
}

fn macd_cross(line: &[f64], signal: &[f64], within: usize) -> Option<i32> {
    let n = line.len();
    if n < 2 || !line[n - 1].is_finite() {
        return None;
    }
    for k in 0..within.min(n - 1) {
        let (i, j) = (n - 1 - k, n - 2 - k);
        let (d_now, d_prev) = (line[i] - signal[i], line[j] - signal[j]);
        if !d_prev.is_finite() {
            break;
        }
        if d_now > 0.0 && d_prev <= 0.0 {
            return Some(k as i32 + 1);
        }
        if d_now < 0.0 && d_prev >= 0.0 {
            return Some(-(k as i32 + 1));
        }
    }
    Some(0)
}

fn view(
    s: &BarSeries<'_>,
    sector: Option<Sector>,
    defects: Vec<String>,
    store: &PriceStore,
    as_of: TradingDay,
) -> NameView {
    let (h, l, c, v) = (s.high, s.low, s.close, s.volume);
    let n = c.len();
    let close = c[n - 1];
    let ma = |w: usize| -> Option<f64> { (n >= w).then(|| c[n - w..].iter().sum::<f64>() / w as f64) };
    let vs = |m: Option<f64>| m.filter(|m| *m > 0.0).map(|m| close / m - 1.0);
    let m = ind::macd(c, 12, 26, 9);
    let atr = last(&ind::atr(h, l, c, 14));
    let adv = (n >= 20).then(|| (n - 20..n).map(|i| c[i] * v[i]).sum::<f64>() / 20.0);
    let vol_60 = finite(ind::realized_vol_last(c, 60));
    let vs_high_252 = (n >= 252).then(|| {
        let hi = h[n - 252..].iter().copied().fold(f64::MIN, f64::max);
        close / hi - 1.0
    });
    let next = store.earnings.next_on_or_after(s.ticker.as_str(), as_of.date().succ_opt().expect("date"));
    let days = next.map(|d| (d - as_of.date()).num_days()).filter(|d| *d <= 60);
    NameView {
        ticker: s.ticker.clone(),
        sector,
        defects,
        bars: n,
        close,
        rsi14: last(&ind::rsi(c, 14)),
        macd_hist: last(&m.hist),
        macd_line: last(&m.line),
        macd_cross: macd_cross(&m.line, &m.signal, 3),
        vs_ma50: vs(ma(50)),
        vs_ma200: vs(ma(200)),
        atr_pct: atr.map(|a| a / close),
        atr,
        ret_5: ret_between(c, 5, 0),
        ret_21: ret_between(c, 21, 0),
        ret_63: ret_between(c, 63, 0),
        ret_126: ret_between(c, 126, 0),
        ret_12_1: ret_between(c, 252, 21),
        vs_high_252,
        vol_60,
        adv_usd_20: adv,
        support_20: (n >= 20).then(|| l[n - 20..].iter().copied().fold(f64::MAX, f64::min)),
        days_to_earnings: days,
        next_earnings: next.filter(|_| days.is_some()),
    }
}

impl Snapshot {
    /// Measures every name and the benchmark for a run on `run_date`, from bars up to the
    /// session before it.
    pub fn build(store: &PriceStore, run_date: TradingDay, data: &DataConfig) -> Self {
        let as_of = run_date.prev();
        let raw = store.raw.between(store.manifest.first_day.min(as_of), as_of);
        // Without a split inside the history the raw bars are their own adjustment (no copy).
        let adjusted: Option<DailyBars> = ae_shared::store::splits::adjusted(&raw, &store.splits, Some(as_of));
        let bars = adjusted.as_ref().unwrap_or(&raw);
        let q = quality::assess(&raw, bars, &BTreeMap::new(), &store.splits, as_of, &data.quality, &data.governance);
        let mut names = BTreeMap::new();
        for s in bars.iter() {
            let defects = q
                .get(s.ticker.as_str())
                .map(|x| x.defects().into_iter().map(str::to_string).collect())
                .unwrap_or_default();
            let sector = store.sectors.sector(s.ticker.as_str());
            names.insert(s.ticker.clone(), view(&s, sector, defects, store, as_of));
        }
        let b = store.benchmark_series();
        let upto = b.index_on_or_before(as_of).map(|i| i + 1).unwrap_or(0);
        let bc = &b.close[..upto];
        let bn = bc.len();
        let benchmark = BenchmarkView {
            close: bc.last().copied().unwrap_or(f64::NAN),
            vs_ma200: (bn >= 200).then(|| bc[bn - 1] / (bc[bn - 200..].iter().sum::<f64>() / 200.0) - 1.0),
            vol_20: finite(ind::realized_vol_last(bc, 20)),
            ret_63: ret_between(bc, 63, 0),
            ret_21: ret_between(bc, 21, 0),
        };
        let sessions = q.symbols.iter().map(|s| s.expected_sessions as usize).max().unwrap_or(0);
        Snapshot { run_date, as_of, names, benchmark, sessions }
    }

    /// Eligible names (no defects, with a sector).
    pub fn eligible(&self) -> impl Iterator<Item = &NameView> {
        self.names.values().filter(|n| n.eligible())
    }

    /// Names with bars but no sector in the sector map.
    pub fn without_sector(&self) -> Vec<&Ticker> {
        self.names.values().filter(|n| n.sector.is_none() && n.defects.is_empty()).map(|n| &n.ticker).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_and_crosses() {
        let c = [10.0, 11.0, 12.0, 13.0];
        assert!((ret_between(&c, 3, 0).unwrap() - 0.3).abs() < 1e-12);
        assert!((ret_between(&c, 3, 1).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(ret_between(&c, 4, 0), None);
        let line = [0.0, -1.0, 1.0, 2.0];
        let sig = [0.0, 0.0, 0.0, 0.0];
        assert_eq!(macd_cross(&line, &sig, 3), Some(2));
        assert_eq!(macd_cross(&[1.0, 2.0], &[0.0, 0.0], 3), Some(0));
    }
}
