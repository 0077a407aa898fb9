//! The backtester's section: the fill model, the executor sweep's grid by parameter path, the
//! promotion gates and the weight-tuning guardrails.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contracts::Checker;
use crate::contracts::params::{ExecutorParams, numeric_problem};

/// How the simulator fills an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillAt {
    /// The daemon's own engine over each bar's session path (open, extremes, close): urgent exits
    /// at the open, entry triggers and intraday exits as the daemon would see them.
    Intraday,
    /// Every planned order at the day's open.
    Open,
    /// Every planned order at the day's close.
    Close,
}

/// One swept parameter: its path in `executor_params` and the values tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepAxis {
    /// Dotted parameter path (`exits.atr_multiple`): a bounded numeric executor parameter.
    pub path: String,
    /// Values tried, inside the parameter's bounds (whole numbers for a count of days).
    pub values: Vec<f64>,
}

/// The executor sweep's grid: the product of its axes, the first varying slowest. Points the
/// executor's own cross-field rules refuse are skipped and counted. The swept paths are the ones
/// a promoted result tunes (see `ae_shared::in_force`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SweepGrid(pub Vec<SweepAxis>);

impl SweepGrid {
    /// A grid from `(path, values)` pairs, in order.
    pub fn of(axes: &[(&str, &[f64])]) -> Self {
        Self(axes.iter().map(|(p, v)| SweepAxis { path: p.to_string(), values: v.to_vec() }).collect())
    }

    /// A small grid, 2 x 1 x 3 x 1 x 2 x 2 = 24 points around the defaults, for tests (the demo,
    /// production and the benchmark run the declared 1,728-point grid).
    pub fn small() -> Self {
        Self::of(&[
            ("risk.min_score", &[60.0, 70.0]),
            ("risk.max_position_pct", &[0.05]),
            ("exits.atr_multiple", &[2.0, 2.5, 3.0]),
            ("exits.time_decay_reduce_days", &[7.0]),
            ("exits.time_decay_exit_days", &[10.0, 14.0]),
            ("exits.reduce_on_gain_pct", &[0.15, 0.25]),
        ])
    }

    /// Number of points (before invalid ones are skipped).
    pub fn len(&self) -> usize {
        self.0.iter().map(|a| a.values.len()).product()
    }

    /// Whether the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The swept paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|a| a.path.as_str())
    }

    /// Every problem with the grid around `base`: unknown or non-numeric paths, values out of
    /// bounds or not whole, repeated paths, empty axes.
    pub fn check(&self, base: &ExecutorParams, c: &mut Checker, prefix: &str) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, axis) in self.0.iter().enumerate() {
            let at = format!("{prefix}[{i}]");
            if !seen.insert(axis.path.as_str()) {
                c.push(format!("{at}.path"), format!("{:?} is swept twice", axis.path));
            }
            if axis.values.is_empty() {
                c.push(format!("{at}.values"), "no values (the grid would be empty)");
            }
            let mut reported = false;
            for (j, v) in axis.values.iter().enumerate() {
                if let Some(p) = numeric_problem(base, &axis.path, *v) {
                    let not_a_path = p.contains("is not a numeric parameter");
                    if not_a_path && reported {
                        continue;
                    }
                    reported |= not_a_path;
                    let at = if not_a_path { format!("{at}.path") } else { format!("{at}.values[{j}]") };
                    c.push(at, p);
                }
            }
        }
    }
}

/// The gates a change must clear before anything is written back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionGates {
    /// Closed trades the best point needs in the training period.
    #[schemars(range(min = 0, max = 100000))]
    pub min_trades: u32,
    /// Objective gain over the parameters in force, training period.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub min_improvement: f64,
    /// Holdout gain must keep at least this share of the training gain.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_holdout_retention: f64,
    /// Largest probability of backtest overfitting (CSCV) accepted.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_pbo: f64,
    /// Smallest deflated Sharpe ratio (probability) accepted.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_deflated_sharpe: f64,
}

/// Scoring-weight tuning guardrails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightTuning {
    /// Largest change of one weight per run.
    #[schemars(range(min = 0.0, max = 0.5))]
    pub max_step: f64,
    /// Scored (name, week) samples needed in the training weeks.
    #[schemars(range(min = 0, max = 10000000))]
    pub min_samples: u32,
    /// One-sided t statistic the holdout IC gain must reach.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub min_holdout_t: f64,
    /// Forward horizon of the IC, trading days.
    #[schemars(range(min = 1, max = 60))]
    pub horizon_days: u32,
}

/// The backtester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Fill model.
    pub fill: FillAt,
    /// Adverse slippage per fill, basis points.
    #[schemars(range(min = 0.0, max = 500.0))]
    pub slippage_bps: f64,
    /// Commission on notional, basis points (on top of `trading.commission_*`).
    #[schemars(range(min = 0.0, max = 500.0))]
    pub commission_bps: f64,
    /// An order fills at most this share of the day's volume (the rest is cancelled).
    #[schemars(range(min = 0.001, max = 1.0))]
    pub participation: f64,
    /// Sessions of history before the first simulated day.
    #[schemars(range(min = 1, max = 260))]
    pub warmup_days: u32,
    /// Share of simulated days (the most recent) held out of every choice.
    #[schemars(range(min = 0.1, max = 0.6))]
    pub holdout_fraction: f64,
    /// Signal grading horizons, trading days.
    pub grade_horizons: Vec<u32>,
    /// Smallest bucket whose hit rate is reported.
    #[schemars(range(min = 1, max = 100000))]
    pub min_bucket: u32,
    /// False discovery rate of the Benjamini-Hochberg procedure across buckets.
    #[schemars(range(min = 0.001, max = 0.5))]
    pub fdr_q: f64,
    /// Executor sweep.
    pub sweep: SweepGrid,
    /// Promotion gates of the executor sweep.
    pub gates: PromotionGates,
    /// Scoring-weight tuning.
    pub weights: WeightTuning,
    /// Veto calibration: vetoed samples needed in the holdout.
    #[schemars(range(min = 1, max = 100000))]
    pub veto_min_samples: u32,
    /// Worker threads of the sweep (0: one per core).
    #[schemars(range(min = 0, max = 256))]
    pub threads: u32,
}
