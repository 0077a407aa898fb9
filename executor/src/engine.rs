//! The intraday day engine: what to send at each observation of the session, for whichever
//! broker. The paper session (daily bars replayed as four ticks) and the daemon (ticks from the
//! broker's market data) both drive it, so both send the same orders from the same prices.
//!
//! Each step is split in two: [`DayEngine::decide`] is synchronous and does no I/O (an account
//! view and the ticks in, risk-approved orders and refusals out, every decision through
//! `ae-rules`); [`DayEngine::step`] gathers the view, sends what was decided through the OMS
//! (write-ahead first) and books the fills.

use std::collections::{BTreeMap, BTreeSet};

use ae_rules::bar_path::effective_expiry;
use ae_rules::breakers::{Effect, Fired, during_day};
use ae_rules::intraday::{EntrySpec, IntradayPosition, Tick, entry_trigger, intraday_exit};
use ae_rules::order::{EntryGate, Refusal, approve_entry, approve_sell, intraday_order_id};
use ae_rules::risk::max_position;
use ae_rules::sells::Books;
use ae_rules::{ApprovedOrder, OrderPrice, Reason};
use ae_shared::TradingDay;
use ae_shared::clock::Clock;
use ae_shared::contracts::common::{Side, SignalAction};
use ae_shared::contracts::kill_switch::KillMode;
use ae_shared::contracts::order_book::{ExitOrder, OrderBook};
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::store::SectorMap;
use ae_shared::types::Ticker;
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerPosition, OpenOrder};
use crate::ledger::{Ledger, PositionRow, RiskEventRow};
use crate::oms::{self, Sent};

/// What a trading day did (the paper session's and the daemon's report).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DayReport {
    /// Trading day.
    pub date: Option<TradingDay>,
    /// Orders sent (acknowledged).
    pub sent: Vec<String>,
    /// Orders the broker rejected, with why.
    pub rejected: Vec<String>,
    /// Orders the broker answered with an unknown error, tried again later, with why.
    #[serde(default)]
    pub failed: Vec<String>,
    /// Working orders cancelled (the kill switch), with why.
    #[serde(default)]
    pub cancelled: Vec<String>,
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
    /// Circuit breakers that fired (a `Kill` one is for the caller to set on the bus).
    #[serde(default)]
    pub breakers: Vec<Fired>,
}

impl DayReport {
    /// Records what sending `id` came to.
    pub fn note(&mut self, id: &str, s: &Sent) {
        match s {
            Sent::Acknowledged { .. } => self.sent.push(id.to_string()),
            Sent::AlreadyKnown { state } => self.already_known.push(format!("{id} ({state})")),
            Sent::Rejected { reason } => self.rejected.push(format!("{id}: {reason}")),
            Sent::Failed { attempts, reason } => self.failed.push(format!("{id} (attempt {attempts}): {reason}")),
        }
    }
}

/// Settings of the entry gate that come from config, not from the order book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSettings {
    /// Largest single order, dollars.
    pub max_order_usd: f64,
    /// The fill costs: cash is held back for their slippage and minimum commission.
    pub costs: ae_rules::costs::CostModel,
}

impl GateSettings {
    /// From the `[trading]` config.
    pub fn from_config(t: &ae_shared::config::TradingConfig) -> Self {
        Self { max_order_usd: t.max_order_usd, costs: crate::paper::paper_costs(t) }
    }
}

/// The account as one step sees it: the broker's cash, positions and working orders, the ledger's
/// working orders and position memory, and the order ids already recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountView {
    /// Cash.
    pub cash: f64,
    /// Positions (the broker's).
    pub positions: Vec<BrokerPosition>,
    /// Shares in the ledger's working sells, per name.
    pub working_sells: BTreeMap<Ticker, u32>,
    /// Shares in the broker's open sell orders, per name (every client's).
    pub broker_open_sells: BTreeMap<Ticker, u32>,
    /// Shares in working buys, per name.
    pub working_buys: BTreeMap<Ticker, u32>,
    /// Working entry orders of the ledger a kill switch would cancel: (id, ticker).
    pub cancellable_buys: Vec<(String, Ticker)>,
    /// Cash committed to working buys.
    pub committed: f64,
    /// The ledger's memory of each position (shares, entry date, high water, profit taken).
    pub memory: BTreeMap<Ticker, PositionRow>,
    /// Every order id the ledger holds for the day.
    pub known_ids: BTreeSet<String>,
}

