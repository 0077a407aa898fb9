//! The `backtester bench` measurement: the simulator's speed on a market built for the purpose (the
//! embedded year, or a simulated market of N names x Y years), from a fresh bus in a temporary
//! directory: prepare, one simulation with the parameters in force (best of a few), and a cold
//! sweep of the declared grid. The figures `bench/peers/` compares with backtrader and vectorbt,
//! and the README's scale table.

use std::time::Instant;

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::store::{self, ImportFiles, PriceStore, embedded_data_dir};
use anyhow::Context;
use serde::Serialize;

use crate::fill::FillModel;
use crate::sim::Simulator;
use crate::{prepare, replay, sweep};

/// Which market the bench runs on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BenchMarket {
    /// The embedded year of real S&P 500 data (Aug 2009 - Aug 2010).
    Embedded,
    /// A simulated market (`ae_shared::sim`), seeded.
    Simulated {
        /// Names.
        names: usize,
        /// Sessions (252 a year).
        sessions: usize,
        /// Seed.
        seed: u64,
    },
}

/// What the bench measured, one JSON line for `bench/peers/`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Always "alpha-engine".
    pub engine: &'static str,
    /// The crate's version.
    pub version: &'static str,
    /// "embedded" or "simulated NxS".
    pub market: String,
    /// Names with bars in the store.
    pub names: usize,
    /// Simulated sessions.
    pub sessions: usize,
    /// Bar-events of one run: universe symbol-sessions over the simulated days.
    pub bar_events: u64,
    /// Seconds to import the market into the bus (not part of any figure below).
    pub load_s: f64,
    /// Seconds of the prepare step (market views, candidates, per day).
    pub prepare_s: f64,
    /// Seconds of one simulation with the parameters in force (best of `repeats`).
    pub one_run_s: f64,
    /// How many times the single run was repeated.
    pub repeats: usize,
    /// Bar-events per second of one run (one run uses one core).
    pub bar_events_per_s: f64,
    /// Trades closed in one run (a sanity figure).
    pub trades: u64,
    /// Grid points declared (0 when the sweep was skipped).
    pub grid_points: usize,
    /// Seconds of the cold sweep over the whole grid (`None` when skipped).
    pub grid_s: Option<f64>,
    /// Worker threads of the sweep.
    pub threads: usize,
    /// Peak resident memory of the process, MB (Linux `VmHWM`).
    pub peak_rss_mb: Option<f64>,
}

/// Runs the bench: `repeats` single runs and, when `grid` is set, one cold sweep of
/// `cfg.backtest.sweep`. `progress` is told each step's name.
pub async fn bench(
    cfg: &Config,
    market: BenchMarket,
    repeats: usize,
    grid: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<BenchReport> {
    let tmp = tempfile::tempdir().context("creating the bench's bus directory")?;
    let bus = Bus::file(tmp.path().join("bus"));
    let at_six = chrono::NaiveTime::from_hms_opt(18, 0, 0).expect("a time");
    let t = Instant::now();
    progress("loading the market");
    let (label, run_date, warmup) = match market {
        BenchMarket::Embedded => {
            let files = ImportFiles::embedded(&embedded_data_dir());
            let last = TradingDay::parse("2010-08-20").expect("a session");
            let clock = SimulatedClock::at_et(last.next(), at_six);
            store::import_files(&bus, &files, &cfg.data, &clock, false)
                .await
                .context("importing the embedded data (set AE_DATA_DIR to the repository's data/ folder)")?;
            ("embedded".to_string(), last, cfg.backtest.warmup_days)
        }
        BenchMarket::Simulated { names, sessions, seed } => {
            let m = ae_shared::sim::generate(&ae_shared::sim::SimConfig::new(names, sessions, 0.0, seed));
            let last = *m.sessions.last().context("an empty simulated market")?;
            m.write_to(&bus, &cfg.data, &SimulatedClock::at_et(last, at_six)).await?;
            (format!("simulated {names}x{sessions} (seed {seed})"), last.next(), 60)
        }
    };
    let store = PriceStore::load(&bus).await.context("loading the bench's price store")?;
    let days = prepare::period(&store, run_date, warmup);
    let rep = replay::build(&bus, cfg, &days, &|_, _| {}).await?;
    let load_s = t.elapsed().as_secs_f64();
    progress("preparing the days");
    let t = Instant::now();
    let prep = prepare::prepare(&rep.bus, &store, cfg, &cfg.executor, &days, &|_, _| {}).await?;
    let prepare_s = t.elapsed().as_secs_f64();
    progress("one run, the parameters in force");
    let mut one_run_s = f64::INFINITY;
    let mut trades = 0;
    for _ in 0..repeats.max(1) {
        // A fresh simulator each time: nothing memoized by the run before.
        let sim = Simulator::new(&prep, FillModel::from_config(cfg), 1e6, 1e6);
        let t = Instant::now();
        let r = std::hint::black_box(sim.run(&cfg.executor, false));
        one_run_s = one_run_s.min(t.elapsed().as_secs_f64());
        trades = r.trades_closed.iter().map(|&k| u64::from(k)).sum();
    }
    let (grid_points, grid_s) = if grid {
        progress("the declared grid, cold");
        let sim = Simulator::new(&prep, FillModel::from_config(cfg), 1e6, 1e6);
        let t = Instant::now();
        let (s, _) = sweep::sweep(&sim, &cfg.executor, &cfg.backtest, None, &|| {});
        (s.declared, Some(t.elapsed().as_secs_f64()))
    } else {
        (0, None)
    };
    Ok(BenchReport {
        engine: "alpha-engine",
        version: crate::VERSION,
        market: label,
        names: store.raw.tickers.len(),
        sessions: prep.days.len(),
        bar_events: prep.universe_bars,
        load_s,
        prepare_s,
        one_run_s,
        repeats: repeats.max(1),
        bar_events_per_s: prep.universe_bars as f64 / one_run_s,
        trades,
        grid_points,
        grid_s,
        threads: if cfg.backtest.threads == 0 { rayon::current_num_threads() } else { cfg.backtest.threads as usize },
        peak_rss_mb: ae_shared::cli::peak_memory_mb(),
    })
}
