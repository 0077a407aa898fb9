//! `alpha-engine local run` and `alpha-engine demo`: the production schedule on a simulated clock.
//!
//! Every job is its own handler call, exactly as production schedules it, and the jobs talk only
//! through the bus:
//!
//! | when (ET) | job |
//! |---|---|
//! | Sat 04:00 | backtester (for the coming week's first trading day) |
//! | first trading day of the week 05:00 | research |
//! | first trading day of the week 06:00 | predictor train |
//! | daily 09:15 | predictor infer |
//! | daily 09:20 | executor plan |
//! | 09:30–16:00 | executor session (the daemon's engine on the paper broker) |
//! | 16:20 | data update (live only: the replay's store already holds the day) |
//! | 16:40 | executor EOD |
//!
//! A job that fails is reported and the schedule goes on, as EventBridge would; the executor's
//! jobs are the money path, so one of them failing stops the run. The price store is the one on
//! the bus (imported or embedded) for the whole run; in production the trading host appends each
//! session after the close.

use crate::schedule;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ae_backtester::run::{RunOptions as BacktestOptions, SweepSource, start as backtest_start};
use ae_executor::eod::{self, EodOptions};
use ae_executor::ledger::Ledger;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{self, PlanEnv, PlanOptions};
use ae_executor::session;
use ae_predictor::infer::{InferOptions, infer};
use ae_predictor::train::{self, TrainOptions};
use ae_research::nightly::{self, Vendors};
use ae_research::run::{RunOptions as ResearchOptions, run as research};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::calendar::et_instant;
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::eod::EodReport;
use ae_shared::store::PriceStore;
use anyhow::Context as _;
use chrono::{Datelike, NaiveTime, TimeDelta};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// One job's failure.
#[derive(Debug, Clone, Serialize)]
pub struct JobFailure {
    /// Day.
    pub date: TradingDay,
    /// Job.
    pub job: &'static str,
    /// Error.
    pub error: String,
}

/// What a local run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LocalReport {
    /// Trading days run.
    pub days: Vec<TradingDay>,
    /// Jobs run, by name.
    pub jobs: std::collections::BTreeMap<&'static str, u32>,
    /// Seconds spent, by job.
    pub seconds: std::collections::BTreeMap<&'static str, f64>,
    /// Failures (the schedule went on).
    pub failures: Vec<JobFailure>,
    /// Predictor trainings that promoted a champion.
    pub promoted: Vec<TradingDay>,
    /// Last walk-forward fold rank ICs of a promoted model (out of sample).
    pub fold_rank_ic: Vec<f64>,
    /// Backtester runs, with what each wrote back.
    pub backtests: Vec<(TradingDay, Vec<String>)>,
    /// Last backtest's decisions (name, written, first failing gate).
    pub last_backtest: Vec<(String, bool, String)>,
    /// Total seconds.
    pub total_s: f64,
}

/// The trading days from `from` to `to`.
pub fn trading_days(from: TradingDay, to: TradingDay) -> Vec<TradingDay> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d = d.next();
    }
    out
}

/// What the daemon trades on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Venue {
    /// The paper session: the daemon's engine on the paper broker backed by the ledger.
    Paper,
    /// The real daemon through `ibapi` against the local TWS-protocol paper gateway, which
    /// replays each day's bars; the gateway starts from the ledger's cash and positions.
    IbGateway,
}

struct Runner {
    clock: Arc<SimulatedClock>,
    report: LocalReport,
}

impl Runner {
    fn set(&self, d: chrono::NaiveDate, t: NaiveTime) {
        self.clock.set(et_instant(d, t));
    }

    fn timed(&mut self, job: &'static str, t0: Instant) {
        self.took(job, t0.elapsed());
    }

    fn took(&mut self, job: &'static str, took: std::time::Duration) {
        *self.report.jobs.entry(job).or_default() += 1;
        *self.report.seconds.entry(job).or_default() += took.as_secs_f64();
    }

    /// Books a day's inference: the time it took, and a failure unless it only found no champion.
    fn inferred(&mut self, date: TradingDay, done: anyhow::Result<()>, took: std::time::Duration) {
        self.took("predictor infer", took);
        if let Err(e) = done
            && !format!("{e:#}").contains("no champion")
        {
            self.fail(date, "predictor infer", &e);
        }
    }

    fn fail(&mut self, date: TradingDay, job: &'static str, e: &anyhow::Error) {
        tracing::warn!(%date, job, "{e:#}");
        let error = ae_shared::secrets::redact(&format!("{e:#}")).into_owned();
        self.report.failures.push(JobFailure { date, job, error });
    }
}

