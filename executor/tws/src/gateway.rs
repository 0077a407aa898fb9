//! The local paper gateway: a TCP server on loopback that speaks the TWS wire protocol
//! ([`crate::wire`]) to the real `ibapi` client, trades a paper account ([`crate::book`]) and
//! replays a trading day from daily bars.
//!
//! **Replay clock (lockstep).** The day is a list of moments: the pre-open (09:25), the four ticks
//! of each bar's path ([`ae_rules::bar_path::bar_ticks`]: open, the extreme nearer the open, the
//! other extreme, one minute before the close), then the close. Every `reqCurrentTime` moves the
//! gateway to the next moment — prices step, working orders are checked, subscribed names tick —
//! and only then answers with that moment's time. A client that reads its clock from the broker
//! (the daemon does) therefore sees every moment exactly once, however fast or slow it runs; after
//! the close the clock stays at the close. A connection's first time request once the day has
//! begun answers the current moment without moving on: a daemon that reconnects, or is killed
//! and restarted, is back within the same moment — the replay never skips a moment because a
//! client died (a live day would lose only the seconds of the restart).
//!
//! **Faults on command** (for tests): drop a client's connection after it has sent n more
//! messages, drop it right after the next fill's execution report, delay acknowledgements, fill
//! market orders partially, reject the next orders or answer them with an unknown error code, let
//! a fill win the race against a cancel, report a fill at the bell after the order's expiry
//! ([`Faults`], [`crate::book::OrderFaults`], [`Gateway::faults`]); another client's fills
//! ([`Gateway::external_fill`]) and a position moved without an execution
//! ([`Gateway::adjust_position`]); and holding the replay at a moment ([`Gateway::release`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ae_core::TradingDay;
use ae_core::contracts::common::Side;
use ae_core::types::Ticker;
use chrono::{DateTime, NaiveTime, Utc};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::book::{Book, Event, OrderKind, OrderSpec, Status};
use crate::wire::{self, ClientRequest, ServerMessage};

/// Faults the gateway injects on command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Drop the connection once it has sent this many more messages.
    pub drop_after_messages: Option<u64>,
    /// Drop the connection right after sending the next execution report (the order status and
    /// commission that follow are lost with it; `reqExecutions` recovers them).
    pub drop_after_next_fill: bool,
    /// Wait this long before answering a new order.
    pub ack_delay: Option<Duration>,
    /// Lose the next order with the connection: it is never processed (the order the daemon
    /// recorded never reached the broker; reconciliation must send it again, once).
    pub lose_next_order: bool,
    /// Hold the replay before it moves to this moment (index into the day's moments) until
    /// [`Gateway::release`]: lets a test act at a known point of the day (set the kill switch, ...).
    pub hold_before_moment: Option<usize>,
}

/// One moment of the replayed day.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// When.
    pub at: DateTime<Utc>,
    /// Prices at that moment (empty before the open).
    pub prices: BTreeMap<Ticker, f64>,
    /// The close: working day orders are cancelled.
    pub close: bool,
}

/// What the gateway replays and trades.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Managed account ("D…" for paper).
    pub account: String,
    /// Starting cash.
    pub cash: f64,
    /// Starting positions (shares, average cost).
    pub positions: BTreeMap<Ticker, (u32, f64)>,
    /// Costs of the fill model.
    pub costs: ae_rules::costs::CostModel,
    /// The day.
    pub moments: Vec<Moment>,
    /// Splits effective at today's open (ratio new shares per old): the broker moves the
    /// starting positions overnight.
    pub splits: BTreeMap<Ticker, f64>,
    /// The session's date, for dividends (`None`: no dividends are settled).
    pub date: Option<chrono::NaiveDate>,
    /// Dividends accrued before the day and not yet paid (the account's receivable).
    pub accrued_dividends: Vec<ae_rules::dividends::Accrual>,
    /// Cash dividends the vendor announced (those going ex on `date` accrue at the open).
    pub dividends: Vec<ae_rules::dividends::DividendEvent>,
}

