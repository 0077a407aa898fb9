//! Training: walk-forward validation with an expanding (or rolling) window, purge and embargo;
//! LightGBM; out-of-sample fold statistics; Platt calibration of `p_up` on the out-of-fold predictions.
//!
//! Fold layout over the `m` sessions that have labels (sizes scale with the history): the first
//! `min_train_fraction × m` sessions only train; the test windows are blocks of `len` sessions
//! laid end to end from the first labelled session, `embargo` sessions apart, and the last
//! `folds` blocks that start after the first training window are the folds (the newest block may
//! still be filling: it tests the sessions it has, at least 5). `len` is what the history allows
//! — `min(max_test_days, (rest − (folds − 1)·embargo) / folds)`, at least 5, fewer folds when
//! history is short — taken down to 5·2^k (or `max_test_days` when that caps it), so it changes
//! only when the history doubles. Fold *j* trains on every labelled session up to `purge` sessions
//! before its test window (so no training label's horizon reaches into the test window), or on
//! the newest `max_train_days` of them when that is set (a rolling window), and is scored only on
//! that window. Inside each fold the last 15% of the training sessions (after
//! another purge gap) are an inner validation set for early stopping; the final model trains on
//! everything (or the newest `max_train_days` sessions) with the median best iteration.
//! Deterministic given the seed.
//!
//! Because a block's place does not move as weeks are added, a fold's training sessions stay the
//! same from one week to the next; its fitted model is the same too, and is kept on the bus by
//! the digest of its inputs ([`fit_digest`]; `train` loads and saves them). Only the scoring of
//! the test windows, which is cheap, is redone every week. A fit loaded or made here is scored
//! the same way (through LightGBM's model text), so a run that reuses fits gives the figures of
//! a run that fits everything to the bit.

use ae_shared::contracts::params::{GbmParams, WalkForward};
use ae_shared::contracts::predictions::Driver;
use ae_shared::contracts::predictor_metrics::{FeatureImportance, FoldMetrics, WalkForwardSummary};
use ae_shared::metrics::{pearson, spearman};
use ae_shared::types::Fraction;
use lightgbm3::{Booster, Dataset, ImportanceType};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::features::{FeatureSet, NAMES, NF};

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

/// Lays out the folds over labelled sessions `l` (see the module's documentation).
pub fn plan(l: &[usize], wf: &WalkForward) -> Result<Vec<Fold>, TrainError> {
    // Every field named (no `..`): a layout setting added and not used here fails to build.
    let WalkForward { folds, min_train_fraction, max_test_days, purge_days, embargo_days, max_train_days } = wf;
    let m = l.len();
    let min_train = ((min_train_fraction.get() * m as f64).ceil() as usize).max(20);
    let embargo = *embargo_days as usize;
    let purge = *purge_days as usize;
    let max_test = *max_test_days as usize;
    let mut folds = *folds as usize;
    let room_len = loop {
        let room = m.saturating_sub(min_train + purge);
        let len = room.saturating_sub(folds.saturating_sub(1) * embargo) / folds.max(1);
        let len = len.min(max_test);
        if len >= 5 || folds <= 2 {
            break len;
        }
        folds -= 1;
    };
    if room_len < 5 {
        return Err(TrainError::History(format!(
            "{m} labelled sessions leave test windows of {room_len} (need 5) after a {min_train}-session first training window"
        )));
    }
    let len = block_len(room_len, max_test);
    let period = len + embargo;
    // Blocks k = 0, 1, ... start at k·period; the newest one with at least 5 sessions is the last
    // fold, and the folds go back from it while their training window is long enough.
    let mut out = Vec::new();
    let mut k = (m - 5) / period;
    loop {
        let start = k * period;
        if out.len() == folds || start < min_train + purge {
            break;
        }
        out.push(Fold {
            train: newest(&l[..start - purge], *max_train_days).to_vec(),
            test: l[start..(start + len).min(m)].to_vec(),
        });
        if k == 0 {
            break;
        }
        k -= 1;
    }
    out.reverse();
    if out.len() < 2 {
        return Err(TrainError::History(format!(
            "{m} labelled sessions allow only {} fold(s) of {len} sessions",
            out.len()
        )));
    }
    Ok(out)
}

