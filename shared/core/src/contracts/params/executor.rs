//! `executor_params`: the exit manager, the risk guard, the position sizer and the intraday
//! daemon's triggers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Params;
use crate::contracts::{Checker, DocKind};
use crate::types::{Fraction, Return, Score, Usd};

/// Exit manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitParams {
    /// ATR period (Wilder), days.
    #[schemars(range(min = 2, max = 100))]
    pub atr_period: u32,
    /// Trailing stop = high water − ATR × this.
    #[schemars(range(min = 0.5, max = 10.0))]
    pub atr_multiple: f64,
    /// Fixed stop below average cost when ATR is unavailable.
    #[schemars(extend("minimum" = 0.01, "maximum" = 0.5))]
    pub fallback_stop_pct: Fraction,
    /// While research says HOLD: REDUCE after this many trading days held.
    #[schemars(range(min = 1, max = 250))]
    pub time_decay_reduce_days: u32,
    /// While research says HOLD: EXIT after this many trading days held.
    #[schemars(range(min = 1, max = 500))]
    pub time_decay_exit_days: u32,
    /// REDUCE (sell `reduce_fraction`) when the unrealized gain from average cost reaches this, at
    /// the morning plan (the intraday profit take is `intraday.profit_take_pct`).
    pub reduce_on_gain_pct: Fraction,
    /// Share of the position a REDUCE sells.
    #[schemars(extend("minimum" = 0.05, "maximum" = 0.95))]
    pub reduce_fraction: Fraction,
    /// Momentum exit when the 20-day return is below this ...
    pub momentum_exit_return: Return,
    /// ... and RSI(14) is below this.
    #[schemars(range(min = 1.0, max = 60.0))]
    pub momentum_exit_rsi: f64,
    /// Skip an ATR exit while the name beats its sector by more than this over the lookback.
    pub sector_relative_veto_pct: Fraction,
    /// Sector-relative lookback, trading days.
    #[schemars(range(min = 5, max = 120))]
    pub sector_relative_days: u32,
    /// EXIT on an overnight gap down of at least this.
    #[schemars(extend("minimum" = 0.02, "maximum" = 0.5))]
    pub catastrophic_gap_pct: Fraction,
    /// EXIT when the loss from average cost reaches this.
    #[schemars(extend("minimum" = 0.02, "maximum" = 0.5))]
    pub loss_floor_pct: Fraction,
}

/// A drawdown band: from `at_pct` below the peak, entries are sized × `multiplier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawdownTier {
    /// Drawdown (as a positive fraction) where the band starts.
    pub at_pct: Fraction,
    /// Size multiplier inside the band.
    pub multiplier: Fraction,
}

/// Risk guard (entries only; EXIT/REDUCE bypass every rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// Minimum research score to enter.
    pub min_score: Score,
    /// Block entries whose conviction is declining.
    pub block_declining_conviction: bool,
    /// Graduated drawdown bands, ascending.
    pub drawdown_tiers: Vec<DrawdownTier>,
    /// Drawdown at which new entries halt.
    #[schemars(extend("minimum" = 0.01, "maximum" = 0.5))]
    pub drawdown_breaker_pct: Fraction,
    /// Largest position, share of NAV.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.25))]
    pub max_position_pct: Fraction,
    /// Largest position in a bear regime.
    #[schemars(extend("minimum" = 0.0, "maximum" = 0.25))]
    pub bear_max_position_pct: Fraction,
    /// In a bear regime, block entries in underweight sectors.
    pub bear_blocks_underweight: bool,
    /// Largest sector exposure, share of NAV.
    #[schemars(extend("minimum" = 0.01, "maximum" = 1.0))]
    pub max_sector_pct: Fraction,
    /// Largest total equity exposure, share of NAV.
    #[schemars(extend("minimum" = 0.05, "maximum" = 1.0))]
    pub max_equity_pct: Fraction,
    /// Block when the mean 60-day return correlation with held same-sector names exceeds this.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_sector_correlation: f64,
    /// Correlation lookback, trading days.
    #[schemars(range(min = 10, max = 252))]
    pub correlation_days: u32,
    /// Honour the predictor's veto.
    pub use_predictor_veto: bool,
    /// Block when the 20-day return is below this.
    pub momentum_gate_return: Return,
    /// Block entries this many trading days or fewer before earnings (0 = off).
    #[schemars(range(min = 0, max = 20))]
    pub earnings_blackout_days: u32,
    /// Signals older than this many trading days are stale (the planner falls back this far).
    #[schemars(range(min = 0, max = 20))]
    pub max_signal_age_days: u32,
    /// Predictions older than this many trading days are ignored (their gates skipped, with a reason).
    #[schemars(range(min = 0, max = 5))]
    pub max_prediction_age_days: u32,
}

