//! The `backtester` binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use ae_backtester::bench::{BenchMarket, bench};
use ae_backtester::run::{RunOptions, SweepSource, plan_shards, run_with, shard};
use ae_backtester::sweep::Shard;
use ae_shared::TradingDay;
use ae_shared::cli::{CommonArgs, finish, parse_day};
use ae_shared::lambda;
use clap::{Parser, Subcommand};

/// Backtester job: simulator driving the executor's rules, signal grading, parameter sweeps and
/// config write-back.
#[derive(Debug, Parser)]
#[command(name = "backtester", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate history with the parameters in force, grade signals, sweep executor parameters,
    /// calibrate the veto and tune scoring weights; write back only what clears every gate;
    /// report to backtest/{date}/report.md and report.json.
    Run {
        /// Run date (YYYY-MM-DD, a trading day): history up to the session before it is used.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
        /// Compute and print the report; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Re-run a date that already has a report (the old one is archived).
        #[arg(long)]
        force: bool,
        /// Print the Markdown report to stdout.
        #[arg(long)]
        print: bool,
        /// Do not score the executor sweep here: merge the results of this many shards from the
        /// bus (`backtester shard`), deciding exactly as one process would.
        #[arg(long, value_name = "N")]
        merge_shards: Option<usize>,
    },
    /// Measure the simulator on a fresh temporary bus: prepare, one run with the parameters in
    /// force (best of --repeats), and a cold sweep of the declared grid. Writes nothing to the
    /// configured bus. `bench/peers/run.sh` compares the figures with backtrader and vectorbt.
    Bench {
        /// The embedded year (default), or a simulated market of --names x --years.
        #[arg(long, value_enum, default_value = "embedded")]
        market: MarketArg,
        /// Names of the simulated market.
        #[arg(long, default_value_t = 200)]
        names: usize,
        /// Years of the simulated market (252 sessions each).
        #[arg(long, default_value_t = 10)]
        years: usize,
        /// Seed of the simulated market.
        #[arg(long, default_value_t = 3)]
        seed: u64,
        /// Single runs to time (the best is reported).
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Skip the sweep of the declared grid.
        #[arg(long)]
        no_grid: bool,
        /// Print one JSON line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the manifest of a sweep fanned out in N shards (backtest/{date}/sweep/manifest.json),
    /// the items a Step Functions Distributed Map runs, one Lambda invocation each.
    PlanShards {
        /// Run date.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
        /// How many shards.
        #[arg(long)]
        shards: usize,
    },
    /// Score one shard of the executor sweep and write it to the bus
    /// (backtest/{date}/sweep/shard-{index}-of-{of}.json).
    Shard {
        /// Run date.
        #[arg(long, value_parser = parse_day)]
        date: TradingDay,
        /// This shard, from 0.
        #[arg(long)]
        index: usize,
        /// How many shards.
        #[arg(long)]
        of: usize,
    },
}

/// The bench's market.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MarketArg {
    /// The embedded year of real data.
    Embedded,
    /// A simulated market.
    Simulated,
}

/// The Lambda event: `{"date": "YYYY-MM-DD"?, "dry_run": bool?, "force": bool?}`. Without a date
/// the run is for the next trading day on or after today (the Saturday job grades for Monday).
/// A sweep fanned out by Step Functions adds one of: `"plan_shards": N` (write the manifest),
/// `"shard": {"index": i, "of": N}` (score one shard), `"merge_shards": N` (the run, merging them).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    plan_shards: Option<usize>,
    #[serde(default)]
    shard: Option<Shard>,
    #[serde(default)]
    merge_shards: Option<usize>,
}

/// One Lambda invocation.
async fn handle(common: CommonArgs, e: Event) -> anyhow::Result<serde_json::Value> {
    let date = match e.date.as_deref() {
        Some(d) => TradingDay::parse(d).map_err(|e| anyhow::anyhow!("bad date: {e}"))?,
        None => {
            use ae_shared::clock::{Clock, SystemClock};
            TradingDay::on_or_after(SystemClock.now().with_timezone(&chrono_tz::America::New_York).date_naive())
                .ok_or_else(|| anyhow::anyhow!("today is outside the NYSE calendar"))?
        }
    };
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    if let Some(of) = e.plan_shards {
        let key = plan_shards(&bus, date, of).await?;
        return Ok(serde_json::json!({"date": date.to_string(), "manifest": key.to_string(), "shards": of}));
    }
    if let Some(sh) = e.shard {
        let which = Shard::new(sh.index, sh.of).map_err(|e| anyhow::anyhow!(e))?;
        let r = shard(&bus, &cfg, date, which, false).await?;
        return Ok(
            serde_json::json!({"date": date.to_string(), "shard": r.shard, "points": r.points.len(), "seconds": r.seconds}),
        );
    }
    let source = e.merge_shards.map_or(SweepSource::Local, SweepSource::Shards);
    let opts = RunOptions { date, dry_run: e.dry_run, force: e.force, progress: false };
    let r = match run_with(&bus, &cfg, &opts, source).await {
        Ok(r) => r,
        Err(err) => {
            if !e.dry_run {
                let now = ae_shared::clock::Clock::now(&ae_shared::clock::SystemClock);
                ae_shared::alerts::job_failed(&bus, &cfg, "backtester run", Some(date), &err, now).await;
            }
            return Err(err);
        }
    };
    Ok(serde_json::json!({
        "date": date.to_string(),
        "write_back": r.write_back,
        "summary": r.tear_sheet.summary,
        "speed": r.speed,
    }))
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if lambda::is_lambda() {
        return rt.block_on(lambda::serve("", handle));
    }
    let cli = Cli::parse();
    cli.common.init_logging();
    finish("backtester: error: ", rt.block_on(go(cli)))
}

