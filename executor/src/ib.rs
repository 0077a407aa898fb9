//! Interactive Brokers through the `ibapi` client: the [`Broker`] the daemon trades with, plus
//! the broker's clock and last prices ([`Venue`]).
//!
//! - **Paper-account guard** ([`guard_account`]): every managed account must be a paper account
//!   (IB paper ids start with "D") unless live trading is configured AND confirmed at the terminal.
//! - **Ids**: the IB order id is reserved before sending and recorded in the ledger; the order
//!   carries alpha-engine's deterministic id as its `orderRef`, which executions and open orders
//!   echo back — that is how reconciliation matches them.
//! - **Pacing**: every request waits its turn so the daemon stays below the configured messages
//!   per second (IB allows 50).
//! - **Market data**: one streaming subscription per watched name (delayed data type 3 by
//!   default); the latest last price is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ae_rules::{ApprovedOrder, OrderPrice};
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use futures::{FutureExt, StreamExt};
use ibapi::Client;
use ibapi::accounts::types::AccountGroup;
use ibapi::accounts::{AccountSummaryResult, PositionUpdate};
use ibapi::contracts::Contract;
use ibapi::market_data::MarketDataType;
use ibapi::market_data::realtime::TickTypes;
use ibapi::orders::{Action, ExecutionFilter, ExecutionSide, Executions, Order, Orders, PlaceOrder};
use ibapi::subscriptions::{Subscription, SubscriptionItem};
use tokio::sync::Mutex;

use crate::broker::{AccountSnapshot, Broker, BrokerAck, BrokerError, BrokerPosition, OpenOrder};
use crate::ledger::Fill;

/// How long one request may take before the broker counts as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the daemon will not trade an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The gateway manages no account.
    #[error("the gateway reports no managed account")]
    NoAccount,
    /// A live account without live mode configured and confirmed.
    #[error(
        "account {0} is not a paper account (paper ids start with \"D\"): refusing to trade. To trade it, set \
         trading.ib.live = true AND confirm at the terminal"
    )]
    NotPaper(String),
}

/// The paper-account guard: the account to trade, or why not. Live accounts pass only with
/// `live` configured and `confirmed` interactively.
pub fn guard_account(accounts: &[String], live: bool, confirmed: bool) -> Result<String, GuardError> {
    let first = accounts.iter().find(|a| !a.trim().is_empty()).ok_or(GuardError::NoAccount)?;
    if let Some(bad) = accounts.iter().find(|a| !a.trim().is_empty() && !a.starts_with('D'))
        && !(live && confirmed)
    {
        return Err(GuardError::NotPaper(bad.clone()));
    }
    Ok(first.trim().to_string())
}

/// Spaces requests so no more than `per_sec` go out in any second.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// A pacer for `per_sec` messages per second.
    pub fn new(per_sec: u32) -> Self {
        Self {
            gap: Duration::from_secs_f64(1.0 / per_sec.max(1) as f64),
            next: Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for the next slot.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = tokio::time::Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + self.gap;
    }
}

/// What the daemon needs beyond a [`Broker`]: the broker's clock and last prices.
#[allow(async_fn_in_trait)]
pub trait Venue: Broker {
    /// The broker's time (a replaying gateway moves its day on each ask).
    async fn now(&self) -> Result<DateTime<Utc>, BrokerError>;
    /// Last prices of `names` (subscribing as needed); names without a price yet are left out.
    async fn last_prices(&self, names: &BTreeSet<Ticker>) -> Result<BTreeMap<Ticker, f64>, BrokerError>;
}

/// A market data subscription and the last price it gave.
type Quote = (Subscription<TickTypes>, Option<f64>);

/// Interactive Brokers.
pub struct IbBroker {
    client: Arc<Client>,
    account: String,
    pacer: Pacer,
    quotes: Mutex<BTreeMap<Ticker, Quote>>,
    /// The next order id this client reserves: the broker's next valid id at connect, raised by
    /// [`Broker::sync_order_ids`] above every id the ledger recorded, so no id is used twice.
    next_id: Mutex<i32>,
}

