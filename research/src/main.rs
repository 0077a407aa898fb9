//! The `research` binary: `research run` on the command line, or the same handler under the AWS
//! Lambda runtime when `AWS_LAMBDA_RUNTIME_API` is set (event: `{"date": "YYYY-MM-DD", "dry_run":
//! false, "force": false}`, every field optional; the date defaults to today in New York).

use std::process::ExitCode;
use std::sync::Arc;

use ae_research::run::{RunOptions, RunReport, run};
use ae_shared::TradingDay;
use ae_shared::cli::{CommonArgs, finish, parse_day};
use ae_shared::clock::{Clock, SystemClock};
use ae_shared::lambda;
use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Deserialize;

/// Weekly research job: universe, quant filter, factor scores, LLM agents, signals and the research brief.
#[derive(Debug, Parser)]
#[command(name = "research", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run research for a date: writes signals/{date}/signals.json, signals/latest.json, the brief
    /// (bus + email or outbox) and research/archive/{date}/run.json.
    Run {
        /// Run date (YYYY-MM-DD, a trading day; default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// Compute and print the summary; write nothing, send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace signals already written for the date from other inputs (archived first).
        #[arg(long)]
        force: bool,
        /// Print the run report as JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Default, Deserialize)]
struct Event {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force: bool,
    /// Scheduled every weekday: run only on the first trading day of the week.
    #[serde(default)]
    first_of_week_only: bool,
}

fn today(clock: &dyn Clock) -> anyhow::Result<TradingDay> {
    clock.trading_day().context("today is outside the NYSE calendar")
}

async fn execute(
    common: &CommonArgs,
    date: Option<TradingDay>,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<RunReport> {
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let date = match date {
        Some(d) => d,
        None => today(clock.as_ref())?,
    };
    let mut opts = RunOptions::new(date);
    opts.dry_run = dry_run;
    opts.force = force;
    let out = run(&bus, &cfg, clock.clone(), &opts).await;
    if let Err(e) = &out
        && !dry_run
    {
        ae_shared::alerts::job_failed(&bus, &cfg, "research run", Some(date), e, clock.now()).await;
    }
    out
}

fn print_summary(r: &RunReport) {
    println!("research {} (prices to {}): {:?}, run {}", r.date, r.as_of, r.mode, r.run_id);
    println!(
        "  regime {} (quant {}{}); {} names, {} eligible, {} liquid, shortlist {:?}",
        r.regime,
        r.quant_regime,
        r.llm_regime.map(|l| format!(", macro economist {l}")).unwrap_or_default(),
        r.names,
        r.eligible,
        r.liquid,
        r.shortlist
    );
    println!("  population {} (+{} / -{}); signals {:?}", r.population, r.entries.len(), r.exits.len(), r.signals);
    for c in &r.entries {
        println!("    + {} {}", c.ticker, c.reason);
    }
    for c in &r.exits {
        println!("    - {} {}", c.ticker, c.reason);
    }
    for (name, p) in &r.providers {
        println!("  provider {name}: {} ok, {} failed {:?}", p.ok, p.error_count(), p.errors);
    }
    if !r.without_sector.is_empty() {
        println!("  no sector ({}): {}", r.without_sector.len(), r.without_sector.join(" "));
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!("  signals: {}; brief: {}; {:.2}s", r.published, r.brief, r.elapsed_secs);
}

/// One Lambda invocation.
async fn handle(common: CommonArgs, e: Event) -> anyhow::Result<serde_json::Value> {
    let date = match lambda::scheduled(e.date.as_deref(), e.first_of_week_only, &SystemClock)? {
        lambda::Scheduled::Run(d) => d,
        lambda::Scheduled::Skip(answer) => return Ok(answer),
    };
    let report = execute(&common, date, e.dry_run, e.force).await?;
    Ok(serde_json::to_value(report)?)
}

#[tokio::main]
async fn main() -> ExitCode {
    if lambda::is_lambda() {
        return lambda::serve("", handle).await;
    }
    let cli = Cli::parse();
    cli.common.init_logging();
    let result = match cli.cmd {
        Cmd::Run { date, dry_run, force, json } => execute(&cli.common, date, dry_run, force).await.map(|r| {
            if json {
                println!("{}", serde_json::to_string_pretty(&r).expect("report serializes"));
            } else {
                print_summary(&r);
            }
        }),
    };
    finish("error: ", result)
}
