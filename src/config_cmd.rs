//! `alpha-engine config check|show [--in-force]`

use std::fmt::Write as _;
use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use ae_shared::config::{Config, Origins};
use ae_shared::contracts::params::{Params, leaf_paths};
use ae_shared::in_force::{self, InForce, Origin};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate the configuration (defaults, --config file, environment); list every problem.
    Check,
    /// Print the effective configuration as TOML.
    Show {
        /// Print instead every tunable parameter the jobs act on, with where its value comes
        /// from: a tuned value of config/{name}.json on the bus (key, hash, day), or the
        /// configuration (defaults, the --config file, or an ALPHA_ENGINE__* variable).
        #[arg(long)]
        in_force: bool,
    },
}

pub async fn run(cmd: ConfigCmd, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let (mut cfg, origins) = match Config::load_traced(common.config.as_deref(), std::env::vars()) {
        Err(e) => {
            println!("{e:#}");
            return Ok(ExitCode::FAILURE);
        }
        Ok(x) => x,
    };
    if let Some(url) = &common.bus {
        cfg.bus.url = url.clone();
    }
    match cmd {
        ConfigCmd::Check => println!("configuration is valid (bus: {})", cfg.bus.url),
        ConfigCmd::Show { in_force: false } => print!("{}", toml::to_string_pretty(&cfg)?),
        ConfigCmd::Show { in_force: true } => {
            let bus = common.open_bus(&cfg).await?;
            let mut out =
                format!("# parameters in force on {} (tuned paths from the bus, the rest configured)\n", cfg.bus.url);
            section(&mut out, "scoring", &in_force::params(&bus, &cfg.scoring).await, &origins);
            section(&mut out, "research", &in_force::params(&bus, &cfg.research).await, &origins);
            section(&mut out, "predictor", &in_force::params(&bus, &cfg.predictor).await, &origins);
            section(&mut out, "executor", &in_force::params(&bus, &cfg.executor).await, &origins);
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One `[section]` of `--in-force`: each leaf `path = value  # origin`.
fn section<P: Params>(out: &mut String, name: &str, f: &InForce<P>, origins: &Origins) {
    let _ = writeln!(out, "\n[{name}]  # {}", P::NAME);
    for n in &f.notes {
        let _ = writeln!(out, "# NOTE {n}");
    }
    let json = serde_json::to_value(&f.value).unwrap_or_default();
    for path in leaf_paths(&json) {
        let value = ae_shared::contracts::params::get_path(&json, &path).map(|v| v.to_string()).unwrap_or_default();
        let origin = match f.origin(&path) {
            Origin::Configuration => format!("configuration: {}", origins.of(&format!("{name}.{path}"))),
            bus => format!("bus {bus}"),
        };
        let _ = writeln!(out, "{path} = {value}  # {origin}");
    }
}
