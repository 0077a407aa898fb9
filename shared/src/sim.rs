//! A market simulator for tests, benchmarks and the demo: sectors, a factor structure, fat tails,
//! volatility clustering, and an optional planted predictive signal of known strength.
//!
//! Daily log return of stock *i* (sector *s*) on day *t + 1*:
//!
//! `r = β_i·m_{t+1} + γ_i·g_{s,t+1} + (φ/h)·signal_{i,t} + σ_{i,t+1}·ε`
//!
//! - `m`, `g_s`: market and sector factor returns, Student-t(4) shocks, the market with GARCH(1,1)
//!   volatility; `ε` Student-t(4) with per-stock GARCH(1,1) volatility (clustering, fat tails);
//! - the **planted signal** is short-term reversal: `signal_{i,t} = −(lr5_{i,t} − mean of lr5 in the
//!   sector)`, the stock's own past 5-day log return against its sector, observable from prices
//!   alone; its strength `φ` spreads over the next `h` = 5 days. `φ = 0` is the **null market**.
//!
//! Opens, highs, lows and volumes are generated around the closes (gaps, ranges proportional to
//! volatility, log-normal volumes) and carry no signal. [`SimMarket::oracle_rank_ic`] measures the
//! ceiling a model can reach: the mean daily Spearman correlation between the planted drift over
//! the next `h` sessions *as far as it is known at the close of t* and the realised sector-neutral
//! forward `h`-day log return. (Each of the next `h` days' signal overlaps the returns up to t, so
//! that known drift weights the last five returns `h, h−1, …`; a model ranking by `signal_t`
//! alone — one day stale — reaches only about half of it.)

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::calendar::TradingDay;
use crate::contracts::common::Sector;
use crate::metrics::{group_demean, spearman};
use crate::store::bars::{Bar, DailyBars};
use crate::store::{EarningsCalendar, SectorInfo, SectorMap};
use crate::types::Ticker;

/// Sessions in the planted reversal signal's look-back (its `lr5`).
const SIGNAL_WINDOW: usize = 5;

/// Simulation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Stocks.
    pub names: usize,
    /// Sessions.
    pub days: usize,
    /// First session.
    pub start: TradingDay,
    /// RNG seed (the whole market is a function of the config).
    pub seed: u64,
    /// Planted signal strength φ (0 = null market).
    pub signal: f64,
    /// Horizon over which the signal plays out, sessions.
    pub horizon: usize,
}

impl SimConfig {
    /// `names` stocks over `days` sessions from 2000-01-03 with signal strength `signal`.
    pub fn new(names: usize, days: usize, signal: f64, seed: u64) -> Self {
        Self { names, days, start: TradingDay::parse("2000-01-03").expect("a session"), seed, signal, horizon: 5 }
    }
}

