//! The four tunable parameter sets — `scoring_weights`, `executor_params`, `predictor_params`,
//! `research_params` — and the `config/{name}.json` documents the backtester writes them in.
//!
//! Defaults are not here: they live, documented, in the embedded `config/default.toml` (see
//! `ae_shared::config`); the structs below only declare each parameter, its unit and its hard bounds
//! (JSON Schema `minimum`/`maximum`), so a config file, an environment override and a bus document
//! are all checked against the same limits. A params document also carries its bounds and the
//! evidence that justified it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::types::{Fraction, Return, Score, Usd};

/// A parameter set that can be tuned and written back.
pub trait Params: Serialize + DeserializeOwned + JsonSchema + Clone + PartialEq + std::fmt::Debug + 'static {
    /// File stem on the bus (`executor_params`).
    const NAME: &'static str;
    /// Document kind of its `config/` file.
    const KIND: DocKind;
    /// Cross-field rules; paths are prefixed with `prefix` (e.g. `params.`).
    fn check(&self, c: &mut Checker, prefix: &str);
}

// ---------------------------------------------------------------------------------------------
// scoring_weights

/// Weights of the within-sector factor percentiles in the quant composite (renormalised over the
/// factors that have data on a given run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorWeights {
    /// 12-1 month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_12_1: f64,
    /// 6-month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_6m: f64,
    /// 3-month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_3m: f64,
    /// Proximity to the 52-week high.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub high_52w: f64,
    /// Low realized volatility.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub low_volatility: f64,
    /// Short-term (1-month) reversal.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub reversal_1m: f64,
    /// Liquidity (average dollar volume).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub liquidity: f64,
    /// Distance from the next earnings date (farther is calmer).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub earnings_proximity: f64,
    /// Value (earnings, book and cash-flow yields).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub value: f64,
    /// Quality (profitability, leverage, Piotroski F, Altman Z).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub quality: f64,
    /// Growth (revenue and EPS growth).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub growth: f64,
    /// Estimate revisions.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub revisions: f64,
    /// Insider buying.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub insider: f64,
    /// Institutional flows.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub institutional: f64,
}

impl FactorWeights {
    /// (name, weight) pairs in declaration order.
    pub fn pairs(&self) -> [(&'static str, f64); 14] {
        [
            ("momentum_12_1", self.momentum_12_1),
            ("momentum_6m", self.momentum_6m),
            ("momentum_3m", self.momentum_3m),
            ("high_52w", self.high_52w),
            ("low_volatility", self.low_volatility),
            ("reversal_1m", self.reversal_1m),
            ("liquidity", self.liquidity),
            ("earnings_proximity", self.earnings_proximity),
            ("value", self.value),
            ("quality", self.quality),
            ("growth", self.growth),
            ("revisions", self.revisions),
            ("insider", self.insider),
            ("institutional", self.institutional),
        ]
    }
}

/// How research combines its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringWeights {
    /// Weight of the quant composite (quant + qual = 1; missing qual → quant at full weight).
    pub quant: Fraction,
    /// Weight of the qualitative (LLM) score.
    pub qual: Fraction,
    /// Factor weights inside the quant composite.
    pub factors: FactorWeights,
}

