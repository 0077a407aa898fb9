//! The `research` binary.

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::{CommandFactory, Parser};

/// Weekly research job: universe, quant filter, factor scores, LLM agents, signals and the research brief.
#[derive(Debug, Parser)]
#[command(name = "research", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("research: this build has no commands yet (see `research --help`).");
    let _ = Cli::command().print_help();
    ExitCode::from(2)
}
