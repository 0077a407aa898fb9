//! The bus documents, read as the jobs read them: [`contracts::parse`] (JSON, then the JSON Schema
//! with every problem located, then the typed value, then the cross-field rules) — the same call
//! `Bus::get_doc` makes — and the predictor's own JSON files (`predictor/registry.json`,
//! `predictor/models/{version}/metadata.json`), read with `serde_json` as `ae_predictor::registry`
//! reads them.
//!
//! Invariants: a rejected document yields at least one located problem that formats; an accepted
//! one can be written by `to_json_checked` (a writer never refuses what a reader accepted), reads
//! back equal, and writes back to the same bytes.

use std::fmt::Debug;

use ae_predictor::registry::{ModelMeta, Registry};
use ae_shared::contracts::{
    self, Document, eod, kill_switch, order_book, params, predictions, predictor_metrics, signals,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn document<T: Document + PartialEq + Debug>(data: &[u8]) {
    let doc = match contracts::parse::<T>(data) {
        Ok(doc) => doc,
        Err(problems) => {
            assert!(!problems.0.is_empty(), "{} rejected without a problem", T::KIND);
            let _ = problems.to_string();
            return;
        }
    };
    let written = contracts::to_json_checked(&doc)
        .unwrap_or_else(|p| panic!("{} accepted on read but refused on write: {p}", T::KIND));
    let again =
        contracts::parse::<T>(&written).unwrap_or_else(|p| panic!("{} as written does not read back: {p}", T::KIND));
    assert_eq!(again, doc, "{} changed on a write and read", T::KIND);
    let rewritten = contracts::to_json_checked(&again).expect("it was written once");
    assert_eq!(rewritten, written, "{} writes differently the second time", T::KIND);
    let _ = doc.date();
}

/// `signals/{date}/signals.json`.
pub fn docs_signals(data: &[u8]) {
    document::<signals::Signals>(data);
}

/// `predictor/predictions/{date}.json`.
pub fn docs_predictions(data: &[u8]) {
    document::<predictions::Predictions>(data);
}

/// `predictor/metrics/{date}.json` and `latest.json`.
pub fn docs_predictor_metrics(data: &[u8]) {
    document::<predictor_metrics::PredictorMetrics>(data);
}

/// `executor/order_books/{date}.json`.
pub fn docs_order_book(data: &[u8]) {
    document::<order_book::OrderBook>(data);
}

/// `executor/eod/{date}.json`.
pub fn docs_eod(data: &[u8]) {
    document::<eod::EodReport>(data);
}

/// `executor/kill_switch.json`.
pub fn docs_kill_switch(data: &[u8]) {
    document::<kill_switch::KillSwitch>(data);
}

/// `config/scoring_weights.json`.
pub fn docs_scoring_weights(data: &[u8]) {
    document::<params::ScoringWeightsDoc>(data);
}

/// `config/executor_params.json`.
pub fn docs_executor_params(data: &[u8]) {
    document::<params::ExecutorParamsDoc>(data);
}

/// `config/predictor_params.json`.
pub fn docs_predictor_params(data: &[u8]) {
    document::<params::PredictorParamsDoc>(data);
}

/// `config/research_params.json`.
pub fn docs_research_params(data: &[u8]) {
    document::<params::ResearchParamsDoc>(data);
}

/// A plain JSON file of the predictor: read, written pretty (as `Bus::put_json` writes), read back
/// equal.
fn plain_json<T: Serialize + DeserializeOwned + PartialEq + Debug>(what: &str, data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let written = serde_json::to_vec_pretty(&value).unwrap_or_else(|e| panic!("{what} read but not written: {e}"));
    let again: T = serde_json::from_slice(&written).unwrap_or_else(|e| panic!("{what} as written does not read: {e}"));
    assert_eq!(again, value, "{what} changed on a write and read");
    Some(value)
}

/// `predictor/registry.json` (the champion pointer and the model history).
pub fn predictor_registry(data: &[u8]) {
    if let Some(r) = plain_json::<Registry>("predictor/registry.json", data)
        && let Some(entry) = r.champion_entry()
    {
        assert_eq!(Some(&entry.version), r.champion.as_ref());
    }
}

/// `predictor/models/{version}/metadata.json`.
pub fn predictor_model_meta(data: &[u8]) {
    let _ = plain_json::<ModelMeta>("predictor model metadata", data);
}
