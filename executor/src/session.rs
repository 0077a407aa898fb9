//! The paper session (`executor session --date D`): the day's order book executed on the paper
//! broker at daily resolution. Each name's bar is replayed as its session path (open, extremes,
//! close) and fed to the same [`DayEngine`] the daemon drives: urgent exits at the open, intraday
//! exits on held positions, entry triggers on planned entries — every order risk-approved, written
//! ahead to the ledger, sent, and its fill booked.

use std::collections::BTreeMap;

use ae_rules::bar_path::{DayBar, close_time, path_of};
use ae_rules::intraday::Tick;
use ae_rules::lifecycle::OrderEvent;
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::store::PriceStore;
use ae_shared::types::Ticker;
use anyhow::Context as _;

use crate::broker::Broker;
use crate::engine::{DayEngine, GateSettings};
use crate::ledger::Ledger;
use crate::paper::PaperBroker;

pub use crate::engine::DayReport as SessionReport;

/// The day's bar of `t`, when the store has one (its session path is
/// [`ae_rules::bar_path::path_of`]).
pub fn day_bar(store: &PriceStore, t: &Ticker, date: TradingDay) -> Option<DayBar> {
    let s = store.raw.get(t.as_str())?;
    let i = s.dates.binary_search(&date).ok()?;
    Some(DayBar { open: s.open[i], high: s.high[i], low: s.low[i], close: s.close[i] })
}

/// Today's split ratios.
pub fn split_ratios(store: &PriceStore, date: TradingDay) -> BTreeMap<Ticker, f64> {
    // The vendor's announcement is known at the open; the prices confirm it after the close (and
    // a split the prices show wins where the two differ).
    let mut ratios: BTreeMap<Ticker, f64> = store
        .vendor_splits
        .iter()
        .filter(|s| s.date == date.date() && s.ratio.is_finite() && s.ratio > 0.0)
        .map(|s| (s.ticker.clone(), s.ratio))
        .collect();
    ratios.extend(store.splits.iter().filter(|s| s.date == date).map(|s| (s.ticker.clone(), s.ratio)));
    ratios
}

/// The cash dividends going ex on `date`, as the nightly update brought them.
pub fn dividend_events(store: &PriceStore, date: TradingDay) -> Vec<ae_rules::dividends::DividendEvent> {
    store
        .dividends
        .going_ex(date.date())
        .map(|d| ae_rules::dividends::DividendEvent {
            ticker: d.ticker.clone(),
            ex_date: d.ex_date,
            pay_date: d.pay_date,
            per_share: d.cash_amount,
        })
        .collect()
}

/// The ledger's corporate actions at the start of `date`, before any of the day's fills: the
/// splits effective today (held shares move to the new basis, as the broker moves them), then
/// the dividends going ex today (accrued on the shares held) and those paid today. Every process
/// that owns the ledger for a day (the paper session, the daemon) calls it; it is idempotent.
pub fn ledger_corporate_actions(
    ledger: &mut Ledger,
    store: &PriceStore,
    date: TradingDay,
) -> anyhow::Result<(Vec<ae_rules::dividends::Accrual>, f64)> {
    for (t, ratio) in split_ratios(store, date) {
        ledger.apply_split(&t, date, ratio)?;
    }
    let accrued = ledger.accrue_dividends(date, &dividend_events(store, date))?;
    let paid = ledger.pay_dividends(date)?;
    for a in &accrued {
        tracing::info!(ticker = %a.ticker, shares = a.shares, amount = a.amount, pay_date = %a.pay_date, "dividend accrued");
    }
    if paid > 0.0 {
        tracing::info!(paid, "dividends paid into cash");
    }
    Ok((accrued, paid))
}

/// Reads `date`'s order book, refusing one dated otherwise.
pub async fn order_book(bus: &Bus, date: TradingDay) -> anyhow::Result<OrderBook> {
    let key = keys::order_book(date);
    let book = bus
        .get_doc_required::<OrderBook>(&key)
        .await
        .with_context(|| format!("reading {key} (run `executor plan --date {date}` first)"))?
        .doc;
    if book.date != date {
        anyhow::bail!("{key} is dated {} — an order book for another day is never executed", book.date);
    }
    Ok(book)
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
    let book = order_book(bus, date).await?;
    let params = crate::inputs::params_of(bus, cfg, &book).await;
    let kill = crate::inputs::kill_state(bus, None).await.mode;
    let mut report = SessionReport { date: Some(date), ..Default::default() };
    broker.begin_day(date);

    // Splits effective today (held positions and the planned prices move to the new basis).
    for (t, ratio) in split_ratios(store, date) {
        if broker.apply_split(&t, date, ratio)? {
            report.splits.push(format!("{t} {ratio}:1"));
        }
    }
    // Dividends going ex today (on the shares held at the open) and those paid today.
    broker.settle_dividends(date, &dividend_events(store, date))?;
    ledger_corporate_actions(ledger, store, date)?;
    let close = close_time(date);
    let mut engine = DayEngine::new(
        date,
        book,
        params,
        kill,
        GateSettings::from_config(&cfg.trading),
        split_ratios(store, date),
        close,
    )
    .map_err(anyhow::Error::msg)?;
    engine.report_dropped(ledger, "session", &mut report)?;

    // The day's bars, as session paths.
    let held: Vec<Ticker> = broker.account().await?.positions.into_iter().map(|p| p.ticker).collect();
    let paths: BTreeMap<Ticker, [Tick; 4]> = engine
        .watch_list(&held)
        .into_iter()
        .filter_map(|t| day_bar(store, &t, date).map(|b| (t, path_of(&b, date))))
        .collect();
    for step in 0..4 {
        let time = paths.values().next().map(|p| p[step].time).unwrap_or(close);
        clock.set(ae_shared::calendar::et_instant(date.date(), time));
        broker.set_quotes(paths.iter().map(|(t, p)| (t, p[step].price)))?;
        let mut ticks = BTreeMap::new();
        for (t, p) in &paths {
            ticks.insert(t.clone(), engine.state.tape.observe(t, time, p[step].price));
        }
        let fired_before = report.breakers.len();
        engine.step(time, &ticks, broker, ledger, clock, &store.sectors, "session", &mut report).await?;
        crate::kill_switch::persist_breaker_kills(bus, &report.breakers[fired_before..], clock.now()).await?;
    }
    engine.finish(ledger, "session", &mut report)?;
    clock.set(ae_shared::calendar::et_instant(date.date(), close));
    for id in broker.expire_day_orders()? {
        ledger.apply(&id, OrderEvent::Expire, Some("day order expired at the close"), clock.now())?;
    }
    ledger.mark_high_waters(paths.iter().map(|(t, p)| (t, p[3].price)))?;
    Ok(report)
}
