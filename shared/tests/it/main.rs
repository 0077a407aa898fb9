//! Integration tests of ae-shared: contracts, the bus over both backends (S3 over a real server on
//! loopback), the price store on the real embedded data, and the oracle checks against TA-Lib,
//! pandas, empyrical, scipy and statsmodels.

mod alerts;
mod bus;
mod contracts;
mod mail;
mod oracles;
mod store;
