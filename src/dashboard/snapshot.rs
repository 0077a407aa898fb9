//! What the dashboard knows: every document it shows, read from the bus into memory and refreshed
//! incrementally (an object is read again only when the listing says it changed), so a page renders
//! from memory in milliseconds. A document that fails validation is left out and named in
//! [`Snapshot::problems`]; it never stops the dashboard.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ae_predictor::registry::Registry;
use ae_shared::TradingDay;
use ae_shared::alerts::Alert;
use ae_shared::bus::{Bus, Key, ObjectMeta, keys};
use ae_shared::contracts::eod::EodReport;
use ae_shared::contracts::kill_switch::KillSwitch;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::contracts::predictions::Predictions;
use ae_shared::contracts::predictor_metrics::PredictorMetrics;
use ae_shared::contracts::risk_state::RiskState;
use ae_shared::contracts::signals::Signals;
use ae_shared::contracts::{self, DocKind, Document};
use ae_shared::store::freshness::Freshness;
use serde_json::Value;

/// A parsed object, shared between snapshots.
#[derive(Debug, Clone)]
enum Parsed {
    Eod(Arc<EodReport>),
    Book(Arc<OrderBook>),
    Risk(Arc<RiskState>),
    Signals(Arc<Signals>),
    Predictions(Arc<Predictions>),
    Metrics(Arc<PredictorMetrics>),
    Json(Arc<Value>),
}

/// One document the dashboard read, with where it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// The bus key it was read from (every figure links here).
    pub key: Key,
    /// The document.
    pub doc: Arc<T>,
}

/// A parameter file written back by the backtester (`config/history/{date}/{name}.json`).
#[derive(Debug, Clone)]
pub struct WrittenBack {
    /// The week it was written.
    pub date: TradingDay,
    /// `executor_params`, ...
    pub name: String,
    /// Where.
    pub key: Key,
    /// The document (its evidence and tuned values).
    pub doc: Arc<Value>,
}

/// Everything the pages show, as of one refresh.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// EOD reports by day.
    pub eods: BTreeMap<TradingDay, Sourced<EodReport>>,
    /// Order books by day.
    pub books: BTreeMap<TradingDay, Sourced<OrderBook>>,
    /// Morning risk states by day.
    pub risk: BTreeMap<TradingDay, Sourced<RiskState>>,
    /// Weekly signals by day.
    pub signals: BTreeMap<TradingDay, Sourced<Signals>>,
    /// Daily predictions by day.
    pub predictions: BTreeMap<TradingDay, Sourced<Predictions>>,
    /// Daily predictor metrics by day (`predictor/metrics/{date}.json`).
    pub metrics: BTreeMap<TradingDay, Sourced<PredictorMetrics>>,
    /// Each trained model's metrics, by version (`predictor/models/{v}/metrics.json`).
    pub model_metrics: BTreeMap<String, Sourced<PredictorMetrics>>,
    /// The model registry.
    pub registry: Option<Sourced<Registry>>,
    /// Backtest reports (`backtest/{date}/report.json`) by run date.
    pub backtests: BTreeMap<TradingDay, Sourced<Value>>,
    /// Research run reports (`research/archive/{date}/run.json`) by date.
    pub research_runs: BTreeMap<TradingDay, Sourced<Value>>,
    /// Parameters written back, oldest first.
    pub written_back: Vec<WrittenBack>,
    /// The kill switch, when set.
    pub kill_switch: Option<Sourced<KillSwitch>>,
    /// Alerts raised (`alerts/{date}/...`), oldest first.
    pub alerts: Vec<Sourced<Alert>>,
    /// The price store's manifest (its last day says how fresh the data is).
    pub manifest: Option<Sourced<Value>>,
    /// The nightly update's freshness report, when the live data path runs.
    pub freshness: Option<Sourced<Freshness>>,
    /// Every key listed, with size (for the lineage picker and the document view).
    pub listing: Vec<ObjectMeta>,
    /// Objects that could not be read or failed validation, each with its key and what is wrong.
    pub problems: Vec<String>,
}

impl Snapshot {
    /// The last EOD report.
    pub fn last_eod(&self) -> Option<&Sourced<EodReport>> {
        self.eods.values().next_back()
    }
    /// The last order book.
    pub fn last_book(&self) -> Option<&Sourced<OrderBook>> {
        self.books.values().next_back()
    }
    /// The last risk state.
    pub fn last_risk(&self) -> Option<&Sourced<RiskState>> {
        self.risk.values().next_back()
    }
    /// The last signals.
    pub fn last_signals(&self) -> Option<&Sourced<Signals>> {
        self.signals.values().next_back()
    }
    /// The last predictions.
    pub fn last_predictions(&self) -> Option<&Sourced<Predictions>> {
        self.predictions.values().next_back()
    }
    /// The last backtest report.
    pub fn last_backtest(&self) -> Option<&Sourced<Value>> {
        self.backtests.values().next_back()
    }
    /// The latest trained model's metrics (by training date, then version).
    pub fn latest_model(&self) -> Option<&Sourced<PredictorMetrics>> {
        self.model_metrics
            .values()
            .max_by(|a, b| (a.doc.trained_at, &a.doc.model_version).cmp(&(b.doc.trained_at, &b.doc.model_version)))
    }
}