/// Day `n`'s inference started now on its own task, with its own clock at `n`'s 09:15.
fn infer_ahead(
    bus: &Bus,
    cfg: &Config,
    n: TradingDay,
) -> tokio::task::JoinHandle<(anyhow::Result<()>, std::time::Duration)> {
    let (bus, cfg) = (bus.clone(), cfg.clone());
    let clock: Arc<dyn Clock> = Arc::new(SimulatedClock::at_et(n, schedule::inference()));
    tokio::spawn(async move {
        let t0 = Instant::now();
        let done = infer(&bus, &cfg, clock, &InferOptions { date: n, dry_run: false, force: false }).await;
        (done.map(drop), t0.elapsed())
    })
}

/// The live data path of a run: the bus's price store starts at a cutoff and grows only through
/// the nightly update from the vendors (16:20 each day, before EOD), while the broker replays the
/// exchange from `market`, a store no job reads.
pub struct Live<'a> {
    /// The vendors of the nightly update.
    pub vendors: &'a Vendors,
    /// The exchange the gateway replays.
    pub market: &'a PriceStore,
}

/// Runs the schedule from `from` to `to` on `bus`. The paper broker and the ledger live at
/// `trading.ledger_path`. With `live`, every job reads the store as the nightly updates left it
/// the evening before, and a store that already holds the day is refused as look-ahead.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    bus: &Bus,
    cfg: &Config,
    from: TradingDay,
    to: TradingDay,
    venue: Venue,
    progress: bool,
    live: Option<Live<'_>>,
) -> anyhow::Result<LocalReport> {
    let t_all = Instant::now();
    let days = trading_days(from, to);
    anyhow::ensure!(!days.is_empty(), "--from {from} is after --to {to}");
    anyhow::ensure!(
        live.is_none() || venue == Venue::IbGateway,
        "a run on the live data path trades through the gateway (--broker ib-gateway): the paper session replays the bus's own store"
    );
    let mut store =
        PriceStore::load(bus).await.context("loading the price store (run `alpha-engine data import` first)")?;
    let clock = Arc::new(SimulatedClock::at_et(from, schedule::backtester()));
    let ledger_path = Path::new(&cfg.trading.ledger_path);
    if let Some(dir) = ledger_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let broker = PaperBroker::open(ledger_path, PaperSettings::from_config(&cfg.trading), clock.clone())?;
    let mut ledger = Ledger::open(ledger_path)?;
    let mut r = Runner { clock: clock.clone(), report: LocalReport { days: days.clone(), ..Default::default() } };
    let pb = if progress {
        let b = ProgressBar::new(days.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} days {elapsed_precise} eta {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    // A day whose inference already ran beside the day before's executor jobs.
    let mut inferred: Option<TradingDay> = None;
    for (i, &d) in days.iter().enumerate() {
        pb.set_message(d.to_string());
        if live.is_some() {
            // The store as last night's update left it; a store that already holds today would
            // let the morning's jobs read the future.
            store = PriceStore::load(bus).await.context("reloading the price store")?;
            anyhow::ensure!(
                store.manifest.last_day < d,
                "look-ahead: the price store reaches {} before {d}'s jobs ran",
                store.manifest.last_day
            );
        }
        let weekly = d == from || d.is_first_of_week();
        // On a replay, training's features and labels come from the store alone (the nightly
        // update has no part), so they are computed beside the backtester's first part and
        // research, which training waits for; only the research column is added after them.
        // It runs on a thread of its own, not on one of the runtime's workers (the backtester's
        // second part keeps one busy), so the jobs' own tasks are never left waiting behind it.
        let panel_ahead = (weekly && live.is_none()).then(|| {
            let (bus, cfg, rt) = (bus.clone(), cfg.clone(), tokio::runtime::Handle::current());
            tokio::task::spawn_blocking(move || rt.block_on(train::panel(&bus, &cfg, d)))
        });
        // Saturday's backtester: its first part writes what research and training read (the
        // scoring weights, the veto threshold); the rest runs beside them, as the jobs run on
        // their own machines, and beside Monday's inference, which reads nothing it writes; it is
        // done before Monday's plan, which reads the executor parameters it writes.
        let mut backtest_rest = None;
        if weekly && d != from {
            // Saturday 04:00 before this week.
            let sat = d.date() - TimeDelta::days((d.date().weekday().num_days_from_monday() as i64) + 2);
            r.set(sat, schedule::backtester());
            let t0 = Instant::now();
            let opts = BacktestOptions { date: d, dry_run: false, force: false, progress: false };
            match backtest_start(bus, cfg, &opts).await {
                Ok(started) => {
                    let (bus, cfg) = (bus.clone(), cfg.clone());
                    backtest_rest = Some(tokio::spawn(async move {
                        let done = started.finish(&bus, &cfg, SweepSource::Local).await;
                        (done, t0.elapsed())
                    }));
                }
                Err(e) => {
                    if !e.to_string().contains("sessions to simulate") {
                        r.fail(d, "backtester", &e);
                    }
                    r.timed("backtester", t0);
                }
            }
        }
        if weekly {
            r.set(d.date(), schedule::research());
            let t0 = Instant::now();
            if let Err(e) = research(bus, cfg, clock.clone(), &ResearchOptions::new(d)).await {
                r.fail(d, "research", &e);
            }
            r.timed("research", t0);
        }
        if weekly {
            r.set(d.date(), schedule::training());
            let t0 = Instant::now();
            // A panel that failed is computed again by training, which reports what it finds.
            let ahead = match panel_ahead {
                Some(p) => p.await.ok().and_then(Result::ok),
                None => None,
            };
            match train::train_with(bus, cfg, clock.clone(), &TrainOptions { date: d, dry_run: false }, ahead).await {
                Ok(t) if t.promoted => {
                    r.report.promoted.push(d);
                    r.report.fold_rank_ic = t.walk_forward.iter().map(|f| f.rank_ic).collect();
                }
                Ok(_) => {}
                // A young history is a normal state: no model until there are enough labels.
                Err(e) if format!("{e:#}").contains("not enough history") => {}
                Err(e) => r.fail(d, "predictor train", &e),
            }
            r.timed("predictor train", t0);
        }
        if inferred != Some(d) {
            r.set(d.date(), schedule::inference());
            let t0 = Instant::now();
            let done = infer(bus, cfg, clock.clone(), &InferOptions { date: d, dry_run: false, force: false }).await;
            r.inferred(d, done.map(drop), t0.elapsed());
        }
        if let Some(rest) = backtest_rest {
            let (done, took) = rest.await.context("the backtester stopped")?;
            r.took("backtester", took);
            match done {
                Ok(rep) => {
                    let written: Vec<String> =
                        rep.write_back.iter().filter(|w| w.written).map(|w| w.name.clone()).collect();
                    r.report.last_backtest = rep
                        .write_back
                        .iter()
                        .map(|w| {
                            let why = w.why.iter().find(|y| y.starts_with("FAIL")).cloned().unwrap_or_default();
                            (w.name.clone(), w.written, why)
                        })
                        .collect();
                    r.report.backtests.push((d, written));
                }
                Err(e) => r.fail(d, "backtester", &e),
            }
        }
        match venue {
            Venue::Paper => {
                // On a replay, tomorrow's inference reads nothing today's executor jobs write (the
                // store already holds the night's bars, and predictions are read by date): unless
                // tomorrow opens a week (the backtester, research and training come first), it
                // runs beside them, at its own 09:15, as the two run on their own machines.
                let ahead = days
                    .get(i + 1)
                    .filter(|n| live.is_none() && !n.is_first_of_week())
                    .map(|&n| (n, infer_ahead(bus, cfg, n)));

                r.set(d.date(), schedule::plan());
                let t0 = Instant::now();
                let env = PlanEnv { bus, cfg, clock: clock.as_ref(), broker: &broker, store: &store };
                planner::plan(&env, &mut ledger, &PlanOptions { date: d, dry_run: false, force: false })
                    .await
                    .with_context(|| format!("executor plan {d}"))?;
                r.timed("executor plan", t0);
                let t0 = Instant::now();
                session::run(bus, cfg, &clock, &broker, &mut ledger, &store, d)
                    .await
                    .with_context(|| format!("executor session {d}"))?;
                r.timed("executor session", t0);
                r.set(d.date(), schedule::eod());
                let t0 = Instant::now();
                let opts = EodOptions { date: d, dry_run: false, force: false };
                eod::run(bus, cfg, clock.as_ref(), &broker, &ledger, &store, &opts)
                    .await
                    .with_context(|| format!("executor eod {d}"))?;
                r.timed("executor eod", t0);
                if let Some((n, ahead)) = ahead {
                    let (done, took) = ahead.await.context("tomorrow's inference stopped")?;
                    r.inferred(n, done, took);
                    inferred = Some(n);
                }
            }
            Venue::IbGateway => gateway_day(&mut r, bus, cfg, &mut store, live.as_ref(), &mut ledger, d).await?,
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    r.report.total_s = t_all.elapsed().as_secs_f64();
    Ok(r.report)
}

/// The EOD reports of `days` on the bus.
pub async fn eod_reports(bus: &Bus, days: &[TradingDay]) -> anyhow::Result<Vec<EodReport>> {
    let mut out = Vec::new();
    for d in days {
        if let Some(l) = bus.get_doc::<EodReport>(&keys::eod(*d)).await? {
            out.push(l.doc);
        }
    }
    Ok(out)
}

/// One day through the real daemon and IB client against the local paper gateway: the gateway
/// starts from the ledger's cash and positions; the planner and EOD read the account from it too.
async fn gateway_day(
    r: &mut Runner,
    bus: &Bus,
    cfg: &Config,
    store: &mut PriceStore,
    live: Option<&Live<'_>>,
    ledger: &mut Ledger,
    d: TradingDay,
) -> anyhow::Result<()> {
    use ae_executor::daemon::{self, Connector as _, DaemonOptions, IbConnector};
    use ae_tws::gateway::Gateway;
    let mut gw = ae_executor::gateway_day::config(
        live.map(|l| l.market).unwrap_or(&*store),
        d,
        &cfg.trading,
        &cfg.trading.paper_account_id,
    );
    if live.is_some() {
        // The dividends the vendor announced (the exchange replay has none of its own).
        gw.dividends = ae_executor::session::dividend_events(store, d);
    }
    // A fresh ledger has no account yet: the gateway opens with the configured paper cash.
    if ledger.inception()?.is_some() {
        gw.cash = ledger.cash()?;
    }
    gw.positions = ledger.positions()?.into_iter().map(|p| (p.ticker, (p.shares, p.avg_cost))).collect();
    // The account's receivable carries over, as a real broker's does.
    gw.accrued_dividends = ledger.unpaid_accruals()?;
    let gateway = Gateway::start("127.0.0.1:0", gw).await.context("starting the local paper gateway")?;
    // The broker moved the positions for today's splits overnight; the ledger follows, and books
    // today's dividends, before anything reads it.
    ae_executor::session::ledger_corporate_actions(ledger, store, d)?;
    let ib = cfg.trading.ib.clone();
    let address = gateway.addr().to_string();
    let connector =
        IbConnector { address: address.clone(), client_id: ib.client_id, cfg: ib.clone(), live_confirmed: false };
    // The planner and EOD read the account on their own API client id, as separate processes would.
    let reader = IbConnector { address, client_id: ib.client_id + 10, cfg: ib.clone(), live_confirmed: false };
    r.set(d.date(), schedule::plan());
    let t0 = Instant::now();
    {
        let account = reader.connect().await.with_context(|| format!("connecting to the gateway for {d}"))?;
        let env = PlanEnv { bus, cfg, clock: r.clock.as_ref(), broker: &account, store };
        planner::plan(&env, ledger, &PlanOptions { date: d, dry_run: false, force: false })
            .await
            .with_context(|| format!("executor plan {d}"))?;
    }
    r.timed("executor plan", t0);
    let t0 = Instant::now();
    let opts = DaemonOptions {
        date: d,
        poll: std::time::Duration::ZERO,
        book_wait: std::time::Duration::from_secs(5),
        reconnect_attempts: ib.reconnect_attempts,
    };
    daemon::run(
        bus,
        cfg,
        &connector,
        ledger,
        &store.sectors,
        session::split_ratios(store, d),
        &opts,
        &ae_executor::notify::Notifier::disabled(),
        &ae_shared::alerts::Alerter::from_config(bus, cfg),
        &r.clock,
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
    .await
    .with_context(|| format!("executor daemon {d}"))?;
    r.timed("executor daemon", t0);
    if let Some(l) = live {
        r.set(d.date(), schedule::data_update());
        let t0 = Instant::now();
        match nightly::run(bus, cfg, l.vendors, d, r.clock.as_ref()).await {
            Ok(rep) => {
                for s in rep.failures() {
                    r.fail(d, "data update", &anyhow::anyhow!("{}: {}", s.name, s.detail));
                }
            }
            Err(e) => r.fail(d, "data update", &e),
        }
        r.timed("data update", t0);
        *store = PriceStore::load(bus).await.context("reloading the price store after the update")?;
    }
    r.set(d.date(), schedule::eod());
    let t0 = Instant::now();
    let account = reader.connect().await.with_context(|| format!("connecting to the gateway for {d}"))?;
    eod::run(
        bus,
        cfg,
        r.clock.as_ref(),
        &account,
        ledger,
        store,
        &EodOptions { date: d, dry_run: false, force: false },
    )
    .await
    .with_context(|| format!("executor eod {d}"))?;
    r.timed("executor eod", t0);
    Ok(())
}