/// What an IB notice about an order means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderNotice {
    /// Informational (market data farms, warnings, precautionary messages): keep waiting.
    Info,
    /// The order id is already used (code 103).
    Duplicate,
    /// The order was refused (201 and its kin).
    Rejected,
    /// Any other error: the order did not go live; the OMS counts the attempt.
    Error,
}

/// Classifies an IB error/notice code received for an order. IB's codes 2100–2199 and a few
/// others are warnings; 103 is a duplicate id; 201/202/10147/10148 refuse or end the order;
/// anything else addressed to an order is an error it did not go live with.
pub fn classify_order_notice(code: i32) -> OrderNotice {
    match code {
        103 => OrderNotice::Duplicate,
        201 | 202 | 10147 | 10148 => OrderNotice::Rejected,
        399 | 404 | 2100..=2199 | 10090 | 10167 | 10168 | 10197 | 10311 | 10349 => OrderNotice::Info,
        _ => OrderNotice::Error,
    }
}

impl std::fmt::Debug for IbBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IbBroker").field("account", &self.account).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

async fn timed<T>(what: &str, f: impl Future<Output = Result<T, ibapi::Error>>) -> Result<T, BrokerError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unavailable(format!("{what}: {e}"))),
        Err(_) => Err(unavailable(format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))),
    }
}

fn stock(t: &Ticker) -> Contract {
    Contract::stock(t.as_str()).build()
}

impl IbBroker {
    /// Connects as `client_id`, applies the paper-account guard and selects the market data type.
    pub async fn connect(
        address: &str,
        client_id: i32,
        cfg: &ae_shared::config::IbConfig,
        live_confirmed: bool,
    ) -> Result<Self, BrokerError> {
        let client = timed("connect", Client::connect(address, client_id)).await?;
        let accounts = timed("managed accounts", client.managed_accounts()).await?;
        let account =
            guard_account(&accounts, cfg.live, live_confirmed).map_err(|e| BrokerError::Refused(e.to_string()))?;
        let md = match cfg.market_data_type {
            1 => MarketDataType::Realtime,
            2 => MarketDataType::Frozen,
            4 => MarketDataType::DelayedFrozen,
            _ => MarketDataType::Delayed,
        };
        timed("market data type", client.switch_market_data_type(md)).await?;
        let next = client.next_order_id();
        Ok(Self {
            client: Arc::new(client),
            account,
            pacer: Pacer::new(cfg.max_messages_per_sec),
            quotes: Mutex::new(BTreeMap::new()),
            next_id: Mutex::new(next),
        })
    }

    /// The account traded.
    pub fn account_id(&self) -> &str {
        &self.account
    }

    async fn take_id(&self) -> i32 {
        let mut n = self.next_id.lock().await;
        let id = *n;
        *n += 1;
        id
    }

    fn ib_order(&self, o: &ApprovedOrder) -> Order {
        let (order_type, limit_price) = match o.price() {
            OrderPrice::Market => ("MKT", None),
            OrderPrice::Limit(p) => ("LMT", Some(p)),
        };
        Order {
            action: if o.side() == Side::Buy { Action::Buy } else { Action::Sell },
            total_quantity: o.shares() as f64,
            order_type: order_type.into(),
            limit_price,
            order_ref: o.id().to_string(),
            account: self.account.clone(),
            transmit: true,
            ..Order::default()
        }
    }

