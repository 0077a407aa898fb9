//! End of day (`executor eod --date D`): NAV from the broker, marks from the price store,
//! the day's and cumulative returns against the benchmark, realized and unrealized P&L, fills with
//! slippage against the planner's price, turnover, risk events and integrity checks (a breach is
//! flagged, never hidden); the report on the bus, the P&L row and CSV backups, and the email.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Published, PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::common::Side;
use ae_shared::contracts::eod::{
    AttributionLine, BenchmarkDay, Cumulative, DividendLine, EodReport, FillReport, IntegrityCheck, PositionMark,
    RiskEvent,
};
use ae_shared::contracts::lineage::sha256_hex;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::contracts::risk_state::RiskState;
use ae_shared::contracts::{InputRef, Job, Lineage};
use ae_shared::mail::{self, Delivery};
use ae_shared::risk_model;
use ae_shared::store::PriceStore;
use ae_shared::store::risk_panel::RiskPanel;
use ae_shared::types::{Bps, Fraction, Return, Ticker, Usd};
use anyhow::Context as _;
use serde::Serialize;

use crate::broker::Broker;
use crate::ledger::{EodRow, Ledger, slippage_bps};
use crate::planner::VERSION;

/// What to do.
#[derive(Debug, Clone)]
pub struct EodOptions {
    /// Trading day.
    pub date: TradingDay,
    /// Compute and print; write and send nothing.
    pub dry_run: bool,
    /// Replace an existing report (archived first).
    pub force: bool,
}

/// What EOD did.
#[derive(Debug, Clone, Serialize)]
pub struct EodSummary {
    /// Report key.
    pub key: String,
    /// Written / unchanged / replaced / dry run.
    pub published: String,
    /// Where the email went.
    pub email: String,
    /// Failed integrity checks.
    pub breaches: Vec<String>,
}

/// Closing mark of `t` on `date` (raw, the traded basis): the day's close, else the last close
/// before it (flagged by the caller).
fn close_on(store: &PriceStore, t: &Ticker, date: TradingDay) -> Option<(f64, bool)> {
    let s = store.raw.get(t.as_str())?;
    let i = s.index_on_or_before(date)?;
    Some((s.close[i], s.dates[i] == date))
}

