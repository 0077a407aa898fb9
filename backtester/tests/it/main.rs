//! Backtester tests: parity with the paper desk, the embedded year end to end with write-back
//! decisions and the report on the bus, the null market (nothing written back), look-ahead,
//! and the tear sheet against empyrical.

mod binary;
mod common;
mod embedded;
mod null_market;
mod oracle;
mod parity;
mod resume;
mod signals_read;