/// Position sizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizingParams {
    /// Multiplier for an overweight sector.
    #[schemars(range(min = 0.5, max = 2.0))]
    pub sector_overweight: f64,
    /// Multiplier for a market-weight sector.
    #[schemars(range(min = 0.5, max = 2.0))]
    pub sector_market_weight: f64,
    /// Multiplier for an underweight sector.
    #[schemars(range(min = 0.0, max = 2.0))]
    pub sector_underweight: f64,
    /// Multiplier for declining conviction.
    pub conviction_declining: Fraction,
    /// Upside below this gets `upside_fail`.
    pub min_upside: Fraction,
    /// Multiplier when upside is below `min_upside`.
    pub upside_fail: Fraction,
    /// ATR sizing: multiplier = target / ATR%, clamped.
    pub atr_target_risk: Fraction,
    /// Lower clamp of the ATR multiplier.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub atr_min: f64,
    /// Upper clamp of the ATR multiplier.
    #[schemars(range(min = 1.0, max = 3.0))]
    pub atr_max: f64,
    /// Confidence multiplier = min + range × confidence.
    #[schemars(range(min = 0.0, max = 2.0))]
    pub confidence_min: f64,
    /// See `confidence_min`.
    #[schemars(range(min = 0.0, max = 2.0))]
    pub confidence_range: f64,
    /// Staleness: multiplier falls by this per day past the grace period ...
    pub staleness_per_day: Fraction,
    /// ... after this many trading days ...
    #[schemars(range(min = 0, max = 30))]
    pub staleness_grace_days: u32,
    /// ... to no less than this.
    pub staleness_floor: Fraction,
    /// Within this many trading days of earnings ...
    #[schemars(range(min = 0, max = 30))]
    pub earnings_window_days: u32,
    /// ... a new position is at most this share of the largest position in force (a cap on the
    /// size itself, so the position cap cannot erase it).
    #[schemars(extend("minimum" = 0.0, "maximum" = 1.0))]
    pub earnings_cap: Fraction,
    /// Dollars at most this share of average daily dollar volume.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.5))]
    pub adv_cap_pct: Fraction,
    /// ADV window, trading days.
    #[schemars(range(min = 5, max = 120))]
    pub adv_days: u32,
    /// Skip entries smaller than this.
    #[schemars(extend("minimum" = 0.0, "maximum" = 1e7))]
    pub min_position_usd: Usd,
    /// Share of the confidence multiplier taken from the ensemble's view instead of the
    /// predictor's `p_up` (0: the predictor alone, the default; above 0 the ensemble's
    /// fractional-Kelly weight also caps the size). The backtester grades 0 against 1.
    #[serde(default)]
    pub ensemble: Fraction,
}

/// The ensemble: one calibrated view per name from research, the predictor and price agents,
/// each weighted by its measured out-of-sample skill (`ae_rules::ensemble`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleParams {
    /// Trailing window of graded days a view's skill is measured over.
    #[schemars(range(min = 5, max = 500))]
    pub window_days: u32,
    /// Horizon of the forward return each day's views are graded against, sessions.
    #[schemars(range(min = 1, max = 60))]
    pub horizon_days: u32,
    /// Skill is shrunk toward zero by `n / (n + shrink_days)` over `n` graded days.
    #[schemars(range(min = 0.0, max = 500.0))]
    pub shrink_days: f64,
    /// Disagreement penalty strength β in `exp(−β·Var)`.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub disagreement_beta: f64,
    /// Kelly fraction γ in `γ·μ/σ²`.
    pub kelly_fraction: Fraction,
    /// Fewest names a day must rank for its views to be graded.
    #[schemars(range(min = 3, max = 1000))]
    pub min_names: u32,
}

impl Default for EnsembleParams {
    fn default() -> Self {
        Self {
            window_days: 60,
            horizon_days: 5,
            shrink_days: 20.0,
            disagreement_beta: 0.5,
            kelly_fraction: Fraction::saturating(0.3),
            min_names: 5,
        }
    }
}

