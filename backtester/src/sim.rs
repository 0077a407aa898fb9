//! The simulator: an event-driven daily loop that decides with the executor's own functions and
//! nothing else. Each day: the morning plan is [`ae_rules::plan::plan_day`] over the book marked
//! at the last close; splits effective today move held shares; then the day is executed either by
//! the daemon's own [`DayEngine`] over each bar's session path (`fill = "intraday"`: urgent exits
//! at the open, intraday exits and entry triggers as the daemon decides them) or, for the daily
//! fill models, by the same pre-trade gates ([`approve_sell`], [`approve_entry`]) at the open or
//! the close. Orders fill through the [`FillModel`]. Deterministic: no clock, no randomness.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ae_executor::broker::BrokerPosition;
use ae_executor::engine::{AccountView, DayEngine, GateSettings};
use ae_executor::ledger::PositionRow;
use ae_rules::bar_path::{DayBar, close_time, path_of};
use ae_rules::breakers::{Effect, Fired, book_risk_with, during_day, window_start_nav};
use ae_rules::correlation::sector_peers;
use ae_rules::order::{EntryGate, approve_entry, approve_sell};
use ae_rules::plan::{PlanInput, RiskInputs, plan_orders};
use ae_rules::risk::max_position;
use ae_rules::view::{Book, Context, Holding};
use ae_rules::{ApprovedOrder, OrderPrice, Reason};
use ae_shared::TradingDay;
use ae_shared::config::FillAt;
use ae_shared::contracts::common::{Sector, Side};
use ae_shared::contracts::kill_switch::KillMode;
use ae_shared::contracts::order_book::{BreakerLevels, OrderBook};
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::contracts::{Job, Lineage};
use ae_shared::types::{Ticker, Usd};
use serde::{Deserialize, Serialize};

use crate::fill::FillModel;
use crate::memo::CorrelationMemo;
use crate::prepare::{DayInput, Prepared, SharedReturns};

/// One fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Day.
    pub date: TradingDay,
    /// Client order id (the executor's deterministic id).
    pub order_id: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Buy or sell.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Ordered shares (more than `shares` when the participation cap bound).
    pub ordered: u32,
    /// Price per share, slippage included.
    pub price: f64,
    /// Commission.
    pub commission: f64,
    /// Reason codes, deciding rule (or entry trigger) first.
    pub reasons: Vec<String>,
}

/// A closed round trip (FIFO lots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Symbol.
    pub ticker: Ticker,
    /// Sector.
    pub sector: Option<Sector>,
    /// Entry day.
    pub entry_date: TradingDay,
    /// Exit day.
    pub exit_date: TradingDay,
    /// Shares.
    pub shares: u32,
    /// Entry price.
    pub entry_price: f64,
    /// Exit price.
    pub exit_price: f64,
    /// P&L after both commissions.
    pub pnl: f64,
    /// Return on the entry notional.
    pub ret: f64,
    /// Trading days held.
    pub days_held: u32,
    /// Entry trigger.
    pub entry_reason: String,
    /// Exit rule.
    pub exit_reason: String,
}

/// What one run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// Days.
    pub dates: Vec<TradingDay>,
    /// NAV at each close.
    pub nav: Vec<f64>,
    /// Daily returns (the first against the starting cash).
    pub returns: Vec<f64>,
    /// Fills (empty unless details were asked for).
    pub fills: Vec<Fill>,
    /// Closed trades (empty unless details were asked for).
    pub trades: Vec<Trade>,
    /// Closed trades by exit day index (always counted).
    pub trades_closed: Vec<u32>,
    /// Traded notional per day (detailed runs).
    pub traded: Vec<f64>,
    /// Orders the gates or the fill model refused.
    pub refused: u64,
    /// Orders filled for fewer shares than ordered (participation cap).
    pub partial: u64,
    /// Entries the risk guard or sizer blocked, by rule.
    pub blocked: BTreeMap<String, u64>,
    /// Circuit breakers that fired (always kept: a handful a year), and the simulated operator's
    /// clearing of a breaker's kill switch.
    pub breakers: Vec<BreakerEvent>,
    /// Each morning's predicted one-day 99% VaR of the book (a loss, share of NAV), when it had
    /// enough history: graded against the day's return (Kupiec). Detailed runs.
    pub var_99: Vec<Option<f64>>,
    /// Each morning's book as weights (market value / NAV), for the attribution (detailed runs).
    pub weights: Vec<Vec<(Ticker, f64)>>,
}

