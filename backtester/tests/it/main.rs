//! Backtester tests: parity with the paper desk, the embedded year end to end with write-back
//! decisions and the report on the bus, the null market (nothing written back), look-ahead,
//! the tear sheet against empyrical, and a run in two parts.

mod binary;
mod common;
mod embedded;
mod null_market;
mod oracle;
mod parity;
mod replay_config;
mod resume;
mod signals_read;
mod two_parts;
