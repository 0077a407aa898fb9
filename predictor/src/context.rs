//! What both predictor jobs read from the bus besides prices: tuned parameters and the research
//! signals history (the research-score feature and the regime for the veto threshold).

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::config::Config;
use ae_shared::contracts::InputRef;
use ae_shared::contracts::common::Regime;
use ae_shared::contracts::params::PredictorParams;
use ae_shared::contracts::signals::Signals;

use crate::features::ResearchScores;

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
