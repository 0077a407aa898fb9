//! `alpha-engine` — the operator CLI: the demo, the dashboard, the local scheduler, market data in the bus,
//! validation of any bus document, the contracts' JSON Schema, and the configuration.

mod config_cmd;
mod dashboard;
mod data;
mod demo;
mod local;
mod reset;
mod schedule;
mod schema;
mod validate;

use std::process::ExitCode;

use ae_shared::cli::CommonArgs;
use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "alpha-engine",
    version,
    about = "Operator CLI for alpha-engine, an autonomous long-only US equity trading system",
    long_about = "Operator CLI for alpha-engine. Four jobs (research, predictor, executor, backtester) talk only \
                  through one bus: an S3 bucket or, locally, a directory. This tool runs the demo and the local \
                  scheduler, loads market data into the bus, validates any document on it, exports the contracts' \
                  JSON Schema and checks configuration."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the whole system over the embedded year on a fresh local bus (no keys, no network) and
    /// print what it did.
    Demo(demo::DemoArgs),
    /// The operator's read-only web view of the bus: overview, positions, research, predictor,
    /// backtester, execution, risk and lineage.
    Dashboard(dashboard::DashboardArgs),
    /// The production schedule on a simulated clock, every job talking only through the bus.
    #[command(subcommand)]
    Local(LocalCmd),
    /// Archive the trade ledger and trades/*.csv to the bus, then reset the paper portfolio.
    ResetPortfolio(reset::ResetArgs),
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

#[derive(Debug, Subcommand)]
enum LocalCmd {
    /// Weekly backtester, research and predictor training; daily inference, plan, paper session
    /// and EOD, from --from to --to on the bus (the price store must be imported).
    Run {
        /// First trading day.
        #[arg(long, value_parser = ae_shared::cli::parse_day)]
        from: ae_shared::TradingDay,
        /// Last trading day.
        #[arg(long, value_parser = ae_shared::cli::parse_day)]
        to: ae_shared::TradingDay,
        /// What the daemon trades on.
        #[arg(long, value_enum, default_value = "paper")]
        broker: LocalBroker,
        /// Run on the live data path, as a dress rehearsal of live days: the bus's price store
        /// (imported up to a cutoff) grows only through the nightly update from the configured
        /// vendors at 16:20 each day, and the gateway replays the exchange from the price store
        /// on this bus (e.g. a full import), which no job reads. Needs `--broker ib-gateway`.
        #[arg(long, value_name = "BUS_URL")]
        market: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LocalBroker {
    /// The paper broker backed by the trade ledger (the daemon's engine in a paper session).
    Paper,
    /// The real daemon and IB client against the local TWS-protocol paper gateway.
    IbGateway,
}

async fn local_cmd(cmd: LocalCmd, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let LocalCmd::Run { from, to, broker, market } = cmd;
    let venue = match broker {
        LocalBroker::Paper => local::Venue::Paper,
        LocalBroker::IbGateway => local::Venue::IbGateway,
    };
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let market = match &market {
        Some(url) => {
            let m = ae_shared::bus::Bus::open(url).await.with_context(|| format!("opening the market bus at {url}"))?;
            Some(
                ae_shared::store::PriceStore::load(&m)
                    .await
                    .with_context(|| format!("loading the market's price store from {url}"))?,
            )
        }
        None => None,
    };
    let mut notes = Vec::new();
    let vendors =
        ae_research::nightly::Vendors::from_config(&cfg, ae_shared::retry::RetryPolicy::default(), &mut notes);
    for n in &notes {
        eprintln!("local run: {n}");
    }
    let live = market.as_ref().map(|market| local::Live { vendors: &vendors, market });
    let rep = local::run(&bus, &cfg, from, to, venue, progress, live).await?;
    println!("{}", serde_json::to_string_pretty(&rep)?);
    Ok(if rep.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo logs into its own folder; its terminal shows a progress bar and the summary.
    if !matches!(cli.cmd, Cmd::Demo(_)) {
        cli.common.init_logging();
    }
    let result = match cli.cmd {
        Cmd::Demo(args) => demo::run(args, &cli.common).await,
        Cmd::Dashboard(args) => dashboard::run(args, &cli.common).await,
        Cmd::Local(cmd) => local_cmd(cmd, &cli.common).await,
        Cmd::ResetPortfolio(args) => reset::run(args, &cli.common).await,
        Cmd::Data(cmd) => data::run(cmd, &cli.common).await,
        Cmd::Validate(args) => validate::run(args, &cli.common).await,
        Cmd::Schema(cmd) => schema::run(cmd),
        Cmd::Config(cmd) => config_cmd::run(cmd, &cli.common).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", ae_shared::secrets::redact(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
