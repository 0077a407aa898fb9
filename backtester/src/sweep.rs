//! The executor parameter sweep: every point of the declared grid run through the simulator in
//! parallel, scored on the training days by Sharpe − 0.5 × |max drawdown|, with the holdout days
//! (the most recent) kept out of the choice. The best training point is promoted only when it has
//! enough trades, beats the parameters in force by the minimum, keeps enough of that gain on the
//! holdout, and passes both overfitting checks (deflated Sharpe and CSCV probability of backtest
//! overfitting, over every point tried).

use ae_shared::config::{PromotionGates, SweepGrid};
use ae_shared::contracts::Checker;
use ae_shared::contracts::params::{Evidence, ExecutorParams, HoldoutResult, OverfittingCheck, Params};
use ae_shared::types::Fraction;
use rayon::prelude::*;
use serde::Serialize;

use crate::grade::objective;
use crate::overfit::{self, Deflated, Pbo};
use crate::sim::Simulator;

/// One grid point's values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// `risk.min_score`.
    pub min_score: f64,
    /// `risk.max_position_pct`.
    pub max_position_pct: f64,
    /// `exits.atr_multiplier`.
    pub atr_multiplier: f64,
    /// `exits.time_decay_reduce_days`.
    pub reduce_days: u32,
    /// `exits.time_decay_exit_days`.
    pub exit_days: u32,
    /// `exits.profit_take_pct`.
    pub profit_take: f64,
}

impl Point {
    /// `base` with this point's values.
    pub fn apply(&self, base: &ExecutorParams) -> Option<ExecutorParams> {
        let mut p = base.clone();
        p.risk.min_score = ae_shared::types::Score::new(self.min_score).ok()?;
        p.risk.max_position_pct = Fraction::new(self.max_position_pct).ok()?;
        p.exits.atr_multiplier = self.atr_multiplier;
        p.exits.time_decay_reduce_days = self.reduce_days;
        p.exits.time_decay_exit_days = self.exit_days;
        p.exits.profit_take_pct = Fraction::new(self.profit_take).ok()?;
        let mut c = Checker::default();
        p.check(&mut c, "");
        c.finish().is_empty().then_some(p)
    }

    /// The point of `p`.
    pub fn of(p: &ExecutorParams) -> Self {
        Self {
            min_score: p.risk.min_score.get(),
            max_position_pct: p.risk.max_position_pct.get(),
            atr_multiplier: p.exits.atr_multiplier,
            reduce_days: p.exits.time_decay_reduce_days,
            exit_days: p.exits.time_decay_exit_days,
            profit_take: p.exits.profit_take_pct.get(),
        }
    }
}

