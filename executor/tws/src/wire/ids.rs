//! The wire's numbers and strings: protocol constants, message ids in both directions, tick
//! types and attributes, market data types, order status and side strings, error codes.

/// The four raw bytes a client sends before its version range.
pub const API_PREFIX: [u8; 4] = *b"API\0";

/// Added to the message id of every protobuf-framed message; ids at or below it are text-framed.
pub const PROTOBUF_ID_OFFSET: i32 = 200;

/// Largest frame body either side accepts (TWS's own limit).
pub const MAX_FRAME_LEN: usize = 0x00FF_FFFF;

/// The server version this gateway answers with when the client allows it.
pub const SERVER_VERSION: i32 = 226;

/// The lowest server version `ibapi` 5.5 accepts (all-protobuf requests).
pub const MIN_SERVER_VERSION: i32 = 213;

/// The first id `ibapi` uses for requests; order ids must stay below it.
pub const FIRST_REQUEST_ID: i32 = 1_500_000_000;

/// The id of a message that belongs to no request or order (e.g. a fill pushed for a live order).
pub const NO_ID: i32 = -1;

/// A double that means "no value" on the wire.
pub const UNSET_DOUBLE: f64 = f64::MAX;

/// Message ids of the requests the gateway reads (the client's outgoing ids, before the +200).
pub mod in_id {
    /// Subscribe to level-1 market data ([`crate::wire::ReqMktData`]).
    pub const REQ_MKT_DATA: i32 = 1;
    /// Cancel a market data subscription ([`crate::wire::CancelMktData`]).
    pub const CANCEL_MKT_DATA: i32 = 2;
    /// Place or modify an order ([`crate::wire::PlaceOrder`]).
    pub const PLACE_ORDER: i32 = 3;
    /// Cancel an order ([`crate::wire::CancelOrder`]).
    pub const CANCEL_ORDER: i32 = 4;
    /// This client's open orders ([`crate::wire::ReqOpenOrders`]).
    pub const REQ_OPEN_ORDERS: i32 = 5;
    /// Account updates (not served by the gateway).
    pub const REQ_ACCOUNT_DATA: i32 = 6;
    /// Executions matching a filter ([`crate::wire::ReqExecutions`]).
    pub const REQ_EXECUTIONS: i32 = 7;
    /// The next valid order id ([`crate::wire::ReqIds`]).
    pub const REQ_IDS: i32 = 8;
    /// Orders placed from TWS (client 0) ([`crate::wire::ReqAutoOpenOrders`]).
    pub const REQ_AUTO_OPEN_ORDERS: i32 = 15;
    /// Every client's open orders ([`crate::wire::ReqAllOpenOrders`]).
    pub const REQ_ALL_OPEN_ORDERS: i32 = 16;
    /// The managed account list ([`crate::wire::ReqManagedAccts`]).
    pub const REQ_MANAGED_ACCTS: i32 = 17;
    /// The server clock in seconds ([`crate::wire::ReqCurrentTime`]).
    pub const REQ_CURRENT_TIME: i32 = 49;
    /// Cancel every open order ([`crate::wire::ReqGlobalCancel`]).
    pub const REQ_GLOBAL_CANCEL: i32 = 58;
    /// Switch live/frozen/delayed market data ([`crate::wire::ReqMarketDataType`]).
    pub const REQ_MARKET_DATA_TYPE: i32 = 59;
    /// Subscribe to positions ([`crate::wire::ReqPositions`]).
    pub const REQ_POSITIONS: i32 = 61;
    /// Subscribe to the account summary ([`crate::wire::ReqAccountSummary`]).
    pub const REQ_ACCOUNT_SUMMARY: i32 = 62;
    /// Cancel an account summary subscription ([`crate::wire::CancelAccountSummary`]).
    pub const CANCEL_ACCOUNT_SUMMARY: i32 = 63;
    /// Cancel the positions subscription ([`crate::wire::CancelPositions`]).
    pub const CANCEL_POSITIONS: i32 = 64;
    /// Start the API session, first message after the handshake ([`crate::wire::StartApi`]).
    pub const START_API: i32 = 71;
    /// Filled and cancelled orders ([`crate::wire::ReqCompletedOrders`]).
    pub const REQ_COMPLETED_ORDERS: i32 = 99;
    /// The server clock in milliseconds ([`crate::wire::ReqCurrentTimeInMillis`]).
    pub const REQ_CURRENT_TIME_IN_MILLIS: i32 = 105;
}