impl GatewayConfig {
    /// The moments of `date` from four-tick bar paths: pre-open, the four ticks, the close.
    pub fn moments_from_paths(
        date: TradingDay,
        paths: &BTreeMap<Ticker, [ae_rules::intraday::Tick; 4]>,
        close: NaiveTime,
    ) -> Vec<Moment> {
        let at = |t: NaiveTime| ae_core::calendar::et_instant(date.date(), t);
        let pre = NaiveTime::from_hms_opt(9, 25, 0).expect("time");
        let mut out = vec![Moment { at: at(pre), prices: BTreeMap::new(), close: false }];
        for k in 0..4 {
            let time = paths.values().next().map(|p| p[k].time).unwrap_or(close);
            out.push(Moment {
                at: at(time),
                prices: paths.iter().map(|(t, p)| (t.clone(), p[k].price)).collect(),
                close: false,
            });
        }
        out.push(Moment { at: at(close), prices: BTreeMap::new(), close: true });
        out
    }
}

#[derive(Debug)]
struct Conn {
    client_id: i32,
    tx: mpsc::UnboundedSender<Outgoing>,
    ticks: BTreeMap<i32, Ticker>,
    positions: bool,
    received: u64,
    /// Whether this connection has asked the time yet: its first ask shows the current moment
    /// again (a client that reconnects, or restarts, sees the moment it was in; the replay never
    /// skips a moment because a client died).
    saw_time: bool,
}

#[derive(Debug)]
enum Outgoing {
    Body(Vec<u8>),
    Drop,
}

#[derive(Debug)]
struct State {
    book: Book,
    moments: Vec<Moment>,
    at: Option<usize>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    faults: Faults,
    messages: u64,
    log: Vec<String>,
    held: bool,
    duplicate_ids_refused: u64,
}

/// A running gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    release: Arc<tokio::sync::Notify>,
}

/// What the gateway holds, for comparing with the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewaySnapshot {
    /// Cash.
    pub cash: f64,
    /// Positions: shares.
    pub positions: BTreeMap<Ticker, u32>,
    /// Orders: (order ref, status, filled).
    pub orders: Vec<(String, String, u32)>,
    /// Execution ids.
    pub executions: Vec<String>,
    /// Short positions (shares below zero, as a count).
    pub shorts: BTreeMap<Ticker, u32>,
    /// Orders refused because their id was already used (code 103).
    pub duplicate_ids_refused: u64,
    /// Client messages received in all.
    pub messages: u64,
}

