//! TWS API wire protocol, server side, as the `ibapi` 5.5 async client speaks it.
//!
//! The facts below (ids, framing, protobuf field numbers and types, what the client waits for) were
//! read off `ibapi` 5.5.0 at server version 226. The message types in this module are our own and
//! carry only the fields the paper gateway needs; protobuf skips unknown fields on decode, so a
//! request that carries more (order conditions, algo params, ...) still decodes.
//!
//! # Framing
//!
//! * Handshake, client → gateway: the 4 raw bytes `API\0`, then one frame whose body is the ASCII
//!   version range `v213..226` ([`read_client_hello`]). `ibapi` sends no connect options.
//! * Every frame, both directions: a `u32` big-endian body length, then the body
//!   ([`read_frame`], [`write_frame`]). Bodies are at most [`MAX_FRAME_LEN`]; `ibapi` also rejects a
//!   body shorter than 4 bytes.
//! * Handshake reply, gateway → client: one frame whose body is NUL-terminated text,
//!   `"{server_version}\0{connection_time}\0"`, e.g. `226\020250102 14:30:00 UTC\0`
//!   ([`handshake_reply`]). `ibapi` refuses a version below 213 ([`MIN_SERVER_VERSION`]); the time is
//!   `yyyymmdd hh:mm:ss <zone>` (an IANA name such as `UTC`); an unparsable time only logs a warning.
//!   We answer [`SERVER_VERSION`] = 226 (`CONDITIONS_INCLUDE_OVERNIGHT`, the top of the range
//!   `ibapi` offers) when the client's range allows it ([`ClientHello::negotiate`]).
//! * Every later message, both directions: body = `i32` big-endian message id **plus 200**
//!   ([`PROTOBUF_ID_OFFSET`]), then the protobuf bytes ([`protobuf_body`], [`split_protobuf`]). A
//!   message with no fields is the 4-byte id alone.
//! * Text framing (id ≤ 200, NUL-separated fields) is not used for any message here: `ibapi` 5.5
//!   sends every request as protobuf, and its decoders for every kind below (ticks, orders,
//!   executions, positions, account summary, errors, next id, accounts, time) accept only protobuf —
//!   a text frame of those kinds fails the receiving subscription with `UnexpectedWireFormat`. So
//!   this module has no text encoders; the handshake reply is the only text the gateway writes.
//!
//! # Connecting (`Client::connect(address, client_id)`)
//!
//! 1. Handshake and reply as above.
//! 2. The client sends [`StartApi`] (`client_id`).
//! 3. The client reads frames until it holds both [`NextValidId`] and [`ManagedAccounts`], in either
//!    order; both are required (it gives up after 100 other frames, leaving the id at 0 and the
//!    account list empty). `NextValidId.order_id` must be below [`FIRST_REQUEST_ID`] or the connect
//!    fails; `ManagedAccounts.accounts` is a comma-separated list (`"DU123456"`). Frames arriving
//!    in between (OpenOrder, OrderStatus, OpenOrderEnd, ExecutionData, CommissionReport,
//!    CompletedOrder, ...) go to the optional startup callback, errors to the notice stream; an
//!    [`ErrorMessage`] with code 326 makes the connect fail with `ClientIdInUse`.
//! 4. Nothing else is awaited: no farm-status notices, no time. The client's reader task starts.
//!    After a reconnect the client replays the last [`ReqMarketDataType`] it sent.
//!
//! # Routing rules the gateway must respect
//!
//! * Request ids minted by `ibapi` start at [`FIRST_REQUEST_ID`] (1 500 000 000). A request-scoped
//!   reply (ticks, [`MarketDataType`], [`TickReqParams`], [`TickSnapshotEnd`], [`AccountSummary`],
//!   [`AccountSummaryEnd`], [`ExecutionDataEnd`]) is routed by its id at tag 1 and dropped unless
//!   that id is in the request range: echo the request's id verbatim. Replies without an id
//!   ([`NextValidId`], [`ManagedAccounts`], [`CurrentTime`], [`Position`], [`PositionEnd`],
//!   [`OpenOrderEnd`], ...) go to every pending request of their kind.
//! * [`OpenOrder`] and [`OrderStatus`] are routed by `order_id` to the `place_order` /
//!   `cancel_order` subscription of that order, and are also copied to any live open-orders request
//!   and to `order_update_stream`. [`ExecutionData`] goes to the subscription registered for
//!   `execution.order_id` **first**, else to the one for `req_id` (a live fill carries [`NO_ID`] and
//!   reaches `place_order` / `order_update_stream`); [`CommissionReport`] follows
//!   whichever subscription got the execution with the same `exec_id`, so always send an
//!   execution before its commission report. [`OpenOrderEnd`], [`CompletedOrder`] and
//!   [`CompletedOrdersEnd`] go only to the pending open/completed-orders request.
//! * Client id: when `OpenOrder.order.client_id`, `OrderStatus.client_id` or
//!   `ExecutionData.execution.client_id` is set and differs from the [`StartApi`] client id,
//!   `ibapi` treats the frame as another client's order: it reaches only open-orders / executions
//!   replies, never `place_order` or `order_update_stream`. Echo the connecting client's id.
//! * [`ErrorMessage`] with `id` = an order id goes to that order's subscriptions (and
//!   `order_update_stream`), with `id` = a request id to that request, with `id` = −1 to the notice
//!   stream. Informational codes — 202 (order cancelled), 2100–2199, 10167 (delayed data),
//!   317, 2188, 10089–10091, 1100–1102, 1300, and 399 "Warning:" texts — arrive as a notice and
//!   the stream goes on; any other code ends the subscription with an error (and, with id −1, fails
//!   pending one-shots such as `server_time`).
//!
//! # What the gateway sends for each request
//!
//! | request (in id) | gateway replies, in order |
//! |---|---|
//! | [`StartApi`] (71) | [`NextValidId`] + [`ManagedAccounts`] (optionally a replay of working orders: [`OpenOrder`] + [`OrderStatus`] each, then [`OpenOrderEnd`]) |
//! | [`ReqIds`] (8) | [`NextValidId`] |
//! | [`ReqManagedAccts`] (17) | [`ManagedAccounts`] |
//! | [`ReqCurrentTime`] (49) | [`CurrentTime`] (Unix seconds) |
//! | [`ReqCurrentTimeInMillis`] (105) | [`CurrentTimeInMillis`] |
//! | [`ReqMarketDataType`] (59) | nothing; remember the type (1 live, 2 frozen, 3 delayed, 4 delayed frozen) for later [`ReqMktData`] |
//! | [`ReqMktData`] (1) | like TWS in delayed mode: optional [`ErrorMessage`] (req id, 10167, "Requested market data is not subscribed. Displaying delayed market data."), [`MarketDataType`] (req id, 3), optional [`TickReqParams`], then [`TickPrice`] for 66/67/68 (with `size` set, `ibapi` yields a combined price+size tick) and 72/73/75/76, [`TickSize`] for 69/70/71/74; a snapshot ends with [`TickSnapshotEnd`] (which ends the client's stream), a stream keeps ticking until [`CancelMktData`]. Unknown contract: [`ErrorMessage`] (req id, 200, "No security definition has been found for the request"), which ends the stream. |
//! | [`CancelMktData`] (2) | nothing; stop ticking that req id |
//! | [`PlaceOrder`] (3) | accepted: [`OpenOrder`] (order state `Submitted`, or `PreSubmitted`) + [`OrderStatus`] (`Submitted`, filled `"0"`, remaining = quantity). Each fill: [`ExecutionData`] (request id −1) → [`OrderStatus`] (`Filled` or still `Submitted` with filled/remaining, avg and last fill price) + [`OpenOrder`] (state `Filled` when complete) → [`CommissionReport`]. Rejected: [`ErrorMessage`] (order id, 201, "Order rejected - reason: ...") and/or [`OrderStatus`] `Inactive`. A `PlaceOrder` for a known working order id is a modification: reply [`OpenOrder`] + [`OrderStatus`] again. |
//! | [`CancelOrder`] (4) | [`OrderStatus`] `Cancelled` (filled so far, remaining) + [`ErrorMessage`] (order id, 202, "Order Canceled - reason:"); unknown or finished order: [`ErrorMessage`] (order id, 10147 / 10148) |
//! | [`ReqGlobalCancel`] (58) | as [`CancelOrder`] for every working order |
//! | [`ReqOpenOrders`] (5), [`ReqAllOpenOrders`] (16), [`ReqAutoOpenOrders`] (15) | per working order [`OpenOrder`] + [`OrderStatus`], then [`OpenOrderEnd`] (ends the client's stream). `ReqOpenOrders` is this client's orders, `ReqAllOpenOrders` every client's. |
//! | [`ReqCompletedOrders`] (99) | [`CompletedOrder`] per filled/cancelled order (state with `completed_time`, `completed_status`; quantity left unfilled in `total_quantity`, filled in `filled_quantity`), then [`CompletedOrdersEnd`]. `wait_for_fill` sends this (after `ReqOpenOrders`) when it has seen no status for the order. |
//! | [`ReqExecutions`] (7) | per matching fill [`ExecutionData`] (the request's id) + [`CommissionReport`], then [`ExecutionDataEnd`] (request id; ends the client's stream). Filter: `client_id` (absent = any), account, `time` "yyyymmdd hh:mm:ss" (fills after it), symbol, sec type, exchange, side `BUY`/`SELL`, `last_n_days`, `specific_dates` (yyyymmdd); with none of time/last_n_days/dates TWS returns today's fills. |
//! | [`ReqPositions`] (61) | [`Position`] per holding, then [`PositionEnd`]; the subscription stays open: send a fresh [`Position`] after each fill until [`CancelPositions`] (64). |
//! | [`ReqAccountSummary`] (62) | per account and tag [`AccountSummary`] (req id, account, tag, value, currency), then [`AccountSummaryEnd`] (req id); TWS re-sends the rows every 3 minutes until [`CancelAccountSummary`] (63). Tags arrive comma-separated (`NetLiquidation,TotalCashValue,...`), group is usually `All`. |
//!
//! Fields `ibapi` requires (its decode fails otherwise, ending the subscription): `OpenOrder`,
//! `CompletedOrder`, `ExecutionData` and `Position` need their `contract`; `OpenOrder` and
//! `CompletedOrder` need `order` with a non-empty `action` (`BUY`, `SELL`, `SSHORT`, `SLONG`) and
//! `order_state` with a non-empty `status`; `OrderStatus` needs `status`, `filled` and `remaining`
//! (decimal strings, send `"0"` explicitly); `Execution.side` must be `BOT` or `SLD`;
//! `Position.position` must be present (`"0"` when flat). Decimal strings are plain numbers
//! (`"100"`, `"0.5"`); `f64::to_string` prints them right. A double equal to [`UNSET_DOUBLE`]
//! (`f64::MAX`) reads as "no value" (e.g. `realized_pnl` of an opening fill).
//!
//! Order fields as `ibapi` encodes them: a `false` bool and a `0` id are left out, so an absent
//! `transmit` means **false** (hold the order, e.g. a bracket parent, until a later order of the
//! group arrives with `transmit` true); `tif` is always sent (`DAY` by default); `total_quantity` is a
//! decimal string; `order.order_id` is not sent (the id is `PlaceOrder.order_id`); a stock contract
//! built with `Contract::stock("AAPL").build()` arrives as symbol `AAPL`, sec type `STK`, exchange
//! `SMART`, currency `USD`, no con id.
//!
//! # The `ibapi` 5.5 async client API (for the adapter)
//!
//! Types: `ibapi::Client`, `ibapi::Error`, `ibapi::contracts::Contract`,
//! `ibapi::orders::{Order, OrderId, Action, TimeInForce, PlaceOrder, CancelOrder, Orders, Executions,
//! ExecutionFilter, ExecutionData, CommissionReport, OrderData, OrderStatus, OrderStatusKind,
//! OrderUpdate, OrderOutcome}`, `ibapi::accounts::{PositionUpdate, Position, AccountSummaryResult,
//! AccountSummary, AccountSummaryTags, types::AccountGroup}`, `ibapi::market_data::MarketDataType`,
//! `ibapi::market_data::realtime::{TickTypes, Quote, MarketDataBuilder}`,
//! `ibapi::subscriptions::{Subscription, SubscriptionItem, SubscriptionItemStreamExt}`; all of
//! these except the orders and accounts structs are also in `ibapi::prelude`.
//!
//! ```text
//! Client::connect(address: &str, client_id: i32) -> Result<Client, Error>          (async)
//! client.next_order_id(&self) -> i32      // hands out a new id per call (counter seeded by NextValidId)
//! client.server_version(&self) -> i32    client.handshake_managed_accounts(&self) -> &[String]
//! client.disconnect(&self)                                                        (async)
//! client.next_valid_order_id(&self) -> Result<i32, Error>  (async; ReqIds → NextValidId)
//! client.managed_accounts(&self) -> Result<Vec<String>, Error>                    (async)
//! client.server_time(&self) -> Result<time::OffsetDateTime, Error>                (async)
//! client.switch_market_data_type(&self, market_data_type: MarketDataType) -> Result<(), Error>  (async)
//! client.market_data<'a>(&'a self, contract: &'a Contract) -> MarketDataBuilder<'a, Client>
//!     .generic_ticks(self, ticks: &[&str]) -> Self   .add_generic_tick(self, impl AsRef<str>) -> Self
//!     .snapshot(self) -> Self   .streaming(self) -> Self   .regulatory_snapshot(self) -> Self
//!     .subscribe(self) -> Result<Subscription<TickTypes>, Error>                   (async)
//!     .snapshot_once(self, timeout: Duration) -> Result<Vec<TickTypes>, Error>     (async)
//! client.place_order(&self, order_id: impl Into<OrderId>, contract: &Contract, order: &Order)
//!     -> Result<Subscription<PlaceOrder>, Error>                                   (async)
//! client.submit_order(&self, order_id: impl Into<OrderId>, contract: &Contract, order: &Order)
//!     -> Result<(), Error>                                                         (async)
//! client.cancel_order(&self, order_id: impl Into<OrderId>, manual_order_cancel_time: &str)
//!     -> Result<Subscription<CancelOrder>, Error>                                  (async; "" = now)
//! client.global_cancel(&self) -> Result<(), Error>                                 (async)
//! client.open_orders(&self) -> Result<Subscription<Orders>, Error>                 (async)
//! client.all_open_orders(&self) -> Result<Subscription<Orders>, Error>             (async)
//! client.completed_orders(&self, api_only: bool) -> Result<Subscription<Orders>, Error>   (async)
//! client.executions(&self, filter: ExecutionFilter) -> Result<Subscription<Executions>, Error>  (async)
//! client.order_update_stream(&self) -> Result<Subscription<OrderUpdate>, Error>    (async; one at a time)
//! client.order_status_stream(&self, order_id: impl Into<OrderId>) -> Result<Subscription<OrderStatus>, Error>  (async)
//! client.wait_for_fill(&self, order_id: impl Into<OrderId>, timeout: Duration) -> Result<OrderOutcome, Error>  (async)
//! client.positions(&self) -> Result<Subscription<PositionUpdate>, Error>           (async)
//! client.account_summary(&self, group: &AccountGroup, tags: &[&str])
//!     -> Result<Subscription<AccountSummaryResult>, Error>                         (async)
//! ```
//!
//! `Subscription<T>` is a `futures::Stream<Item = Result<SubscriptionItem<T>, Error>>` with
//! `SubscriptionItem::{Data(T), Notice(Notice)}`; `None` ends it, an `Err` is terminal;
//! `.filter_data()` (trait `SubscriptionItemStreamExt`) drops notices and yields `Result<T, Error>`;
//! `.cancel().await` stops it; dropping the last clone sends the cancel request if the kind has one
//! (market data → [`CancelMktData`], positions → [`CancelPositions`], account summary →
//! [`CancelAccountSummary`]; orders, open orders and executions send nothing).
//!
//! * `PlaceOrder` = `OrderStatus(OrderStatus) | OpenOrder(OrderData) | ExecutionData(ExecutionData)
//!   | CommissionReport(CommissionReport)`; the stream never ends by itself. While it is alive it
//!   also captures the order's fills that answer a later `executions()` call (routing tries the
//!   order id first), so drop it before asking for executions. `submit_order` registers nothing:
//!   watch the order through `order_update_stream` / `order_status_stream` / `wait_for_fill`.
//! * `CancelOrder` = `OrderStatus(OrderStatus)`; code 202 arrives as `SubscriptionItem::Notice`
//!   (`notice.is_cancellation()`); the stream stays open until dropped.
//! * `Orders` = `OrderData(OrderData) | OrderStatus(OrderStatus)`; ends at [`OpenOrderEnd`] /
//!   [`CompletedOrdersEnd`].
//! * `Executions` = `ExecutionData(ExecutionData) | CommissionReport(CommissionReport)`; ends at
//!   [`ExecutionDataEnd`]. `ExecutionFilter { client_id: Option<i32>, account_code: String, time:
//!   String, symbol: String, security_type: String, exchange: String, side:
//!   Option<ExecutionFilterSide>, last_n_days: i32, specific_dates: Vec<String> }` (Default, not
//!   Clone).
//! * `PositionUpdate` = `Position(Position { account, contract, position: f64, average_cost: f64 })
//!   | PositionEnd`; the stream continues after `PositionEnd`.
//! * `AccountSummaryResult` = `Summary(AccountSummary { account, tag, value, currency }) | End`; the
//!   stream continues after `End`. `AccountGroup::from("All")`.
//! * `TickTypes` = `Price(TickPrice) | Size(TickSize) | PriceSize(TickPriceSize) | String(..) |
//!   Generic(..) | OptionComputation(..) | SnapshotEnd | RequestParameters(..) |
//!   MarketDataType(MarketDataType)`; `Quote::from_ticks(&ticks)` folds live and delayed ticks
//!   into bid/ask/last/open/high/low/close/sizes/volume.
//! * `Order` fields we use: `action: Action` (`Buy`, `Sell`, ...), `total_quantity: f64`,
//!   `order_type: String` (`"MKT"`, `"LMT"`, `"STP"`, `"TRAIL"`, ...), `limit_price: Option<f64>`,
//!   `aux_price: Option<f64>`, `trailing_percent: Option<f64>`, `trail_stop_price: Option<f64>`,
//!   `tif: TimeInForce`, `order_ref: String`, `transmit: bool` (default true), `parent_id: i32`,
//!   `account: String`, `outside_rth: bool`; build with `Order { .., ..Order::default() }`.
//! * `OrderStatus { order_id, status: OrderStatusKind, filled: f64, remaining: f64,
//!   average_fill_price: Option<f64>, perm_id: i64, parent_id, last_fill_price: Option<f64>,
//!   client_id, why_held, market_cap_price: Option<f64> }`; `ExecutionData { request_id, contract,
//!   execution: Execution { order_id, client_id, execution_id, time, account_number, exchange, side,
//!   shares, price, perm_id, cumulative_quantity, average_price, order_reference, .. } }`;
//!   `CommissionReport { execution_id, commission, currency, realized_pnl: Option<f64>, .. }`;
//!   `OrderData { order_id, contract, order, order_state: OrderState { status, .. } }`.