    /// Waits for the broker's verdict on a placed order: accepted (any working or filled
    /// status), refused (code 201 / Inactive) or already known (code 103).
    async fn verdict(id: &str, mut sub: Subscription<PlaceOrder>) -> Result<BrokerAck, BrokerError> {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            let item = tokio::time::timeout_at(deadline, sub.next())
                .await
                .map_err(|_| unavailable(format!("order {id}: no answer within {REQUEST_TIMEOUT:?}")))?;
            let notice = match item {
                None => return Err(unavailable(format!("order {id}: the connection ended before an answer"))),
                Some(Ok(SubscriptionItem::Data(PlaceOrder::OrderStatus(s)))) => {
                    if s.status.to_string() == "Inactive" {
                        return Err(BrokerError::Rejected { id: id.into(), reason: "inactive at the broker".into() });
                    }
                    return Ok(BrokerAck { broker_order_id: s.order_id.to_string() });
                }
                Some(Ok(SubscriptionItem::Data(PlaceOrder::OpenOrder(d)))) => {
                    if d.order_state.status.to_string() == "Inactive" {
                        continue; // the error with the reason follows
                    }
                    return Ok(BrokerAck { broker_order_id: d.order_id.to_string() });
                }
                Some(Ok(SubscriptionItem::Data(_))) => continue,
                Some(Ok(SubscriptionItem::Notice(n))) => n,
                Some(Err(ibapi::Error::Notice(n))) => n,
                Some(Err(e)) => return Err(unavailable(format!("order {id}: {e}"))),
            };
            match classify_order_notice(notice.code) {
                OrderNotice::Duplicate => return Err(BrokerError::Duplicate { id: id.into() }),
                OrderNotice::Rejected => {
                    return Err(BrokerError::Rejected { id: id.into(), reason: notice.message.clone() });
                }
                OrderNotice::Error => {
                    return Err(BrokerError::OrderError {
                        id: id.into(),
                        code: notice.code,
                        message: notice.message.clone(),
                    });
                }
                OrderNotice::Info => tracing::info!(id, code = notice.code, message = %notice.message, "broker notice"),
            }
        }
    }

    /// An entry with a protective trailing stop at the broker: the parent is held until its
    /// child arrives; the child (a sell of the same shares, `trail_pct` below the high water)
    /// goes live when the parent fills. Returns the two IB order ids.
    pub async fn place_bracket(&self, entry: &ApprovedOrder, trail_pct: f64) -> Result<(i32, i32), BrokerError> {
        if entry.side() != Side::Buy {
            return Err(BrokerError::Refused("a bracket protects a buy".into()));
        }
        let parent_id = self.take_id().await;
        let child_id = self.take_id().await;
        let mut parent = self.ib_order(entry);
        parent.transmit = false;
        let child = Order {
            action: Action::Sell,
            total_quantity: entry.shares() as f64,
            order_type: "TRAIL".into(),
            trailing_percent: Some(trail_pct * 100.0),
            parent_id,
            order_ref: format!("{}:STOP", entry.id()),
            account: self.account.clone(),
            transmit: true,
            ..Order::default()
        };
        let c = stock(entry.ticker());
        self.pacer.wait().await;
        timed("bracket parent", self.client.submit_order(parent_id, &c, &parent)).await?;
        self.pacer.wait().await;
        let sub = timed("bracket stop", self.client.place_order(child_id, &c, &child)).await?;
        Self::verdict(entry.id(), sub).await?;
        Ok((parent_id, child_id))
    }

    async fn open_orders_raw(&self) -> Result<Vec<(OpenOrder, i32)>, BrokerError> {
        self.pacer.wait().await;
        let mut sub = timed("open orders", self.client.all_open_orders()).await?;
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, sub.next()).await {
                Err(_) => return Err(unavailable("open orders: no end within the timeout")),
                Ok(None) => break,
                Ok(Some(Ok(SubscriptionItem::Data(Orders::OrderData(d))))) => {
                    let st = d.order_state.status.to_string();
                    if matches!(st.as_str(), "Filled" | "Cancelled" | "ApiCancelled" | "Inactive") {
                        continue;
                    }
                    let Ok(ticker) = Ticker::new(&d.contract.symbol.to_string()) else {
                        tracing::warn!(symbol = %d.contract.symbol, "an open order on a symbol that is not a ticker: ignored");
                        continue;
                    };
                    let side = match d.order.action {
                        Action::Buy => Side::Buy,
                        Action::Sell | Action::SellShort | Action::SellLong => Side::Sell,
                    };
                    let remaining = (d.order.total_quantity - d.order.filled_quantity).max(0.0).round() as u32;
                    out.push((
                        OpenOrder {
                            order_ref: d.order.order_ref.clone(),
                            broker_order_id: d.order_id.to_string(),
                            ticker,
                            side,
                            remaining,
                        },
                        d.order_id,
                    ));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(unavailable(format!("open orders: {e}"))),
            }
        }
        Ok(out)
    }
}

