//! Features: a (session × symbol × feature) panel built from the price store with the shared
//! indicator library. Row (t, n) only reads bars up to session t (tested by poisoning the future).
//!
//! | # | name | definition | window |
//! |---|---|---|---|
//! | 0–3 | ret_5, ret_20, ret_60, ret_120 | simple return | 5 / 20 / 60 / 120 |
//! | 4 | rsi_14 | Wilder RSI | 14 |
//! | 5 | rsi_slope_5 | RSI today − RSI 5 sessions ago | 19 |
//! | 6 | macd_line_pct | MACD line (12, 26, 9) / close | 34 |
//! | 7 | macd_hist_pct | MACD histogram / close | 34 |
//! | 8 | macd_cross | +1 if the line crossed above the signal within 3 sessions, −1 below, else 0 | 37 |
//! | 9 | dist_ma50 | close / SMA50 − 1 | 50 |
//! | 10 | dist_ma200 | close / SMA200 − 1 | 200 |
//! | 11 | bb_pct | Bollinger %B (20, 2σ) | 20 |
//! | 12 | atr_pct | Wilder ATR(14) / close | 15 |
//! | 13 | rvol_20 | annualised realized volatility | 21 |
//! | 14 | vol_ratio_10_60 | realized vol 10 / realized vol 60 | 61 |
//! | 15 | volume_ratio_5_20 | mean volume 5 / mean volume 20 | 20 |
//! | 16 | volume_trend_20_60 | mean volume 20 / mean volume 60 | 60 |
//! | 17 | obv_slope_10 | OBV change over 10 sessions / (10 × mean volume 20) | 20 |
//! | 18 | dist_52w_high | close / highest high − 1 (252, from 60 bars) | 60–252 |
//! | 19 | dist_52w_low | close / lowest low − 1 (252, from 60 bars) | 60–252 |
//! | 20 | days_to_earnings | calendar days to the next earnings date, capped at 60 | calendar |
//! | 21 | days_since_earnings | calendar days since the last earnings date, capped at 60 | calendar |
//! | 22 | research_score | the latest research composite on or before t (missing when none) | signals history |
//! | 23–24 | bench_rel_ret_5, bench_rel_ret_20 | return − benchmark return | 5 / 20 |
//! | 25–26 | sector_rel_ret_5, sector_rel_ret_20 | return − equal-weight mean of the sector's members at t | 5 / 20 |
//! | 27 | rank_ret_20 | percentile of ret_20 among all symbols at t (0–1) | 20 |
//! | 28 | rank_rvol_20 | percentile of rvol_20 at t | 21 |
//! | 29 | rank_volume_ratio | percentile of volume_ratio_5_20 at t | 20 |
//! | 30 | index_ret_20 | the benchmark's own 20-session return (its trend; the same for every name) | 20 |
//! | 31 | index_dist_ma200 | the benchmark's close / its SMA200 − 1 | 200 |
//! | 32 | index_rvol_20 | the benchmark's annualised realized volatility | 21 |
//!
//! | 33 | rate_10y | the 10-year Treasury yield (FRED DGS10), latest observation dated before t | FRED |
//! | 34 | rate_10y_chg_21 | its change over 21 sessions | FRED |
//! | 35 | hy_spread | the high-yield option-adjusted spread (FRED BAMLH0A0HYM2) | FRED |
//! | 36 | hy_spread_chg_21 | its change over 21 sessions | FRED |
//! | 37 | vix | the VIX close (FRED VIXCLS) | FRED |
//!
//! The last eight are the market's context, point in time: a tree model splits on them to tell
//! one regime's cross-section from another's. The macro five come from the FRED series the
//! nightly update keeps on the bus ([`crate::macro_features`] says how they stay point in time);
//! without FRED they are missing on every row and the index's own three carry the context.
//!
//! Missing values are NaN (LightGBM treats them as missing), never filled.

use std::collections::BTreeMap;
use std::sync::Arc;

