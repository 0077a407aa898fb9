//! # ae-shared — the foundation every alpha-engine job stands on
//!
//! Owns: the bus over S3 or a directory ([`bus`]), operator alerts ([`alerts`]), the one retry
//! policy ([`retry`]), the market data store with data-quality governance ([`store`]), operator
//! email ([`mail`]), signed percentages for reports and emails ([`fmt`]), typed configuration
//! ([`config`]), the command-line plumbing and the Lambda entry of the job binaries (`cli`,
//! `lambda`), a market simulator ([`sim`]) for tests, benchmarks and the demo, the redaction of
//! registered secrets from logs and bus objects ([`secrets`]), and [`crashpoint`], the fault
//! injection that lets tests kill a writer between any two steps.
//! Re-exports the pure core (`ae-core`): value types ([`types`]), the NYSE calendar ([`calendar`]),
//! the [`Clock`](clock::Clock) seam ([`clock`]), the document contracts ([`contracts`]), the
//! indicator library ([`indicators`]), metrics ([`metrics`]), tail risk ([`tail_risk`]), stress
//! scenarios ([`stress`]) and the factor risk model ([`risk_model`]).
//!
//! Must never: read the wall clock outside [`clock::SystemClock`], use unseeded randomness, format
//! a bus key outside [`bus::keys`], hold a job's decision logic (that belongs to the job crates), or
//! let a secret it read (API key, password, token) reach a log line or a bus object.

#![deny(missing_docs)]

pub use ae_core::{calendar, clock, contracts, indicators, metrics, risk_model, stress, tail_risk, types};

pub mod alerts;
pub mod bus;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod crashpoint;
pub mod fmt;
pub mod in_force;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod mail;
pub mod parquet_io;
pub mod retry;
pub mod secrets;
pub mod sim;
pub mod store;

pub use calendar::TradingDay;
pub use clock::{Clock, SimulatedClock, SystemClock};
pub use types::{Bps, Confidence, Fraction, Probability, Return, Score, Ticker, Usd};
