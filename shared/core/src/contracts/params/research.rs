//! `research_params`: research's universe, filter, population and rating rules.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Params;
use crate::contracts::{Checker, DocKind};
use crate::types::{Fraction, Score, Usd};

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