/// Builds the report (nothing written).
pub async fn report<B: Broker>(
    bus: &Bus,
    cfg: &Config,
    broker: &B,
    ledger: &Ledger,
    store: &PriceStore,
    date: TradingDay,
) -> anyhow::Result<EodReport> {
    let account = broker.account().await.context("reading the broker account")?;
    let inception = ledger.inception()?.context("the ledger has no account yet: run `executor plan` first")?;
    let mut inputs: Vec<InputRef> = store.inputs_as_of(date);
    if let Ok(Some(l)) = bus.get_doc::<OrderBook>(&keys::order_book(date)).await {
        inputs.push(l.input);
    }
    let mut integrity = Vec::new();
    let mut risk_events: Vec<RiskEvent> = ledger
        .risk_events_on(date)?
        .into_iter()
        .map(|e| RiskEvent { rule: e.rule, ticker: e.ticker, detail: format!("[{}] {}", e.source, e.detail) })
        .collect();

    // Marks from the price store; the broker's NAV from its own books and quotes.
    let mut positions = Vec::new();
    let mut stale = Vec::new();
    let mut unrealized = 0.0;
    for p in &account.positions {
        let (mark, fresh) = close_on(store, &p.ticker, date).unwrap_or((p.avg_cost, false));
        if !fresh {
            stale.push(p.ticker.to_string());
        }
        let mv = p.shares as f64 * mark;
        unrealized += (mark - p.avg_cost) * p.shares as f64;
        positions.push((p, mark, mv));
    }
    let marked_nav = account.cash + account.accrued_dividends + positions.iter().map(|x| x.2).sum::<f64>();
    let nav = account.net_liquidation.unwrap_or(marked_nav);
    let tol = ae_shared::contracts::eod::NAV_TOLERANCE_USD.max(nav.abs() * 1e-4);
    integrity.push(IntegrityCheck {
        name: "nav_matches_positions".into(),
        passed: (nav - marked_nav).abs() <= tol,
        detail: format!(
            "broker NAV {nav:.2} vs cash {:.2} + dividends receivable {:.2} + positions at closing marks {:.2} = {marked_nav:.2} (tolerance {tol:.2})",
            account.cash,
            account.accrued_dividends,
            marked_nav - account.cash - account.accrued_dividends
        ),
    });
    integrity.push(IntegrityCheck {
        name: "marks_are_today".into(),
        passed: stale.is_empty(),
        detail: if stale.is_empty() {
            format!("all {} positions marked at the {date} close", positions.len())
        } else {
            format!("no {date} close for {}: last close used", stale.join(", "))
        },
    });
    // The ledger's books against the broker's.
    let ledger_pos: BTreeMap<Ticker, u32> = ledger.positions()?.into_iter().map(|p| (p.ticker, p.shares)).collect();
    let broker_pos: BTreeMap<Ticker, u32> = account.positions.iter().map(|p| (p.ticker.clone(), p.shares)).collect();
    let diffs: Vec<String> = ledger_pos
        .keys()
        .chain(broker_pos.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|t| {
            let (a, b) = (ledger_pos.get(t).copied().unwrap_or(0), broker_pos.get(t).copied().unwrap_or(0));
            (a != b).then(|| format!("{t}: ledger {a}, broker {b}"))
        })
        .collect();
    let ledger_cash = ledger.cash()?;
    let ledger_receivable = ledger.dividend_receivable()?;
    let cash_ok =
        (ledger_cash - account.cash).abs() <= 0.01 && (ledger_receivable - account.accrued_dividends).abs() <= 0.01;
    integrity.push(IntegrityCheck {
        name: "ledger_matches_broker".into(),
        passed: diffs.is_empty() && cash_ok,
        detail: if diffs.is_empty() && cash_ok {
            format!("{} positions and cash {:.2} agree", broker_pos.len(), account.cash)
        } else {
            format!(
                "cash ledger {ledger_cash:.2} vs broker {:.2}; dividends receivable ledger {ledger_receivable:.2} vs broker {:.2}; {}",
                account.cash,
                account.accrued_dividends,
                diffs.join("; ")
            )
        },
    });
    let orders = ledger.orders_on(date)?;
    let unresolved: Vec<&str> = orders.iter().filter(|o| o.state.is_working()).map(|o| o.id.as_str()).collect();
    integrity.push(IntegrityCheck {
        name: "orders_resolved".into(),
        passed: unresolved.is_empty(),
        detail: if unresolved.is_empty() {
            format!("{} orders, all in a final state", orders.len())
        } else {
            format!("still working at the close: {}", unresolved.join(", "))
        },
    });
    for c in integrity.iter().filter(|c| !c.passed) {
        risk_events.push(RiskEvent {
            rule: format!("INTEGRITY_{}", c.name.to_uppercase()),
            ticker: None,
            detail: c.detail.clone(),
        });
    }

    // Fills, slippage, realized P&L, turnover.
    let by_id: BTreeMap<&str, &crate::ledger::OrderRow> = orders.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut fills = Vec::new();
    let (mut realized, mut notional) = (0.0, 0.0);
    let mut slips = Vec::new();
    for (f, pnl) in ledger.fills_on(date)? {
        let reference = by_id.get(f.order_id.as_str()).and_then(|o| o.reference_price);
        let side = match f.side {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        };
        let slip = slippage_bps(side, reference, Some(f.price));
        if let Some(s) = slip {
            slips.push(s);
        }
        realized += pnl.unwrap_or(0.0);
        notional += f.shares as f64 * f.price;
        fills.push(FillReport {
            order_id: f.order_id.clone(),
            ticker: f.ticker.clone(),
            side: f.side,
            shares: f.shares,
            price: Usd::saturating(f.price),
            signal_price: reference.map(Usd::saturating),
            slippage_bps: slip.map(Bps::saturating),
            commission: Usd::saturating(f.commission),
        });
    }

    // Returns against the benchmark.
    let prev_nav = ledger.eod_before(date)?.map(|r| r.nav).unwrap_or(inception.starting_cash);
    let daily = if prev_nav > 0.0 { nav / prev_nav - 1.0 } else { 0.0 };
    // The benchmark from the vendor's bar for the day (SPY, total return) or the historical proxy;
    // a day without one is a failed integrity check, never a lost report.
    let etf = cfg.data.update.benchmark_etf.as_str();
    let bench = store.benchmark_day(date, etf);
    let (bench_name, bench_close, bench_daily) = match bench {
        Some(b) => (b.source.label(etf), b.close, b.total_return),
        None => (format!("{} (no close for {date})", cfg.trading.benchmark_name), 0.0, 0.0),
    };
    integrity.push(IntegrityCheck {
        name: "benchmark_has_the_day".into(),
        passed: bench.is_some(),
        detail: match bench {
            Some(b) => format!("{}: close {:.2}, {:+.4}% with a {:.4} dividend", b.source.label(etf), b.close, b.total_return * 100.0, b.dividend),
            None => format!("neither {etf} nor the index has a {date} close: run `alpha-engine data update --date {date}` and re-run EOD with --force"),
        },
    });
    if bench.is_none() {
        risk_events.push(RiskEvent {
            rule: "INTEGRITY_BENCHMARK_HAS_THE_DAY".into(),
            ticker: None,
            detail: format!("no benchmark close for {date}; alpha for the day is against 0"),
        });
    }
    let cum_p = nav / inception.starting_cash - 1.0;
    let cum_b = store.benchmark_return(inception.date.prev(), date, etf).map(|(r, _)| r).unwrap_or(0.0);
    let peak = ledger.peak_nav_before(date)?.max(nav);
    let account_state = serde_json::json!({
        "cash": format!("{:.2}", account.cash),
        "positions": account.positions.iter().map(|p| (p.ticker.as_str(), p.shares, format!("{:.4}", p.avg_cost))).collect::<Vec<_>>(),
        "fills": fills.iter().map(|f| (f.order_id.clone(), f.shares, format!("{:.4}", f.price.get()))).collect::<Vec<_>>(),
    });
    inputs.push(InputRef {
        key: format!("broker:{}", account.account_id),
        sha256: sha256_hex(account_state.to_string().as_bytes()),
        etag: None,
    });
    let report = EodReport {
        schema_version: 1,
        produced_by: Lineage::new(Job::Executor, VERSION, Some(date), inputs),
        date,
        nav: Usd::saturating(nav),
        cash: Usd::saturating(account.cash),
        peak_nav: Usd::saturating(peak),
        drawdown: (nav / peak - 1.0).min(0.0),
        daily_return: Return::saturating(daily),
        benchmark: BenchmarkDay { name: bench_name, close: bench_close, daily_return: Return::saturating(bench_daily) },
        alpha: Return::saturating(daily).get() - Return::saturating(bench_daily).get(),
        cumulative: Cumulative {
            since: inception.date,
            portfolio: Return::saturating(cum_p),
            benchmark: Return::saturating(cum_b),
            alpha: Return::saturating(cum_p).get() - Return::saturating(cum_b).get(),
        },
        realized_pnl: Usd::saturating(realized),
        unrealized_pnl: Usd::saturating(unrealized),
        turnover: if nav > 0.0 { notional / nav } else { 0.0 },
        positions: positions
            .iter()
            .map(|(p, mark, mv)| PositionMark {
                ticker: p.ticker.clone(),
                shares: p.shares,
                avg_cost: Usd::saturating(p.avg_cost),
                mark: Usd::saturating(*mark),
                market_value: Usd::saturating(*mv),
                unrealized_pnl: Usd::saturating((mark - p.avg_cost) * p.shares as f64),
                weight: Fraction::saturating(if nav > 0.0 { mv / nav } else { 0.0 }),
            })
            .collect(),
        fills,
        slippage_bps_mean: (!slips.is_empty()).then(|| Bps::saturating(slips.iter().sum::<f64>() / slips.len() as f64)),
        risk_events,
        integrity,
        dividends_receivable: (account.accrued_dividends > 0.0).then(|| Usd::saturating(account.accrued_dividends)),
        dividends: ledger
            .dividends_on(date)?
            .into_iter()
            .map(|d| DividendLine {
                ticker: d.ticker,
                ex_date: d.ex_date,
                pay_date: d.pay_date,
                shares: d.shares,
                amount: Usd::saturating(d.amount),
                paid: d.paid_on.is_some(),
            })
            .collect(),
        risk_headline: bus.get_doc::<RiskState>(&keys::risk_state(date)).await.ok().flatten().map(|d| d.doc.headline()),
        attribution: None,
    };
    let mut report = report;
    report.attribution = attribution(bus, cfg, ledger, store, date, report.daily_return.get()).await;
    Ok(report)
}