/// A circuit breaker that fired in the simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerEvent {
    /// Day.
    pub date: TradingDay,
    /// Rule code (`KILL_SWITCH_CLEARED` for the simulated operator's clearing).
    pub rule: String,
    /// With the numbers.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Lot {
    date: TradingDay,
    shares: u32,
    price: f64,
    commission_per_share: f64,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    sector: Option<Sector>,
    shares: u32,
    avg_cost: f64,
    entry_date: TradingDay,
    high_water: f64,
    /// The last close (the entry fill's price until the entry day closes).
    mark: f64,
    profit_taken: bool,
    decay_reduced: bool,
    lots: Vec<Lot>,
}

/// The simulator over prepared inputs.
#[derive(Debug)]
pub struct Simulator<'a> {
    prep: &'a Prepared,
    fill: FillModel,
    gate: GateSettings,
    start_cash: f64,
    lineage: Lineage,
    memo: CorrelationMemo,
}

/// Where a run stands after its last simulated day: everything the next day needs, and what it
/// produced so far. A weekly backtest resumes each grid point from the state last week's run
/// left, when the days it covered were prepared from the same inputs ([`crate::checkpoint`]):
/// resumed or not, the result is the same to the bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    detail: bool,
    cash: f64,
    peak: f64,
    positions: BTreeMap<Ticker, Position>,
    /// Dividends accrued and not yet paid.
    accrued: Vec<ae_rules::dividends::Accrual>,
    /// The day index a breaker set the kill switch on, while it is set.
    killed: Option<usize>,
    /// The day index of the first session after the simulated operator cleared it.
    cleared: Option<usize>,
    /// What the days so far produced.
    pub out: SimResult,
}

impl SimState {
    /// Days simulated.
    pub fn days(&self) -> usize {
        self.out.nav.len()
    }

    /// The state without what [`Simulator::resume`] derives again: its days' dates (the prepared
    /// days' own) and its daily returns (from the NAVs, by [`daily_return`]). A kept state is
    /// then its NAVs and closed-trade counts, and decodes without parsing dates.
    pub fn without_derived(mut self) -> Self {
        self.out.dates = Vec::new();
        self.out.returns = Vec::new();
        self
    }
}

struct Run<'a> {
    sim: &'a Simulator<'a>,
    params: &'a ExecutorParams,
    day_index: usize,
    st: SimState,
}

impl<'a> Simulator<'a> {
    /// A simulator starting with `start_cash`. `max_order_usd` is the live pre-trade limit.
    pub fn new(prep: &'a Prepared, fill: FillModel, start_cash: f64, max_order_usd: f64) -> Self {
        let gate = GateSettings { max_order_usd, costs: fill.costs };
        let lineage = Lineage::new(Job::Backtester, crate::VERSION, None, Vec::new());
        Self { prep, fill, gate, start_cash, lineage, memo: CorrelationMemo::new(prep.days.len()) }
    }

    /// The prepared inputs.
    pub fn prepared(&self) -> &Prepared {
        self.prep
    }

