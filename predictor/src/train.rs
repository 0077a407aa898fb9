//! `predictor train --date D`: features and labels up to the session before D, walk-forward
//! validation, calibration, the promotion gate, the final model (fitted only when the gate passes:
//! a refused model never serves), and the registry (champion pointer written last).

use std::sync::Arc;
use std::time::Instant;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Published, PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::params::{PredictorParams, PromotionGate};
use ae_shared::contracts::predictor_metrics::{GateCheck, PredictorMetrics};
use ae_shared::contracts::{InputRef, Job, Lineage};
use ae_shared::store::PriceStore;
use ae_shared::store::bars::DailyBars;
use anyhow::Context;
use lightgbm3::Booster;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::features::{self, FeatureSet, NAMES};
use crate::model::{self, Platt, WalkForwardResult, ece};
use crate::registry::{self, Entry, ModelMeta, Registry};
use crate::{context, fits, labels};

/// Version written into lineage.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Training day (features and labels use sessions before it).
    pub date: TradingDay,
    /// Train and report; write nothing.
    pub dry_run: bool,
}

/// What training did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Training day.
    pub date: TradingDay,
    /// The new model's version.
    pub version: String,
    /// Whether it became champion.
    pub promoted: bool,
    /// Gate outcomes.
    pub gates: Vec<GateCheck>,
    /// Folds.
    pub walk_forward: Vec<ae_shared::contracts::predictor_metrics::FoldMetrics>,
    /// Summary.
    pub summary: ae_shared::contracts::predictor_metrics::WalkForwardSummary,
    /// Rows in the final training set.
    pub training_rows: u64,
    /// Boosting rounds of the final model; 0 when the gate refused it (a refused model is not fitted).
    pub iterations: u32,
    /// Folds whose model an earlier training had fitted on the same inputs (loaded, not fitted).
    pub folds_kept: u32,
    /// Folds whose out-of-fold predictions an earlier training had made on the same rows (read
    /// back, not predicted).
    pub predictions_kept: u32,
    /// Calibration error, naive vs Platt.
    pub ece: (f64, f64),
    /// The champion before this run.
    pub previous_champion: Option<String>,
    /// Seconds: features, walk-forward, and the final model after the walk-forward (its dataset
    /// is built alongside).
    pub seconds: (f64, f64, f64),
    /// What was written.
    pub published: String,
}

/// Promotion gate.
pub fn gates(
    s: &ae_shared::contracts::predictor_metrics::WalkForwardSummary,
    p: &PredictorParams,
    champion: Option<&Entry>,
) -> Vec<GateCheck> {
    // Every gate named (no `..`): a gate added to the parameters and not checked fails to build.
    let PromotionGate { min_median_ic, min_positive_fold_share, min_icir, min_hit_rate, require_beat_champion } =
        &p.gate;
    let mut out = vec![
        GateCheck::at_least("median_ic", s.median_ic, *min_median_ic),
        GateCheck::at_least("positive_fold_share", s.positive_fold_share.get(), min_positive_fold_share.get()),
        GateCheck::at_least("icir", s.icir, *min_icir),
        GateCheck::at_least("hit_rate", s.hit_rate.get(), min_hit_rate.get()),
    ];
    if *require_beat_champion && let Some(c) = champion {
        out.push(GateCheck::at_least("beats_champion", s.median_ic, c.median_ic));
    }
    out
}

/// What training computes before it reads research: the features and labels of the price store
/// as of the session before the training day, the research column left empty ([`panel`]).
pub struct Panel {
    date: TradingDay,
    store_inputs: Vec<InputRef>,
    macro_inputs: Vec<InputRef>,
    macro_notes: Vec<String>,
    bars: DailyBars,
    fs: FeatureSet,
    /// The labels, with the horizon and clip they were computed with.
    labels: (u32, f64, Vec<f32>),
    seconds: f64,
}

/// The [`Panel`] of a training on `date`: what [`train`] computes first, from the price store and
/// the macro series alone. A scheduler that knows neither changes before training starts (a
/// replay, where the nightly update has no part) computes it beside the jobs training waits for
/// (the backtester's first part and research) and passes it to [`train_with`].
pub async fn panel(bus: &Bus, cfg: &Config, date: TradingDay) -> anyhow::Result<Panel> {
    let p = context::params(bus, cfg, &mut Vec::new(), &mut Vec::new()).await;
    panel_of(bus, &p, date).await
}

/// [`panel`] with the parameters in force already read.
async fn panel_of(bus: &Bus, p: &PredictorParams, date: TradingDay) -> anyhow::Result<Panel> {
    let store = PriceStore::load(bus).await.context("loading the price store")?;
    let as_of = date.prev();
    let store_inputs = store.inputs_as_of(as_of);
    let (mut macro_inputs, mut macro_notes) = (Vec::new(), Vec::new());
    let macros = context::macro_series(bus, &mut macro_inputs, &mut macro_notes).await;
    let t0 = Instant::now();
    let bars = store.adjusted_as_of(as_of);
    let fs = features::compute_from_store(&store, &bars, Some(&macros));
    let labels = labels::compute(&fs.dates, &fs.sectors, &bars, p.horizon_days as usize, p.label_clip);
    let labels = (p.horizon_days, p.label_clip, labels);
    let seconds = t0.elapsed().as_secs_f64();
    Ok(Panel { date, store_inputs, macro_inputs, macro_notes, bars, fs, labels, seconds })
}

