//! Executor integration tests: the ledger and paper broker, the named regressions, and day after
//! day over the embedded year with the EOD email at a real SMTP server.

mod cli;
mod common;
mod daemon;
mod kills;
mod ledger;
mod ledger_properties;
mod money_safety;
mod regressions;
mod year;
