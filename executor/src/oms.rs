//! Order states and the only transitions between them.
//!
//! `pending` (written ahead, not yet sent) → `submitted` (handed to the broker) → `acknowledged`
//! (the broker accepted it) → `partial` → `filled`, or `cancelled` / `rejected` / `expired`.
//! Terminal states never change again; a fill may arrive before its acknowledgement (brokers do
//! that), and a duplicate event is a no-op, never an error.

use std::fmt;
use std::str::FromStr;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Recorded in the ledger, not yet sent.
    Pending,
    /// Sent to the broker.
    Submitted,
    /// Accepted by the broker.
    Acknowledged,
    /// Partly filled.
    Partial,
    /// Completely filled.
    Filled,
    /// Cancelled.
    Cancelled,
    /// Refused by the broker.
    Rejected,
    /// Ran out of time (day orders at the close).
    Expired,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// Handed to the broker.
    Submit,
    /// The broker accepted it.
    Ack,
    /// Some shares filled, not all.
    PartialFill,
    /// The last shares filled.
    Fill,
    /// Cancelled.
    Cancel,
    /// Refused.
    Reject,
    /// Expired.
    Expire,
}

/// A transition the state table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order in state {from} cannot take event {event:?}")]
pub struct InvalidTransition {
    /// State before.
    pub from: OrderState,
    /// The event.
    pub event: OrderEvent,
}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 8] = [
        OrderState::Pending,
        OrderState::Submitted,
        OrderState::Acknowledged,
        OrderState::Partial,
        OrderState::Filled,
        OrderState::Cancelled,
        OrderState::Rejected,
        OrderState::Expired,
    ];

    /// No further change is possible.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Filled | OrderState::Cancelled | OrderState::Rejected | OrderState::Expired)
    }

    /// Still able to fill (counts against held shares for sells, against cash for buys).
    pub fn is_working(self) -> bool {
        !self.is_terminal()
    }

    /// The state after `event` (exhaustive table).
    pub fn on(self, event: OrderEvent) -> Result<OrderState, InvalidTransition> {
        use OrderEvent as E;
        use OrderState as S;
        let next = match (self, event) {
            (S::Pending, E::Submit) => S::Submitted,
            (S::Pending, E::Reject) => S::Rejected,
            (S::Pending, E::Cancel) => S::Cancelled,
            (S::Submitted | S::Acknowledged, E::Ack) => S::Acknowledged,
            (S::Submitted | S::Acknowledged | S::Partial, E::PartialFill) => S::Partial,
            (S::Submitted | S::Acknowledged | S::Partial, E::Fill) => S::Filled,
            (S::Submitted | S::Acknowledged | S::Partial, E::Cancel) => S::Cancelled,
            (S::Submitted | S::Acknowledged, E::Reject) => S::Rejected,
            (S::Submitted | S::Acknowledged | S::Partial, E::Expire) => S::Expired,
            (S::Partial, E::Ack) => S::Partial,
            // Duplicates of a terminal outcome are no-ops.
            (S::Filled, E::Fill) | (S::Cancelled, E::Cancel) | (S::Rejected, E::Reject) | (S::Expired, E::Expire) => {
                self
            }
            (S::Pending, E::Ack | E::PartialFill | E::Fill | E::Expire)
            | (S::Submitted | S::Acknowledged, E::Submit)
            | (S::Partial, E::Submit | E::Reject)
            | (S::Filled, _)
            | (S::Cancelled, _)
            | (S::Rejected, _)
            | (S::Expired, _) => return Err(InvalidTransition { from: self, event }),
        };
        Ok(next)
    }

    /// Lower-case name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Submitted => "submitted",
            OrderState::Acknowledged => "acknowledged",
            OrderState::Partial => "partial",
            OrderState::Filled => "filled",
            OrderState::Cancelled => "cancelled",
            OrderState::Rejected => "rejected",
            OrderState::Expired => "expired",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for OrderState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OrderState::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| format!("{s:?} is not an order state"))
    }
}

/// What sending an order came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Recorded, sent and acknowledged.
    Acknowledged {
        /// The broker's id.
        broker_order_id: String,
    },
    /// The id was already in the ledger: not sent again (restart or retry).
    AlreadyKnown {
        /// Its state.
        state: OrderState,
    },
    /// The broker refused it; the ledger says so.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// Sends one risk-approved order: write-ahead record, the broker's id reserved and recorded with
/// the `submitted` state, then the broker, then the outcome — so a crash at any point leaves
/// either no order or a recorded one that is never sent twice ([`reconcile`] settles it).
pub async fn send<B: crate::broker::Broker>(
    ledger: &crate::ledger::Ledger,
    broker: &B,
    order: &ae_rules::ApprovedOrder,
    date: ae_shared::TradingDay,
    clock: &dyn ae_shared::clock::Clock,
) -> Result<Sent, crate::ExecError> {
    use crate::ledger::WriteAhead;
    if let WriteAhead::Existing(row) = ledger.write_ahead(order, date, clock.now())? {
        tracing::info!(id = order.id(), state = %row.state, "already recorded: not sent again");
        return Ok(Sent::AlreadyKnown { state: row.state });
    }
    submit(ledger, broker, order, clock).await
}

