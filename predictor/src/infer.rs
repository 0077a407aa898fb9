//! `predictor infer --date D`: the champion's predictions for every usable symbol, from prices up to
//! the session before D (inference runs at 09:15, before the open), with calibrated `p_up`,
//! direction, confidence, rank, the GBM veto (high-confidence DOWN, threshold shifted by regime) and
//! the momentum veto. Symbols with data defects, too little history or stale prices are left out with
//! a reason. Also writes `predictor/metrics/{D}.json` and `latest.json`: the champion's fold
//! statistics, live rolling IC once outcomes exist, and price freshness.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::common::{Direction, Regime};
use ae_shared::contracts::params::PredictorParams;
use ae_shared::contracts::predictions::{Exclusion, Prediction, Predictions};
use ae_shared::contracts::predictor_metrics::{LiveIc, PredictorMetrics, PriceFreshness};
use ae_shared::contracts::{Job, Lineage, parse};
use ae_shared::metrics::{pearson, spearman};
use ae_shared::store::PriceStore;
use ae_shared::store::quality;
use ae_shared::types::{Confidence, Fraction, Probability, Ticker};
use anyhow::Context;
use serde::Serialize;

use crate::features::{self, Inputs, NAMES, NF};
use crate::{context, labels, model, registry};

/// Sessions of history the features need before the prediction day (the longest window, 252, plus warm-up).
pub const LOOKBACK: i64 = 320;
/// Fewest bars a symbol needs to be predicted (the model trains on rows with a 20-session return).
pub const MIN_BARS: usize = 21;

/// How to infer.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// Prediction day.
    pub date: TradingDay,
    /// Predict and report; write nothing.
    pub dry_run: bool,
    /// Replace predictions already written for the day from other inputs (archived first).
    pub force: bool,
}

/// What inference did.
#[derive(Debug, Clone, Serialize)]
pub struct InferReport {
    /// Prediction day.
    pub date: TradingDay,
    /// Model used.
    pub model_version: String,
    /// Names predicted.
    pub predicted: usize,
    /// Names left out, by reason code.
    pub excluded: BTreeMap<String, usize>,
    /// GBM vetoes.
    pub gbm_vetoes: usize,
    /// Momentum vetoes.
    pub momentum_vetoes: usize,
    /// Veto threshold in force.
    pub veto_threshold: f64,
    /// Regime it was derived from.
    pub regime: Regime,
    /// Live IC, when outcomes exist.
    pub live: Option<LiveIc>,
    /// Freshness.
    pub freshness: PriceFreshness,
    /// What happened to the predictions document.
    pub published: String,
    /// Seconds.
    pub seconds: f64,
    /// Peak resident memory of the process, MB (Linux).
    pub peak_memory_mb: Option<f64>,
}

/// The veto threshold for a regime: base + shift, clamped.
pub fn veto_threshold(p: &PredictorParams, regime: Regime) -> f64 {
    let shift = match regime {
        Regime::Bear => p.veto_bear_shift,
        Regime::Neutral => 0.0,
        Regime::Bull => p.veto_bull_shift,
    };
    (p.veto_confidence.get() + shift).clamp(p.veto_min.get(), p.veto_max.get())
}

