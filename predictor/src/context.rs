//! What both predictor jobs read from the bus besides prices: tuned parameters, the research
//! signals history (the research-score feature and the regime for the veto threshold) and the
//! FRED macro series the nightly update keeps (the macro features).

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::config::Config;
use ae_shared::contracts::InputRef;
use ae_shared::contracts::common::Regime;
use ae_shared::contracts::params::PredictorParams;
use ae_shared::contracts::signals::Signals;

use chrono::NaiveDate;

use crate::features::ResearchScores;
use crate::macro_features::{self, MacroSeries};

/// The predictor parameters in force (see [`ae_shared::in_force`]); their sources go to `inputs`.
pub async fn params(bus: &Bus, cfg: &Config, inputs: &mut Vec<InputRef>, notes: &mut Vec<String>) -> PredictorParams {
    ae_shared::in_force::params(bus, &cfg.predictor).await.record(inputs, notes)
}

/// Research history up to `upto`: composite scores by symbol and the latest regime.
#[derive(Debug, Clone, Default)]
pub struct ResearchHistory {
    /// Scores by symbol, by signals date.
    pub scores: ResearchScores,
    /// The regime of the latest signals.
    pub regime: Option<Regime>,
    /// What was read.
    pub inputs: Vec<InputRef>,
}

/// Reads every dated signals document on or before `upto` (invalid ones are skipped with a log line).
pub async fn research_history(bus: &Bus, upto: TradingDay) -> anyhow::Result<ResearchHistory> {
    let mut h = ResearchHistory::default();
    for d in bus.dated::<Signals>(..=upto).await? {
        match d.doc {
            Ok(l) => {
                for e in &l.doc.universe {
                    if let Some(s) = e.score {
                        h.scores.entry(e.ticker.clone()).or_default().push((d.day, s.get()));
                    }
                }
                h.regime = Some(l.doc.market_regime);
                h.inputs.push(l.input);
            }
            Err(e) => tracing::warn!("signals for {} skipped: {e}", d.day),
        }
    }
    Ok(h)
}

/// The FRED series the macro features read, as the nightly update keeps them (series it never
/// fetched are absent, and their columns stay missing); each one read goes to `inputs`. A series
/// that cannot be read is passed over with a note: the features do without it.
pub async fn macro_series(bus: &Bus, inputs: &mut Vec<InputRef>, notes: &mut Vec<String>) -> MacroSeries {
    let mut out = MacroSeries::new();
    for id in macro_features::SERIES {
        let read = match keys::macro_series(id) {
            Ok(key) => bus.get_json::<Vec<(NaiveDate, f64)>>(&key).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(Some((obs, input))) => {
                inputs.push(input);
                out.insert(id.to_string(), obs);
            }
            Ok(None) => {}
            Err(e) => notes.push(format!("macro series {id} not used: {e}")),
        }
    }
    out
}