/// The sessions a model trains on out of the labelled `sessions` before its test window (or
/// before the training day, for the final model): the newest `max_train_days` of them, or all of
/// them when it is 0 ([`WalkForward::max_train_days`]).
pub fn newest(sessions: &[usize], max_train_days: u32) -> &[usize] {
    let window = max_train_days as usize;
    if window == 0 { sessions } else { &sessions[sessions.len().saturating_sub(window)..] }
}

/// The test block length for a history that allows `room_len` sessions: `max_test` when it caps
/// them, else the largest 5·2^k not above them.
fn block_len(room_len: usize, max_test: usize) -> usize {
    if room_len >= max_test {
        return max_test;
    }
    let mut len = 5;
    while len * 2 <= room_len {
        len *= 2;
    }
    len
}

/// Rows of `sessions` with a label: features (row-major), labels, (session, symbol) of each row.
pub fn gather(fs: &FeatureSet, labels: &[f32], sessions: &[usize]) -> (Vec<f32>, Vec<f32>, Vec<(usize, usize)>) {
    let (y, at) = labelled(fs, labels, sessions);
    (features_of(fs, &at), y, at)
}

/// [`gather`]'s labels and (session, symbol) of each row, without the features.
fn labelled(fs: &FeatureSet, labels: &[f32], sessions: &[usize]) -> (Vec<f32>, Vec<(usize, usize)>) {
    let nn = fs.tickers.len();
    let at: Vec<(usize, usize)> = sessions
        .iter()
        .flat_map(|&t| (0..nn).filter(move |&n| usable(fs, labels, t, n)).map(move |n| (t, n)))
        .collect();
    (at.iter().map(|&(t, n)| labels[t * nn + n]).collect(), at)
}

/// The features of the rows `at`, row-major.
fn features_of(fs: &FeatureSet, at: &[(usize, usize)]) -> Vec<f32> {
    let mut x = Vec::with_capacity(at.len() * NF);
    for &(t, n) in at {
        x.extend_from_slice(fs.row(t, n));
    }
    x
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
        quantized_gradients,
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
    if *quantized_gradients {
        v["use_quantized_grad"] = serde_json::json!(true);
        v["quant_train_renew_leaf"] = serde_json::json!(true);
    }
    v
}

/// A fold's training sessions split for early stopping: the inner training sessions, and the last
/// 15% of `train` (at least 5) after a `purge` gap as the inner validation set.
fn inner_split(train: &[usize], purge: usize) -> Result<(&[usize], &[usize]), TrainError> {
    let k = train.len();
    let valid_len = (k * 15 / 100).max(5);
    if k < valid_len + purge + 10 {
        return Err(TrainError::History(format!("{k} training sessions are too few for an inner validation split")));
    }
    Ok((&train[..k - valid_len - purge], &train[k - valid_len..]))
}

/// Rows a training set's bins are found from, at most: LightGBM's own `bin_construct_sample_cnt`
/// (200,000 by default), which the binding does not pass, made smaller. Finding the bins sorts
/// every sampled value of every feature, and was a third of a final fit on 150,000 rows.
pub const BIN_SAMPLE_ROWS: usize = 50_000;