/// Intraday entry triggers and exits (the daemon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntradayParams {
    /// Enter on a pullback of this from the intraday high.
    pub pullback_pct: Fraction,
    /// Enter when this far below session VWAP.
    pub vwap_discount_pct: Fraction,
    /// Enter within this above 20-day support.
    pub support_pct: Fraction,
    /// Support lookback, trading days.
    #[schemars(range(min = 5, max = 120))]
    pub support_days: u32,
    /// From this time (New York), accept a small premium ...
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub close_enough_after: String,
    /// ... of at most this over the reference price.
    pub close_enough_max_premium_pct: Fraction,
    /// Untriggered entries go as market orders at this time (New York).
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub expiry_time: String,
    /// Intraday trailing stop: high water − ATR × this.
    #[schemars(range(min = 0.5, max = 10.0))]
    pub trail_atr_multiple: f64,
    /// After this many days held ...
    #[schemars(range(min = 1, max = 60))]
    pub tighten_after_days: u32,
    /// ... the trail tightens to ATR × this.
    #[schemars(range(min = 0.5, max = 10.0))]
    pub tighten_atr_multiple: f64,
    /// Sell `profit_take_fraction` when up this much from entry.
    pub profit_take_pct: Fraction,
    /// See `profit_take_pct`.
    pub profit_take_fraction: Fraction,
    /// Sell everything on a drop of this from the intraday high.
    pub collapse_pct: Fraction,
}

/// Circuit breakers: rules over the account's P&L, drawdown, concentration, tail risk and
/// correlation that size entries down, stop them for the day, or set the persistent kill switch.
/// The planner, the daemon at every step and the backtester's simulator read them alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerParams {
    /// The day's loss (from the previous close) beyond which entries are sized down ...
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.2))]
    pub daily_loss_size_down_pct: Fraction,
    /// ... by this multiplier (0.7: entries 30% smaller).
    #[schemars(extend("minimum" = 0.0, "maximum" = 1.0))]
    pub size_down_multiplier: Fraction,
    /// The day's loss beyond which no new entry is made for the rest of the day.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.2))]
    pub daily_loss_halt_pct: Fraction,
    /// The loss over the last `loss_window_days` sessions beyond which entries are sized down
    /// (by `size_down_multiplier`).
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.5))]
    pub window_loss_size_down_pct: Fraction,
    /// Sessions of the window loss.
    #[schemars(range(min = 2, max = 60))]
    pub loss_window_days: u32,
    /// The drawdown from peak NAV at which the kill switch is set; it stays until an operator
    /// clears it.
    #[schemars(extend("minimum" = 0.01, "maximum" = 0.5))]
    pub kill_drawdown_pct: Fraction,
    /// A position above this share of NAV is trimmed back to the largest position in force.
    #[schemars(extend("minimum" = 0.01, "maximum" = 0.5))]
    pub trim_position_pct: Fraction,
    /// The book's predicted one-day 99% VaR (a loss, share of NAV) above which entries are
    /// scaled by limit / VaR.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.5))]
    pub var_limit_pct: Fraction,
    /// The same for the one-day 99% CVaR.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.5))]
    pub cvar_limit_pct: Fraction,
    /// Sessions of history the book is revalued over for the VaR and CVaR the limits read.
    #[schemars(range(min = 20, max = 1000))]
    pub var_days: u32,
    /// Alert when the mean pairwise correlation of the held names' returns over
    /// `risk.correlation_days` exceeds this (with the effective number of bets).
    #[schemars(extend("minimum" = 0.0, "maximum" = 1.0))]
    pub correlation_alert: f64,
    /// After a kill switch a breaker set is cleared, entries ramp from this share of their size ...
    #[schemars(extend("minimum" = 0.0, "maximum" = 1.0))]
    pub recovery_start: Fraction,
    /// ... to full size over this many sessions (0: no ramp).
    #[schemars(range(min = 0, max = 60))]
    pub recovery_days: u32,
    /// In a backtest only, the sessions after which the simulated operator clears a kill switch a
    /// breaker set (live, only an operator clears it).
    #[schemars(range(min = 1, max = 250))]
    pub backtest_review_days: u32,
}

