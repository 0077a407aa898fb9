//! The morning planner (`executor plan --date D`): reads signals, predictions, the broker account
//! and the tuned parameters; builds point-in-time market views; runs the pure day plan; writes
//! `executor/order_books/{date}.json`, the decision audit, the shadow book and risk events.

use std::collections::BTreeMap;
use std::time::Instant;

use ae_rules::correlation::{mean_correlation, sector_peers};
use ae_rules::plan::{Plan, PlanInput, plan_day};
use ae_rules::reason::Reason;
use ae_rules::view::{Book, Candidate, Context, Holding, PriceAgents};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Lookup, Published, PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::common::{Regime, SignalAction};
use ae_shared::contracts::lineage::sha256_hex;
use ae_shared::contracts::order_book::{BreakerLevels, OrderBook};
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::contracts::predictions::Driver;
use ae_shared::contracts::{InputRef, Job, Lineage};
use ae_shared::store::PriceStore;
use ae_shared::types::{Ticker, Usd};
use anyhow::Context as _;
use serde::Serialize;

use crate::broker::Broker;
use crate::inputs::{self, PredictionsInForce, SignalsInForce};
use crate::ledger::{Ledger, RiskEventRow, ShadowRow};
use crate::market::MarketData;

/// This build's version, in lineage.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Trading day.
    pub date: TradingDay,
    /// Compute and report; write nothing.
    pub dry_run: bool,
    /// Replace an existing order book for the date (archived first).
    pub force: bool,
}

/// What the planner did.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// Trading day.
    pub date: TradingDay,
    /// Signals used: date and age, or none.
    pub signals: Option<(TradingDay, u32)>,
    /// Predictions used: date and model.
    pub predictions: Option<(TradingDay, String)>,
    /// Regime in force.
    pub regime: Regime,
    /// The risk state's headline.
    pub risk: String,
    /// Kill switch set.
    pub kill_switch: bool,
    /// NAV at planning.
    pub nav: f64,
    /// Cash at planning.
    pub cash: f64,
    /// Positions held.
    pub holdings: usize,
    /// Entries planned.
    pub entries: usize,
    /// Exits and reductions planned.
    pub exits: usize,
    /// Entries blocked (shadow book).
    pub blocked: usize,
    /// Risk events.
    pub events: Vec<String>,
    /// Notes (fallbacks, refusals, repairs).
    pub notes: Vec<String>,
    /// The order book key.
    pub key: String,
    /// Written / unchanged / replaced / dry run.
    pub published: String,
    /// Audit cycle id.
    pub cycle_id: String,
    /// Wall time.
    pub seconds: f64,
}

/// Everything the planner reads.
pub struct PlanEnv<'a, B: Broker> {
    /// The bus.
    pub bus: &'a Bus,
    /// Configuration.
    pub cfg: &'a Config,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// Broker (account state).
    pub broker: &'a B,
    /// Price store.
    pub store: &'a PriceStore,
}

