//! What the gateway replays and trades ([`GatewayConfig`]), the day's moments ([`Moment`]) and
//! the faults it injects on command ([`Faults`]).

use std::collections::BTreeMap;
use std::time::Duration;

use ae_core::TradingDay;
use ae_core::types::Ticker;
use chrono::{DateTime, NaiveTime, Utc};

/// Faults the gateway injects on command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Drop the connection once it has sent this many more messages.
    pub drop_after_messages: Option<u64>,
    /// Drop the connection right after sending the next execution report (the order status and
    /// commission that follow are lost with it; `reqExecutions` recovers them).
    pub drop_after_next_fill: bool,
    /// Wait this long before answering a new order.
    pub ack_delay: Option<Duration>,
    /// Lose the next order with the connection: it is never processed (the order the daemon
    /// recorded never reached the broker; reconciliation must send it again, once).
    pub lose_next_order: bool,
    /// Hold the replay before it moves to this moment (index into the day's moments) until
    /// [`Gateway::release`](super::Gateway::release): lets a test act at a known point of the day (set the kill switch, ...).
    pub hold_before_moment: Option<usize>,
}

/// One moment of the replayed day.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// When.
    pub at: DateTime<Utc>,
    /// Prices at that moment (empty before the open).
    pub prices: BTreeMap<Ticker, f64>,
    /// The close: working day orders are cancelled.
    pub close: bool,
}

/// What the gateway replays and trades.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Managed account ("D…" for paper).
    pub account: String,
    /// Starting cash.
    pub cash: f64,
    /// Starting positions (shares, average cost).
    pub positions: BTreeMap<Ticker, (u32, f64)>,
    /// Costs of the fill model.
    pub costs: ae_rules::costs::CostModel,
    /// The day.
    pub moments: Vec<Moment>,
    /// Splits effective at today's open (ratio new shares per old): the broker moves the
    /// starting positions overnight.
    pub splits: BTreeMap<Ticker, f64>,
    /// The session's date, for dividends (`None`: no dividends are settled).
    pub date: Option<chrono::NaiveDate>,
    /// Dividends accrued before the day and not yet paid (the account's receivable).
    pub accrued_dividends: Vec<ae_rules::dividends::Accrual>,
    /// Cash dividends the vendor announced (those going ex on `date` accrue at the open).
    pub dividends: Vec<ae_rules::dividends::DividendEvent>,
}

impl GatewayConfig {
    /// The moments of `date` from four-tick bar paths: pre-open, the four ticks, the close.
    pub fn moments_from_paths(
        date: TradingDay,
        paths: &BTreeMap<Ticker, [ae_rules::intraday::Tick; 4]>,
        close: NaiveTime,
    ) -> Vec<Moment> {
        let at = |t: NaiveTime| ae_core::calendar::et_instant(date.date(), t);
        let pre = NaiveTime::from_hms_opt(9, 25, 0).expect("time");
        let mut out = vec![Moment { at: at(pre), prices: BTreeMap::new(), close: false }];
        for k in 0..4 {
            let time = paths.values().next().map(|p| p[k].time).unwrap_or(close);
            out.push(Moment {
                at: at(time),
                prices: paths.iter().map(|(t, p)| (t.clone(), p[k].price)).collect(),
                close: false,
            });
        }
        out.push(Moment { at: at(close), prices: BTreeMap::new(), close: true });
        out
    }
}
