//! Messages, gateway → client: one protobuf message per reply kind.

use super::ids::out_id;
use super::protobuf::{ServerMessage, message_ids};
use super::types::{Contract, Execution, Order, OrderState};

/// The next valid order id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NextValidId {
    /// The id; must be below [`FIRST_REQUEST_ID`](crate::wire::FIRST_REQUEST_ID).
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
}

/// The accounts this login manages.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ManagedAccounts {
    /// Comma-separated account ids.
    #[prost(string, optional, tag = "1")]
    pub accounts: Option<String>,
}

/// The server clock.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CurrentTime {
    /// Unix time in seconds.
    #[prost(int64, optional, tag = "1")]
    pub unix_seconds: Option<i64>,
}

/// The server clock in milliseconds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CurrentTimeInMillis {
    /// Unix time in milliseconds.
    #[prost(int64, optional, tag = "1")]
    pub unix_millis: Option<i64>,
}

/// The market data type a [`ReqMktData`](crate::wire::ReqMktData) subscription gets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDataType {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`market_data_type`](crate::wire::market_data_type).
    #[prost(int32, optional, tag = "2")]
    pub market_data_type: Option<i32>,
}

/// A price tick, optionally with the size that goes with it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickPrice {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`tick_type`](crate::wire::tick_type).
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    /// The price.
    #[prost(double, optional, tag = "3")]
    pub price: Option<f64>,
    /// Size at that price, decimal string (for bid/ask/last and their delayed forms).
    #[prost(string, optional, tag = "4")]
    pub size: Option<String>,
    /// Bit set of [`tick_attr`](crate::wire::tick_attr).
    #[prost(int32, optional, tag = "5")]
    pub attributes: Option<i32>,
}

/// A size tick.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickSize {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`tick_type`](crate::wire::tick_type).
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    /// The size, decimal string.
    #[prost(string, optional, tag = "3")]
    pub size: Option<String>,
}

/// Tick parameters of a market data subscription (informational; `ibapi` does not wait for it).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickReqParams {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// Minimum price increment, decimal string.
    #[prost(string, optional, tag = "2")]
    pub min_tick: Option<String>,
    /// Exchange code for best bid/offer.
    #[prost(string, optional, tag = "3")]
    pub bbo_exchange: Option<String>,
    /// Snapshot permission bits.
    #[prost(int32, optional, tag = "4")]
    pub snapshot_permissions: Option<i32>,
}

/// Ends a market data snapshot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickSnapshotEnd {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

/// An order with its contract and state.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpenOrder {
    /// The client's order id (routing key).
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// The instrument (required).
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    /// The order's terms (required, with `action`).
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
    /// The order's state (required, with `status`).
    #[prost(message, optional, tag = "4")]
    pub state: Option<OrderState>,
}

/// Ends an open-orders reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpenOrderEnd {}

/// An order's fill state.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderStatus {
    /// The client's order id (routing key).
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// One of [`status`](crate::wire::status) (required).
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    /// Quantity filled, decimal string (required).
    #[prost(string, optional, tag = "3")]
    pub filled: Option<String>,
    /// Quantity left, decimal string (required).
    #[prost(string, optional, tag = "4")]
    pub remaining: Option<String>,
    /// Average fill price.
    #[prost(double, optional, tag = "5")]
    pub avg_fill_price: Option<f64>,
    /// The gateway's permanent order id.
    #[prost(int64, optional, tag = "6")]
    pub perm_id: Option<i64>,
    /// Parent order id (0 = none).
    #[prost(int32, optional, tag = "7")]
    pub parent_id: Option<i32>,
    /// Price of the last fill.
    #[prost(double, optional, tag = "8")]
    pub last_fill_price: Option<f64>,
    /// The client that placed the order.
    #[prost(int32, optional, tag = "9")]
    pub client_id: Option<i32>,
    /// Why the order is held, e.g. `locate`.
    #[prost(string, optional, tag = "10")]
    pub why_held: Option<String>,
    /// Capped price, if the order was capped.
    #[prost(double, optional, tag = "11")]
    pub mkt_cap_price: Option<f64>,
}

/// One fill, live (request id −1) or answering a [`ReqExecutions`](crate::wire::ReqExecutions).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionData {
    /// The executions request's id, or [`NO_ID`](crate::wire::NO_ID) for a live fill.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// The instrument (required).
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    /// The fill (required).
    #[prost(message, optional, tag = "3")]
    pub execution: Option<Execution>,
}