impl Gateway {
    /// Starts on `addr` (use port 0 for any free port).
    pub async fn start(addr: &str, cfg: GatewayConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let now = cfg.moments.first().map(|m| m.at).unwrap_or_default();
        let mut book = Book::new(&cfg.account, cfg.cash, cfg.costs, now);
        book.positions = cfg.positions;
        for (t, ratio) in &cfg.splits {
            if let Some((n, avg)) = book.positions.get_mut(t) {
                *n = (*n as f64 * ratio).round() as u32;
                *avg /= ratio;
            }
        }
        book.accrued_dividends = cfg.accrued_dividends;
        if let Some(d) = cfg.date {
            book.settle_dividends(d, &cfg.dividends);
        }
        let state = Arc::new(Mutex::new(State {
            book,
            moments: cfg.moments,
            at: None,
            conns: BTreeMap::new(),
            next_conn: 0,
            faults: Faults::default(),
            messages: 0,
            log: Vec::new(),
            held: false,
            duplicate_ids_refused: 0,
        }));
        let gw = Self { addr, state, release: Arc::new(tokio::sync::Notify::new()) };
        let accept = gw.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let g = accept.clone();
                tokio::spawn(async move {
                    if let Err(e) = g.serve(sock).await {
                        tracing::debug!(error = %e, "gateway connection ended");
                    }
                });
            }
        });
        Ok(gw)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets faults.
    pub fn faults(&self, f: impl FnOnce(&mut Faults, &mut crate::book::OrderFaults)) {
        let mut s = self.lock();
        let State { faults, book, .. } = &mut *s;
        f(faults, &mut book.faults);
    }

    /// The account, orders and executions now.
    pub fn snapshot(&self) -> GatewaySnapshot {
        let s = self.lock();
        GatewaySnapshot {
            cash: s.book.cash,
            positions: s.book.positions.iter().map(|(t, (n, _))| (t.clone(), *n)).collect(),
            orders: s
                .book
                .orders
                .values()
                .map(|o| (o.spec.order_ref.clone(), o.status.as_str().to_string(), o.filled))
                .collect(),
            executions: s.book.executions.iter().map(|x| x.exec_id.clone()).collect(),
            shorts: s.book.shorts.clone(),
            duplicate_ids_refused: s.duplicate_ids_refused,
            messages: s.messages,
        }
    }

    /// An order from another client of the account (a person at the broker's screen, another
    /// program), filled at once at the current price; its executions carry no alpha-engine id.
    pub fn external_fill(&self, client_id: i32, ticker: &Ticker, side: Side, shares: u32) {
        let mut s = self.lock();
        let events = s.book.external_fill(client_id, ticker, side, shares);
        dispatch(&mut s, events);
    }

    /// Moves a position without an execution (a transfer, a corporate action).
    pub fn adjust_position(&self, ticker: &Ticker, delta: i64) {
        self.lock().book.adjust_position(ticker, delta);
    }

    /// Whether the replay is held before [`Faults::hold_before_moment`].
    pub fn is_held(&self) -> bool {
        self.lock().held
    }

    /// Waits until the replay is held (polling; for tests).
    pub async fn wait_held(&self) {
        while !self.is_held() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Lets a held replay move on.
    pub fn release(&self) {
        self.lock().held = false;
        self.release.notify_waiters();
        self.release.notify_one();
    }

    /// Client messages received so far.
    pub fn messages(&self) -> u64 {
        self.lock().messages
    }

    /// Requests seen, in order (message names), for tests.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Whether the replayed day has reached its close.
    pub fn closed(&self) -> bool {
        let s = self.lock();
        s.at.is_some_and(|i| s.moments.get(i).is_some_and(|m| m.close))
    }

    async fn serve(&self, sock: TcpStream) -> Result<(), wire::WireError> {
        sock.set_nodelay(true).ok();
        let (mut rd, mut wr) = sock.into_split();
        let hello = wire::read_client_hello(&mut rd).await?;
        let version = hello.negotiate()?;
        let now = {
            let s = self.lock();
            s.at.and_then(|i| s.moments.get(i)).or(s.moments.first()).map(|m| m.at).unwrap_or_default()
        };
        wire::write_handshake_reply(&mut wr, version, &wire::format_connection_time(now)).await?;
        let Some(body) = wire::read_frame(&mut rd).await? else { return Ok(()) };
        let start = wire::StartApi::from_body(&body)?;
        let client_id = start.client_id.unwrap_or(0);
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let conn_id = {
            let mut s = self.lock();
            if s.conns.values().any(|c| c.client_id == client_id) {
                let _ = tx.send(Outgoing::Body(error(
                    -1,
                    wire::error_code::CLIENT_ID_IN_USE,
                    "client id is already in use",
                )));
            }
            s.next_conn += 1;
            let id = s.next_conn;
            let next = s.book.next_valid_id();
            let accounts = s.book.account.clone();
            s.conns.insert(
                id,
                Conn {
                    client_id,
                    tx: tx.clone(),
                    ticks: BTreeMap::new(),
                    positions: false,
                    received: 0,
                    saw_time: false,
                },
            );
            let _ = tx.send(Outgoing::Body(wire::NextValidId { order_id: Some(next) }.to_body()));
            let _ = tx.send(Outgoing::Body(wire::ManagedAccounts { accounts: Some(accounts) }.to_body()));
            id
        };
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Outgoing::Body(b) => {
                        if wire::write_frame(&mut wr, &b).await.is_err() {
                            break;
                        }
                    }
                    Outgoing::Drop => {
                        let _ = wr.shutdown().await;
                        break;
                    }
                }
            }
        });
        let result = self.read_loop(conn_id, &mut rd).await;
        {
            let mut s = self.lock();
            s.conns.remove(&conn_id);
        }
        drop(tx);
        writer.abort();
        result
    }

    async fn read_loop(&self, conn_id: u64, rd: &mut tokio::net::tcp::OwnedReadHalf) -> Result<(), wire::WireError> {
        loop {
            let Some(body) = wire::read_frame(rd).await? else { return Ok(()) };
            let delay = {
                let s = self.lock();
                let is_order =
                    wire::split_protobuf(&body).map(|(id, _)| id == wire::in_id::PLACE_ORDER).unwrap_or(false);
                if is_order { s.faults.ack_delay } else { None }
            };
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let hold = {
                let mut s = self.lock();
                let is_time = wire::split_protobuf(&body)
                    .map(|(id, _)| id == wire::in_id::REQ_CURRENT_TIME || id == wire::in_id::REQ_CURRENT_TIME_IN_MILLIS)
                    .unwrap_or(false);
                let next = s.at.map(|i| i + 1).unwrap_or(0);
                let advances = s.at.is_none() || s.conns.get(&conn_id).is_some_and(|c| c.saw_time);
                let hold = is_time && advances && s.faults.hold_before_moment == Some(next);
                if hold {
                    s.faults.hold_before_moment = None;
                    s.held = true;
                }
                hold
            };
            if hold {
                let released = self.release.notified();
                tokio::pin!(released);
                while self.is_held() {
                    tokio::select! {
                        () = &mut released => {}
                        () = tokio::time::sleep(Duration::from_millis(5)) => {}
                    }
                }
            }
            let mut s = self.lock();
            s.messages += 1;
            if s.faults.lose_next_order
                && wire::split_protobuf(&body).map(|(id, _)| id == wire::in_id::PLACE_ORDER).unwrap_or(false)
            {
                s.faults.lose_next_order = false;
                if let Some(c) = s.conns.get(&conn_id) {
                    let _ = c.tx.send(Outgoing::Drop);
                }
                return Ok(());
            }
            let drop_now = {
                let State { conns, faults, .. } = &mut *s;
                let c = conns.get_mut(&conn_id);
                if let Some(c) = c {
                    c.received += 1;
                }
                match faults.drop_after_messages.as_mut() {
                    Some(n) if *n <= 1 => {
                        faults.drop_after_messages = None;
                        true
                    }
                    Some(n) => {
                        *n -= 1;
                        false
                    }
                    None => false,
                }
            };
            if let Err(e) = handle(&mut s, conn_id, &body) {
                tracing::warn!(error = %e, "gateway: bad request");
            }
            if drop_now && let Some(c) = s.conns.get(&conn_id) {
                let _ = c.tx.send(Outgoing::Drop);
                return Ok(());
            }
        }
    }
}

