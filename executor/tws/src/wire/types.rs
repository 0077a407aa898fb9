//! Sub-messages that requests and replies share: contract, order, order state, execution,
//! execution filter, order cancel.

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

/// An order's state inside [`OpenOrder`](crate::wire::OpenOrder) and [`CompletedOrder`](crate::wire::CompletedOrder).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderState {
    /// Status, one of [`status`](crate::wire::status) (required).
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

/// One fill inside [`ExecutionData`](crate::wire::ExecutionData).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Execution {
    /// The client's order id.
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    /// Unique fill id; the [`CommissionReport`](crate::wire::CommissionReport) for this fill carries the same id.
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

/// Which executions a [`ReqExecutions`](crate::wire::ReqExecutions) wants.
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

/// Options of a [`CancelOrder`](crate::wire::CancelOrder).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderCancel {
    /// Manual cancel time (absent = now).
    #[prost(string, optional, tag = "1")]
    pub manual_cancel_time: Option<String>,
}
