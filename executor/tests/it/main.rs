//! Executor integration tests: the ledger and paper broker, the named regressions, day after day
//! over the embedded year with the EOD email at a real SMTP server, and Telegram notices that never
//! log the bot token.

mod cli;
mod common;
mod daemon;
mod kills;
mod ledger;
mod ledger_properties;
mod market;
mod money_safety;
mod notify;
mod regressions;
mod views;
mod year;
