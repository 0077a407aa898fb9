//! The paper gateway's account and order book, with its fill model. No sockets here: orders and
//! price steps go in, order events come out, and the server turns them into TWS messages.
//!
//! **Fill model** (documented for operators; the paper broker's is the same):
//! - market orders fill at once at the current replayed price, moved against the order by the
//!   configured slippage (buys higher, sells lower); with a partial-fill fault they fill a fraction
//!   now and the rest at the next price step;
//! - limit orders fill when the step price reaches the limit, at the limit;
//! - stop orders fill when the step price falls (sells) or rises (buys) through the stop, at the step
//!   price; a trailing stop follows the highest price since it became active, its stop that
//!   high × (1 − trailing percent);
//! - a bracket child (parent id set) waits until its parent is filled; an order sent with
//!   `transmit = false` waits until a child with `transmit = true` arrives;
//! - commission per share with a minimum per execution; sells beyond the position are refused (a
//!   cash account never goes short) and buys beyond the cash are refused;
//! - day orders still working at the close are cancelled (what IB reports for an expired day order).

use std::collections::BTreeMap;

use ae_core::contracts::common::Side;
use ae_core::types::Ticker;
use ae_rules::costs::CostModel;
use chrono::{DateTime, Utc};

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderKind {
    /// At market.
    Market,
    /// Limit at this price.
    Limit(f64),
    /// Stop at this price.
    Stop(f64),
    /// Trailing stop this fraction below the high water (sells) or above the low water (buys).
    TrailPct(f64),
}

/// An order as the client sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSpec {
    /// The client's order id.
    pub order_id: i32,
    /// The sending client's id.
    pub client_id: i32,
    /// The client's reference (alpha-engine's deterministic id).
    pub order_ref: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Buy or sell.
    pub side: Side,
    /// Shares.
    pub quantity: u32,
    /// Pricing.
    pub kind: OrderKind,
    /// Parent order id (0 = none).
    pub parent_id: i32,
    /// False holds the order until a child with `transmit = true` arrives.
    pub transmit: bool,
}

/// Where an order stands, in IB's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Held (waiting for its parent or for transmission).
    PreSubmitted,
    /// Working.
    Submitted,
    /// Completely filled.
    Filled,
    /// Cancelled (by the client, or a day order at the close).
    Cancelled,
    /// Refused.
    Inactive,
}

impl Status {
    /// IB's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PreSubmitted => "PreSubmitted",
            Status::Submitted => "Submitted",
            Status::Filled => "Filled",
            Status::Cancelled => "Cancelled",
            Status::Inactive => "Inactive",
        }
    }

    /// Still able to fill.
    pub fn is_working(self) -> bool {
        matches!(self, Status::PreSubmitted | Status::Submitted)
    }
}

/// An order in the book.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// What was sent.
    pub spec: OrderSpec,
    /// Status.
    pub status: Status,
    /// Shares filled.
    pub filled: u32,
    /// Average fill price.
    pub avg_price: f64,
    /// Last fill price.
    pub last_price: f64,
    /// IB's permanent id.
    pub perm_id: i32,
    /// Trailing stops: the best price since activation.
    pub watermark: Option<f64>,
    /// Price steps to sit out before filling again (a partial fill's rest, on command).
    pub wait_steps: u32,
}

impl Order {
    /// Shares still to fill.
    pub fn remaining(&self) -> u32 {
        self.spec.quantity - self.filled
    }
}

/// An execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Unique id.
    pub exec_id: String,
    /// The order.
    pub order_id: i32,
    /// Client that placed it.
    pub client_id: i32,
    /// Permanent id.
    pub perm_id: i32,
    /// The client's reference.
    pub order_ref: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Side.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Price.
    pub price: f64,
    /// Cumulative shares of the order.
    pub cum_qty: u32,
    /// Average price of the order so far.
    pub avg_price: f64,
    /// Commission.
    pub commission: f64,
    /// When.
    pub time: DateTime<Utc>,
}

