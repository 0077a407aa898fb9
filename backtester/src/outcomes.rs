//! Realised forward returns, for grading only (never for a decision): split-adjusted closes over
//! the whole store, so a return across a split is a real return. A return whose horizon runs past
//! the last bar is "immature" and left out of every statistic.

use std::collections::HashMap;

use ae_shared::TradingDay;
use ae_shared::store::PriceStore;
use ae_shared::types::Ticker;

/// Forward returns from the store.
#[derive(Debug, Clone)]
pub struct Outcomes {
    series: HashMap<Ticker, (Vec<TradingDay>, Vec<f64>)>,
    bench: (Vec<TradingDay>, Vec<f64>),
}

fn fwd(dates: &[TradingDay], close: &[f64], from: TradingDay, h: usize) -> Option<f64> {
    let i = dates.binary_search(&from).ok()?;
    let j = i + h;
    // The horizon counts sessions of the calendar, not bars of the name: a gap is not a return.
    if j >= dates.len() || from.offset(h as i64) != Some(dates[j]) || close[i] <= 0.0 {
        return None;
    }
    Some(close[j] / close[i] - 1.0)
}

impl Outcomes {
    /// From the store, adjusted for every split it knows.
    pub fn new(store: &PriceStore) -> Self {
        let adjusted = store.adjusted_as_of(store.manifest.last_day);
        let series = adjusted.iter().map(|s| (s.ticker.clone(), (s.dates.to_vec(), s.close.to_vec()))).collect();
        let b = store.benchmark_series();
        Self { series, bench: (b.dates.to_vec(), b.close.to_vec()) }
    }

    /// Return of `t` from the close of `from` over `h` sessions.
    pub fn ret(&self, t: &Ticker, from: TradingDay, h: usize) -> Option<f64> {
        let (d, c) = self.series.get(t)?;
        fwd(d, c, from, h)
    }

    /// Benchmark return from the close of `from` over `h` sessions.
    pub fn bench(&self, from: TradingDay, h: usize) -> Option<f64> {
        fwd(&self.bench.0, &self.bench.1, from, h)
    }

    /// Return of `t` over the benchmark's.
    pub fn excess(&self, t: &Ticker, from: TradingDay, h: usize) -> Option<f64> {
        Some(self.ret(t, from, h)? - self.bench(from, h)?)
    }
}
