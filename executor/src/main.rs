//! The `executor` binary: `plan` (morning order book), `session` (the paper broker's day at
//! daily resolution), `eod` (reconcile, report, email) and `kill-switch`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ae_executor::daemon::{self, DaemonOptions, IbConnector};
use ae_executor::eod::{self, EodOptions};
use ae_executor::ledger::Ledger;
use ae_executor::notify::Notifier;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{self, PlanEnv, PlanOptions};
use ae_executor::session;
use ae_shared::TradingDay;
use ae_shared::bus::keys;
use ae_shared::cli::{CommonArgs, parse_day};
use ae_shared::clock::{Clock, SimulatedClock, SystemClock};
use ae_shared::config::{BrokerKind, Config};
use ae_shared::store::PriceStore;
use anyhow::Context;
use clap::{Parser, Subcommand};

/// Executor job: the morning planner, the intraday daemon (the only process that places orders
/// with Interactive Brokers), the paper session, end-of-day reconcile and report, and a local
/// paper gateway that speaks the TWS API.
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
        /// With trading.broker = "ib": the gateway address (default trading.ib.host:port); the
        /// account is read on the daemon's client id + 10.
        #[arg(long)]
        address: Option<String>,
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
        /// With trading.broker = "ib": the gateway address (default trading.ib.host:port); the
        /// account is read on the daemon's client id + 10.
        #[arg(long)]
        address: Option<String>,
    },
    /// The intraday daemon for DATE, the only process that places orders: waits for the day's
    /// order book, connects to IB Gateway / TWS (or the local paper gateway) with the paper-account
    /// guard, reconciles, then follows the broker's clock to the close.
    Daemon {
        /// Trading day.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
        /// Gateway address (default: trading.ib.host:port).
        #[arg(long)]
        address: Option<String>,
        /// API client id (default: trading.ib.client_id).
        #[arg(long)]
        client_id: Option<i32>,
        /// Seconds between steps (default: trading.ib.poll_secs; 0 follows a replaying gateway's
        /// clock as fast as it moves).
        #[arg(long)]
        poll_secs: Option<u32>,
        /// How long to wait for the order book, seconds.
        #[arg(long, default_value_t = 600)]
        book_wait_secs: u64,
    },
    /// A local paper gateway that speaks the TWS API on HOST:PORT and replays DATE from the
    /// price store's daily bars (see `executor daemon`). Runs until stopped.
    Gateway {
        /// Trading day to replay.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:4002")]
        listen: String,
        /// Managed account id (paper ids start with "D").
        #[arg(long, default_value = "DU0000001")]
        account: String,
        /// Start from the paper ledger's cash and positions (default: trading.paper_starting_cash_usd, flat).
        #[arg(long)]
        from_ledger: bool,
    },
    /// Checks that a job that should have run by now did (`--expect order-book` at 09:25,
    /// `--expect eod` at 17:10): when its document is missing, alerts the operator naming it and
    /// exits with status 1. Not a trading day: says so, exits 0.
    Watchdog {
        /// Trading day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// The document that must exist.
        #[arg(long, value_enum)]
        expect: Expect,
    },
    /// Prints DATE's risk state (`risk/{date}/risk_state.json`, written by the planner): exposures,
    /// the factor model's decomposition and MCTR, VaR/CVaR three ways, stress, breakers.
    Risk {
        /// Trading day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// The document as JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// The kill switch: while set, no new entries anywhere; exits still run.
    KillSwitch {
        #[command(subcommand)]
        action: KillAction,
    },
}