    /// What decides a run besides the prepared days and the parameters (this build, the fill
    /// model, the starting cash, the pre-trade limits) as a digest; `None` when the build
    /// cannot be identified.
    pub fn key(&self) -> Option<String> {
        let build = crate::checkpoint::build_id()?;
        let text = format!("{build}|{}|{:?}|{:?}|{}", crate::VERSION, self.fill, self.gate, self.start_cash.to_bits());
        Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())))
    }

    /// Runs the whole period with `params`. `detail` keeps every fill and trade.
    pub fn run(&self, params: &ExecutorParams, detail: bool) -> SimResult {
        self.resume(params, detail, None).out
    }

    /// Runs `params` to the last prepared day from `from`, the state an earlier run of the same
    /// parameters left after its last day (the caller has checked that its days were prepared
    /// from the same inputs: [`crate::checkpoint::Checkpoint`]), or from the start. A state
    /// with other details than asked for, or past the prepared days, is not used.
    pub fn resume(&self, params: &ExecutorParams, detail: bool, from: Option<SimState>) -> SimState {
        let from = from.filter(|s| s.detail == detail && s.days() <= self.prep.days.len());
        let mut start = from.unwrap_or(SimState {
            detail,
            cash: self.start_cash,
            peak: self.start_cash,
            positions: BTreeMap::new(),
            accrued: Vec::new(),
            killed: None,
            cleared: None,
            out: SimResult::default(),
        });
        let done = start.days();
        if start.out.dates.len() != done {
            start.out.dates = self.prep.days[..done].iter().map(|d| d.date).collect();
        }
        if start.out.returns.len() != done {
            let mut prev = self.start_cash;
            start.out.returns =
                start.out.nav.iter().map(|&nav| daily_return(std::mem::replace(&mut prev, nav), nav)).collect();
        }
        let mut r = Run { sim: self, params, day_index: done, st: start };
        let mut prev_nav = r.st.out.nav.last().copied().unwrap_or(self.start_cash);
        for (i, day) in self.prep.days.iter().enumerate().skip(done) {
            r.day_index = i;
            r.st.out.trades_closed.push(0);
            if detail {
                r.st.out.traded.push(0.0);
            }
            r.day(day);
            let nav = r.nav();
            r.st.out.dates.push(day.date);
            r.st.out.nav.push(nav);
            r.st.out.returns.push(daily_return(prev_nav, nav));
            prev_nav = nav;
            r.st.peak = r.st.peak.max(nav);
        }
        r.st
    }
}

/// A day's return from the NAV before it (the starting cash on the first day).
fn daily_return(prev_nav: f64, nav: f64) -> f64 {
    if prev_nav > 0.0 { nav / prev_nav - 1.0 } else { 0.0 }
}

