//! The factor risk model's input from the price store: every symbol's daily return and dollar
//! volume on the sessions the bars cover, the benchmark's return on the same sessions, and each
//! symbol's sector ([`crate::risk_model::Panel`]), and the model estimated on it once per content
//! in a process ([`RiskPanel::estimate`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use twox_hash::XxHash3_128;

use crate::calendar::TradingDay;
use crate::contracts::common::Sector;
use crate::risk_model::{self, ModelParams, Panel, RiskModel, RiskModelError};
use crate::store::SectorMap;
use crate::store::bars::{BarSeries, DailyBars};
use crate::types::Ticker;

/// Returns, dollar volumes, the benchmark and sectors aligned on one list of sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskPanel {
    /// The symbols, in the bars' order (name `i` of the panel is `tickers[i]`).
    pub tickers: Vec<Ticker>,
    /// The sessions: every date any symbol has a bar on, ascending.
    pub dates: Vec<TradingDay>,
    /// Per symbol per session, `close / previous session's close − 1`; NaN without a bar on
    /// either session (a return across a gap in the symbol's bars is not a daily return) or
    /// with a non-positive close.
    pub returns: Vec<Vec<f64>>,
    /// Per symbol per session, `close × volume` (NaN without a bar).
    pub dollar_volume: Vec<Vec<f64>>,
    /// The benchmark's return per session, on the same terms.
    pub benchmark: Vec<f64>,
    /// Each symbol's sector, an index into `sector_names` (None when the map does not know it).
    pub sectors: Vec<Option<usize>>,
    /// The sectors that occur, in [`Sector::ALL`] order.
    pub sector_names: Vec<String>,
}

/// Estimates [`RiskPanel::estimate`] keeps per process: the evening's and the morning's.
pub const KEPT_ESTIMATES: usize = 2;

impl RiskPanel {
    /// Aligns `bars` (split-adjusted, for returns that mean something), the `benchmark`'s bars and
    /// the `sectors` map on the sessions the bars cover.
    pub fn build(bars: &DailyBars, benchmark: BarSeries<'_>, sectors: &SectorMap) -> Self {
        let dates = bars.sessions();
        let n = dates.len();
        let mut returns = Vec::with_capacity(bars.n_tickers());
        let mut dollar_volume = Vec::with_capacity(bars.n_tickers());
        for s in bars.iter() {
            let (r, v) = aligned(&s, &dates);
            returns.push(r);
            dollar_volume.push(v);
        }
        let benchmark = aligned(&benchmark, &dates).0;
        let known: Vec<Option<Sector>> = bars.tickers.iter().map(|t| sectors.sector(t.as_str())).collect();
        let present: Vec<Sector> = Sector::ALL.into_iter().filter(|s| known.contains(&Some(*s))).collect();
        let sectors = known.iter().map(|k| k.and_then(|s| present.iter().position(|p| *p == s))).collect();
        debug_assert!(returns.iter().all(|r: &Vec<f64>| r.len() == n));
        Self {
            tickers: bars.tickers.clone(),
            dates,
            returns,
            dollar_volume,
            benchmark,
            sectors,
            sector_names: present.iter().map(|s| s.name().to_string()).collect(),
        }
    }

    /// [`risk_model::estimate`] on this panel, read back when this process already estimated it
    /// on a panel of the same content with the same parameters. The EOD job's attribution
    /// estimates the model on the bars up to the day's close, and the next morning's risk state
    /// on the same bars (the plan's market data is as of that close): where both run in one
    /// process (the local scheduler, the demo), the morning reads the evening's model. The key
    /// is a digest of everything the estimate reads, so a model read back is the one it would
    /// compute; the process keeps the last [`KEPT_ESTIMATES`].
    pub fn estimate(&self, params: &ModelParams) -> Result<Arc<RiskModel>, RiskModelError> {
        static ESTIMATES: Mutex<VecDeque<(u128, Arc<RiskModel>)>> = Mutex::new(VecDeque::new());
        let kept = || ESTIMATES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = self.content_digest(params);
        if let Some((_, m)) = kept().iter().find(|(k, _)| *k == key) {
            return Ok(m.clone());
        }
        let model = Arc::new(risk_model::estimate(&self.panel(), params)?);
        let mut e = kept();
        e.push_back((key, model.clone()));
        while e.len() > KEPT_ESTIMATES {
            e.pop_front();
        }
        Ok(model)
    }

    /// Digest of what [`risk_model::estimate`] reads: the parameters, every return and dollar
    /// volume, the benchmark and the sectors (not the tickers or dates, which it never sees). It
    /// only keys this process's memo, so it is XXH3-128, as `store::lineage` finds kept bars: a
    /// cryptographic hash guards against inputs no one here chooses, at many times the cost.
    fn content_digest(&self, params: &ModelParams) -> u128 {
        let mut h = XxHash3_128::new();
        h.write(&serde_json::to_vec(params).unwrap_or_default());
        h.write(&(self.returns.len() as u64).to_le_bytes());
        let mut buf = Vec::new();
        for series in self.returns.iter().chain(&self.dollar_volume).chain(std::iter::once(&self.benchmark)) {
            buf.clear();
            buf.extend((series.len() as u64).to_le_bytes());
            buf.extend(series.iter().flat_map(|v| v.to_bits().to_le_bytes()));
            h.write(&buf);
        }
        h.write(format!("{:?} {:?}", self.sectors, self.sector_names).as_bytes());
        h.finish_128()
    }

    /// The model's view of it.
    pub fn panel(&self) -> Panel<'_> {
        Panel {
            returns: &self.returns,
            dollar_volume: &self.dollar_volume,
            benchmark: &self.benchmark,
            sectors: &self.sectors,
            sector_names: &self.sector_names,
        }
    }
}

/// One series' returns and dollar volumes on `dates` (NaN where it has no bar; a return needs a
/// bar on the panel's session before too). Bars on dates outside the panel are ignored: the
/// benchmark's return then spans the same sessions as the symbols' (the embedded year lacks a
/// few sessions for every symbol).
fn aligned(s: &BarSeries<'_>, dates: &[TradingDay]) -> (Vec<f64>, Vec<f64>) {
    let mut r = vec![f64::NAN; dates.len()];
    let mut v = vec![f64::NAN; dates.len()];
    let mut prev: Option<(usize, f64)> = None;
    // Both ascending: the panel's session of each bar is found walking forward.
    let mut t = 0;
    for j in 0..s.len() {
        while t < dates.len() && dates[t] < s.dates[j] {
            t += 1;
        }
        if dates.get(t) != Some(&s.dates[j]) {
            continue;
        }
        let close = s.close[j];
        v[t] = close * s.volume[j];
        if let Some((pt, pc)) = prev
            && pt + 1 == t
            && pc > 0.0
            && close > 0.0
        {
            r[t] = close / pc - 1.0;
        }
        prev = Some((t, close));
    }
    (r, v)
}