impl Params for ScoringWeights {
    const NAME: &'static str = "scoring_weights";
    const KIND: DocKind = DocKind::ScoringWeights;
    fn check(&self, c: &mut Checker, p: &str) {
        let s = self.quant.get() + self.qual.get();
        if (s - 1.0).abs() > 1e-6 {
            c.push(format!("{p}quant"), format!("quant + qual = {s}, must be 1"));
        }
        if self.factors.pairs().iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            c.push(format!("{p}factors"), "at least one factor needs a positive weight");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// research_params

/// Sub-weights of the 0–100 technical score used by the quant filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicalWeights {
    /// RSI zone score.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub rsi: f64,
    /// MACD cross/position score.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub macd: f64,
    /// Price vs 50-day average.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ma50: f64,
    /// Price vs 200-day average.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ma200: f64,
    /// 20-day momentum percentile.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum: f64,
}

/// Research's universe, filter, population and rating rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResearchParams {
    /// Tracked population target size.
    #[schemars(range(min = 5, max = 100))]
    pub population_size: u32,
    /// Weeks a new member is protected from rotation (except thesis collapse).
    #[schemars(range(min = 0, max = 26))]
    pub min_tenure_weeks: u32,
    /// Score below which a member leaves immediately.
    pub thesis_collapse_score: Score,
    /// Score below which a member past its tenure leaves.
    pub min_long_term_score: Score,
    /// Minimum share of the population rotated per run (at least one name).
    pub min_rotation_pct: Fraction,
    /// Most rotations per run.
    #[schemars(range(min = 0, max = 50))]
    pub max_rotations_per_run: u32,
    /// A challenger replaces the weakest eligible member when it scores this many points more.
    #[schemars(range(min = 0.0, max = 50.0))]
    pub challenger_score_gap: f64,
    /// Names the quant filter keeps.
    #[schemars(range(min = 5, max = 500))]
    pub shortlist_size: u32,
    /// Liquidity floor: average daily dollar volume.
    #[schemars(extend("minimum" = 0.0, "maximum" = 1e10))]
    pub min_avg_dollar_volume: Usd,
    /// Window for average dollar volume, trading days.
    #[schemars(range(min = 5, max = 120))]
    pub liquidity_days: u32,
    /// Price floor.
    #[schemars(extend("minimum" = 0.0, "maximum" = 1000.0))]
    pub min_price: Usd,
    /// Momentum path: minimum technical score.
    pub tech_score_min: Score,
    /// Momentum path: price vs 200-day average must exceed this (−0.15 = not more than 15% below).
    #[schemars(range(min = -1.0, max = 0.5))]
    pub momentum_ma200_floor: f64,
    /// Momentum path: ATR(14) as a fraction of price at most this.
    pub max_atr_pct: Fraction,
    /// Deep-value path: RSI(14) below this (and price below its 200-day average).
    #[schemars(range(min = 5.0, max = 60.0))]
    pub deep_value_max_rsi: f64,
    /// Deep-value path: ATR% at most this.
    pub deep_value_max_atr_pct: Fraction,
    /// Deep-value path: at most this many names.
    #[schemars(range(min = 0, max = 100))]
    pub deep_value_max_names: u32,
    /// Technical score sub-weights.
    pub technical: TechnicalWeights,
    /// Score at or above which the rating is BUY.
    pub buy_threshold: Score,
    /// Score below which the rating is SELL.
    pub sell_threshold: Score,
    /// Largest shift, in points, from the sector modifier (modifier 1.3 → +this).
    #[schemars(range(min = 0.0, max = 30.0))]
    pub macro_max_shift: f64,
    /// Cap on the sum of event boosts, in points (±).
    #[schemars(range(min = 0.0, max = 30.0))]
    pub max_aggregate_boost: f64,
    /// Consecutive score moves that make conviction rising/declining.
    #[schemars(range(min = 1, max = 10))]
    pub conviction_runs: u32,
}