use std::io;

use prost::Message as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

/// Failures of reading, writing or decoding the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed or closed mid-message.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A frame length above [`MAX_FRAME_LEN`].
    #[error("frame length {0} exceeds the maximum of {MAX_FRAME_LEN} bytes")]
    FrameTooLong(usize),
    /// The connection opened with something other than `API\0`.
    #[error("connection does not start with API\\0 (got {0:?})")]
    BadPrefix([u8; 4]),
    /// The client's version range could not be read.
    #[error("malformed client version range {0:?}")]
    BadVersionRange(String),
    /// The client's version range and ours do not meet.
    #[error("client offers versions {min}..{max}, the gateway speaks {MIN_SERVER_VERSION}..{SERVER_VERSION}")]
    UnsupportedVersion {
        /// The client's lowest version.
        min: i32,
        /// The client's highest version.
        max: i32,
    },
    /// A frame body too short to hold a message id.
    #[error("frame of {0} bytes cannot hold a message id")]
    ShortFrame(usize),
    /// A text-framed message where protobuf was expected.
    #[error("message id {0} is text-framed; only protobuf messages are supported")]
    NotProtobuf(i32),
    /// A message of another kind than the one asked for.
    #[error("expected message id {expected}, got {actual}")]
    UnexpectedMessage {
        /// The id asked for.
        expected: i32,
        /// The id that arrived.
        actual: i32,
    },
    /// The protobuf payload did not decode.
    #[error("protobuf decode failed: {0}")]
    Decode(#[from] prost::DecodeError),
}