/// A LightGBM dataset of row-major `x` (`nf` columns) and labels `y`. Above `sample` rows, its
/// bins are found from every k-th row (the fewest k that leaves at most `sample`), a dataset
/// LightGBM then bins every row with, as it bins a validation set with its training set's bins.
pub fn dataset(x: &[f32], y: &[f32], nf: usize, sample: usize) -> Result<Dataset, TrainError> {
    let every = y.len().div_ceil(sample.max(1));
    if every <= 1 {
        return Dataset::from_slice(x, y, nf as i32, true).map_err(gbm);
    }
    let sx: Vec<f32> = x.chunks_exact(nf).step_by(every).flatten().copied().collect();
    let sy: Vec<f32> = y.iter().step_by(every).copied().collect();
    let bins = Dataset::from_slice(&sx, &sy, nf as i32, true).map_err(gbm)?;
    Dataset::from_slice_with_reference(x, y, nf as i32, true, Some(&bins)).map_err(gbm)
}

/// Trains on `train` sessions with early stopping on the last 15% of them (after a purge gap);
/// returns the booster, cut back to its best iteration.
pub fn fit_with_inner_validation(
    fs: &FeatureSet,
    labels: &[f32],
    train: &[usize],
    p: &GbmParams,
    purge: usize,
) -> Result<Booster, TrainError> {
    let (inner_train, inner_valid) = inner_split(train, purge)?;
    let (x, y, _) = gather(fs, labels, inner_train);
    let (vx, vy, _) = gather(fs, labels, inner_valid);
    let ds = dataset(&x, &y, NF, BIN_SAMPLE_ROWS)?;
    let vs = Dataset::from_slice_with_reference(&vx, &vy, NF as i32, true, Some(&ds)).map_err(gbm)?;
    Booster::train_with_valid(ds, Some(vs), &gbm_params(p, p.num_iterations, true)).map_err(gbm)
}

/// Bumped when what a fold's fit depends on changes other than through its rows and parameters
/// (how they are hashed, the inner split, the LightGBM that fits): kept fits stop matching.
/// [`tests::a_fit_digest_names_the_lightgbm_that_made_it`] fails when LightGBM's output moves.
pub const FIT_FORMAT: u32 = 2;

/// Digest of each session's training rows (features and label, in [`gather`]'s order): what a
/// fit sees of that session.
pub fn session_digests(fs: &FeatureSet, labels: &[f32]) -> Vec<[u8; 32]> {
    let nn = fs.tickers.len();
    (0..fs.dates.len())
        .into_par_iter()
        .map(|t| {
            let mut h = Sha256::new();
            for n in (0..nn).filter(|&n| usable(fs, labels, t, n)) {
                for v in fs.row(t, n) {
                    h.update(v.to_le_bytes());
                }
                h.update(labels[t * nn + n].to_le_bytes());
            }
            h.finalize().into()
        })
        .collect()
}

/// Digest of what decides a fold's out-of-fold predictions: its fit (`fit`, a [`fit_digest`])
/// and its test sessions' rows (by [`session_digests`]).
pub fn oof_digest(fit: &[u8; 32], sessions: &[[u8; 32]], test: &[usize]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(fit);
    h.update((test.len() as u64).to_le_bytes());
    for &t in test {
        h.update(sessions[t]);
    }
    h.finalize().into()
}

/// Digest of everything that decides [`fit_with_inner_validation`] on `train`: [`FIT_FORMAT`],
/// the feature names, the LightGBM parameters, the purge gap, and the inner training and
/// validation sessions' rows (by [`session_digests`]).
pub fn fit_digest(sessions: &[[u8; 32]], train: &[usize], p: &GbmParams, purge: usize) -> Result<[u8; 32], TrainError> {
    let (inner_train, inner_valid) = inner_split(train, purge)?;
    let mut h = Sha256::new();
    h.update(FIT_FORMAT.to_le_bytes());
    h.update(crate::features::NAMES.join(",").as_bytes());
    h.update(gbm_params(p, p.num_iterations, true).to_string().as_bytes());
    h.update((purge as u64).to_le_bytes());
    for part in [inner_train, inner_valid] {
        h.update((part.len() as u64).to_le_bytes());
        for &t in part {
            h.update(sessions[t]);
        }
    }
    Ok(h.finalize().into())
}