/// What happened, for the server to report.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The order's state changed (report OpenOrder + OrderStatus to its client).
    Order(i32),
    /// An execution (report ExecDetails + CommissionReport, then OrderStatus).
    Exec(Execution),
    /// An error for a request id (an order id here).
    Error {
        /// Order id.
        id: i32,
        /// IB's error code.
        code: i32,
        /// Message.
        message: String,
    },
}

/// Injected faults that act on orders: the races and surprises a real broker produces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFaults {
    /// Refuse the next n orders with this reason.
    pub reject_next: u32,
    /// Fill market orders only this fraction at first, the rest at the next price step.
    pub partial_fraction: Option<f64>,
    /// With a partial fill: the rest waits this many more price steps (it stays working).
    pub partial_rest_delay: u32,
    /// Answer orders with an error code IB does not document as a rejection: the order never
    /// goes live.
    pub error_orders: Option<ErrorFault>,
    /// A cancel loses the race: the order's remaining shares fill at the current price before
    /// the cancel lands (the cancel is then refused, code 161).
    pub fill_on_cancel: bool,
    /// At the close, the first working order's remaining shares fill at the last price, but the
    /// execution is reported only after the order was reported cancelled (at the second
    /// executions request after the close).
    pub late_fill_at_close: bool,
}

/// Orders answered with an error code instead of being placed.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorFault {
    /// The error code.
    pub code: i32,
    /// How many orders still get it.
    pub times: u32,
    /// Only orders of this symbol (any symbol: `None`; the first order then picks it).
    pub ticker: Option<Ticker>,
}

/// The account and its orders.
#[derive(Debug, Clone)]
pub struct Book {
    /// Account id.
    pub account: String,
    /// Cash.
    pub cash: f64,
    /// Positions: shares and average cost.
    pub positions: BTreeMap<Ticker, (u32, f64)>,
    /// Short positions, as a share count (only a position moved from outside makes one: the
    /// book refuses short sales).
    pub shorts: BTreeMap<Ticker, u32>,
    /// Dividends accrued and not yet paid (IB's `AccruedDividend`, part of the net liquidation).
    pub accrued_dividends: Vec<ae_rules::dividends::Accrual>,
    /// Orders by id.
    pub orders: BTreeMap<i32, Order>,
    /// Executions, in order.
    pub executions: Vec<Execution>,
    /// Current prices.
    pub prices: BTreeMap<Ticker, f64>,
    /// Current time.
    pub now: DateTime<Utc>,
    /// Slippage of market fills and commissions (per share, with a minimum per execution).
    pub costs: CostModel,
    /// Faults.
    pub faults: OrderFaults,
    /// Executions made but not reported yet (see [`OrderFaults::late_fill_at_close`]), with the
    /// executions requests still to answer before they appear.
    pub withheld: Vec<(Execution, u32)>,
    next_perm: i32,
}

/// The first permanent id of a book opened at `now`: distinct for every day, so execution ids
/// (perm id, sequence) never repeat across the days a broker account lives through, as a real
/// broker's never do (a gateway started each morning would otherwise reuse yesterday's ids, and a
/// ledger that already holds an id rightly skips it as booked).
fn perm_base(now: DateTime<Utc>) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date");
    let days = (now.date_naive() - epoch).num_days().rem_euclid(20_000) as i32;
    1_000_000 + days * 100_000
}

impl Book {
    /// A new account.
    pub fn new(account: &str, cash: f64, costs: CostModel, now: DateTime<Utc>) -> Self {
        Self {
            account: account.to_string(),
            cash,
            positions: BTreeMap::new(),
            shorts: BTreeMap::new(),
            accrued_dividends: Vec::new(),
            orders: BTreeMap::new(),
            executions: Vec::new(),
            prices: BTreeMap::new(),
            now,
            costs,
            faults: OrderFaults::default(),
            withheld: Vec::new(),
            next_perm: perm_base(now),
        }
    }