/// The account as the rules see it: broker positions and cash, the ledger's per-position memory
/// (entry day, high water, reductions), marked at the last close.
pub async fn book<B: Broker>(
    broker: &B,
    ledger: &Ledger,
    market: &mut MarketData<'_>,
    date: TradingDay,
    params: &ExecutorParams,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Book, String)> {
    let account = broker.account().await.context("reading the broker account")?;
    let memory: BTreeMap<Ticker, crate::ledger::PositionRow> =
        ledger.positions()?.into_iter().map(|p| (p.ticker.clone(), p)).collect();
    let mut holdings = Vec::new();
    for p in &account.positions {
        let Some(view) = market.view(&p.ticker, date, params) else {
            notes.push(format!("{}: held but no price history; marked at cost", p.ticker));
            continue;
        };
        let mem = memory.get(&p.ticker);
        if mem.is_none() {
            notes.push(format!(
                "{}: the broker holds {} shares the ledger does not know; treated as entered yesterday",
                p.ticker, p.shares
            ));
        }
        let entry_date = mem.map(|m| m.entry_date).unwrap_or(date.prev());
        holdings.push(Holding {
            ticker: p.ticker.clone(),
            sector: market.sector(&p.ticker),
            shares: p.shares,
            // Both books: shares the broker holds beyond the ledger's are not ours to sell, so
            // they count as committed (sellable = min(broker, ledger) − working sells).
            working_sells: ledger.working_sells(&p.ticker)?
                + p.shares.saturating_sub(mem.map(|m| m.shares).unwrap_or(0)),
            avg_cost: p.avg_cost,
            entry_date,
            days_held: entry_date.days_until(date).max(0) as u32,
            high_water: mem.map(|m| m.high_water).unwrap_or(p.avg_cost).max(view.close),
            profit_taken: mem.is_some_and(|m| m.profit_taken),
            decay_reduced: mem.is_some_and(|m| m.decay_reduced),
            market: view,
        });
    }
    let unpriced: f64 = account
        .positions
        .iter()
        .filter(|p| !holdings.iter().any(|h| h.ticker == p.ticker))
        .map(|p| p.shares as f64 * p.avg_cost)
        .sum();
    let nav =
        account.cash + account.accrued_dividends + holdings.iter().map(Holding::market_value).sum::<f64>() + unpriced;
    let peak = ledger.peak_nav_before(date)?.max(nav);
    Ok((Book { nav, cash: account.cash, peak_nav: peak, holdings }, account.account_id))
}

fn candidates(
    s: &SignalsInForce,
    preds: &PredictionsInForce,
    market: &mut MarketData<'_>,
    book: &Book,
    date: TradingDay,
    params: &ExecutorParams,
) -> Vec<Candidate> {
    let lookback = params.risk.correlation_days as usize;
    let sessions = market.last_sessions(lookback + 1);
    let mut out = Vec::new();
    for e in s.doc.universe.iter().filter(|e| e.signal == SignalAction::Enter) {
        let Some(view) = market.view(&e.ticker, date, params) else { continue };
        let own = market.aligned_returns(&e.ticker, &sessions);
        let peers: Vec<Vec<f64>> =
            sector_peers(book, &e.ticker, Some(e.sector)).map(|t| market.aligned_returns(t, &sessions)).collect();
        let refs: Vec<&[f64]> = peers.iter().map(Vec::as_slice).collect();
        let mut c = candidate_of(e, s.age_days, preds.by_ticker.get(&e.ticker).copied(), view);
        c.correlation = mean_correlation(&own, &refs, lookback);
        out.push(c);
    }
    out
}

/// A research ENTER entry as the rules see it (the planner and the backtester both build
/// candidates here); the correlation with held names is filled by the caller, from its book.
pub fn candidate_of(
    e: &ae_shared::contracts::signals::SignalEntry,
    signal_age_days: u32,
    prediction: Option<ae_rules::view::PredictionView>,
    market: ae_rules::view::MarketView,
) -> Candidate {
    Candidate {
        ticker: e.ticker.clone(),
        sector: Some(e.sector),
        signal: e.signal,
        score: e.score,
        conviction: e.conviction,
        sector_rating: e.sector_rating,
        upside: e.price_target_upside,
        signal_age_days,
        prediction,
        market,
        correlation: None,
        ensemble: None,
    }
}