impl AccountView {
    /// Reads the view from the broker and the ledger; `open` is the broker's working orders.
    pub async fn read<B: Broker>(
        broker: &B,
        ledger: &Ledger,
        date: TradingDay,
        open: &[OpenOrder],
    ) -> Result<Self, crate::ExecError> {
        let account = broker.account().await?;
        let mut v = AccountView { cash: account.cash, positions: account.positions, ..Default::default() };
        for o in ledger.working_orders()? {
            let left = o.remaining();
            match o.side {
                Side::Sell => *v.working_sells.entry(o.ticker.clone()).or_default() += left,
                Side::Buy => {
                    *v.working_buys.entry(o.ticker.clone()).or_default() += left;
                    v.committed += left as f64 * o.reference_price.unwrap_or(0.0);
                    if o.state != ae_rules::lifecycle::OrderState::PendingCancel && !o.is_external() {
                        v.cancellable_buys.push((o.id.clone(), o.ticker.clone()));
                    }
                }
            }
        }
        for o in open.iter().filter(|o| o.side == Side::Sell) {
            *v.broker_open_sells.entry(o.ticker.clone()).or_default() += o.remaining;
        }
        v.memory = ledger.positions()?.into_iter().map(|p| (p.ticker.clone(), p)).collect();
        v.known_ids = ledger.orders_on(date)?.into_iter().map(|o| o.id).collect();
        Ok(v)
    }

    fn held(&self, t: &Ticker) -> u32 {
        self.positions.iter().find(|p| &p.ticker == t).map(|p| p.shares).unwrap_or(0)
    }

    /// Both books of `t`, with `working` as the ledger's working sells so far this step.
    fn books(&self, t: &Ticker, working: u32) -> Books {
        Books {
            broker_shares: self.held(t),
            ledger_shares: self.memory.get(t).map(|m| m.shares).unwrap_or(0),
            ledger_working_sells: working,
            broker_open_sells: self.broker_open_sells.get(t).copied().unwrap_or(0),
        }
    }
}

/// What one step decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decisions {
    /// Orders to send, in order: urgent exits, intraday exits, entries.
    pub orders: Vec<ApprovedOrder>,
    /// Orders the gates refused: (order id, ticker, why).
    pub refused: Vec<(String, Ticker, Refusal)>,
    /// Working orders to cancel: (order id, ticker, why).
    pub cancels: Vec<(String, Ticker, Reason)>,
    /// Circuit breakers that fired at this step for the first time today (a `Kill` one asks the
    /// caller to set the kill switch on the bus; the engine already stops entries).
    pub breakers: Vec<Fired>,
}

/// Running high and VWAP of each name over the ticks seen so far — the same path statistics as
/// [`ae_rules::bar_path::bar_ticks`], so a daemon that sees a bar's four prices decides exactly
/// as the paper session does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tape {
    seen: BTreeMap<Ticker, (f64, f64, u32)>,
}

impl Tape {
    /// Records a last price at `time` and returns the tick the rules see.
    pub fn observe(&mut self, t: &Ticker, time: NaiveTime, price: f64) -> Tick {
        let e = self.seen.entry(t.clone()).or_insert((f64::MIN, 0.0, 0));
        e.0 = e.0.max(price);
        e.1 += price;
        e.2 += 1;
        Tick { time, price, day_high: e.0, vwap: Some(e.1 / e.2 as f64) }
    }
}

/// The engine's memory of the day, small enough to snapshot to the bus after every step and to
/// restore after a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// Urgent exits already decided (sent or refused).
    pub urgent_done: BTreeSet<String>,
    /// Entries already decided (sent or refused by a terminal gate).
    pub entries_done: BTreeSet<String>,
    /// High water of each held name, including today so far.
    pub high_water: BTreeMap<Ticker, f64>,
    /// The session path seen so far.
    pub tape: Tape,
    /// Time of the last step.
    pub last_step: Option<NaiveTime>,
    /// Breaker rules already reported today.
    #[serde(default)]
    pub breakers_fired: BTreeSet<Reason>,
}

