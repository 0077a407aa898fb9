//! # ae-backtester — the weekly learning loop
//!
//! Owns: the replay bus with point-in-time research replays for weeks without signals
//! ([`replay`], the weeks it ran kept across runs: [`kept_signals`]), the prepared per-day inputs ([`prepare`], each name's returns held once:
//! [`shared_returns`]), the simulator that decides only through the executor's own functions
//! ([`sim`], with a memo of its correlation rules shared by a sweep's points: [`memo`]) and fills
//! through a fill model ([`fill`]), realised outcomes for grading ([`outcomes`]), the tear sheet
//! ([`grade`]), signal quality ([`signal_grade`]), scoring-weight tuning ([`weights`]), veto
//! calibration ([`veto`]), the ensemble over the prepared days graded without and with it ([`ensemble`]),
//! the executor parameter sweep ([`sweep`]) resumed across weekly runs
//! ([`checkpoint`]) with its overfitting statistics ([`overfit`]), their promotion gates
//! ([`gate`]), config write-back ([`writeback`]), the report ([`report`]), the run ([`run`]) and
//! its speed measurement ([`bench`]).
//!
//! Must never: re-implement an executor rule, use a price after the decision it informs, or write
//! a parameter whose evidence did not clear every gate.

#![deny(missing_docs)]

pub mod bench;
pub mod checkpoint;
pub mod ensemble;
pub mod fill;
pub mod gate;
pub mod grade;
pub mod kept_days;
pub mod kept_signals;
pub mod kept_weeks;
pub mod laps;
pub mod memo;
pub mod outcomes;
pub mod overfit;
pub mod prepare;
pub mod replay;
pub mod report;
pub mod risk_grade;
pub mod run;
pub mod shared_returns;
pub mod signal_grade;
pub mod sim;
pub mod sweep;
pub mod veto;
pub mod weights;
pub mod writeback;

/// Version written into lineage.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
