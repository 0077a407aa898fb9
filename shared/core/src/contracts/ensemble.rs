//! The ensemble's record: every view of a name turned into one expected alpha with a confidence,
//! each view weighted by its measured out-of-sample skill (the pure stage is
//! `ae_rules::ensemble`; the order book carries this record, and the planner keeps each day's
//! views as a [`ViewPanel`] so later days can grade them).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::TradingDay;
use crate::types::Ticker;

/// One view of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// Research's composite score.
    Research,
    /// Research's quantitative sub-score (factor scores).
    Quant,
    /// Research's qualitative sub-score (the sector-team analyst), when an LLM scored the name.
    Qual,
    /// The predictor's calibrated probability of beating the label, less one half.
    Predictor,
    /// Price agent: the 20-session return (momentum).
    Momentum,
    /// Price agent: minus the 5-session return (short-term mean reversion).
    Reversal,
    /// Price agent: minus ATR as a share of price (low volatility).
    LowVolatility,
}

impl ViewKind {
    /// Every view, in the order a [`PanelRow`] holds them.
    pub const ALL: [ViewKind; 7] = [
        ViewKind::Research,
        ViewKind::Quant,
        ViewKind::Qual,
        ViewKind::Predictor,
        ViewKind::Momentum,
        ViewKind::Reversal,
        ViewKind::LowVolatility,
    ];

    /// Its name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Research => "research",
            ViewKind::Quant => "quant",
            ViewKind::Qual => "qual",
            ViewKind::Predictor => "predictor",
            ViewKind::Momentum => "momentum",
            ViewKind::Reversal => "reversal",
            ViewKind::LowVolatility => "low_volatility",
        }
    }
}

impl std::fmt::Display for ViewKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One name's views on one day, as robust z-scores across the day's names (`None`: the view has
/// nothing to say about the name), in the order of [`ViewKind::ALL`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PanelRow {
    /// Symbol.
    pub ticker: Ticker,
    /// Robust z per view.
    pub z: Vec<Option<f64>>,
}

/// One day's views of every name research ranked: what a later day grades against the returns
/// that followed (`executor/views/{date}.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewPanel {
    /// The decision day (views as of the session before it).
    pub date: Option<TradingDay>,
    /// The names.
    pub rows: Vec<PanelRow>,
}

/// A view's measured skill over the trailing window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSkill {
    /// The view.
    pub view: ViewKind,
    /// Mean daily rank IC against the forward return at the horizon (out of sample: each day's
    /// views against returns that came after it).
    pub ic: f64,
    /// Days graded.
    pub n_days: u32,
    /// Standard error of the mean IC (absent under two days).
    pub std_error: Option<f64>,
    /// The IC shrunk toward zero: `ic × n / (n + shrink_days)`.
    pub shrunk_ic: f64,
    /// Its weight: the shrunk IC over the sum of absolute shrunk ICs (negative: the view is used
    /// contrarian).
    pub weight: f64,
}

/// One view's part in a name's expected alpha.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewContribution {
    /// The view.
    pub view: ViewKind,
    /// Its robust z for the name.
    pub z: f64,
    /// Its weight.
    pub weight: f64,
    /// Its part of the expected alpha (the parts sum to it).
    pub contribution: f64,
}

/// One calibrated view of a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameEnsemble {
    /// Symbol.
    pub ticker: Ticker,
    /// Expected return relative to the day's names over the horizon (a fraction).
    pub expected_alpha: f64,
    /// 0..1: the views' agreement `exp(−β·Var)` times the share of the skill weight whose view
    /// has something to say about the name.
    pub confidence: f64,
    /// Weighted variance of the (sign-aligned) view z-scores.
    pub disagreement: f64,
    /// Fractional-Kelly weight `γ·μ/σ²` over the horizon, floored at zero and capped by the
    /// largest position (absent without a usable ATR).
    pub kelly: Option<f64>,
    /// Probability the name beats the day's names over the horizon, `Φ(μ / σ)` with σ from its
    /// ATR (absent without a usable ATR): what the sizer blends with the predictor's `p_up`.
    pub p_outperform: Option<f64>,
    /// Each view's part.
    pub views: Vec<ViewContribution>,
}

/// The ensemble of one morning, as the order book records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsembleBook {
    /// Horizon of the graded forward returns, sessions.
    pub horizon_days: u32,
    /// Days graded (out of the trailing window).
    pub graded_days: u32,
    /// Median cross-sectional standard deviation of the forward returns (a fraction).
    pub spread: f64,
    /// Each view's skill and weight.
    pub skill: Vec<ViewSkill>,
    /// Every name research ranked today.
    pub names: Vec<NameEnsemble>,
}