/// The morning's risk state (`risk/{date}/risk_state.json`): how much history the book is revalued
/// over and how the Monte Carlo draws its paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskStateParams {
    /// Sessions of history today's book is revalued over (fewer where the store has fewer).
    #[schemars(range(min = 60, max = 5000))]
    pub history_days: u32,
    /// Monte Carlo paths.
    #[schemars(range(min = 1000, max = 1000000))]
    pub mc_paths: u32,
    /// Monte Carlo block length, sessions.
    #[schemars(range(min = 1, max = 60))]
    pub mc_block_days: u32,
    /// Monte Carlo seed (the same book, history and seed give the same paths).
    pub mc_seed: u64,
}

/// Everything the executor decides with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorParams {
    /// Exit manager.
    pub exits: ExitParams,
    /// Risk guard.
    pub risk: RiskParams,
    /// Position sizer.
    pub sizing: SizingParams,
    /// Intraday daemon.
    pub intraday: IntradayParams,
    /// Circuit breakers.
    pub breakers: BreakerParams,
    /// The morning's risk state.
    pub risk_state: RiskStateParams,
    /// The ensemble.
    #[serde(default)]
    pub ensemble: EnsembleParams,
}

impl Params for ExecutorParams {
    const NAME: &'static str = "executor_params";
    const KIND: DocKind = DocKind::ExecutorParams;
    fn check(&self, c: &mut Checker, p: &str) {
        let e = &self.exits;
        if e.time_decay_reduce_days >= e.time_decay_exit_days {
            c.push(
                format!("{p}exits.time_decay_reduce_days"),
                format!("{} must be below time_decay_exit_days {}", e.time_decay_reduce_days, e.time_decay_exit_days),
            );
        }
        let r = &self.risk;
        let mut prev = 0.0;
        for (i, t) in r.drawdown_tiers.iter().enumerate() {
            if t.at_pct.get() <= prev {
                c.push(
                    format!("{p}risk.drawdown_tiers[{i}].at_pct"),
                    format!("{} must be above the previous band ({prev})", t.at_pct),
                );
            }
            prev = t.at_pct.get();
        }
        if r.drawdown_breaker_pct.get() <= prev {
            c.push(
                format!("{p}risk.drawdown_breaker_pct"),
                format!("{} must be above the last band ({prev})", r.drawdown_breaker_pct),
            );
        }
        if r.bear_max_position_pct > r.max_position_pct {
            c.push(
                format!("{p}risk.bear_max_position_pct"),
                format!("{} is above max_position_pct {}", r.bear_max_position_pct, r.max_position_pct),
            );
        }
        if r.max_position_pct > r.max_sector_pct {
            c.push(
                format!("{p}risk.max_position_pct"),
                format!("{} is above max_sector_pct {}", r.max_position_pct, r.max_sector_pct),
            );
        }
        let b = &self.breakers;
        if b.daily_loss_halt_pct <= b.daily_loss_size_down_pct {
            c.push(
                format!("{p}breakers.daily_loss_halt_pct"),
                format!(
                    "{} must be above daily_loss_size_down_pct {}",
                    b.daily_loss_halt_pct, b.daily_loss_size_down_pct
                ),
            );
        }
        if b.kill_drawdown_pct < r.drawdown_breaker_pct {
            c.push(
                format!("{p}breakers.kill_drawdown_pct"),
                format!("{} is below risk.drawdown_breaker_pct {}", b.kill_drawdown_pct, r.drawdown_breaker_pct),
            );
        }
        if b.trim_position_pct < r.max_position_pct {
            c.push(
                format!("{p}breakers.trim_position_pct"),
                format!(
                    "{} is below risk.max_position_pct {}: every full position would be trimmed",
                    b.trim_position_pct, r.max_position_pct
                ),
            );
        }
        let s = &self.sizing;
        if s.atr_min > s.atr_max {
            c.push(format!("{p}sizing.atr_min"), format!("{} is above atr_max {}", s.atr_min, s.atr_max));
        }
        let i = &self.intraday;
        for (name, v) in [("close_enough_after", &i.close_enough_after), ("expiry_time", &i.expiry_time)] {
            if crate::contracts::common::time_of_day(v).is_none() {
                c.push(format!("{p}intraday.{name}"), format!("{v:?} is not a HH:MM time"));
            }
        }
    }
}