/// The final model's boosting rounds: the median of the folds' best iterations, at least 10.
pub fn final_iterations(best: &[usize]) -> usize {
    let mut best = best.to_vec();
    best.sort_unstable();
    best.get(best.len() / 2).copied().unwrap_or(0).max(10)
}

/// The final model's text: all rows of `sessions`, trained for the rounds `rounds` yields
/// ([`final_iterations`]). Building its dataset (LightGBM's binning, most of a final fit) does
/// not wait for the rounds, so this runs on its own thread while the caller validates; `None`
/// when the rounds never come (the validation failed, or the gate refused the model).
pub fn fit_final(
    fs: &FeatureSet,
    labels: &[f32],
    sessions: &[usize],
    p: &GbmParams,
    rounds: std::sync::mpsc::Receiver<usize>,
) -> Result<Option<String>, TrainError> {
    let (x, y, _) = gather(fs, labels, sessions);
    let every = y.len().div_ceil(BIN_SAMPLE_ROWS);
    if every <= 1 {
        let ds = dataset(&x, &y, NF, BIN_SAMPLE_ROWS)?;
        drop((x, y));
        let Ok(iterations) = rounds.recv() else { return Ok(None) };
        let booster = Booster::train(ds, &gbm_params(p, iterations as u32, false)).map_err(gbm)?;
        return booster.save_string().map(Some).map_err(gbm);
    }
    // The same dataset as `dataset` builds, its rows binned on two threads (see `lgbm`).
    let set = crate::lgbm::training_set(&x, &y, NF, every)?;
    drop((x, y));
    let Ok(iterations) = rounds.recv() else { return Ok(None) };
    crate::lgbm::train(set, &gbm_params(p, iterations as u32, false)).map(Some)
}

/// Predictions for row-major features.
pub fn predict(b: &Booster, x: &[f32]) -> Result<Vec<f64>, TrainError> {
    if x.is_empty() {
        return Ok(Vec::new());
    }
    b.predict_with_params(x, NF as i32, true, "num_threads=1").map_err(gbm)
}

/// The model's gain-based importance of each feature, largest first; features that never split
/// are left out.
pub fn importance(b: &Booster) -> Result<Vec<FeatureImportance>, TrainError> {
    let gain = b.feature_importance(ImportanceType::Gain).map_err(gbm)?;
    let total: f64 = gain.iter().filter(|g| g.is_finite()).sum();
    let mut out: Vec<FeatureImportance> = NAMES
        .iter()
        .zip(gain)
        .filter(|(_, g)| g.is_finite() && *g > 0.0)
        .map(|(f, g)| FeatureImportance { feature: f.to_string(), gain: g, share: g / total })
        .collect();
    out.sort_by(|a, b| b.gain.total_cmp(&a.gain).then_with(|| a.feature.cmp(&b.feature)));
    Ok(out)
}

/// The `k` largest SHAP contributions (LightGBM's own) of each row of row-major `x`, largest in
/// magnitude first: what drove each prediction.
pub fn drivers(b: &Booster, x: &[f32], k: usize) -> Result<Vec<Vec<Driver>>, TrainError> {
    if x.is_empty() {
        return Ok(Vec::new());
    }
    let contrib = b.predict_contrib(x, NF as i32, true).map_err(gbm)?;
    // Each row: one contribution per feature, then the base value.
    Ok(contrib
        .chunks(NF + 1)
        .map(|row| {
            let mut d: Vec<Driver> = NAMES
                .iter()
                .zip(&row[..NF])
                .filter(|(_, c)| c.is_finite() && **c != 0.0)
                .map(|(f, c)| Driver { feature: f.to_string(), contribution: *c })
                .collect();
            d.sort_by(|a, b| {
                b.contribution.abs().total_cmp(&a.contribution.abs()).then_with(|| a.feature.cmp(&b.feature))
            });
            d.truncate(k);
            d
        })
        .collect())
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
    /// Per fold, the model text fitted by this run (`None` where a kept fit was used).
    pub fitted: Vec<Option<String>>,
    /// Per fold, the out-of-fold predictions made by this run (`None` where kept ones were read).
    pub predicted: Vec<Option<Vec<f64>>>,
}