#[derive(Debug, Subcommand)]
enum KillAction {
    /// Set it, with a reason. `--mode entries` (default): no new entries, working entries are
    /// cancelled, exits run. `--mode flatten`: also sells every position at market; asks you to
    /// type FLATTEN at the terminal.
    Set {
        /// Why (shown in reports and alerts).
        #[arg(long)]
        reason: String,
        /// What it stops.
        #[arg(long, value_enum, default_value_t = ModeArg::Entries)]
        mode: ModeArg,
    },
    /// Clear it: an operator's decision, with a reason (the cleared switch is archived).
    Clear {
        /// Why trading may resume.
        #[arg(long)]
        reason: String,
    },
    /// Show whether it is set.
    Status,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Expect {
    /// `executor/order_books/{date}.json` (the planner's, due 09:20).
    OrderBook,
    /// `executor/eod/{date}.json` (end of day, due 16:40).
    Eod,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    /// No new entries.
    Entries,
    /// No new entries, and sell every position at market.
    Flatten,
}

/// Who is at the keyboard, for the record.
fn operator() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "operator".into())
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
            "trading.broker is \"ib\": the paper session replays bars on the local paper broker only (set trading.broker = \"paper\", or trade the day with `executor daemon`)"
        ),
    }
}

/// The account reader of `plan` and `eod` with `trading.broker = "ib"`: its own API client id
/// (the daemon's + 10), so it never collides with the daemon; the paper-account guard applies.
async fn ib_reader(cfg: &Config, address: Option<String>) -> anyhow::Result<ae_executor::ib::IbBroker> {
    use ae_executor::daemon::Connector as _;
    let ib = &cfg.trading.ib;
    let address = address.unwrap_or_else(|| format!("{}:{}", ib.host, ib.port));
    let c =
        IbConnector { address: address.clone(), client_id: ib.client_id + 10, cfg: ib.clone(), live_confirmed: false };
    c.connect().await.with_context(|| {
        format!(
            "reading the account from IB Gateway at {address} (is IB Gateway running and logged in? \
             `systemctl status ib-gateway`; or pass --address)"
        )
    })
}

async fn plan_on<B: ae_executor::broker::Broker>(
    bus: &ae_shared::bus::Bus,
    cfg: &Config,
    clock: &dyn Clock,
    broker: &B,
    opts: &PlanOptions,
) -> anyhow::Result<()> {
    let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
    let store = store(bus).await?;
    let env = PlanEnv { bus, cfg, clock, broker, store: &store };
    let (book, _, report) = planner::plan(&env, &mut ledger, opts).await?;
    if opts.dry_run {
        print(&book)?;
    }
    print(&report)
}

async fn eod_on<B: ae_executor::broker::Broker>(
    bus: &ae_shared::bus::Bus,
    cfg: &Config,
    clock: &dyn Clock,
    broker: &B,
    opts: &EodOptions,
) -> anyhow::Result<()> {
    let ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
    let store = store(bus).await?;
    let (report, summary) = eod::run(bus, cfg, clock, broker, &ledger, &store, opts).await?;
    if opts.dry_run {
        print(&report)?;
    }
    print(&summary)
}

async fn store(bus: &ae_shared::bus::Bus) -> anyhow::Result<PriceStore> {
    PriceStore::load(bus).await.context("loading the price store (run `alpha-engine data import` first)")
}

