//! # ae-research — the weekly research job
//!
//! Owns: the point-in-time market snapshot ([`snapshot`]), the technical score ([`technical`]) and
//! quant filter ([`filter`]), within-sector factor scores ([`factors`]) and point-in-time
//! fundamentals ([`fundamentals`]), the quant regime baseline ([`regime`]), composite scores,
//! ratings and conviction ([`scoring`]), the tracked population ([`population`]) and the signals
//! history it reads back ([`history`]), data providers ([`providers`]), the LLM agents and their
//! answer cache ([`llm`]), the nightly market-data update that feeds the price store
//! ([`nightly`]), the operator's research brief ([`brief`]), and the run that writes
//! `signals/{date}/signals.json` ([`run`]: its inputs, quant pass, LLM pipeline, assembly and
//! publishing).
//!
//! Must never: read a price after the run's as-of day (the session before the run date), invent a
//! value a provider or agent did not supply, let one ticker's failure fail the run, or place or
//! plan an order (the executor's job).

#![deny(missing_docs)]

pub mod brief;
pub mod factors;
pub mod filter;
pub mod fundamentals;
pub mod history;
pub mod llm;
pub mod nightly;
pub mod population;
pub mod providers;
pub mod regime;
pub mod run;
pub mod scoring;
pub mod snapshot;
pub mod technical;