fn error(id: i32, code: i32, message: &str) -> Vec<u8> {
    wire::ErrorMessage {
        id: Some(id),
        time_millis: None,
        code: Some(code),
        message: Some(message.to_string()),
        advanced_reject_json: None,
    }
    .to_body()
}

fn contract(t: &Ticker) -> wire::Contract {
    wire::Contract {
        con_id: Some(con_id(t)),
        symbol: Some(t.as_str().to_string()),
        sec_type: Some("STK".into()),
        exchange: Some("SMART".into()),
        currency: Some("USD".into()),
        ..Default::default()
    }
}

/// A stable contract id per symbol.
fn con_id(t: &Ticker) -> i32 {
    t.as_str().bytes().fold(17i32, |h, b| h.wrapping_mul(31).wrapping_add(b as i32)).abs()
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => wire::side::BUY,
        Side::Sell => wire::side::SELL,
    }
}

fn open_order(book: &Book, id: i32, client_id: i32) -> Option<Vec<Vec<u8>>> {
    let o = book.orders.get(&id)?;
    let (order_type, lmt, aux, trail) = match o.spec.kind {
        OrderKind::Market => ("MKT", None, None, None),
        OrderKind::Limit(p) => ("LMT", Some(p), None, None),
        OrderKind::Stop(p) => ("STP", None, Some(p), None),
        OrderKind::TrailPct(f) => ("TRAIL", None, None, Some(f * 100.0)),
    };
    let order = wire::Order {
        client_id: Some(client_id),
        order_id: Some(id),
        perm_id: Some(o.perm_id as i64),
        parent_id: (o.spec.parent_id != 0).then_some(o.spec.parent_id),
        action: Some(side_str(o.spec.side).into()),
        total_quantity: Some(o.spec.quantity.to_string()),
        order_type: Some(order_type.into()),
        limit_price: lmt,
        aux_price: aux,
        tif: Some("DAY".into()),
        account: Some(book.account.clone()),
        trailing_percent: trail,
        order_ref: Some(o.spec.order_ref.clone()),
        transmit: Some(true),
        filled_quantity: Some(o.filled.to_string()),
        ..Default::default()
    };
    let state = wire::OrderState { status: Some(o.status.as_str().into()), ..Default::default() };
    let status = wire::OrderStatus {
        order_id: Some(id),
        status: Some(o.status.as_str().into()),
        filled: Some(o.filled.to_string()),
        remaining: Some(o.remaining().to_string()),
        avg_fill_price: Some(o.avg_price),
        perm_id: Some(o.perm_id as i64),
        parent_id: Some(o.spec.parent_id),
        last_fill_price: Some(o.last_price),
        client_id: Some(client_id),
        why_held: None,
        mkt_cap_price: None,
    };
    Some(vec![
        wire::OpenOrder {
            order_id: Some(id),
            contract: Some(contract(&o.spec.ticker)),
            order: Some(order),
            state: Some(state),
        }
        .to_body(),
        status.to_body(),
    ])
}

