//! The `config/{name}.json` documents the backtester writes parameter sets in, and the hard
//! bounds every parameter set is checked against (read from its JSON Schema).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ExecutorParams, Params, PredictorParams, ResearchParams, ScoringWeights, get_path, param_bounds};
use crate::calendar::TradingDay;
use crate::contracts::{Checker, DocKind, Document, Lineage};

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
    /// The parameter paths the writer chose (`exits.atr_multiple`, or a section such as `factors`).
    /// Only these take precedence over the operator's configuration; every other value in
    /// `params` is the configuration in force when the document was written, kept for reference
    /// (see `ae_shared::in_force`). Empty: the document decides nothing.
    #[serde(default)]
    pub tuned: Vec<String>,
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
    /// Wraps `params` with the bounds of this build; `tuned` are the paths the writer chose.
    pub fn new(
        produced_by: Lineage,
        updated_at: TradingDay,
        evidence: Option<Evidence>,
        tuned: Vec<String>,
        params: P,
    ) -> Self {
        Self { schema_version: 1, produced_by, updated_at, evidence, bounds: param_bounds::<P>(), tuned, params }
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
        let value = serde_json::to_value(&self.params).unwrap_or(Value::Null);
        for (i, path) in self.tuned.iter().enumerate() {
            if get_path(&value, path).is_none() {
                c.push(format!("tuned[{i}]"), format!("{path:?} is not a parameter of {}", P::NAME));
            }
        }
    }
}
