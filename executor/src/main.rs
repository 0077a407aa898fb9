//! The `executor` binary.

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::{CommandFactory, Parser};

/// Executor job: morning planner, the intraday daemon (the only process that places orders) and end-of-day reconcile.
#[derive(Debug, Parser)]
#[command(name = "executor", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("executor: this build has no commands yet (see `executor --help`).");
    let _ = Cli::command().print_help();
    ExitCode::from(2)
}