    /// The next order id a client may use.
    pub fn next_valid_id(&self) -> i32 {
        self.orders.keys().next_back().map(|k| k + 1).unwrap_or(1)
    }

    /// Net liquidation: cash plus positions at current prices.
    pub fn net_liquidation(&self) -> f64 {
        self.cash
            + self.accrued_dividend()
            + self
                .positions
                .iter()
                .map(|(t, (n, c))| *n as f64 * self.prices.get(t).copied().unwrap_or(*c))
                .sum::<f64>()
    }

    /// Dollars of dividends accrued and not yet paid.
    pub fn accrued_dividend(&self) -> f64 {
        self.accrued_dividends.iter().map(|a| a.amount).sum()
    }

    /// Cash dividends at the start of `today`, by the one rule (`ae_rules::dividends`): accrues
    /// those going ex today on the shares held now, then pays the accruals whose pay date has come.
    pub fn settle_dividends(&mut self, today: chrono::NaiveDate, events: &[ae_rules::dividends::DividendEvent]) {
        let positions = &self.positions;
        let held = |t: &Ticker| positions.get(t).map(|(n, _)| *n).unwrap_or(0);
        self.cash += ae_rules::dividends::settle(today, held, events, &mut self.accrued_dividends);
    }

    fn refuse(&mut self, spec: OrderSpec, message: String) -> Vec<Event> {
        let id = spec.order_id;
        self.next_perm += 1;
        let perm_id = self.next_perm;
        self.orders.insert(
            id,
            Order {
                spec,
                status: Status::Inactive,
                filled: 0,
                avg_price: 0.0,
                last_price: 0.0,
                perm_id,
                watermark: None,
                wait_steps: 0,
            },
        );
        vec![Event::Error { id, code: 201, message: format!("Order rejected - reason: {message}") }, Event::Order(id)]
    }

    /// Shares of `t` in working sells other than `except`.
    fn working_sells(&self, t: &Ticker, except: i32) -> u32 {
        self.orders
            .values()
            .filter(|o| o.spec.order_id != except && o.spec.ticker == *t && o.spec.side == Side::Sell)
            .filter(|o| o.status == Status::Submitted && o.spec.parent_id == 0)
            .map(Order::remaining)
            .sum()
    }

    /// Places an order.
    pub fn place(&mut self, spec: OrderSpec) -> Vec<Event> {
        let id = spec.order_id;
        if self.orders.contains_key(&id) {
            return vec![Event::Error { id, code: 103, message: "Duplicate order id".into() }];
        }
        if self.faults.reject_next > 0 {
            self.faults.reject_next -= 1;
            return self.refuse(spec, "rejected on command (fault injection)".into());
        }
        if let Some(f) = self.faults.error_orders.as_mut()
            && f.times > 0
            && f.ticker.as_ref().is_none_or(|t| *t == spec.ticker)
        {
            f.ticker = Some(spec.ticker.clone());
            f.times -= 1;
            let code = f.code;
            return vec![Event::Error { id, code, message: format!("error {code} on command (fault injection)") }];
        }
        let Some(&price) = self.prices.get(&spec.ticker) else {
            return self.refuse(spec, "no market data for the contract".into());
        };
        if spec.quantity == 0 {
            return self.refuse(spec, "order size is zero".into());
        }
        if spec.side == Side::Sell && spec.parent_id == 0 {
            let held = self.positions.get(&spec.ticker).map(|p| p.0).unwrap_or(0);
            let free = held.saturating_sub(self.working_sells(&spec.ticker, id));
            if spec.quantity > free {
                let why = format!("sell of {} exceeds the {free} shares free (no shorting)", spec.quantity);
                return self.refuse(spec, why);
            }
        }
        if spec.side == Side::Buy && spec.quantity as f64 * price > self.cash {
            let why = format!("insufficient cash: {:.2} needed, {:.2} held", spec.quantity as f64 * price, self.cash);
            return self.refuse(spec, why);
        }
        self.next_perm += 1;
        let held = !spec.transmit || spec.parent_id != 0;
        let transmit_parent = if spec.transmit && spec.parent_id != 0 { Some(spec.parent_id) } else { None };
        let order = Order {
            status: if held { Status::PreSubmitted } else { Status::Submitted },
            filled: 0,
            avg_price: 0.0,
            last_price: 0.0,
            perm_id: self.next_perm,
            watermark: None,
            wait_steps: 0,
            spec,
        };
        self.orders.insert(id, order);
        let mut events = vec![Event::Order(id)];
        if let Some(p) = transmit_parent
            && let Some(parent) = self.orders.get_mut(&p)
            && parent.status == Status::PreSubmitted
            && parent.spec.parent_id == 0
        {
            parent.status = Status::Submitted;
            events.push(Event::Order(p));
            events.extend(self.try_fill(p, true));
        }
        if !held {
            events.extend(self.try_fill(id, true));
        }
        events
    }