use ae_shared::TradingDay;
use ae_shared::contracts::common::Sector;
use ae_shared::indicators as ind;
use ae_shared::metrics::average_ranks;
use ae_shared::store::bars::{BarSeries, DailyBars};
use ae_shared::store::{EarningsCalendar, PriceStore, SectorMap};
use ae_shared::types::Ticker;
use arrow::array::{ArrayRef, Float32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::macro_features::{self, MacroSeries};

/// Feature names, in column order.
pub const NAMES: [&str; 38] = [
    "ret_5",
    "ret_20",
    "ret_60",
    "ret_120",
    "rsi_14",
    "rsi_slope_5",
    "macd_line_pct",
    "macd_hist_pct",
    "macd_cross",
    "dist_ma50",
    "dist_ma200",
    "bb_pct",
    "atr_pct",
    "rvol_20",
    "vol_ratio_10_60",
    "volume_ratio_5_20",
    "volume_trend_20_60",
    "obv_slope_10",
    "dist_52w_high",
    "dist_52w_low",
    "days_to_earnings",
    "days_since_earnings",
    "research_score",
    "bench_rel_ret_5",
    "bench_rel_ret_20",
    "sector_rel_ret_5",
    "sector_rel_ret_20",
    "rank_ret_20",
    "rank_rvol_20",
    "rank_volume_ratio",
    "index_ret_20",
    "index_dist_ma200",
    "index_rvol_20",
    "rate_10y",
    "rate_10y_chg_21",
    "hy_spread",
    "hy_spread_chg_21",
    "vix",
];

/// Number of features.
pub const NF: usize = NAMES.len();

/// Research composite scores by symbol: (day, score) ascending.
pub type ResearchScores = BTreeMap<Ticker, Vec<(TradingDay, f64)>>;

/// What features are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Split-adjusted bars.
    pub bars: &'a DailyBars,
    /// The benchmark's bars.
    pub benchmark: BarSeries<'a>,
    /// Sectors.
    pub sectors: &'a SectorMap,
    /// Earnings dates.
    pub earnings: &'a EarningsCalendar,
    /// Research scores history, when any.
    pub research: Option<&'a ResearchScores>,
    /// FRED macro series, when the nightly update keeps any.
    pub macros: Option<&'a MacroSeries>,
}

/// The panel.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// Sessions, ascending.
    pub dates: Vec<TradingDay>,
    /// Symbols.
    pub tickers: Vec<Ticker>,
    /// Sector of each symbol.
    pub sectors: Vec<Option<Sector>>,
    /// Values, `[t][n][f]` row-major (NaN = missing).
    pub values: Vec<f32>,
}

impl FeatureSet {
    /// Features of symbol `n` on session `t`.
    pub fn row(&self, t: usize, n: usize) -> &[f32] {
        let at = (t * self.tickers.len() + n) * NF;
        &self.values[at..at + NF]
    }

    fn row_mut(&mut self, t: usize, n: usize) -> &mut [f32] {
        let at = (t * self.tickers.len() + n) * NF;
        &mut self.values[at..at + NF]
    }

    /// Index of a session.
    pub fn date_index(&self, d: TradingDay) -> Option<usize> {
        self.dates.binary_search(&d).ok()
    }

    /// One session as an Arrow record batch (ticker + one float32 column per feature).
    pub fn record_batch(&self, t: usize) -> RecordBatch {
        let mut fields = vec![Field::new("ticker", DataType::Utf8, false)];
        fields.extend(NAMES.iter().map(|n| Field::new(*n, DataType::Float32, true)));
        let mut cols: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from(self.tickers.iter().map(|t| t.as_str()).collect::<Vec<_>>()))];
        for f in 0..NF {
            let v: Vec<Option<f32>> =
                (0..self.tickers.len()).map(|n| Some(self.row(t, n)[f]).filter(|x| x.is_finite())).collect();
            cols.push(Arc::new(Float32Array::from(v)));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("columns match")
    }
}