/// Trains, validates and (when the gate passes) promotes a model.
pub async fn train(bus: &Bus, cfg: &Config, clock: Arc<dyn Clock>, opts: &TrainOptions) -> anyhow::Result<TrainReport> {
    train_with(bus, cfg, clock, opts, None).await
}

/// [`train`], starting from `ahead` when it is the [`Panel`] of `opts.date` (computed before
/// research ran); the model, its version and everything written are the same either way.
pub async fn train_with(
    bus: &Bus,
    cfg: &Config,
    clock: Arc<dyn Clock>,
    opts: &TrainOptions,
    ahead: Option<Panel>,
) -> anyhow::Result<TrainReport> {
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    let p = context::params(bus, cfg, &mut inputs, &mut notes).await;
    let research = context::research_history(bus, opts.date).await?;
    let as_of = opts.date.prev();
    let mut panel = match ahead.filter(|a| a.date == opts.date) {
        Some(a) => a,
        None => panel_of(bus, &p, opts.date).await?,
    };
    let t0 = Instant::now();
    // The order of the inputs names the version: params, prices, research, macro series.
    inputs.extend(panel.store_inputs);
    inputs.extend(research.inputs.iter().cloned());
    inputs.extend(panel.macro_inputs);
    notes.extend(panel.macro_notes);
    features::set_research(&mut panel.fs, &panel.bars, None, Some(&research.scores));
    let labels = match panel.labels {
        // The backtester's first part may write these parameters back before training reads them.
        (h, clip, labels) if (h, clip) == (p.horizon_days, p.label_clip) => labels,
        _ => labels::compute(&panel.fs.dates, &panel.fs.sectors, &panel.bars, p.horizon_days as usize, p.label_clip),
    };
    drop(panel.bars);
    let (fs, labels) = (Arc::new(panel.fs), Arc::new(labels));
    let t_features = panel.seconds + t0.elapsed().as_secs_f64();
    let labelled = model::labelled_sessions(&fs, &labels, 20);
    // What the final model trains on: the folds' window, ending at the training day.
    let trained = model::newest(&labelled, p.walk_forward.max_train_days);
    let folds = model::plan(&labelled, &p.walk_forward)
        .with_context(|| format!("training on {} with prices to {as_of}", opts.date))?;
    let t1 = Instant::now();
    // The final model's dataset is built on its own thread from here, while the folds are found
    // and scored; it trains once their median best iteration is known, and only when the gate
    // passes: the gate reads the walk-forward alone, and a refused model would never serve.
    let (rounds, rx) = std::sync::mpsc::channel();
    let fin = {
        let (fs, labels, trained, gbm) = (fs.clone(), labels.clone(), trained.to_vec(), p.gbm.clone());
        std::thread::spawn(move || model::fit_final(&fs, &labels, &trained, &gbm, rx))
    };
    let purge = p.walk_forward.purge_days as usize;
    let sessions = model::session_digests(&fs, &labels);
    let digests =
        folds.iter().map(|f| model::fit_digest(&sessions, &f.train, &p.gbm, purge)).collect::<Result<Vec<_>, _>>()?;
    let oof_digests: Vec<[u8; 32]> =
        folds.iter().zip(&digests).map(|(f, d)| model::oof_digest(d, &sessions, &f.test)).collect();
    let (texts, predictions) = tokio::join!(fits::load(bus, &digests), fits::load_predictions(bus, &oof_digests));
    let kept: Vec<model::KeptFold> =
        texts.into_iter().zip(predictions).map(|(text, predictions)| model::KeptFold { text, predictions }).collect();
    let wf = model::walk_forward(&fs, &labels, &folds, &p.gbm, purge, &kept);
    let t_wf = t1.elapsed().as_secs_f64();
    let registry = registry::load(bus).await;
    let gates = match (&wf, &registry) {
        (Ok(w), Ok((reg, _, _))) => gates(&w.summary, &p, reg.champion_entry()),
        _ => Vec::new(),
    };
    let promoted = !gates.is_empty() && gates.iter().all(|g| g.passed);
    if let (Ok(w), true) = (&wf, promoted) {
        let _ = rounds.send(model::final_iterations(&w.best_iterations));
    }
    drop(rounds);
    let text = fin.join().expect("the final fit's thread does not panic");
    let wf: WalkForwardResult = wf?;
    let (reg, etag, reg_ref) = registry?;
    // `None`: refused, so not fitted.
    let text = text?;
    let feature_importance = match &text {
        Some(text) => model::importance(&Booster::from_string(text).context("loading the final model")?)?,
        None => Vec::new(),
    };
    let t_final = t1.elapsed().as_secs_f64() - t_wf;
    let folds_kept = wf.fitted.iter().filter(|t| t.is_none()).count() as u32;
    let predictions_kept = wf.predicted.iter().filter(|p| p.is_none()).count() as u32;
    if !opts.dry_run {
        tokio::join!(fits::save(bus, &digests, &wf.fitted), fits::save_predictions(bus, &oof_digests, &wf.predicted));
    }
    let calibration = Platt::fit(&wf.oof);
    let naive: Vec<(f64, bool)> = wf
        .oof
        .iter()
        .filter(|r| r.3 != 0.0)
        .map(|r| ((0.5 + r.2 / (2.0 * p.label_clip)).clamp(0.0, 1.0), r.3 > 0.0))
        .collect();
    let calibrated: Vec<(f64, bool)> =
        wf.oof.iter().filter(|r| r.3 != 0.0).map(|r| (calibration.p_up(r.2), r.3 > 0.0)).collect();
    let (ece_naive, ece_cal) = (ece(&naive), ece(&calibrated));

    if let Some(r) = reg_ref {
        inputs.push(r);
    }
    let iterations = if text.is_some() { model::final_iterations(&wf.best_iterations) } else { 0 };
    let training_rows = model::labelled_rows(&fs, &labels, trained) as u64;
    let lineage = Lineage::new(Job::Predictor, VERSION, Some(opts.date), inputs);
    let version = format!("gbm-{}-{}", opts.date, &hex::encode(Sha256::digest(lineage.run_id.as_bytes()))[..8]);
    let reason = gates
        .iter()
        .filter(|g| !g.passed)
        .map(|g| format!("{} {:.4} < {:.4}", g.name, g.value, g.threshold))
        .collect::<Vec<_>>()
        .join("; ");
    let reason = if promoted { "all gates passed".to_string() } else { format!("refused: {reason}") };
    tracing::info!(
        %version,
        promoted,
        median_ic = wf.summary.median_ic,
        icir = wf.summary.icir,
        %reason,
        features_s = t_features,
        walk_forward_s = t_wf,
        folds_kept,
        predictions_kept,
        final_s = t_final,
        "trained"
    );
    let meta = ModelMeta {
        schema_version: 1,
        version: version.clone(),
        trained_at: opts.date,
        horizon_days: p.horizon_days,
        label: labels::describe(p.horizon_days, p.label_clip),
        benchmark: labels::BENCHMARK.into(),
        features: NAMES.iter().map(|s| s.to_string()).collect(),
        params: p.clone(),
        sessions: (fs.dates[trained[0]], fs.dates[*trained.last().expect("labelled")]),
        training_rows,
        iterations: iterations as u32,
        walk_forward: wf.folds.clone(),
        summary: wf.summary.clone(),
        calibration,
        ece_naive,
        ece_calibrated: ece_cal,
        gates: gates.clone(),
        promoted,
        produced_by: lineage.clone(),
    };
    let metrics = PredictorMetrics {
        schema_version: 1,
        produced_by: lineage,
        date: opts.date,
        model_version: version.clone(),
        trained_at: opts.date,
        training_rows,
        horizon_days: p.horizon_days,
        walk_forward: wf.folds.clone(),
        summary: wf.summary.clone(),
        live: None,
        price_freshness: None,
        promoted,
        gates: gates.clone(),
        feature_importance,
    };
    let model_key = |file: &'static str| keys::predictor_model(&version, file);
    let published = if opts.dry_run {
        "dry run: nothing written".to_string()
    } else {
        let model = match text {
            Some(text) => Some(
                bus.put_dated(&model_key("model.txt")?, text.into_bytes().into(), false, clock.as_ref(), |_| Ok(false))
                    .await?,
            ),
            None => None,
        };
        bus.put_json(&model_key("metadata.json")?, &meta, PutMode::Overwrite).await?;
        let doc = bus.publish_doc(&model_key("metrics.json")?, None, &metrics, false, clock.as_ref()).await?;
        let mut next: Registry = reg.clone();
        next.schema_version = 1;
        if !next.models.iter().any(|e| e.version == version) {
            next.models.push(Entry {
                version: version.clone(),
                trained_at: opts.date,
                median_ic: wf.summary.median_ic,
                promoted,
                reason: reason.clone(),
            });
        }
        if promoted {
            next.champion = Some(version.clone());
        }
        registry::save(bus, &next, etag).await?;
        if model.unwrap_or(doc) == Published::Unchanged {
            format!("{version} already registered (same inputs)")
        } else {
            format!("{version} registered{}", if promoted { " as champion" } else { " (refused, so not fitted)" })
        }
    };
    Ok(TrainReport {
        date: opts.date,
        version,
        promoted,
        gates,
        walk_forward: wf.folds,
        summary: wf.summary,
        training_rows,
        iterations: iterations as u32,
        folds_kept,
        predictions_kept,
        ece: (ece_naive, ece_cal),
        previous_champion: reg.champion,
        seconds: (t_features, t_wf, t_final),
        published,
    })
}