/// A simulated market.
#[derive(Debug, Clone)]
pub struct SimMarket {
    /// The settings.
    pub config: SimConfig,
    /// Daily bars.
    pub bars: DailyBars,
    /// An equal-weight index as the benchmark (symbol SPX).
    pub benchmark: DailyBars,
    /// Sectors.
    pub sectors: SectorMap,
    /// Quarterly earnings dates.
    pub earnings: EarningsCalendar,
    /// Sessions.
    pub sessions: Vec<TradingDay>,
    /// The planted signal per session per stock, [t][i] (NaN during the 5-day warm-up).
    pub signal: Vec<Vec<f64>>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Student-t with 4 degrees of freedom, scaled to unit variance.
fn t4(rng: &mut ChaCha8Rng) -> f64 {
    let z = normal(rng);
    let chi2: f64 = (0..4).map(|_| normal(rng).powi(2)).sum();
    z / (chi2 / 4.0).sqrt() / 2f64.sqrt()
}

/// Runs the simulation.
pub fn generate(cfg: &SimConfig) -> SimMarket {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let n = cfg.names;
    let sessions: Vec<TradingDay> =
        (0..cfg.days).map(|k| cfg.start.offset(k as i64).expect("within the calendar")).collect();
    let sector_of: Vec<Sector> = (0..n).map(|i| Sector::ALL[i % Sector::ALL.len()]).collect();
    let groups: Vec<Option<Sector>> = sector_of.iter().copied().map(Some).collect();
    let tickers: Vec<Ticker> = (0..n).map(|i| Ticker::new(&format!("S{:04}", i + 1)).expect("valid")).collect();
    let beta: Vec<f64> = (0..n).map(|_| 0.7 + 0.6 * rng.random::<f64>()).collect();
    let gamma: Vec<f64> = (0..n).map(|_| 0.5 + 0.8 * rng.random::<f64>()).collect();
    let long_vol: Vec<f64> = (0..n).map(|_| 0.012 + 0.014 * rng.random::<f64>()).collect();
    let base_volume: Vec<f64> = (0..n).map(|_| 4e5 * (1.0 + 9.0 * rng.random::<f64>())).collect();
    let mut price: Vec<f64> = (0..n).map(|_| 20.0 + 80.0 * rng.random::<f64>()).collect();
    let mut var: Vec<f64> = long_vol.iter().map(|v| v * v).collect();
    let mut last_eps: Vec<f64> = vec![0.0; n];
    let (mut m_var, m_long) = (0.009f64.powi(2), 0.009f64.powi(2));
    let mut m_last = 0.0;
    // Rolling 5-day log returns per stock.
    let mut hist: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.days); n];
    let mut signal = vec![vec![f64::NAN; n]; cfg.days];
    let mut rows = Vec::with_capacity(n * cfg.days);
    let mut index = 1000.0;
    let mut bench_rows = Vec::with_capacity(cfg.days);
    let spx = Ticker::new("SPX").expect("valid");
    for (t, day) in sessions.iter().enumerate() {
        // Today's signal from returns up to yesterday.
        if t > SIGNAL_WINDOW {
            let lr5: Vec<f64> = hist.iter().map(|h| h[h.len() - SIGNAL_WINDOW..].iter().sum()).collect();
            signal[t] = group_demean(&lr5, &groups).into_iter().map(|x| -x).collect();
        }
        // Factors with GARCH(1,1) market volatility.
        m_var = m_long * 0.05 + 0.10 * m_last * m_last + 0.85 * m_var;
        let m = 0.0003 + m_var.sqrt() * t4(&mut rng);
        m_last = m - 0.0003;
        let g: Vec<f64> = (0..Sector::ALL.len()).map(|_| 0.006 * t4(&mut rng)).collect();
        let mut index_ret = 0.0;
        for i in 0..n {
            var[i] = long_vol[i].powi(2) * 0.02 + 0.08 * last_eps[i].powi(2) + 0.90 * var[i];
            let sigma = var[i].sqrt();
            let eps = sigma * t4(&mut rng);
            last_eps[i] = eps;
            let planted = if signal[t][i].is_nan() { 0.0 } else { cfg.signal / cfg.horizon as f64 * signal[t][i] };
            let r = if t == 0 { 0.0 } else { beta[i] * m + gamma[i] * g[sector_of[i].index()] + planted + eps };
            index_ret += r / n as f64;
            let prev = price[i];
            let close = prev * r.exp();
            let gap = 0.3 * sigma * normal(&mut rng);
            let open = prev * gap.exp();
            let high = open.max(close) * (0.5 * sigma * normal(&mut rng).abs()).exp();
            let low = open.min(close) * (-0.5 * sigma * normal(&mut rng).abs()).exp();
            let volume = (base_volume[i] * (0.3 * normal(&mut rng) + 0.15 * r.abs() / sigma).exp()).round();
            price[i] = close;
            hist[i].push(r);
            rows.push((tickers[i].clone(), Bar { date: *day, open, high, low, close, volume }));
        }
        let prev_index = index;
        index *= index_ret.exp();
        bench_rows.push((
            spx.clone(),
            Bar {
                date: *day,
                open: prev_index,
                high: prev_index.max(index),
                low: prev_index.min(index),
                close: index,
                volume: 0.0,
            },
        ));
    }
    let (bars, _) = DailyBars::from_rows(rows);
    let (benchmark, _) = DailyBars::from_rows(bench_rows);
    let sectors = SectorMap {
        schema_version: 1,
        source: "simulator".into(),
        note: format!(
            "simulated market: {} names, {} sessions, signal φ = {}, seed {}",
            n, cfg.days, cfg.signal, cfg.seed
        ),
        symbols: tickers
            .iter()
            .zip(&sector_of)
            .map(|(t, s)| {
                (t.clone(), SectorInfo { name: format!("Simulated {t}"), sector: *s, industry: "Simulated".into() })
            })
            .collect(),
    };
    let mut earnings = EarningsCalendar::default();
    for (i, t) in tickers.iter().enumerate() {
        let dates = (0..cfg.days).filter(|k| (k + i * 7) % 63 == 40).map(|k| sessions[k].date()).collect();
        earnings.dates.insert(t.clone(), dates);
    }
    SimMarket { config: cfg.clone(), bars, benchmark, sectors, earnings, sessions, signal }
}