    /// Cancels a working order.
    pub fn cancel(&mut self, id: i32) -> Vec<Event> {
        if self.faults.fill_on_cancel
            && let Some(o) = self.orders.get(&id).filter(|o| o.status == Status::Submitted && o.remaining() > 0)
            && let Some(&px) = self.prices.get(&o.spec.ticker)
        {
            // The cancel lost the race: the rest fills first, then the cancel is refused.
            self.faults.fill_on_cancel = false;
            let rest = o.remaining();
            let mut ev = self.execute(id, rest, px);
            ev.push(Event::Error {
                id,
                code: 161,
                message: "Cancel attempted when order is not in a cancellable state".into(),
            });
            return ev;
        }
        match self.orders.get_mut(&id) {
            Some(o) if o.status.is_working() => {
                o.status = Status::Cancelled;
                let mut ev = vec![Event::Order(id)];
                let children: Vec<i32> = self
                    .orders
                    .values()
                    .filter(|c| c.spec.parent_id == id && c.status.is_working())
                    .map(|c| c.spec.order_id)
                    .collect();
                for c in children {
                    ev.extend(self.cancel(c));
                }
                ev
            }
            _ => vec![Event::Error {
                id,
                code: 161,
                message: "Cancel attempted when order is not in a cancellable state".into(),
            }],
        }
    }

    /// A new price step: every working order is checked against it.
    pub fn advance(&mut self, now: DateTime<Utc>, prices: &BTreeMap<Ticker, f64>) -> Vec<Event> {
        self.now = now;
        for (t, p) in prices {
            self.prices.insert(t.clone(), *p);
        }
        let ids: Vec<i32> =
            self.orders.values().filter(|o| o.status == Status::Submitted).map(|o| o.spec.order_id).collect();
        let mut events = Vec::new();
        for id in ids {
            if let Some(o) = self.orders.get_mut(&id)
                && o.wait_steps > 0
            {
                o.wait_steps -= 1;
                continue;
            }
            events.extend(self.try_fill(id, false));
        }
        events
    }

    /// The close: working day orders are cancelled.
    pub fn close_day(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        self.now = now;
        let ids: Vec<i32> = self.orders.values().filter(|o| o.status.is_working()).map(|o| o.spec.order_id).collect();
        let mut events = Vec::new();
        if self.faults.late_fill_at_close
            && let Some(&id) = ids.iter().find(|i| self.orders[*i].spec.parent_id == 0)
            && let Some(&px) = self.prices.get(&self.orders[&id].spec.ticker)
        {
            // Filled at the bell; the report comes after the order is reported cancelled.
            self.faults.late_fill_at_close = false;
            let rest = self.orders[&id].remaining();
            for ev in self.execute(id, rest, px) {
                if let Event::Exec(x) = ev {
                    self.executions.retain(|e| e.exec_id != x.exec_id);
                    self.withheld.push((x, 2));
                }
            }
            if let Some(o) = self.orders.get_mut(&id) {
                o.status = Status::Cancelled;
            }
            events.push(Event::Order(id));
        }
        for id in ids {
            if let Some(o) = self.orders.get_mut(&id) {
                o.status = Status::Cancelled;
                events.push(Event::Order(id));
            }
        }
        events
    }

