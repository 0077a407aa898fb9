//! Market views for the rules, point in time: split-adjusted bars of the last
//! `data.governance.history_sessions` sessions up to the session before the decision (splits known
//! by then only), data-quality governance assessed on the same window, and
//! the indicators from the shared library.

use std::collections::{BTreeMap, HashMap};

use ae_rules::view::{self, DataQuality, MarketView, PriceAgents};
use ae_shared::TradingDay;
use ae_shared::config::DataConfig;
use ae_shared::contracts::common::Sector;
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::indicators as ind;
use ae_shared::store::bars::{BarSeries, DailyBars};
use ae_shared::store::quality::{self, QualityReport, Status};
use ae_shared::store::{PriceStore, splits};
use ae_shared::types::Ticker;

/// Point-in-time market data for one decision day.
pub struct MarketData<'a> {
    store: &'a PriceStore,
    /// Last session the data covers (the day before the decision).
    pub as_of: TradingDay,
    /// Bars up to `as_of`, adjusted for splits known by then.
    pub bars: DailyBars,
    /// Governance as of `as_of`.
    pub quality: QualityReport,
    sector_returns: HashMap<(Sector, usize), Option<f64>>,
}

fn ret_over(close: &[f64], days: usize) -> Option<f64> {
    let n = close.len();
    (n > days && close[n - 1 - days] > 0.0).then(|| close[n - 1] / close[n - 1 - days] - 1.0)
}

fn last(v: &[f64]) -> Option<f64> {
    v.last().copied().filter(|x| x.is_finite())
}

/// The last ATR (Wilder, the exits' period) of a series.
fn atr_of(s: &BarSeries<'_>, p: &ExecutorParams) -> Option<f64> {
    last(&ind::atr(s.high, s.low, s.close, p.exits.atr_period as usize))
}

impl<'a> MarketData<'a> {
    /// Market data for a decision on `decision_day` (bars up to the session before it).
    pub fn for_decision(store: &'a PriceStore, decision_day: TradingDay, data: &DataConfig) -> Self {
        Self::as_of(store, decision_day.prev(), data)
    }

    /// Market data as of the close of `as_of`: its last `data.governance.history_sessions`
    /// sessions.
    pub fn as_of(store: &'a PriceStore, as_of: TradingDay, data: &DataConfig) -> Self {
        let window = as_of.offset(1 - i64::from(data.governance.history_sessions.max(1)));
        let first = window.map_or(store.manifest.first_day, |w| w.max(store.manifest.first_day)).min(as_of);
        let raw = store.raw.between(first, as_of);
        // Without a split inside the window the raw bars are their own adjustment (no second copy).
        let adjusted = splits::adjusted(&raw, &store.splits, Some(as_of));
        let bars = adjusted.as_ref().unwrap_or(&raw);
        let quality =
            quality::assess(&raw, bars, &BTreeMap::new(), &store.splits, as_of, &data.quality, &data.governance);
        Self { store, as_of, bars: adjusted.unwrap_or(raw), quality, sector_returns: HashMap::new() }
    }

