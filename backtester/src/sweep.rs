//! The executor parameter sweep: every point of the declared grid run through the simulator in
//! parallel, scored on the training days by Sharpe − 0.5 × |max drawdown|, with the holdout days
//! (the most recent) kept out of the choice. The best training point is promoted only when it has
//! enough trades, beats the parameters in force by the minimum, keeps enough of that gain on the
//! holdout, and passes both overfitting checks (deflated Sharpe and CSCV probability of backtest
//! overfitting, over every point tried).

use std::sync::{Arc, Mutex};

use ae_shared::config::{BacktestConfig, PromotionGates, SweepGrid};
use ae_shared::contracts::gate::{GateCheck, Gates};
use ae_shared::contracts::params::{Evidence, ExecutorParams, HoldoutResult, OverfittingCheck, get_path, with_values};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Checkpoint};
use crate::grade::objective;
use crate::overfit::{self, Deflated, Pbo};
use crate::sim::{SimState, Simulator};

/// One grid point: a value for each swept path, in the grid's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Point(pub Vec<(String, f64)>);

impl Serialize for Point {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Point {
    /// `base` with this point's values, or `None` when a value is out of bounds or the executor's
    /// own cross-field rules refuse the result.
    pub fn apply(&self, base: &ExecutorParams) -> Option<ExecutorParams> {
        let values: Vec<(&str, f64)> = self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        with_values(base, &values).ok()
    }

    /// The point of `p` on `grid`'s paths.
    pub fn of(grid: &SweepGrid, p: &ExecutorParams) -> Self {
        let json = serde_json::to_value(p).unwrap_or_default();
        Self(
            grid.paths()
                .map(|k| (k.to_string(), get_path(&json, k).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN)))
                .collect(),
        )
    }
}

/// Every point of the grid, in a fixed order (the first axis varies slowest).
pub fn points(g: &SweepGrid) -> Vec<Point> {
    let mut out = vec![Point(Vec::with_capacity(g.0.len()))];
    for axis in &g.0 {
        out = out
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.0.push((axis.path.clone(), *v));
                    q
                })
            })
            .collect();
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
    /// Every valid point's objectives, in grid order (the dashboard's heat map).
    pub surface: Surface,
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
    /// Points resumed from the previous run's states (only the days after them simulated).
    pub resumed: usize,
    /// Seconds the sweep took.
    pub seconds: f64,
}

/// Every valid point of a sweep with its objectives, compact: one row per point, the values in
/// the order of `params`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Surface {
    /// The swept parameters (`risk.min_score`, ...).
    pub params: Vec<String>,
    /// One row per valid point.
    pub rows: Vec<SurfaceRow>,
}

/// One point of a [`Surface`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurfaceRow {
    /// The point's values, in the order of [`Surface::params`].
    pub values: Vec<f64>,
    /// Objective on the training days (`null` in JSON when too few days to score).
    pub train: f64,
    /// Objective on the holdout days.
    pub holdout: f64,
    /// Trades closed in the training days.
    pub train_trades: u64,
}

impl Surface {
    fn of(scored: &[Scored]) -> Self {
        let params = scored.first().map(|s| s.point.0.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
        let rows = scored
            .iter()
            .map(|s| SurfaceRow {
                values: s.point.0.iter().map(|(_, v)| *v).collect(),
                train: s.train,
                holdout: s.holdout,
                train_trades: s.train_trades,
            })
            .collect();
        Self { params, rows }
    }
}

fn scored(point: Point, returns: Vec<f64>, trades_closed: &[u32], train_days: usize) -> Scored {
    let (tr, ho) = returns.split_at(train_days.min(returns.len()));
    let (ttr, tho) = trades_closed.split_at(train_days.min(trades_closed.len()));
    Scored {
        point,
        train: objective(tr),
        holdout: objective(ho),
        train_trades: ttr.iter().map(|x| u64::from(*x)).sum(),
        holdout_trades: tho.iter().map(|x| u64::from(*x)).sum(),
        total_return: ae_shared::metrics::total_return(&returns),
        returns,
    }
}

fn score(sim: &Simulator<'_>, params: &ExecutorParams, point: Point, train_days: usize) -> Scored {
    let r = sim.run(params, false);
    scored(point, r.returns, &r.trades_closed, train_days)
}

/// Which points of the grid one process scores: every `of`-th valid point from `index`. A sweep
/// too large for one machine runs as `of` shards (AWS Step Functions fans them out as Lambda
/// invocations of this binary) and one merge decides over every point, exactly as one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards.
    pub of: usize,
}

