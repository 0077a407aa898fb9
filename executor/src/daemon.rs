//! The intraday daemon (`executor daemon --date D`): the only process that places orders.
//!
//! It waits for today's order book (and refuses one dated otherwise), connects to the broker
//! (paper-account guard first), and on every (re)connect reconciles executions, open orders and
//! positions BEFORE anything new is sent. Then it follows the broker's clock: at each new moment
//! of the session it reads last prices, lets the [`DayEngine`] decide (urgent exits first, then
//! intraday exits and entry triggers, all through `ae-rules`), sends through the OMS (write-ahead
//! first) and snapshots its state to the bus, so a restart resumes where it stopped. After the
//! close it settles day orders the broker expired and stops. A dropped connection is retried with
//! backoff; a stop request (SIGINT/SIGTERM) cancels working orders and leaves positions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ae_rules::Reason;
use ae_rules::lifecycle::{OrderEvent, OrderState};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::store::SectorMap;
use ae_shared::types::Ticker;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

use ae_shared::alerts::Alerter;

use crate::alerts::AlertPump;
use crate::broker::{Broker, BrokerError};
use crate::engine::{DayEngine, DayReport, EngineState, GateSettings};
use crate::ib::Venue;
use crate::ledger::{Ledger, LedgerLock};
use crate::notify::Notifier;
use crate::oms::{self, Reconciled};

/// The daemon's state on the bus after each step (`executor/snapshots/{date}/latest.json`, plus
/// one object per step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Trading day.
    pub date: TradingDay,
    /// Broker time of the step.
    pub at: DateTime<Utc>,
    /// The engine's memory.
    pub state: EngineState,
    /// What the day did so far.
    pub report: DayReport,
}

/// What a daemon run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DaemonReport {
    /// The day.
    pub day: DayReport,
    /// Connections made (1 = never dropped).
    pub connections: u32,
    /// Reconciliation at each connection.
    pub reconciled: Vec<Reconciled>,
    /// Moments of the session acted on.
    pub steps: u32,
    /// Orders cancelled because the daemon was asked to stop.
    pub cancelled_on_stop: Vec<String>,
    /// Orders the broker expired at the close.
    pub expired: Vec<String>,
    /// Whether the run reached the close.
    pub completed: bool,
    /// Why the day ran without the planner's order book (protecting what is held), if it did.
    pub protective: Option<String>,
    /// Day orders of earlier days settled at the start.
    pub settled: Vec<String>,
    /// Kill switch changes seen during the day.
    pub kill_switch_changes: Vec<String>,
}

/// Connects to the broker; the daemon calls it again after a drop.
#[allow(async_fn_in_trait)]
pub trait Connector {
    /// The venue.
    type V: Venue;
    /// Connects (the paper-account guard runs here: [`BrokerError::Refused`] is final).
    async fn connect(&self) -> Result<Self::V, BrokerError>;
}

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Trading day.
    pub date: TradingDay,
    /// Seconds between steps (0: as fast as the broker's clock moves).
    pub poll: Duration,
    /// How long to wait for the order book.
    pub book_wait: Duration,
    /// Reconnect attempts before giving up.
    pub reconnect_attempts: u32,
}

/// Waits for `date`'s order book; refuses one dated otherwise.
pub async fn wait_for_book(
    bus: &Bus,
    date: TradingDay,
    wait: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<OrderBook> {
    let key = keys::order_book(date);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(b) = bus.get_doc::<OrderBook>(&key).await.with_context(|| format!("reading {key}"))? {
            if b.doc.date != date {
                anyhow::bail!("{key} is dated {} — an order book for another day is never executed", b.doc.date);
            }
            return Ok(b.doc);
        }
        if tokio::time::Instant::now() >= deadline || stop.load(Ordering::SeqCst) {
            anyhow::bail!("no order book at {key} (run `executor plan --date {date}` first)");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(7)).min(10_000))
}

async fn put_snapshot(bus: &Bus, snap: &Snapshot) -> anyhow::Result<()> {
    let stamp = snap.at.with_timezone(&New_York).format("%H%M%S").to_string();
    bus.put_json(&keys::daemon_snapshot(snap.date, &stamp), snap, PutMode::Overwrite).await?;
    bus.put_json(&keys::daemon_snapshot(snap.date, "latest"), snap, PutMode::Overwrite).await?;
    Ok(())
}