/// One day's engine over an order book.
#[derive(Debug, Clone)]
pub struct DayEngine {
    date: TradingDay,
    book: OrderBook,
    params: ExecutorParams,
    kill: Option<KillMode>,
    gate: GateSettings,
    ratio: BTreeMap<Ticker, f64>,
    specs: BTreeMap<String, EntrySpec>,
    max_pos: f64,
    dropped: Vec<(String, Ticker, String)>,
    /// The engine's memory (snapshot this).
    pub state: EngineState,
}

impl DayEngine {
    /// An engine for `book` (which must be dated `date`). `ratio` holds today's split ratios: the
    /// planned shares and prices move to the new basis. An entry the engine cannot read (a trigger
    /// time that does not parse, a price that is not a price) is dropped and listed in
    /// [`DayEngine::dropped`]; the rest of the day goes on.
    pub fn new(
        date: TradingDay,
        book: OrderBook,
        params: ExecutorParams,
        kill: Option<KillMode>,
        gate: GateSettings,
        ratio: BTreeMap<Ticker, f64>,
        session_close: NaiveTime,
    ) -> Result<Self, String> {
        if book.date != date {
            return Err(format!(
                "the order book is dated {} — an order book for another day is never executed",
                book.date
            ));
        }
        let r = |t: &Ticker| ratio.get(t).copied().filter(|k| k.is_finite() && *k > 0.0).unwrap_or(1.0);
        let mut specs = BTreeMap::new();
        let mut dropped = Vec::new();
        for e in &book.entries {
            let k = r(&e.ticker);
            let reference = e.reference_price.get() / k;
            let Some(mut spec) = EntrySpec::from_triggers(reference, &e.triggers).filter(|_| reference.is_finite())
            else {
                dropped.push((
                    e.id.clone(),
                    e.ticker.clone(),
                    format!(
                        "entry {}: triggers {:?}/{:?} or reference price {} cannot be read: dropped, the rest of the day goes on",
                        e.id, e.triggers.close_enough_after, e.triggers.expiry_time, e.reference_price.get()
                    ),
                ));
                continue;
            };
            spec.support = spec.support.map(|s| s / k);
            spec.expiry = effective_expiry(spec.expiry, session_close);
            specs.insert(e.id.clone(), spec);
        }
        let max_pos = max_position(&params.risk, book.market_regime);
        Ok(Self { date, book, params, kill, gate, ratio, specs, max_pos, dropped, state: EngineState::default() })
    }

    /// Entries of the book the engine could not read: (id, ticker, why).
    pub fn dropped(&self) -> &[(String, Ticker, String)] {
        &self.dropped
    }

    /// The kill switch in force from now on (the daemon re-reads it at every step).
    pub fn set_kill(&mut self, kill: Option<KillMode>) {
        self.kill = kill;
    }

    /// The kill switch in force.
    pub fn kill(&self) -> Option<KillMode> {
        self.kill
    }

