//! The model registry on the bus: `predictor/models/{version}/` holds `model.txt` (LightGBM's text
//! format), `metadata.json` and `metrics.json`; `predictor/registry.json` names the champion and is
//! written last, with a conditional write, so a reader never follows a pointer to a half-written
//! model and two trainers cannot both promote.

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, BusError, PutMode, keys};
use ae_shared::contracts::params::PredictorParams;
use ae_shared::contracts::predictor_metrics::{FoldMetrics, GateCheck, WalkForwardSummary};
use ae_shared::contracts::{Checker, InputRef, Lineage, Problems};
use lightgbm3::Booster;
use serde::{Deserialize, Serialize};

use crate::model::Platt;

/// Everything needed to use and audit a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Format version.
    pub schema_version: u32,
    /// Registry version (`gbm-{date}-{hash}`).
    pub version: String,
    /// Training day.
    pub trained_at: TradingDay,
    /// Label horizon, sessions.
    pub horizon_days: u32,
    /// Label definition.
    pub label: String,
    /// What the label is relative to.
    pub benchmark: String,
    /// Feature names in column order.
    pub features: Vec<String>,
    /// Parameters used.
    pub params: PredictorParams,
    /// First and last labelled session used.
    pub sessions: (TradingDay, TradingDay),
    /// Rows in the final training set.
    pub training_rows: u64,
    /// Boosting rounds of the final model (median best iteration of the folds); 0 when the gate
    /// refused it: a refused model is not fitted (no `model.txt`, no feature importance).
    pub iterations: u32,
    /// Out-of-sample folds.
    pub walk_forward: Vec<FoldMetrics>,
    /// Their summary.
    pub summary: WalkForwardSummary,
    /// Calibration of p_up.
    pub calibration: Platt,
    /// Calibration error of a naive linear p_up on the out-of-fold predictions.
    pub ece_naive: f64,
    /// Calibration error after Platt scaling.
    pub ece_calibrated: f64,
    /// Promotion gate outcomes.
    pub gates: Vec<GateCheck>,
    /// Promoted to champion.
    pub promoted: bool,
    /// Lineage.
    pub produced_by: Lineage,
}

/// One model in the registry's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Version.
    pub version: String,
    /// Training day.
    pub trained_at: TradingDay,
    /// Median fold IC.
    pub median_ic: f64,
    /// Promoted?
    pub promoted: bool,
    /// Why (gates).
    pub reason: String,
}

/// `predictor/registry.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Format version.
    pub schema_version: u32,
    /// The champion's version.
    pub champion: Option<String>,
    /// Every model trained, oldest first.
    pub models: Vec<Entry>,
}

impl Registry {
    /// Every version the registry names is one key segment (`keys::segment`): a version read from
    /// the bus becomes part of the keys the models are read from, so `../../etc` must never get
    /// that far. Every problem, located (`champion: ...`, `models[2].version: ...`).
    pub fn check(&self) -> Result<(), Problems> {
        let mut c = Checker::default();
        let named = self.champion.iter().map(|v| ("champion".to_string(), v));
        let history = self.models.iter().enumerate().map(|(i, m)| (format!("models[{i}].version"), &m.version));
        for (at, version) in named.chain(history) {
            if let Err(e) = keys::segment(version) {
                c.push(at, format!("{version:?} is not a model version: {}", e.reason));
            }
        }
        Problems(c.finish()).into_result()
    }

    /// The champion's history entry.
    pub fn champion_entry(&self) -> Option<&Entry> {
        let c = self.champion.as_ref()?;
        self.models.iter().find(|m| &m.version == c)
    }
}

/// The registry and its version tag (for the conditional write), or an empty one.
pub async fn load(bus: &Bus) -> Result<(Registry, Option<String>, Option<InputRef>), BusError> {
    match bus.get(&keys::predictor_registry()).await? {
        None => Ok((Registry { schema_version: 1, ..Default::default() }, None, None)),
        Some(obj) => {
            let r: Registry = serde_json::from_slice(&obj.bytes)
                .map_err(|e| BusError::Decode { key: keys::predictor_registry().to_string(), detail: e.to_string() })?;
            r.check()
                .map_err(|problems| BusError::Invalid { key: keys::predictor_registry().to_string(), problems })?;
            let input =
                InputRef { key: keys::predictor_registry().to_string(), sha256: obj.sha256(), etag: obj.etag.clone() };
            Ok((r, obj.etag, Some(input)))
        }
    }
}

/// Writes the registry: only if it did not change since `etag` was read (or did not exist).
pub async fn save(bus: &Bus, r: &Registry, etag: Option<String>) -> Result<(), BusError> {
    let mode = match etag {
        Some(e) => PutMode::IfMatch(e),
        None => PutMode::IfAbsent,
    };
    bus.put_json(&keys::predictor_registry(), r, mode).await.map(drop)
}

/// A model loaded back: its text, metadata, and what was read.
/// It holds the text, not a booster, so a job can keep it across awaits on any thread (a LightGBM
/// handle cannot move between threads); [`Loaded::booster`] makes the booster where it predicts.
pub struct Loaded {
    /// LightGBM's model text.
    pub text: String,
    /// Its metadata.
    pub meta: ModelMeta,
    /// The objects read (model text and metadata).
    pub inputs: Vec<InputRef>,
}

/// Loads `version` (refused, in every build, when it is not one key segment).
pub async fn load_model(bus: &Bus, version: &str) -> anyhow::Result<Loaded> {
    let bad = |e: keys::BadKey| anyhow::anyhow!("model version {version:?} cannot be read from the bus: {}", e.reason);
    let text_key = keys::predictor_model(version, "model.txt").map_err(bad)?;
    let meta_key = keys::predictor_model(version, "metadata.json").map_err(bad)?;
    let text = bus.get_required(&text_key).await?;
    let (meta, meta_ref): (ModelMeta, InputRef) = bus
        .get_json(&meta_key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{meta_key} is missing: the registry points at an incomplete model"))?;
    let s = std::str::from_utf8(&text.bytes).map_err(|e| anyhow::anyhow!("{text_key}: {e}"))?.to_string();
    let text_ref = InputRef { key: text_key.to_string(), sha256: text.sha256(), etag: text.etag };
    Ok(Loaded { text: s, meta, inputs: vec![text_ref, meta_ref] })
}

impl Loaded {
    /// The booster (LightGBM parses the text here, once, where it predicts).
    pub fn booster(&self) -> anyhow::Result<Booster> {
        Booster::from_string(&self.text).map_err(|e| {
            let key = self.inputs.first().map(|i| i.key.as_str()).unwrap_or("the model text");
            anyhow::anyhow!("{key}: LightGBM cannot load it: {e}")
        })
    }
}
