//! The broker seam: what the executor needs from a broker, whichever it is. The paper broker
//! ([`crate::paper`]) serves local runs; Interactive Brokers serves production (the daemon).

use ae_rules::ApprovedOrder;
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;

use crate::ledger::Fill;

/// Broker failures, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker already has an order under this id (it arrived before a crash or a drop).
    #[error("order {id} is already known to the broker")]
    Duplicate {
        /// Client order id.
        id: String,
    },
    /// The broker answered the order with an error it does not classify as a rejection (an
    /// unknown code): the order did not go live. The OMS counts the attempt, goes on with the
    /// other orders, and gives up (a rejection) after a bounded number of attempts.
    #[error("order {id}: broker error {code}: {message}")]
    OrderError {
        /// Client order id.
        id: String,
        /// The broker's error code.
        code: i32,
        /// The broker's message.
        message: String,
    },
    /// The broker refused the order (the OMS marks it rejected).
    #[error("order {id} rejected: {reason}")]
    Rejected {
        /// Client order id.
        id: String,
        /// Broker's reason.
        reason: String,
    },
    /// The daemon refuses this broker or account (the paper-account guard, a bad request).
    #[error("refused: {0}")]
    Refused(String),
    /// The broker could not be reached or failed; nothing is known to have happened.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The broker's own storage failed.
    #[error("broker state: {0}")]
    State(String),
}

/// A position as the broker reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerPosition {
    /// Symbol.
    pub ticker: Ticker,
    /// Shares.
    pub shares: u32,
    /// Average cost.
    pub avg_cost: f64,
}

/// The account as the broker reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSnapshot {
    /// Account id (paper accounts start with "D").
    pub account_id: String,
    /// Cash.
    pub cash: f64,
    /// Positions.
    pub positions: Vec<BrokerPosition>,
    /// The broker's own valuation (IB's NetLiquidation; the paper broker's cash plus positions at
    /// its last quotes), when it has one.
    pub net_liquidation: Option<f64>,
    /// Short positions the broker reports (shares below zero, as a positive count). A long-only
    /// account never has one: each is a position break, reported and alerted, never hidden.
    pub shorts: Vec<(Ticker, u32)>,
    /// Dividends accrued and not yet paid (IB's `AccruedDividend`; part of the net liquidation).
    pub accrued_dividends: f64,
}

impl AccountSnapshot {
    /// Shares of `t` held.
    pub fn shares_of(&self, t: &Ticker) -> u32 {
        self.positions.iter().find(|p| &p.ticker == t).map(|p| p.shares).unwrap_or(0)
    }
}

/// An order working at the broker, as it reports it (ours, another client's, or entered by hand).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrder {
    /// The client's reference (alpha-engine's deterministic id; empty for orders not ours).
    pub order_ref: String,
    /// The broker's order id.
    pub broker_order_id: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Side.
    pub side: Side,
    /// Shares still to fill.
    pub remaining: u32,
}

/// The broker's receipt for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAck {
    /// The broker's order id.
    pub broker_order_id: String,
}

/// What the executor needs from a broker.
#[allow(async_fn_in_trait)]
pub trait Broker {
    /// Cash and positions.
    async fn account(&self) -> Result<AccountSnapshot, BrokerError>;
    /// Reserves the broker's id for `order` before anything is sent; the OMS records it with the
    /// `submitted` state, so an order re-sent after a crash carries the same id and a broker that
    /// already has it refuses the duplicate. `None`: the broker keys orders by the client id.
    async fn reserve_id(&self, order: &ApprovedOrder) -> Result<Option<String>, BrokerError> {
        let _ = order;
        Ok(None)
    }
    /// Raises the broker ids this client reserves to at least `floor` (and to the broker's next
    /// valid id): after every reconcile, so an id recorded in the ledger is never used twice.
    async fn sync_order_ids(&self, floor: Option<i64>) -> Result<(), BrokerError> {
        let _ = floor;
        Ok(())
    }
    /// Sends a risk-approved order (the only kind there is) under its reserved id.
    async fn place(&self, order: &ApprovedOrder, reserved: Option<&str>) -> Result<BrokerAck, BrokerError>;
    /// Executions of a day (`reqExecutions`), as the fills the ledger books, for reconciliation.
    async fn executions(&self, date: TradingDay) -> Result<Vec<Fill>, BrokerError>;
    /// Orders still working at the broker (every client's).
    async fn open_orders(&self) -> Result<Vec<OpenOrder>, BrokerError>;
    /// Cancels a working order by client id.
    async fn cancel(&self, order_id: &str) -> Result<(), BrokerError>;
}
