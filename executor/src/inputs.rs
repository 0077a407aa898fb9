//! What the planner reads from the bus, with the checks a trading system owes its money: signals
//! in force (falling back up to the configured number of trading days, refusing invalid, misdated
//! or stale documents with a logged reason), predictions with their age, the kill switch, and the
//! parameters a day trades with.

use std::collections::BTreeMap;

use ae_rules::view::PredictionView;
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Lookup, keys};
use ae_shared::contracts::InputRef;
use ae_shared::contracts::kill_switch::{KillMode, KillSwitch};
use ae_shared::contracts::predictions::{Driver, Predictions};
use ae_shared::contracts::signals::{self, Repair, Signals};
use ae_shared::types::Ticker;

/// The signals the planner acts on.
#[derive(Debug, Clone)]
pub struct SignalsInForce {
    /// The document (BUYs without a score already read as HOLD).
    pub doc: Signals,
    /// What was read.
    pub input: InputRef,
    /// Lenient-read repairs, to be logged.
    pub repairs: Vec<Repair>,
    /// Trading days between the signals and the decision.
    pub age_days: u32,
}

/// The newest valid signals dated within `max_age` trading days on or before `date`, looked up
/// as `lookup` says. Every document passed over is explained in `notes`.
pub async fn signals_in_force(
    bus: &Bus,
    lookup: Lookup<'_>,
    date: TradingDay,
    max_age: u32,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<SignalsInForce>> {
    let found =
        bus.dated_in_force::<Signals, _>(lookup, date, max_age, signals::parse_lenient, |(d, _)| d.date, notes).await?;
    let Some(f) = found else {
        notes.push(format!(
            "no valid signals dated within {max_age} trading days before {date}: no entries today (STALE_SIGNALS)"
        ));
        return Ok(None);
    };
    let (doc, repairs) = f.doc.doc;
    for r in &repairs {
        tracing::warn!(key = %f.doc.input.key, path = %r.path, "{}", r.reason);
        notes.push(format!("{}: {}: {}", f.doc.input.key, r.path, r.reason));
    }
    Ok(Some(SignalsInForce { doc, input: f.doc.input, repairs, age_days: f.age_days }))
}

/// Predictions for the planner, by ticker.
#[derive(Debug, Clone, Default)]
pub struct PredictionsInForce {
    /// By ticker.
    pub by_ticker: BTreeMap<Ticker, PredictionView>,
    /// What drove the predictions of the names that have drivers (largest SHAP contributions).
    pub drivers: BTreeMap<Ticker, Vec<Driver>>,
    /// The document's date and model, when there was one.
    pub source: Option<(TradingDay, String)>,
    /// What was read.
    pub input: Option<InputRef>,
}

/// Looks back this far for predictions (older ones are not even read).
pub const PREDICTION_LOOKBACK_DAYS: u32 = 5;

/// The newest valid predictions on or before `date`, looked up as `lookup` says (their age
/// decides whether the rules use them).
pub async fn predictions_in_force(
    bus: &Bus,
    lookup: Lookup<'_>,
    date: TradingDay,
    notes: &mut Vec<String>,
) -> anyhow::Result<PredictionsInForce> {
    let found = bus
        .dated_in_force::<Predictions, _>(
            lookup,
            date,
            PREDICTION_LOOKBACK_DAYS,
            ae_shared::contracts::parse::<Predictions>,
            |p| p.date,
            notes,
        )
        .await;
    let f = match found {
        Ok(Some(f)) => f,
        Ok(None) => {
            notes.push(format!(
                "no predictions within {PREDICTION_LOOKBACK_DAYS} trading days of {date}: predictor gates and sizing skipped"
            ));
            return Ok(PredictionsInForce::default());
        }
        Err(e) => {
            tracing::warn!("predictions unreadable: {e}");
            notes.push(format!("predictions unreadable ({e}): predictor gates and sizing skipped"));
            return Ok(PredictionsInForce::default());
        }
    };
    let (d, k, doc) = (f.day, f.age_days, f.doc.doc);
    if k > 0 {
        notes.push(format!("predictions for {date} missing: the {d} predictions are {k} trading day(s) old"));
    }
    let by_ticker = doc
        .entries
        .iter()
        .map(|e| {
            (
                e.ticker.clone(),
                PredictionView {
                    p_up: e.p_up,
                    direction: e.predicted_direction,
                    confidence: e.confidence,
                    predicted_alpha: e.predicted_alpha,
                    gbm_veto: e.gbm_veto,
                    age_days: k,
                },
            )
        })
        .collect();
    let drivers =
        doc.entries.iter().filter(|e| !e.drivers.is_empty()).map(|e| (e.ticker.clone(), e.drivers.clone())).collect();
    Ok(PredictionsInForce { by_ticker, drivers, source: Some((d, doc.model_version)), input: Some(f.doc.input) })
}

/// The kill switch as read from the bus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KillState {
    /// What it stops (`None`: not set).
    pub mode: Option<KillMode>,
    /// The document, when it is present and valid.
    pub doc: Option<KillSwitch>,
    /// Why the reading is not the document's word (present but invalid, unreadable bus).
    pub problem: Option<String>,
}

/// Reads the kill switch. Fails safe: an object that is present but invalid (or a `flatten`
/// nobody confirmed) blocks entries and says why; a bus that cannot be read keeps `previous` (the
/// daemon's last reading; entries blocked when there is none) and says why. Never an error: the
/// daemon re-reads it at every step and must go on.
pub async fn kill_state(bus: &Bus, previous: Option<&KillState>) -> KillState {
    let key = keys::kill_switch();
    match bus.get(&key).await {
        Ok(None) => KillState::default(),
        Ok(Some(obj)) => match ae_shared::contracts::parse::<KillSwitch>(&obj.bytes) {
            Ok(doc) => KillState { mode: Some(doc.mode), doc: Some(doc), problem: None },
            Err(problems) => KillState {
                mode: Some(KillMode::Entries),
                doc: None,
                problem: Some(format!(
                    "{key} is present but invalid ({problems}): entries are blocked; fix it with `executor kill-switch set` or clear it"
                )),
            },
        },
        Err(e) => {
            let mut s = previous.cloned().unwrap_or(KillState { mode: Some(KillMode::Entries), ..Default::default() });
            s.problem =
                Some(format!("reading {key}: {e}: keeping the last reading ({:?})", s.mode.map(KillMode::name)));
            s
        }
    }
}

/// Whether the kill switch is set (present on the bus, valid or not).
pub async fn kill_switch(bus: &Bus) -> anyhow::Result<bool> {
    Ok(bus.head(&keys::kill_switch()).await?.is_some())
}

/// The executor parameters a day trades with: the ones its plan recorded, else (a protective
/// book, or a book written before plans recorded them) the ones in force now.
pub async fn params_of(
    bus: &Bus,
    cfg: &ae_shared::config::Config,
    book: &ae_shared::contracts::order_book::OrderBook,
) -> ae_shared::contracts::params::ExecutorParams {
    match &book.params {
        Some(p) => p.clone(),
        None => {
            let f = ae_shared::in_force::params(bus, &cfg.executor).await;
            for n in &f.notes {
                tracing::warn!("{n}");
            }
            f.value
        }
    }
}
