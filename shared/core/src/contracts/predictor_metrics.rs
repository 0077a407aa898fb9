//! `predictor/metrics/{date}.json` and `latest.json`: how good the model is, out of sample, and how
//! fresh its inputs are.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::types::Fraction;

/// One walk-forward fold, scored only on its held-out test window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FoldMetrics {
    /// 0-based fold number.
    pub fold: u32,
    /// First training label date.
    pub train_start: TradingDay,
    /// Last training label date (before the purge gap).
    pub train_end: TradingDay,
    /// First test date.
    pub test_start: TradingDay,
    /// Last test date.
    pub test_end: TradingDay,
    /// Training rows.
    pub n_train: u64,
    /// Test rows.
    pub n_test: u64,
    /// Mean over test dates of the cross-sectional Pearson IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub ic: f64,
    /// Mean over test dates of the cross-sectional Spearman IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub rank_ic: f64,
    /// Share of test rows whose predicted sign matched the label's.
    pub hit_rate: Fraction,
}

/// Summary across folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardSummary {
    /// Folds.
    pub n_folds: u32,
    /// Median fold IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub median_ic: f64,
    /// Mean fold rank IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub mean_rank_ic: f64,
    /// Share of folds with IC > 0.
    pub positive_fold_share: Fraction,
    /// Mean fold IC / standard deviation of fold ICs.
    pub icir: f64,
    /// Pooled hit rate.
    pub hit_rate: Fraction,
}

/// Live IC once outcomes exist: predictions made `horizon_days`+ ago scored against what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveIc {
    /// Trading days of predictions included.
    pub window_days: u32,
    /// Prediction-outcome pairs.
    pub n: u64,
    /// Mean daily Pearson IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub ic: f64,
    /// Mean daily Spearman IC.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub rank_ic: f64,
    /// Share of correct signs.
    pub hit_rate: Fraction,
}

/// Age of the prices behind the predictions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFreshness {
    /// Oldest last-price age among predicted names, trading days.
    pub max_age_days: u32,
    /// Names older than the staleness bound.
    pub n_stale: u32,
}

pub use super::gate::GateCheck;

/// The predictor metrics document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictorMetrics {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// Day the metrics describe.
    pub date: TradingDay,
    /// Model these metrics are for (the champion after this run).
    pub model_version: String,
    /// Day it was trained.
    pub trained_at: TradingDay,
    /// Rows in the final training set.
    pub training_rows: u64,
    /// Label horizon in trading days.
    pub horizon_days: u32,
    /// Per-fold out-of-sample statistics.
    pub walk_forward: Vec<FoldMetrics>,
    /// Across folds.
    pub summary: WalkForwardSummary,
    /// Live rolling IC, once outcomes exist.
    #[serde(default)]
    pub live: Option<LiveIc>,
    /// Input freshness (from the latest inference).
    #[serde(default)]
    pub price_freshness: Option<PriceFreshness>,
    /// Whether the trained model was promoted to champion.
    pub promoted: bool,
    /// Each gate's outcome.
    pub gates: Vec<GateCheck>,
    /// The model's gain-based feature importance, largest first (features that never split are
    /// left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_importance: Vec<FeatureImportance>,
}

/// One feature's share of the model's split gain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Total gain of the splits on it.
    pub gain: f64,
    /// Its share of the total gain, 0..1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub share: f64,
}

impl Document for PredictorMetrics {
    const KIND: DocKind = DocKind::PredictorMetrics;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        if self.summary.n_folds as usize != self.walk_forward.len() {
            c.push(
                "summary.n_folds",
                format!("{} but walk_forward has {} folds", self.summary.n_folds, self.walk_forward.len()),
            );
        }
        for (i, f) in self.walk_forward.iter().enumerate() {
            let at = |x: &str| format!("walk_forward[{i}].{x}");
            if f.train_start > f.train_end {
                c.push(at("train_end"), format!("{} is before train_start {}", f.train_end, f.train_start));
            }
            if f.train_end >= f.test_start {
                c.push(
                    at("test_start"),
                    format!("{} does not come after train_end {} (look-ahead)", f.test_start, f.train_end),
                );
            }
            if f.test_start > f.test_end {
                c.push(at("test_end"), format!("{} is before test_start {}", f.test_end, f.test_start));
            }
        }
        if self.promoted && self.gates.iter().any(|g| !g.passed) {
            c.push("promoted", "true although a gate failed");
        }
        if self.trained_at > self.date {
            c.push("trained_at", format!("{} is after the document date {}", self.trained_at, self.date));
        }
    }
}