/// The `pending` → `submitted` → broker part of [`send`], for an order already written ahead.
async fn submit<B: crate::broker::Broker>(
    ledger: &crate::ledger::Ledger,
    broker: &B,
    order: &ae_rules::ApprovedOrder,
    clock: &dyn ae_shared::clock::Clock,
) -> Result<Sent, crate::ExecError> {
    let reserved = broker.reserve_id(order).await?;
    ledger.transition(order.id(), OrderEvent::Submit, reserved.as_deref(), None, clock.now())?;
    place(ledger, broker, order, reserved.as_deref(), clock).await
}

async fn place<B: crate::broker::Broker>(
    ledger: &crate::ledger::Ledger,
    broker: &B,
    order: &ae_rules::ApprovedOrder,
    reserved: Option<&str>,
    clock: &dyn ae_shared::clock::Clock,
) -> Result<Sent, crate::ExecError> {
    use crate::broker::BrokerError;
    match broker.place(order, reserved).await {
        Ok(ack) => {
            let state = ledger.order(order.id())?.map(|r| r.state);
            // A fill may already have been booked by a concurrent sync; the ack is then implied.
            if matches!(state, Some(OrderState::Submitted)) {
                ledger.transition(order.id(), OrderEvent::Ack, Some(&ack.broker_order_id), None, clock.now())?;
            }
            Ok(Sent::Acknowledged { broker_order_id: ack.broker_order_id })
        }
        Err(BrokerError::Rejected { reason, .. }) => {
            ledger.transition(order.id(), OrderEvent::Reject, None, Some(&reason), clock.now())?;
            tracing::warn!(id = order.id(), %reason, "rejected by the broker");
            Ok(Sent::Rejected { reason })
        }
        // Unknown outcome: the order stays `submitted`; reconciliation decides what happened.
        Err(e) => Err(e.into()),
    }
}

/// What a reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Reconciled {
    /// Executions booked that the ledger did not have.
    pub fills_booked: usize,
    /// Orders the broker has working.
    pub working_at_broker: usize,
    /// Recorded orders that never reached the broker, sent now under their recorded ids.
    pub resent: Vec<String>,
    /// Recorded orders the broker knows but no longer works and never filled (refused or
    /// cancelled at the broker): closed in the ledger.
    pub closed: Vec<String>,
    /// Positions where the ledger and the broker disagree after booking (ticker, ledger, broker).
    pub position_breaks: Vec<(String, u32, u32)>,
}