/// The last snapshot of `date`, if the daemon ran before today.
pub async fn last_snapshot(bus: &Bus, date: TradingDay) -> anyhow::Result<Option<Snapshot>> {
    Ok(bus.get_json::<Snapshot>(&keys::daemon_snapshot(date, "latest")).await?.map(|(s, _)| s))
}

/// The order book the daemon runs when the planner's never came (or came misdated): no entries;
/// yesterday's stops for names still held (the ledger's memory for the others) and yesterday's
/// urgent exits of names still held, re-dated to today. Exits and stops keep running.
pub async fn protective_book(bus: &Bus, ledger: &Ledger, date: TradingDay) -> anyhow::Result<OrderBook> {
    use ae_shared::contracts::order_book::{StopOrder, order_id};
    use ae_shared::contracts::{InputRef, Job, Lineage};
    use ae_shared::types::Usd;
    let prev_key = keys::order_book(date.prev());
    let (yesterday, input): (Option<OrderBook>, Vec<InputRef>) = match bus.get_doc::<OrderBook>(&prev_key).await {
        Ok(Some(l)) => (Some(l.doc), vec![l.input]),
        Ok(None) => (None, Vec::new()),
        Err(e) => {
            tracing::warn!(key = %prev_key, error = %e, "yesterday's order book unreadable: stops from the ledger only");
            (None, Vec::new())
        }
    };
    let held = ledger.positions()?;
    let usd = |x: f64| Usd::new(if x.is_finite() && x > 0.0 { x } else { 0.0 });
    let mut stops = Vec::new();
    let mut urgent_exits = Vec::new();
    for p in &held {
        let from_book = yesterday.as_ref().and_then(|b| b.stops.iter().find(|s| s.ticker == p.ticker));
        let stop = match from_book {
            Some(s) => StopOrder { shares: p.shares, ..s.clone() },
            None => StopOrder {
                ticker: p.ticker.clone(),
                shares: p.shares,
                entry_price: usd(p.avg_cost)?,
                entry_date: p.entry_date.min(date),
                high_water: usd(p.high_water.max(p.avg_cost))?,
                atr: None,
                atr_multiple: 0.0,
                stop_price: usd(p.high_water.max(p.avg_cost) * 0.9)?,
            },
        };
        stops.push(stop);
        if let Some(x) = yesterday.as_ref().and_then(|b| b.urgent_exits.iter().find(|x| x.ticker == p.ticker)) {
            let mut x = x.clone();
            x.id = order_id(date, &x.ticker, x.action);
            x.shares = x.shares.min(p.shares);
            urgent_exits.push(x);
        }
    }
    let cash = ledger.cash().unwrap_or(0.0);
    let nav = cash + held.iter().map(|p| p.shares as f64 * p.avg_cost).sum::<f64>();
    Ok(OrderBook {
        schema_version: 1,
        produced_by: Lineage::new(Job::Executor, env!("CARGO_PKG_VERSION"), Some(date), input),
        date,
        nav: usd(nav)?,
        cash: usd(cash)?,
        market_regime: yesterday
            .as_ref()
            .map(|b| b.market_regime)
            .unwrap_or(ae_shared::contracts::common::Regime::Neutral),
        entries: Vec::new(),
        urgent_exits,
        stops,
        blocked: Vec::new(),
        params: None,
        breakers: None,
        ensemble: None,
    })
}

fn risk(ledger: &Ledger, date: TradingDay, rule: &str, ticker: Option<&Ticker>, detail: String) {
    let row = crate::ledger::RiskEventRow {
        date,
        source: "daemon".into(),
        rule: rule.into(),
        ticker: ticker.cloned(),
        detail,
    };
    if let Err(e) = ledger.record_risk_event(&row) {
        tracing::error!(error = %e, rule, "recording a risk event failed");
    }
}

