//! Training: walk-forward validation with an expanding window, purge and embargo; LightGBM;
//! out-of-sample fold statistics; Platt calibration of `p_up` on the out-of-fold predictions.
//!
//! Fold layout over the `m` sessions that have labels (sizes scale with the history):
//! the first `min_train_fraction × m` sessions only train; then `folds` test windows of
//! `min(max_test_days, (rest − (folds − 1)·embargo) / folds)` sessions (at least 5; fewer folds
//! when history is short). Fold *j* trains on every labelled session up to `purge` sessions before
//! its test window (so no training label's horizon reaches into the test window) and is scored only
//! on that window; consecutive test windows are `embargo` sessions apart so their labels do not
//! overlap. Inside each fold the last 15% of the training sessions (after another purge gap) are an
//! inner validation set for early stopping; the final model trains on everything with the median
//! best iteration. Deterministic given the seed.

use ae_shared::contracts::params::{GbmParams, WalkForward};
use ae_shared::contracts::predictor_metrics::{FoldMetrics, WalkForwardSummary};
use ae_shared::metrics::{pearson, spearman};
use ae_shared::types::Fraction;
use lightgbm3::{Booster, Dataset};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::{FeatureSet, NF};

/// Training failures.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Not enough labelled history for walk-forward validation.
    #[error("not enough history: {0}")]
    History(String),
    /// LightGBM refused.
    #[error("LightGBM: {0}")]
    Gbm(String),
}

fn gbm(e: lightgbm3::Error) -> TrainError {
    TrainError::Gbm(e.to_string())
}

/// One fold's sessions (indices into the feature set's dates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training sessions (before the purge gap).
    pub train: Vec<usize>,
    /// Test sessions.
    pub test: Vec<usize>,
}

/// Whether the row of session `t`, symbol `n` trains: it has a label and its features.
fn usable(fs: &FeatureSet, labels: &[f32], t: usize, n: usize) -> bool {
    labels[t * fs.tickers.len() + n].is_finite() && fs.row(t, n)[1].is_finite()
}

/// Sessions with at least `min_rows` labelled rows, ascending.
pub fn labelled_sessions(fs: &FeatureSet, labels: &[f32], min_rows: usize) -> Vec<usize> {
    let nn = fs.tickers.len();
    (0..fs.dates.len()).filter(|t| (0..nn).filter(|&n| usable(fs, labels, *t, n)).count() >= min_rows).collect()
}

/// Lays out the folds over labelled sessions `l`.
pub fn plan(l: &[usize], wf: &WalkForward) -> Result<Vec<Fold>, TrainError> {
    // Every field named (no `..`): a layout setting added and not used here fails to build.
    let WalkForward { folds, min_train_fraction, max_test_days, purge_days, embargo_days } = wf;
    let m = l.len();
    let min_train = ((min_train_fraction.get() * m as f64).ceil() as usize).max(20);
    let embargo = *embargo_days as usize;
    let mut folds = *folds as usize;
    let test_len = loop {
        let room = m.saturating_sub(min_train + *purge_days as usize);
        let len = room.saturating_sub(folds.saturating_sub(1) * embargo) / folds.max(1);
        let len = len.min(*max_test_days as usize);
        if len >= 5 || folds <= 2 {
            break len;
        }
        folds -= 1;
    };
    if test_len < 5 {
        return Err(TrainError::History(format!(
            "{m} labelled sessions leave test windows of {test_len} (need 5) after a {min_train}-session first training window"
        )));
    }
    let purge = *purge_days as usize;
    let mut out = Vec::new();
    let mut start = min_train + purge;
    for _ in 0..folds {
        let end = start + test_len;
        if end > m {
            break;
        }
        out.push(Fold { train: l[..start - purge].to_vec(), test: l[start..end].to_vec() });
        start = end + embargo; // the next window starts `embargo` sessions after this one ends
    }
    if out.len() < 2 {
        return Err(TrainError::History(format!("{m} labelled sessions allow only {} fold(s)", out.len())));
    }
    Ok(out)
}

