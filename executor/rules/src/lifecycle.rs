//! The order lifecycle: every state an order can be in, every event that can happen to it, and
//! the one exhaustive table of transitions. The ledger and the OMS change an order's state only
//! through [`OrderState::on`].
//!
//! `pending` (written ahead, not yet sent) → `submitted` (handed to the broker) → `acknowledged`
//! (the broker accepted it) → `partial` → `filled`, or `pending_cancel` (a cancel was asked for
//! and not yet confirmed) → `cancelled`, or `rejected` / `expired`.
//!
//! **The broker's executions are facts.** An execution is accepted in every state an order can
//! be in when it arrives, including the real races a broker produces:
//! - a fill after a cancel request (the cancel lost the race): `pending_cancel` + fill;
//! - a fill after the cancel was confirmed, or after the close expired the order (the execution
//!   report arrives late): `cancelled`/`expired`/`rejected` + fill → `filled`, + a partial fill →
//!   the state stays (the order ended, some of its shares traded first);
//! - a fill before its acknowledgement (`submitted` + fill), or an acknowledgement after the order
//!   ended (a no-op).
//!
//! Only a partial fill of an order already `filled` is refused: the ledger books shares beyond
//! the order's size as an external execution instead, so filled never exceeds ordered.

use std::fmt;
use std::str::FromStr;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderState {
    /// Recorded in the ledger, not yet sent.
    Pending,
    /// Sent to the broker.
    Submitted,
    /// Accepted by the broker.
    Acknowledged,
    /// Partly filled.
    Partial,
    /// A cancel was requested; the broker has not confirmed it (the order can still fill).
    PendingCancel,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderEvent {
    /// Handed to the broker.
    Submit,
    /// The broker accepted it.
    Ack,
    /// Some shares filled, not all.
    PartialFill,
    /// The last shares filled.
    Fill,
    /// A cancel was sent to the broker.
    CancelRequest,
    /// Cancelled (confirmed by the broker, or never sent).
    Cancel,
    /// Refused.
    Reject,
    /// Expired.
    Expire,
}

/// A transition the state table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    /// State before.
    pub from: OrderState,
    /// The event.
    pub event: OrderEvent,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order in state {} cannot take event {:?}", self.from, self.event)
    }
}

impl std::error::Error for InvalidTransition {}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 9] = [
        OrderState::Pending,
        OrderState::Submitted,
        OrderState::Acknowledged,
        OrderState::Partial,
        OrderState::PendingCancel,
        OrderState::Filled,
        OrderState::Cancelled,
        OrderState::Rejected,
        OrderState::Expired,
    ];

    /// No further change is possible except a late execution.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Filled | OrderState::Cancelled | OrderState::Rejected | OrderState::Expired)
    }

    /// Still able to fill (counts against held shares for sells, against cash for buys).
    pub fn is_working(self) -> bool {
        !self.is_terminal()
    }

    /// The state after `event`: the one table. Every (state, event) pair is listed.
    pub fn on(self, event: OrderEvent) -> Result<OrderState, InvalidTransition> {
        use OrderEvent as E;
        use OrderState as S;
        let next = match (self, event) {
            // Written ahead, not sent.
            (S::Pending, E::Submit) => S::Submitted,
            (S::Pending, E::Reject) => S::Rejected,
            (S::Pending, E::Cancel | E::CancelRequest) => S::Cancelled,
            (S::Pending, E::Expire) => S::Expired,
            // An execution of an order the ledger never marked sent is still a fact.
            (S::Pending, E::PartialFill) => S::Partial,
            (S::Pending, E::Fill) => S::Filled,
            (S::Pending, E::Ack) => S::Acknowledged,

            // Working at the broker.
            (S::Submitted | S::Acknowledged, E::Ack) => S::Acknowledged,
            (S::Partial, E::Ack) => S::Partial,
            (S::Submitted | S::Acknowledged | S::Partial, E::PartialFill) => S::Partial,
            (S::Submitted | S::Acknowledged | S::Partial, E::Fill) => S::Filled,
            (S::Submitted | S::Acknowledged | S::Partial, E::CancelRequest) => S::PendingCancel,
            (S::Submitted | S::Acknowledged | S::Partial, E::Cancel) => S::Cancelled,
            (S::Submitted | S::Acknowledged, E::Reject) => S::Rejected,
            // Refused after some shares traded: the rest will never fill.
            (S::Partial, E::Reject) => S::Cancelled,
            (S::Submitted | S::Acknowledged | S::Partial, E::Expire) => S::Expired,

            // A cancel on its way: the order can still fill until the broker confirms.
            (S::PendingCancel, E::Ack | E::CancelRequest | E::PartialFill) => S::PendingCancel,
            (S::PendingCancel, E::Fill) => S::Filled,
            (S::PendingCancel, E::Cancel | E::Reject) => S::Cancelled,
            (S::PendingCancel, E::Expire) => S::Expired,

            // Ended: duplicates and late acknowledgements change nothing; a late execution is booked.
            (S::Filled, E::Fill | E::Ack | E::Cancel | E::CancelRequest | E::Expire | E::Reject) => S::Filled,
            (S::Cancelled | S::Expired | S::Rejected, E::Fill) => S::Filled,
            (S::Cancelled, E::PartialFill | E::Ack | E::Cancel | E::CancelRequest | E::Expire | E::Reject) => {
                S::Cancelled
            }
            (S::Expired, E::PartialFill | E::Ack | E::Cancel | E::CancelRequest | E::Expire | E::Reject) => S::Expired,
            (S::Rejected, E::PartialFill | E::Ack | E::Cancel | E::CancelRequest | E::Expire | E::Reject) => {
                S::Rejected
            }

            // Never: sending twice, or more shares than ordered (booked as external instead).
            (S::Submitted | S::Acknowledged | S::Partial | S::PendingCancel, E::Submit)
            | (S::Filled | S::Cancelled | S::Expired | S::Rejected, E::Submit)
            | (S::Filled, E::PartialFill) => return Err(InvalidTransition { from: self, event }),
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
            OrderState::PendingCancel => "pending_cancel",
            OrderState::Filled => "filled",
            OrderState::Cancelled => "cancelled",
            OrderState::Rejected => "rejected",
            OrderState::Expired => "expired",
        }
    }
}

