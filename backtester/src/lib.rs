//! # ae-backtester
//!
//! Owns: the simulator that drives executor rules, signal grading, sweeps, calibration and parameter write-back. Talks to the other jobs only through the bus (`ae_shared::bus`).
//!
//! Status: the crate exists from the start so the workspace, binaries and CI are in place; its job
//! logic is built by its own issue.
