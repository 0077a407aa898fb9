//! The order management system: sending risk-approved orders ([`send`]), cancelling them
//! ([`cancel`]), retrying the ones the broker answered with an unknown error ([`retry_failed`]),
//! and reconciling the ledger with the broker ([`reconcile`]: on every (re)connect; [`sync`]: at
//! every step). Order states change only through `ae_rules::lifecycle`.
//!
//! Money safety, in order of the steps of a send:
//! 1. the order is written ahead (`pending`) under its deterministic id — a second send of the
//!    same id is refused by the ledger, whatever crashed in between;
//! 2. the broker's id is reserved and recorded with the `submitted` state (unique per day, and the
//!    floor of the ids the client may use after a reconnect);
//! 3. the broker gets it; its answer moves the order on. A connection that fails leaves the order
//!    `submitted`, and reconciliation decides what happened.
//!
//! Failures are isolated per order: a rejection or an unknown broker error ends (or retries) that
//! order only; the other orders and every exit go on.

mod reconcile;

pub use reconcile::{
    PositionBreak, Reconciled, Synced, foreign_activity, reconcile, reconcile_positions, settle_earlier_days, sync,
    sync_fills,
};

use ae_rules::lifecycle::{OrderEvent, OrderState};
use ae_rules::{ApprovedOrder, Reason};
use ae_shared::TradingDay;
use ae_shared::clock::Clock;
use ae_shared::crashpoint;

use crate::ExecError;
use crate::broker::{Broker, BrokerError, OpenOrder};
use crate::ledger::{Ledger, OrderRow, RiskEventRow, WriteAhead};

/// How many times an order the broker answers with an unknown error is tried before it is given
/// up as rejected.
pub const MAX_ORDER_ATTEMPTS: u32 = 3;

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
    /// The broker refused it (or it failed too many times); the ledger says so.
    Rejected {
        /// Why.
        reason: String,
    },
    /// The broker answered with an error it does not classify; tried again at the next step under
    /// a fresh broker id, until [`MAX_ORDER_ATTEMPTS`].
    Failed {
        /// Attempts so far.
        attempts: u32,
        /// The broker's answer.
        reason: String,
    },
}

/// Sends one risk-approved order: write-ahead record, the broker's id reserved and recorded with
/// the `submitted` state, then the broker, then the outcome — so a crash at any point leaves
/// either no order or a recorded one that is never sent twice ([`reconcile`] settles it).
pub async fn send<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    order: &ApprovedOrder,
    date: TradingDay,
    clock: &dyn Clock,
) -> Result<Sent, ExecError> {
    if let WriteAhead::Existing(row) = ledger.write_ahead(order, date, clock.now())? {
        tracing::info!(id = order.id(), state = %row.state, "already recorded: not sent again");
        return Ok(Sent::AlreadyKnown { state: row.state });
    }
    crashpoint::hit(crashpoint::points::OMS_AFTER_WRITE_AHEAD);
    submit(ledger, broker, order, clock).await
}

/// The `pending` → `submitted` → broker part of [`send`], for an order already written ahead.
async fn submit<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    order: &ApprovedOrder,
    clock: &dyn Clock,
) -> Result<Sent, ExecError> {
    let reserved = broker.reserve_id(order).await?;
    ledger.transition(order.id(), OrderEvent::Submit, reserved.as_deref(), None, clock.now())?;
    crashpoint::hit(crashpoint::points::OMS_AFTER_SUBMIT_RECORD);
    place(ledger, broker, order, reserved.as_deref(), clock).await
}

/// Hands the order to the broker and books its answer.
async fn place<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    order: &ApprovedOrder,
    reserved: Option<&str>,
    clock: &dyn Clock,
) -> Result<Sent, ExecError> {
    match broker.place(order, reserved).await {
        Ok(ack) => {
            crashpoint::hit(crashpoint::points::OMS_AFTER_ACK);
            let state = ledger.order(order.id())?.map(|r| r.state);
            // A fill may already have been booked by a concurrent sync; the ack is then implied.
            if matches!(state, Some(OrderState::Submitted)) {
                ledger.transition(order.id(), OrderEvent::Ack, Some(&ack.broker_order_id), None, clock.now())?;
            }
            Ok(Sent::Acknowledged { broker_order_id: ack.broker_order_id })
        }
        Err(BrokerError::Rejected { reason, .. }) => {
            reject(ledger, order.id(), order.ticker(), &reason, Reason::OrderRejected, clock)?;
            tracing::warn!(id = order.id(), %reason, "rejected by the broker");
            Ok(Sent::Rejected { reason })
        }
        Err(BrokerError::OrderError { code, message, .. }) => {
            failed(ledger, order.id(), order.ticker(), &format!("broker error {code}: {message}"), clock)
        }
        Err(BrokerError::Duplicate { .. }) if reserved.is_some() => {
            // The reserved id is already used at the broker by another order: never this one's
            // duplicate (this order was just written ahead). Try again under a fresh id.
            failed(ledger, order.id(), order.ticker(), "the broker already has an order under the reserved id", clock)
        }
        // Unknown outcome: the order stays `submitted`; reconciliation decides what happened.
        Err(e) => Err(e.into()),
    }
}