async fn go(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.common.load_config()?;
    if let Command::Bench { market, names, years, seed, repeats, no_grid, json } = cli.command {
        let market = match market {
            MarketArg::Embedded => BenchMarket::Embedded,
            MarketArg::Simulated => BenchMarket::Simulated { names, sessions: years * 252, seed },
        };
        let r = bench(&cfg, market, repeats, !no_grid, &|step| tracing::info!(step, "bench")).await?;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            println!(
                "bench {}: {} names, {} sessions, {} bar-events; prepare {:.2} s; one run {:.4} s ({:.2}M bar-events/s, {} trades); grid {} points {}; peak {} MB",
                r.market,
                r.names,
                r.sessions,
                r.bar_events,
                r.prepare_s,
                r.one_run_s,
                r.bar_events_per_s / 1e6,
                r.trades,
                r.grid_points,
                r.grid_s.map_or("skipped".to_string(), |s| format!("in {s:.1} s on {} threads", r.threads)),
                r.peak_rss_mb.map_or("?".to_string(), |m| format!("{m:.0}")),
            );
        }
        return Ok(());
    }
    let bus = cli.common.open_bus(&cfg).await?;
    match cli.command {
        Command::Bench { .. } => unreachable!("handled above"),
        Command::PlanShards { date, shards } => {
            let key = plan_shards(&bus, date, shards).await?;
            println!("backtest {date}: {shards} shard(s) planned in {key}");
            Ok(())
        }
        Command::Shard { date, index, of } => {
            let which = Shard::new(index, of).map_err(|e| anyhow::anyhow!(e))?;
            let r = shard(&bus, &cfg, date, which, std::io::stderr().is_terminal()).await?;
            println!("backtest {date}: shard {index} of {of} scored {} points in {:.2} s", r.points.len(), r.seconds);
            Ok(())
        }
        Command::Run { date, dry_run, force, print, merge_shards } => {
            let opts = RunOptions { date, dry_run, force, progress: std::io::stderr().is_terminal() };
            let source = merge_shards.map_or(SweepSource::Local, SweepSource::Shards);
            let r = match run_with(&bus, &cfg, &opts, source).await {
                Ok(r) => r,
                Err(e) => {
                    if !dry_run {
                        let now = ae_shared::clock::Clock::now(&ae_shared::clock::SystemClock);
                        ae_shared::alerts::job_failed(&bus, &cfg, "backtester run", Some(date), &e, now).await;
                    }
                    return Err(e);
                }
            };
            if print || dry_run {
                println!("{}", r.markdown());
            }
            let m = &r.tear_sheet.summary;
            println!(
                "backtest {date}: {} sessions, return {:+.2}% vs benchmark {:+.2}%, Sharpe {:.2}, max drawdown {:.2}%, {} trades",
                m.n,
                m.total_return * 100.0,
                m.benchmark_total_return * 100.0,
                m.sharpe,
                m.max_drawdown * 100.0,
                r.tear_sheet.trades
            );
            for w in &r.write_back {
                let first_fail = w.why.iter().find(|y| y.starts_with("FAIL")).cloned().unwrap_or_default();
                println!(
                    "  {:<17} {}",
                    w.name,
                    if w.written {
                        format!("written: {}", w.keys.join(", "))
                    } else {
                        format!("not written {first_fail}")
                    }
                );
            }
            println!(
                "  sweep: {} points in {:.1} s; one simulation {:.3} s ({:.2}M bar-events/s)",
                r.sweep.declared - r.sweep.invalid,
                r.sweep.seconds,
                r.speed.simulate_s,
                r.speed.bar_events_per_s / 1e6
            );
            if !dry_run {
                println!("  report: backtest/{date}/report.md");
            }
            Ok(())
        }
    }
}