impl Shard {
    /// The whole grid in one process.
    pub const ALL: Shard = Shard { index: 0, of: 1 };

    /// Checks `index < of` and `of >= 1`.
    pub fn new(index: usize, of: usize) -> Result<Self, String> {
        if of == 0 || index >= of {
            return Err(format!("shard {index} of {of}: the index must be below the count, and the count at least 1"));
        }
        Ok(Self { index, of })
    }
}

/// One grid point's simulation as a shard reports it: the point's index in the grid and what the
/// decision needs (the daily returns and trades closed per day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Index of the point in [`points`] of the grid.
    pub i: usize,
    /// Daily returns over the simulated days.
    pub returns: Vec<f64>,
    /// Trades closed each day.
    pub trades_closed: Vec<u32>,
}

/// What one shard scored (`backtest/{date}/sweep/shard-{i}-of-{n}.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    /// Which shard.
    pub shard: Shard,
    /// Grid size declared.
    pub declared: usize,
    /// Simulated days.
    pub days: usize,
    /// Its points, in grid order.
    pub points: Vec<PointResult>,
    /// How many of them resumed from the previous run's states.
    #[serde(default)]
    pub resumed: usize,
    /// Seconds it took to score them.
    pub seconds: f64,
}

/// One valid point of a grid: its index in the grid, its values, its parameters and their
/// checkpoint key ([`checkpoint::params_key`]).
#[derive(Debug)]
struct ValidPoint {
    i: usize,
    point: Point,
    params: ExecutorParams,
    key: String,
}

/// The valid points of a grid around a base, and how many points the grid declares.
#[derive(Debug)]
struct ValidPoints {
    declared: usize,
    points: Vec<ValidPoint>,
}

/// The valid points of `grid` around `base`. Applying a point goes through the parameters' JSON
/// and their checks, so a process keeps the last grid's points: the weekly runs of one process
/// (the demo, the local scheduler) sweep the same grid around parameters that rarely change, and
/// scoring and deciding both need them.
fn valid_points(base: &ExecutorParams, grid: &SweepGrid) -> Arc<ValidPoints> {
    static LAST: Mutex<Option<(String, Arc<ValidPoints>)>> = Mutex::new(None);
    let id = format!("{}|{grid:?}", checkpoint::params_key(base));
    if let Some((k, v)) = LAST.lock().expect("valid points lock").as_ref()
        && *k == id
    {
        return v.clone();
    }
    let all = points(grid);
    let declared = all.len();
    let points = all
        .into_iter()
        .enumerate()
        .filter_map(|(i, point)| {
            let params = point.apply(base)?;
            Some(ValidPoint { i, point, key: checkpoint::params_key(&params), params })
        })
        .collect();
    let v = Arc::new(ValidPoints { declared, points });
    *LAST.lock().expect("valid points lock") = Some((id, v.clone()));
    v
}

/// Scores this shard's points of the grid around `base` (the parameters in force) on `threads`
/// threads (0: all cores). A point whose state `prior` holds resumes from it (only the days after
/// it are simulated); the states every point reached are returned for the next run.
pub fn score_shard(
    sim: &Simulator<'_>,
    base: &ExecutorParams,
    grid: &SweepGrid,
    shard: Shard,
    threads: usize,
    prior: Option<Checkpoint>,
    progress: &(dyn Fn() + Sync),
) -> (ShardResult, Checkpoint) {
    let t0 = std::time::Instant::now();
    let valid = valid_points(base, grid);
    let declared = valid.declared;
    let mut prior = prior.filter(|c| c.fits(sim)).unwrap_or_default();
    let mine: Vec<_> = valid
        .points
        .iter()
        .enumerate()
        .filter(|(k, _)| k % shard.of == shard.index)
        .map(|(_, v)| (v, prior.take(&v.key)))
        .collect();
    let resumed = mine.iter().filter(|m| m.1.is_some()).count();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let states: Vec<(&ValidPoint, SimState)> = pool.install(|| {
        mine.into_par_iter()
            .map(|(v, from)| {
                let st = sim.resume(&v.params, false, from);
                progress();
                (v, st)
            })
            .collect()
    });
    let points = states
        .iter()
        .map(|(v, st)| PointResult {
            i: v.i,
            returns: st.out.returns.clone(),
            trades_closed: st.out.trades_closed.clone(),
        })
        .collect();
    let next = Checkpoint::of(sim, states.into_iter().map(|(v, st)| (v.key.clone(), st)));
    let result = ShardResult {
        shard,
        declared,
        days: sim.prepared().days.len(),
        points,
        resumed,
        seconds: t0.elapsed().as_secs_f64(),
    };
    (result, next)
}