impl OrderEvent {
    /// Every event.
    pub const ALL: [OrderEvent; 8] = [
        OrderEvent::Submit,
        OrderEvent::Ack,
        OrderEvent::PartialFill,
        OrderEvent::Fill,
        OrderEvent::CancelRequest,
        OrderEvent::Cancel,
        OrderEvent::Reject,
        OrderEvent::Expire,
    ];
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

/// The event an execution is for an order of `ordered` shares that had `filled_before` filled.
pub fn fill_event(ordered: u32, filled_before: u32, shares: u32) -> OrderEvent {
    if filled_before.saturating_add(shares) >= ordered { OrderEvent::Fill } else { OrderEvent::PartialFill }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderState as S;

    #[test]
    fn the_state_table() {
        // (from, event, to): one row per behaviour.
        let ok = [
            (S::Pending, E::Submit, S::Submitted),                 // TC1: sent
            (S::Submitted, E::Ack, S::Acknowledged),               // TC2: accepted
            (S::Acknowledged, E::PartialFill, S::Partial),         // TC3: part filled
            (S::Partial, E::PartialFill, S::Partial),              // TC4: more of it
            (S::Partial, E::Fill, S::Filled),                      // TC5: the rest
            (S::Submitted, E::Fill, S::Filled),                    // TC6: a fill before its ack
            (S::Acknowledged, E::CancelRequest, S::PendingCancel), // TC7: cancel asked
            (S::PendingCancel, E::Cancel, S::Cancelled),           // TC8: cancel confirmed
            (S::PendingCancel, E::Fill, S::Filled),                // TC9: the cancel lost the race
            (S::PendingCancel, E::PartialFill, S::PendingCancel),  // TC10: part filled before the cancel lands
            (S::Cancelled, E::Fill, S::Filled),                    // TC11: a late execution after a cancel
            (S::Expired, E::Fill, S::Filled),                      // TC12: a late execution after the close
            (S::Expired, E::PartialFill, S::Expired),              // TC13: a late part after the close
            (S::Cancelled, E::Ack, S::Cancelled),                  // TC14: a late ack is a no-op
            (S::Partial, E::Expire, S::Expired),                   // TC15: the close
            (S::Submitted, E::Reject, S::Rejected),                // TC16: refused
            (S::Partial, E::Reject, S::Cancelled),                 // TC17: refused after some traded
            (S::Filled, E::Fill, S::Filled),                       // TC18: duplicate: no-op
            (S::Pending, E::Fill, S::Filled),                      // TC19: an execution is a fact
        ];
        for (from, ev, to) in ok {
            assert_eq!(from.on(ev), Ok(to), "{from} + {ev:?}");
        }
        let bad = [(S::Filled, E::PartialFill), (S::Rejected, E::Submit), (S::Partial, E::Submit)];
        for (from, ev) in bad {
            assert_eq!(from.on(ev), Err(InvalidTransition { from, event: ev }), "{from} + {ev:?} must be refused");
        }
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
    }

    #[test]
    fn every_execution_is_accepted_wherever_it_lands() {
        for s in S::ALL {
            assert!(s.on(E::Fill).is_ok(), "{s} + Fill");
            if s != S::Filled {
                assert!(s.on(E::PartialFill).is_ok(), "{s} + PartialFill");
            }
        }
    }

    #[test]
    fn ended_orders_stay_ended_except_for_a_late_fill() {
        for s in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            for ev in E::ALL.into_iter().filter(|e| !matches!(e, E::Fill | E::Submit | E::PartialFill)) {
                assert_eq!(s.on(ev), Ok(s), "{s} + {ev:?}");
            }
            assert!(s.on(E::Submit).is_err());
        }
    }

    #[test]
    fn the_fill_event_follows_the_shares() {
        assert_eq!(fill_event(100, 0, 40), E::PartialFill);
        assert_eq!(fill_event(100, 60, 40), E::Fill);
        assert_eq!(fill_event(100, 90, 40), E::Fill);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn arb_event() -> impl Strategy<Value = OrderEvent> {
            (0usize..OrderEvent::ALL.len()).prop_map(|i| OrderEvent::ALL[i])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever the broker sends, in whatever order: an ended order never works again, a
            /// filled order stays filled, and an order is never submitted twice.
            #[test]
            fn ended_orders_never_work_again_and_filled_is_final(events in proptest::collection::vec(arb_event(), 0..40)) {
                let mut s = S::Pending;
                let mut submitted = 0;
                for ev in events {
                    let Ok(next) = s.on(ev) else { continue };
                    if ev == E::Submit {
                        submitted += 1;
                    }
                    if s.is_terminal() {
                        prop_assert!(next.is_terminal(), "{s} + {ev:?} -> {next}");
                    }
                    if s == S::Filled {
                        prop_assert_eq!(next, S::Filled);
                    }
                    s = next;
                }
                prop_assert!(submitted <= 1);
            }
        }
    }
}