fn exec_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let (stamp, zone) = s.rsplit_once(' ')?;
    let naive = NaiveDateTime::parse_from_str(stamp.trim(), "%Y%m%d %H:%M:%S").ok()?;
    match zone {
        "UTC" | "GMT" => Some(Utc.from_utc_datetime(&naive)),
        _ => {
            let tz: chrono_tz::Tz = zone.parse().ok()?;
            tz.from_local_datetime(&naive).single().map(|d| d.with_timezone(&Utc))
        }
    }
}

impl Broker for IbBroker {
    async fn account(&self) -> Result<AccountSnapshot, BrokerError> {
        self.pacer.wait().await;
        let group = AccountGroup::from("All");
        let mut sub = timed(
            "account summary",
            self.client.account_summary(&group, &["NetLiquidation", "TotalCashValue", "AccruedDividend"]),
        )
        .await?;
        let (mut cash, mut nav, mut accrued) = (None, None, None);
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, sub.next()).await {
                Err(_) => return Err(unavailable("account summary: no end within the timeout")),
                Ok(None) | Ok(Some(Ok(SubscriptionItem::Data(AccountSummaryResult::End)))) => break,
                Ok(Some(Ok(SubscriptionItem::Data(AccountSummaryResult::Summary(s))))) if s.account == self.account => {
                    let v: Option<f64> = s.value.parse().ok();
                    match s.tag.as_str() {
                        "TotalCashValue" => cash = v,
                        "NetLiquidation" => nav = v,
                        "AccruedDividend" => accrued = v,
                        _ => {}
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(unavailable(format!("account summary: {e}"))),
            }
        }
        drop(sub);
        self.pacer.wait().await;
        let mut sub = timed("positions", self.client.positions()).await?;
        let mut positions = Vec::new();
        let mut shorts = Vec::new();
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, sub.next()).await {
                Err(_) => return Err(unavailable("positions: no end within the timeout")),
                Ok(None) | Ok(Some(Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd)))) => break,
                Ok(Some(Ok(SubscriptionItem::Data(PositionUpdate::Position(p))))) => {
                    if p.account != self.account || p.position == 0.0 {
                        continue;
                    }
                    let ticker = Ticker::new(&p.contract.symbol.to_string())
                        .map_err(|e| BrokerError::State(format!("position symbol: {e}")))?;
                    if p.position < 0.0 {
                        // A long-only account is never short: a break, reported, never hidden.
                        shorts.push((ticker, (-p.position).round() as u32));
                        continue;
                    }
                    positions.push(BrokerPosition {
                        ticker,
                        shares: p.position.round() as u32,
                        avg_cost: p.average_cost,
                    });
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(unavailable(format!("positions: {e}"))),
            }
        }
        let cash = cash.ok_or_else(|| unavailable("account summary without TotalCashValue"))?;
        Ok(AccountSnapshot {
            account_id: self.account.clone(),
            cash,
            positions,
            net_liquidation: nav,
            shorts,
            accrued_dividends: accrued.unwrap_or(0.0),
        })
    }

    async fn reserve_id(&self, _order: &ApprovedOrder) -> Result<Option<String>, BrokerError> {
        Ok(Some(self.take_id().await.to_string()))
    }

    async fn sync_order_ids(&self, floor: Option<i64>) -> Result<(), BrokerError> {
        self.pacer.wait().await;
        let server = timed("next valid id", self.client.next_valid_order_id()).await?;
        let floor = floor.map(|f| f.clamp(i32::MIN as i64, i32::MAX as i64) as i32).unwrap_or(i32::MIN);
        let mut n = self.next_id.lock().await;
        let before = *n;
        *n = before.max(server).max(floor);
        if *n != before {
            tracing::info!(from = before, to = *n, server, "order ids resynchronised above every recorded id");
        }
        Ok(())
    }

    async fn place(&self, order: &ApprovedOrder, reserved: Option<&str>) -> Result<BrokerAck, BrokerError> {
        let id: i32 = match reserved {
            Some(r) => r
                .parse()
                .map_err(|_| BrokerError::State(format!("order {}: broker id {r:?} is not a number", order.id())))?,
            None => self.take_id().await,
        };
        self.pacer.wait().await;
        let sub =
            timed("place order", self.client.place_order(id, &stock(order.ticker()), &self.ib_order(order))).await?;
        // The subscription is dropped after the verdict, so later fills answer `executions()`.
        Self::verdict(order.id(), sub).await
    }

    async fn executions(&self, date: TradingDay) -> Result<Vec<Fill>, BrokerError> {
        self.pacer.wait().await;
        let mut sub = timed("executions", self.client.executions(ExecutionFilter::default())).await?;
        let mut execs: Vec<Fill> = Vec::new();
        let mut commissions: BTreeMap<String, f64> = BTreeMap::new();
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, sub.next()).await {
                Err(_) => return Err(unavailable("executions: no end within the timeout")),
                Ok(None) => break,
                Ok(Some(Ok(SubscriptionItem::Data(Executions::ExecutionData(d))))) => {
                    // Every execution is a fact, ours or not: the ledger books unknown ones as
                    // external orders.
                    let x = d.execution;
                    let at = exec_time(&x.time).unwrap_or_default();
                    let ticker = Ticker::new(&d.contract.symbol.to_string())
                        .map_err(|e| BrokerError::State(format!("execution symbol: {e}")))?;
                    let side = match x.side {
                        ExecutionSide::Bought => Side::Buy,
                        ExecutionSide::Sold => Side::Sell,
                    };
                    execs.push(Fill {
                        exec_id: x.execution_id.clone(),
                        order_id: x.order_reference.clone(),
                        date,
                        ticker,
                        side,
                        shares: x.shares.round() as u32,
                        price: x.price,
                        commission: 0.0,
                        at,
                    });
                }
                Ok(Some(Ok(SubscriptionItem::Data(Executions::CommissionReport(c))))) => {
                    commissions.insert(c.execution_id.clone(), c.commission);
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(unavailable(format!("executions: {e}"))),
            }
        }
        for x in &mut execs {
            x.commission = commissions.get(&x.exec_id).copied().unwrap_or(0.0);
        }
        Ok(execs)
    }

    async fn open_orders(&self) -> Result<Vec<OpenOrder>, BrokerError> {
        Ok(self.open_orders_raw().await?.into_iter().map(|(o, _)| o).collect())
    }

    async fn cancel(&self, order_id: &str) -> Result<(), BrokerError> {
        let Some((_, ib_id)) = self.open_orders_raw().await?.into_iter().find(|(o, _)| o.order_ref == order_id) else {
            return Ok(()); // not working: nothing to cancel
        };
        self.pacer.wait().await;
        let mut sub = timed("cancel", self.client.cancel_order(ib_id, "")).await?;
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, sub.next()).await;
        Ok(())
    }
}