fn execution_bodies(book: &Book, x: &crate::book::Execution, req_id: i32) -> Vec<Vec<u8>> {
    let exec = wire::Execution {
        order_id: Some(x.order_id),
        exec_id: Some(x.exec_id.clone()),
        time: Some(x.time.format("%Y%m%d %H:%M:%S UTC").to_string()),
        account: Some(book.account.clone()),
        exchange: Some("SMART".into()),
        side: Some(if x.side == Side::Buy { wire::side::BOUGHT } else { wire::side::SOLD }.into()),
        shares: Some(x.shares.to_string()),
        price: Some(x.price),
        perm_id: Some(x.perm_id as i64),
        client_id: Some(x.client_id),
        cum_qty: Some(x.cum_qty.to_string()),
        avg_price: Some(x.avg_price),
        order_ref: Some(x.order_ref.clone()),
        last_liquidity: None,
    };
    vec![
        wire::ExecutionData { req_id: Some(req_id), contract: Some(contract(&x.ticker)), execution: Some(exec) }
            .to_body(),
        wire::CommissionReport {
            exec_id: Some(x.exec_id.clone()),
            commission: Some(x.commission),
            currency: Some("USD".into()),
            realized_pnl: Some(wire::UNSET_DOUBLE),
        }
        .to_body(),
    ]
}

fn position_body(book: &Book, t: &Ticker, shares: i64, avg: f64) -> Vec<u8> {
    wire::Position {
        account: Some(book.account.clone()),
        contract: Some(contract(t)),
        quantity: Some(shares.to_string()),
        avg_cost: Some(avg),
    }
    .to_body()
}

fn send(s: &State, conn_id: u64, body: Vec<u8>) {
    if let Some(c) = s.conns.get(&conn_id) {
        let _ = c.tx.send(Outgoing::Body(body));
    }
}

/// Reports book events to the clients that own the orders (and positions to subscribers).
fn dispatch(s: &mut State, events: Vec<Event>) {
    let mut drop_conns = BTreeSet::new();
    let mut touched = BTreeSet::new();
    for ev in events {
        match ev {
            Event::Order(id) => {
                let Some(cid) = s.book.orders.get(&id).map(|o| o.spec.client_id) else { continue };
                let Some(bodies) = open_order(&s.book, id, cid) else { continue };
                for c in s.conns.values().filter(|c| c.client_id == cid) {
                    for b in &bodies {
                        let _ = c.tx.send(Outgoing::Body(b.clone()));
                    }
                }
            }
            Event::Exec(x) => {
                touched.insert(x.ticker.clone());
                let bodies = execution_bodies(&s.book, &x, wire::NO_ID);
                let drop_now = std::mem::take(&mut s.faults.drop_after_next_fill);
                for (id, c) in s.conns.iter().filter(|(_, c)| c.client_id == x.client_id) {
                    let _ = c.tx.send(Outgoing::Body(bodies[0].clone()));
                    if drop_now {
                        let _ = c.tx.send(Outgoing::Drop);
                        drop_conns.insert(*id);
                    } else {
                        let _ = c.tx.send(Outgoing::Body(bodies[1].clone()));
                    }
                }
            }
            Event::Error { id, code, message } => {
                let Some(cid) = s.book.orders.get(&id).map(|o| o.spec.client_id) else { continue };
                for c in s.conns.values().filter(|c| c.client_id == cid) {
                    let _ = c.tx.send(Outgoing::Body(error(id, code, &message)));
                }
            }
        }
    }
    for id in drop_conns {
        s.conns.remove(&id);
    }
    for t in touched {
        let (n, avg) = s.book.positions.get(&t).copied().unwrap_or((0, 0.0));
        let body = position_body(&s.book, &t, n as i64, avg);
        for c in s.conns.values().filter(|c| c.positions) {
            let _ = c.tx.send(Outgoing::Body(body.clone()));
        }
    }
}

