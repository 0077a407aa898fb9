//! The `predictor` binary.

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::{CommandFactory, Parser};

/// Predictor job: LightGBM training with walk-forward validation and promotion (weekly), daily predictions with the veto.
#[derive(Debug, Parser)]
#[command(name = "predictor", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("predictor: this build has no commands yet (see `predictor --help`).");
    let _ = Cli::command().print_help();
    ExitCode::from(2)
}
