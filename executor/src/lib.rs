//! # ae-executor
//!
//! Owns: the pure decision rules, the planner, the daemon, brokers, the OMS, the trade ledger and the EOD report. Talks to the other jobs only through the bus (`ae_shared::bus`).
//!
//! Status: the crate exists from the start so the workspace, binaries and CI are in place; its job
//! logic is built by its own issue.