/// Rows of `sessions` with a label: features (row-major), labels, (session, symbol) of each row.
pub fn gather(fs: &FeatureSet, labels: &[f32], sessions: &[usize]) -> (Vec<f32>, Vec<f32>, Vec<(usize, usize)>) {
    let nn = fs.tickers.len();
    let rows = labelled_rows(fs, labels, sessions);
    let (mut x, mut y, mut at) = (Vec::with_capacity(rows * NF), Vec::with_capacity(rows), Vec::with_capacity(rows));
    for &t in sessions {
        for n in 0..nn {
            if usable(fs, labels, t, n) {
                x.extend_from_slice(fs.row(t, n));
                y.push(labels[t * nn + n]);
                at.push((t, n));
            }
        }
    }
    (x, y, at)
}

/// How many rows [`gather`] would return for `sessions`, without copying them.
pub fn labelled_rows(fs: &FeatureSet, labels: &[f32], sessions: &[usize]) -> usize {
    let nn = fs.tickers.len();
    sessions.iter().map(|&t| (0..nn).filter(|&n| usable(fs, labels, t, n)).count()).sum()
}

/// LightGBM parameters as the JSON lightgbm3 passes through.
pub fn gbm_params(p: &GbmParams, iterations: u32, early_stopping: bool) -> serde_json::Value {
    // Every field named (no `..`): a setting added to `GbmParams` and not passed on fails to build.
    let GbmParams {
        num_leaves,
        learning_rate,
        num_iterations: _, // the upper bound; `iterations` is what this fit runs (early stopping or the final fit)
        min_data_in_leaf,
        feature_fraction,
        bagging_fraction,
        lambda_l1,
        lambda_l2,
        early_stopping_rounds,
        seed,
    } = p;
    let mut v = serde_json::json!({
        "objective": "regression",
        "metric": "l2",
        "num_iterations": iterations,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_data_in_leaf": min_data_in_leaf,
        "feature_fraction": feature_fraction.get(),
        "bagging_fraction": bagging_fraction.get(),
        "bagging_freq": 1,
        "lambda_l1": lambda_l1,
        "lambda_l2": lambda_l2,
        "seed": seed,
        "deterministic": true,
        "force_row_wise": true,
        "num_threads": 1,
        "verbosity": -1,
    });
    if early_stopping {
        v["early_stopping_rounds"] = serde_json::json!(early_stopping_rounds);
    }
    v
}

/// Trains on `train` sessions with early stopping on the last 15% of them (after a purge gap);
/// returns the booster and its best iteration.
pub fn fit_with_inner_validation(
    fs: &FeatureSet,
    labels: &[f32],
    train: &[usize],
    p: &GbmParams,
    purge: usize,
) -> Result<(Booster, usize), TrainError> {
    let k = train.len();
    let valid_len = (k * 15 / 100).max(5);
    if k < valid_len + purge + 10 {
        return Err(TrainError::History(format!("{k} training sessions are too few for an inner validation split")));
    }
    let inner_train = &train[..k - valid_len - purge];
    let inner_valid = &train[k - valid_len..];
    let (x, y, _) = gather(fs, labels, inner_train);
    let (vx, vy, _) = gather(fs, labels, inner_valid);
    let ds = Dataset::from_slice(&x, &y, NF as i32, true).map_err(gbm)?;
    let vs = Dataset::from_slice_with_reference(&vx, &vy, NF as i32, true, Some(&ds)).map_err(gbm)?;
    let booster = Booster::train_with_valid(ds, Some(vs), &gbm_params(p, p.num_iterations, true)).map_err(gbm)?;
    let best = booster.num_iterations().max(1) as usize;
    Ok((booster, best))
}

/// Trains on all rows of `sessions` for exactly `iterations` rounds.
pub fn fit_final(
    fs: &FeatureSet,
    labels: &[f32],
    sessions: &[usize],
    p: &GbmParams,
    iterations: usize,
) -> Result<Booster, TrainError> {
    let (x, y, _) = gather(fs, labels, sessions);
    let ds = Dataset::from_slice(&x, &y, NF as i32, true).map_err(gbm)?;
    Booster::train(ds, &gbm_params(p, iterations as u32, false)).map_err(gbm)
}

/// Predictions for row-major features.
pub fn predict(b: &Booster, x: &[f32]) -> Result<Vec<f64>, TrainError> {
    if x.is_empty() {
        return Ok(Vec::new());
    }
    b.predict_with_params(x, NF as i32, true, "num_threads=1").map_err(gbm)
}

/// Out-of-fold predictions: (session, symbol, prediction, label).
pub type Oof = Vec<(usize, usize, f64, f64)>;