/// The prefixes listed on every refresh.
const PREFIXES: [&str; 9] = [
    keys::prefix::EOD,
    keys::prefix::ORDER_BOOKS,
    "risk/",
    keys::prefix::SIGNALS,
    "predictor/",
    keys::prefix::BACKTEST,
    "config/history/",
    "alerts/",
    "research/archive/",
];

/// Objects read on every refresh whatever the listing says (small, rewritten in place).
fn singletons() -> [Key; 4] {
    [keys::kill_switch(), keys::prices_manifest(), keys::freshness(), keys::predictor_registry()]
}

/// Reads the bus into snapshots, reusing what did not change since the last one.
pub struct Loader {
    bus: Bus,
    seen: HashMap<Key, (u64, Option<String>, Parsed)>,
}

/// What a key holds, for the dashboard (`None`: not shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eod,
    Book,
    Risk,
    Signals,
    Predictions,
    /// `predictor/metrics/{date}.json`
    Metrics,
    /// `predictor/models/{version}/metrics.json`
    ModelMetrics,
    Backtest,
    ResearchRun,
    WrittenBack,
    Alert,
}

/// The contracts by [`keys::contract_kind`]; the reports, runs and alerts by their names.
fn kind_of(key: &Key) -> Option<Kind> {
    let k = key.as_str();
    let dated = keys::date_of(key).is_some();
    Some(match keys::contract_kind(key) {
        Some(_) if k.starts_with("config/history/") && dated => Kind::WrittenBack,
        Some(DocKind::Eod) if dated => Kind::Eod,
        Some(DocKind::OrderBook) if dated => Kind::Book,
        Some(DocKind::RiskState) if dated => Kind::Risk,
        Some(DocKind::Signals) if dated => Kind::Signals,
        Some(DocKind::Predictions) if dated => Kind::Predictions,
        Some(DocKind::PredictorMetrics) if k.starts_with(keys::prefix::MODELS) => Kind::ModelMetrics,
        Some(DocKind::PredictorMetrics) if dated => Kind::Metrics,
        Some(_) => return None,
        None if k.starts_with(keys::prefix::BACKTEST) && k.ends_with("/report.json") && dated => Kind::Backtest,
        None if k.starts_with("research/archive/") && k.ends_with("/run.json") && dated => Kind::ResearchRun,
        None if k.starts_with("alerts/") && !k.starts_with("alerts/state/") && k.ends_with(".json") => Kind::Alert,
        None => return None,
    })
}

fn parse_as(kind: Kind, bytes: &[u8]) -> Result<Parsed, String> {
    fn doc<T: Document>(bytes: &[u8]) -> Result<Arc<T>, String> {
        contracts::parse::<T>(bytes).map(Arc::new).map_err(|p| p.to_string())
    }
    Ok(match kind {
        Kind::Eod => Parsed::Eod(doc(bytes)?),
        Kind::Book => Parsed::Book(doc(bytes)?),
        Kind::Risk => Parsed::Risk(doc(bytes)?),
        Kind::Signals => Parsed::Signals(doc(bytes)?),
        Kind::Predictions => Parsed::Predictions(doc(bytes)?),
        Kind::Metrics | Kind::ModelMetrics => Parsed::Metrics(doc(bytes)?),
        _ => Parsed::Json(Arc::new(serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?)),
    })
}

impl Loader {
    /// A loader over `bus`; nothing is read until [`Loader::refresh`].
    pub fn new(bus: Bus) -> Self {
        Self { bus, seen: HashMap::new() }
    }

