//! # ae-rules — the executor's decision rules
//!
//! Owns: every rule that decides what to buy, sell, size and when — the exit manager
//! ([`exits`]), the risk guard ([`risk`]) with its same-sector correlation ([`correlation`]),
//! graduated drawdown ([`drawdown`]), the circuit breakers ([`breakers`]), the position sizer ([`sizing`])
//! and the one calibrated view per name it can size with ([`ensemble`]), cash dividends as money
//! ([`dividends`]), what a fill costs ([`costs`]: slippage and commissions), intraday entry
//! triggers and exits ([`intraday`]), the sell guard ([`sells`]), risk-approved orders
//! ([`order`]) and their lifecycle ([`lifecycle`]: states, events, the one transition table), a
//! whole morning's plan ([`plan`]) and the daily-bar session path ([`bar_path`]) — with their
//! reason codes ([`reason`]) and inputs ([`view`]).
//!
//! Must never: do I/O, read a clock, or use randomness. Inputs in, decision and reasons out. The
//! planner, the daemon and the backtester call these functions and nothing else decides; the
//! crate depends only on the I/O-free `ae-core` (checked by a test over its dependency tree).

#![deny(missing_docs)]

pub mod bar_path;
pub mod breakers;
pub mod correlation;
pub mod costs;
pub mod dividends;
pub mod drawdown;
pub mod ensemble;
pub mod exits;
pub mod intraday;
pub mod lifecycle;
pub mod order;
pub mod plan;
pub mod reason;
pub mod risk;
pub mod sells;
pub mod sizing;
pub mod view;

#[cfg(test)]
pub(crate) mod testing;

pub use order::{ApprovedOrder, OrderPrice, Refusal};
pub use reason::Reason;
