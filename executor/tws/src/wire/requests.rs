//! Requests, client → gateway: one protobuf message per request kind, and [`Request`], a frame
//! body decoded into whichever it carries.

use prost::Message as _;

use super::error::WireError;
use super::ids::in_id;
use super::protobuf::{ClientRequest, message_ids, split_protobuf};
use super::types::{Contract, ExecutionFilter, Order, OrderCancel};

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

/// Asks for the next valid order id; answered with [`NextValidId`](crate::wire::NextValidId).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqIds {
    /// Number of ids wanted (`ibapi` sends 0).
    #[prost(int32, optional, tag = "1")]
    pub count: Option<i32>,
}

/// Asks for the managed accounts; answered with [`ManagedAccounts`](crate::wire::ManagedAccounts).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqManagedAccts {}

/// Asks for the server clock; answered with [`CurrentTime`](crate::wire::CurrentTime).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqCurrentTime {}

/// Asks for the server clock in milliseconds; answered with [`CurrentTimeInMillis`](crate::wire::CurrentTimeInMillis).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqCurrentTimeInMillis {}

/// Switches the market data type of later [`ReqMktData`]; not answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReqMarketDataType {
    /// One of [`market_data_type`](crate::wire::market_data_type).
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
    /// One snapshot then [`TickSnapshotEnd`](crate::wire::TickSnapshotEnd) (absent = stream).
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
    /// Request id; [`ExecutionData`](crate::wire::ExecutionData) and [`ExecutionDataEnd`](crate::wire::ExecutionDataEnd) carry it.
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
