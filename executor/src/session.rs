//! The paper session (`executor session --date D`): the day's order book executed on the paper
//! broker at daily resolution. Each name's bar is replayed as its session path (open, extremes,
//! close); on that path the same rules the daemon uses decide: urgent exits at the open, intraday
//! exits on held positions, entry triggers on planned entries. Every order is risk-approved, written
//! ahead to the ledger, sent, and its fill booked — the daemon's path, on a daily clock.

use std::collections::{BTreeMap, BTreeSet};

use ae_rules::bar_path::{DayBar, bar_ticks, effective_expiry};
use ae_rules::intraday::{EntrySpec, IntradayPosition, Tick, entry_trigger, intraday_exit};
use ae_rules::order::{EntryGate, approve_entry, approve_sell, intraday_order_id};
use ae_rules::risk::max_position;
use ae_rules::{OrderPrice, Reason};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::common::{Side, SignalAction};
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::store::PriceStore;
use ae_shared::types::Ticker;
use anyhow::Context as _;
use chrono::NaiveTime;
use serde::Serialize;

use crate::broker::Broker;
use crate::ledger::{Ledger, RiskEventRow};
use crate::oms::{self, OrderEvent, Sent};
use crate::paper::PaperBroker;

/// What a session did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionReport {
    /// Trading day.
    pub date: Option<TradingDay>,
    /// Orders sent (acknowledged).
    pub sent: Vec<String>,
    /// Orders the broker rejected, with why.
    pub rejected: Vec<String>,
    /// Orders the pre-trade gates refused, with why.
    pub refused: Vec<String>,
    /// Orders already recorded (not sent again).
    pub already_known: Vec<String>,
    /// Planned entries that never triggered (they were never sent).
    pub untriggered: Vec<String>,
    /// Fills booked.
    pub fills: usize,
    /// Splits applied to held positions.
    pub splits: Vec<String>,
}

fn close_time(day: TradingDay) -> NaiveTime {
    if day.is_early_close() {
        NaiveTime::from_hms_opt(13, 0, 0).expect("time")
    } else {
        NaiveTime::from_hms_opt(16, 0, 0).expect("time")
    }
}