/// Message ids of the requests the gateway reads (the client's outgoing ids, before the +200).
pub mod in_id {
    /// Subscribe to level-1 market data ([`super::ReqMktData`]).
    pub const REQ_MKT_DATA: i32 = 1;
    /// Cancel a market data subscription ([`super::CancelMktData`]).
    pub const CANCEL_MKT_DATA: i32 = 2;
    /// Place or modify an order ([`super::PlaceOrder`]).
    pub const PLACE_ORDER: i32 = 3;
    /// Cancel an order ([`super::CancelOrder`]).
    pub const CANCEL_ORDER: i32 = 4;
    /// This client's open orders ([`super::ReqOpenOrders`]).
    pub const REQ_OPEN_ORDERS: i32 = 5;
    /// Account updates (not served by the gateway).
    pub const REQ_ACCOUNT_DATA: i32 = 6;
    /// Executions matching a filter ([`super::ReqExecutions`]).
    pub const REQ_EXECUTIONS: i32 = 7;
    /// The next valid order id ([`super::ReqIds`]).
    pub const REQ_IDS: i32 = 8;
    /// Orders placed from TWS (client 0) ([`super::ReqAutoOpenOrders`]).
    pub const REQ_AUTO_OPEN_ORDERS: i32 = 15;
    /// Every client's open orders ([`super::ReqAllOpenOrders`]).
    pub const REQ_ALL_OPEN_ORDERS: i32 = 16;
    /// The managed account list ([`super::ReqManagedAccts`]).
    pub const REQ_MANAGED_ACCTS: i32 = 17;
    /// The server clock in seconds ([`super::ReqCurrentTime`]).
    pub const REQ_CURRENT_TIME: i32 = 49;
    /// Cancel every open order ([`super::ReqGlobalCancel`]).
    pub const REQ_GLOBAL_CANCEL: i32 = 58;
    /// Switch live/frozen/delayed market data ([`super::ReqMarketDataType`]).
    pub const REQ_MARKET_DATA_TYPE: i32 = 59;
    /// Subscribe to positions ([`super::ReqPositions`]).
    pub const REQ_POSITIONS: i32 = 61;
    /// Subscribe to the account summary ([`super::ReqAccountSummary`]).
    pub const REQ_ACCOUNT_SUMMARY: i32 = 62;
    /// Cancel an account summary subscription ([`super::CancelAccountSummary`]).
    pub const CANCEL_ACCOUNT_SUMMARY: i32 = 63;
    /// Cancel the positions subscription ([`super::CancelPositions`]).
    pub const CANCEL_POSITIONS: i32 = 64;
    /// Start the API session, first message after the handshake ([`super::StartApi`]).
    pub const START_API: i32 = 71;
    /// Filled and cancelled orders ([`super::ReqCompletedOrders`]).
    pub const REQ_COMPLETED_ORDERS: i32 = 99;
    /// The server clock in milliseconds ([`super::ReqCurrentTimeInMillis`]).
    pub const REQ_CURRENT_TIME_IN_MILLIS: i32 = 105;
}

/// Message ids of the messages the gateway writes (the client's incoming ids, before the +200).
pub mod out_id {
    /// A price tick ([`super::TickPrice`]).
    pub const TICK_PRICE: i32 = 1;
    /// A size tick ([`super::TickSize`]).
    pub const TICK_SIZE: i32 = 2;
    /// An order's fill state ([`super::OrderStatus`]).
    pub const ORDER_STATUS: i32 = 3;
    /// An error or notice ([`super::ErrorMessage`]).
    pub const ERROR: i32 = 4;
    /// An order with its contract and state ([`super::OpenOrder`]).
    pub const OPEN_ORDER: i32 = 5;
    /// The next valid order id ([`super::NextValidId`]).
    pub const NEXT_VALID_ID: i32 = 9;
    /// One fill ([`super::ExecutionData`]).
    pub const EXECUTION_DATA: i32 = 11;
    /// The managed account list ([`super::ManagedAccounts`]).
    pub const MANAGED_ACCOUNTS: i32 = 15;
    /// The server clock in seconds ([`super::CurrentTime`]).
    pub const CURRENT_TIME: i32 = 49;
    /// End of an open-orders reply ([`super::OpenOrderEnd`]).
    pub const OPEN_ORDER_END: i32 = 53;
    /// End of an executions reply ([`super::ExecutionDataEnd`]).
    pub const EXECUTION_DATA_END: i32 = 55;
    /// End of a market data snapshot ([`super::TickSnapshotEnd`]).
    pub const TICK_SNAPSHOT_END: i32 = 57;
    /// The market data type a subscription gets ([`super::MarketDataType`]).
    pub const MARKET_DATA_TYPE: i32 = 58;
    /// The commission of one fill ([`super::CommissionReport`]).
    pub const COMMISSION_REPORT: i32 = 59;
    /// One position ([`super::Position`]).
    pub const POSITION: i32 = 61;
    /// End of the positions snapshot ([`super::PositionEnd`]).
    pub const POSITION_END: i32 = 62;
    /// One account summary value ([`super::AccountSummary`]).
    pub const ACCOUNT_SUMMARY: i32 = 63;
    /// End of an account summary batch ([`super::AccountSummaryEnd`]).
    pub const ACCOUNT_SUMMARY_END: i32 = 64;
    /// Tick parameters of a market data subscription ([`super::TickReqParams`]).
    pub const TICK_REQ_PARAMS: i32 = 81;
    /// A filled or cancelled order ([`super::CompletedOrder`]).
    pub const COMPLETED_ORDER: i32 = 101;
    /// End of a completed-orders reply ([`super::CompletedOrdersEnd`]).
    pub const COMPLETED_ORDERS_END: i32 = 102;
    /// The server clock in milliseconds ([`super::CurrentTimeInMillis`]).
    pub const CURRENT_TIME_IN_MILLIS: i32 = 109;
}

/// Tick type numbers for [`TickPrice::tick_type`] and [`TickSize::tick_type`].
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