/// Ends an executions reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionDataEnd {
    /// The executions request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

/// The commission of one fill; send after its [`ExecutionData`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct CommissionReport {
    /// The fill's `exec_id` (routing key).
    #[prost(string, optional, tag = "1")]
    pub exec_id: Option<String>,
    /// Commission and fees.
    #[prost(double, optional, tag = "2")]
    pub commission: Option<f64>,
    /// Currency of the commission.
    #[prost(string, optional, tag = "3")]
    pub currency: Option<String>,
    /// Realized P&L of a closing fill ([`UNSET_DOUBLE`](crate::wire::UNSET_DOUBLE) or absent for an opening fill).
    #[prost(double, optional, tag = "4")]
    pub realized_pnl: Option<f64>,
}

/// One position.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Position {
    /// Account holding it.
    #[prost(string, optional, tag = "1")]
    pub account: Option<String>,
    /// The instrument (required).
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    /// Signed quantity, decimal string (required; `"0"` when flat).
    #[prost(string, optional, tag = "3")]
    pub quantity: Option<String>,
    /// Average cost per unit (times the multiplier).
    #[prost(double, optional, tag = "4")]
    pub avg_cost: Option<f64>,
}

/// Ends the positions snapshot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PositionEnd {}

/// One account summary value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountSummary {
    /// The account summary request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// Account id.
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    /// Tag, e.g. `NetLiquidation`.
    #[prost(string, optional, tag = "3")]
    pub tag: Option<String>,
    /// Value as text.
    #[prost(string, optional, tag = "4")]
    pub value: Option<String>,
    /// Currency of the value.
    #[prost(string, optional, tag = "5")]
    pub currency: Option<String>,
}

/// Ends an account summary batch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountSummaryEnd {
    /// The account summary request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

/// An error or notice about a request, an order, or the connection.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorMessage {
    /// Request id, order id, or [`NO_ID`](crate::wire::NO_ID).
    #[prost(int32, optional, tag = "1")]
    pub id: Option<i32>,
    /// When, in Unix milliseconds.
    #[prost(int64, optional, tag = "2")]
    pub time_millis: Option<i64>,
    /// Code, see [`error_code`](crate::wire::error_code).
    #[prost(int32, optional, tag = "3")]
    pub code: Option<i32>,
    /// Text.
    #[prost(string, optional, tag = "4")]
    pub message: Option<String>,
    /// Advanced order reject details as JSON.
    #[prost(string, optional, tag = "5")]
    pub advanced_reject_json: Option<String>,
}

/// A filled or cancelled order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompletedOrder {
    /// The instrument (required).
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    /// The order's terms (required, with `action`).
    #[prost(message, optional, tag = "2")]
    pub order: Option<Order>,
    /// The order's final state (required, with `status`).
    #[prost(message, optional, tag = "3")]
    pub state: Option<OrderState>,
}

/// Ends a completed-orders reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompletedOrdersEnd {}

message_ids!(ServerMessage:
    NextValidId => out_id::NEXT_VALID_ID,
    ManagedAccounts => out_id::MANAGED_ACCOUNTS,
    CurrentTime => out_id::CURRENT_TIME,
    CurrentTimeInMillis => out_id::CURRENT_TIME_IN_MILLIS,
    MarketDataType => out_id::MARKET_DATA_TYPE,
    TickPrice => out_id::TICK_PRICE,
    TickSize => out_id::TICK_SIZE,
    TickReqParams => out_id::TICK_REQ_PARAMS,
    TickSnapshotEnd => out_id::TICK_SNAPSHOT_END,
    OpenOrder => out_id::OPEN_ORDER,
    OpenOrderEnd => out_id::OPEN_ORDER_END,
    OrderStatus => out_id::ORDER_STATUS,
    ExecutionData => out_id::EXECUTION_DATA,
    ExecutionDataEnd => out_id::EXECUTION_DATA_END,
    CommissionReport => out_id::COMMISSION_REPORT,
    Position => out_id::POSITION,
    PositionEnd => out_id::POSITION_END,
    AccountSummary => out_id::ACCOUNT_SUMMARY,
    AccountSummaryEnd => out_id::ACCOUNT_SUMMARY_END,
    ErrorMessage => out_id::ERROR,
    CompletedOrder => out_id::COMPLETED_ORDER,
    CompletedOrdersEnd => out_id::COMPLETED_ORDERS_END,
);