/// What an earlier training kept of a fold: its model text ([`fit_digest`]) and, when the fold
/// is tested on the same rows, its out-of-fold predictions ([`oof_digest`]).
#[derive(Debug, Clone, Default)]
pub struct KeptFold {
    /// The model text.
    pub text: Option<String>,
    /// The predictions of the test rows, in [`gather`]'s order.
    pub predictions: Option<Vec<f64>>,
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

/// One fold scored.
struct ScoredFold {
    metrics: FoldMetrics,
    oof: Oof,
    best_iteration: usize,
    /// The model text when this run fitted it.
    fitted: Option<String>,
    /// The predictions when this run made them.
    predicted: Option<Vec<f64>>,
}

/// One fold: its model (the kept one, or fitted with inner validation), scored on its test
/// sessions. Either way the model goes through LightGBM's text, so both score the same; kept
/// predictions of a kept model are the ones it makes (their key names its fit and the rows), and
/// are used when there is one for every test row.
fn score_fold(
    fs: &FeatureSet,
    labels: &[f32],
    j: usize,
    f: &Fold,
    p: &GbmParams,
    purge: usize,
    kept: &KeptFold,
) -> Result<ScoredFold, TrainError> {
    let text = kept.text.as_deref().and_then(|t| {
        Booster::from_string(t)
            .inspect_err(|e| {
                tracing::warn!(fold = j, "kept walk-forward fit is not a LightGBM model ({e}): fitted again")
            })
            .ok()
    });
    let model_kept = text.is_some();
    let (booster, fitted) = match text {
        Some(b) => (b, None),
        None => {
            let text = fit_with_inner_validation(fs, labels, &f.train, p, purge)?.save_string().map_err(gbm)?;
            (Booster::from_string(&text).map_err(gbm)?, Some(text))
        }
    };
    let b = booster.num_iterations().max(1) as usize;
    let (y, at) = labelled(fs, labels, &f.test);
    let (pred, predicted) = match kept.predictions.as_ref().filter(|p| model_kept && p.len() == y.len()) {
        Some(p) => (p.clone(), None),
        None => {
            let p = predict(&booster, &features_of(fs, &at))?;
            (p.clone(), Some(p))
        }
    };
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
    Ok(ScoredFold { metrics: m, oof: rows, best_iteration: b, fitted, predicted })
}

/// Runs walk-forward validation. `kept[j]` is what an earlier run kept of fold *j* ([`KeptFold`]);
/// the other folds are fitted and predicted here, and their texts and predictions come back in
/// [`WalkForwardResult::fitted`] and [`WalkForwardResult::predicted`] to be kept.
pub fn walk_forward(
    fs: &FeatureSet,
    labels: &[f32],
    folds: &[Fold],
    p: &GbmParams,
    purge: usize,
    kept: &[KeptFold],
) -> Result<WalkForwardResult, TrainError> {
    // The folds are independent fits (one LightGBM thread each, deterministic): they run side by
    // side and are gathered in fold order, so the result does not depend on the core count.
    let scored: Vec<Result<ScoredFold, TrainError>> = folds
        .par_iter()
        .enumerate()
        .map(|(j, f)| score_fold(fs, labels, j, f, p, purge, kept.get(j).unwrap_or(&KeptFold::default())))
        .collect();
    let mut out = Vec::new();
    let mut oof = Vec::new();
    let mut best = Vec::new();
    let mut fitted = Vec::new();
    let mut predicted = Vec::new();
    for r in scored {
        let ScoredFold { metrics: m, oof: rows, best_iteration: b, fitted: text, predicted: p } = r?;
        tracing::info!(fold = m.fold, test = %format!("{}..{}", m.test_start, m.test_end), ic = m.ic, rank_ic = m.rank_ic, best_iteration = b, kept = text.is_none(), "fold scored out of sample");
        out.push(m);
        oof.extend(rows);
        best.push(b);
        fitted.push(text);
        predicted.push(p);
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
    Ok(WalkForwardResult { folds: out, summary, oof, best_iterations: best, fitted, predicted })
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
        let mut wf = Config::defaults().predictor.walk_forward;
        for (m, window) in [120usize, 240, 2400].into_iter().flat_map(|m| [(m, 0), (m, 60), (m, 504)]) {
            wf.max_train_days = window;
            let l: Vec<usize> = (0..m).collect();
            let folds = plan(&l, &wf).unwrap();
            assert!(folds.len() >= 2, "{m}");
            for f in &folds {
                let last_train = *f.train.last().unwrap();
                assert_eq!(f.test[0], last_train + 1 + wf.purge_days as usize, "purge gap");
                assert!(f.test.len() >= 5 && f.test.len() <= wf.max_test_days as usize);
                let before = last_train + 1;
                let want = if window == 0 { before } else { before.min(window as usize) };
                assert_eq!(
                    f.train,
                    (before - want..before).collect::<Vec<_>>(),
                    "m = {m}, window {window}: the newest"
                );
            }
            for w in folds.windows(2) {
                assert!(
                    w[1].test[0] > *w[0].test.last().unwrap() + wf.embargo_days as usize,
                    "embargo between test windows"
                );
                if window == 0 {
                    assert!(w[1].train.len() > w[0].train.len(), "expanding window");
                } else {
                    assert!(
                        w[1].train.len() >= w[0].train.len() && w[1].train.len() <= window as usize,
                        "rolling window"
                    );
                }
            }
            let untested = m - 1 - *folds.last().unwrap().test.last().unwrap();
            assert!(
                untested < wf.embargo_days as usize + 5,
                "m = {m}: the newest sessions are tested ({untested} not)"
            );
        }
        assert!(plan(&(0..30).collect::<Vec<_>>(), &wf).is_err());
    }

    #[test]
    fn a_fold_keeps_its_training_sessions_as_weeks_are_added() {
        // Week after week (5 more labelled sessions each), every fold that is still in the plan
        // trains on the sessions it trained on the week before, unless the block length stepped
        // up because the history doubled: that is what lets its fit be kept.
        let mut wf = Config::defaults().predictor.walk_forward;
        for window in [0, 504] {
            wf.max_train_days = window;
            let (mut same, mut steps) = (0, 0);
            let mut before: Option<Vec<Fold>> = None;
            for m in (60..=2600).step_by(5) {
                let l: Vec<usize> = (0..m).collect();
                let folds = plan(&l, &wf).unwrap();
                let len = folds[0].test.len();
                if let Some(b) = &before {
                    if b[0].test.len() != len {
                        steps += 1;
                    } else {
                        for f in &folds {
                            if let Some(old) = b.iter().find(|o| o.test[0] == f.test[0]) {
                                assert_eq!(old.train, f.train, "m = {m}");
                                assert!(f.test.starts_with(&old.test), "m = {m}: a block only grows");
                                same += 1;
                            }
                        }
                    }
                }
                before = Some(folds);
            }
            assert!(steps <= 6, "the block length steps only as the history doubles: {steps}");
            assert!(same > 1500, "window {window}: {same}");
        }
    }

    /// `n` deterministic rows of `nf` (at least 3) features in -0.5..0.5 and a label that is a
    /// linear term, an interaction and a little noise.
    fn planted(n: usize, nf: usize) -> (Vec<f32>, Vec<f32>) {
        let x: Vec<f32> = (0..n * nf).map(|i| ((i * 7919 % 1000) as f32 / 1000.0) - 0.5).collect();
        let y: Vec<f32> = (0..n)
            .map(|r| x[r * nf] * 0.3 + x[r * nf + 1] * x[r * nf + 2] + ((r * 31 % 17) as f32 - 8.0) * 0.01)
            .collect();
        (x, y)
    }

    #[test]
    fn a_fit_digest_names_the_lightgbm_that_made_it() {
        // Kept fits are found by the digest of their inputs, so a LightGBM that fits the same
        // inputs differently must not find them: when this fails after a LightGBM upgrade, bump
        // FIT_FORMAT and write the new digest here.
        let p = Config::defaults().predictor.gbm;
        let (n, nf) = (2000usize, 4usize);
        let (x, y) = planted(n, nf);
        let ds = dataset(&x, &y, nf, 500).unwrap();
        let b = Booster::train(ds, &gbm_params(&p, 20, false)).unwrap();
        let text = b.save_string().unwrap();
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        assert_eq!(
            (FIT_FORMAT, digest.as_str()),
            (2, "6279235e3a546fdec0cd029de8db5214066928dfde6a2a36436b675d7cc97e7e"),
            "LightGBM's output moved"
        );
    }

    #[test]
    fn a_large_training_set_is_binned_from_a_sample_and_learns_what_the_whole_set_learns() {
        let p = Config::defaults().predictor.gbm;
        let (n, nf) = (20_000usize, 4usize);
        let (x, y) = planted(n, nf);
        let fit = |sample| {
            let b = Booster::train(dataset(&x, &y, nf, sample).unwrap(), &gbm_params(&p, 50, false)).unwrap();
            let pred = b.predict_with_params(&x, nf as i32, true, "num_threads=1").unwrap();
            let fitted: Vec<f64> = y.iter().map(|v| *v as f64).collect();
            (b.save_string().unwrap(), ae_shared::metrics::pearson(&pred, &fitted))
        };
        let (whole, ic_whole) = fit(n);
        let (sampled, ic_sampled) = fit(n / 8);
        assert_ne!(whole, sampled, "the bins come from the sample");
        assert!(ic_whole > 0.8 && ic_sampled > ic_whole - 0.02, "{ic_sampled} vs {ic_whole}");
        // At or under the sample size the set is its own sample.
        let small = |sample| {
            let ds = dataset(&x[..1000 * nf], &y[..1000], nf, sample).unwrap();
            Booster::train(ds, &gbm_params(&p, 20, false)).unwrap().save_string().unwrap()
        };
        assert_eq!(small(1000), small(5000));
        assert_ne!(small(1000), small(999));
    }

    #[test]
    fn quantized_gradients_learn_what_full_precision_learns_and_repeat_to_the_byte() {
        let (n, nf) = (20_000usize, 4usize);
        let (x, y) = planted(n, nf);
        let fitted: Vec<f64> = y.iter().map(|v| *v as f64).collect();
        let fit = |quantized| {
            let p = GbmParams { quantized_gradients: quantized, ..Config::defaults().predictor.gbm };
            let b = Booster::train(dataset(&x, &y, nf, n).unwrap(), &gbm_params(&p, 50, false)).unwrap();
            let pred = b.predict_with_params(&x, nf as i32, true, "num_threads=1").unwrap();
            (b.save_string().unwrap(), ae_shared::metrics::pearson(&pred, &fitted))
        };
        let ((exact, ic_exact), (quantized, ic_quantized)) = (fit(false), fit(true));
        assert_ne!(exact, quantized, "the switch reaches LightGBM");
        assert!(ic_exact > 0.8 && ic_quantized > ic_exact - 0.02, "{ic_quantized} vs {ic_exact}");
        assert_eq!(fit(true).0, quantized, "stochastic rounding is seeded");
    }

    #[test]
    fn block_lengths_are_five_times_a_power_of_two_or_the_cap() {
        for (room, cap, want) in [
            (5, 126, 5),
            (9, 126, 5),
            (10, 126, 10),
            (39, 126, 20),
            (125, 126, 80),
            (126, 126, 126),
            (500, 126, 126),
            (30, 21, 21),
        ] {
            assert_eq!(block_len(room, cap), want, "room {room}, cap {cap}");
        }
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