fn tick_bodies(req: i32, price: f64) -> Vec<u8> {
    wire::TickPrice {
        req_id: Some(req),
        tick_type: Some(wire::tick_type::DELAYED_LAST),
        price: Some(price),
        size: Some("100".into()),
        attributes: Some(0),
    }
    .to_body()
}

/// Moves the replay to its next moment.
fn step(s: &mut State) {
    let next = s.at.map(|i| (i + 1).min(s.moments.len().saturating_sub(1))).unwrap_or(0);
    if s.at == Some(next) {
        return;
    }
    s.at = Some(next);
    let Some(m) = s.moments.get(next).cloned() else { return };
    let events = if m.close { s.book.close_day(m.at) } else { s.book.advance(m.at, &m.prices) };
    // Ticks first, so a client reading its clock from the gateway has the prices of the moment.
    for c in s.conns.values() {
        for (req, t) in &c.ticks {
            if let Some(p) = m.prices.get(t) {
                let _ = c.tx.send(Outgoing::Body(tick_bodies(*req, *p)));
            }
        }
    }
    dispatch(s, events);
}

/// A time request moves the replay on, except a connection's first one once the day has begun.
fn advance_for(s: &mut State, conn_id: u64) {
    let first = s.conns.get_mut(&conn_id).map(|c| !std::mem::replace(&mut c.saw_time, true)).unwrap_or(false);
    if !(first && s.at.is_some()) {
        step(s);
    }
}

fn now_of(s: &State) -> DateTime<Utc> {
    s.at.and_then(|i| s.moments.get(i)).map(|m| m.at).unwrap_or(s.book.now)
}

