//! What the rules see: plain values, computed elsewhere (the planner from the price store, the
//! backtester from its history, the daemon from its feed). No rule reads anything else.

use ae_core::calendar::TradingDay;
use ae_core::contracts::common::{Conviction, Direction, Regime, Sector, SectorRating, SignalAction};
use ae_core::contracts::ensemble::NameEnsemble;
use ae_core::types::{Confidence, Probability, Score, Ticker};
use serde::{Deserialize, Serialize};

/// Data-governance status of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataQuality {
    /// Clean enough to trade.
    #[default]
    Active,
    /// Usable, with known defects.
    Degraded,
    /// Not to be traded.
    Quarantined,
}

/// One name's market as of the last close before the decision.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MarketView {
    /// Last close (split-adjusted).
    pub close: f64,
    /// The close before it.
    pub prev_close: Option<f64>,
    /// ATR (Wilder) over the configured period, dollars.
    pub atr: Option<f64>,
    /// 20-session simple return.
    pub ret_20d: Option<f64>,
    /// 5-session simple return.
    #[serde(default)]
    pub ret_5d: Option<f64>,
    /// RSI(14).
    pub rsi_14: Option<f64>,
    /// Own return minus its sector's (equal-weight of members) over the sector-relative lookback.
    pub sector_relative: Option<f64>,
    /// Average daily dollar volume over the ADV window.
    pub adv_usd: Option<f64>,
    /// Lowest low over the support window.
    pub support: Option<f64>,
    /// Trading days until the next known earnings date.
    pub days_to_earnings: Option<u32>,
    /// Governance.
    pub quality: DataQuality,
    /// Data-quality score 0..1.
    pub quality_score: f64,
}

/// An ATR the rules can use: finite and positive. NaN, infinities, zero and negative values are
/// "no ATR" — the fallback stop applies and sizing takes no volatility view — so a bad ATR never
/// turns into a non-finite stop or order record.
pub fn usable_atr(atr: Option<f64>) -> Option<f64> {
    atr.filter(|a| a.is_finite() && *a > 0.0)
}

impl MarketView {
    /// The ATR when it is usable ([`usable_atr`]).
    pub fn usable_atr(&self) -> Option<f64> {
        usable_atr(self.atr)
    }

    /// ATR as a share of the close (a usable ATR and a finite, positive close).
    pub fn atr_pct(&self) -> Option<f64> {
        atr_pct(self.close, self.atr)
    }

    /// What the ensemble's price agents read of this view.
    pub fn price_agents(&self) -> PriceAgents {
        PriceAgents { ret_20d: self.ret_20d, ret_5d: self.ret_5d, atr_pct: self.atr_pct() }
    }
}

/// ATR as a share of `close` (a usable ATR and a finite, positive close).
pub fn atr_pct(close: f64, atr: Option<f64>) -> Option<f64> {
    usable_atr(atr).filter(|_| close > 0.0 && close.is_finite()).map(|a| a / close)
}

/// What the ensemble's price agents read of a name's market (the part of [`MarketView`] they
/// need, so a name that is only in the panel costs only these).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PriceAgents {
    /// 20-session simple return (momentum).
    pub ret_20d: Option<f64>,
    /// 5-session simple return (reversal).
    pub ret_5d: Option<f64>,
    /// ATR as a share of the close (low volatility).
    pub atr_pct: Option<f64>,
}

/// A held position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    /// Symbol.
    pub ticker: Ticker,
    /// GICS sector, when known.
    pub sector: Option<Sector>,
    /// Shares held.
    pub shares: u32,
    /// Shares in working (unfilled) sell orders.
    pub working_sells: u32,
    /// Average cost per share.
    pub avg_cost: f64,
    /// First day held.
    pub entry_date: TradingDay,
    /// Trading days held (0 on the entry day).
    pub days_held: u32,
    /// Highest close since entry.
    pub high_water: f64,
    /// A profit-take reduction already happened.
    pub profit_taken: bool,
    /// A time-decay reduction already happened.
    pub decay_reduced: bool,
    /// Market view.
    pub market: MarketView,
}

impl Holding {
    /// Shares × last close.
    pub fn market_value(&self) -> f64 {
        self.shares as f64 * self.market.close
    }
}

/// The account as the rules see it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Book {
    /// Net asset value.
    pub nav: f64,
    /// Cash.
    pub cash: f64,
    /// Highest NAV so far.
    pub peak_nav: f64,
    /// Held positions.
    pub holdings: Vec<Holding>,
}

impl Book {
    /// Market value of everything held.
    pub fn equity(&self) -> f64 {
        self.holdings.iter().map(Holding::market_value).sum()
    }

    /// Market value held in `sector`.
    pub fn sector_exposure(&self, sector: Sector) -> f64 {
        self.holdings.iter().filter(|h| h.sector == Some(sector)).map(Holding::market_value).sum()
    }

    /// The holding of `ticker`, if any.
    pub fn holding(&self, ticker: &Ticker) -> Option<&Holding> {
        self.holdings.iter().find(|h| &h.ticker == ticker)
    }
}

/// A prediction as the rules use it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PredictionView {
    /// Calibrated probability of beating the sector.
    pub p_up: Probability,
    /// Direction.
    pub direction: Direction,
    /// |p_up − 0.5| × 2.
    pub confidence: Confidence,
    /// Predicted sector-relative return over the horizon (a magnitude; never a direction).
    pub predicted_alpha: f64,
    /// The predictor's veto.
    pub gbm_veto: bool,
    /// Trading days between the prediction and the decision.
    pub age_days: u32,
}

/// A name research wants to enter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Symbol.
    pub ticker: Ticker,
    /// GICS sector, when known.
    pub sector: Option<Sector>,
    /// Research action (ENTER for a candidate).
    pub signal: SignalAction,
    /// Research composite score.
    pub score: Option<Score>,
    /// Research conviction.
    pub conviction: Conviction,
    /// Rating of the name's sector.
    pub sector_rating: SectorRating,
    /// Price-target upside as a fraction.
    pub upside: Option<f64>,
    /// Trading days since the signals were produced.
    pub signal_age_days: u32,
    /// The predictor's view, when there is one.
    pub prediction: Option<PredictionView>,
    /// Market view.
    pub market: MarketView,
    /// Mean correlation of daily returns with held names of the same sector.
    pub correlation: Option<f64>,
    /// The ensemble's one calibrated view of the name, when the caller measured one.
    #[serde(default)]
    pub ensemble: Option<NameEnsemble>,
}

/// What holds for every decision of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The trading day decided for.
    pub date: TradingDay,
    /// Regime in force.
    pub regime: Regime,
    /// Kill switch set.
    pub kill_switch: bool,
    /// The signals in force are older than allowed (no entries).
    pub signals_stale: bool,
}