/// Walk-forward result.
#[derive(Debug, Clone)]
pub struct WalkForwardResult {
    /// Per-fold statistics.
    pub folds: Vec<FoldMetrics>,
    /// Summary.
    pub summary: WalkForwardSummary,
    /// Out-of-fold predictions.
    pub oof: Oof,
    /// Best iteration per fold.
    pub best_iterations: Vec<usize>,
}

/// Daily cross-sectional IC and rank IC averaged over the sessions of `rows` (≥ 10 names a day).
pub fn daily_ics(rows: &[(usize, usize, f64, f64)]) -> (f64, f64, usize) {
    let mut by_day: std::collections::BTreeMap<usize, (Vec<f64>, Vec<f64>)> = std::collections::BTreeMap::new();
    for &(t, _, p, y) in rows {
        let e = by_day.entry(t).or_default();
        e.0.push(p);
        e.1.push(y);
    }
    let (mut ic, mut ric, mut k) = (0.0, 0.0, 0usize);
    for (p, y) in by_day.values().filter(|(p, _)| p.len() >= 10) {
        let (a, b) = (pearson(p, y), spearman(p, y));
        if a.is_finite() && b.is_finite() {
            ic += a;
            ric += b;
            k += 1;
        }
    }
    if k == 0 { (f64::NAN, f64::NAN, 0) } else { (ic / k as f64, ric / k as f64, k) }
}

fn hit(rows: &[(usize, usize, f64, f64)]) -> (usize, usize) {
    let decided: Vec<_> = rows.iter().filter(|r| r.3 != 0.0 && r.2 != 0.0).collect();
    (decided.iter().filter(|r| (r.2 > 0.0) == (r.3 > 0.0)).count(), decided.len())
}

/// One fold: fit with inner validation on its training sessions, score its test sessions.
fn score_fold(
    fs: &FeatureSet,
    labels: &[f32],
    j: usize,
    f: &Fold,
    p: &GbmParams,
    purge: usize,
) -> Result<(FoldMetrics, Oof, usize), TrainError> {
    let (booster, b) = fit_with_inner_validation(fs, labels, &f.train, p, purge)?;
    let (x, y, at) = gather(fs, labels, &f.test);
    let pred = predict(&booster, &x)?;
    let rows: Oof = at.iter().zip(pred.iter().zip(&y)).map(|(&(t, n), (&p, &y))| (t, n, p, y as f64)).collect();
    let (ic, ric, _) = daily_ics(&rows);
    let (h, n) = hit(&rows);
    let n_train = labelled_rows(fs, labels, &f.train);
    let m = FoldMetrics {
        fold: j as u32,
        train_start: fs.dates[f.train[0]],
        train_end: fs.dates[*f.train.last().expect("non-empty")],
        test_start: fs.dates[f.test[0]],
        test_end: fs.dates[*f.test.last().expect("non-empty")],
        n_train: n_train as u64,
        n_test: rows.len() as u64,
        ic: if ic.is_finite() { ic } else { 0.0 },
        rank_ic: if ric.is_finite() { ric } else { 0.0 },
        hit_rate: Fraction::saturating(if n > 0 { h as f64 / n as f64 } else { 0.0 }),
    };
    Ok((m, rows, b))
}

/// Runs walk-forward validation.
pub fn walk_forward(
    fs: &FeatureSet,
    labels: &[f32],
    folds: &[Fold],
    p: &GbmParams,
    purge: usize,
) -> Result<WalkForwardResult, TrainError> {
    // The folds are independent fits (one LightGBM thread each, deterministic): they run side by
    // side and are gathered in fold order, so the result does not depend on the core count.
    let scored: Vec<Result<(FoldMetrics, Oof, usize), TrainError>> =
        folds.par_iter().enumerate().map(|(j, f)| score_fold(fs, labels, j, f, p, purge)).collect();
    let mut out = Vec::new();
    let mut oof = Vec::new();
    let mut best = Vec::new();
    for r in scored {
        let (m, rows, b) = r?;
        tracing::info!(fold = m.fold, test = %format!("{}..{}", m.test_start, m.test_end), ic = m.ic, rank_ic = m.rank_ic, best_iteration = b, "fold scored out of sample");
        out.push(m);
        oof.extend(rows);
        best.push(b);
    }
    let ics: Vec<f64> = out.iter().map(|f| f.ic).collect();
    let mut sorted = ics.clone();
    sorted.sort_by(f64::total_cmp);
    let k = sorted.len();
    let median = if k % 2 == 1 { sorted[k / 2] } else { (sorted[k / 2 - 1] + sorted[k / 2]) / 2.0 };
    let mean = ics.iter().sum::<f64>() / k as f64;
    let sd = (ics.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k.max(2) - 1) as f64).sqrt();
    let (h, n) = hit(&oof);
    let summary = WalkForwardSummary {
        n_folds: k as u32,
        median_ic: median,
        mean_rank_ic: out.iter().map(|f| f.rank_ic).sum::<f64>() / k as f64,
        positive_fold_share: Fraction::saturating(ics.iter().filter(|x| **x > 0.0).count() as f64 / k as f64),
        icir: if sd > 0.0 { mean / sd } else { 0.0 },
        hit_rate: Fraction::saturating(if n > 0 { h as f64 / n as f64 } else { 0.0 }),
    };
    Ok(WalkForwardResult { folds: out, summary, oof, best_iterations: best })
}

