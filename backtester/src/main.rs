//! The `backtester` binary.

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::{CommandFactory, Parser};

/// Backtester job: simulator driving the executor's rules, signal grading, parameter sweeps and config write-back.
#[derive(Debug, Parser)]
#[command(name = "backtester", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("backtester: this build has no commands yet (see `backtester --help`).");
    let _ = Cli::command().print_help();
    ExitCode::from(2)
}