impl Venue for IbBroker {
    async fn now(&self) -> Result<DateTime<Utc>, BrokerError> {
        self.pacer.wait().await;
        let t = timed("server time", self.client.server_time()).await?;
        Utc.timestamp_opt(t.unix_timestamp(), 0).single().ok_or_else(|| unavailable("server time out of range"))
    }

    async fn last_prices(&self, names: &BTreeSet<Ticker>) -> Result<BTreeMap<Ticker, f64>, BrokerError> {
        let mut quotes = self.quotes.lock().await;
        let mut fresh = false;
        for t in names {
            if !quotes.contains_key(t) {
                self.pacer.wait().await;
                let c = stock(t);
                let sub = timed("market data", self.client.market_data(&c).subscribe()).await?;
                quotes.insert(t.clone(), (sub, None));
                fresh = true;
            }
        }
        if fresh {
            // One round trip: the first ticks of the new subscriptions were sent before its answer.
            self.pacer.wait().await;
            timed("managed accounts", self.client.managed_accounts()).await?;
        }
        let mut out = BTreeMap::new();
        for (t, (sub, last)) in quotes.iter_mut() {
            while let Some(Some(item)) = sub.next().now_or_never() {
                match item {
                    Ok(SubscriptionItem::Data(TickTypes::Price(p))) if is_last(&format!("{:?}", p.tick_type)) => {
                        *last = Some(p.price);
                    }
                    Ok(SubscriptionItem::Data(TickTypes::PriceSize(p)))
                        if is_last(&format!("{:?}", p.price_tick_type)) =>
                    {
                        *last = Some(p.price);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(ticker = %t, error = %e, "market data"),
                }
            }
            if names.contains(t)
                && let Some(p) = last
            {
                out.insert(t.clone(), *p);
            }
        }
        Ok(out)
    }
}

fn is_last(tick_type: &str) -> bool {
    matches!(tick_type, "Last" | "DelayedLast")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_account_guard() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(guard_account(&s(&["DU123456"]), false, false), Ok("DU123456".into()));
        assert_eq!(guard_account(&s(&["U1234567"]), false, false), Err(GuardError::NotPaper("U1234567".into())));
        assert_eq!(
            guard_account(&s(&["U1234567"]), true, false),
            Err(GuardError::NotPaper("U1234567".into())),
            "configured but not confirmed"
        );
        assert_eq!(
            guard_account(&s(&["U1234567"]), false, true),
            Err(GuardError::NotPaper("U1234567".into())),
            "confirmed but not configured"
        );
        assert_eq!(guard_account(&s(&["U1234567"]), true, true), Ok("U1234567".into()));
        assert_eq!(
            guard_account(&s(&["DU1", "U2"]), false, false),
            Err(GuardError::NotPaper("U2".into())),
            "any live account in the list"
        );
        assert_eq!(guard_account(&s(&[""]), false, false), Err(GuardError::NoAccount));
    }