fn print(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Evaluates `$body` (a future) with `$b` bound to the configured broker: the paper broker, or
/// IB read-only at `$address` (see `ib_reader`). Either way the result is an `anyhow::Result`.
macro_rules! with_reader {
    ($cfg:expr, $clock:expr, $address:expr, |$b:ident| $body:expr) => {
        match $cfg.trading.broker {
            BrokerKind::Paper => {
                async {
                    let $b = &paper($cfg, $clock.clone())?;
                    $body.await
                }
                .await
            }
            BrokerKind::Ib => {
                async {
                    let $b = &ib_reader($cfg, $address).await?;
                    $body.await
                }
                .await
            }
        }
    };
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.common.load_config()?;
    let bus = cli.common.open_bus(&cfg).await?;
    match cli.cmd {
        Cmd::Plan { date, dry_run, force, address } => {
            let date = date.map(Ok).unwrap_or_else(today)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let opts = PlanOptions { date, dry_run, force };
            let r = with_reader!(&cfg, clock, address, |b| plan_on(&bus, &cfg, clock.as_ref(), b, &opts));
            alerted(&bus, &cfg, "executor plan", date, dry_run, r).await
        }
        Cmd::Session { date } => {
            let clock = Arc::new(SimulatedClock::at_et(date, chrono::NaiveTime::from_hms_opt(9, 30, 0).expect("time")));
            let broker = paper(&cfg, clock.clone())?;
            let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
            let store = store(&bus).await?;
            let report = session::run(&bus, &cfg, &clock, &broker, &mut ledger, &store, date).await?;
            print(&report)
        }
        Cmd::Eod { date, dry_run, force, address } => {
            let date = date.map(Ok).unwrap_or_else(today)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let opts = EodOptions { date, dry_run, force };
            let r = with_reader!(&cfg, clock, address, |b| eod_on(&bus, &cfg, clock.as_ref(), b, &opts));
            alerted(&bus, &cfg, "executor eod", date, dry_run, r).await
        }
        Cmd::Daemon { date, address, client_id, poll_secs, book_wait_secs } => {
            let ib = &cfg.trading.ib;
            let address = address.unwrap_or_else(|| format!("{}:{}", ib.host, ib.port));
            let live_confirmed = ib.live && confirm_live()?;
            let connector =
                IbConnector { address, client_id: client_id.unwrap_or(ib.client_id), cfg: ib.clone(), live_confirmed };
            let clock = SimulatedClock::at_et(date, chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time"));
            let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
            let store = store(&bus).await?;
            let stop = Arc::new(AtomicBool::new(false));
            let on_signal = stop.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                eprintln!("executor daemon: stop requested: cancelling working orders, positions stay");
                on_signal.store(true, Ordering::SeqCst);
            });
            let opts = DaemonOptions {
                date,
                poll: Duration::from_secs(poll_secs.unwrap_or(ib.poll_secs).into()),
                book_wait: Duration::from_secs(book_wait_secs),
                reconnect_attempts: ib.reconnect_attempts,
            };
            let notifier = Notifier::from_config(&cfg.trading.telegram, |k| std::env::var(k).ok());
            let alerter = ae_shared::alerts::Alerter::from_config(&bus, &cfg);
            session::ledger_corporate_actions(&mut ledger, &store, date)?;
            let report = daemon::run(
                &bus,
                &cfg,
                &connector,
                &mut ledger,
                &store.sectors,
                session::split_ratios(&store, date),
                &opts,
                &notifier,
                &alerter,
                &clock,
                stop,
            )
            .await;
            let report = alerted(&bus, &cfg, "executor daemon", date, false, report).await?;
            print(&report)
        }
        Cmd::Gateway { date, listen, account, from_ledger } => {
            let store = store(&bus).await?;
            let mut gw = ae_executor::gateway_day::config(&store, date, &cfg.trading, &account);
            if from_ledger {
                let ledger = Ledger::open(Path::new(&cfg.trading.ledger_path))?;
                gw.cash = ledger.cash()?;
                gw.positions = ledger.positions()?.into_iter().map(|p| (p.ticker, (p.shares, p.avg_cost))).collect();
            }
            let g = ae_tws::gateway::Gateway::start(&listen, gw).await?;
            eprintln!("paper gateway for {date} listening on {} (account {account}); Ctrl-C stops it", g.addr());
            shutdown_signal().await;
            Ok(())
        }
        Cmd::Watchdog { date, expect } => {
            let date = match date {
                Some(d) => d,
                None => match SystemClock.trading_day() {
                    Some(d) => d,
                    None => {
                        println!("watchdog: today is not an NYSE trading day: nothing expected");
                        return Ok(());
                    }
                },
            };
            let (key, job, due) = match expect {
                Expect::OrderBook => (keys::order_book(date), "executor plan", "09:20"),
                Expect::Eod => (keys::eod(date), "executor eod", "16:40"),
            };
            if bus.head(&key).await?.is_some() {
                println!("watchdog: {key} is there");
                return Ok(());
            }
            let alert = ae_shared::alerts::Alert {
                key: format!("missed-job:{job}:{date}"),
                severity: ae_shared::alerts::Severity::Critical,
                title: format!("{job} did not run for {date}"),
                detail: format!("{key} is missing: `{job}` is due at {due} New York time and has not written it"),
                action: format!(
                    "check the unit (`systemctl status alpha-engine-{}`), then run `{job} --date {date}`",
                    if matches!(expect, Expect::OrderBook) { "plan" } else { "eod" }
                ),
                source: "executor watchdog".into(),
                date: Some(date),
                at: SystemClock.now(),
            };
            ae_shared::alerts::Alerter::from_config(&bus, &cfg).deliver(alert).await;
            anyhow::bail!("{key} is missing: the operator was alerted")
        }
        Cmd::Risk { date, json } => {
            let date = date.map(Ok).unwrap_or_else(today)?;
            let key = ae_shared::bus::keys::risk_state(date);
            let Some(doc) = bus.get_doc::<ae_shared::contracts::risk_state::RiskState>(&key).await? else {
                anyhow::bail!(
                    "no risk state for {date} at {key}: the planner writes it each morning (`executor plan --date {date}`)"
                );
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&doc.doc)?);
            } else {
                print!("{}", ae_executor::risk_state::text(&doc.doc));
            }
            Ok(())
        }
        Cmd::KillSwitch { action } => {
            use ae_executor::kill_switch;
            use ae_shared::contracts::kill_switch::{KillMode, KillSwitch, SetBy};
            let key = keys::kill_switch();
            let alerter = ae_shared::alerts::Alerter::from_config(&bus, &cfg);
            match action {
                KillAction::Set { reason, mode } => {
                    let mode = match mode {
                        ModeArg::Entries => KillMode::Entries,
                        ModeArg::Flatten => KillMode::Flatten,
                    };
                    let confirmed = mode == KillMode::Flatten
                        && confirm_at_terminal(
                            "FLATTEN sells EVERY position at market. Type FLATTEN to confirm: ",
                            "FLATTEN",
                            "--mode flatten needs an operator at a terminal to type FLATTEN: refusing",
                        )?;
                    if mode == KillMode::Flatten && !confirmed {
                        anyhow::bail!("not confirmed: the kill switch was not changed");
                    }
                    let doc = KillSwitch::new(
                        mode,
                        &reason,
                        SystemClock.now(),
                        SetBy::Operator { name: operator() },
                        confirmed,
                        env!("CARGO_PKG_VERSION"),
                    );
                    kill_switch::set(&bus, &doc).await?;
                    alerter.deliver(kill_switch::alert_for_set(&doc)).await;
                    println!(
                        "kill switch SET ({}) at {key}: no new entries until `executor kill-switch clear --reason ...`",
                        mode.name()
                    );
                }
                KillAction::Clear { reason } => {
                    match kill_switch::clear(&bus, &operator(), &reason, SystemClock.now()).await? {
                        Some(c) => {
                            alerter.deliver(kill_switch::alert_for_clear(&c)).await;
                            println!("kill switch cleared ({reason}); archived under executor/kill_switch/history/");
                        }
                        None => println!("kill switch was not set"),
                    }
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

/// Alerts the operator when a job failed (a dry run only prints), and passes the result on.
async fn alerted<T>(
    bus: &ae_shared::bus::Bus,
    cfg: &Config,
    job: &str,
    date: TradingDay,
    dry_run: bool,
    r: anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Err(e) = &r
        && !dry_run
    {
        ae_shared::alerts::job_failed(bus, cfg, job, Some(date), e, SystemClock.now()).await;
    }
    r
}

/// Asks the operator to type `word` at the terminal; refuses (an error) without a terminal.
fn confirm_at_terminal(prompt: &str, word: &str, no_terminal: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{no_terminal}");
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == word)
}

/// Asks the operator to confirm live trading at the terminal.
fn confirm_live() -> anyhow::Result<bool> {
    confirm_at_terminal(
        "LIVE TRADING is configured. Type LIVE to trade a live account: ",
        "LIVE",
        "trading.ib.live is set but there is no terminal to confirm live trading on: refusing",
    )
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.common.init_logging();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    ae_shared::cli::finish("executor: ", rt.block_on(run(cli)))
}