fn handle(s: &mut State, conn_id: u64, body: &[u8]) -> Result<(), wire::WireError> {
    use wire::in_id;
    let (id, _) = wire::split_protobuf(body)?;
    let client_id = s.conns.get(&conn_id).map(|c| c.client_id).unwrap_or(0);
    s.log.push(format!("{client_id}:{id}"));
    match id {
        in_id::REQ_CURRENT_TIME => {
            advance_for(s, conn_id);
            let t = now_of(s).timestamp();
            send(s, conn_id, wire::CurrentTime { unix_seconds: Some(t) }.to_body());
        }
        in_id::REQ_CURRENT_TIME_IN_MILLIS => {
            advance_for(s, conn_id);
            let t = now_of(s).timestamp_millis();
            send(s, conn_id, wire::CurrentTimeInMillis { unix_millis: Some(t) }.to_body());
        }
        in_id::REQ_IDS => {
            let next = s.book.next_valid_id();
            send(s, conn_id, wire::NextValidId { order_id: Some(next) }.to_body());
        }
        in_id::REQ_MANAGED_ACCTS => {
            let a = s.book.account.clone();
            send(s, conn_id, wire::ManagedAccounts { accounts: Some(a) }.to_body());
        }
        in_id::REQ_MARKET_DATA_TYPE => {}
        in_id::REQ_MKT_DATA => {
            let r = wire::ReqMktData::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let sym = r.contract.and_then(|c| c.symbol).unwrap_or_default();
            let Ok(t) = Ticker::new(&sym) else {
                send(
                    s,
                    conn_id,
                    error(
                        req,
                        wire::error_code::NO_SECURITY_DEFINITION,
                        "No security definition has been found for the request",
                    ),
                );
                return Ok(());
            };
            let known = s.moments.iter().any(|m| m.prices.contains_key(&t)) || s.book.prices.contains_key(&t);
            if !known {
                send(
                    s,
                    conn_id,
                    error(
                        req,
                        wire::error_code::NO_SECURITY_DEFINITION,
                        "No security definition has been found for the request",
                    ),
                );
                return Ok(());
            }
            send(
                s,
                conn_id,
                wire::MarketDataType { req_id: Some(req), market_data_type: Some(wire::market_data_type::DELAYED) }
                    .to_body(),
            );
            let current = s.at.and_then(|i| s.moments.get(i)).and_then(|m| m.prices.get(&t).copied());
            if let Some(p) = current {
                send(s, conn_id, tick_bodies(req, p));
            }
            if r.snapshot.unwrap_or(false) {
                send(s, conn_id, wire::TickSnapshotEnd { req_id: Some(req) }.to_body());
            } else if let Some(c) = s.conns.get_mut(&conn_id) {
                c.ticks.insert(req, t);
            }
        }
        in_id::CANCEL_MKT_DATA => {
            let r = wire::CancelMktData::from_body(body)?;
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.ticks.remove(&r.req_id.unwrap_or(0));
            }
        }
        in_id::PLACE_ORDER => {
            let r = wire::PlaceOrder::from_body(body)?;
            let order_id = r.order_id.unwrap_or(0);
            let o = r.order.unwrap_or_default();
            let sym = r.contract.and_then(|c| c.symbol).unwrap_or_default();
            let parsed = (|| {
                let ticker = Ticker::new(&sym).map_err(|e| e.to_string())?;
                let side = match o.action.as_deref() {
                    Some("BUY") => Side::Buy,
                    Some("SELL") => Side::Sell,
                    other => return Err(format!("action {other:?} is not traded here")),
                };
                let quantity: f64 =
                    o.total_quantity.as_deref().unwrap_or("0").parse().map_err(|_| "bad quantity".to_string())?;
                if quantity.fract() != 0.0 || quantity < 0.0 {
                    return Err(format!("quantity {quantity} is not whole shares"));
                }
                let kind = match o.order_type.as_deref() {
                    Some("MKT") => OrderKind::Market,
                    Some("LMT") => OrderKind::Limit(o.limit_price.ok_or("LMT without a limit price")?),
                    Some("STP") => OrderKind::Stop(o.aux_price.ok_or("STP without a stop price")?),
                    Some("TRAIL") => {
                        OrderKind::TrailPct(o.trailing_percent.ok_or("TRAIL needs a trailing percent")? / 100.0)
                    }
                    other => return Err(format!("order type {other:?} is not supported")),
                };
                Ok(OrderSpec {
                    order_id,
                    client_id,
                    order_ref: o.order_ref.clone().unwrap_or_default(),
                    ticker,
                    side,
                    quantity: quantity as u32,
                    kind,
                    parent_id: o.parent_id.unwrap_or(0),
                    transmit: o.transmit.unwrap_or(false),
                })
            })();
            match parsed {
                Ok(spec) => {
                    let events = s.book.place(spec);
                    if events.iter().any(|e| matches!(e, Event::Error { code: 103, .. })) {
                        s.duplicate_ids_refused += 1;
                    }
                    // An order answered before it entered the book, or refused as a duplicate id: the answer
                    // goes to its sender.
                    let (direct, events): (Vec<Event>, Vec<Event>) = events.into_iter().partition(|e| {
                        matches!(e, Event::Error { id, code, .. } if *code == 103 || !s.book.orders.contains_key(id))
                    });
                    for e in direct {
                        if let Event::Error { id, code, message } = e {
                            send(s, conn_id, error(id, code, &message));
                        }
                    }
                    // The order's client gets the events even if it is this connection only.
                    dispatch(s, events);
                }
                Err(why) => send(
                    s,
                    conn_id,
                    error(order_id, wire::error_code::ORDER_REJECTED, &format!("Order rejected - reason: {why}")),
                ),
            }
        }
        in_id::CANCEL_ORDER => {
            let r = wire::CancelOrder::from_body(body)?;
            let oid = r.order_id.unwrap_or(0);
            let events = s.book.cancel(oid);
            let cancelled = s.book.orders.get(&oid).is_some_and(|o| o.status == Status::Cancelled);
            dispatch(s, events);
            if cancelled {
                send(s, conn_id, error(oid, wire::error_code::ORDER_CANCELLED, "Order Canceled - reason:"));
            }
        }
        in_id::REQ_GLOBAL_CANCEL => {
            let ids: Vec<i32> =
                s.book.orders.values().filter(|o| o.status.is_working()).map(|o| o.spec.order_id).collect();
            for oid in ids {
                let ev = s.book.cancel(oid);
                dispatch(s, ev);
            }
        }
        in_id::REQ_OPEN_ORDERS | in_id::REQ_ALL_OPEN_ORDERS | in_id::REQ_AUTO_OPEN_ORDERS => {
            let all = id == in_id::REQ_ALL_OPEN_ORDERS;
            let ids: Vec<(i32, i32)> = s
                .book
                .orders
                .values()
                .filter(|o| o.status.is_working() && (all || o.spec.client_id == client_id))
                .map(|o| (o.spec.order_id, o.spec.client_id))
                .collect();
            for (oid, cid) in ids {
                for b in open_order(&s.book, oid, cid).unwrap_or_default() {
                    send(s, conn_id, b);
                }
            }
            send(s, conn_id, wire::OpenOrderEnd {}.to_body());
        }
        in_id::REQ_COMPLETED_ORDERS => {
            let done: Vec<Vec<u8>> = s
                .book
                .orders
                .values()
                .filter(|o| !o.status.is_working())
                .filter_map(|o| {
                    let mut bodies = open_order(&s.book, o.spec.order_id, o.spec.client_id)?;
                    let oo = wire::OpenOrder::from_body(&bodies.remove(0)).ok()?;
                    Some(wire::CompletedOrder { contract: oo.contract, order: oo.order, state: oo.state }.to_body())
                })
                .collect();
            for b in done {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::CompletedOrdersEnd {}.to_body());
        }
        in_id::REQ_EXECUTIONS => {
            s.book.on_executions_request();
            let r = wire::ReqExecutions::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let f = r.filter.unwrap_or_default();
            let bodies: Vec<Vec<u8>> = s
                .book
                .executions
                .iter()
                .filter(|x| f.client_id.is_none_or(|c| c == x.client_id || c == 0))
                .filter(|x| f.symbol.as_deref().is_none_or(|sym| sym.is_empty() || sym == x.ticker.as_str()))
                .flat_map(|x| execution_bodies(&s.book, x, req))
                .collect();
            for b in bodies {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::ExecutionDataEnd { req_id: Some(req) }.to_body());
        }
        in_id::REQ_POSITIONS => {
            let mut bodies: Vec<Vec<u8>> =
                s.book.positions.iter().map(|(t, (n, avg))| position_body(&s.book, t, *n as i64, *avg)).collect();
            bodies.extend(s.book.shorts.iter().map(|(t, n)| position_body(&s.book, t, -(*n as i64), 0.0)));
            for b in bodies {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::PositionEnd {}.to_body());
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.positions = true;
            }
        }
        in_id::CANCEL_POSITIONS => {
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.positions = false;
            }
        }
        in_id::REQ_ACCOUNT_SUMMARY => {
            let r = wire::ReqAccountSummary::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let tags = r.tags.unwrap_or_default();
            let nav = s.book.net_liquidation();
            let cash = s.book.cash;
            for tag in tags.split(',').map(str::trim) {
                let value = match tag {
                    "NetLiquidation" => nav,
                    "TotalCashValue" | "AvailableFunds" | "BuyingPower" | "SettledCash" => cash,
                    "GrossPositionValue" => nav - cash - s.book.accrued_dividend(),
                    "AccruedDividend" => s.book.accrued_dividend(),
                    _ => continue,
                };
                let body = wire::AccountSummary {
                    req_id: Some(req),
                    account: Some(s.book.account.clone()),
                    tag: Some(tag.to_string()),
                    value: Some(format!("{value:.2}")),
                    currency: Some("USD".into()),
                }
                .to_body();
                send(s, conn_id, body);
            }
            send(s, conn_id, wire::AccountSummaryEnd { req_id: Some(req) }.to_body());
        }
        in_id::CANCEL_ACCOUNT_SUMMARY => {}
        other => {
            send(s, conn_id, error(-1, 503, &format!("the paper gateway does not serve message {other}")));
        }
    }
    Ok(())
}