/// Every point of the grid, in a fixed order.
pub fn points(g: &SweepGrid) -> Vec<Point> {
    let mut out = Vec::with_capacity(g.len());
    for &min_score in &g.min_score {
        for &max_position_pct in &g.max_position_pct {
            for &atr_multiplier in &g.atr_multiplier {
                for &reduce_days in &g.reduce_days {
                    for &exit_days in &g.exit_days {
                        for &profit_take in &g.profit_take {
                            out.push(Point {
                                min_score,
                                max_position_pct,
                                atr_multiplier,
                                reduce_days,
                                exit_days,
                                profit_take,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// One evaluated point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Values.
    pub point: Point,
    /// Objective on the training days.
    pub train: f64,
    /// Objective on the holdout days.
    pub holdout: f64,
    /// Trades closed in the training days.
    pub train_trades: u64,
    /// Trades closed in the holdout days.
    pub holdout_trades: u64,
    /// Total return of the whole period.
    pub total_return: f64,
    #[serde(skip)]
    returns: Vec<f64>,
}

/// The sweep's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepOutcome {
    /// Grid size declared.
    pub declared: usize,
    /// Points the executor's own checks refused (skipped).
    pub invalid: usize,
    /// Training days, holdout days.
    pub split: (usize, usize),
    /// The parameters in force.
    pub baseline: Scored,
    /// The best training point.
    pub best: Option<Scored>,
    /// Top points by training objective (for the report).
    pub top: Vec<Scored>,
    /// Deflated Sharpe of the best point among all points tried.
    pub deflated: Option<Deflated>,
    /// Probability of backtest overfitting over all points (training days).
    pub pbo: Option<Pbo>,
    /// Whether every gate passed.
    pub promote: bool,
    /// Why (each gate, passed or not).
    pub gates: Vec<String>,
    /// The parameters to write when promoted.
    #[serde(skip)]
    pub params: Option<ExecutorParams>,
    /// Seconds the sweep took.
    pub seconds: f64,
}

fn score(sim: &Simulator<'_>, params: &ExecutorParams, point: Point, train_days: usize) -> Scored {
    let r = sim.run(params, false);
    let (tr, ho) = r.returns.split_at(train_days.min(r.returns.len()));
    let (ttr, tho) = r.trades_closed.split_at(train_days.min(r.trades_closed.len()));
    Scored {
        point,
        train: objective(tr),
        holdout: objective(ho),
        train_trades: ttr.iter().map(|x| *x as u64).sum(),
        holdout_trades: tho.iter().map(|x| *x as u64).sum(),
        total_return: ae_shared::metrics::total_return(&r.returns),
        returns: r.returns,
    }
}

/// Runs the sweep around `base` (the parameters in force) on `threads` threads (0: all cores).
pub fn sweep(
    sim: &Simulator<'_>,
    base: &ExecutorParams,
    grid: &SweepGrid,
    gates: &PromotionGates,
    holdout_fraction: f64,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> SweepOutcome {
    let t0 = std::time::Instant::now();
    let days = sim.prepared().days.len();
    let train_days = crate::gate::train_len(days, holdout_fraction);
    let all = points(grid);
    let declared = all.len();
    let valid: Vec<(Point, ExecutorParams)> = all.into_iter().filter_map(|p| p.apply(base).map(|x| (p, x))).collect();
    let invalid = declared - valid.len();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let mut scored: Vec<Scored> = pool.install(|| {
        valid
            .par_iter()
            .map(|(pt, params)| {
                let s = score(sim, params, *pt, train_days);
                progress();
                s
            })
            .collect()
    });
    let baseline = score(sim, base, Point::of(base), train_days);
    let train_returns: Vec<Vec<f64>> =
        scored.iter().map(|s| s.returns[..train_days.min(s.returns.len())].to_vec()).collect();
    let pbo = (!scored.is_empty()).then(|| overfit::pbo(&train_returns, 10));
    let best_i = (0..scored.len()).max_by(|a, b| scored[*a].train.total_cmp(&scored[*b].train));
    let deflated = best_i.map(|i| {
        let sharpes: Vec<f64> = train_returns.iter().map(|r| overfit::sharpe_per_period(r)).collect();
        overfit::deflated_sharpe(&train_returns[i], &sharpes)
    });
    let best = best_i.map(|i| scored[i].clone());
    let mut g = crate::gate::Gates::default();
    if let Some(b) = &best {
        let mut gate = |ok: bool, text: String| g.check(ok, text);
        gate(
            b.train_trades >= gates.min_trades as u64,
            format!("trades: {} closed in training (minimum {})", b.train_trades, gates.min_trades),
        );
        let gain = b.train - baseline.train;
        gate(
            gain >= gates.min_improvement,
            format!(
                "improvement: training objective {:.3} vs {:.3} in force (+{gain:.3}, minimum +{:.2})",
                b.train, baseline.train, gates.min_improvement
            ),
        );
        let hold_gain = b.holdout - baseline.holdout;
        let retention = if gain > 0.0 { hold_gain / gain } else { f64::NAN };
        gate(
            retention >= gates.min_holdout_retention,
            format!(
                "holdout: objective {:.3} vs {:.3} in force, retention {retention:.2} (minimum {:.2})",
                b.holdout, baseline.holdout, gates.min_holdout_retention
            ),
        );
        if let Some(d) = &deflated {
            gate(
                d.probability >= gates.min_deflated_sharpe,
                format!(
                    "deflated Sharpe: {:.3} (minimum {:.2}; best per-day Sharpe {:.3} vs {:.3} expected from the best of {} skill-less trials, {} days)",
                    d.probability, gates.min_deflated_sharpe, d.sharpe, d.expected_max, d.n_trials, d.n_periods
                ),
            );
        }
        if let Some(p) = &pbo {
            gate(
                p.probability <= gates.max_pbo,
                format!(
                    "probability of backtest overfitting: {:.3} over {} CSCV splits (maximum {:.2})",
                    p.probability, p.splits, gates.max_pbo
                ),
            );
        }
        if b.point == baseline.point {
            g.check(false, "change: the best point is the parameters in force, nothing to change");
        }
    } else {
        g.check(false, "no valid grid point");
    }
    let (promote, gates_out) = (g.passed, g.lines);
    let params = if promote { best.as_ref().and_then(|b| b.point.apply(base)) } else { None };
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|a, b| scored[*b].train.total_cmp(&scored[*a].train));
    let top = order.iter().take(10).map(|i| scored[*i].clone()).collect();
    scored.clear();
    SweepOutcome {
        declared,
        invalid,
        split: (train_days, days - train_days.min(days)),
        baseline,
        best,
        top,
        deflated,
        pbo,
        promote,
        gates: gates_out,
        params,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

impl SweepOutcome {
    /// The evidence written with the parameters.
    pub fn evidence(&self, gates: &PromotionGates) -> Option<Evidence> {
        let b = self.best.as_ref()?;
        let gain = b.train - self.baseline.train;
        Some(Evidence {
            n_samples: b.train_trades,
            metric: "sharpe - 0.5*|max drawdown| (training days)".into(),
            before: self.baseline.train,
            after: b.train,
            holdout: Some(HoldoutResult {
                train: gain,
                holdout: b.holdout - self.baseline.holdout,
                retention: if gain > 0.0 { (b.holdout - self.baseline.holdout) / gain } else { 0.0 },
                passed: self.promote,
            }),
            overfitting: self.deflated.as_ref().map(|d| OverfittingCheck {
                method: "deflated_sharpe".into(),
                value: d.probability,
                threshold: gates.min_deflated_sharpe,
                passed: d.probability >= gates.min_deflated_sharpe,
            }),
            notes: self.gates.clone(),
        })
    }
}