fn cross_flag(hist: &[f64], k: usize) -> f64 {
    if !hist[k].is_finite() {
        return f64::NAN;
    }
    for back in 0..3.min(k) {
        let (now, prev) = (hist[k - back], hist[k - back - 1]);
        if !prev.is_finite() {
            break;
        }
        if now > 0.0 && prev <= 0.0 {
            return 1.0;
        }
        if now < 0.0 && prev >= 0.0 {
            return -1.0;
        }
    }
    0.0
}

/// The panel's frame: every session the bars cover (ascending) and each symbol's sector, in the
/// bars' symbol order. Labels are aligned with it.
pub fn frame(bars: &DailyBars, sectors: &SectorMap) -> (Vec<TradingDay>, Vec<Option<Sector>>) {
    (bars.sessions(), bars.tickers.iter().map(|t| sectors.sector(t.as_str())).collect())
}

/// [`compute`] on `bars` (the store's own, adjusted as of some session) with the store's
/// benchmark, sectors and earnings, the `macros` given and no research: what training computes
/// before research runs.
pub fn compute_from_store(store: &PriceStore, bars: &DailyBars, macros: Option<&MacroSeries>) -> FeatureSet {
    compute(&Inputs {
        bars,
        benchmark: store.benchmark_series(),
        sectors: &store.sectors,
        earnings: &store.earnings,
        research: None,
        macros,
    })
}

/// Computes the panel over every session the bars cover.
pub fn compute(inp: &Inputs<'_>) -> FeatureSet {
    build(inp, None)
}

/// The panel with rows only for the sessions on or after `from` (earlier rows are missing):
/// what inference needs of a window whose earlier sessions only warm the indicators up. The rows
/// it has are [`compute`]'s, to the bit (every feature reads only its own session and earlier).
pub fn compute_from(inp: &Inputs<'_>, from: TradingDay) -> FeatureSet {
    build(inp, Some(from))
}