/// Bits of [`TickPrice::attributes`].
pub mod tick_attr {
    /// The price can be executed automatically.
    pub const CAN_AUTO_EXECUTE: i32 = 0x1;
    /// The price is beyond a limit.
    pub const PAST_LIMIT: i32 = 0x2;
    /// The price is from the pre-open session.
    pub const PRE_OPEN: i32 = 0x4;
}

/// Values of [`ReqMarketDataType::market_data_type`] and [`MarketDataType::market_data_type`].
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

/// Order status strings for [`OrderStatus::status`] and [`OrderState::status`].
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

/// TWS error and notice codes for [`ErrorMessage::code`].
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

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

/// Reads one frame body. `Ok(None)` when the peer closed the connection between frames.
///
/// # Errors
/// [`WireError::Io`] when the socket fails or closes inside a frame, [`WireError::FrameTooLong`]
/// for a length above [`MAX_FRAME_LEN`].
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, WireError> {
    let mut header = [0_u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        let read = reader.read(&mut header[filled..]).await?;
        if read == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a frame length").into());
        }
        filled += read;
    }
    let len = usize::try_from(u32::from_be_bytes(header)).map_err(|_| WireError::FrameTooLong(usize::MAX))?;
    if len > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(len));
    }
    let mut body = vec![0_u8; len];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// The frame for `body`: its length as a big-endian `u32`, then the body.
///
/// # Errors
/// [`WireError::FrameTooLong`] for a body above [`MAX_FRAME_LEN`].
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, WireError> {
    if body.len() > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(body.len()));
    }
    let len = u32::try_from(body.len()).map_err(|_| WireError::FrameTooLong(body.len()))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    Ok(frame)
}

/// Writes `body` as one frame (in a single write, so frames from one writer never interleave) and
/// flushes.
///
/// # Errors
/// [`WireError::FrameTooLong`] for a body above [`MAX_FRAME_LEN`], [`WireError::Io`] when the write
/// fails.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> Result<(), WireError> {
    let frame = encode_frame(body)?;
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

/// What a client announces before the session starts: the server versions it can speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The lowest server version the client accepts.
    pub min_version: i32,
    /// The highest server version the client accepts.
    pub max_version: i32,
    /// Connect options after the range (`ibapi` sends none).
    pub options: String,
}

impl ClientHello {
    /// Parses the version text, `v213..226` optionally followed by a space and connect options; a
    /// single version (`v213`) is a range of one.
    ///
    /// # Errors
    /// [`WireError::BadVersionRange`] when the text is not such a range.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let bad = || WireError::BadVersionRange(text.to_owned());
        let rest = text.strip_prefix('v').ok_or_else(bad)?;
        let (range, options) = rest.split_once(' ').unwrap_or((rest, ""));
        let (min, max) = range.split_once("..").unwrap_or((range, range));
        let min_version: i32 = min.trim().parse().map_err(|_| bad())?;
        let max_version: i32 = max.trim().parse().map_err(|_| bad())?;
        if min_version > max_version {
            return Err(bad());
        }
        Ok(Self { min_version, max_version, options: options.trim().to_owned() })
    }

    /// The server version to answer with: the highest one both sides speak.
    ///
    /// # Errors
    /// [`WireError::UnsupportedVersion`] when the client's range lies outside
    /// [`MIN_SERVER_VERSION`]..=[`SERVER_VERSION`].
    pub fn negotiate(&self) -> Result<i32, WireError> {
        let version = self.max_version.min(SERVER_VERSION);
        if version < self.min_version || version < MIN_SERVER_VERSION {
            return Err(WireError::UnsupportedVersion { min: self.min_version, max: self.max_version });
        }
        Ok(version)
    }
}

/// Reads the client's opening: `API\0`, then a frame with its version range.
///
/// # Errors
/// [`WireError::BadPrefix`] for another opening, [`WireError::BadVersionRange`] for an unreadable
/// range, [`WireError::Io`] when the socket fails or closes first.
pub async fn read_client_hello<R: AsyncRead + Unpin>(reader: &mut R) -> Result<ClientHello, WireError> {
    let mut prefix = [0_u8; 4];
    reader.read_exact(&mut prefix).await?;
    if prefix != API_PREFIX {
        return Err(WireError::BadPrefix(prefix));
    }
    let body = read_frame(reader)
        .await?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the version range"))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| WireError::BadVersionRange(String::from_utf8_lossy(&body).into_owned()))?;
    ClientHello::parse(text)
}

/// The body of the handshake reply: `"{server_version}\0{connection_time}\0"`.
pub fn handshake_reply(server_version: i32, connection_time: &str) -> Vec<u8> {
    format!("{server_version}\0{connection_time}\0").into_bytes()
}

/// Writes the handshake reply as one frame.
///
/// # Errors
/// [`WireError::Io`] when the write fails.
pub async fn write_handshake_reply<W: AsyncWrite + Unpin>(
    writer: &mut W,
    server_version: i32,
    connection_time: &str,
) -> Result<(), WireError> {
    write_frame(writer, &handshake_reply(server_version, connection_time)).await
}

/// A connection time as the client reads it: `yyyymmdd hh:mm:ss UTC`.
pub fn format_connection_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y%m%d %H:%M:%S UTC").to_string()
}

// ---------------------------------------------------------------------------------------------
// Message ids and protobuf bodies
// ---------------------------------------------------------------------------------------------

/// Splits a frame body into the message id exactly as sent (protobuf ids still carry the +200)
/// and the payload.
///
/// # Errors
/// [`WireError::ShortFrame`] for a body shorter than 4 bytes.
pub fn split_message(body: &[u8]) -> Result<(i32, &[u8]), WireError> {
    let (id, payload) = body.split_first_chunk::<4>().ok_or(WireError::ShortFrame(body.len()))?;
    Ok((i32::from_be_bytes(*id), payload))
}

/// Splits a protobuf frame body into its message id (the +200 removed) and the protobuf payload.
///
/// # Errors
/// [`WireError::ShortFrame`] for a body shorter than 4 bytes, [`WireError::NotProtobuf`] for a
/// text-framed one.
pub fn split_protobuf(body: &[u8]) -> Result<(i32, &[u8]), WireError> {
    let (id, payload) = split_message(body)?;
    if id <= PROTOBUF_ID_OFFSET {
        return Err(WireError::NotProtobuf(id));
    }
    Ok((id - PROTOBUF_ID_OFFSET, payload))
}

/// A protobuf frame body: `msg_id + 200` as a big-endian `i32`, then the encoded message.
pub fn protobuf_body(msg_id: i32, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 4);
    body.extend_from_slice(&(msg_id + PROTOBUF_ID_OFFSET).to_be_bytes());
    body.extend_from_slice(payload);
    body
}

/// A message the gateway writes to the client.
pub trait ServerMessage: prost::Message + Default + Sized {
    /// Its message id (from [`out_id`]).
    const ID: i32;

    /// The frame body: id + 200, then the protobuf bytes.
    fn to_body(&self) -> Vec<u8> {
        protobuf_body(Self::ID, &self.encode_to_vec())
    }

    /// Decodes a frame body that must carry this message.
    ///
    /// # Errors
    /// [`WireError::UnexpectedMessage`] for another id, else as [`split_protobuf`] and
    /// [`WireError::Decode`].
    fn from_body(body: &[u8]) -> Result<Self, WireError> {
        decode_expected(Self::ID, body)
    }
}

/// A request the client sends to the gateway. Encoding is for tests and simulated clients; the
/// gateway decodes with [`Request::decode`].
pub trait ClientRequest: prost::Message + Default + Sized {
    /// Its message id (from [`in_id`]).
    const ID: i32;

    /// The frame body: id + 200, then the protobuf bytes.
    fn to_body(&self) -> Vec<u8> {
        protobuf_body(Self::ID, &self.encode_to_vec())
    }

    /// Decodes a frame body that must carry this request.
    ///
    /// # Errors
    /// [`WireError::UnexpectedMessage`] for another id, else as [`split_protobuf`] and
    /// [`WireError::Decode`].
    fn from_body(body: &[u8]) -> Result<Self, WireError> {
        decode_expected(Self::ID, body)
    }
}

fn decode_expected<M: prost::Message + Default>(expected: i32, body: &[u8]) -> Result<M, WireError> {
    let (actual, payload) = split_protobuf(body)?;
    if actual != expected {
        return Err(WireError::UnexpectedMessage { expected, actual });
    }
    Ok(M::decode(payload)?)
}

/// Writes `message` as one frame.
///
/// # Errors
/// [`WireError::Io`] when the write fails.
pub async fn write_message<W: AsyncWrite + Unpin, M: ServerMessage>(
    writer: &mut W,
    message: &M,
) -> Result<(), WireError> {
    write_frame(writer, &message.to_body()).await
}

// ---------------------------------------------------------------------------------------------
// Shared sub-messages
// ---------------------------------------------------------------------------------------------

