//! The TWS-protocol paper gateway's day (`ae_tws`) as the price store and `[trading]` give it:
//! every name's bar that day replayed as its session path, the paper brokers' costs and
//! starting cash, the day's splits and dividends, and a flat account.

use std::collections::BTreeMap;

use ae_rules::bar_path::{close_time, path_of};
use ae_rules::intraday::Tick;
use ae_shared::TradingDay;
use ae_shared::config::TradingConfig;
use ae_shared::store::PriceStore;
use ae_shared::types::Ticker;
use ae_tws::gateway::GatewayConfig;

use crate::paper::paper_costs;
use crate::session::{day_bar, dividend_events, split_ratios};

/// Replays `date` from the price store's bars of every name that traded that day, with the
/// paper broker's costs and starting cash, and a flat account.
pub fn config(store: &PriceStore, date: TradingDay, trading: &TradingConfig, account: &str) -> GatewayConfig {
    let close = close_time(date);
    let paths: BTreeMap<Ticker, [Tick; 4]> = store
        .raw
        .tickers
        .iter()
        .filter_map(|t| day_bar(store, t, date).map(|b| (t.clone(), path_of(&b, date))))
        .collect();
    GatewayConfig {
        account: account.to_string(),
        cash: trading.paper_starting_cash_usd,
        positions: BTreeMap::new(),
        costs: paper_costs(trading),
        moments: GatewayConfig::moments_from_paths(date, &paths, close),
        splits: split_ratios(store, date),
        date: Some(date.date()),
        accrued_dividends: Vec::new(),
        dividends: dividend_events(store, date),
    }
}