/// Today's return attributed by the risk model: the start-of-day book is the last report's
/// positions (their weights at that close), the model is estimated on the bars up to today's
/// close, and today's session is its last cross-section. `None` on the first day, or when the
/// model cannot be estimated (too little history) or today is not in its sessions.
async fn attribution(
    bus: &Bus,
    cfg: &Config,
    ledger: &Ledger,
    store: &PriceStore,
    date: TradingDay,
    actual: f64,
) -> Option<AttributionLine> {
    let prev = ledger.eod_before(date).ok()??;
    let start: EodReport = bus.get_doc(&keys::eod(prev.date)).await.ok()??.doc;
    let market = crate::market::MarketData::as_of(store, date, &cfg.data);
    let panel = RiskPanel::build(&market.bars, store.benchmark_series(), &store.sectors);
    let model = panel.estimate(&risk_model::ModelParams::default()).ok()?;
    let day = model.days.last().filter(|d| panel.dates.get(d.session) == Some(&date))?;
    let weights: Vec<(usize, f64)> = start
        .positions
        .iter()
        .filter_map(|p| panel.tickers.iter().position(|t| t == &p.ticker).map(|i| (i, p.weight.get())))
        .collect();
    let a = risk_model::attribute(day, &weights, actual)?;
    Some(AttributionLine {
        market: a.market,
        sector: a.sector,
        style: a.style,
        specific: a.specific,
        trading: a.trading,
        compounding: a.compounding,
        total: a.total,
        days: a.days,
    })
}