/// Live IC over the last `window` prediction days whose outcome is known by `as_of`.
async fn live_ic(
    bus: &Bus,
    store: &PriceStore,
    as_of: TradingDay,
    horizon: usize,
    window: usize,
) -> anyhow::Result<Option<LiveIc>> {
    let mut days: Vec<TradingDay> = bus.dated_days::<Predictions>(..).await?;
    days.retain(|d| d.prev().offset(horizon as i64).is_some_and(|end| end <= as_of));
    let days: Vec<TradingDay> = days.into_iter().rev().take(window).collect();
    if days.is_empty() {
        return Ok(None);
    }
    let bars = store.adjusted_as_of(as_of);
    let (dates, sectors) = features::frame(&bars, &store.sectors);
    let lab = labels::compute(&dates, &sectors, &bars, horizon, f64::INFINITY);
    let nn = bars.tickers.len();
    let index: BTreeMap<&str, usize> = bars.tickers.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    let (mut ics, mut rics, mut hits, mut n) = (Vec::new(), Vec::new(), 0usize, 0usize);
    for dated in bus.dated_on::<Predictions, _>(&days, parse::<Predictions>).await {
        let (d, doc) = (dated.day, dated.doc?);
        let Ok(t) = dates.binary_search(&d.prev()) else { continue };
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for e in &doc.doc.entries {
            if let Some(&i) = index.get(e.ticker.as_str()) {
                let l = lab[t * nn + i];
                if l.is_finite() {
                    p.push(e.predicted_alpha);
                    y.push(l as f64);
                    if l != 0.0 {
                        n += 1;
                        hits += usize::from((e.predicted_direction == Direction::Up) == (l > 0.0));
                    }
                }
            }
        }
        if p.len() >= 10 {
            ics.push(pearson(&p, &y));
            rics.push(spearman(&p, &y));
        }
    }
    let (ics, rics): (Vec<f64>, Vec<f64>) =
        (ics.into_iter().filter(|x| x.is_finite()).collect(), rics.into_iter().filter(|x| x.is_finite()).collect());
    if ics.is_empty() {
        return Ok(None);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(Some(LiveIc {
        window_days: ics.len() as u32,
        n: n as u64,
        ic: mean(&ics).clamp(-1.0, 1.0),
        rank_ic: mean(&rics).clamp(-1.0, 1.0),
        hit_rate: Fraction::saturating(if n > 0 { hits as f64 / n as f64 } else { 0.0 }),
    }))
}

/// Names at each end of the day's ranking whose drivers are given (every vetoed name's are too).
const DRIVEN_AT_EACH_END: u32 = 5;

/// Features given per driven name.
const DRIVERS_PER_NAME: usize = 3;

/// `entries` (ranked) with the drivers of the top and bottom [`DRIVEN_AT_EACH_END`] names and every
/// vetoed name: their largest SHAP contributions, from each one's feature row (`row`).
fn with_drivers<'a>(
    mut entries: Vec<Prediction>,
    booster: &lightgbm3::Booster,
    row: impl Fn(&Ticker) -> Option<&'a [f32]>,
) -> anyhow::Result<Vec<Prediction>> {
    let n = entries.len() as u32;
    let driven: Vec<usize> = (0..entries.len())
        .filter(|&i| {
            let e = &entries[i];
            e.rank <= DRIVEN_AT_EACH_END || e.rank + DRIVEN_AT_EACH_END > n || e.gbm_veto
        })
        .collect();
    let mut x = Vec::new();
    let mut found = Vec::new();
    for &i in &driven {
        if let Some(r) = row(&entries[i].ticker) {
            x.extend_from_slice(r);
            found.push(i);
        }
    }
    for (i, d) in found.into_iter().zip(model::drivers(booster, &x, DRIVERS_PER_NAME)?) {
        entries[i].drivers = d;
    }
    Ok(entries)
}

/// Why inference cannot predict from `as_of`, a session outside the store's range
/// `first..=last`: the store is behind (the nightly update did not run) or starts after it.
fn missing_session(as_of: TradingDay, first: TradingDay, last: TradingDay) -> anyhow::Error {
    if as_of > last {
        anyhow::anyhow!(
            "the price store ends at {last}, before {as_of}: run the nightly update (or append {as_of}) first"
        )
    } else {
        anyhow::anyhow!("the price store covers {first}..{last}, not {as_of}: import the history that holds it first")
    }
}