/// Runs the daemon for one day. It never abandons the day over a disagreement with the broker:
/// executions are booked whatever the ledger expected, a missing order book still protects what is
/// held, the kill switch is re-read at every step, one failing order never stops the others. It
/// refuses to start only when another daemon holds the ledger or trades the account, or the broker
/// refuses the account (the paper-account guard).
#[allow(clippy::too_many_arguments)]
pub async fn run<C: Connector>(
    bus: &Bus,
    cfg: &Config,
    connector: &C,
    ledger: &mut Ledger,
    sectors: &SectorMap,
    ratios: BTreeMap<Ticker, f64>,
    opts: &DaemonOptions,
    notifier: &Notifier,
    alerter: &Alerter,
    clock: &SimulatedClock,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<DaemonReport> {
    let date = opts.date;
    let mut pump = AlertPump::new(alerter.clone(), date);
    let _lock = if ledger.path() == std::path::Path::new(":memory:") {
        None
    } else {
        Some(LedgerLock::acquire(ledger.path(), &format!("executor daemon {date}"))?)
    };
    let mut report = DaemonReport::default();
    let book = match wait_for_book(bus, date, opts.book_wait, &stop).await {
        Ok(b) => b,
        Err(why) => {
            let what = format!("{why:#}: protecting what is held (exits and stops only, no entries)");
            tracing::error!("{what}");
            risk(ledger, date, Reason::NoOrderBook.code(), None, what.clone());
            report.protective = Some(what);
            let _ = pump.pump(ledger, clock.now());
            protective_book(bus, ledger, date).await?
        }
    };
    let params = crate::inputs::params_of(bus, cfg, &book).await;
    let mut kill = crate::inputs::kill_state(bus, None).await;
    if let Some(p) = &kill.problem {
        tracing::error!("{p}");
    }
    let close = ae_rules::bar_path::close_time(date);
    let mut engine =
        DayEngine::new(date, book, params, kill.mode, GateSettings::from_config(&cfg.trading), ratios, close)
            .map_err(anyhow::Error::msg)?;
    let mut day = DayReport { date: Some(date), ..Default::default() };
    match last_snapshot(bus, date).await {
        Ok(Some(snap)) => {
            tracing::info!(at = %snap.at, "resuming from the last snapshot");
            engine.state = snap.state;
            day = snap.report;
        }
        Ok(None) => {}
        Err(e) => {
            // The ledger is the truth about orders; the snapshot only saves work. Start afresh.
            let what = format!(
                "the last snapshot of {date} is unreadable ({e:#}): starting the day's engine afresh from the ledger"
            );
            tracing::error!("{what}");
            risk(ledger, date, "SNAPSHOT_UNREADABLE", None, what);
        }
    }
    engine.report_dropped(ledger, "daemon", &mut day)?;
    let open = ae_rules::bar_path::session_open();
    let mut attempt = 0u32;
    let mut first = true;
    'connection: loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let venue = match connector.connect().await {
            Ok(v) => v,
            Err(BrokerError::Refused(why)) => anyhow::bail!("{why}"),
            Err(e) => {
                attempt += 1;
                if attempt > opts.reconnect_attempts {
                    return Err(anyhow::anyhow!(e))
                        .context(format!("gave up after {} attempts", opts.reconnect_attempts));
                }
                tracing::warn!(attempt, error = %e, "broker unavailable: retrying");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
        };
        report.connections += 1;
        if ledger.inception()?.is_none() {
            match venue.account().await {
                Ok(a) => {
                    ledger.ensure_inception(date, a.cash)?;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the account: reconnecting");
                    continue;
                }
            }
        }
        if first {
            // One daemon per account: today's alpha-engine orders this ledger does not know mean
            // another daemon with another ledger.
            match oms::foreign_activity(ledger, &venue, date).await {
                Ok(unknown) if !unknown.is_empty() => anyhow::bail!(
                    "the broker shows {} order(s) or execution(s) of {date} with alpha-engine ids that {} does not know \
                     (e.g. {}): another daemon with another ledger may be trading this account. Stop it, or point \
                     trading.ledger_path at its ledger",
                    unknown.len(),
                    ledger.path().display(),
                    unknown.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "checking the broker for other daemons: reconnecting");
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            }
            report.settled = oms::settle_earlier_days(ledger, date, clock)?;
            first = false;
        }
        // Reconcile before anything new is sent.
        match oms::reconcile(ledger, &venue, date, sectors, engine.kill().is_some(), clock).await {
            Ok(r) => {
                if !r.position_breaks.is_empty() {
                    tracing::error!(breaks = ?r.position_breaks, "ledger and broker positions disagreed after reconciliation: the ledger follows the broker");
                }
                day.fills += r.fills_booked;
                day.sent.extend(r.resent.iter().cloned());
                report.reconciled.push(r);
                if let Err(e) = pump.pump(ledger, clock.now()) {
                    tracing::error!(error = %e, "reading risk events for alerts");
                }
            }
            Err(crate::ExecError::Broker(e)) => {
                tracing::warn!(error = %e, "reconciliation interrupted: reconnecting");
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            Err(e) => {
                attempt += 1;
                if attempt > opts.reconnect_attempts {
                    return Err(anyhow::Error::from(e)).context("reconciling: the ledger keeps failing");
                }
                tracing::error!(error = %e, "reconciling: the ledger failed; trying again");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
        }
        attempt = 0;
        loop {
            if stop.load(Ordering::SeqCst) {
                report.cancelled_on_stop = cancel_working(&venue, ledger, date, clock).await;
                break 'connection;
            }
            let now = match venue.now().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the broker: reconnecting");
                    continue 'connection;
                }
            };
            clock.set(now);
            // The kill switch, at every step.
            let fresh = crate::inputs::kill_state(bus, Some(&kill)).await;
            if fresh.mode != kill.mode || fresh.problem != kill.problem {
                let what = match (&fresh.mode, &fresh.doc) {
                    (Some(m), Some(d)) => format!("kill switch {} set: {} (by {:?})", m.name(), d.reason, d.set_by),
                    (Some(m), None) => {
                        format!("kill switch {}: {}", m.name(), fresh.problem.clone().unwrap_or_default())
                    }
                    (None, _) => "kill switch cleared: entries allowed again".to_string(),
                };
                tracing::warn!("{what}");
                risk(ledger, date, Reason::KillSwitchChanged.code(), None, what.clone());
                report.kill_switch_changes.push(what);
                engine.set_kill(fresh.mode);
            }
            kill = fresh;
            let local = now.with_timezone(&New_York);
            if local.date_naive() > date.date() || local.time() >= close {
                // The close: settle what the broker expired, then stop.
                match settle_close(&venue, ledger, date, sectors, clock).await {
                    Ok((expired, fills)) => {
                        report.expired = expired;
                        day.fills += fills;
                    }
                    Err(crate::ExecError::Broker(e)) => {
                        tracing::warn!(error = %e, "settling the close: reconnecting");
                        continue 'connection;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "settling the close: the ledger failed; the next reconcile settles it");
                    }
                }
                report.completed = true;
                break 'connection;
            }
            let time = local.time();
            if local.date_naive() < date.date() || time < open || engine.state.last_step == Some(time) {
                tokio::time::sleep(opts.poll.max(Duration::from_millis(if opts.poll.is_zero() { 0 } else { 1 }))).await;
                continue;
            }
            let held = ledger.positions()?.into_iter().map(|p| p.ticker).collect::<Vec<_>>();
            let names = engine.watch_list(&held);
            let prices = match venue.last_prices(&names).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "market data: reconnecting");
                    continue 'connection;
                }
            };
            let mut ticks = BTreeMap::new();
            for (t, p) in &prices {
                ticks.insert(t.clone(), engine.state.tape.observe(t, time, *p));
            }
            let sent_before = day.sent.len();
            let fired_before = day.breakers.len();
            match engine.step(time, &ticks, &venue, ledger, clock, sectors, "daemon", &mut day).await {
                Ok(()) => {
                    // A breaker's kill switch persists on the bus (until an operator clears it).
                    for doc in
                        crate::kill_switch::persist_breaker_kills(bus, &day.breakers[fired_before..], now).await?
                    {
                        alerter.deliver(crate::kill_switch::alert_for_set(&doc)).await;
                    }
                }
                Err(crate::ExecError::Broker(e)) => {
                    tracing::warn!(error = %e, "order path interrupted: reconnecting");
                    put_snapshot(bus, &Snapshot { date, at: now, state: engine.state.clone(), report: day.clone() })
                        .await?;
                    continue 'connection;
                }
                Err(e) => {
                    // The ledger's own storage failed mid-step: what was recorded is safe, the
                    // rest is decided again at the next moment after a reconcile.
                    tracing::error!(error = %e, "a step failed in the ledger: reconciling and going on");
                    put_snapshot(bus, &Snapshot { date, at: now, state: engine.state.clone(), report: day.clone() })
                        .await?;
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue 'connection;
                }
            }
            report.steps += 1;
            if let Err(e) = pump.pump(ledger, clock.now()) {
                tracing::error!(error = %e, "reading risk events for alerts");
            }
            for id in &day.sent[sent_before..] {
                if let Some(o) = ledger.order(id)? {
                    notifier.notify(format!(
                        "alpha-engine {date} {}: {:?} {} {} ({})",
                        local.format("%H:%M"),
                        o.side,
                        o.shares,
                        o.ticker,
                        o.intent
                    ));
                }
            }
            put_snapshot(bus, &Snapshot { date, at: now, state: engine.state.clone(), report: day.clone() }).await?;
            if !opts.poll.is_zero() {
                tokio::time::sleep(opts.poll).await;
            }
        }
    }
    engine.finish(ledger, "daemon", &mut day)?;
    if let Err(e) = pump.pump(ledger, clock.now()) {
        tracing::error!(error = %e, "reading risk events for alerts");
    }
    put_snapshot(bus, &Snapshot { date, at: clock.now(), state: engine.state.clone(), report: day.clone() }).await?;
    report.day = day;
    Ok(report)
}

