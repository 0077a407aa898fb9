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

mod config;
mod replies;
mod requests;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ae_core::contracts::common::Side;
use ae_core::types::Ticker;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub use config::{Faults, GatewayConfig, Moment};

use self::replies::error;
use self::requests::handle;
use self::state::{Conn, Outgoing, State, dispatch};
use crate::book::Book;
use crate::wire::{self, ClientRequest, ServerMessage};

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