/// Message ids of the messages the gateway writes (the client's incoming ids, before the +200).
pub mod out_id {
    /// A price tick ([`crate::wire::TickPrice`]).
    pub const TICK_PRICE: i32 = 1;
    /// A size tick ([`crate::wire::TickSize`]).
    pub const TICK_SIZE: i32 = 2;
    /// An order's fill state ([`crate::wire::OrderStatus`]).
    pub const ORDER_STATUS: i32 = 3;
    /// An error or notice ([`crate::wire::ErrorMessage`]).
    pub const ERROR: i32 = 4;
    /// An order with its contract and state ([`crate::wire::OpenOrder`]).
    pub const OPEN_ORDER: i32 = 5;
    /// The next valid order id ([`crate::wire::NextValidId`]).
    pub const NEXT_VALID_ID: i32 = 9;
    /// One fill ([`crate::wire::ExecutionData`]).
    pub const EXECUTION_DATA: i32 = 11;
    /// The managed account list ([`crate::wire::ManagedAccounts`]).
    pub const MANAGED_ACCOUNTS: i32 = 15;
    /// The server clock in seconds ([`crate::wire::CurrentTime`]).
    pub const CURRENT_TIME: i32 = 49;
    /// End of an open-orders reply ([`crate::wire::OpenOrderEnd`]).
    pub const OPEN_ORDER_END: i32 = 53;
    /// End of an executions reply ([`crate::wire::ExecutionDataEnd`]).
    pub const EXECUTION_DATA_END: i32 = 55;
    /// End of a market data snapshot ([`crate::wire::TickSnapshotEnd`]).
    pub const TICK_SNAPSHOT_END: i32 = 57;
    /// The market data type a subscription gets ([`crate::wire::MarketDataType`]).
    pub const MARKET_DATA_TYPE: i32 = 58;
    /// The commission of one fill ([`crate::wire::CommissionReport`]).
    pub const COMMISSION_REPORT: i32 = 59;
    /// One position ([`crate::wire::Position`]).
    pub const POSITION: i32 = 61;
    /// End of the positions snapshot ([`crate::wire::PositionEnd`]).
    pub const POSITION_END: i32 = 62;
    /// One account summary value ([`crate::wire::AccountSummary`]).
    pub const ACCOUNT_SUMMARY: i32 = 63;
    /// End of an account summary batch ([`crate::wire::AccountSummaryEnd`]).
    pub const ACCOUNT_SUMMARY_END: i32 = 64;
    /// Tick parameters of a market data subscription ([`crate::wire::TickReqParams`]).
    pub const TICK_REQ_PARAMS: i32 = 81;
    /// A filled or cancelled order ([`crate::wire::CompletedOrder`]).
    pub const COMPLETED_ORDER: i32 = 101;
    /// End of a completed-orders reply ([`crate::wire::CompletedOrdersEnd`]).
    pub const COMPLETED_ORDERS_END: i32 = 102;
    /// The server clock in milliseconds ([`crate::wire::CurrentTimeInMillis`]).
    pub const CURRENT_TIME_IN_MILLIS: i32 = 109;
}

/// Tick type numbers for [`TickPrice::tick_type`](crate::wire::TickPrice::tick_type) and [`TickSize::tick_type`](crate::wire::TickSize::tick_type).
pub mod tick_type {
    /// Live bid size.
    pub const BID_SIZE: i32 = 0;
    /// Live bid.
    pub const BID: i32 = 1;
    /// Live ask.
    pub const ASK: i32 = 2;
    /// Live ask size.
    pub const ASK_SIZE: i32 = 3;
    /// Live last trade price.
    pub const LAST: i32 = 4;
    /// Live last trade size.
    pub const LAST_SIZE: i32 = 5;
    /// Live session high.
    pub const HIGH: i32 = 6;
    /// Live session low.
    pub const LOW: i32 = 7;
    /// Live session volume.
    pub const VOLUME: i32 = 8;
    /// Previous session close.
    pub const CLOSE: i32 = 9;
    /// Live session open.
    pub const OPEN: i32 = 14;
    /// Delayed bid.
    pub const DELAYED_BID: i32 = 66;
    /// Delayed ask.
    pub const DELAYED_ASK: i32 = 67;
    /// Delayed last trade price.
    pub const DELAYED_LAST: i32 = 68;
    /// Delayed bid size.
    pub const DELAYED_BID_SIZE: i32 = 69;
    /// Delayed ask size.
    pub const DELAYED_ASK_SIZE: i32 = 70;
    /// Delayed last trade size.
    pub const DELAYED_LAST_SIZE: i32 = 71;
    /// Delayed session high.
    pub const DELAYED_HIGH: i32 = 72;
    /// Delayed session low.
    pub const DELAYED_LOW: i32 = 73;
    /// Delayed session volume.
    pub const DELAYED_VOLUME: i32 = 74;
    /// Delayed previous close.
    pub const DELAYED_CLOSE: i32 = 75;
    /// Delayed session open.
    pub const DELAYED_OPEN: i32 = 76;
}