/// An instrument. Requests carry what the client set; replies must carry one (a stock needs at
/// least symbol, sec type, exchange and currency).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Contract {
    /// IB's contract id (0 / absent when unknown).
    #[prost(int32, optional, tag = "1")]
    pub con_id: Option<i32>,
    /// Ticker symbol.
    #[prost(string, optional, tag = "2")]
    pub symbol: Option<String>,
    /// Security type: `STK`, `OPT`, `FUT`, `CASH`, ...
    #[prost(string, optional, tag = "3")]
    pub sec_type: Option<String>,
    /// Expiry or contract month of derivatives.
    #[prost(string, optional, tag = "4")]
    pub expiry: Option<String>,
    /// Option strike.
    #[prost(double, optional, tag = "5")]
    pub strike: Option<f64>,
    /// Option right: `C`, `P`.
    #[prost(string, optional, tag = "6")]
    pub right: Option<String>,
    /// Contract multiplier.
    #[prost(double, optional, tag = "7")]
    pub multiplier: Option<f64>,
    /// Routing exchange, e.g. `SMART`.
    #[prost(string, optional, tag = "8")]
    pub exchange: Option<String>,
    /// Primary listing exchange, e.g. `NASDAQ`.
    #[prost(string, optional, tag = "9")]
    pub primary_exchange: Option<String>,
    /// Currency, e.g. `USD`.
    #[prost(string, optional, tag = "10")]
    pub currency: Option<String>,
    /// Symbol on the primary exchange.
    #[prost(string, optional, tag = "11")]
    pub local_symbol: Option<String>,
    /// Trading class.
    #[prost(string, optional, tag = "12")]
    pub trading_class: Option<String>,
}

/// An order's terms. Only the fields the paper gateway reads or echoes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    /// The client that placed it; echo the connecting client's id.
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    /// The client's order id (not sent by `ibapi` in requests; set it in replies).
    #[prost(int32, optional, tag = "2")]
    pub order_id: Option<i32>,
    /// The gateway's permanent order id.
    #[prost(int64, optional, tag = "3")]
    pub perm_id: Option<i64>,
    /// Parent order id of a bracket child (absent = none).
    #[prost(int32, optional, tag = "4")]
    pub parent_id: Option<i32>,
    /// `BUY`, `SELL`, `SSHORT`, `SLONG` (required in replies).
    #[prost(string, optional, tag = "5")]
    pub action: Option<String>,
    /// Quantity as a decimal string.
    #[prost(string, optional, tag = "6")]
    pub total_quantity: Option<String>,
    /// `MKT`, `LMT`, `STP`, `STP LMT`, `TRAIL`, ...
    #[prost(string, optional, tag = "8")]
    pub order_type: Option<String>,
    /// Limit price.
    #[prost(double, optional, tag = "9")]
    pub limit_price: Option<f64>,
    /// Stop price, or trailing amount of a trailing order.
    #[prost(double, optional, tag = "10")]
    pub aux_price: Option<f64>,
    /// Time in force: `DAY`, `GTC`, `IOC`, `OPG`, ...
    #[prost(string, optional, tag = "11")]
    pub tif: Option<String>,
    /// Account to book the order to.
    #[prost(string, optional, tag = "12")]
    pub account: Option<String>,
    /// May fill outside regular trading hours (absent = false).
    #[prost(bool, optional, tag = "19")]
    pub outside_rth: Option<bool>,
    /// Trailing distance in percent of a trailing order.
    #[prost(double, optional, tag = "22")]
    pub trailing_percent: Option<f64>,
    /// Initial stop price of a trailing order.
    #[prost(double, optional, tag = "23")]
    pub trail_stop_price: Option<f64>,
    /// One-cancels-all group name.
    #[prost(string, optional, tag = "27")]
    pub oca_group: Option<String>,
    /// Free-form reference the client attaches; echoed on executions.
    #[prost(string, optional, tag = "28")]
    pub order_ref: Option<String>,
    /// Only compute margin impact, do not place (absent = false).
    #[prost(bool, optional, tag = "65")]
    pub what_if: Option<bool>,
    /// Send the order now (absent = **false**: `ibapi` omits false bools; hold it).
    #[prost(bool, optional, tag = "66")]
    pub transmit: Option<bool>,
    /// Quantity filled, as a decimal string (completed orders).
    #[prost(string, optional, tag = "115")]
    pub filled_quantity: Option<String>,
}

/// An order's state inside [`OpenOrder`] and [`CompletedOrder`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderState {
    /// Status, one of [`status`] (required).
    #[prost(string, optional, tag = "1")]
    pub status: Option<String>,
    /// Commission charged so far.
    #[prost(double, optional, tag = "11")]
    pub commission: Option<f64>,
    /// Currency of the commission.
    #[prost(string, optional, tag = "14")]
    pub commission_currency: Option<String>,
    /// Why the order was rejected.
    #[prost(string, optional, tag = "26")]
    pub reject_reason: Option<String>,
    /// When a completed order ended, `yyyymmdd hh:mm:ss <zone>`.
    #[prost(string, optional, tag = "29")]
    pub completed_time: Option<String>,
    /// Free-form end text of a completed order, e.g. `Filled Size: 100`.
    #[prost(string, optional, tag = "30")]
    pub completed_status: Option<String>,
}

/// One fill inside [`ExecutionData`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Execution {
    /// The client's order id.
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// Unique fill id; the [`CommissionReport`] for this fill carries the same id.
    #[prost(string, optional, tag = "2")]
    pub exec_id: Option<String>,
    /// Fill time, `yyyymmdd hh:mm:ss <zone>`.
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    /// Account the fill was booked to.
    #[prost(string, optional, tag = "4")]
    pub account: Option<String>,
    /// Exchange that filled it.
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
    /// `BOT` or `SLD` (required).
    #[prost(string, optional, tag = "6")]
    pub side: Option<String>,
    /// Quantity of this fill, decimal string.
    #[prost(string, optional, tag = "7")]
    pub shares: Option<String>,
    /// Price of this fill.
    #[prost(double, optional, tag = "8")]
    pub price: Option<f64>,
    /// The gateway's permanent order id.
    #[prost(int64, optional, tag = "9")]
    pub perm_id: Option<i64>,
    /// The client that placed the order.
    #[prost(int32, optional, tag = "10")]
    pub client_id: Option<i32>,
    /// Quantity filled so far on the order, decimal string.
    #[prost(string, optional, tag = "12")]
    pub cum_qty: Option<String>,
    /// Average price of the order's fills so far.
    #[prost(double, optional, tag = "13")]
    pub avg_price: Option<f64>,
    /// The order's `order_ref`.
    #[prost(string, optional, tag = "14")]
    pub order_ref: Option<String>,
    /// Liquidity flag: 1 added, 2 removed, 3 routed out.
    #[prost(int32, optional, tag = "18")]
    pub last_liquidity: Option<i32>,
}

/// Which executions a [`ReqExecutions`] wants.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionFilter {
    /// Only this client's fills (absent = every client).
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    /// Only this account.
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    /// Only fills after this time, `yyyymmdd hh:mm:ss`.
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    /// Only this symbol.
    #[prost(string, optional, tag = "4")]
    pub symbol: Option<String>,
    /// Only this security type.
    #[prost(string, optional, tag = "5")]
    pub sec_type: Option<String>,
    /// Only this exchange.
    #[prost(string, optional, tag = "6")]
    pub exchange: Option<String>,
    /// Only this side: `BUY` or `SELL`.
    #[prost(string, optional, tag = "7")]
    pub side: Option<String>,
    /// Fills of the last N days.
    #[prost(int32, optional, tag = "8")]
    pub last_n_days: Option<i32>,
    /// Fills on these dates, as `yyyymmdd` numbers.
    #[prost(int32, repeated, tag = "9")]
    pub specific_dates: Vec<i32>,
}

/// Options of a [`CancelOrder`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderCancel {
    /// Manual cancel time (absent = now).
    #[prost(string, optional, tag = "1")]
    pub manual_cancel_time: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Requests, client → gateway
// ---------------------------------------------------------------------------------------------

/// Starts the session; the first message after the handshake.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StartApi {
    /// The client id; order messages for this client must carry it.
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    /// Optional capabilities text.
    #[prost(string, optional, tag = "2")]
    pub capabilities: Option<String>,
}

/// Asks for the next valid order id; answered with [`NextValidId`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqIds {
    /// Number of ids wanted (`ibapi` sends 0).
    #[prost(int32, optional, tag = "1")]
    pub count: Option<i32>,
}

/// Asks for the managed accounts; answered with [`ManagedAccounts`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqManagedAccts {}

/// Asks for the server clock; answered with [`CurrentTime`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqCurrentTime {}

/// Asks for the server clock in milliseconds; answered with [`CurrentTimeInMillis`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqCurrentTimeInMillis {}

/// Switches the market data type of later [`ReqMktData`]; not answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqMarketDataType {
    /// One of [`market_data_type`].
    #[prost(int32, optional, tag = "1")]
    pub market_data_type: Option<i32>,
}