/// Runs the paper session for `date`. The order book must be dated `date`.
pub async fn run(
    bus: &Bus,
    cfg: &Config,
    clock: &SimulatedClock,
    broker: &PaperBroker,
    ledger: &mut Ledger,
    store: &PriceStore,
    date: TradingDay,
) -> anyhow::Result<SessionReport> {
    let key = keys::order_book(date);
    let book = bus
        .get_doc_required::<OrderBook>(&key)
        .await
        .with_context(|| format!("reading {key} (run `executor plan --date {date}` first)"))?
        .doc;
    if book.date != date {
        anyhow::bail!("{key} is dated {} — an order book for another day is never executed", book.date);
    }
    let params = bus.tuned_params(&cfg.executor, &mut Vec::new(), &mut Vec::new()).await;
    let kill = crate::inputs::kill_switch(bus).await?;
    let mut report = SessionReport { date: Some(date), ..Default::default() };
    broker.begin_day(date);

    // Splits effective today (held positions and the planned prices move to the new basis).
    let mut ratio: BTreeMap<Ticker, f64> = BTreeMap::new();
    for s in store.splits.iter().filter(|s| s.date == date) {
        ratio.insert(s.ticker.clone(), s.ratio);
        if broker.apply_split(&s.ticker, date, s.ratio)? {
            report.splits.push(format!("{} {}", s.ticker, s.label));
        }
        ledger.apply_split(&s.ticker, date, s.ratio)?;
    }
    let r = |t: &Ticker| ratio.get(t).copied().unwrap_or(1.0);

    // The day's bars, as session paths.
    let close = close_time(date);
    let mut names: BTreeSet<Ticker> = broker.account().await?.positions.iter().map(|p| p.ticker.clone()).collect();
    names.extend(book.entries.iter().map(|e| e.ticker.clone()));
    names.extend(book.urgent_exits.iter().map(|e| e.ticker.clone()));
    let mut paths: BTreeMap<Ticker, [Tick; 4]> = BTreeMap::new();
    for t in &names {
        if let Some(s) = store.raw.get(t.as_str())
            && let Ok(i) = s.dates.binary_search(&date)
        {
            let bar = DayBar { open: s.open[i], high: s.high[i], low: s.low[i], close: s.close[i] };
            paths.insert(t.clone(), bar_ticks(&bar, close));
        }
    }
    let stops: BTreeMap<&Ticker, _> = book.stops.iter().map(|s| (&s.ticker, s)).collect();
    let mut pending: Vec<(&ae_shared::contracts::order_book::EntryOrder, EntrySpec)> = Vec::new();
    for e in &book.entries {
        let k = r(&e.ticker);
        let mut spec =
            EntrySpec::from_triggers(e.reference_price.get() / k, &e.triggers).context("order book entry times")?;
        spec.support = spec.support.map(|s| s / k);
        spec.expiry = effective_expiry(spec.expiry, close);
        pending.push((e, spec));
    }
    let exiting: BTreeSet<&Ticker> =
        book.urgent_exits.iter().filter(|x| x.action == SignalAction::Exit).map(|x| &x.ticker).collect();
    let max_pos = max_position(&params.risk, book.market_regime);
    let mut high_water: BTreeMap<Ticker, f64> = BTreeMap::new();

    for step in 0..4 {
        let time = paths.values().next().map(|p| p[step].time).unwrap_or(close);
        clock.set(ae_shared::calendar::et_instant(date.date(), time));
        for (t, p) in &paths {
            broker.set_quote(t, p[step].price)?;
        }
        let account = broker.account().await?;
        // Urgent exits at the open, at market.
        if step == 0 {
            for x in &book.urgent_exits {
                if !paths.contains_key(&x.ticker) {
                    // No market today for this name (a gap in the data, a halt): nothing can fill;
                    // the next morning's plan decides again.
                    let detail = format!("no {date} bar for {}: {} not sent", x.ticker, x.id);
                    ledger.record_risk_event(&RiskEventRow {
                        date,
                        source: "session".into(),
                        rule: Reason::NoPrice.code().into(),
                        ticker: Some(x.ticker.clone()),
                        detail: detail.clone(),
                    })?;
                    report.refused.push(detail);
                    continue;
                }
                let held = account.shares_of(&x.ticker);
                let want = ((x.shares as f64) * r(&x.ticker)).round() as u32;
                let reasons: Vec<Reason> = x.reasons.iter().filter_map(|c| Reason::from_code(c)).collect();
                match approve_sell(&x.id, &x.ticker, want, held, ledger.working_sells(&x.ticker)?, x.action, &reasons) {
                    Ok(o) => note(&mut report, &x.id, oms::send(ledger, broker, &o, date, clock).await?),
                    Err(refusal) => report.refused.push(format!("{}: {refusal}", x.id)),
                }
            }
            report.fills += oms::sync_fills(ledger, broker, date, &store.sectors).await?;
        }
        // Intraday exits on what is held.
        let account = broker.account().await?;
        let memory: BTreeMap<Ticker, crate::ledger::PositionRow> =
            ledger.positions()?.into_iter().map(|p| (p.ticker.clone(), p)).collect();
        for pos in &account.positions {
            let Some(path) = paths.get(&pos.ticker) else { continue };
            if exiting.contains(&pos.ticker) {
                continue;
            }
            let tick = path[step];
            let stop = stops.get(&pos.ticker);
            let mem = memory.get(&pos.ticker);
            let hw = high_water.entry(pos.ticker.clone()).or_insert_with(|| {
                stop.map(|s| s.high_water.get() / r(&pos.ticker)).or(mem.map(|m| m.high_water)).unwrap_or(pos.avg_cost)
            });
            *hw = hw.max(tick.day_high);
            let ip = IntradayPosition {
                entry_price: pos.avg_cost,
                high_water: *hw,
                atr: stop.and_then(|s| s.atr).map(|a| a.get() / r(&pos.ticker)),
                days_held: mem.map(|m| m.entry_date.days_until(date).max(0) as u32).unwrap_or(0),
                shares: pos.shares,
                working_sells: ledger.working_sells(&pos.ticker)?,
                profit_taken: mem.is_some_and(|m| m.profit_taken),
            };
            if let Some((reason, shares)) = intraday_exit(&ip, &tick, &params.intraday) {
                let id = intraday_order_id(date, &pos.ticker, reason);
                let action = if shares >= pos.shares { SignalAction::Exit } else { SignalAction::Reduce };
                match approve_sell(&id, &pos.ticker, shares, pos.shares, ip.working_sells, action, &[reason]) {
                    Ok(o) => note(&mut report, &id, oms::send(ledger, broker, &o, date, clock).await?),
                    Err(refusal) => report.refused.push(format!("{id}: {refusal}")),
                }
            }
        }
        report.fills += oms::sync_fills(ledger, broker, date, &store.sectors).await?;
        // Entry triggers.
        let account = broker.account().await?;
        let mut still = Vec::new();
        for (e, spec) in pending.drain(..) {
            let Some(path) = paths.get(&e.ticker) else {
                still.push((e, spec));
                continue;
            };
            let tick = path[step];
            let Some(trigger) = entry_trigger(&spec, &tick) else {
                still.push((e, spec));
                continue;
            };
            let working_buys: u32 = ledger
                .working_orders()?
                .iter()
                .filter(|o| o.ticker == e.ticker && o.side == Side::Buy)
                .map(|o| o.remaining())
                .sum();
            let committed: f64 = ledger
                .working_orders()?
                .iter()
                .filter(|o| o.side == Side::Buy)
                .map(|o| o.remaining() as f64 * o.reference_price.unwrap_or(0.0))
                .sum();
            let nav = account.cash
                + account
                    .positions
                    .iter()
                    .map(|p| p.shares as f64 * broker.quote(&p.ticker).unwrap_or(p.avg_cost))
                    .sum::<f64>();
            let gate = EntryGate {
                today: date,
                book_date: book.date,
                kill_switch: kill,
                nav,
                cash_available: (account.cash - committed) / (1.0 + broker.settings().slippage_bps / 1e4)
                    - broker.settings().commission_min,
                held: account.shares_of(&e.ticker),
                working_buys,
                max_order_usd: cfg.trading.max_order_usd,
                max_position: max_pos * 1.10,
            };
            let shares = ((e.shares as f64) * r(&e.ticker)).round() as u32;
            match approve_entry(
                &e.id,
                &e.ticker,
                shares,
                tick.price,
                spec.reference_price,
                trigger,
                OrderPrice::Market,
                &gate,
            ) {
                Ok(o) => note(&mut report, &e.id, oms::send(ledger, broker, &o, date, clock).await?),
                Err(refusal) => {
                    ledger.record_risk_event(&RiskEventRow {
                        date,
                        source: "session".into(),
                        rule: refusal.reason.code().into(),
                        ticker: Some(e.ticker.clone()),
                        detail: refusal.detail.clone(),
                    })?;
                    report.refused.push(format!("{}: {refusal}", e.id));
                }
            }
            report.fills += oms::sync_fills(ledger, broker, date, &store.sectors).await?;
        }
        pending = still;
    }
    report.untriggered = pending.iter().map(|(e, _)| e.id.clone()).collect();
    clock.set(ae_shared::calendar::et_instant(date.date(), close));
    for id in broker.expire_day_orders()? {
        if ledger.order(&id)?.is_some() {
            ledger.transition(&id, OrderEvent::Expire, None, Some("day order expired at the close"), clock.now())?;
        }
    }
    for (t, p) in &paths {
        ledger.mark_high_water(t, p[3].price)?;
    }
    Ok(report)
}

fn note(report: &mut SessionReport, id: &str, s: Sent) {
    match s {
        Sent::Acknowledged { .. } => report.sent.push(id.to_string()),
        Sent::AlreadyKnown { state } => report.already_known.push(format!("{id} ({state})")),
        Sent::Rejected { reason } => report.rejected.push(format!("{id}: {reason}")),
    }
}
