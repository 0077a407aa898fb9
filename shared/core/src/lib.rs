//! # ae-core — the pure core of alpha-engine
//!
//! Owns: the value types ([`types`]), the NYSE calendar and [`TradingDay`](calendar::TradingDay)
//! ([`calendar`]), the [`Clock`](clock::Clock) seam ([`clock`]), the document contracts, the
//! tunable parameter sets and their validation ([`contracts`]), the indicator library
//! ([`indicators`]), performance and forecast metrics ([`metrics`]), a book's tail risk
//! ([`tail_risk`]: VaR and CVaR by historical revaluation and by a seeded block bootstrap), its
//! stress scenarios ([`stress`]: historical index windows through beta, documented shocks) and the
//! daily factor risk model ([`risk_model`]: point-in-time exposures, cross-sectional factor
//! returns, factor covariance and specific variances, Euler risk decomposition, attribution).
//!
//! Must never: depend on anything that does I/O (no async runtime, network, database or cloud
//! crates — the executor's pure rules build on this crate alone), read the wall clock outside
//! [`clock::SystemClock`], or use unseeded randomness. `ae-shared` re-exports every module, so
//! `ae_shared::types::Usd` and `ae_core::types::Usd` are the same type.

#![deny(missing_docs)]

pub mod calendar;
pub mod clock;
pub mod contracts;
pub mod indicators;
pub mod metrics;
pub mod risk_model;
pub mod stress;
pub mod tail_risk;
pub mod types;

pub use calendar::TradingDay;
pub use clock::{Clock, SimulatedClock, SystemClock};
pub use types::{Bps, Confidence, Fraction, Probability, Return, Score, Ticker, Usd};
