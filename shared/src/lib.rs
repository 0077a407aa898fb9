//! # ae-shared — the foundation every alpha-engine job stands on
//!
//! Owns: the value types ([`types`]), the NYSE calendar and [`TradingDay`](calendar::TradingDay)
//! ([`calendar`]), the [`Clock`](clock::Clock) seam ([`clock`]), the document contracts and their
//! validation ([`contracts`]), the bus over S3 or a directory ([`bus`]), the one retry policy
//! ([`retry`]), the market data store with data-quality governance ([`store`]), the indicator
//! library ([`indicators`]), performance and forecast metrics ([`metrics`]), operator email
//! ([`mail`]), typed configuration ([`config`]) and a market simulator ([`sim`]) for tests, benchmarks
//! and the demo.
//!
//! Must never: read the wall clock outside [`clock::SystemClock`], use unseeded randomness, format
//! a bus key outside [`bus::keys`], or hold a job's decision logic (that belongs to the job crates).

#![deny(missing_docs)]

pub mod bus;
pub mod calendar;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
pub mod contracts;
pub mod indicators;
pub mod mail;
pub mod metrics;
pub mod parquet_io;
pub mod retry;
pub mod sim;
pub mod store;
pub mod types;

pub use calendar::TradingDay;
pub use clock::{Clock, SimulatedClock, SystemClock};
pub use types::{Bps, Confidence, Fraction, Probability, Return, Score, Ticker, Usd};