/// Platt scaling `p_up = σ(a·x + b)` of a prediction `x`, fitted on out-of-fold predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope.
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

impl Platt {
    /// Calibrated probability that the label is positive.
    pub fn p_up(&self, x: f64) -> f64 {
        1.0 / (1.0 + (-(self.a * x + self.b)).exp())
    }

    /// Fits by Newton's method on (prediction, label > 0).
    pub fn fit(oof: &[(usize, usize, f64, f64)]) -> Platt {
        let pts: Vec<(f64, f64)> = oof.iter().filter(|r| r.3 != 0.0).map(|r| (r.2, f64::from(r.3 > 0.0))).collect();
        let (mut a, mut b) = (0.0f64, 0.0f64);
        for _ in 0..50 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &(x, y) in &pts {
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let w = (p * (1.0 - p)).max(1e-12);
                ga += (p - y) * x;
                gb += p - y;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            haa += 1e-9;
            hbb += 1e-9;
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if da.abs() < 1e-10 && db.abs() < 1e-10 {
                break;
            }
        }
        Platt { a, b }
    }
}

/// Expected calibration error over 10 equal-width bins of `p`.
pub fn ece(points: &[(f64, bool)]) -> f64 {
    let mut bins = [(0.0f64, 0.0f64, 0usize); 10];
    for &(p, y) in points {
        let k = ((p * 10.0) as usize).min(9);
        bins[k].0 += p;
        bins[k].1 += f64::from(y);
        bins[k].2 += 1;
    }
    let n = points.len().max(1) as f64;
    bins.iter().filter(|b| b.2 > 0).map(|b| (b.0 / b.2 as f64 - b.1 / b.2 as f64).abs() * b.2 as f64 / n).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_shared::config::Config;

    #[test]
    fn folds_scale_with_history_and_never_overlap() {
        let wf = Config::defaults().predictor.walk_forward;
        for m in [120usize, 240, 2400] {
            let l: Vec<usize> = (0..m).collect();
            let folds = plan(&l, &wf).unwrap();
            assert!(folds.len() >= 2, "{m}");
            for f in &folds {
                let last_train = *f.train.last().unwrap();
                assert!(f.test[0] >= last_train + 1 + wf.purge_days as usize, "purge gap");
                assert!(f.test.len() >= 5 && f.test.len() <= wf.max_test_days as usize);
            }
            for w in folds.windows(2) {
                assert!(
                    w[1].test[0] > *w[0].test.last().unwrap() + wf.embargo_days as usize,
                    "embargo between test windows"
                );
                assert!(w[1].train.len() > w[0].train.len(), "expanding window");
            }
        }
        assert!(plan(&(0..30).collect::<Vec<_>>(), &wf).is_err());
    }

    #[test]
    fn platt_recovers_a_logistic_relationship() {
        let mut oof = Vec::new();
        for i in 0..4000 {
            let x = (i as f64 / 4000.0 - 0.5) * 0.2;
            let p = 1.0 / (1.0 + (-(20.0 * x + 0.1)).exp());
            let y = if ((i * 7919) % 1000) as f64 / 1000.0 < p { 0.01 } else { -0.01 };
            oof.push((0, i, x, y));
        }
        let c = Platt::fit(&oof);
        assert!((c.a - 20.0).abs() < 3.0 && (c.b - 0.1).abs() < 0.15, "{c:?}");
        assert!(c.p_up(0.1) > c.p_up(-0.1));
    }
}