    /// An executions request arrives: withheld executions whose turn has come are reported from
    /// now on (their effect on positions and cash happened when they executed).
    pub fn on_executions_request(&mut self) {
        let mut due = Vec::new();
        for (x, left) in &mut self.withheld {
            *left = left.saturating_sub(1);
            if *left == 0 {
                due.push(x.exec_id.clone());
            }
        }
        let (now, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.withheld).into_iter().partition(|(x, _)| due.contains(&x.exec_id));
        self.withheld = later;
        self.executions.extend(now.into_iter().map(|(x, _)| x));
    }

    /// An order from another client (a person at the broker's screen, another program): placed
    /// and filled at the current price at once. Returns its events.
    pub fn external_fill(&mut self, client_id: i32, ticker: &Ticker, side: Side, shares: u32) -> Vec<Event> {
        let id = self.next_valid_id().max(900_000);
        let spec = OrderSpec {
            order_id: id,
            client_id,
            order_ref: String::new(),
            ticker: ticker.clone(),
            side,
            quantity: shares,
            kind: OrderKind::Market,
            parent_id: 0,
            transmit: true,
        };
        self.place(spec)
    }

    /// A position change no execution caused (a transfer in or out, a corporate action); a
    /// transfer out beyond the position leaves a short.
    pub fn adjust_position(&mut self, ticker: &Ticker, delta: i64) {
        let short = self.shorts.remove(ticker).map(|n| n as i64).unwrap_or(0);
        let (held, cost) =
            self.positions.remove(ticker).unwrap_or((0, self.prices.get(ticker).copied().unwrap_or(0.0)));
        let net = held as i64 - short + delta;
        if net > 0 {
            self.positions.insert(ticker.clone(), (net as u32, cost));
        } else if net < 0 {
            self.shorts.insert(ticker.clone(), (-net) as u32);
        }
    }

    /// Fills what the fill model allows now. `fresh` is the order's first look at the market.
    fn try_fill(&mut self, id: i32, fresh: bool) -> Vec<Event> {
        let Some(o) = self.orders.get(&id).cloned() else { return Vec::new() };
        let Some(&px) = self.prices.get(&o.spec.ticker) else { return Vec::new() };
        let side = o.spec.side;
        let fill_at = match o.spec.kind {
            OrderKind::Market => Some(self.costs.fill_price(side, px)),
            OrderKind::Limit(l) => match side {
                Side::Buy if px <= l => Some(l.min(px)),
                Side::Sell if px >= l => Some(l.max(px)),
                _ => None,
            },
            OrderKind::Stop(s) => match side {
                Side::Sell if px <= s => Some(px),
                Side::Buy if px >= s => Some(px),
                _ => None,
            },
            OrderKind::TrailPct(f) => {
                let w = o.watermark.unwrap_or(px);
                let w = if side == Side::Sell { w.max(px) } else { w.min(px) };
                let hit = if side == Side::Sell { px <= w * (1.0 - f) } else { px >= w * (1.0 + f) };
                if let Some(o) = self.orders.get_mut(&id) {
                    o.watermark = Some(w);
                }
                hit.then_some(px)
            }
        };
        let Some(price) = fill_at else { return Vec::new() };
        let remaining = o.remaining();
        let shares = match (self.faults.partial_fraction, o.spec.kind, fresh) {
            (Some(f), OrderKind::Market, true) => {
                if let Some(o) = self.orders.get_mut(&id) {
                    o.wait_steps = self.faults.partial_rest_delay;
                }
                ((remaining as f64 * f).floor() as u32).clamp(1, remaining)
            }
            _ => remaining,
        };
        self.execute(id, shares, price)
    }