/// At the close: book the last executions, mark orders the broker no longer works as expired,
/// then look once more for executions reported late (a fill at the bell reported after the expiry
/// is booked on the expired order: see `ae_rules::lifecycle`).
async fn settle_close<B: Broker>(
    broker: &B,
    ledger: &mut Ledger,
    date: TradingDay,
    sectors: &SectorMap,
    clock: &dyn Clock,
) -> Result<(Vec<String>, usize), crate::ExecError> {
    // The broker's working orders first, then its executions: an order that stopped working
    // before the first request has its executions in the second.
    let working = broker.open_orders().await?;
    let fills = oms::sync_fills(ledger, broker, date, sectors).await?;
    let open: std::collections::BTreeSet<&str> = working.iter().map(|o| o.order_ref.as_str()).collect();
    let mut expired = Vec::new();
    for o in ledger.orders_on(date)?.into_iter().filter(|o| o.state.is_working() && !open.contains(o.id.as_str())) {
        if o.state == OrderState::Pending {
            ledger.apply(&o.id, OrderEvent::Cancel, Some("never sent before the close"), clock.now())?;
        } else {
            ledger.apply(&o.id, OrderEvent::Expire, Some("day order expired at the close"), clock.now())?;
        }
        expired.push(o.id);
    }
    let late = oms::sync_fills(ledger, broker, date, sectors).await?;
    // The day ends with the ledger equal to the broker: a position moved without an execution is
    // adopted and reported here, not left for tomorrow.
    let (again, _) = oms::reconcile_positions(ledger, broker, date, sectors, clock).await?;
    Ok((expired, fills + late + again))
}