/// Runs end of day: the report, the ledger row and CSV backups, the email.
pub async fn run<B: Broker>(
    bus: &Bus,
    cfg: &Config,
    clock: &dyn Clock,
    broker: &B,
    ledger: &Ledger,
    store: &PriceStore,
    opts: &EodOptions,
) -> anyhow::Result<(EodReport, EodSummary)> {
    let date = opts.date;
    let report = report(bus, cfg, broker, ledger, store, date).await?;
    let key = keys::eod(date);
    let breaches: Vec<String> =
        report.integrity.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect();
    if opts.dry_run {
        let summary = EodSummary {
            key: key.to_string(),
            published: "dry run: nothing written".into(),
            email: "not sent (dry run)".into(),
            breaches,
        };
        return Ok((report, summary));
    }
    let outcome =
        bus.publish_doc(&key, None, &report, opts.force, clock).await.with_context(|| format!("writing {key}"))?;
    let commission: f64 = report.fills.iter().map(|f| f.commission.get()).sum();
    ledger.record_eod(
        &EodRow {
            date,
            nav: report.nav.get(),
            cash: report.cash.get(),
            daily_return: report.daily_return.get(),
            benchmark_close: report.benchmark.close,
            benchmark_return: report.benchmark.daily_return.get(),
            alpha: report.alpha,
            realized_pnl: report.realized_pnl.get(),
            unrealized_pnl: report.unrealized_pnl.get(),
            commission,
            traded_notional: report.turnover * report.nav.get(),
            positions: serde_json::to_string(
                &report.positions.iter().map(|p| (p.ticker.as_str(), p.shares)).collect::<Vec<_>>(),
            )?,
        },
        clock.now(),
    )?;
    bus.put(&keys::trades_full_csv(), ledger.trades_csv()?.into_bytes(), PutMode::Overwrite).await?;
    bus.put(&keys::eod_pnl_csv(), ledger.eod_csv()?.into_bytes(), PutMode::Overwrite).await?;
    let email = if outcome == Published::Unchanged {
        "not sent again (report unchanged)".to_string()
    } else {
        let history = ledger.eod_history()?;
        // The benchmark's curve chains its daily total returns, so a change of series (the index
        // proxy, then SPY) does not jump.
        let start = ledger.inception().ok().flatten().map(|i| i.starting_cash);
        let mut bench_growth = 1.0;
        let points: Vec<crate::chart::Point> = history
            .iter()
            .map(|r| {
                bench_growth *= 1.0 + r.benchmark_return;
                (r.date.date(), r.nav / start.unwrap_or(r.nav) - 1.0, bench_growth - 1.0)
            })
            .collect();
        let png = crate::chart::equity_curve(&points, &cfg.trading.benchmark_name)?;
        let msg = crate::email::build(&report, &history, png);
        match mail::send(&cfg.mail, &msg, &format!("{date}-eod")).await {
            Ok(Delivery::Smtp { host, recipients }) => format!("sent via {host} to {recipients} recipient(s)"),
            Ok(Delivery::Outbox { path }) => format!("written to {}", path.display()),
            Err(e) => {
                tracing::error!("EOD email not delivered: {e}");
                format!("NOT delivered: {e}")
            }
        }
    };
    Ok((report, EodSummary { key: key.to_string(), published: outcome.to_string(), email, breaches }))
}
