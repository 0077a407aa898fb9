//! # ae-executor
//!
//! Owns: the executor job around the pure rules of `ae-rules` — the morning planner
//! ([`planner`]) with its bus inputs ([`inputs`]) and point-in-time market views ([`market`]),
//! the broker seam ([`broker`]) with the local paper broker ([`paper`]) and Interactive Brokers
//! ([`ib`]), order states, sending and reconciliation ([`oms`]), the intraday day engine
//! ([`engine`]) driven by the paper session ([`session`]) and by the daemon ([`daemon`]), the
//! day the TWS-protocol paper gateway (`ae-tws`) replays ([`gateway_day`]), Telegram notices
//! ([`notify`]), operator alerts from the ledger's risk events ([`alerts`]), the kill switch
//! ([`kill_switch`]), the trade ledger ([`ledger`]), and end of day ([`eod`]) with its chart
//! ([`chart`]) and email ([`email`]).
//!
//! Must never: decide anything itself (every decision is an `ae-rules` function), send an order
//! that is not an `ApprovedOrder` written ahead to the ledger, trade a live account without
//! configuration and confirmation, or talk to the other jobs except through the bus.

#![deny(missing_docs)]

pub mod alerts;
pub mod breaker_inputs;
pub mod broker;
pub mod chart;
pub mod daemon;
pub mod email;
pub mod engine;
pub mod eod;
pub mod gateway_day;
pub mod ib;
pub mod inputs;
pub mod kill_switch;
pub mod ledger;
pub mod market;
pub mod notify;
pub mod oms;
pub mod paper;
pub mod planner;
pub mod risk_state;
pub mod session;
pub mod views;

/// Failures of the order path.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// The broker.
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
}