/// Asks the broker to cancel every working order of the day (positions stay). The ledger records
/// each request; the next reconcile sees the broker's confirmation.
async fn cancel_working<B: Broker>(broker: &B, ledger: &Ledger, date: TradingDay, clock: &dyn Clock) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(orders) = ledger.orders_on(date) else { return out };
    for o in orders.into_iter().filter(|o| o.state.is_working() && !o.is_external()) {
        match oms::cancel(ledger, broker, &o.id, "daemon stopped by the operator", clock).await {
            Ok(()) => out.push(o.id),
            Err(e) => tracing::warn!(id = %o.id, error = %e, "could not cancel on stop"),
        }
    }
    out
}

/// Connects to IB (or the local paper gateway) with the configured client id.
#[derive(Debug, Clone)]
pub struct IbConnector {
    /// `host:port`.
    pub address: String,
    /// API client id.
    pub client_id: i32,
    /// IB settings.
    pub cfg: ae_shared::config::IbConfig,
    /// Live trading confirmed at the terminal.
    pub live_confirmed: bool,
}

impl Connector for IbConnector {
    type V = crate::ib::IbBroker;
    async fn connect(&self) -> Result<Self::V, BrokerError> {
        crate::ib::IbBroker::connect(&self.address, self.client_id, &self.cfg, self.live_confirmed).await
    }
}