fn build(inp: &Inputs<'_>, from: Option<TradingDay>) -> FeatureSet {
    let before = |d: &TradingDay| from.is_some_and(|f| *d < f);
    let (dates, sectors) = frame(inp.bars, inp.sectors);
    let tickers = inp.bars.tickers.clone();
    let (nt, nn) = (dates.len(), tickers.len());
    let first = dates.partition_point(before);
    let mut fs = FeatureSet { dates, tickers, sectors, values: vec![f32::NAN; nt * nn * NF] };
    // Benchmark returns by session.
    let b = &inp.benchmark;
    let b_ret5 = ind::pct_return(b.close, 5);
    let b_ret20 = ind::pct_return(b.close, 20);
    let b_dist_ma200: Vec<f64> = b.close.iter().zip(ind::sma(b.close, 200)).map(|(c, m)| c / m - 1.0).collect();
    let b_rv20 = ind::realized_vol(b.close, 20);
    let bench_at =
        |d: TradingDay, v: &[f64]| -> f64 { b.dates.binary_search(&d).ok().map(|i| v[i]).unwrap_or(f64::NAN) };
    let macros = macro_features::per_session(&fs.dates, inp.macros);
    for n in 0..nn {
        let s = inp.bars.series(n);
        let (h, l, c, v) = (s.high, s.low, s.close, s.volume);
        let len = c.len();
        let r5 = ind::pct_return(c, 5);
        let r20 = ind::pct_return(c, 20);
        let r60 = ind::pct_return(c, 60);
        let r120 = ind::pct_return(c, 120);
        let rsi = ind::rsi(c, 14);
        let macd = ind::macd(c, 12, 26, 9);
        let ma50 = ind::sma(c, 50);
        let ma200 = ind::sma(c, 200);
        let bb = ind::bollinger(c, 20, 2.0);
        let atr = ind::atr(h, l, c, 14);
        let rv10 = ind::realized_vol(c, 10);
        let rv20 = ind::realized_vol(c, 20);
        let rv60 = ind::realized_vol(c, 60);
        let v5 = ind::sma(v, 5);
        let v20 = ind::sma(v, 20);
        let v60 = ind::sma(v, 60);
        let obv = ind::obv(c, v);
        let hi = ind::dist_from_high(h, c, 252, 60);
        let lo = ind::dist_from_low(l, c, 252, 60);
        let earn = inp.earnings.dates.get(s.ticker);
        for k in s.dates.partition_point(before)..len {
            let t = fs.date_index(s.dates[k]).expect("session of these bars");
            let day = s.dates[k];
            let back = |x: &[f64], by: usize| if k >= by { x[k - by] } else { f64::NAN };
            let days_to = earn
                .and_then(|e| e.get(e.partition_point(|d| *d <= day.date())))
                .map(|d| ((*d - day.date()).num_days() as f64).min(60.0));
            let days_since = earn
                .and_then(|e| e.partition_point(|d| *d <= day.date()).checked_sub(1).map(|i| e[i]))
                .map(|d| ((day.date() - d).num_days() as f64).min(60.0));
            let row = [
                r5[k],
                r20[k],
                r60[k],
                r120[k],
                rsi[k],
                rsi[k] - back(&rsi, 5),
                macd.line[k] / c[k],
                macd.hist[k] / c[k],
                cross_flag(&macd.hist, k),
                c[k] / ma50[k] - 1.0,
                c[k] / ma200[k] - 1.0,
                bb.percent_b[k],
                atr[k] / c[k],
                rv20[k],
                rv10[k] / rv60[k],
                v5[k] / v20[k],
                v20[k] / v60[k],
                (obv[k] - back(&obv, 10)) / (10.0 * v20[k]),
                hi[k],
                lo[k],
                days_to.unwrap_or(if earn.is_some() { 60.0 } else { f64::NAN }),
                days_since.unwrap_or(if earn.is_some() { 60.0 } else { f64::NAN }),
                f64::NAN, // research_score: `set_research` below
                r5[k] - bench_at(day, &b_ret5),
                r20[k] - bench_at(day, &b_ret20),
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                bench_at(day, &b_ret20),
                bench_at(day, &b_dist_ma200),
                bench_at(day, &b_rv20),
                macros[t][0],
                macros[t][1],
                macros[t][2],
                macros[t][3],
                macros[t][4],
            ];
            for (dst, x) in fs.row_mut(t, n).iter_mut().zip(row) {
                *dst = if x.is_finite() { x as f32 } else { f32::NAN };
            }
        }
    }
    cross_sectional(&mut fs, first);
    set_research(&mut fs, inp.bars, from, inp.research);
    fs
}

/// The research_score column (`RESEARCH`) of every row [`compute`] (`from` = `None`) or
/// [`compute_from`] has: the latest score on or before the row's session, missing when none. The
/// only column that reads research, so a panel computed before research runs is completed by this
/// alone, to the bit.
pub fn set_research(
    fs: &mut FeatureSet,
    bars: &DailyBars,
    from: Option<TradingDay>,
    research: Option<&ResearchScores>,
) {
    let before = |d: &TradingDay| from.is_some_and(|f| *d < f);
    for n in 0..fs.tickers.len() {
        let s = bars.series(n);
        let research = research.and_then(|r| r.get(s.ticker));
        for &day in &s.dates[s.dates.partition_point(before)..] {
            let t = fs.date_index(day).expect("session of these bars");
            let rs = research.and_then(|r| r.partition_point(|(d, _)| *d <= day).checked_sub(1).map(|i| r[i].1));
            let x = rs.unwrap_or(f64::NAN);
            fs.row_mut(t, n)[RESEARCH] = if x.is_finite() { x as f32 } else { f32::NAN };
        }
    }
}

/// The research_score column.
const RESEARCH: usize = 22;

