//! `alpha-engine` — the operator CLI: load market data into the bus, validate any bus document,
//! export the contracts' JSON Schema, and check the configuration. (The local scheduler and the
//! demo join it as the jobs they drive are built.)

mod config_cmd;
mod data;
mod schema;
mod validate;

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "alpha-engine",
    version,
    about = "Operator CLI for alpha-engine, an autonomous long-only US equity trading system",
    long_about = "Operator CLI for alpha-engine. Four jobs (research, predictor, executor, backtester) talk only \
                  through one bus: an S3 bucket or, locally, a directory. This tool loads market data into the \
                  bus, validates any document on it, exports the contracts' JSON Schema and checks configuration."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Market data in the bus's price store.
    #[command(subcommand)]
    Data(data::DataCmd),
    /// Check a bus document (a local file or a key on the bus); exits 1 when it has problems.
    Validate(validate::ValidateArgs),
    /// JSON Schema of the contracts.
    #[command(subcommand)]
    Schema(schema::SchemaCmd),
    /// Check or print the effective configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCmd),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.common.init_logging();
    let result = match cli.cmd {
        Cmd::Data(cmd) => data::run(cmd, &cli.common).await,
        Cmd::Validate(args) => validate::run(args, &cli.common).await,
        Cmd::Schema(cmd) => schema::run(cmd),
        Cmd::Config(cmd) => config_cmd::run(cmd, &cli.common),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
