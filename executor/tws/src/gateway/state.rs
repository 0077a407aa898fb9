//! The gateway's shared state — the book, the day's moments, the connections and the faults —
//! and the replay clock: stepping to the next moment and reporting book events to the clients
//! that own them.

use std::collections::{BTreeMap, BTreeSet};

use ae_core::types::Ticker;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::config::{Faults, Moment};
use super::replies::{error, execution_bodies, open_order, position_body, tick_bodies};
use crate::book::{Book, Event};
use crate::wire;

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) client_id: i32,
    pub(super) tx: mpsc::UnboundedSender<Outgoing>,
    pub(super) ticks: BTreeMap<i32, Ticker>,
    pub(super) positions: bool,
    pub(super) received: u64,
    /// Whether this connection has asked the time yet: its first ask shows the current moment
    /// again (a client that reconnects, or restarts, sees the moment it was in; the replay never
    /// skips a moment because a client died).
    pub(super) saw_time: bool,
}

#[derive(Debug)]
pub(super) enum Outgoing {
    Body(Vec<u8>),
    Drop,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) book: Book,
    pub(super) moments: Vec<Moment>,
    pub(super) at: Option<usize>,
    pub(super) conns: BTreeMap<u64, Conn>,
    pub(super) next_conn: u64,
    pub(super) faults: Faults,
    pub(super) messages: u64,
    pub(super) log: Vec<String>,
    pub(super) held: bool,
    pub(super) duplicate_ids_refused: u64,
}

pub(super) fn send(s: &State, conn_id: u64, body: Vec<u8>) {
    if let Some(c) = s.conns.get(&conn_id) {
        let _ = c.tx.send(Outgoing::Body(body));
    }
}

/// Reports book events to the clients that own the orders (and positions to subscribers).
pub(super) fn dispatch(s: &mut State, events: Vec<Event>) {
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

/// Moves the replay to its next moment.
pub(super) fn step(s: &mut State) {
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
pub(super) fn advance_for(s: &mut State, conn_id: u64) {
    let first = s.conns.get_mut(&conn_id).map(|c| !std::mem::replace(&mut c.saw_time, true)).unwrap_or(false);
    if !(first && s.at.is_some()) {
        step(s);
    }
}

pub(super) fn now_of(s: &State) -> DateTime<Utc> {
    s.at.and_then(|i| s.moments.get(i)).map(|m| m.at).unwrap_or(s.book.now)
}
