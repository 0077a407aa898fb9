//! The `executor` binary: `plan` (morning order book), `session` (the paper broker's day at
//! daily resolution), `eod` (reconcile, report, email) and `kill-switch`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ae_executor::eod::{self, EodOptions};
use ae_executor::ledger::Ledger;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{self, PlanEnv, PlanOptions};
use ae_executor::session;
use ae_shared::TradingDay;
use ae_shared::bus::{PutMode, keys};
use ae_shared::cli::{CommonArgs, parse_day};
use ae_shared::clock::{Clock, SimulatedClock, SystemClock};
use ae_shared::config::{BrokerKind, Config};
use ae_shared::store::PriceStore;
use anyhow::Context;
use clap::{Parser, Subcommand};

/// Executor job: the morning planner, the paper session, end-of-day reconcile and report. The
/// intraday daemon (the only process that places orders with Interactive Brokers) is built next.
#[derive(Debug, Parser)]
#[command(name = "executor", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Plan DATE: exits for held positions, sized and risk-checked entries, stops;
    /// executor/order_books/{date}.json, the decision audit and the shadow book.
    Plan {
        /// Trading day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// Plan and print; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace an order book already written for the day from other inputs (archived first).
        #[arg(long)]
        force: bool,
    },
    /// Execute DATE's order book on the paper broker at daily resolution (urgent exits at the
    /// open, intraday exits and entry triggers along each bar's path). Paper broker only.
    Session {
        /// Trading day.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
    },
    /// End of day for DATE: NAV, returns vs the benchmark, P&L, fills and slippage, integrity
    /// checks; executor/eod/{date}.json, trades/*.csv backups and the email.
    Eod {
        /// Trading day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// Compute and print; write and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace a report already written for the day (archived first).
        #[arg(long)]
        force: bool,
    },
    /// The kill switch: while set, no new entries anywhere; exits still run.
    KillSwitch {
        #[command(subcommand)]
        action: KillAction,
    },
}

#[derive(Debug, Subcommand)]
enum KillAction {
    /// Set it, with a reason.
    Set {
        /// Why (shown in reports).
        #[arg(long)]
        reason: String,
    },
    /// Clear it (an operator decision).
    Clear,
    /// Show whether it is set.
    Status,
}

fn today() -> anyhow::Result<TradingDay> {
    SystemClock.trading_day().context("today is not an NYSE trading day; pass --date")
}

fn paper(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<PaperBroker> {
    match cfg.trading.broker {
        BrokerKind::Paper => {
            Ok(PaperBroker::open(Path::new(&cfg.trading.ledger_path), PaperSettings::from_config(&cfg.trading), clock)?)
        }
        BrokerKind::Ib => anyhow::bail!(
            "trading.broker is \"ib\": Interactive Brokers is reached only by the intraday daemon, which this build does not have yet; set trading.broker = \"paper\" for local runs"
        ),
    }
}

async fn store(bus: &ae_shared::bus::Bus) -> anyhow::Result<PriceStore> {
    PriceStore::load(bus).await.context("loading the price store (run `alpha-engine data import` first)")
}

fn print(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.common.load_config()?;
    let bus = cli.common.open_bus(&cfg).await?;
    match cli.cmd {
        Cmd::Plan { date, dry_run, force } => {
            let date = date.map(Ok).unwrap_or_else(today)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let broker = paper(&cfg, clock.clone())?;
            let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
            let store = store(&bus).await?;
            let env = PlanEnv { bus: &bus, cfg: &cfg, clock: clock.as_ref(), broker: &broker, store: &store };
            let (book, _, report) = planner::plan(&env, &mut ledger, &PlanOptions { date, dry_run, force }).await?;
            if dry_run {
                print(&book)?;
            }
            print(&report)
        }
        Cmd::Session { date } => {
            let clock = Arc::new(SimulatedClock::at_et(date, chrono::NaiveTime::from_hms_opt(9, 30, 0).expect("time")));
            let broker = paper(&cfg, clock.clone())?;
            let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
            let store = store(&bus).await?;
            let report = session::run(&bus, &cfg, &clock, &broker, &mut ledger, &store, date).await?;
            print(&report)
        }
        Cmd::Eod { date, dry_run, force } => {
            let date = date.map(Ok).unwrap_or_else(today)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let broker = paper(&cfg, clock.clone())?;
            let ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
            let store = store(&bus).await?;
            let (report, summary) =
                eod::run(&bus, &cfg, clock.as_ref(), &broker, &ledger, &store, &EodOptions { date, dry_run, force })
                    .await?;
            if dry_run {
                print(&report)?;
            }
            print(&summary)
        }
        Cmd::KillSwitch { action } => {
            let key = keys::kill_switch();
            match action {
                KillAction::Set { reason } => {
                    let doc = serde_json::json!({ "reason": reason, "set_at": SystemClock.now().to_rfc3339() });
                    bus.put(&key, serde_json::to_vec_pretty(&doc)?, PutMode::Overwrite).await?;
                    println!("kill switch SET at {key}: no new entries until `executor kill-switch clear`");
                }
                KillAction::Clear => {
                    bus.delete(&key).await?;
                    println!("kill switch cleared");
                }
                KillAction::Status => match bus.get(&key).await? {
                    Some(o) => println!("SET: {}", String::from_utf8_lossy(&o.bytes)),
                    None => println!("not set"),
                },
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.common.init_logging();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("executor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
