//! `predictor/predictions/{date}.json`: the daily model view, read by the planner.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Direction;
use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::types::{Confidence, Probability, Ticker};

/// One name's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// Symbol.
    pub ticker: Ticker,
    /// Calibrated probability that the label (see the document's `label`) is positive.
    pub p_up: Probability,
    /// UP when `p_up >= 0.5`, else DOWN. Never derived from `predicted_alpha`'s magnitude.
    pub predicted_direction: Direction,
    /// `|p_up - 0.5| * 2`.
    pub confidence: Confidence,
    /// Predicted label value: log return over `horizon_days` relative to the benchmark named in the document.
    #[schemars(range(min = -1.0, max = 1.0))]
    pub predicted_alpha: f64,
    /// 1 = most attractive.
    #[schemars(range(min = 1))]
    pub rank: u32,
    /// High-confidence DOWN: blocks a research ENTER.
    pub gbm_veto: bool,
    /// Recent momentum below the veto threshold.
    pub momentum_veto: bool,
    /// Trading days between the last price used and the prediction date.
    pub price_data_age_days: u32,
    /// What drove the prediction: the features with the largest SHAP contributions (LightGBM's
    /// own), largest first. Given for the day's top and bottom names and every vetoed one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<Driver>,
}

/// One feature's contribution to a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    /// Feature name (as in the model's metadata).
    pub feature: String,
    /// Its SHAP contribution to `predicted_alpha`, in the label's units (log return); the
    /// contributions of every feature and the model's base value add up to the prediction.
    pub contribution: f64,
}

/// A name left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// Symbol.
    pub ticker: Ticker,
    /// Reason (e.g. data-quality governance QUARANTINED: 12 OHLC-inconsistent rows).
    pub reason: String,
}

/// The daily predictions document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Predictions {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// The trading day predicted from (prices up to the previous close).
    pub date: TradingDay,
    /// Registry version of the model used.
    pub model_version: String,
    /// Label horizon in trading days.
    #[schemars(range(min = 1, max = 60))]
    pub horizon_days: u32,
    /// What the label is, e.g. "forward 5-day log return minus the equal-weight sector return, clipped ±0.2".
    pub label: String,
    /// Benchmark the label is relative to, e.g. "equal-weight GICS sector".
    pub benchmark: String,
    /// Confidence above which a DOWN call vetoes an entry, after the regime adjustment.
    pub veto_threshold: Confidence,
    /// Predictions, best rank first.
    pub entries: Vec<Prediction>,
    /// Names not predicted, with reasons.
    #[serde(default)]
    pub excluded: Vec<Exclusion>,
}

impl Document for Predictions {
    const KIND: DocKind = DocKind::Predictions;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        let mut seen = BTreeSet::new();
        let mut ranks = BTreeSet::new();
        for (i, p) in self.entries.iter().enumerate() {
            let at = |f: &str| format!("entries[{i}].{f}");
            if !seen.insert(p.ticker.clone()) {
                c.push(at("ticker"), format!("{} appears more than once", p.ticker));
            }
            if !ranks.insert(p.rank) || p.rank as usize > self.entries.len() {
                c.push(
                    at("rank"),
                    format!("{} is repeated or above the number of entries ({})", p.rank, self.entries.len()),
                );
            }
            let expected = if p.p_up.get() >= 0.5 { Direction::Up } else { Direction::Down };
            if p.predicted_direction != expected {
                c.push(
                    at("predicted_direction"),
                    format!(
                        "{:?} disagrees with p_up {} (direction comes from p_up, not from the alpha's magnitude)",
                        p.predicted_direction, p.p_up
                    ),
                );
            }
            let conf = Confidence::from_p_up(p.p_up).get();
            if (conf - p.confidence.get()).abs() > 1e-6 {
                c.push(at("confidence"), format!("{} is not |p_up - 0.5| * 2 = {conf:.6}", p.confidence));
            }
            if p.gbm_veto && p.predicted_direction != Direction::Down {
                c.push(at("gbm_veto"), "only a DOWN call can veto");
            }
            if p.gbm_veto && p.confidence < self.veto_threshold {
                c.push(
                    at("gbm_veto"),
                    format!("confidence {} is below the veto threshold {}", p.confidence, self.veto_threshold),
                );
            }
        }
        for (i, x) in self.excluded.iter().enumerate() {
            if seen.contains(&x.ticker) {
                c.push(format!("excluded[{i}].ticker"), format!("{} is both predicted and excluded", x.ticker));
            }
        }
    }
}

impl Predictions {
    /// The prediction for `ticker`.
    pub fn get(&self, ticker: &str) -> Option<&Prediction> {
        self.entries.iter().find(|p| p.ticker.as_str() == ticker)
    }
}