fn reject(
    ledger: &Ledger,
    id: &str,
    ticker: &ae_shared::types::Ticker,
    reason: &str,
    rule: Reason,
    clock: &dyn Clock,
) -> Result<(), ExecError> {
    ledger.apply(id, OrderEvent::Reject, Some(reason), clock.now())?;
    if let Some(o) = ledger.order(id)? {
        ledger.record_risk_event(&RiskEventRow {
            date: o.date,
            source: "oms".into(),
            rule: rule.code().into(),
            ticker: Some(ticker.clone()),
            detail: format!("{id}: {reason}"),
        })?;
    }
    Ok(())
}

/// Counts a failed attempt; gives the order up as rejected after [`MAX_ORDER_ATTEMPTS`].
fn failed(
    ledger: &Ledger,
    id: &str,
    ticker: &ae_shared::types::Ticker,
    detail: &str,
    clock: &dyn Clock,
) -> Result<Sent, ExecError> {
    let attempts = ledger.bump_attempts(id, detail, clock.now())?;
    if attempts >= MAX_ORDER_ATTEMPTS {
        let reason = format!("gave up after {attempts} attempts; last: {detail}");
        reject(ledger, id, ticker, &reason, Reason::BrokerError, clock)?;
        tracing::error!(id, %reason, "order given up");
        return Ok(Sent::Rejected { reason });
    }
    tracing::warn!(id, attempts, detail, "the broker did not take the order: tried again at the next step");
    Ok(Sent::Failed { attempts, reason: detail.to_string() })
}

/// Asks the broker to cancel a working order. The request is recorded first (`pending_cancel`);
/// the order can still fill until the broker confirms, which [`sync`] sees.
pub async fn cancel<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    id: &str,
    why: &str,
    clock: &dyn Clock,
) -> Result<(), ExecError> {
    ledger.apply(id, OrderEvent::CancelRequest, Some(why), clock.now())?;
    broker.cancel(id).await?;
    Ok(())
}

/// The order as the ledger recorded it, for sending again.
pub(crate) fn recorded(row: &OrderRow) -> ae_rules::order::Recorded<'_> {
    let reasons: Vec<Reason> = serde_json::from_str::<Vec<String>>(&row.reasons)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| Reason::from_code(c))
        .collect();
    ae_rules::order::Recorded {
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
    }
}

/// Sends again, under a fresh broker id, today's orders the broker answered with an unknown error
/// — unless the broker turns out to have them working after all. Buys are not re-sent while
/// entries are blocked; sells still fit in both books' sellable shares.
pub async fn retry_failed<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    date: TradingDay,
    open: &[OpenOrder],
    entries_blocked: bool,
    clock: &dyn Clock,
) -> Result<Vec<(String, Sent)>, ExecError> {
    let mut out = Vec::new();
    for row in ledger.orders_on(date)?.into_iter().filter(|o| o.state == OrderState::Submitted && o.attempts > 0) {
        if open.iter().any(|o| o.order_ref == row.id) {
            ledger.apply(&row.id, OrderEvent::Ack, None, clock.now())?;
            continue;
        }
        let sent = resend_fresh(ledger, broker, &row, entries_blocked, clock).await?;
        out.push((row.id.clone(), sent));
    }
    Ok(out)
}

/// Re-sends a recorded order under a freshly reserved broker id (the old one was answered with an
/// error, or never used).
pub(crate) async fn resend_fresh<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    row: &OrderRow,
    entries_blocked: bool,
    clock: &dyn Clock,
) -> Result<Sent, ExecError> {
    let account = broker.account().await?;
    let books = reconcile::books_of(ledger, &account, &[], &row.ticker, Some(&row.id))?;
    let order = match ae_rules::order::reissue(&recorded(row), books.held(), books.working_sells(), entries_blocked) {
        Ok(o) => o,
        Err(refusal) => {
            reject(ledger, &row.id, &row.ticker, &refusal.to_string(), refusal.reason, clock)?;
            return Ok(Sent::Rejected { reason: refusal.to_string() });
        }
    };
    let reserved = broker.reserve_id(&order).await?;
    if let Some(r) = &reserved {
        ledger.replace_broker_id(&row.id, r, clock.now())?;
    }
    place(ledger, broker, &order, reserved.as_deref(), clock).await
}
