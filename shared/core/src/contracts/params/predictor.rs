//! `predictor_params`: labels, walk-forward validation, the promotion gate, LightGBM and the
//! veto.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Params;
use crate::contracts::{Checker, DocKind};
use crate::types::Fraction;

/// The shortest rolling training window ([`WalkForward::max_train_days`] other than 0).
pub const MIN_TRAIN_WINDOW: u32 = 60;

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
    /// Most labelled dates a fold, and the final model, trains on: the newest ones before its
    /// test window (a rolling window). 0 trains on all of them (an expanding window). Absent in a
    /// document written before it existed: 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 5040))]
    pub max_train_days: u32,
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
    /// Train on quantized gradients (LightGBM's `use_quantized_grad`, 4 bins, stochastic rounding
    /// from `seed`, leaf values renewed from the exact gradients): histograms are summed in
    /// integers, several times cheaper than in doubles, for fits that differ from full precision
    /// only in the last digits of the scores. Absent in a document written before it existed:
    /// false (full-precision gradients, as those fits were made).
    #[serde(default)]
    pub quantized_gradients: bool,
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
        let window = self.walk_forward.max_train_days;
        if window != 0 && window < MIN_TRAIN_WINDOW {
            c.push(
                format!("{p}walk_forward.max_train_days"),
                format!(
                    "{window} is too short to train on (0 for every labelled date, or at least {MIN_TRAIN_WINDOW}: a fold keeps 15% of its window and a purge gap for early stopping)"
                ),
            );
        }
        if self.veto_min > self.veto_max {
            c.push(format!("{p}veto_min"), format!("{} is above veto_max {}", self.veto_min, self.veto_max));
        }
    }
}