impl Run<'_> {
    fn nav(&self) -> f64 {
        self.st.cash
            + self.st.accrued.iter().map(|a| a.amount).sum::<f64>()
            + self.st.positions.values().map(|p| p.shares as f64 * p.mark).sum::<f64>()
    }

    /// The book as the planner sees it: positions marked at the last close (names without a view
    /// are left out of the holdings but kept in NAV at cost, as the planner does).
    fn book(&self, day: &DayInput) -> Book {
        let mut holdings = Vec::with_capacity(self.st.positions.len());
        let mut unpriced = 0.0;
        for (t, p) in &self.st.positions {
            let Some(view) = day.views.get(t) else {
                unpriced += p.shares as f64 * p.avg_cost;
                continue;
            };
            holdings.push(Holding {
                ticker: t.clone(),
                sector: p.sector,
                shares: p.shares,
                working_sells: 0,
                avg_cost: p.avg_cost,
                entry_date: p.entry_date,
                days_held: p.entry_date.days_until(day.date).max(0) as u32,
                high_water: p.high_water.max(view.close),
                profit_taken: p.profit_taken,
                decay_reduced: p.decay_reduced,
                market: view.clone(),
            });
        }
        let receivable: f64 = self.st.accrued.iter().map(|a| a.amount).sum();
        let nav = self.st.cash + holdings.iter().map(Holding::market_value).sum::<f64>() + unpriced + receivable;
        Book { nav, cash: self.st.cash, peak_nav: self.st.peak.max(nav), holdings }
    }

    fn day(&mut self, day: &DayInput) {
        // The simulated operator clears a breaker's kill switch after the configured review.
        let b = &self.params.breakers;
        if let Some(k) = self.st.killed
            && self.day_index >= k + b.backtest_review_days as usize
        {
            self.st.killed = None;
            self.st.cleared = Some(self.day_index);
            // Clearing resets the high-water mark the drawdown rules measure from (as live).
            self.st.peak = self.st.out.nav.last().copied().unwrap_or(self.sim.start_cash);
            self.breaker_event(
                day.date,
                "KILL_SWITCH_CLEARED",
                format!("the simulated operator cleared the kill switch after {} sessions", b.backtest_review_days),
            );
        }
        // Morning: the plan, from the book at the last close.
        let book = self.book(day);
        let lookback = self.params.risk.correlation_days as usize;
        let mut cands = day.candidates.clone();
        for c in &mut cands {
            let Some(own) = day.returns.get(&c.ticker).map(SharedReturns::as_slice) else { continue };
            let peers: Vec<&[f64]> = sector_peers(&book, &c.ticker, c.sector)
                .filter_map(|t| day.returns.get(t).map(SharedReturns::as_slice))
                .collect();
            c.correlation = self.sim.memo.mean(self.day_index, own, &peers, lookback);
        }
        let window_start_nav =
            window_start_nav(&self.st.out.nav, b.loss_window_days as usize, Some(self.sim.start_cash));
        let (tail, correlation) = book_risk_with(
            &book,
            |t| day.returns.get(t).map(SharedReturns::as_slice),
            self.params,
            |series, lookback| self.sim.memo.book(self.day_index, series, lookback),
        );
        if self.st.detail {
            self.st.out.var_99.push(tail.map(|t| t.var_99));
        }
        if self.st.detail && book.nav > 0.0 {
            self.st
                .out
                .weights
                .push(book.holdings.iter().map(|h| (h.ticker.clone(), h.market_value() / book.nav)).collect());
        }
        let risk = RiskInputs {
            window_start_nav,
            sessions_since_clear: self.st.cleared.map(|c| (self.day_index - c) as u32),
            tail,
            correlation,
        };
        let ctx = Context {
            date: day.date,
            regime: day.regime,
            kill_switch: self.st.killed.is_some(),
            signals_stale: day.signals_stale,
        };
        let plan = plan_orders(&PlanInput {
            ctx,
            book: &book,
            research: &day.research,
            candidates: &cands,
            params: self.params,
            risk,
        });
        self.breakers_fired(day.date, &plan.breakers.fired);
        let levels = BreakerLevels {
            window_start_nav: window_start_nav.map(Usd::saturating),
            peak_nav: Usd::saturating(book.peak_nav),
            planned_multiplier: plan.breakers.loss_multiplier(),
        };
        for b in &plan.blocked {
            match self.st.out.blocked.get_mut(&b.rule) {
                Some(n) => *n += 1,
                None => {
                    self.st.out.blocked.insert(b.rule.clone(), 1);
                }
            }
        }
        // Splits effective today.
        for (t, ratio) in &day.splits {
            if let Some(p) = self.st.positions.get_mut(t) {
                p.shares = (p.shares as f64 * ratio).round() as u32;
                p.avg_cost /= ratio;
                p.high_water /= ratio;
                p.mark /= ratio;
                for l in &mut p.lots {
                    l.shares = (l.shares as f64 * ratio).round() as u32;
                    l.price /= ratio;
                }
            }
        }
        // Dividends: those going ex today accrue on the shares held at the open; those due are paid.
        let today = day.date.date();
        let positions = &self.st.positions;
        let held = |t: &Ticker| positions.get(t).map(|p| p.shares).unwrap_or(0);
        self.st.cash += ae_rules::dividends::settle(today, held, &day.dividends, &mut self.st.accrued);
        let order_book = OrderBook {
            schema_version: 1,
            produced_by: self.sim.lineage.clone(),
            date: day.date,
            nav: Usd::saturating(book.nav),
            cash: Usd::saturating(book.cash),
            market_regime: day.regime,
            entries: plan.entries,
            urgent_exits: plan.exits,
            stops: plan.stops,
            blocked: Vec::new(),
            // The simulator trades with the parameters it was given; no copy per day.
            params: None,
            breakers: Some(levels),
            ensemble: None,
        };
        match self.sim.fill.at {
            FillAt::Intraday => self.intraday(day, order_book),
            FillAt::Open => self.at_price(day, order_book, |b| b.open),
            FillAt::Close => self.at_price(day, order_book, |b| b.close),
        }
        // Close: marks and high water.
        for (t, p) in &mut self.st.positions {
            if let Some(b) = day.bars.get(t) {
                p.high_water = p.high_water.max(b.close);
                p.mark = b.close;
            }
        }
    }

    fn breaker_event(&mut self, date: TradingDay, rule: &str, detail: String) {
        self.st.out.breakers.push(BreakerEvent { date, rule: rule.to_string(), detail });
    }

    /// Records breakers that fired (once a day per rule: the morning plan and the day's steps
    /// see the same window loss); a kill latches until the simulated operator clears it.
    fn breakers_fired(&mut self, date: TradingDay, fired: &[Fired]) {
        for f in fired {
            if f.effect == Effect::Kill {
                self.st.killed = Some(self.day_index);
                self.st.cleared = None;
            }
            let seen =
                self.st.out.breakers.iter().rev().take_while(|e| e.date == date).any(|e| e.rule == f.rule.code());
            if !seen {
                self.breaker_event(date, f.rule.code(), f.detail.clone());
            }
        }
    }

    fn account(&self, placed: &BTreeSet<String>) -> AccountView {
        AccountView {
            cash: self.st.cash,
            positions: self
                .st
                .positions
                .iter()
                .map(|(t, p)| BrokerPosition { ticker: t.clone(), shares: p.shares, avg_cost: p.avg_cost })
                .collect(),
            memory: self
                .st
                .positions
                .iter()
                .map(|(t, p)| {
                    (
                        t.clone(),
                        PositionRow {
                            ticker: t.clone(),
                            sector: p.sector.map(|s| s.name().to_string()),
                            shares: p.shares,
                            avg_cost: p.avg_cost,
                            entry_date: p.entry_date,
                            high_water: p.high_water,
                            profit_taken: p.profit_taken,
                            decay_reduced: p.decay_reduced,
                        },
                    )
                })
                .collect(),
            known_ids: placed.clone(),
            ..Default::default()
        }
    }

    /// The daemon's engine over each bar's four-tick session path.
    fn intraday(&mut self, day: &DayInput, book: OrderBook) {
        let close = close_time(day.date);
        let kill = self.st.killed.map(|_| KillMode::Entries);
        let Ok(mut engine) =
            DayEngine::new(day.date, book, self.params.clone(), kill, self.sim.gate, day.splits.clone(), close)
        else {
            self.st.out.refused += 1;
            return;
        };
        let held: Vec<Ticker> = self.st.positions.keys().cloned().collect();
        let paths: Vec<(Ticker, [ae_rules::intraday::Tick; 4], f64)> = engine
            .watch_list(&held)
            .into_iter()
            .filter_map(|t| {
                let b = day.bars.get(&t)?;
                let bar = DayBar { open: b.open, high: b.high, low: b.low, close: b.close };
                Some((t, path_of(&bar, day.date), b.volume))
            })
            .collect();
        let mut placed = BTreeSet::new();
        let mut used: HashMap<Ticker, f64> = HashMap::new();
        // The account changes only when orders are placed: the view is read again after a step
        // that placed some, as the daemon reads the broker after its orders.
        let mut view = self.account(&placed);
        for step in 0..4 {
            let Some(time) = paths.first().map(|p| p.1[step].time) else { break };
            let mut ticks = BTreeMap::new();
            for (t, p, _) in &paths {
                ticks.insert(t.clone(), engine.state.tape.observe(t, time, p[step].price));
            }
            let decided = engine.decide(&ticks, &view);
            self.breakers_fired(day.date, &decided.breakers);
            self.st.out.refused += decided.refused.len() as u64;
            let mut placed_now = false;
            for o in decided.orders {
                placed.insert(o.id().to_string());
                placed_now = true;
                let Some((_, p, volume)) = paths.iter().find(|(t, _, _)| t == o.ticker()) else { continue };
                let left = used.entry(o.ticker().clone()).or_insert_with(|| self.sim.fill.capacity(*volume));
                let capacity = *left;
                if let Some(taken) = self.execute(day.date, &o, p[step].price, capacity) {
                    *used.get_mut(o.ticker()).expect("just inserted") -= taken as f64;
                }
            }
            if placed_now {
                view = self.account(&placed);
            }
        }
    }

    /// The daily fill models: the plan's exits, then its entries, through the same pre-trade
    /// gates the daemon uses, at one price of the day.
    fn at_price(&mut self, day: &DayInput, book: OrderBook, price_of: impl Fn(&crate::prepare::Bar) -> f64) {
        let ratio = |t: &Ticker| day.splits.get(t).copied().unwrap_or(1.0);
        for x in &book.urgent_exits {
            let Some(bar) = day.bars.get(&x.ticker) else { continue };
            let held = self.st.positions.get(&x.ticker).map(|p| p.shares).unwrap_or(0);
            let want = (x.shares as f64 * ratio(&x.ticker)).round() as u32;
            let reasons: Vec<Reason> = x.reasons.iter().filter_map(|c| Reason::from_code(c)).collect();
            match approve_sell(&x.id, &x.ticker, want, held, 0, x.action, &reasons) {
                Ok(o) => {
                    self.execute(day.date, &o, price_of(bar), self.sim.fill.capacity(bar.volume));
                }
                Err(_) => self.st.out.refused += 1,
            }
        }
        let max_pos = max_position(&self.params.risk, book.market_regime);
        let slip = self.sim.fill.costs.buy_factor();
        // The breakers at this fill price, as the daemon evaluates them at a step.
        let (scale, allowed) = match &book.breakers {
            Some(levels) => {
                let nav = self.nav_at(day, &price_of);
                let (b, scale) =
                    during_day(nav, book.nav.get(), levels, self.st.killed.is_some(), &self.params.breakers);
                self.breakers_fired(day.date, &b.fired);
                (scale, b.entries_allowed() && self.st.killed.is_none())
            }
            None => (1.0, self.st.killed.is_none()),
        };
        for e in book.entries.iter().filter(|_| allowed) {
            let Some(bar) = day.bars.get(&e.ticker) else { continue };
            let px = price_of(bar);
            let nav = self.nav_at(day, &price_of);
            let gate = EntryGate {
                today: day.date,
                book_date: book.date,
                kill_switch: self.st.killed.is_some(),
                nav,
                cash_available: self.st.cash / slip - self.sim.gate.costs.commission_min_usd,
                held: self.st.positions.get(&e.ticker).map(|p| p.shares).unwrap_or(0),
                working_buys: 0,
                max_order_usd: self.sim.gate.max_order_usd,
                max_position: max_pos * 1.10,
            };
            let k = ratio(&e.ticker);
            let shares = (e.shares as f64 * k * scale).floor() as u32;
            let trigger = if self.sim.fill.at == FillAt::Open { Reason::AtOpen } else { Reason::AtClose };
            match approve_entry(
                &e.id,
                &e.ticker,
                shares,
                px,
                e.reference_price.get() / k,
                trigger,
                OrderPrice::Market,
                &gate,
            ) {
                Ok(o) => {
                    self.execute(day.date, &o, px, self.sim.fill.capacity(bar.volume));
                }
                Err(_) => self.st.out.refused += 1,
            }
        }
    }

    fn nav_at(&self, day: &DayInput, price_of: &impl Fn(&crate::prepare::Bar) -> f64) -> f64 {
        self.st.cash
            + self
                .st
                .positions
                .iter()
                .map(|(t, p)| {
                    let px = day.bars.get(t).map(price_of).unwrap_or(p.mark);
                    p.shares as f64 * px
                })
                .sum::<f64>()
    }

    /// Fills `o` at `quote` for at most `capacity` shares; returns the shares filled.
    fn execute(&mut self, date: TradingDay, o: &ApprovedOrder, quote: f64, capacity: f64) -> Option<u32> {
        let Some(f) = self.sim.fill.fill(o, quote, capacity, self.st.cash) else {
            self.st.out.refused += 1;
            return None;
        };
        if f.shares < o.shares() {
            self.st.out.partial += 1;
        }
        let notional = f.shares as f64 * f.price;
        // Per-day turnover and the reasons a lot and a trade carry are details (a sweep's points
        // need neither, and allocating them for every fill cost a sweep a few percent).
        let reasons: Vec<String> = if self.st.detail {
            self.st.out.traded[self.day_index] += notional;
            o.reasons().iter().map(|r| r.code().to_string()).collect()
        } else {
            Vec::new()
        };
        let t = o.ticker().clone();
        match o.side() {
            Side::Buy => {
                self.st.cash -= notional + f.commission;
                let sector = self.sim.prep.sectors.get(&t).copied();
                let lot = Lot {
                    date,
                    shares: f.shares,
                    price: f.price,
                    commission_per_share: f.commission / f.shares as f64,
                    reason: reasons.first().cloned().unwrap_or_default(),
                };
                match self.st.positions.get_mut(&t) {
                    Some(p) => {
                        let n = p.shares + f.shares;
                        p.avg_cost = (p.shares as f64 * p.avg_cost + notional) / n as f64;
                        p.shares = n;
                        p.lots.push(lot);
                    }
                    None => {
                        self.st.positions.insert(
                            t.clone(),
                            Position {
                                sector,
                                shares: f.shares,
                                avg_cost: f.price,
                                entry_date: date,
                                high_water: f.price,
                                mark: f.price,
                                profit_taken: false,
                                decay_reduced: false,
                                lots: vec![lot],
                            },
                        );
                    }
                }
            }
            Side::Sell => {
                self.st.cash += notional - f.commission;
                let exit_reason = reasons.first().cloned().unwrap_or_default();
                let Some(p) = self.st.positions.get_mut(&t) else { return Some(f.shares) };
                let sold = f.shares.min(p.shares);
                p.shares -= sold;
                if o.reasons().iter().any(|r| matches!(r, Reason::ProfitTake | Reason::IntradayProfitHalf)) {
                    p.profit_taken = true;
                } else if o.reasons().contains(&Reason::TimeDecayReduce) {
                    p.decay_reduced = true;
                }
                // FIFO lots into closed trades.
                let mut left = sold;
                let sell_comm = f.commission / f.shares as f64;
                while left > 0 && !p.lots.is_empty() {
                    let lot = &mut p.lots[0];
                    let n = lot.shares.min(left);
                    let pnl = (f.price - lot.price) * n as f64 - (lot.commission_per_share + sell_comm) * n as f64;
                    self.st.out.trades_closed[self.day_index] += 1;
                    if self.st.detail {
                        self.st.out.trades.push(Trade {
                            ticker: t.clone(),
                            sector: p.sector,
                            entry_date: lot.date,
                            exit_date: date,
                            shares: n,
                            entry_price: lot.price,
                            exit_price: f.price,
                            pnl,
                            ret: pnl / (lot.price * n as f64),
                            days_held: lot.date.days_until(date).max(0) as u32,
                            entry_reason: lot.reason.clone(),
                            exit_reason: exit_reason.clone(),
                        });
                    }
                    lot.shares -= n;
                    left -= n;
                    if lot.shares == 0 {
                        p.lots.remove(0);
                    }
                }
                if p.shares == 0 {
                    self.st.positions.remove(&t);
                }
            }
        }
        if self.st.detail {
            self.st.out.fills.push(Fill {
                date,
                order_id: o.id().to_string(),
                ticker: t,
                side: o.side(),
                shares: f.shares,
                ordered: o.shares(),
                price: f.price,
                commission: f.commission,
                reasons,
            });
        }
        Some(f.shares)
    }
}