/// Subscribes to level-1 market data (or one snapshot) of a contract.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqMktData {
    /// Request id; every reply carries it.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// The instrument.
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    /// Comma-separated generic tick ids (absent = none).
    #[prost(string, optional, tag = "3")]
    pub generic_ticks: Option<String>,
    /// One snapshot then [`TickSnapshotEnd`] (absent = stream).
    #[prost(bool, optional, tag = "4")]
    pub snapshot: Option<bool>,
    /// A paid regulatory snapshot.
    #[prost(bool, optional, tag = "5")]
    pub regulatory_snapshot: Option<bool>,
}

/// Ends a [`ReqMktData`] subscription; not answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelMktData {
    /// The subscription's request id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

/// Places a new order or modifies a working one with the same id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PlaceOrder {
    /// The client's order id.
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// The instrument.
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    /// The order's terms.
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
}

/// Cancels one order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelOrder {
    /// The client's order id.
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// Cancel options.
    #[prost(message, optional, tag = "2")]
    pub cancel: Option<OrderCancel>,
}

/// Cancels every working order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqGlobalCancel {
    /// Cancel options.
    #[prost(message, optional, tag = "1")]
    pub cancel: Option<OrderCancel>,
}

/// Asks for this client's working orders.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqOpenOrders {}

/// Asks for every client's working orders.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqAllOpenOrders {}

/// Asks for orders placed in TWS itself (client id 0 only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqAutoOpenOrders {
    /// Bind such orders to this client.
    #[prost(bool, optional, tag = "1")]
    pub auto_bind: Option<bool>,
}

/// Asks for filled and cancelled orders.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqCompletedOrders {
    /// Only orders placed through the API.
    #[prost(bool, optional, tag = "1")]
    pub api_only: Option<bool>,
}

/// Asks for executions matching a filter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqExecutions {
    /// Request id; [`ExecutionData`] and [`ExecutionDataEnd`] carry it.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// The filter.
    #[prost(message, optional, tag = "2")]
    pub filter: Option<ExecutionFilter>,
}

/// Subscribes to positions of all accounts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqPositions {}

/// Ends the positions subscription; not answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelPositions {}

/// Subscribes to account summary values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqAccountSummary {
    /// Request id; every reply carries it.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// Account group, usually `All`.
    #[prost(string, optional, tag = "2")]
    pub group: Option<String>,
    /// Comma-separated tags, e.g. `NetLiquidation,TotalCashValue`.
    #[prost(string, optional, tag = "3")]
    pub tags: Option<String>,
}

/// Ends an account summary subscription; not answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelAccountSummary {
    /// The subscription's request id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// Messages, gateway → client
// ---------------------------------------------------------------------------------------------

/// The next valid order id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NextValidId {
    /// The id; must be below [`FIRST_REQUEST_ID`].
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

/// The market data type a [`ReqMktData`] subscription gets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDataType {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`market_data_type`].
    #[prost(int32, optional, tag = "2")]
    pub market_data_type: Option<i32>,
}

/// A price tick, optionally with the size that goes with it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickPrice {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`tick_type`].
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    /// The price.
    #[prost(double, optional, tag = "3")]
    pub price: Option<f64>,
    /// Size at that price, decimal string (for bid/ask/last and their delayed forms).
    #[prost(string, optional, tag = "4")]
    pub size: Option<String>,
    /// Bit set of [`tick_attr`].
    #[prost(int32, optional, tag = "5")]
    pub attributes: Option<i32>,
}

/// A size tick.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TickSize {
    /// The market data request's id.
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    /// One of [`tick_type`].
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
    /// One of [`status`] (required).
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

/// One fill, live (request id −1) or answering a [`ReqExecutions`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionData {
    /// The executions request's id, or [`NO_ID`] for a live fill.
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
    /// Realized P&L of a closing fill ([`UNSET_DOUBLE`] or absent for an opening fill).
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
    /// Request id, order id, or [`NO_ID`].
    #[prost(int32, optional, tag = "1")]
    pub id: Option<i32>,
    /// When, in Unix milliseconds.
    #[prost(int64, optional, tag = "2")]
    pub time_millis: Option<i64>,
    /// Code, see [`error_code`].
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

macro_rules! message_ids {
    ($trait_name:ident: $($ty:ident => $id:expr),+ $(,)?) => {
        $(impl $trait_name for $ty {
            const ID: i32 = $id;
        })+
    };
}

message_ids!(ClientRequest:
    StartApi => in_id::START_API,
    ReqIds => in_id::REQ_IDS,
    ReqManagedAccts => in_id::REQ_MANAGED_ACCTS,
    ReqCurrentTime => in_id::REQ_CURRENT_TIME,
    ReqCurrentTimeInMillis => in_id::REQ_CURRENT_TIME_IN_MILLIS,
    ReqMarketDataType => in_id::REQ_MARKET_DATA_TYPE,
    ReqMktData => in_id::REQ_MKT_DATA,
    CancelMktData => in_id::CANCEL_MKT_DATA,
    PlaceOrder => in_id::PLACE_ORDER,
    CancelOrder => in_id::CANCEL_ORDER,
    ReqGlobalCancel => in_id::REQ_GLOBAL_CANCEL,
    ReqOpenOrders => in_id::REQ_OPEN_ORDERS,
    ReqAllOpenOrders => in_id::REQ_ALL_OPEN_ORDERS,
    ReqAutoOpenOrders => in_id::REQ_AUTO_OPEN_ORDERS,
    ReqCompletedOrders => in_id::REQ_COMPLETED_ORDERS,
    ReqExecutions => in_id::REQ_EXECUTIONS,
    ReqPositions => in_id::REQ_POSITIONS,
    CancelPositions => in_id::CANCEL_POSITIONS,
    ReqAccountSummary => in_id::REQ_ACCOUNT_SUMMARY,
    CancelAccountSummary => in_id::CANCEL_ACCOUNT_SUMMARY,
);

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

// ---------------------------------------------------------------------------------------------
// Decoded requests
// ---------------------------------------------------------------------------------------------

/// A decoded client request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// [`StartApi`].
    StartApi(StartApi),
    /// [`ReqIds`].
    ReqIds(ReqIds),
    /// [`ReqManagedAccts`].
    ReqManagedAccts,
    /// [`ReqCurrentTime`].
    ReqCurrentTime,
    /// [`ReqCurrentTimeInMillis`].
    ReqCurrentTimeInMillis,
    /// [`ReqMarketDataType`].
    ReqMarketDataType(ReqMarketDataType),
    /// [`ReqMktData`].
    ReqMktData(Box<ReqMktData>),
    /// [`CancelMktData`].
    CancelMktData(CancelMktData),
    /// [`PlaceOrder`].
    PlaceOrder(Box<PlaceOrder>),
    /// [`CancelOrder`].
    CancelOrder(CancelOrder),
    /// [`ReqGlobalCancel`].
    ReqGlobalCancel(ReqGlobalCancel),
    /// [`ReqOpenOrders`].
    ReqOpenOrders,
    /// [`ReqAllOpenOrders`].
    ReqAllOpenOrders,
    /// [`ReqAutoOpenOrders`].
    ReqAutoOpenOrders(ReqAutoOpenOrders),
    /// [`ReqCompletedOrders`].
    ReqCompletedOrders(ReqCompletedOrders),
    /// [`ReqExecutions`].
    ReqExecutions(Box<ReqExecutions>),
    /// [`ReqPositions`].
    ReqPositions,
    /// [`CancelPositions`].
    CancelPositions,
    /// [`ReqAccountSummary`].
    ReqAccountSummary(ReqAccountSummary),
    /// [`CancelAccountSummary`].
    CancelAccountSummary(CancelAccountSummary),
    /// A protobuf request the gateway does not serve.
    Unsupported {
        /// Its message id (the +200 removed).
        id: i32,
        /// Its protobuf payload.
        payload: Vec<u8>,
    },
}