/// Sector-relative returns and cross-sectional ranks, session by session from session `first`.
fn cross_sectional(fs: &mut FeatureSet, first: usize) {
    let nn = fs.tickers.len();
    for t in first..fs.dates.len() {
        for (src, dst) in [(0usize, 25usize), (1, 26)] {
            let mut sums: BTreeMap<Sector, (f64, usize)> = BTreeMap::new();
            for n in 0..nn {
                let x = fs.row(t, n)[src];
                if let (Some(s), true) = (fs.sectors[n], x.is_finite()) {
                    let e = sums.entry(s).or_default();
                    e.0 += x as f64;
                    e.1 += 1;
                }
            }
            for n in 0..nn {
                let x = fs.row(t, n)[src];
                if let Some(&(sum, cnt)) = fs.sectors[n].and_then(|s| sums.get(&s))
                    && x.is_finite()
                {
                    fs.row_mut(t, n)[dst] = (x as f64 - sum / cnt as f64) as f32;
                }
            }
        }
        for (src, dst) in [(1usize, 27usize), (13, 28), (15, 29)] {
            let idx: Vec<usize> = (0..nn).filter(|n| fs.row(t, *n)[src].is_finite()).collect();
            if idx.len() < 2 {
                continue;
            }
            let xs: Vec<f64> = idx.iter().map(|n| fs.row(t, *n)[src] as f64).collect();
            let ranks = average_ranks(&xs);
            let m = (idx.len() - 1) as f64;
            for (k, n) in idx.iter().enumerate() {
                fs.row_mut(t, *n)[dst] = ((ranks[k] - 1.0) / m) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_shared::sim::{SimConfig, generate};
    use chrono::Datelike;

    /// The inputs of the simulated market `m` (no research history).
    fn sim_inputs<'a>(m: &'a ae_shared::sim::SimMarket, macros: Option<&'a MacroSeries>) -> Inputs<'a> {
        Inputs {
            bars: &m.bars,
            benchmark: m.benchmark.series(0),
            sectors: &m.sectors,
            earnings: &m.earnings,
            research: None,
            macros,
        }
    }

    /// A value of each FRED series the features read on every session of `m`.
    fn macros_of(m: &ae_shared::sim::SimMarket) -> MacroSeries {
        macro_features::SERIES
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let obs = m.sessions.iter().enumerate().map(|(i, d)| (d.date(), k as f64 + (i as f64 * 0.1).sin()));
                (id.to_string(), obs.collect())
            })
            .collect()
    }

    /// Poison every bar after session t, and every macro observation dated on or after t (FRED
    /// publishes a day's value after that day): no feature on or before t may change.
    #[test]
    fn no_feature_reads_the_future() {
        let m = generate(&SimConfig::new(40, 320, 0.2, 3));
        let macros = macros_of(&m);
        let base = compute(&sim_inputs(&m, Some(&macros)));
        let t = 260;
        let cut = m.sessions[t];
        let mut poisoned = m.bars.clone();
        for i in 0..poisoned.n_rows() {
            if poisoned.dates[i] > cut {
                poisoned.close[i] *= 7.0;
                poisoned.high[i] *= 9.0;
                poisoned.volume[i] = 1.0;
            }
        }
        // The benchmark too (the index features read it).
        let mut bench = m.benchmark.clone();
        for i in 0..bench.n_rows() {
            if bench.dates[i] > cut {
                bench.close[i] *= 3.0;
            }
        }
        let mut late = macros.clone();
        for obs in late.values_mut() {
            for (d, v) in obs.iter_mut().filter(|(d, _)| *d >= cut.date()) {
                *v += 50.0 + d.day() as f64;
            }
        }
        let other = compute(&Inputs {
            bars: &poisoned,
            benchmark: bench.series(0),
            sectors: &m.sectors,
            earnings: &m.earnings,
            research: None,
            macros: Some(&late),
        });
        for day in 0..=t {
            for n in 0..base.tickers.len() {
                let (a, b) = (base.row(day, n), other.row(day, n));
                for f in 0..NF {
                    assert!(
                        a[f] == b[f] || (a[f].is_nan() && b[f].is_nan()),
                        "{} on session {day} for {}",
                        NAMES[f],
                        base.tickers[n]
                    );
                }
            }
        }
        // The poisoning reached later rows, the index and macro features' too, and the macro ones
        // were present.
        assert!(base.row(t + 10, 0)[1] != other.row(t + 10, 0)[1]);
        assert!(base.row(t + 10, 0)[30] != other.row(t + 10, 0)[30]);
        for (f, name) in NAMES.iter().enumerate().skip(33) {
            assert!(base.row(t, 0)[f].is_finite(), "{name}");
            assert!(base.row(t + 1, 0)[f] != other.row(t + 1, 0)[f], "{name}");
        }
    }

    #[test]
    fn a_panel_from_a_session_has_the_full_panels_rows_from_it_and_none_before() {
        let m = generate(&SimConfig::new(30, 300, 0.2, 8));
        let macros = macros_of(&m);
        let inputs = sim_inputs(&m, Some(&macros));
        let full = compute(&inputs);
        let t = 250;
        let from = compute_from(&inputs, m.sessions[t]);
        assert_eq!((&from.dates, &from.tickers), (&full.dates, &full.tickers));
        for day in 0..full.dates.len() {
            for n in 0..full.tickers.len() {
                let (a, b) = (full.row(day, n), from.row(day, n));
                if day < t {
                    assert!(b.iter().all(|x| x.is_nan()), "no row before the first session asked for");
                } else {
                    assert!(
                        a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "session {day}, {}",
                        full.tickers[n]
                    );
                }
            }
        }
    }

    #[test]
    fn a_panel_completed_with_research_is_the_panel_computed_with_it() {
        let m = generate(&SimConfig::new(30, 300, 0.2, 5));
        // Weekly scores for every other name, from session 40 on.
        let scores: ResearchScores = m
            .bars
            .tickers
            .iter()
            .step_by(2)
            .enumerate()
            .map(|(k, t)| {
                let s = m.sessions.iter().skip(40).step_by(5).enumerate().map(|(w, d)| (*d, (k * 7 + w) as f64 / 50.0));
                (t.clone(), s.collect())
            })
            .collect();
        let with = Inputs { research: Some(&scores), ..sim_inputs(&m, None) };
        assert_eq!(NAMES[RESEARCH], "research_score");
        for from in [None, Some(m.sessions[200])] {
            let full = match from {
                None => compute(&with),
                Some(f) => compute_from(&with, f),
            };
            let mut later = match from {
                None => compute(&sim_inputs(&m, None)),
                Some(f) => compute_from(&sim_inputs(&m, None), f),
            };
            assert!(later.values.iter().zip(&full.values).any(|(a, b)| a.to_bits() != b.to_bits()));
            set_research(&mut later, &m.bars, from, Some(&scores));
            let bits = |f: &FeatureSet| f.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&later), bits(&full), "from {from:?}");
        }
    }

    #[test]
    fn sector_relative_returns_net_to_zero_and_ranks_span_zero_to_one() {
        let m = generate(&SimConfig::new(44, 200, 0.0, 4));
        let fs = compute(&sim_inputs(&m, None));
        let t = 150;
        let sum: f64 =
            (0..44).filter(|n| fs.sectors[*n] == Some(Sector::Energy)).map(|n| fs.row(t, n)[25] as f64).sum();
        assert!(sum.abs() < 1e-5, "{sum}");
        let ranks: Vec<f32> = (0..44).map(|n| fs.row(t, n)[27]).collect();
        assert_eq!(ranks.iter().copied().fold(f32::MAX, f32::min), 0.0);
        assert_eq!(ranks.iter().copied().fold(f32::MIN, f32::max), 1.0);
        let batch = fs.record_batch(t);
        assert_eq!(batch.num_columns(), NF + 1);
        assert_eq!(batch.num_rows(), 44);
    }
}