    /// The order book.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    fn r(&self, t: &Ticker) -> f64 {
        self.ratio.get(t).copied().unwrap_or(1.0)
    }

    /// Names to watch: held positions, planned entries and urgent exits.
    pub fn watch_list<'a>(&self, held: impl IntoIterator<Item = &'a Ticker>) -> BTreeSet<Ticker> {
        let mut names: BTreeSet<Ticker> = held.into_iter().cloned().collect();
        names.extend(self.book.entries.iter().map(|e| e.ticker.clone()));
        names.extend(self.book.urgent_exits.iter().map(|e| e.ticker.clone()));
        names
    }

    /// Planned entries not decided yet (entries the engine dropped are listed by [`DayEngine::dropped`]).
    pub fn untriggered(&self) -> Vec<String> {
        self.book
            .entries
            .iter()
            .filter(|e| !self.state.entries_done.contains(&e.id) && self.specs.contains_key(&e.id))
            .map(|e| e.id.clone())
            .collect()
    }

    /// Urgent exits never decided (no price all day).
    pub fn urgent_unpriced(&self) -> Vec<&ExitOrder> {
        self.book.urgent_exits.iter().filter(|x| !self.state.urgent_done.contains(&x.id)).collect()
    }

    /// Everything to send at this step: urgent exits (as soon as their name has a price), a
    /// flatten of every position when the kill switch says so, intraday exits on what is held,
    /// entries whose trigger fires; and the working entries to cancel while the kill switch is
    /// set. Sells are sized on both books ([`Books`]). No I/O.
    pub fn decide(&mut self, ticks: &BTreeMap<Ticker, Tick>, view: &AccountView) -> Decisions {
        let mut out = Decisions::default();
        let mut working_sells = view.working_sells.clone();
        // Urgent exits at market, first.
        let urgent: Vec<ExitOrder> = self
            .book
            .urgent_exits
            .iter()
            .filter(|x| !self.state.urgent_done.contains(&x.id) && ticks.contains_key(&x.ticker))
            .cloned()
            .collect();
        for x in urgent {
            self.state.urgent_done.insert(x.id.clone());
            if view.known_ids.contains(&x.id) {
                continue;
            }
            let books = view.books(&x.ticker, working_sells.get(&x.ticker).copied().unwrap_or(0));
            let want = ((x.shares as f64) * self.r(&x.ticker)).round() as u32;
            let reasons: Vec<Reason> = x.reasons.iter().filter_map(|c| Reason::from_code(c)).collect();
            match approve_sell(&x.id, &x.ticker, want, books.held(), books.working_sells(), x.action, &reasons) {
                Ok(o) => {
                    *working_sells.entry(x.ticker.clone()).or_default() += o.shares();
                    out.orders.push(o);
                }
                Err(refusal) => out.refused.push((x.id.clone(), x.ticker.clone(), refusal)),
            }
        }
        // The kill switch: cancel working entries; in flatten mode, sell everything at market.
        let mut flattening: BTreeSet<Ticker> = BTreeSet::new();
        if self.kill.is_some() {
            for (id, t) in &view.cancellable_buys {
                out.cancels.push((id.clone(), t.clone(), Reason::KillSwitchCancel));
            }
        }
        if self.kill == Some(KillMode::Flatten) {
            for pos in &view.positions {
                let id = intraday_order_id(self.date, &pos.ticker, Reason::Flatten);
                flattening.insert(pos.ticker.clone());
                if view.known_ids.contains(&id) || !ticks.contains_key(&pos.ticker) {
                    continue;
                }
                let books = view.books(&pos.ticker, working_sells.get(&pos.ticker).copied().unwrap_or(0));
                let want = books.sellable();
                if want == 0 {
                    continue;
                }
                match approve_sell(
                    &id,
                    &pos.ticker,
                    want,
                    books.held(),
                    books.working_sells(),
                    SignalAction::Exit,
                    &[Reason::Flatten],
                ) {
                    Ok(o) => {
                        *working_sells.entry(pos.ticker.clone()).or_default() += o.shares();
                        out.orders.push(o);
                    }
                    Err(refusal) => out.refused.push((id, pos.ticker.clone(), refusal)),
                }
            }
        }
        // Intraday exits on what is held (names with an urgent EXIT, or being flattened, are left to it).
        let exiting: BTreeSet<&Ticker> =
            self.book.urgent_exits.iter().filter(|x| x.action == SignalAction::Exit).map(|x| &x.ticker).collect();
        let stops: BTreeMap<&Ticker, _> = self.book.stops.iter().map(|s| (&s.ticker, s)).collect();
        for pos in &view.positions {
            let Some(tick) = ticks.get(&pos.ticker) else { continue };
            if exiting.contains(&pos.ticker) || flattening.contains(&pos.ticker) {
                continue;
            }
            let stop = stops.get(&pos.ticker);
            let mem = view.memory.get(&pos.ticker);
            let k = self.r(&pos.ticker);
            let hw = self.state.high_water.entry(pos.ticker.clone()).or_insert_with(|| {
                stop.map(|s| s.high_water.get() / k).or(mem.map(|m| m.high_water)).unwrap_or(pos.avg_cost)
            });
            *hw = hw.max(tick.day_high);
            let books = view.books(&pos.ticker, working_sells.get(&pos.ticker).copied().unwrap_or(0));
            let ip = IntradayPosition {
                entry_price: pos.avg_cost,
                high_water: *hw,
                atr: stop.and_then(|s| s.atr).map(|a| a.get() / k).filter(|a| a.is_finite() && *a > 0.0),
                days_held: mem.map(|m| m.entry_date.days_until(self.date).max(0) as u32).unwrap_or(0),
                shares: books.held(),
                working_sells: books.working_sells(),
                profit_taken: mem.is_some_and(|m| m.profit_taken),
            };
            if let Some((reason, shares)) = intraday_exit(&ip, tick, &self.params.intraday) {
                let id = intraday_order_id(self.date, &pos.ticker, reason);
                if view.known_ids.contains(&id) {
                    continue;
                }
                let action = if shares >= books.held() { SignalAction::Exit } else { SignalAction::Reduce };
                match approve_sell(&id, &pos.ticker, shares, books.held(), books.working_sells(), action, &[reason]) {
                    Ok(o) => {
                        *working_sells.entry(pos.ticker.clone()).or_default() += o.shares();
                        out.orders.push(o);
                    }
                    Err(refusal) => out.refused.push((id, pos.ticker.clone(), refusal)),
                }
            }
        }
        // Entries whose trigger fires, after the circuit breakers at this step's NAV.
        let nav = view.cash
            + view
                .positions
                .iter()
                .map(|p| p.shares as f64 * ticks.get(&p.ticker).map(|t| t.price).unwrap_or(p.avg_cost))
                .sum::<f64>();
        let (scale, halted) = self.breakers(nav, &mut out);
        let mut cash_left = (view.cash - view.committed) / self.gate.costs.buy_factor();
        for e in &self.book.entries {
            if self.state.entries_done.contains(&e.id) {
                continue;
            }
            if view.known_ids.contains(&e.id) {
                self.state.entries_done.insert(e.id.clone());
                continue;
            }
            let (Some(tick), Some(spec)) = (ticks.get(&e.ticker), self.specs.get(&e.id)) else { continue };
            let Some(trigger) = entry_trigger(spec, tick) else { continue };
            self.state.entries_done.insert(e.id.clone());
            let gate = EntryGate {
                today: self.date,
                book_date: self.book.date,
                kill_switch: self.kill.is_some(),
                nav,
                cash_available: cash_left - self.gate.costs.commission_min_usd,
                // Held by either book: no second entry.
                held: view.held(&e.ticker).max(view.memory.get(&e.ticker).map(|m| m.shares).unwrap_or(0)),
                working_buys: view.working_buys.get(&e.ticker).copied().unwrap_or(0),
                max_order_usd: self.gate.max_order_usd,
                max_position: self.max_pos * 1.10,
            };
            if let Some(halt) = &halted {
                out.refused.push((
                    e.id.clone(),
                    e.ticker.clone(),
                    Refusal { reason: Reason::DailyLossHalt, detail: halt.clone() },
                ));
                continue;
            }
            let shares = ((e.shares as f64) * self.r(&e.ticker) * scale).floor() as u32;
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
                Ok(o) => {
                    cash_left -= o.shares() as f64 * tick.price * self.gate.costs.buy_factor()
                        + self.gate.costs.commission_min_usd;
                    out.orders.push(o);
                }
                Err(refusal) => out.refused.push((e.id.clone(), e.ticker.clone(), refusal)),
            }
        }
        out
    }

    /// The circuit breakers at `nav` against the order book's reference levels: newly fired rules
    /// go to `out`; a kill stops entries at once. Returns the size scale for entries triggered now
    /// (the loss breakers' multiplier relative to the one the plan sized with) and, when the day
    /// is halted, why.
    fn breakers(&mut self, nav: f64, out: &mut Decisions) -> (f64, Option<String>) {
        let Some(levels) = self.book.breakers else { return (1.0, None) };
        let (b, scale) = during_day(nav, self.book.nav.get(), &levels, self.kill.is_some(), &self.params.breakers);
        let mut halted = None;
        for f in b.fired {
            match f.effect {
                Effect::Kill => self.kill = Some(KillMode::Entries),
                Effect::HaltToday => halted = Some(f.detail.clone()),
                _ => {}
            }
            if f.effect == Effect::Kill || self.state.breakers_fired.insert(f.rule) {
                out.breakers.push(f);
            }
        }
        (scale, halted)
    }

    /// One step: sync with the broker (executions, confirmed cancels), retry what the broker
    /// answered with an unknown error, read the account, decide, cancel and send every decision
    /// through the OMS (write-ahead first), book the fills. `source` names the caller in risk
    /// events ("session", "daemon"). A failure of one order never stops the others: only a lost
    /// connection (or the ledger's own storage) ends the step early.
    #[allow(clippy::too_many_arguments)]
    pub async fn step<B: Broker>(
        &mut self,
        time: NaiveTime,
        ticks: &BTreeMap<Ticker, Tick>,
        broker: &B,
        ledger: &mut Ledger,
        clock: &dyn Clock,
        sectors: &SectorMap,
        source: &str,
        report: &mut DayReport,
    ) -> Result<(), crate::ExecError> {
        let synced = oms::sync(ledger, broker, self.date, sectors, clock).await?;
        report.fills += synced.fills;
        for (id, sent) in oms::retry_failed(ledger, broker, self.date, &synced.open, self.kill.is_some(), clock).await?
        {
            report.note(&id, &sent);
        }
        let view = AccountView::read(broker, ledger, self.date, &synced.open).await?;
        let decided = self.decide(ticks, &view);
        self.state.last_step = Some(time);
        for f in &decided.breakers {
            tracing::warn!(rule = %f.rule, "{}", f.detail);
            ledger.record_risk_event(&RiskEventRow {
                date: self.date,
                source: source.into(),
                rule: f.rule.code().into(),
                ticker: None,
                detail: f.detail.clone(),
            })?;
            report.breakers.push(f.clone());
        }
        for (id, ticker, refusal) in &decided.refused {
            ledger.record_risk_event(&RiskEventRow {
                date: self.date,
                source: source.into(),
                rule: refusal.reason.code().into(),
                ticker: Some(ticker.clone()),
                detail: format!("{id}: {}", refusal.detail),
            })?;
            report.refused.push(format!("{id}: {refusal}"));
        }
        for (id, ticker, why) in &decided.cancels {
            let detail = format!("{why}: the kill switch stops entries");
            oms::cancel(ledger, broker, id, &detail, clock).await?;
            ledger.record_risk_event(&RiskEventRow {
                date: self.date,
                source: source.into(),
                rule: why.code().into(),
                ticker: Some(ticker.clone()),
                detail: format!("{id}: {detail}"),
            })?;
            report.cancelled.push(format!("{id}: {detail}"));
        }
        for (i, o) in decided.orders.iter().enumerate() {
            match oms::send(ledger, broker, o, self.date, clock).await {
                Ok(sent) => report.note(o.id(), &sent),
                Err(e) => {
                    // The connection failed: this order is recorded (reconciliation settles it);
                    // the ones after it were never recorded: decide them again at the next moment.
                    for later in &decided.orders[i + 1..] {
                        self.state.entries_done.remove(later.id());
                        self.state.urgent_done.remove(later.id());
                    }
                    return Err(e);
                }
            }
        }
        report.fills += oms::sync_fills(ledger, broker, self.date, sectors).await?;
        Ok(())
    }

    /// Records the entries the engine dropped as risk events (once; call after [`DayEngine::new`]).
    pub fn report_dropped(
        &self,
        ledger: &Ledger,
        source: &str,
        report: &mut DayReport,
    ) -> Result<(), crate::ExecError> {
        for (id, ticker, why) in &self.dropped {
            tracing::error!(id, "{why}");
            ledger.record_risk_event(&RiskEventRow {
                date: self.date,
                source: source.into(),
                rule: Reason::BadEntry.code().into(),
                ticker: Some(ticker.clone()),
                detail: why.clone(),
            })?;
            report.refused.push(why.clone());
        }
        Ok(())
    }

    /// At the end of the day: urgent exits that never had a price are recorded as risk events
    /// (nothing could fill; the next morning's plan decides again) and untriggered entries listed.
    pub fn finish(&self, ledger: &Ledger, source: &str, report: &mut DayReport) -> Result<(), crate::ExecError> {
        for x in self.urgent_unpriced() {
            let detail = format!("no {} price for {}: {} not sent", self.date, x.ticker, x.id);
            ledger.record_risk_event(&RiskEventRow {
                date: self.date,
                source: source.into(),
                rule: Reason::NoPrice.code().into(),
                ticker: Some(x.ticker.clone()),
                detail: detail.clone(),
            })?;
            report.refused.push(detail);
        }
        report.untriggered = self.untriggered();
        Ok(())
    }
}
