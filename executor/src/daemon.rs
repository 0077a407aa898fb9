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

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::store::SectorMap;
use ae_shared::types::Ticker;
use anyhow::Context as _;
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerError};
use crate::engine::{DayEngine, DayReport, EngineState, GateSettings};
use crate::ib::Venue;
use crate::ledger::Ledger;
use crate::notify::Notifier;
use crate::oms::{self, OrderEvent, Reconciled};

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

fn session_close(date: TradingDay) -> NaiveTime {
    crate::session::close_time(date)
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

/// Runs the daemon for one day.
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
    clock: &SimulatedClock,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<DaemonReport> {
    let date = opts.date;
    let book = wait_for_book(bus, date, opts.book_wait, &stop).await?;
    let params = bus.tuned_params(&cfg.executor, &mut Vec::new(), &mut Vec::new()).await;
    let kill = crate::inputs::kill_switch(bus).await?;
    let close = session_close(date);
    let mut engine = DayEngine::new(date, book, params, kill, GateSettings::from_config(&cfg.trading), ratios, close)
        .map_err(anyhow::Error::msg)?;
    let mut report = DaemonReport::default();
    let mut day = DayReport { date: Some(date), ..Default::default() };
    if let Some(snap) = last_snapshot(bus, date).await? {
        tracing::info!(at = %snap.at, "resuming from the last snapshot");
        engine.state = snap.state;
        day = snap.report;
    }
    let open = NaiveTime::from_hms_opt(9, 30, 0).expect("time");
    let mut attempt = 0u32;
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
        // Reconcile before anything new is sent.
        match oms::reconcile(ledger, &venue, date, sectors, clock).await {
            Ok(r) => {
                if !r.position_breaks.is_empty() {
                    tracing::error!(breaks = ?r.position_breaks, "ledger and broker positions disagree after reconciliation");
                }
                day.fills += r.fills_booked;
                day.sent.extend(r.resent.iter().cloned());
                report.reconciled.push(r);
            }
            Err(crate::ExecError::Broker(e)) => {
                tracing::warn!(error = %e, "reconciliation interrupted: reconnecting");
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
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
            let local = now.with_timezone(&New_York);
            if local.date_naive() > date.date() || local.time() >= close {
                // The close: settle what the broker expired, then stop.
                match settle_close(&venue, ledger, date, sectors, clock).await {
                    Ok((expired, fills)) => {
                        report.expired = expired;
                        day.fills += fills;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "settling the close: reconnecting");
                        continue 'connection;
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
            match engine.step(time, &ticks, &venue, ledger, clock, sectors, "daemon", &mut day).await {
                Ok(()) => {}
                Err(crate::ExecError::Broker(e)) => {
                    tracing::warn!(error = %e, "order path interrupted: reconnecting");
                    put_snapshot(bus, &Snapshot { date, at: now, state: engine.state.clone(), report: day.clone() })
                        .await?;
                    continue 'connection;
                }
                Err(e) => return Err(e.into()),
            }
            report.steps += 1;
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
    put_snapshot(bus, &Snapshot { date, at: clock.now(), state: engine.state.clone(), report: day.clone() }).await?;
    report.day = day;
    Ok(report)
}

/// At the close: book the last executions and mark orders the broker no longer works as expired.
async fn settle_close<B: Broker>(
    broker: &B,
    ledger: &mut Ledger,
    date: TradingDay,
    sectors: &SectorMap,
    clock: &dyn Clock,
) -> Result<(Vec<String>, usize), crate::ExecError> {
    let fills = oms::sync_fills(ledger, broker, date, sectors).await?;
    let open: std::collections::BTreeSet<String> = broker.open_orders().await?.into_iter().collect();
    let mut expired = Vec::new();
    for o in ledger.orders_on(date)?.into_iter().filter(|o| o.state.is_working() && !open.contains(&o.id)) {
        if o.state == crate::oms::OrderState::Pending {
            ledger.transition(&o.id, OrderEvent::Cancel, None, Some("never sent before the close"), clock.now())?;
        } else {
            ledger.transition(&o.id, OrderEvent::Expire, None, Some("day order expired at the close"), clock.now())?;
        }
        expired.push(o.id);
    }
    Ok((expired, fills))
}

/// Cancels every working order of the day at the broker (positions stay).
async fn cancel_working<B: Broker>(broker: &B, ledger: &Ledger, date: TradingDay, clock: &dyn Clock) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(orders) = ledger.orders_on(date) else { return out };
    for o in orders.into_iter().filter(|o| o.state.is_working()) {
        match broker.cancel(&o.id).await {
            Ok(()) => {
                let _ = ledger.transition(
                    &o.id,
                    OrderEvent::Cancel,
                    None,
                    Some("daemon stopped by the operator"),
                    clock.now(),
                );
                out.push(o.id);
            }
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