    /// The bus read.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Lists the bus and reads every new or changed object (16 at a time), then builds a snapshot.
    /// Errors reaching the bus are returned; a bad object is a problem in the snapshot.
    pub async fn refresh(&mut self) -> Result<Snapshot, ae_shared::bus::BusError> {
        let mut listing = Vec::new();
        for p in PREFIXES {
            listing.extend(self.bus.list(p).await?);
        }
        let mut problems = Vec::new();
        let wanted: Vec<(ObjectMeta, Kind)> =
            listing.iter().filter_map(|m| kind_of(&m.key).map(|k| (m.clone(), k))).collect();
        let stale: Vec<(ObjectMeta, Kind)> = wanted
            .iter()
            .filter(|(m, _)| {
                !matches!(self.seen.get(&m.key), Some((size, etag, _)) if *size == m.size && (etag == &m.etag || m.etag.is_none()))
            })
            .cloned()
            .collect();
        let gate = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for (m, kind) in stale {
            let bus = self.bus.clone();
            let gate = gate.clone();
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let got = match bus.get(&m.key).await {
                    Ok(Some(o)) => parse_as(kind, &o.bytes),
                    Ok(None) => Err("listed but gone when read".to_string()),
                    Err(e) => Err(e.to_string()),
                };
                (m, got)
            });
        }
        let mut read = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(x) => read.push(x),
                Err(e) => problems.push(format!("a read task failed: {e}")),
            }
        }
        for (m, got) in read {
            match got {
                Ok(p) => {
                    self.seen.insert(m.key.clone(), (m.size, m.etag.clone(), p));
                }
                Err(e) => {
                    self.seen.remove(&m.key);
                    problems.push(format!("{}: {e}", m.key));
                }
            }
        }
        let live: std::collections::HashSet<&Key> = wanted.iter().map(|(m, _)| &m.key).collect();
        self.seen.retain(|k, _| live.contains(k));

        let mut s = Snapshot { problems, ..Snapshot::default() };
        for (key, (_, _, parsed)) in &self.seen {
            let day = keys::date_of(key);
            let Some(kind) = kind_of(key) else { continue };
            match (parsed, day) {
                (Parsed::Eod(d), Some(day)) => {
                    s.eods.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Book(d), Some(day)) => {
                    s.books.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Risk(d), Some(day)) => {
                    s.risk.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Signals(d), Some(day)) => {
                    s.signals.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Predictions(d), Some(day)) => {
                    s.predictions.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Metrics(d), _) if kind == Kind::ModelMetrics => {
                    s.model_metrics.insert(d.model_version.clone(), Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Metrics(d), Some(day)) => {
                    s.metrics.insert(day, Sourced { key: key.clone(), doc: d.clone() });
                }
                (Parsed::Json(v), Some(day)) if kind == Kind::Backtest => {
                    s.backtests.insert(day, Sourced { key: key.clone(), doc: v.clone() });
                }
                (Parsed::Json(v), Some(day)) if kind == Kind::ResearchRun => {
                    s.research_runs.insert(day, Sourced { key: key.clone(), doc: v.clone() });
                }
                (Parsed::Json(v), Some(day)) if kind == Kind::WrittenBack => {
                    let name = key.file_name().trim_end_matches(".json").to_string();
                    s.written_back.push(WrittenBack { date: day, name, key: key.clone(), doc: v.clone() });
                }
                (Parsed::Json(v), _) if kind == Kind::Alert => match serde_json::from_value::<Alert>((**v).clone()) {
                    Ok(a) => s.alerts.push(Sourced { key: key.clone(), doc: Arc::new(a) }),
                    Err(e) => s.problems.push(format!("{key}: not an alert: {e}")),
                },
                _ => {}
            }
        }
        s.written_back.sort_by(|a, b| (a.date, &a.name).cmp(&(b.date, &b.name)));
        s.alerts.sort_by(|a, b| (a.doc.at, &a.key).cmp(&(b.doc.at, &b.key)));

        for key in singletons() {
            match self.bus.get(&key).await {
                Ok(None) => {}
                Ok(Some(o)) => {
                    let name = key.as_str();
                    if name == keys::kill_switch().as_str() {
                        match contracts::parse::<KillSwitch>(&o.bytes) {
                            Ok(k) => s.kill_switch = Some(Sourced { key: key.clone(), doc: Arc::new(k) }),
                            Err(p) => s.problems.push(format!("{key}: {p}")),
                        }
                    } else if name == keys::predictor_registry().as_str() {
                        match serde_json::from_slice::<Registry>(&o.bytes)
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.check().map(|()| r).map_err(|p| p.to_string()))
                        {
                            Ok(r) => s.registry = Some(Sourced { key: key.clone(), doc: Arc::new(r) }),
                            Err(e) => s.problems.push(format!("{key}: {e}")),
                        }
                    } else if name == keys::freshness().as_str() {
                        match serde_json::from_slice::<Freshness>(&o.bytes) {
                            Ok(f) => s.freshness = Some(Sourced { key: key.clone(), doc: Arc::new(f) }),
                            Err(e) => s.problems.push(format!("{key}: not a freshness report: {e}")),
                        }
                    } else {
                        match serde_json::from_slice::<Value>(&o.bytes) {
                            Ok(v) => s.manifest = Some(Sourced { key: key.clone(), doc: Arc::new(v) }),
                            Err(e) => s.problems.push(format!("{key}: not JSON: {e}")),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        listing.sort_by(|a, b| a.key.cmp(&b.key));
        s.listing = listing;
        Ok(s)
    }
}
