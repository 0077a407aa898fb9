//! `alpha-engine validate KIND FILE|KEY`

use std::path::Path;
use std::process::ExitCode;

use ae_shared::bus::Key;
use ae_shared::cli::CommonArgs;
use ae_shared::contracts::DocKind;
use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Document kind: signals, predictions, predictor-metrics, order-book, scoring-weights,
    /// executor-params, predictor-params, research-params, eod.
    #[arg(value_parser = |s: &str| s.parse::<DocKind>())]
    kind: DocKind,
    /// A local file, or else a key on the bus (e.g. signals/latest.json).
    target: String,
}

pub async fn run(args: ValidateArgs, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let (origin, bytes) = if Path::new(&args.target).is_file() {
        (args.target.clone(), std::fs::read(&args.target).with_context(|| format!("reading {}", args.target))?)
    } else {
        let key =
            Key::parse(&args.target).with_context(|| format!("{} is neither a file nor a bus key", args.target))?;
        let cfg = common.load_config()?;
        let bus = common.open_bus(&cfg).await?;
        let obj = bus.get_required(&key).await?;
        (format!("{}/{}", bus.url(), key), obj.bytes.to_vec())
    };
    match args.kind.validate(&bytes) {
        Ok(()) => {
            println!("{origin}: valid {}", args.kind);
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            println!("{origin}: invalid {} ({} problem(s)):", args.kind, problems.len());
            for p in problems.iter() {
                println!("  {p}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