/// Runs inference for `opts.date` with the champion.
pub async fn infer(bus: &Bus, cfg: &Config, clock: Arc<dyn Clock>, opts: &InferOptions) -> anyhow::Result<InferReport> {
    let t0 = Instant::now();
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    let stale = ae_shared::store::freshness::stale_for(bus, &["bars"], opts.date).await?;
    if !stale.is_empty() {
        anyhow::bail!(ae_shared::store::freshness::refusal("predictor inference", &stale));
    }
    let p = context::params(bus, cfg, &mut inputs, &mut notes).await;
    let (reg, _, reg_ref) = registry::load(bus).await?;
    let version = reg
        .champion
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no champion model on {}: run `predictor train` first", bus.url()))?;
    inputs.extend(reg_ref);
    let loaded = registry::load_model(bus, &version).await?;
    inputs.extend(loaded.inputs.iter().cloned());
    if loaded.meta.features != NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>() {
        anyhow::bail!("model {version} was trained on other features than this build computes; retrain it");
    }
    let as_of = opts.date.prev();
    // Only the chunks covering the features' window: daily inference stays small and fast.
    let window_start = as_of.offset(-LOOKBACK).unwrap_or(as_of);
    let store = PriceStore::load_range(bus, Some((window_start, as_of))).await.context("loading the price store")?;
    inputs.extend(store.inputs_as_of(as_of));
    let research = context::research_history(bus, opts.date).await?;
    inputs.extend(research.inputs.iter().cloned());
    let macros = context::macro_series(bus, &mut inputs, &mut notes).await;
    let regime = research.regime.unwrap_or(Regime::Neutral);

    // Features over a recent window only: the longest feature window plus warm-up, with a row for
    // the last session only (the one predicted from).
    let first = as_of.offset(-LOOKBACK).unwrap_or(store.manifest.first_day).max(store.manifest.first_day);
    let bars = ae_shared::store::splits::adjust(&store.raw.between(first, as_of), &store.splits, Some(as_of));
    // The session predicted from: `as_of`, or the last one before it when the source has no bars
    // for it (a hole inside the store's range, as the embedded data has on 2010-08-18). Every
    // name's price age then says so, and the rules treat the predictions as that old.
    let session = bars.dates.iter().copied().filter(|d| *d <= as_of).max();
    let session = match session {
        Some(s) if store.manifest.first_day <= as_of && as_of <= store.manifest.last_day => s,
        _ => return Err(missing_session(as_of, store.manifest.first_day, store.manifest.last_day)),
    };
    if session != as_of {
        tracing::warn!("the price store has no bars for {as_of} (a hole in the source): predicting from {session}");
    }
    let fs = features::compute_from(
        &Inputs {
            bars: &bars,
            benchmark: store.benchmark_series(),
            sectors: &store.sectors,
            earnings: &store.earnings,
            research: Some(&research.scores),
            macros: Some(&macros),
        },
        session,
    );
    let t = fs.date_index(session).expect("a session of these bars");

    // Point-in-time governance over the features' window (defects, spikes, stopped trading).
    let raw_window = store.raw.between(first, as_of);
    let q = quality::assess(
        &raw_window,
        &bars,
        &BTreeMap::new(),
        &store.splits,
        as_of,
        &cfg.data.quality,
        &cfg.data.governance,
    );
    let mut excluded: Vec<Exclusion> = Vec::new();
    let mut rows: Vec<(usize, Ticker, i64)> = Vec::new();
    let mut max_age = 0i64;
    let mut stale = 0u32;
    for (n, ticker) in fs.tickers.iter().enumerate() {
        let s = bars.get(ticker.as_str()).expect("same bars");
        let sq = q.get(ticker.as_str());
        let last = *s.dates.last().expect("non-empty");
        let age = last.days_until(opts.date);
        let reason = if let Some(d) = sq.map(|x| x.defects()).filter(|d| !d.is_empty()) {
            Some(format!("{:?}: {}", sq.expect("present").status, d.join("; ")))
        } else if age > p.max_price_age_days as i64 {
            stale += 1;
            Some(format!("STALE_PRICES: last bar {last}, {age} sessions before {}", opts.date))
        } else if sq.map(|x| x.rows as usize).unwrap_or(0) < MIN_BARS {
            Some(format!("INSUFFICIENT_HISTORY: {} bars < {MIN_BARS}", s.len()))
        } else if fs.sectors[n].is_none() {
            Some("NO_SECTOR: not in the sector map (labels are sector-relative)".to_string())
        } else if !fs.row(t, n)[1].is_finite() {
            Some("INSUFFICIENT_HISTORY: no 20-session return".to_string())
        } else {
            None
        };
        match reason {
            Some(r) => {
                // Only mention names that traded recently; long-gone symbols are not news.
                if age <= 20 {
                    excluded.push(Exclusion { ticker: ticker.clone(), reason: r });
                }
            }
            None => {
                max_age = max_age.max(age);
                rows.push((n, ticker.clone(), age));
            }
        }
    }
    let x: Vec<f32> = rows.iter().flat_map(|(n, _, _)| fs.row(t, *n).iter().copied()).collect();
    debug_assert_eq!(x.len(), rows.len() * NF);
    // LightGBM's handle is not `Send`: it lives in this block, which has no await.
    let threshold = veto_threshold(&p, regime);
    let (entries, feature_importance) = {
        let booster = loaded.booster()?;
        let raw = model::predict(&booster, &x)?;
        let mut preds: Vec<(Ticker, f64, f64, i64, f64)> = rows
            .iter()
            .zip(&raw)
            .map(|((_, tk, age), alpha)| {
                let s = bars.get(tk.as_str()).expect("same bars");
                let k = s.len() - 1;
                let mom = if k >= p.momentum_days as usize {
                    s.close[k] / s.close[k - p.momentum_days as usize] - 1.0
                } else {
                    f64::NAN
                };
                (tk.clone(), *alpha, loaded.meta.calibration.p_up(*alpha), *age, mom)
            })
            .collect();
        preds.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let entries: Vec<Prediction> = preds
            .iter()
            .enumerate()
            .map(|(i, (tk, alpha, p_up, age, mom))| {
                let pu = Probability::saturating(*p_up);
                let direction = if pu.get() >= 0.5 { Direction::Up } else { Direction::Down };
                let confidence = Confidence::from_p_up(pu);
                Prediction {
                    ticker: tk.clone(),
                    p_up: pu,
                    predicted_direction: direction,
                    confidence,
                    predicted_alpha: alpha.clamp(-1.0, 1.0),
                    rank: i as u32 + 1,
                    gbm_veto: direction == Direction::Down && confidence.get() >= threshold,
                    momentum_veto: mom.is_finite() && *mom < p.momentum_veto_return,
                    price_data_age_days: *age as u32,
                    drivers: Vec::new(),
                }
            })
            .collect();
        let row_of: HashMap<&Ticker, usize> = rows.iter().map(|(n, tk, _)| (tk, *n)).collect();
        let entries = with_drivers(entries, &booster, |tk| row_of.get(tk).map(|n| fs.row(t, *n)))?;
        (entries, model::importance(&booster)?)
    };
    let predicted: BTreeSet<&Ticker> = entries.iter().map(|e| &e.ticker).collect();
    excluded.retain(|x| !predicted.contains(&x.ticker));
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for x in &excluded {
        *reasons.entry(x.reason.split(':').next().unwrap_or("").to_string()).or_default() += 1;
    }
    let lineage = Lineage::new(Job::Predictor, crate::train::VERSION, Some(opts.date), inputs);
    let doc = Predictions {
        schema_version: 1,
        produced_by: lineage.clone(),
        date: opts.date,
        model_version: version.clone(),
        horizon_days: loaded.meta.horizon_days,
        label: loaded.meta.label.clone(),
        benchmark: loaded.meta.benchmark.clone(),
        veto_threshold: Confidence::saturating(threshold),
        entries,
        excluded,
    };
    let live = live_ic(bus, &store, as_of, loaded.meta.horizon_days as usize, 20).await?;
    let freshness = PriceFreshness { max_age_days: max_age.max(0) as u32, n_stale: stale };
    let metrics = PredictorMetrics {
        schema_version: 1,
        produced_by: lineage,
        date: opts.date,
        model_version: version.clone(),
        trained_at: loaded.meta.trained_at,
        training_rows: loaded.meta.training_rows,
        horizon_days: loaded.meta.horizon_days,
        walk_forward: loaded.meta.walk_forward.clone(),
        summary: loaded.meta.summary.clone(),
        live: live.clone(),
        price_freshness: Some(freshness.clone()),
        promoted: loaded.meta.promoted,
        gates: loaded.meta.gates.clone(),
        feature_importance,
    };
    let published = if opts.dry_run {
        "dry run: nothing written".to_string()
    } else {
        let out = bus
            .publish_doc(
                &keys::predictions(opts.date),
                Some(&keys::predictions_latest()),
                &doc,
                opts.force,
                clock.as_ref(),
            )
            .await?;
        bus.publish_doc(
            &keys::predictor_metrics(opts.date),
            Some(&keys::predictor_metrics_latest()),
            &metrics,
            opts.force,
            clock.as_ref(),
        )
        .await?;
        out.to_string()
    };
    Ok(InferReport {
        date: opts.date,
        model_version: version,
        predicted: doc.entries.len(),
        excluded: reasons,
        gbm_vetoes: doc.entries.iter().filter(|e| e.gbm_veto).count(),
        momentum_vetoes: doc.entries.iter().filter(|e| e.momentum_veto).count(),
        veto_threshold: threshold,
        regime,
        live,
        freshness,
        published,
        seconds: t0.elapsed().as_secs_f64(),
        peak_memory_mb: ae_shared::cli::peak_memory_mb(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> TradingDay {
        ae_shared::cli::parse_day(s).expect("a trading day")
    }

    #[test]
    fn a_session_outside_the_store_says_what_to_run() {
        let (first, last) = (day("2009-08-21"), day("2010-08-20"));
        for (as_of, says) in [("2010-08-23", "run the nightly update"), ("2009-08-20", "import the history")] {
            let e = missing_session(day(as_of), first, last).to_string();
            assert!(e.contains(says) && e.contains(as_of), "{as_of}: {e}");
        }
    }
}
