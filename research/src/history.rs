//! What earlier research runs said: the previous population and each name's recent scores (for
//! conviction), read back from the dated signals on the bus.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, BusError};
use ae_shared::contracts::InputRef;
use ae_shared::contracts::common::Rating;
use ae_shared::contracts::signals::Signals;
use ae_shared::types::Ticker;

/// Earlier runs, most recent first.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The most recent signals before the run date.
    pub previous: Option<Signals>,
    /// Scores per name, oldest first.
    pub scores: BTreeMap<Ticker, Vec<f64>>,
    /// Ratings in the previous run.
    pub previous_ratings: BTreeMap<Ticker, Rating>,
    /// What was read.
    pub inputs: Vec<InputRef>,
    /// Documents that could not be used, with why.
    pub skipped: Vec<String>,
}

/// Reads up to `depth` dated signals documents before `run_date`.
pub async fn load(bus: &Bus, run_date: TradingDay, depth: usize) -> Result<History, BusError> {
    let mut h = History::default();
    let mut docs = Vec::new();
    for d in bus.dated_latest::<Signals>(..run_date, depth).await?.into_iter().rev() {
        match d.doc {
            Ok(l) => {
                h.inputs.push(l.input);
                docs.push(l.doc);
            }
            Err(e) => {
                let key = d.key;
                tracing::warn!(%key, error = %e, "earlier signals unusable; skipped");
                h.skipped.push(format!("{key}: {e}"));
            }
        }
    }
    for doc in docs.iter().rev() {
        for e in &doc.universe {
            if let Some(s) = e.score {
                h.scores.entry(e.ticker.clone()).or_default().push(s.get());
            }
        }
    }
    if let Some(prev) = docs.first() {
        h.previous_ratings = prev.universe.iter().map(|e| (e.ticker.clone(), e.rating)).collect();
    }
    h.previous = docs.into_iter().next();
    Ok(h)
}