impl Params for ResearchParams {
    const NAME: &'static str = "research_params";
    const KIND: DocKind = DocKind::ResearchParams;
    fn check(&self, c: &mut Checker, p: &str) {
        if self.sell_threshold >= self.buy_threshold {
            c.push(
                format!("{p}sell_threshold"),
                format!("{} must be below buy_threshold {}", self.sell_threshold, self.buy_threshold),
            );
        }
        if self.thesis_collapse_score > self.min_long_term_score {
            c.push(
                format!("{p}thesis_collapse_score"),
                format!(
                    "{} must not exceed min_long_term_score {}",
                    self.thesis_collapse_score, self.min_long_term_score
                ),
            );
        }
        let t = &self.technical;
        let s = t.rsi + t.macd + t.ma50 + t.ma200 + t.momentum;
        if (s - 1.0).abs() > 1e-6 {
            c.push(format!("{p}technical"), format!("sub-weights sum to {s}, must be 1"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// predictor_params

/// Walk-forward validation layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkForward {
    /// Number of test folds (fewer when history is short).
    #[schemars(range(min = 2, max = 40))]
    pub folds: u32,
    /// Share of the available label dates used as the first (expanding) training window.
    pub min_train_fraction: Fraction,
    /// Longest test window, trading days (fold sizes scale down on short histories).
    #[schemars(range(min = 5, max = 504))]
    pub max_test_days: u32,
    /// Label dates dropped between train and test (must be ≥ horizon).
    #[schemars(range(min = 0, max = 60))]
    pub purge_days: u32,
    /// Dates skipped after each test window before they may train a later fold.
    #[schemars(range(min = 0, max = 60))]
    pub embargo_days: u32,
}

/// Promotion gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionGate {
    /// Median fold IC at least this.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub min_median_ic: f64,
    /// Share of folds with positive IC at least this.
    pub min_positive_fold_share: Fraction,
    /// ICIR at least this.
    #[schemars(range(min = -10.0, max = 10.0))]
    pub min_icir: f64,
    /// Pooled hit rate at least this.
    pub min_hit_rate: Fraction,
    /// A challenger must beat the champion's median IC.
    pub require_beat_champion: bool,
}

/// LightGBM settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GbmParams {
    /// Leaves per tree.
    #[schemars(range(min = 2, max = 1024))]
    pub num_leaves: u32,
    /// Shrinkage.
    #[schemars(range(min = 0.001, max = 1.0))]
    pub learning_rate: f64,
    /// Boosting rounds (upper bound with early stopping).
    #[schemars(range(min = 1, max = 10000))]
    pub num_iterations: u32,
    /// Minimum rows per leaf.
    #[schemars(range(min = 1, max = 100000))]
    pub min_data_in_leaf: u32,
    /// Share of features per tree.
    pub feature_fraction: Fraction,
    /// Share of rows per bagging round.
    pub bagging_fraction: Fraction,
    /// L1 regularisation.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub lambda_l1: f64,
    /// L2 regularisation.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub lambda_l2: f64,
    /// Early stopping patience (rounds without validation improvement).
    #[schemars(range(min = 1, max = 1000))]
    pub early_stopping_rounds: u32,
    /// Random seed (training is deterministic given it).
    pub seed: u64,
}

/// Predictor labels, validation, promotion, veto.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictorParams {
    /// Label horizon, trading days.
    #[schemars(range(min = 1, max = 60))]
    pub horizon_days: u32,
    /// Labels are clipped to ±this (log return).
    #[schemars(range(min = 0.01, max = 2.0))]
    pub label_clip: f64,
    /// Walk-forward layout.
    pub walk_forward: WalkForward,
    /// Promotion gate.
    pub gate: PromotionGate,
    /// LightGBM.
    pub gbm: GbmParams,
    /// A DOWN call at or above this confidence vetoes an entry (before the regime shift).
    pub veto_confidence: Fraction,
    /// Added to the veto threshold in a bear regime (negative: veto more).
    #[schemars(range(min = -0.5, max = 0.5))]
    pub veto_bear_shift: f64,
    /// Added to the veto threshold in a bull regime.
    #[schemars(range(min = -0.5, max = 0.5))]
    pub veto_bull_shift: f64,
    /// The shifted threshold is clamped to at least this.
    pub veto_min: Fraction,
    /// ... and at most this.
    pub veto_max: Fraction,
    /// Momentum veto when the return over `momentum_days` is below this.
    #[schemars(range(min = -1.0, max = 0.0))]
    pub momentum_veto_return: f64,
    /// Momentum window, trading days.
    #[schemars(range(min = 5, max = 252))]
    pub momentum_days: u32,
    /// Prices older than this many trading days count as stale.
    #[schemars(range(min = 0, max = 20))]
    pub max_price_age_days: u32,
}

impl Params for PredictorParams {
    const NAME: &'static str = "predictor_params";
    const KIND: DocKind = DocKind::PredictorParams;
    fn check(&self, c: &mut Checker, p: &str) {
        if self.walk_forward.purge_days < self.horizon_days {
            c.push(
                format!("{p}walk_forward.purge_days"),
                format!(
                    "{} is shorter than the label horizon {} (labels would overlap the test window)",
                    self.walk_forward.purge_days, self.horizon_days
                ),
            );
        }
        if self.veto_min > self.veto_max {
            c.push(format!("{p}veto_min"), format!("{} is above veto_max {}", self.veto_min, self.veto_max));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// executor_params

/// Exit manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitParams {
    /// ATR period (Wilder), days.
    #[schemars(range(min = 2, max = 100))]
    pub atr_period: u32,
    /// Trailing stop = high water − ATR × this.
    #[schemars(range(min = 0.5, max = 10.0))]
    pub atr_multiplier: f64,
    /// Fixed stop below average cost when ATR is unavailable.
    #[schemars(extend("minimum" = 0.01, "maximum" = 0.5))]
    pub fallback_stop_pct: Fraction,
    /// While research says HOLD: REDUCE after this many trading days held.
    #[schemars(range(min = 1, max = 250))]
    pub time_decay_reduce_days: u32,
    /// While research says HOLD: EXIT after this many trading days held.
    #[schemars(range(min = 1, max = 500))]
    pub time_decay_exit_days: u32,
    /// REDUCE when the unrealized gain reaches this.
    pub profit_take_pct: Fraction,
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
    /// ... size × (1 − this).
    pub earnings_reduction: Fraction,
    /// Dollars at most this share of average daily dollar volume.
    #[schemars(extend("minimum" = 0.001, "maximum" = 0.5))]
    pub adv_cap_pct: Fraction,
    /// ADV window, trading days.
    #[schemars(range(min = 5, max = 120))]
    pub adv_days: u32,
    /// Skip entries smaller than this.
    #[schemars(extend("minimum" = 0.0, "maximum" = 1e7))]
    pub min_position_usd: Usd,
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
    /// Seconds between polls.
    #[schemars(range(min = 1, max = 900))]
    pub poll_secs: u32,
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
        let s = &self.sizing;
        if s.atr_min > s.atr_max {
            c.push(format!("{p}sizing.atr_min"), format!("{} is above atr_max {}", s.atr_min, s.atr_max));
        }
        let i = &self.intraday;
        for (name, v) in [("close_enough_after", &i.close_enough_after), ("expiry_time", &i.expiry_time)] {
            if super::common::time_of_day(v).is_none() {
                c.push(format!("{p}intraday.{name}"), format!("{v:?} is not a HH:MM time"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the config/{name}.json documents

/// A parameter's hard bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
}

/// Train vs holdout of the metric that justified a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldoutResult {
    /// Metric on the training period.
    pub train: f64,
    /// Metric on the held-out period.
    pub holdout: f64,
    /// holdout / train.
    pub retention: f64,
    /// Whether the holdout gate passed.
    pub passed: bool,
}

/// An overfitting statistic (deflated Sharpe, probability of backtest overfitting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverfittingCheck {
    /// e.g. "deflated_sharpe" or "pbo".
    pub method: String,
    /// Its value.
    pub value: f64,
    /// The gate.
    pub threshold: f64,
    /// Whether it passed.
    pub passed: bool,
}

/// Why a parameter set was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Samples (trades, signals, folds) the decision rests on.
    pub n_samples: u64,
    /// Metric name (e.g. "sharpe - 0.5*|maxdd|").
    pub metric: String,
    /// Metric with the previous parameters.
    pub before: f64,
    /// Metric with these parameters.
    pub after: f64,
    /// Holdout check.
    #[serde(default)]
    pub holdout: Option<HoldoutResult>,
    /// Overfitting check.
    #[serde(default)]
    pub overfitting: Option<OverfittingCheck>,
    /// Anything else worth knowing.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A `config/{name}.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamsDoc<P> {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// Day written.
    pub updated_at: TradingDay,
    /// Why (absent for defaults seeded by an operator).
    #[serde(default)]
    pub evidence: Option<Evidence>,
    /// Hard bounds of every numeric parameter (dotted path → bound), as enforced by this build.
    pub bounds: BTreeMap<String, Bound>,
    /// The parameters.
    pub params: P,
}

/// `config/scoring_weights.json`
pub type ScoringWeightsDoc = ParamsDoc<ScoringWeights>;
/// `config/executor_params.json`
pub type ExecutorParamsDoc = ParamsDoc<ExecutorParams>;
/// `config/predictor_params.json`
pub type PredictorParamsDoc = ParamsDoc<PredictorParams>;
/// `config/research_params.json`
pub type ResearchParamsDoc = ParamsDoc<ResearchParams>;

impl<P: Params> ParamsDoc<P> {
    /// Wraps `params` with the bounds of this build.
    pub fn new(produced_by: Lineage, updated_at: TradingDay, evidence: Option<Evidence>, params: P) -> Self {
        Self { schema_version: 1, produced_by, updated_at, evidence, bounds: param_bounds::<P>(), params }
    }
}

impl<P: Params> Document for ParamsDoc<P> {
    const KIND: DocKind = P::KIND;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.updated_at)
    }

    fn check(&self, c: &mut Checker) {
        self.params.check(c, "params.");
        let ours = param_bounds::<P>();
        if self.bounds != ours {
            for (k, b) in &self.bounds {
                match ours.get(k) {
                    None => c.push(format!("bounds.{k}"), "is not a parameter of this build"),
                    Some(o) if o != b => c.push(
                        format!("bounds.{k}"),
                        format!("[{}, {}] differs from this build's [{}, {}]", b.min, b.max, o.min, o.max),
                    ),
                    _ => {}
                }
            }
            for k in ours.keys().filter(|k| !self.bounds.contains_key(*k)) {
                c.push(format!("bounds.{k}"), "is missing");
            }
        }
    }
}

/// Hard bounds of every numeric parameter of `P`, read from its JSON Schema.
pub fn param_bounds<P: JsonSchema>() -> BTreeMap<String, Bound> {
    let schema = super::schema_value::<P>();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    collect_bounds(&schema, &defs, "", &mut out);
    out
}

fn resolve<'a>(node: &'a Value, defs: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => defs.get(name).unwrap_or(node),
        None => node,
    }
}

fn collect_bounds(node: &Value, defs: &Value, path: &str, out: &mut BTreeMap<String, Bound>) {
    let target = resolve(node, defs);
    if let Some(props) = target.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let p = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            collect_bounds(sub, defs, &p, out);
        }
        return;
    }
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    // Field-level bounds override the referenced type's own.
    let min = num(node, "minimum").or_else(|| num(target, "minimum"));
    let max = num(node, "maximum").or_else(|| num(target, "maximum"));
    if min.is_some() || max.is_some() {
        out.insert(path.to_string(), Bound { min: min.unwrap_or(f64::MIN), max: max.unwrap_or(f64::MAX) });
    }
}