    fn execute(&mut self, id: i32, shares: u32, price: f64) -> Vec<Event> {
        let commission = self.costs.commission(shares);
        let Some(o) = self.orders.get_mut(&id) else { return Vec::new() };
        let t = o.spec.ticker.clone();
        let side = o.spec.side;
        o.avg_price = (o.avg_price * o.filled as f64 + price * shares as f64) / (o.filled + shares) as f64;
        o.filled += shares;
        o.last_price = price;
        if o.filled == o.spec.quantity {
            o.status = Status::Filled;
        }
        let exec = Execution {
            exec_id: format!("{:08x}.{:08x}.01.01", o.perm_id, self.executions.len() + 1),
            order_id: id,
            client_id: o.spec.client_id,
            perm_id: o.perm_id,
            order_ref: o.spec.order_ref.clone(),
            ticker: t.clone(),
            side,
            shares,
            price,
            cum_qty: o.filled,
            avg_price: o.avg_price,
            commission,
            time: self.now,
        };
        let filled = o.status == Status::Filled;
        let pos = self.positions.entry(t.clone()).or_insert((0, 0.0));
        match side {
            Side::Buy => {
                pos.1 = (pos.1 * pos.0 as f64 + price * shares as f64) / (pos.0 + shares) as f64;
                pos.0 += shares;
                self.cash -= shares as f64 * price + commission;
            }
            Side::Sell => {
                pos.0 = pos.0.saturating_sub(shares);
                self.cash += shares as f64 * price - commission;
            }
        }
        if pos.0 == 0 {
            self.positions.remove(&t);
        }
        self.executions.push(exec.clone());
        let mut events = vec![Event::Exec(exec), Event::Order(id)];
        if filled {
            // A filled parent activates its children.
            let children: Vec<i32> = self
                .orders
                .values()
                .filter(|c| c.spec.parent_id == id && c.status == Status::PreSubmitted)
                .map(|c| c.spec.order_id)
                .collect();
            for c in children {
                if let Some(child) = self.orders.get_mut(&c) {
                    child.status = Status::Submitted;
                }
                events.push(Event::Order(c));
                events.extend(self.try_fill(c, true));
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    fn book() -> Book {
        let now = Utc.with_ymd_and_hms(2010, 3, 1, 14, 30, 0).unwrap();
        let mut b = Book::new("DU0000001", 100_000.0, CostModel::new(5.0, 0.005, 1.0), now);
        b.advance(now, &BTreeMap::from([(t("AAPL"), 100.0), (t("MSFT"), 50.0)]));
        b
    }

    fn spec(id: i32, side: Side, qty: u32, kind: OrderKind) -> OrderSpec {
        OrderSpec {
            order_id: id,
            client_id: 2,
            order_ref: format!("ref-{id}"),
            ticker: t("AAPL"),
            side,
            quantity: qty,
            kind,
            parent_id: 0,
            transmit: true,
        }
    }

    #[test]
    fn execution_ids_of_books_opened_on_different_days_never_repeat() {
        let first_exec = |day: u32| {
            let now = Utc.with_ymd_and_hms(2010, 6, day, 13, 30, 0).unwrap();
            let mut b = Book::new("DU0000001", 1e5, CostModel::new(5.0, 0.005, 1.0), now);
            b.advance(now, &BTreeMap::from([(t("AAPL"), 100.0)]));
            b.place(spec(1, Side::Buy, 10, OrderKind::Market));
            b.executions[0].exec_id.clone()
        };
        // A gateway started each morning: yesterday's first execution id must not come back (the
        // ledger skips an id it holds as already booked, and the fill would be lost).
        assert_ne!(first_exec(7), first_exec(8));
        assert_eq!(first_exec(8), first_exec(8), "deterministic for a day");
    }

    #[test]
    fn market_orders_fill_at_once_with_slippage_and_commission() {
        let mut b = book();
        let ev = b.place(spec(1, Side::Buy, 100, OrderKind::Market));
        assert!(matches!(ev[1], Event::Exec(ref x) if (x.price - 100.05).abs() < 1e-9 && x.commission == 1.0));
        assert_eq!(b.orders[&1].status, Status::Filled);
        assert_eq!(b.positions[&t("AAPL")].0, 100);
        assert!((b.cash - (100_000.0 - 10_005.0 - 1.0)).abs() < 1e-6);
        // Same id again: refused as a duplicate, nothing changes.
        let again = b.place(spec(1, Side::Buy, 100, OrderKind::Market));
        assert!(matches!(again[0], Event::Error { code: 103, .. }));
        assert_eq!(b.positions[&t("AAPL")].0, 100);
    }

    #[test]
    fn never_short_and_never_beyond_cash() {
        let mut b = book();
        assert!(matches!(b.place(spec(1, Side::Sell, 1, OrderKind::Market))[0], Event::Error { code: 201, .. }));
        assert!(matches!(b.place(spec(2, Side::Buy, 5_000, OrderKind::Market))[0], Event::Error { code: 201, .. }));
        assert!(b.positions.is_empty());
    }

    #[test]
    fn partial_fills_complete_at_the_next_step_and_rejects_on_command() {
        let mut b = book();
        b.faults.partial_fraction = Some(0.4);
        b.place(spec(1, Side::Buy, 100, OrderKind::Market));
        assert_eq!((b.orders[&1].status, b.orders[&1].filled), (Status::Submitted, 40));
        let later = b.now + chrono::TimeDelta::minutes(30);
        b.advance(later, &BTreeMap::from([(t("AAPL"), 101.0)]));
        assert_eq!((b.orders[&1].status, b.orders[&1].filled), (Status::Filled, 100));
        b.faults.reject_next = 1;
        assert!(matches!(b.place(spec(2, Side::Sell, 10, OrderKind::Market))[0], Event::Error { code: 201, .. }));
        assert_eq!(b.orders[&2].status, Status::Inactive);
    }

    #[test]
    fn a_bracket_waits_for_its_child_and_the_trailing_stop_follows_the_high() {
        let mut b = book();
        let mut parent = spec(1, Side::Buy, 10, OrderKind::Limit(100.0));
        parent.transmit = false;
        assert_eq!(b.place(parent), vec![Event::Order(1)]);
        assert_eq!(b.orders[&1].status, Status::PreSubmitted);
        let mut child = spec(2, Side::Sell, 10, OrderKind::TrailPct(0.05));
        child.parent_id = 1;
        b.place(child);
        assert_eq!(b.orders[&1].status, Status::Filled, "limit at the market fills");
        assert_eq!(b.orders[&2].status, Status::Submitted, "the protective leg is live");
        let step = |b: &mut Book, px: f64| {
            let now = b.now + chrono::TimeDelta::minutes(30);
            b.advance(now, &BTreeMap::from([(t("AAPL"), px)]))
        };
        step(&mut b, 110.0);
        assert_eq!(b.orders[&2].status, Status::Submitted);
        step(&mut b, 105.0); // 110 × 0.95 = 104.5: not yet
        assert_eq!(b.orders[&2].status, Status::Submitted);
        step(&mut b, 104.0);
        assert_eq!(b.orders[&2].status, Status::Filled);
        assert!(!b.positions.contains_key(&t("AAPL")));
        // Cancelling a finished order is an error, not a change.
        assert!(matches!(b.cancel(2)[0], Event::Error { code: 161, .. }));
    }

    #[test]
    fn day_orders_are_cancelled_at_the_close() {
        let mut b = book();
        b.place(spec(1, Side::Buy, 10, OrderKind::Limit(90.0)));
        let close = b.now + chrono::TimeDelta::hours(6);
        assert_eq!(b.close_day(close), vec![Event::Order(1)]);
        assert_eq!(b.orders[&1].status, Status::Cancelled);
    }
}
