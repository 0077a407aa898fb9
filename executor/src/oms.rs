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

/// Sends one risk-approved order: write-ahead record, then the broker, then the outcome — so a
/// crash at any point leaves either no order or a recorded one that is never sent twice.
pub async fn send<B: crate::broker::Broker>(
    ledger: &crate::ledger::Ledger,
    broker: &B,
    order: &ae_rules::ApprovedOrder,
    date: ae_shared::TradingDay,
    clock: &dyn ae_shared::clock::Clock,
) -> Result<Sent, crate::ExecError> {
    use crate::broker::BrokerError;
    use crate::ledger::WriteAhead;
    if let WriteAhead::Existing(row) = ledger.write_ahead(order, date, clock.now())? {
        tracing::info!(id = order.id(), state = %row.state, "already recorded: not sent again");
        return Ok(Sent::AlreadyKnown { state: row.state });
    }
    ledger.transition(order.id(), OrderEvent::Submit, None, None, clock.now())?;
    match broker.place(order).await {
        Ok(ack) => {
            ledger.transition(order.id(), OrderEvent::Ack, Some(&ack.broker_order_id), None, clock.now())?;
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