    #[tokio::test(start_paused = true)]
    async fn the_pacer_keeps_below_the_rate() {
        let p = Pacer::new(40);
        let start = tokio::time::Instant::now();
        for _ in 0..81 {
            p.wait().await;
        }
        // 81 messages at 40/s need at least two seconds of (virtual) time.
        assert!(tokio::time::Instant::now() - start >= Duration::from_secs(2));
    }

    #[test]
    fn order_notices_are_classified_by_code() {
        let cases = [
            (103, OrderNotice::Duplicate), // TC1: the id is used
            (201, OrderNotice::Rejected),  // TC2: refused
            (202, OrderNotice::Rejected),  // TC3: cancelled
            (2104, OrderNotice::Info),     // TC4: market data farm OK
            (399, OrderNotice::Info),      // TC5: precautionary warning
            (10168, OrderNotice::Info),    // TC6: delayed data notice
            (110, OrderNotice::Error),     // TC7: price does not conform: the order did not go live
            (10999, OrderNotice::Error),   // TC8: a code nobody told us about
        ];
        for (code, want) in cases {
            assert_eq!(classify_order_notice(code), want, "code {code}");
        }
    }

    #[test]
    fn execution_times_parse_in_their_zone() {
        assert_eq!(exec_time("20100301 14:30:00 UTC").unwrap().to_rfc3339(), "2010-03-01T14:30:00+00:00");
        assert_eq!(exec_time("20100301 09:30:00 US/Eastern").unwrap().to_rfc3339(), "2010-03-01T14:30:00+00:00");
        assert!(exec_time("garbage").is_none());
    }
}