/// Bits of [`TickPrice::attributes`](crate::wire::TickPrice::attributes).
pub mod tick_attr {
    /// The price can be executed automatically.
    pub const CAN_AUTO_EXECUTE: i32 = 0x1;
    /// The price is beyond a limit.
    pub const PAST_LIMIT: i32 = 0x2;
    /// The price is from the pre-open session.
    pub const PRE_OPEN: i32 = 0x4;
}

/// Values of [`ReqMarketDataType::market_data_type`](crate::wire::ReqMarketDataType::market_data_type) and [`MarketDataType::market_data_type`](crate::wire::MarketDataType::market_data_type).
pub mod market_data_type {
    /// Live data.
    pub const REALTIME: i32 = 1;
    /// The last live values, frozen at the close.
    pub const FROZEN: i32 = 2;
    /// Data delayed by 15-20 minutes.
    pub const DELAYED: i32 = 3;
    /// The last delayed values, frozen at the close.
    pub const DELAYED_FROZEN: i32 = 4;
}

/// Order status strings for [`OrderStatus::status`](crate::wire::OrderStatus::status) and [`OrderState::status`](crate::wire::OrderState::status).
pub mod status {
    /// Accepted locally, not yet sent to TWS.
    pub const API_PENDING: &str = "ApiPending";
    /// Sent, not yet acknowledged.
    pub const PENDING_SUBMIT: &str = "PendingSubmit";
    /// A cancel was sent, not yet confirmed.
    pub const PENDING_CANCEL: &str = "PendingCancel";
    /// Accepted and held until its conditions or session start.
    pub const PRE_SUBMITTED: &str = "PreSubmitted";
    /// Working.
    pub const SUBMITTED: &str = "Submitted";
    /// Cancelled by the API before it was sent.
    pub const API_CANCELLED: &str = "ApiCancelled";
    /// Cancelled.
    pub const CANCELLED: &str = "Cancelled";
    /// Completely filled.
    pub const FILLED: &str = "Filled";
    /// Rejected or otherwise not working.
    pub const INACTIVE: &str = "Inactive";
}

/// Side and action strings.
pub mod side {
    /// Order action: buy.
    pub const BUY: &str = "BUY";
    /// Order action: sell.
    pub const SELL: &str = "SELL";
    /// Order action: sell short (institutional).
    pub const SELL_SHORT: &str = "SSHORT";
    /// Execution side of a buy fill.
    pub const BOUGHT: &str = "BOT";
    /// Execution side of a sell fill.
    pub const SOLD: &str = "SLD";
}

/// TWS error and notice codes for [`ErrorMessage::code`](crate::wire::ErrorMessage::code).
pub mod error_code {
    /// No security definition for the contract (ends a market data request).
    pub const NO_SECURITY_DEFINITION: i32 = 200;
    /// Order rejected; the text says why.
    pub const ORDER_REJECTED: i32 = 201;
    /// Order cancelled (informational: confirms a cancel).
    pub const ORDER_CANCELLED: i32 = 202;
    /// Error validating a request.
    pub const REQUEST_VALIDATION: i32 = 321;
    /// The client id is already connected (the connect fails).
    pub const CLIENT_ID_IN_USE: i32 = 326;
    /// The order to cancel was not found.
    pub const CANCEL_ORDER_NOT_FOUND: i32 = 10147;
    /// The order to cancel can no longer be cancelled (e.g. filled).
    pub const CANCEL_ORDER_NOT_CANCELLABLE: i32 = 10148;
    /// Live data not subscribed, delayed data is shown (informational).
    pub const DELAYED_DATA: i32 = 10167;
}