    /// The series of `t`, if it has bars.
    pub fn series(&self, t: &Ticker) -> Option<BarSeries<'_>> {
        self.bars.get(t.as_str())
    }

    /// The store's sector map.
    pub fn sectors_map(&self) -> &ae_shared::store::SectorMap {
        &self.store.sectors
    }

    /// The GICS sector of `t`.
    pub fn sector(&self, t: &Ticker) -> Option<Sector> {
        self.store.sectors.sector(t.as_str())
    }

    /// Equal-weight mean `days`-session return of the sector's members with enough history.
    pub fn sector_return(&mut self, sector: Sector, days: usize) -> Option<f64> {
        if let Some(v) = self.sector_returns.get(&(sector, days)) {
            return *v;
        }
        let rets: Vec<f64> = self
            .bars
            .iter()
            .filter(|s| {
                self.store.sectors.sector(s.ticker.as_str()) == Some(sector) && s.dates.last() == Some(&self.as_of)
            })
            .filter_map(|s| ret_over(s.close, days))
            .collect();
        let v = (!rets.is_empty()).then(|| rets.iter().sum::<f64>() / rets.len() as f64);
        self.sector_returns.insert((sector, days), v);
        v
    }

    /// The rules' view of `t` for a decision on `decision_day`.
    pub fn view(&mut self, t: &Ticker, decision_day: TradingDay, p: &ExecutorParams) -> Option<MarketView> {
        let rel_days = p.exits.sector_relative_days as usize;
        let own = ret_over(self.series(t)?.close, rel_days);
        let sector_relative = match (own, self.sector(t)) {
            (Some(o), Some(sec)) => self.sector_return(sec, rel_days).map(|m| o - m),
            _ => None,
        };
        let s = self.series(t)?;
        let (l, c, v) = (s.low, s.close, s.volume);
        let n = c.len();
        if n == 0 {
            return None;
        }
        let atr = atr_of(&s, p);
        let adv_days = p.sizing.adv_days as usize;
        let adv = (n >= adv_days).then(|| (n - adv_days..n).map(|i| c[i] * v[i]).sum::<f64>() / adv_days as f64);
        let support_days = p.intraday.support_days as usize;
        let support = (n >= support_days).then(|| l[n - support_days..].iter().copied().fold(f64::MAX, f64::min));
        let next = self.store.earnings.next_on_or_after(t.as_str(), decision_day.date());
        let days_to_earnings = next.and_then(TradingDay::on_or_after).map(|d| decision_day.days_until(d).max(0) as u32);
        let q = self.quality.get(t.as_str());
        let quality = match q.map(|q| q.status) {
            Some(Status::Active) => DataQuality::Active,
            Some(Status::Degraded) => DataQuality::Degraded,
            _ => DataQuality::Quarantined,
        };
        // A name whose last bar is not the as-of session trades on a stale price: never enter it.
        let stale = s.dates.last() != Some(&self.as_of);
        Some(MarketView {
            close: c[n - 1],
            prev_close: (n >= 2).then(|| c[n - 2]),
            atr,
            ret_20d: ret_over(c, 20),
            ret_5d: ret_over(c, 5),
            rsi_14: last(&ind::rsi(c, 14)),
            sector_relative,
            adv_usd: adv,
            support,
            days_to_earnings,
            quality: if stale { DataQuality::Quarantined } else { quality },
            quality_score: q.map(|q| q.score).unwrap_or(0.0),
        })
    }

    /// What the ensemble's price agents read of `t`: exactly its [`MarketView::price_agents`],
    /// computed alone (a name that is only in the panel needs nothing else of a view).
    pub fn price_agents(&self, t: &Ticker, p: &ExecutorParams) -> Option<PriceAgents> {
        let s = self.series(t)?;
        let close = *s.close.last()?;
        Some(PriceAgents {
            ret_20d: ret_over(s.close, 20),
            ret_5d: ret_over(s.close, 5),
            atr_pct: view::atr_pct(close, atr_of(&s, p)),
        })
    }

    /// Daily returns of `t` on the last `sessions` sessions up to `as_of` (NaN where missing),
    /// aligned by session so any two names compare day by day.
    pub fn aligned_returns(&self, t: &Ticker, sessions: &[TradingDay]) -> Vec<f64> {
        let Some(s) = self.series(t) else {
            return vec![f64::NAN; sessions.len()];
        };
        // One walk along the series for ascending sessions, from the first session's place (a step
        // back starts the walk again).
        let from = |d: &TradingDay| s.dates.partition_point(|x| x < d);
        let mut j = sessions.first().map_or(0, from);
        let mut prev: Option<TradingDay> = None;
        sessions
            .iter()
            .map(|d| {
                if prev.is_some_and(|p| *d < p) {
                    j = from(d);
                }
                prev = Some(*d);
                while j < s.dates.len() && s.dates[j] < *d {
                    j += 1;
                }
                match s.dates.get(j) {
                    Some(x) if x == d && j > 0 && s.dates[j - 1] == d.prev() && s.close[j - 1] > 0.0 => {
                        s.close[j] / s.close[j - 1] - 1.0
                    }
                    _ => f64::NAN,
                }
            })
            .collect()
    }

    /// The return of `t` from the close of `from` to the close `sessions` sessions later, on bars
    /// adjusted as of `as_of` (`None` when either close is missing or the later one is after
    /// `as_of`): what the ensemble grades a day's views against.
    pub fn forward_return(&self, t: &Ticker, from: TradingDay, sessions: u32) -> Option<f64> {
        let end = from.offset(i64::from(sessions))?;
        if end > self.as_of {
            return None;
        }
        let s = self.series(t)?;
        let close_on = |d: TradingDay| s.dates.binary_search(&d).ok().map(|i| s.close[i]);
        let (a, b) = (close_on(from)?, close_on(end)?);
        (a > 0.0 && a.is_finite() && b.is_finite()).then(|| b / a - 1.0)
    }

    /// The last `n` sessions up to `as_of`.
    pub fn last_sessions(&self, n: usize) -> Vec<TradingDay> {
        let mut out: Vec<TradingDay> = (0..n).filter_map(|k| self.as_of.offset(-(k as i64))).collect();
        out.reverse();
        out
    }
}