/// On every (re)connect, before anything new is sent: book the day's executions, match every
/// recorded order of the day that is still open in the ledger with the broker's working orders,
/// send the ones that never arrived (same ids), close the ones the broker no longer works, and
/// compare positions.
pub async fn reconcile<B: crate::broker::Broker>(
    ledger: &mut crate::ledger::Ledger,
    broker: &B,
    date: ae_shared::TradingDay,
    sectors: &ae_shared::store::SectorMap,
    clock: &dyn ae_shared::clock::Clock,
) -> Result<Reconciled, crate::ExecError> {
    use crate::broker::BrokerError;
    let mut out = Reconciled { fills_booked: sync_fills(ledger, broker, date, sectors).await?, ..Default::default() };
    let open: std::collections::BTreeSet<String> = broker.open_orders().await?.into_iter().collect();
    out.working_at_broker = open.len();
    let account = broker.account().await?;
    for row in ledger.orders_on(date)?.into_iter().filter(|o| o.state.is_working()) {
        if open.contains(&row.id) {
            if row.state == OrderState::Submitted {
                ledger.transition(&row.id, OrderEvent::Ack, None, None, clock.now())?;
            }
            continue;
        }
        if row.filled_shares > 0 && row.state == OrderState::Partial {
            // Partly filled and no longer working: the rest was cancelled at the broker.
            ledger.transition(&row.id, OrderEvent::Cancel, None, Some("rest cancelled at the broker"), clock.now())?;
            out.closed.push(row.id.clone());
            continue;
        }
        match row.state {
            OrderState::Pending | OrderState::Submitted => {
                let reasons: Vec<ae_rules::Reason> = serde_json::from_str::<Vec<String>>(&row.reasons)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| ae_rules::Reason::from_code(c))
                    .collect();
                let other_sells: u32 = ledger
                    .working_orders()?
                    .iter()
                    .filter(|o| {
                        o.id != row.id && o.ticker == row.ticker && o.side == ae_shared::contracts::common::Side::Sell
                    })
                    .map(|o| o.remaining())
                    .sum();
                let recorded = ae_rules::order::Recorded {
                    id: &row.id,
                    ticker: &row.ticker,
                    side: row.side,
                    shares: row.shares,
                    price: match row.limit_price {
                        Some(p) if row.order_type == "LMT" => ae_rules::OrderPrice::Limit(p),
                        _ => ae_rules::OrderPrice::Market,
                    },
                    intent: serde_json::from_value(serde_json::Value::String(row.intent.clone()))
                        .unwrap_or(ae_shared::contracts::common::SignalAction::Hold),
                    reasons,
                    reference_price: row.reference_price,
                };
                let order = match ae_rules::order::reissue(&recorded, account.shares_of(&row.ticker), other_sells) {
                    Ok(o) => o,
                    Err(refusal) => {
                        let ev = if row.state == OrderState::Pending { OrderEvent::Cancel } else { OrderEvent::Reject };
                        ledger.transition(&row.id, ev, None, Some(&refusal.to_string()), clock.now())?;
                        out.closed.push(row.id.clone());
                        continue;
                    }
                };
                let result = if row.state == OrderState::Pending {
                    submit(ledger, broker, &order, clock).await
                } else {
                    place(ledger, broker, &order, row.broker_order_id.as_deref(), clock).await
                };
                match result {
                    Ok(_) => out.resent.push(row.id.clone()),
                    Err(crate::ExecError::Broker(BrokerError::Duplicate { .. })) => {
                        // It did arrive, and it is neither working nor filled: refused or cancelled.
                        ledger.transition(
                            &row.id,
                            OrderEvent::Cancel,
                            None,
                            Some("known to the broker, not working, never filled"),
                            clock.now(),
                        )?;
                        out.closed.push(row.id.clone());
                    }
                    Err(e) => return Err(e),
                }
            }
            OrderState::Acknowledged => {
                ledger.transition(
                    &row.id,
                    OrderEvent::Cancel,
                    None,
                    Some("no longer working at the broker"),
                    clock.now(),
                )?;
                out.closed.push(row.id.clone());
            }
            _ => {}
        }
    }
    // Book anything the re-sent orders filled, then compare positions.
    out.fills_booked += sync_fills(ledger, broker, date, sectors).await?;
    let account = broker.account().await?;
    let ledger_pos: std::collections::BTreeMap<String, u32> =
        ledger.positions()?.into_iter().map(|p| (p.ticker.as_str().to_string(), p.shares)).collect();
    let mut names: std::collections::BTreeSet<String> = ledger_pos.keys().cloned().collect();
    names.extend(account.positions.iter().map(|p| p.ticker.as_str().to_string()));
    for n in names {
        let l = ledger_pos.get(&n).copied().unwrap_or(0);
        let b = account.positions.iter().find(|p| p.ticker.as_str() == n).map(|p| p.shares).unwrap_or(0);
        if l != b {
            out.position_breaks.push((n, l, b));
        }
    }
    Ok(out)
}

/// Books every execution the broker reports for `date` that the ledger does not have yet.
pub async fn sync_fills<B: crate::broker::Broker>(
    ledger: &mut crate::ledger::Ledger,
    broker: &B,
    date: ae_shared::TradingDay,
    sectors: &ae_shared::store::SectorMap,
) -> Result<usize, crate::ExecError> {
    let mut booked = 0;
    for x in broker.executions(date).await? {
        let fill = crate::ledger::Fill {
            exec_id: x.exec_id,
            order_id: x.order_id,
            date: x.date,
            ticker: x.ticker.clone(),
            side: x.side,
            shares: x.shares,
            price: x.price,
            commission: x.commission,
            at: x.at,
        };
        let sector = sectors
            .sector(x.ticker.as_str())
            .and_then(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)));
        if ledger.record_fill(&fill, sector.as_deref())? {
            booked += 1;
        }
    }
    Ok(booked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_table() {
        use OrderEvent as E;
        use OrderState as S;
        let ok = [
            (S::Pending, E::Submit, S::Submitted),
            (S::Submitted, E::Ack, S::Acknowledged),
            (S::Acknowledged, E::PartialFill, S::Partial),
            (S::Partial, E::PartialFill, S::Partial),
            (S::Partial, E::Fill, S::Filled),
            (S::Submitted, E::Fill, S::Filled), // a fill before its ack
            (S::Acknowledged, E::Cancel, S::Cancelled),
            (S::Partial, E::Expire, S::Expired),
            (S::Submitted, E::Reject, S::Rejected),
            (S::Filled, E::Fill, S::Filled), // duplicate: no-op
        ];
        for (from, ev, to) in ok {
            assert_eq!(from.on(ev), Ok(to), "{from} + {ev:?}");
        }
        let bad = [
            (S::Pending, E::Fill),
            (S::Filled, E::Cancel),
            (S::Cancelled, E::Fill),
            (S::Partial, E::Reject),
            (S::Rejected, E::Submit),
        ];
        for (from, ev) in bad {
            assert!(from.on(ev).is_err(), "{from} + {ev:?} must be refused");
        }
        // Terminal states accept nothing new.
        for s in OrderState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for ev in [E::Submit, E::Ack, E::PartialFill] {
                assert!(s.on(ev).is_err());
            }
            assert_eq!(s.as_str().parse::<OrderState>(), Ok(s));
        }
    }
}