impl SimMarket {
    /// Writes the market as the bus's price store (chunks, benchmark, sectors, earnings, quality).
    pub async fn write_to(
        &self,
        bus: &crate::bus::Bus,
        data: &crate::config::DataConfig,
        clock: &dyn crate::clock::Clock,
    ) -> Result<crate::store::ImportReport, crate::store::StoreError> {
        let source = format!(
            "simulator (names {}, sessions {}, signal {}, seed {})",
            self.config.names, self.config.days, self.config.signal, self.config.seed
        );
        let p = crate::store::prepare_from_data(
            &self.bars,
            self.benchmark.clone(),
            self.sectors.clone(),
            self.earnings.clone(),
            &source,
            data,
        )?;
        crate::store::write_import(bus, p, clock, true).await
    }

    /// Mean over sessions `from..to` (indices) of the Spearman correlation between the planted
    /// drift over sessions t + 1 ..= t + h known at the close of t and the realised sector-neutral
    /// forward `h`-day log return (closes t → t + h). The best a model that sees closes up to t
    /// can do, to first order.
    pub fn oracle_rank_ic(&self, from: usize, to: usize) -> f64 {
        let h = self.config.horizon;
        let n = self.config.names;
        let closes: Vec<&[f64]> = (0..n).map(|i| self.bars.series(i).close).collect();
        let groups: Vec<Option<Sector>> = (0..n).map(|i| Some(Sector::ALL[i % Sector::ALL.len()])).collect();
        let mut ics = Vec::new();
        for t in from.max(SIGNAL_WINDOW + 1)..to.min(self.sessions.len().saturating_sub(h)) {
            // signal_{t+k} = −(sum of returns over t+k−5 ..= t+k−1, sector-neutral); its part known at t.
            let known: Vec<f64> = (0..n)
                .map(|i| {
                    let r = |d: usize| (closes[i][d] / closes[i][d - 1]).ln();
                    -(1..=h)
                        .map(|k| ((t + k).saturating_sub(SIGNAL_WINDOW).max(1)..=t).map(r).sum::<f64>())
                        .sum::<f64>()
                })
                .collect();
            let fwd: Vec<f64> = (0..n).map(|i| (closes[i][t + h] / closes[i][t]).ln()).collect();
            let ic = spearman(&group_demean(&known, &groups), &group_demean(&fwd, &groups));
            if ic.is_finite() {
                ics.push(ic);
            }
        }
        if ics.is_empty() { f64::NAN } else { ics.iter().sum::<f64>() / ics.len() as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_fat_tailed_and_the_signal_is_real() {
        let a = generate(&SimConfig::new(60, 300, 0.3, 7));
        let b = generate(&SimConfig::new(60, 300, 0.3, 7));
        assert_eq!(a.bars, b.bars, "same seed, same market");
        let s = a.bars.series(0);
        let r: Vec<f64> = s.close.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let m = r.iter().sum::<f64>() / r.len() as f64;
        let v = r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / r.len() as f64;
        let k = r.iter().map(|x| (x - m).powi(4)).sum::<f64>() / r.len() as f64 / (v * v);
        assert!(k > 3.5, "fat tails: kurtosis {k}");
        for i in 0..a.bars.n_tickers() {
            let s = a.bars.series(i);
            assert!(
                (0..s.len()).all(|k| s.low[k] <= s.open[k].min(s.close[k]) && s.high[k] >= s.open[k].max(s.close[k]))
            );
        }
        let planted = a.oracle_rank_ic(10, 290);
        let null = generate(&SimConfig::new(60, 300, 0.0, 7)).oracle_rank_ic(10, 290);
        println!("oracle: planted {planted:.4}, null {null:.4}");
        assert!(planted > 0.12, "planted oracle IC {planted}");
        assert!(null.abs() < 0.03, "null oracle IC {null}");
    }
}