/// Runs `bt`'s sweep around `base` (the parameters in force) on its threads (0: all cores),
/// resuming the points `prior` holds, and decides with its gates; returns the states for the
/// next run too.
pub fn sweep(
    sim: &Simulator<'_>,
    base: &ExecutorParams,
    bt: &BacktestConfig,
    prior: Option<Checkpoint>,
    progress: &(dyn Fn() + Sync),
) -> (SweepOutcome, Checkpoint) {
    let t0 = std::time::Instant::now();
    let (one, next) = score_shard(sim, base, &bt.sweep, Shard::ALL, bt.threads as usize, prior, progress);
    let out = decide(sim, base, &bt.sweep, &bt.gates, bt.holdout_fraction, vec![one]);
    (SweepOutcome { seconds: t0.elapsed().as_secs_f64(), ..out.expect("one process scores every valid point") }, next)
}

/// The decision over every point the shards scored, exactly as one process decides: the same
/// points in the same order, the same deflated Sharpe and PBO over all of them. An error names
/// a shard or a point that is missing, doubled or from another grid.
pub fn decide(
    sim: &Simulator<'_>,
    base: &ExecutorParams,
    grid: &SweepGrid,
    gates: &PromotionGates,
    holdout_fraction: f64,
    shards: Vec<ShardResult>,
) -> Result<SweepOutcome, String> {
    let t0 = std::time::Instant::now();
    let days = sim.prepared().days.len();
    let train_days = crate::gate::train_len(days, holdout_fraction);
    let valid = valid_points(base, grid);
    let declared = valid.declared;
    let invalid = declared - valid.points.len();
    let of = shards.first().map(|s| s.shard.of).unwrap_or(1);
    let mut seen = vec![false; of];
    let resumed = shards.iter().map(|s| s.resumed).sum();
    let mut by_index: std::collections::BTreeMap<usize, PointResult> = std::collections::BTreeMap::new();
    for s in shards {
        if s.shard.of != of || s.shard.index >= of || s.declared != declared || s.days != days {
            return Err(format!(
                "shard {} of {} scored {} points over {} days; this merge expects {of} shards of {declared} points over {days} days",
                s.shard.index, s.shard.of, s.declared, s.days
            ));
        }
        if std::mem::replace(&mut seen[s.shard.index], true) {
            return Err(format!("shard {} of {of} is given twice", s.shard.index));
        }
        for p in s.points {
            let i = p.i;
            if p.returns.len() != days || by_index.insert(i, p).is_some() {
                return Err(format!("grid point {i} is doubled or has the wrong number of days"));
            }
        }
    }
    if let Some(k) = seen.iter().position(|x| !x) {
        return Err(format!("shard {k} of {of} is missing"));
    }
    let mut scored: Vec<Scored> = Vec::with_capacity(valid.points.len());
    for v in &valid.points {
        let i = v.i;
        let r = by_index.remove(&i).ok_or_else(|| format!("grid point {i} was scored by no shard"))?;
        scored.push(self::scored(v.point.clone(), r.returns, &r.trades_closed, train_days));
    }
    if let Some(i) = by_index.keys().next() {
        return Err(format!("grid point {i} is not a valid point of this grid"));
    }
    let baseline = score(sim, base, Point::of(grid, base), train_days);
    let train_returns: Vec<Vec<f64>> =
        scored.iter().map(|s| s.returns[..train_days.min(s.returns.len())].to_vec()).collect();
    let pbo = (!scored.is_empty()).then(|| overfit::pbo(&train_returns, 10));
    let best_i = (0..scored.len()).max_by(|a, b| scored[*a].train.total_cmp(&scored[*b].train));
    let deflated = best_i.map(|i| {
        let sharpes: Vec<f64> = train_returns.iter().map(|r| overfit::sharpe_per_period(r)).collect();
        overfit::deflated_sharpe(&train_returns[i], &sharpes)
    });
    let best = best_i.map(|i| scored[i].clone());
    let mut g = Gates::default();
    if let Some(b) = &best {
        g.check(
            GateCheck::at_least("trades", b.train_trades as f64, f64::from(gates.min_trades))
                .because(format!("trades: {} closed in training (minimum {})", b.train_trades, gates.min_trades)),
        );
        let gain = b.train - baseline.train;
        g.check(GateCheck::at_least("improvement", gain, gates.min_improvement).because(format!(
            "improvement: training objective {:.3} vs {:.3} in force (+{gain:.3}, minimum +{:.2})",
            b.train, baseline.train, gates.min_improvement
        )));
        let hold_gain = b.holdout - baseline.holdout;
        let retention = if gain > 0.0 { hold_gain / gain } else { f64::NAN };
        g.check(GateCheck::at_least("holdout_retention", retention, gates.min_holdout_retention).because(format!(
            "holdout: objective {:.3} vs {:.3} in force, retention {retention:.2} (minimum {:.2})",
            b.holdout, baseline.holdout, gates.min_holdout_retention
        )));
        if let Some(d) = &deflated {
            g.check(GateCheck::at_least("deflated_sharpe", d.probability, gates.min_deflated_sharpe).because(format!(
                    "deflated Sharpe: {:.3} (minimum {:.2}; best per-day Sharpe {:.3} vs {:.3} expected from the best of {} skill-less trials, {} days)",
                    d.probability, gates.min_deflated_sharpe, d.sharpe, d.expected_max, d.n_trials, d.n_periods
                )));
        }
        if let Some(p) = &pbo {
            g.check(GateCheck::at_most("pbo", p.probability, gates.max_pbo).because(format!(
                "probability of backtest overfitting: {:.3} over {} CSCV splits (maximum {:.2})",
                p.probability, p.splits, gates.max_pbo
            )));
        }
        if b.point == baseline.point {
            g.check(
                GateCheck::holds("change", false)
                    .because("change: the best point is the parameters in force, nothing to change"),
            );
        }
    } else {
        g.check(GateCheck::holds("valid_point", false).because("no valid grid point"));
    }
    let (promote, gates_out) = (g.passed, g.lines);
    let params = if promote { best.as_ref().and_then(|b| b.point.apply(base)) } else { None };
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|a, b| scored[*b].train.total_cmp(&scored[*a].train));
    let top = order.iter().take(10).map(|i| scored[*i].clone()).collect();
    let surface = Surface::of(&scored);
    scored.clear();
    Ok(SweepOutcome {
        declared,
        invalid,
        split: (train_days, days - train_days.min(days)),
        baseline,
        best,
        top,
        surface,
        deflated,
        pbo,
        promote,
        gates: gates_out,
        params,
        resumed,
        seconds: t0.elapsed().as_secs_f64(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_the_product_of_its_axes_with_the_first_varying_slowest() {
        let g = SweepGrid::of(&[("risk.min_score", &[60.0, 70.0]), ("exits.atr_multiple", &[2.0, 2.5, 3.0])]);
        let pts = points(&g);
        assert_eq!(pts.len(), g.len());
        let values: Vec<Vec<f64>> = pts.iter().map(|p| p.0.iter().map(|(_, v)| *v).collect()).collect();
        assert_eq!(values[..4], [vec![60.0, 2.0], vec![60.0, 2.5], vec![60.0, 3.0], vec![70.0, 2.0]]);
        let base = ae_shared::config::Config::defaults().executor;
        let p = pts[4].apply(&base).unwrap();
        assert_eq!((p.risk.min_score.get(), p.exits.atr_multiple), (70.0, 2.5));
        assert_eq!(Point::of(&g, &p), pts[4]);
        assert_eq!(serde_json::to_string(&pts[4]).unwrap(), r#"{"risk.min_score":70.0,"exits.atr_multiple":2.5}"#);
    }
}
