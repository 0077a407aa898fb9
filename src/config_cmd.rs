//! `alpha-engine config check|show`

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate the configuration (defaults, --config file, environment); list every problem.
    Check,
    /// Print the effective configuration as TOML.
    Show,
}

pub fn run(cmd: ConfigCmd, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    match common.load_config() {
        Err(e) => {
            println!("{e:#}");
            Ok(ExitCode::FAILURE)
        }
        Ok(cfg) => {
            match cmd {
                ConfigCmd::Check => println!("configuration is valid (bus: {})", cfg.bus.url),
                ConfigCmd::Show => print!("{}", toml::to_string_pretty(&cfg)?),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
