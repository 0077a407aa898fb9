//! The `predictor` binary: `train` (weekly), `infer` (daily), `bench` (full-size timings on a
//! simulated market). Under AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set) the same handlers serve
//! events `{"command": "train" | "infer", "date": "YYYY-MM-DD"}` (date optional: today in New York).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ae_predictor::infer::{InferOptions, infer};
use ae_predictor::train::{TrainOptions, train};
use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::cli::{CommonArgs, finish, parse_day};
use ae_shared::clock::{Clock, SimulatedClock, SystemClock};
use ae_shared::config::Config;
use ae_shared::lambda;
use ae_shared::sim::{SimConfig, generate};
use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Deserialize;

/// Predictor job: LightGBM training with walk-forward validation and promotion (weekly), daily predictions with the veto.
#[derive(Debug, Parser)]
#[command(name = "predictor", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Train on prices up to the session before DATE, validate walk-forward, promote if the gate
    /// passes: predictor/models/{version}/ then predictor/registry.json.
    Train {
        /// Training day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// Train and report; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Predict every usable symbol with the champion: predictor/predictions/{date}.json (+ latest)
    /// and predictor/metrics/{date}.json (+ latest).
    Infer {
        /// Prediction day (default: today in New York).
        #[arg(long, value_parser = parse_day)]
        date: Option<TradingDay>,
        /// Predict and report; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace predictions already written for the day from other inputs (archived first).
        #[arg(long)]
        force: bool,
    },
    /// Full-size timings on a simulated market: features, walk-forward training, inference
    /// (in a child process, for its own peak memory), and the planted signal's IC vs the model's.
    Bench {
        /// Simulated symbols.
        #[arg(long, default_value_t = 900)]
        names: usize,
        /// Simulated sessions.
        #[arg(long, default_value_t = 2520)]
        days: usize,
        /// Planted signal strength (0 = null market).
        #[arg(long, default_value_t = 0.4)]
        signal: f64,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// glibc compatibility for AWS Lambda `provided.al2023` (glibc 2.34): the statically linked
/// libstdc++ of GCC 12 calls `arc4random`, which glibc only exports from 2.36. Defined here, the
/// link resolves to this function instead of a glibc 2.36 symbol (a test checks the binary needs
/// nothing newer than GLIBC_2.34). Same contract: 32 random bits from the kernel's CSPRNG.
#[unsafe(no_mangle)]
pub extern "C" fn arc4random() -> u32 {
    let mut b = [0u8; 4];
    // getrandom(2) only fails before the entropy pool is initialised at boot; then fall back to
    // the time-based bits rather than abort inside a C++ runtime call.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::Instant::now().elapsed().subsec_nanos() ^ std::process::id();
        return nanos.rotate_left(13) ^ 0x9e37_79b9;
    }
    u32::from_ne_bytes(b)
}

#[derive(Debug, Deserialize)]
struct Event {
    command: String,
    #[serde(default)]
    date: Option<String>,
    /// Scheduled every weekday: train only on the first trading day of the week.
    #[serde(default)]
    first_of_week_only: bool,
}

fn day_or_today(d: Option<TradingDay>) -> anyhow::Result<TradingDay> {
    match d {
        Some(d) => Ok(d),
        None => SystemClock.trading_day().context("today is outside the NYSE calendar"),
    }
}

async fn run_train(common: &CommonArgs, date: Option<TradingDay>, dry_run: bool) -> anyhow::Result<serde_json::Value> {
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    let date = day_or_today(date)?;
    let r = train(&bus, &cfg, Arc::new(SystemClock), &TrainOptions { date, dry_run }).await;
    alert_on_failure(&bus, &cfg, "predictor train", date, dry_run, &r).await;
    Ok(serde_json::to_value(r?)?)
}

async fn run_infer(
    common: &CommonArgs,
    date: Option<TradingDay>,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<serde_json::Value> {
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    let date = day_or_today(date)?;
    let r = infer(&bus, &cfg, Arc::new(SystemClock), &InferOptions { date, dry_run, force }).await;
    alert_on_failure(&bus, &cfg, "predictor infer", date, dry_run, &r).await;
    Ok(serde_json::to_value(r?)?)
}

/// A failed run tells the operator (a dry run only prints).
async fn alert_on_failure<T, E: std::fmt::Display>(
    bus: &Bus,
    cfg: &Config,
    job: &str,
    date: TradingDay,
    dry_run: bool,
    r: &Result<T, E>,
) {
    if let Err(e) = r
        && !dry_run
    {
        ae_shared::alerts::job_failed(bus, cfg, job, Some(date), e, SystemClock.now()).await;
    }
}

async fn bench(names: usize, days: usize, signal: f64, seed: u64) -> anyhow::Result<()> {
    let cfg = Config::defaults();
    let t = Instant::now();
    let market = generate(&SimConfig::new(names, days, signal, seed));
    let sim_secs = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir()?;
    let bus = Bus::file(dir.path());
    let last = *market.sessions.last().expect("sessions");
    let clock: Arc<dyn Clock> =
        Arc::new(SimulatedClock::at_et(last, chrono::NaiveTime::from_hms_opt(6, 0, 0).expect("time")));
    market.write_to(&bus, &cfg.data, clock.as_ref()).await?;
    let train_day = last;
    let t = Instant::now();
    let r = train(&bus, &cfg, clock.clone(), &TrainOptions { date: train_day, dry_run: false }).await?;
    let train_secs = t.elapsed().as_secs_f64();
    let first_test = market.sessions.binary_search(&r.walk_forward[0].test_start).unwrap_or(0);
    let last_test = market.sessions.binary_search(&r.walk_forward.last().expect("folds").test_end).unwrap_or(days);
    let oracle = market.oracle_rank_ic(first_test, last_test + 1);
    // Inference in a child process so its peak memory is its own.
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .args([
            "infer",
            "--date",
            &train_day.to_string(),
            "--dry-run",
            "--bus",
            &format!("file://{}", dir.path().display()),
        ])
        .env("RUST_LOG", "warn")
        .output()?;
    anyhow::ensure!(out.status.success(), "infer failed: {}", String::from_utf8_lossy(&out.stderr));
    let inf: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    println!(
        "simulated market: {names} names x {days} sessions, planted signal {signal}, seed {seed} ({sim_secs:.1}s to simulate)"
    );
    println!("features (panel of {} features): {:.2}s", ae_predictor::features::NF, r.seconds.0);
    println!(
        "walk-forward training ({} folds): {:.1}s; final model ({} rows, {} rounds): {:.1}s; train total {train_secs:.1}s",
        r.walk_forward.len(),
        r.seconds.1,
        r.training_rows,
        r.iterations,
        r.seconds.2
    );
    println!(
        "out-of-sample rank IC {:.4} (median fold IC {:.4}, ICIR {:.2}) vs the planted signal's oracle rank IC {oracle:.4} over the same test sessions: {:.0}%",
        r.summary.mean_rank_ic,
        r.summary.median_ic,
        r.summary.icir,
        100.0 * r.summary.mean_rank_ic / oracle
    );
    println!("promoted: {} ({})", r.promoted, r.published);
    println!(
        "inference for {} names: {:.2}s, peak memory {:.0} MB",
        inf["predicted"],
        inf["seconds"].as_f64().unwrap_or(f64::NAN),
        inf["peak_memory_mb"].as_f64().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// One Lambda invocation.
async fn handle(common: CommonArgs, e: Event) -> anyhow::Result<serde_json::Value> {
    let date = match lambda::scheduled(e.date.as_deref(), e.first_of_week_only, &SystemClock)? {
        lambda::Scheduled::Run(d) => d,
        lambda::Scheduled::Skip(answer) => return Ok(answer),
    };
    match e.command.as_str() {
        "train" => run_train(&common, date, false).await,
        "infer" => run_infer(&common, date, false, false).await,
        other => Err(anyhow::anyhow!("unknown command {other:?}: train or infer")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if lambda::is_lambda() {
        return lambda::serve(r#" (expected {"command": "train"|"infer"})"#, handle).await;
    }
    let cli = Cli::parse();
    cli.common.init_logging();
    let result = match cli.cmd {
        Cmd::Train { date, dry_run } => run_train(&cli.common, date, dry_run)
            .await
            .map(|v| println!("{}", serde_json::to_string_pretty(&v).expect("json"))),
        Cmd::Infer { date, dry_run, force } => run_infer(&cli.common, date, dry_run, force)
            .await
            .map(|v| println!("{}", serde_json::to_string_pretty(&v).expect("json"))),
        Cmd::Bench { names, days, signal, seed } => bench(names, days, signal, seed).await,
    };
    finish("error: ", result)
}