impl Request {
    /// Decodes a frame body.
    ///
    /// # Errors
    /// [`WireError::ShortFrame`] or [`WireError::NotProtobuf`] for a frame that is not a protobuf
    /// message, [`WireError::Decode`] for a payload that does not decode as its id's request.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let (id, payload) = split_protobuf(body)?;
        let request = match id {
            in_id::START_API => Self::StartApi(StartApi::decode(payload)?),
            in_id::REQ_IDS => Self::ReqIds(ReqIds::decode(payload)?),
            in_id::REQ_MANAGED_ACCTS => Self::ReqManagedAccts,
            in_id::REQ_CURRENT_TIME => Self::ReqCurrentTime,
            in_id::REQ_CURRENT_TIME_IN_MILLIS => Self::ReqCurrentTimeInMillis,
            in_id::REQ_MARKET_DATA_TYPE => Self::ReqMarketDataType(ReqMarketDataType::decode(payload)?),
            in_id::REQ_MKT_DATA => Self::ReqMktData(Box::new(ReqMktData::decode(payload)?)),
            in_id::CANCEL_MKT_DATA => Self::CancelMktData(CancelMktData::decode(payload)?),
            in_id::PLACE_ORDER => Self::PlaceOrder(Box::new(PlaceOrder::decode(payload)?)),
            in_id::CANCEL_ORDER => Self::CancelOrder(CancelOrder::decode(payload)?),
            in_id::REQ_GLOBAL_CANCEL => Self::ReqGlobalCancel(ReqGlobalCancel::decode(payload)?),
            in_id::REQ_OPEN_ORDERS => Self::ReqOpenOrders,
            in_id::REQ_ALL_OPEN_ORDERS => Self::ReqAllOpenOrders,
            in_id::REQ_AUTO_OPEN_ORDERS => Self::ReqAutoOpenOrders(ReqAutoOpenOrders::decode(payload)?),
            in_id::REQ_COMPLETED_ORDERS => Self::ReqCompletedOrders(ReqCompletedOrders::decode(payload)?),
            in_id::REQ_EXECUTIONS => Self::ReqExecutions(Box::new(ReqExecutions::decode(payload)?)),
            in_id::REQ_POSITIONS => Self::ReqPositions,
            in_id::CANCEL_POSITIONS => Self::CancelPositions,
            in_id::REQ_ACCOUNT_SUMMARY => Self::ReqAccountSummary(ReqAccountSummary::decode(payload)?),
            in_id::CANCEL_ACCOUNT_SUMMARY => Self::CancelAccountSummary(CancelAccountSummary::decode(payload)?),
            _ => Self::Unsupported { id, payload: payload.to_vec() },
        };
        Ok(request)
    }

    /// The request's message id (from [`in_id`]).
    pub fn id(&self) -> i32 {
        match self {
            Self::StartApi(_) => in_id::START_API,
            Self::ReqIds(_) => in_id::REQ_IDS,
            Self::ReqManagedAccts => in_id::REQ_MANAGED_ACCTS,
            Self::ReqCurrentTime => in_id::REQ_CURRENT_TIME,
            Self::ReqCurrentTimeInMillis => in_id::REQ_CURRENT_TIME_IN_MILLIS,
            Self::ReqMarketDataType(_) => in_id::REQ_MARKET_DATA_TYPE,
            Self::ReqMktData(_) => in_id::REQ_MKT_DATA,
            Self::CancelMktData(_) => in_id::CANCEL_MKT_DATA,
            Self::PlaceOrder(_) => in_id::PLACE_ORDER,
            Self::CancelOrder(_) => in_id::CANCEL_ORDER,
            Self::ReqGlobalCancel(_) => in_id::REQ_GLOBAL_CANCEL,
            Self::ReqOpenOrders => in_id::REQ_OPEN_ORDERS,
            Self::ReqAllOpenOrders => in_id::REQ_ALL_OPEN_ORDERS,
            Self::ReqAutoOpenOrders(_) => in_id::REQ_AUTO_OPEN_ORDERS,
            Self::ReqCompletedOrders(_) => in_id::REQ_COMPLETED_ORDERS,
            Self::ReqExecutions(_) => in_id::REQ_EXECUTIONS,
            Self::ReqPositions => in_id::REQ_POSITIONS,
            Self::CancelPositions => in_id::CANCEL_POSITIONS,
            Self::ReqAccountSummary(_) => in_id::REQ_ACCOUNT_SUMMARY,
            Self::CancelAccountSummary(_) => in_id::CANCEL_ACCOUNT_SUMMARY,
            Self::Unsupported { id, .. } => *id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(symbol: &str) -> Contract {
        Contract {
            symbol: Some(symbol.to_owned()),
            sec_type: Some("STK".to_owned()),
            exchange: Some("SMART".to_owned()),
            currency: Some("USD".to_owned()),
            ..Contract::default()
        }
    }

    #[tokio::test]
    async fn frames_round_trip_and_clean_eof_is_none() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        write_frame(&mut client, b"hello").await.unwrap();
        write_frame(&mut client, b"").await.unwrap();
        drop(client);
        assert_eq!(read_frame(&mut server).await.unwrap(), Some(b"hello".to_vec()));
        assert_eq!(read_frame(&mut server).await.unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut server).await.unwrap(), None);
    }

    #[test]
    fn frame_is_big_endian_length_then_body() {
        assert_eq!(encode_frame(b"abc").unwrap(), vec![0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[tokio::test]
    async fn eof_inside_a_frame_is_an_error() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, &[0, 0, 0, 9, 1, 2]).await.unwrap();
        drop(client);
        assert!(
            matches!(read_frame(&mut server).await, Err(WireError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof)
        );

        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, &[0, 0]).await.unwrap();
        drop(client);
        assert!(matches!(read_frame(&mut server).await, Err(WireError::Io(_))));
    }

    #[tokio::test]
    async fn oversized_frame_is_refused() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, &[0x01, 0, 0, 0]).await.unwrap();
        assert!(matches!(read_frame(&mut server).await, Err(WireError::FrameTooLong(0x0100_0000))));
    }

    #[tokio::test]
    async fn handshake_as_ibapi_sends_it() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        // ibapi: raw "API\0", then the length-prefixed version range.
        let mut opening = API_PREFIX.to_vec();
        opening.extend(encode_frame(b"v213..226").unwrap());
        tokio::io::AsyncWriteExt::write_all(&mut client, &opening).await.unwrap();

        let hello = read_client_hello(&mut server).await.unwrap();
        assert_eq!(hello, ClientHello { min_version: 213, max_version: 226, options: String::new() });
        assert_eq!(hello.negotiate().unwrap(), 226);

        write_handshake_reply(&mut server, 226, "20250102 14:30:00 UTC").await.unwrap();
        let reply = read_frame(&mut client).await.unwrap().unwrap();
        assert_eq!(reply, b"226\x0020250102 14:30:00 UTC\x00".to_vec());
        let fields: Vec<&str> = std::str::from_utf8(&reply).unwrap().split_terminator('\0').collect();
        assert_eq!(fields, ["226", "20250102 14:30:00 UTC"]);
    }

    #[tokio::test]
    async fn handshake_rejects_a_bad_prefix() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1").await.unwrap();
        assert!(matches!(read_client_hello(&mut server).await, Err(WireError::BadPrefix(p)) if &p == b"GET "));
    }

    #[test]
    fn version_negotiation() {
        let hello = |text: &str| ClientHello::parse(text).unwrap();
        assert_eq!(hello("v213..230").negotiate().unwrap(), 226);
        assert_eq!(hello("v213..220").negotiate().unwrap(), 220);
        assert_eq!(hello("v100..187 +PACEAPI").options, "+PACEAPI");
        assert!(matches!(hello("v100..187").negotiate(), Err(WireError::UnsupportedVersion { min: 100, max: 187 })));
        assert!(matches!(hello("v227..230").negotiate(), Err(WireError::UnsupportedVersion { .. })));
        assert_eq!(hello("v213").negotiate().unwrap(), 213);
        for bad in ["213..226", "vx..226", "v226..213", ""] {
            assert!(matches!(ClientHello::parse(bad), Err(WireError::BadVersionRange(_))), "{bad:?}");
        }
    }

    #[test]
    fn connection_time_format() {
        use chrono::TimeZone as _;
        let time = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 14, 30, 5).unwrap();
        assert_eq!(format_connection_time(time), "20250102 14:30:05 UTC");
    }

    #[test]
    fn protobuf_bodies_carry_the_offset_id() {
        // NextValidId(order_id 1): id 9 + 200 = 209, then field 1 varint 1.
        let body = NextValidId { order_id: Some(1) }.to_body();
        assert_eq!(body, vec![0, 0, 0, 209, 0x08, 0x01]);
        // ManagedAccounts("DU1"): id 15 + 200 = 215, then field 1 length-delimited.
        let body = ManagedAccounts { accounts: Some("DU1".to_owned()) }.to_body();
        assert_eq!(body, vec![0, 0, 0, 215, 0x0a, 3, b'D', b'U', b'1']);
        // An empty message is the id alone.
        assert_eq!(OpenOrderEnd {}.to_body(), vec![0, 0, 0, 253]);
        assert_eq!(split_protobuf(&OpenOrderEnd {}.to_body()).unwrap(), (out_id::OPEN_ORDER_END, &[][..]));
    }

    #[test]
    fn text_and_short_frames_are_refused() {
        assert!(matches!(split_protobuf(&[0, 0, 0, 9, b'1', 0]), Err(WireError::NotProtobuf(9))));
        assert!(matches!(split_protobuf(&[0, 1]), Err(WireError::ShortFrame(2))));
        assert!(matches!(split_message(&[0, 0, 0, 200]), Ok((200, []))));
    }

    #[test]
    fn start_api_decodes_as_ibapi_encodes_it() {
        // ibapi: id 71 + 200 = 271 (0x010f), field 1 = client id 7.
        let body = [0, 0, 0x01, 0x0f, 0x08, 0x07];
        assert_eq!(
            Request::decode(&body).unwrap(),
            Request::StartApi(StartApi { client_id: Some(7), capabilities: None })
        );
    }

    #[test]
    fn place_order_round_trips_through_request_decode() {
        let request = PlaceOrder {
            order_id: Some(12),
            contract: Some(stock("AAPL")),
            order: Some(Order {
                action: Some(side::BUY.to_owned()),
                total_quantity: Some("100".to_owned()),
                order_type: Some("LMT".to_owned()),
                limit_price: Some(187.25),
                tif: Some("DAY".to_owned()),
                order_ref: Some("plan-1".to_owned()),
                transmit: Some(true),
                parent_id: Some(11),
                account: Some("DU1".to_owned()),
                outside_rth: Some(true),
                trailing_percent: Some(1.5),
                trail_stop_price: Some(180.0),
                ..Order::default()
            }),
        };
        let decoded = Request::decode(&request.to_body()).unwrap();
        assert_eq!(decoded.id(), in_id::PLACE_ORDER);
        assert_eq!(decoded, Request::PlaceOrder(Box::new(request.clone())));
        assert_eq!(PlaceOrder::from_body(&request.to_body()).unwrap(), request);
    }

    #[test]
    fn requests_decode_by_id() {
        let executions = ReqExecutions {
            req_id: Some(FIRST_REQUEST_ID),
            filter: Some(ExecutionFilter {
                client_id: Some(7),
                account: Some("DU1".to_owned()),
                time: Some("20250102 00:00:00".to_owned()),
                symbol: Some("AAPL".to_owned()),
                side: Some(side::BUY.to_owned()),
                specific_dates: vec![20250102, 20250103],
                ..ExecutionFilter::default()
            }),
        };
        assert_eq!(Request::decode(&executions.to_body()).unwrap(), Request::ReqExecutions(Box::new(executions)));

        let summary = ReqAccountSummary {
            req_id: Some(FIRST_REQUEST_ID + 1),
            group: Some("All".to_owned()),
            tags: Some("NetLiquidation,TotalCashValue".to_owned()),
        };
        assert_eq!(Request::decode(&summary.to_body()).unwrap(), Request::ReqAccountSummary(summary));

        let market = ReqMktData {
            req_id: Some(FIRST_REQUEST_ID + 2),
            contract: Some(stock("MSFT")),
            generic_ticks: Some("233".to_owned()),
            snapshot: Some(true),
            regulatory_snapshot: None,
        };
        assert_eq!(Request::decode(&market.to_body()).unwrap(), Request::ReqMktData(Box::new(market)));

        let cancel = CancelOrder { order_id: Some(12), cancel: Some(OrderCancel::default()) };
        assert_eq!(Request::decode(&cancel.to_body()).unwrap(), Request::CancelOrder(cancel));

        assert_eq!(Request::decode(&ReqPositions {}.to_body()).unwrap(), Request::ReqPositions);
        assert_eq!(Request::decode(&CancelPositions {}.to_body()).unwrap(), Request::CancelPositions);
        assert_eq!(Request::decode(&ReqAllOpenOrders {}.to_body()).unwrap(), Request::ReqAllOpenOrders);
        assert_eq!(Request::decode(&ReqCurrentTime {}.to_body()).unwrap(), Request::ReqCurrentTime);
        assert_eq!(
            Request::decode(&ReqMarketDataType { market_data_type: Some(market_data_type::DELAYED) }.to_body())
                .unwrap(),
            Request::ReqMarketDataType(ReqMarketDataType { market_data_type: Some(3) })
        );
        assert_eq!(
            Request::decode(&protobuf_body(in_id::REQ_ACCOUNT_DATA, &[0x08, 0x01])).unwrap(),
            Request::Unsupported { id: in_id::REQ_ACCOUNT_DATA, payload: vec![0x08, 0x01] }
        );
    }

    #[tokio::test]
    async fn server_messages_round_trip() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let open = OpenOrder {
            order_id: Some(12),
            contract: Some(stock("AAPL")),
            order: Some(Order {
                client_id: Some(7),
                order_id: Some(12),
                perm_id: Some(9_000_012),
                action: Some(side::BUY.to_owned()),
                total_quantity: Some("100".to_owned()),
                order_type: Some("MKT".to_owned()),
                ..Order::default()
            }),
            state: Some(OrderState { status: Some(status::SUBMITTED.to_owned()), ..OrderState::default() }),
        };
        let order_status = OrderStatus {
            order_id: Some(12),
            status: Some(status::FILLED.to_owned()),
            filled: Some("100".to_owned()),
            remaining: Some("0".to_owned()),
            avg_fill_price: Some(187.5),
            perm_id: Some(9_000_012),
            parent_id: Some(0),
            last_fill_price: Some(187.5),
            client_id: Some(7),
            why_held: None,
            mkt_cap_price: Some(0.0),
        };
        let execution = ExecutionData {
            req_id: Some(NO_ID),
            contract: Some(stock("AAPL")),
            execution: Some(Execution {
                order_id: Some(12),
                exec_id: Some("0001.01".to_owned()),
                time: Some("20250102 14:30:05 UTC".to_owned()),
                account: Some("DU1".to_owned()),
                exchange: Some("PAPER".to_owned()),
                side: Some(side::BOUGHT.to_owned()),
                shares: Some("100".to_owned()),
                price: Some(187.5),
                perm_id: Some(9_000_012),
                client_id: Some(7),
                cum_qty: Some("100".to_owned()),
                avg_price: Some(187.5),
                order_ref: Some("plan-1".to_owned()),
                last_liquidity: Some(2),
            }),
        };
        let commission = CommissionReport {
            exec_id: Some("0001.01".to_owned()),
            commission: Some(1.0),
            currency: Some("USD".to_owned()),
            realized_pnl: Some(UNSET_DOUBLE),
        };
        let error = ErrorMessage {
            id: Some(12),
            time_millis: Some(1_735_828_205_000),
            code: Some(error_code::ORDER_CANCELLED),
            message: Some("Order Canceled - reason:".to_owned()),
            advanced_reject_json: None,
        };
        write_message(&mut server, &open).await.unwrap();
        write_message(&mut server, &order_status).await.unwrap();
        write_message(&mut server, &execution).await.unwrap();
        write_message(&mut server, &commission).await.unwrap();
        write_message(&mut server, &error).await.unwrap();
        write_message(&mut server, &ExecutionDataEnd { req_id: Some(FIRST_REQUEST_ID) }).await.unwrap();

        let mut next = async || read_frame(&mut client).await.unwrap().unwrap();
        assert_eq!(OpenOrder::from_body(&next().await).unwrap(), open);
        assert_eq!(OrderStatus::from_body(&next().await).unwrap(), order_status);
        assert_eq!(ExecutionData::from_body(&next().await).unwrap(), execution);
        assert_eq!(CommissionReport::from_body(&next().await).unwrap(), commission);
        let body = next().await;
        assert_eq!(split_message(&body).unwrap().0, out_id::ERROR + PROTOBUF_ID_OFFSET);
        assert_eq!(ErrorMessage::from_body(&body).unwrap(), error);
        let body = next().await;
        assert!(matches!(
            OrderStatus::from_body(&body),
            Err(WireError::UnexpectedMessage { expected: out_id::ORDER_STATUS, actual: out_id::EXECUTION_DATA_END })
        ));
        assert_eq!(ExecutionDataEnd::from_body(&body).unwrap().req_id, Some(FIRST_REQUEST_ID));
    }

    #[test]
    fn ticks_positions_and_summary_round_trip() {
        let price = TickPrice {
            req_id: Some(FIRST_REQUEST_ID),
            tick_type: Some(tick_type::DELAYED_LAST),
            price: Some(187.5),
            size: Some("300".to_owned()),
            attributes: Some(0),
        };
        assert_eq!(TickPrice::from_body(&price.to_body()).unwrap(), price);
        let size = TickSize {
            req_id: Some(FIRST_REQUEST_ID),
            tick_type: Some(tick_type::DELAYED_VOLUME),
            size: Some("1200".to_owned()),
        };
        assert_eq!(TickSize::from_body(&size.to_body()).unwrap(), size);
        let position = Position {
            account: Some("DU1".to_owned()),
            contract: Some(stock("AAPL")),
            quantity: Some("0".to_owned()),
            avg_cost: Some(0.0),
        };
        assert_eq!(Position::from_body(&position.to_body()).unwrap(), position);
        let summary = AccountSummary {
            req_id: Some(FIRST_REQUEST_ID),
            account: Some("DU1".to_owned()),
            tag: Some("NetLiquidation".to_owned()),
            value: Some("100000.00".to_owned()),
            currency: Some("USD".to_owned()),
        };
        assert_eq!(AccountSummary::from_body(&summary.to_body()).unwrap(), summary);
        assert_eq!(
            split_protobuf(&PositionEnd {}.to_body()).unwrap(),
            (out_id::POSITION_END, &[][..]),
            "empty messages are the id alone"
        );
    }
}
