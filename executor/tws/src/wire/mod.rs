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

mod error;
mod framing;
mod handshake;
mod ids;
mod messages;
mod protobuf;
mod requests;
#[cfg(test)]
mod tests;
mod types;

pub use error::WireError;
pub use framing::{encode_frame, read_frame, write_frame};
pub use handshake::{ClientHello, format_connection_time, handshake_reply, read_client_hello, write_handshake_reply};
pub use ids::{
    API_PREFIX, FIRST_REQUEST_ID, MAX_FRAME_LEN, MIN_SERVER_VERSION, NO_ID, PROTOBUF_ID_OFFSET, SERVER_VERSION,
    UNSET_DOUBLE, error_code, in_id, market_data_type, out_id, side, status, tick_attr, tick_type,
};
pub use messages::*;
pub use protobuf::{ClientRequest, ServerMessage, protobuf_body, split_message, split_protobuf, write_message};
pub use requests::*;
pub use types::{Contract, Execution, ExecutionFilter, Order, OrderCancel, OrderState};