/// Plans `opts.date`: returns the order book (written unless `dry_run`) and a report.
pub async fn plan<B: Broker>(
    env: &PlanEnv<'_, B>,
    ledger: &mut Ledger,
    opts: &PlanOptions,
) -> anyhow::Result<(OrderBook, Plan, PlanReport)> {
    let t0 = Instant::now();
    let date = opts.date;
    let mut notes = Vec::new();
    if !opts.dry_run {
        // Day orders of earlier days still working in the ledger would block exits forever.
        for id in crate::oms::settle_earlier_days(ledger, date, env.clock)? {
            notes.push(format!("{id}: a day order of an earlier day was still working: settled as expired"));
        }
    }
    let mut inputs: Vec<InputRef> = Vec::new();
    let params = ae_shared::in_force::params(env.bus, &env.cfg.executor).await.record(&mut inputs, &mut notes);
    let max_age = params.risk.max_signal_age_days;
    let signals = inputs::signals_in_force(env.bus, Lookup::Probe, date, max_age, &mut notes).await?;
    let preds = inputs::predictions_in_force(env.bus, Lookup::Probe, date, &mut notes).await?;
    let mut kill = inputs::kill_switch(env.bus).await?;
    // Stale prices: no new entries (exits still go out, on the last closes there are).
    let stale = ae_shared::store::freshness::stale_for(env.bus, &["bars"], date).await?;
    if !stale.is_empty() {
        let why = ae_shared::store::freshness::refusal("new entries", &stale);
        tracing::error!("{why}");
        notes.push(format!("ENTRIES BLOCKED: {why}"));
        if !opts.dry_run {
            ledger.record_risk_event(&crate::ledger::RiskEventRow {
                date,
                source: "planner".into(),
                rule: "DATA_STALE".into(),
                ticker: None,
                detail: why.clone(),
            })?;
        }
        kill = true;
    }
    if let Some(s) = &signals {
        inputs.push(s.input.clone());
    }
    if let Some(i) = &preds.input {
        inputs.push(i.clone());
    }
    let mut market = MarketData::for_decision(env.store, date, &env.cfg.data);
    inputs.extend(env.store.inputs_as_of(market.as_of));
    let (mut book, account_id) = book(env.broker, ledger, &mut market, date, &params, &mut notes).await?;
    let since_clear = crate::breaker_inputs::breaker_clear(env.bus, date).await?;
    book.peak_nav = crate::breaker_inputs::peak_nav(since_clear, ledger, date, book.nav)?;
    if ledger.inception()?.is_none() && !opts.dry_run {
        ledger.ensure_inception(date, book.nav)?;
    }
    // The account state is an input too: same positions and cash, same plan, same run id.
    let account_state = serde_json::json!({
        "account": account_id,
        "cash": format!("{:.2}", book.cash),
        "peak": format!("{:.2}", book.peak_nav),
        "positions": book.holdings.iter().map(|h| (h.ticker.as_str(), h.shares, format!("{:.4}", h.avg_cost), h.entry_date.to_string(), h.working_sells)).collect::<Vec<_>>(),
        "kill_switch": kill,
    });
    inputs.push(InputRef {
        key: format!("broker:{account_id}"),
        sha256: sha256_hex(account_state.to_string().as_bytes()),
        etag: None,
    });
    let regime = signals.as_ref().map(|s| s.doc.market_regime).unwrap_or(Regime::Neutral);
    let mut research: BTreeMap<Ticker, SignalAction> = signals
        .as_ref()
        .map(|s| s.doc.universe.iter().map(|e| (e.ticker.clone(), e.signal)).collect())
        .unwrap_or_default();
    // A held name that left the index (a removal, a delisting) is sold today, whatever research
    // said last week.
    if let Some(u) = &env.store.universe {
        for h in book.holdings.iter().filter(|h| !u.contains(&h.ticker)) {
            let why = format!("{} left the universe: an urgent exit", h.ticker);
            notes.push(why.clone());
            research.insert(h.ticker.clone(), SignalAction::Exit);
            if !opts.dry_run {
                ledger.record_risk_event(&crate::ledger::RiskEventRow {
                    date,
                    source: "planner".into(),
                    rule: "LEFT_UNIVERSE".into(),
                    ticker: Some(h.ticker.clone()),
                    detail: why,
                })?;
            }
        }
    }
    let mut cands = match &signals {
        Some(s) => candidates(s, &preds, &mut market, &book, date, &params),
        None => Vec::new(),
    };
    // Only members of the universe are entered (a name that left it since research ran is not).
    if let Some(u) = &env.store.universe {
        cands.retain(|c| u.contains(&c.ticker));
    }
    // The ensemble: today's views of every name research ranked, each view weighted by how well
    // the views kept by earlier mornings ranked the returns that followed them. A candidate's
    // price agents are read off the view it already has; the rest of research's names get theirs.
    let held: BTreeMap<&Ticker, PriceAgents> = cands.iter().map(|c| (&c.ticker, c.market.price_agents())).collect();
    let today = signals.as_ref().map(|s| {
        crate::views::views_of(s, &preds, |t| held.get(t).copied().or_else(|| market.price_agents(t, &params)), date)
    });
    let ensemble = match &today {
        Some(t) => {
            let skill =
                crate::views::skill_from_bus(env.bus, date, &market, &params.ensemble, &mut inputs, &mut notes).await;
            let book = crate::views::book_of(t, &skill, regime, &params);
            crate::views::attach(&mut cands, &book);
            Some(book)
        }
        None => None,
    };
    let ctx = Context { date, regime, kill_switch: kill, signals_stale: signals.is_none() };
    let risk = crate::breaker_inputs::risk_inputs(since_clear, ledger, &market, &book, date, &params)?;
    let plan =
        plan_day(&PlanInput { ctx, book: &book, research: &research, candidates: &cands, params: &params, risk });
    if !opts.dry_run {
        // A breaker's kill switch persists on the bus until an operator clears it.
        for doc in crate::kill_switch::persist_breaker_kills(env.bus, &plan.breakers.fired, env.clock.now()).await? {
            notes.push(format!("KILL SWITCH SET by breaker: {}", doc.reason));
        }
    }
    let lineage = Lineage::new(Job::Executor, VERSION, Some(date), inputs);
    // The book's risk this morning, from the same inputs.
    let risk_state = crate::risk_state::build(
        date,
        &book,
        &market,
        env.store.benchmark_series(),
        &plan.breakers,
        &params,
        lineage.clone(),
    );
    let doc = OrderBook {
        schema_version: 1,
        produced_by: lineage.clone(),
        date,
        nav: Usd::saturating(book.nav),
        cash: Usd::saturating(book.cash),
        market_regime: regime,
        entries: attach_drivers(
            &plan.entries,
            &preds.drivers,
            |e| e.predicted_direction.is_some(),
            |e| &e.ticker,
            |e| &mut e.model_drivers,
        ),
        urgent_exits: plan.exits.clone(),
        stops: plan.stops.clone(),
        blocked: attach_drivers(
            &plan.blocked,
            &preds.drivers,
            |b| b.rule == Reason::GbmVeto.code(),
            |b| &b.ticker,
            |b| &mut b.model_drivers,
        ),
        params: Some(params.clone()),
        breakers: Some(BreakerLevels {
            window_start_nav: risk.window_start_nav.map(Usd::saturating),
            peak_nav: Usd::saturating(book.peak_nav),
            planned_multiplier: plan.breakers.loss_multiplier(),
        }),
        ensemble,
    };
    let key = keys::order_book(date);
    let cycle_id = format!("plan-{}", lineage.run_id);
    let published = if opts.dry_run {
        "dry run: nothing written".to_string()
    } else {
        let outcome = env
            .bus
            .publish_doc(&key, None, &doc, opts.force, env.clock)
            .await
            .with_context(|| format!("writing {key}"))?;
        if outcome != Published::Unchanged {
            record(ledger, &plan, &cands, date, &cycle_id, env.clock, &signals, &preds)?;
        }
        // The risk state belongs to the order book: when the book is written anew, so is it.
        let risk_key = keys::risk_state(date);
        let replace = opts.force || outcome != Published::Unchanged;
        env.bus
            .publish_doc(&risk_key, None, &risk_state, replace, env.clock)
            .await
            .with_context(|| format!("writing {risk_key}"))?;
        // So do the morning's views, which later mornings grade.
        if let Some(t) = today.as_ref().filter(|_| replace) {
            let views_key = keys::view_panel(date);
            env.bus
                .put_json(&views_key, &t.panel, PutMode::Overwrite)
                .await
                .with_context(|| format!("writing {views_key}"))?;
        }
        outcome.to_string()
    };
    let report = PlanReport {
        date,
        signals: signals.as_ref().map(|s| (s.doc.date, s.age_days)),
        predictions: preds.source.clone(),
        regime,
        kill_switch: kill,
        nav: book.nav,
        cash: book.cash,
        holdings: book.holdings.len(),
        entries: plan.entries.len(),
        exits: plan.exits.len(),
        blocked: plan.blocked.len(),
        events: plan.events.iter().map(|e| format!("{}: {}", e.rule, e.detail)).collect(),
        risk: risk_state.headline(),
        notes,
        key: key.to_string(),
        published,
        cycle_id,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((doc, plan, report))
}

#[allow(clippy::too_many_arguments)]
fn record(
    ledger: &mut Ledger,
    plan: &Plan,
    cands: &[Candidate],
    date: TradingDay,
    cycle_id: &str,
    clock: &dyn Clock,
    signals: &Option<SignalsInForce>,
    preds: &PredictionsInForce,
) -> anyhow::Result<()> {
    let meta = serde_json::json!({
        "signals": signals.as_ref().map(|s| s.input.key.clone()),
        "predictions": preds.input.as_ref().map(|i| i.key.clone()),
    });
    // No silent failures: if the audit cannot be written, the plan is not acted on.
    ledger
        .append_audit(cycle_id, clock.now(), &plan.decisions, &meta)
        .context("writing the decision audit (the plan must not proceed without it)")?;
    for b in &plan.blocked {
        let d = plan.decisions.iter().find(|d| d.ticker == b.ticker);
        let c = cands.iter().find(|c| c.ticker == b.ticker);
        let price = c.map(|c| c.market.close).unwrap_or(0.0);
        let usd = d.and_then(|d| d.sizing.as_ref()).map(|s| s.dollars.get()).unwrap_or(0.0);
        ledger.record_shadow(&ShadowRow {
            date,
            ticker: b.ticker.clone(),
            rule: b.rule.clone(),
            reason: b.reason.clone(),
            intended_shares: if price > 0.0 { (usd / price).floor() as u32 } else { 0 },
            intended_usd: usd,
            reference_price: price,
        })?;
    }
    for e in &plan.events {
        ledger.record_risk_event(&RiskEventRow {
            date,
            source: "planner".into(),
            rule: e.rule.code().into(),
            ticker: e.ticker.clone(),
            detail: e.detail.clone(),
        })?;
    }
    Ok(())
}

/// `orders` with the drivers of each one's prediction, where `used` (the rules used the
/// prediction: it was fresh) and the predictions in force give them.
fn attach_drivers<T: Clone>(
    orders: &[T],
    drivers: &std::collections::BTreeMap<Ticker, Vec<Driver>>,
    used: impl Fn(&T) -> bool,
    ticker: impl Fn(&T) -> &Ticker,
    slot: impl Fn(&mut T) -> &mut Vec<Driver>,
) -> Vec<T> {
    orders
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if used(&o)
                && let Some(d) = drivers.get(ticker(&o))
            {
                *slot(&mut o) = d.clone();
            }
            o
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_shared::contracts::order_book::BlockedEntry;

    #[test]
    fn drivers_go_to_the_orders_whose_prediction_the_rules_used() {
        let t = |s: &str| Ticker::new(s).unwrap();
        let d = |f: &str| vec![Driver { feature: f.into(), contribution: -0.01 }];
        let drivers: BTreeMap<Ticker, Vec<Driver>> = [(t("AAA"), d("ret_5")), (t("BBB"), d("rsi_14"))].into();
        let blocked = |ticker: &str, rule: &str| BlockedEntry {
            ticker: t(ticker),
            rule: rule.into(),
            reason: String::new(),
            model_drivers: Vec::new(),
        };
        let out = attach_drivers(
            &[blocked("AAA", "GBM_VETO"), blocked("BBB", "MAX_SECTOR"), blocked("CCC", "GBM_VETO")],
            &drivers,
            |b| b.rule == Reason::GbmVeto.code(),
            |b| &b.ticker,
            |b| &mut b.model_drivers,
        );
        let got: Vec<usize> = out.iter().map(|b| b.model_drivers.len()).collect();
        assert_eq!(got, [1, 0, 0], "the vetoed name with drivers only");
        assert_eq!(out[0].model_drivers, d("ret_5"));
    }
}
