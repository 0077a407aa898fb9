//! What a research run reads before it computes anything: the parameters in force, the data
//! freshness gate, the price store, the point-in-time snapshot and the earlier signals.

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::config::Config;
use ae_shared::contracts::InputRef;
use ae_shared::contracts::params::{ResearchParams, ScoringWeights};
use ae_shared::contracts::predictions::{Driver, Predictions};
use ae_shared::contracts::signals::PopulationMember;
use ae_shared::store::PriceStore;
use anyhow::Context;

use crate::history::{self, History};
use crate::snapshot::Snapshot;

/// Everything a run reads, with the lineage inputs and the notes reading it produced.
pub(super) struct RunInputs {
    /// Research parameters in force (tuned on the bus when valid, else the configuration's).
    pub rp: ResearchParams,
    /// Scoring weights in force.
    pub sw: ScoringWeights,
    /// The price store.
    pub store: PriceStore,
    /// The point-in-time snapshot as of the session before the run date.
    pub snap: Snapshot,
    /// Earlier runs.
    pub hist: History,
    /// The previous population (empty on a first run).
    pub prev_pop: Vec<PopulationMember>,
    /// What was read, for the lineage.
    pub inputs: Vec<InputRef>,
    /// Notes so far (parameters, price lag, skipped earlier signals).
    pub notes: Vec<String>,
}

/// Tuned parameters from the bus when present and valid, else the configuration's.
async fn params(
    bus: &Bus,
    cfg: &Config,
    inputs: &mut Vec<InputRef>,
    notes: &mut Vec<String>,
) -> (ResearchParams, ScoringWeights) {
    let research = ae_shared::in_force::params(bus, &cfg.research).await.record(inputs, notes);
    let scoring = ae_shared::in_force::params(bus, &cfg.scoring).await.record(inputs, notes);
    (research, scoring)
}

/// What drove the predictor's newest view of each name it explained (its largest SHAP
/// contributions), from the predictions dated on or before `date`, looking back five sessions:
/// the predictions' date and the drivers by name (none: no predictions, or none explained).
/// Shown in the brief; never an input of a score.
pub(super) async fn model_drivers(bus: &Bus, date: TradingDay) -> Option<(TradingDay, ModelDrivers)> {
    let mut passed_over = Vec::new();
    let found = bus
        .dated_in_force::<Predictions, _>(
            ae_shared::bus::Lookup::Probe,
            date,
            5,
            ae_shared::contracts::parse::<Predictions>,
            |p| p.date,
            &mut passed_over,
        )
        .await;
    let f = match found {
        Ok(f) => f?,
        Err(e) => {
            tracing::warn!("predictions unreadable for the brief: {e}");
            return None;
        }
    };
    let drivers: ModelDrivers =
        f.doc.doc.entries.into_iter().filter(|e| !e.drivers.is_empty()).map(|e| (e.ticker, e.drivers)).collect();
    (!drivers.is_empty()).then_some((f.day, drivers))
}

/// The predictor's drivers by name.
pub(crate) type ModelDrivers = std::collections::BTreeMap<ae_shared::types::Ticker, Vec<Driver>>;

/// Reads the run's inputs for `date`; refuses stale data and an empty snapshot.
pub(super) async fn load(bus: &Bus, cfg: &Config, date: TradingDay) -> anyhow::Result<RunInputs> {
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    let (rp, sw) = params(bus, cfg, &mut inputs, &mut notes).await;

    let stale = ae_shared::store::freshness::stale_for(bus, &["bars", "sectors", "earnings"], date)
        .await
        .context("reading the data freshness")?;
    if !stale.is_empty() {
        anyhow::bail!(ae_shared::store::freshness::refusal("research", &stale));
    }
    let store = PriceStore::load(bus).await.context("loading the price store")?;
    let snap = Snapshot::build(&store, date, &cfg.data);
    inputs.extend(store.inputs_as_of(snap.as_of));
    if snap.names.is_empty() {
        anyhow::bail!(
            "the price store has no bars before {date} (it covers {}..{})",
            store.manifest.first_day,
            store.manifest.last_day
        );
    }
    if snap.as_of < store.manifest.last_day.min(date.prev()) {
        notes.push(format!("prices end {} although the run date is {date}", snap.as_of));
    }

    let hist: History =
        history::load(bus, date, rp.conviction_runs as usize + 1).await.context("reading earlier signals")?;
    inputs.extend(hist.inputs.iter().cloned());
    notes.extend(hist.skipped.iter().map(|s| format!("earlier signals skipped: {s}")));
    let prev_pop = hist.previous.as_ref().map(|p| p.population.clone()).unwrap_or_default();
    Ok(RunInputs { rp, sw, store, snap, hist, prev_pop, inputs, notes })
}
