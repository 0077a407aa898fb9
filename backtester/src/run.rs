//! One backtester run (`backtester run --date D`): replay bus → prepared inputs → the parameters
//! in force simulated and graded → signal quality → scoring-weight tuning → veto calibration →
//! executor sweep → write-back of what cleared its gates → report on the bus.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, BusError, DatedDocument, PutMode, keys};
use ae_shared::config::Config;
use ae_shared::contracts::params::{ExecutorParams, PredictorParams, ScoringWeights};
use ae_shared::contracts::predictions::Predictions;
use ae_shared::contracts::signals::{self, Signals};
use ae_shared::contracts::{Problem, Problems};
use ae_shared::in_force;
use ae_shared::metrics::Summary;
use ae_shared::store::PriceStore;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::Checkpoint;
use crate::fill::FillModel;
use crate::outcomes::Outcomes;
use crate::prepare::{self, Prepared};
use crate::report::{Report, Speed, WriteBack, triggers};
use crate::sim::Simulator;
use crate::{grade, kept_weeks, replay, signal_grade, sweep, veto, weights, writeback};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run date (Saturday's job runs for the next trading day's date or any trading day).
    pub date: TradingDay,
    /// Compute and report to stdout; write nothing.
    pub dry_run: bool,
    /// Re-run a date that already has a report (the old report is archived first).
    pub force: bool,
    /// Progress bars on stderr.
    pub progress: bool,
}

fn bar(show: bool, len: usize, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    b.set_message(what.to_string());
    b
}

/// Benchmark daily returns over the simulated days (a missing close carries the last one).
pub fn benchmark_returns(prep: &Prepared) -> Vec<f64> {
    let mut last = prep.benchmark_start;
    prep.days
        .iter()
        .map(|d| {
            let r = match (last, d.benchmark) {
                (Some(a), Some(b)) if a > 0.0 => b / a - 1.0,
                _ => 0.0,
            };
            if d.benchmark.is_some() {
                last = d.benchmark;
            }
            r
        })
        .collect()
}

/// The `D` documents dated `first..=last` on `bus`, each read with `parse`; one that `parse`
/// refuses is left out, a bus failure fails the run.
async fn documents<D: DatedDocument, T>(
    bus: &Bus,
    first: TradingDay,
    last: TradingDay,
    parse: impl Fn(&[u8]) -> Result<T, Problems>,
) -> anyhow::Result<Vec<T>> {
    let days = bus.dated_days::<D>(first..=last).await?;
    let mut out = Vec::new();
    for d in bus.dated_on::<D, T>(&days, parse).await {
        match d.doc {
            Ok(l) => out.push(l.doc),
            Err(BusError::Invalid { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// What every run and every shard of a sweep starts from: the parameters in force, the price
/// store and the simulated days.
struct Setup {
    exec: ExecutorParams,
    scoring: ScoringWeights,
    predictor: PredictorParams,
    store: PriceStore,
    days: Vec<TradingDay>,
    first: TradingDay,
    last: TradingDay,
    notes: Vec<String>,
    inputs: Vec<ae_shared::contracts::InputRef>,
}

async fn setup(bus: &Bus, cfg: &Config, date: TradingDay) -> anyhow::Result<Setup> {
    let mut notes = Vec::new();
    let mut inputs = Vec::new();
    let exec: ExecutorParams = in_force::params(bus, &cfg.executor).await.record(&mut inputs, &mut notes);
    let scoring: ScoringWeights = in_force::params(bus, &cfg.scoring).await.record(&mut inputs, &mut notes);
    let predictor: PredictorParams = in_force::params(bus, &cfg.predictor).await.record(&mut inputs, &mut notes);
    let store =
        PriceStore::load(bus).await.context("loading the price store (run `alpha-engine data import` first)")?;
    inputs.extend(store.inputs_as_of(store.manifest.last_day.min(date.prev())));
    let days = prepare::period(&store, date, cfg.backtest.warmup_days);
    if days.len() < 20 {
        anyhow::bail!(
            "only {} sessions to simulate before {date} (the price store covers {}..{}, {} warm-up sessions): nothing to grade",
            days.len(),
            store.manifest.first_day,
            store.manifest.last_day,
            cfg.backtest.warmup_days
        );
    }
    let (first, last) = (days[0], *days.last().expect("days"));
    tracing::info!(%date, %first, %last, days = days.len(), "backtest period");
    Ok(Setup { exec, scoring, predictor, store, days, first, last, notes, inputs })
}

/// The replay bus and the prepared inputs of a run or a shard.
struct Replayed {
    rep: replay::Replay,
    prep: Prepared,
    replay_s: f64,
    prepare_s: f64,
}

/// Builds the replay bus (inputs read through, missing research weeks replayed) and prepares the
/// simulated days on it; `keep_days`: whether the prepared days computed here are kept for next
/// week's run.
async fn replayed(bus: &Bus, cfg: &Config, s: &Setup, progress: bool, keep_days: bool) -> anyhow::Result<Replayed> {
    let t_replay = Instant::now();
    let pb = bar(progress, 0, "research");
    let keep = crate::kept_days::Keep { bus, write: keep_days };
    let rep = replay::build_kept(bus, cfg, &s.days, Some((keep, &s.store)), &|k, n| {
        pb.set_length(n as u64);
        pb.set_position(k as u64);
    })
    .await?;
    pb.finish_and_clear();
    let replay_s = t_replay.elapsed().as_secs_f64();

    let t_prep = Instant::now();
    let pb = bar(progress, s.days.len(), "prepare");
    let prep =
        prepare::prepare_kept(&rep.bus, &s.store, cfg, &s.exec, &s.days, Some(keep), &|k, _| pb.set_position(k as u64))
            .await?;
    pb.finish_and_clear();
    let prepare_s = t_prep.elapsed().as_secs_f64();
    Ok(Replayed { rep, prep, replay_s, prepare_s })
}

/// Keeps the sweep's states for next week's run; a failure to write them costs only time next
/// week, so it is logged, not fatal.
async fn save_cache(bus: &Bus, key: &ae_shared::bus::Key, c: &Checkpoint) {
    if let Err(e) = c.save(bus, key).await {
        tracing::warn!(%key, error = %e, "the sweep's states were not kept: next week's sweep starts every point from the first day");
    }
}

/// Where the sweep's points are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepSource {
    /// In this process.
    Local,
    /// By this many shards (`backtester shard`), whose results are on the bus; this run merges
    /// them and decides exactly as one process would.
    Shards(usize),
}

/// Writes the shard manifest a Step Functions Distributed Map reads
/// (`backtest/{date}/sweep/manifest.json`): one Lambda event per shard.
pub async fn plan_shards(bus: &Bus, date: TradingDay, of: usize) -> anyhow::Result<ae_shared::bus::Key> {
    anyhow::ensure!(of >= 1, "a sweep needs at least one shard");
    let items: Vec<serde_json::Value> =
        (0..of).map(|i| serde_json::json!({"date": date.to_string(), "shard": {"index": i, "of": of}})).collect();
    let key = keys::sweep_manifest(date);
    bus.put_json(&key, &items, PutMode::Overwrite).await?;
    Ok(key)
}

/// One shard of the executor sweep: the same inputs as a run, this shard's grid points simulated,
/// the result written to `backtest/{date}/sweep/shard-{i}-of-{n}.json`.
pub async fn shard(
    bus: &Bus,
    cfg: &Config,
    date: TradingDay,
    which: sweep::Shard,
    progress: bool,
) -> anyhow::Result<sweep::ShardResult> {
    let mut s = setup(bus, cfg, date).await?;
    // Shards read the kept days; the run that merges them keeps what was computed.
    let r = replayed(bus, cfg, &s, progress, false).await?;
    s.notes.extend(r.prep.notes.iter().cloned());
    let fill = FillModel::from_config(cfg);
    let sim = Simulator::new(&r.prep, fill, cfg.trading.paper_starting_cash_usd, cfg.trading.max_order_usd);
    let cache = keys::sweep_cache(which.index, which.of);
    let prior = Checkpoint::load(bus, &cache, &sim, &mut s.notes).await;
    let threads = cfg.backtest.threads as usize;
    let (r, next) = sweep::score_shard(&sim, &s.exec, &cfg.backtest.sweep, which, threads, prior, &|| {});
    bus.put_json(&keys::sweep_shard(date, which.index, which.of), &r, PutMode::Overwrite).await?;
    save_cache(bus, &cache, &next).await;
    Ok(r)
}

/// Runs the backtester.
pub async fn run(bus: &Bus, cfg: &Config, opts: &RunOptions) -> anyhow::Result<Report> {
    run_with(bus, cfg, opts, SweepSource::Local).await
}

/// Runs the backtester, its sweep scored here or merged from shards.
pub async fn run_with(bus: &Bus, cfg: &Config, opts: &RunOptions, source: SweepSource) -> anyhow::Result<Report> {
    start(bus, cfg, opts).await?.finish(bus, cfg, source).await
}

/// A run whose first part is done: the scoring weights and the veto threshold are decided and,
/// where their gates passed, written back. These are the only documents of a run that the
/// week's research (scoring weights) and training (predictor parameters) read, so those jobs may
/// start now; [`Started::finish`] does the rest (the replay, the simulation, the signal grades,
/// the executor sweep and its write-back, the report), which nothing before Monday's plan reads.
/// A run that fails in its second part leaves these write-backs in force (each one a complete
/// document with its evidence) and no report: the failure is reported, and a re-run starts from
/// them as the parameters in force.
pub struct Started {
    t0: Instant,
    opts: RunOptions,
    report_key: ae_shared::bus::Key,
    setup: Setup,
    outcomes: Outcomes,
    weights: weights::WeightsOutcome,
    veto: veto::VetoOutcome,
    /// The write-backs done here: scoring weights, then predictor parameters.
    written: [WriteBack; 2],
}

/// A [`WriteBack`] not (yet) written, with the gates' reasons.
fn undecided(name: &str, why: Vec<String>) -> WriteBack {
    WriteBack { name: name.into(), written: false, keys: Vec::new(), why }
}

/// The first part of a run ([`Started`]): refuses a date that already has a report unless
/// `--force` (the old report is archived first), loads the inputs, and decides and writes back
/// the scoring weights and the veto threshold.
pub async fn start(bus: &Bus, cfg: &Config, opts: &RunOptions) -> anyhow::Result<Started> {
    let t0 = Instant::now();
    let date = opts.date;
    let report_key = keys::backtest(date, "report.json");
    if !opts.dry_run && bus.head(&report_key).await?.is_some() {
        if !opts.force {
            anyhow::bail!(
                "{report_key} already exists: the backtest for {date} ran (use --force to re-run; the old report is archived)"
            );
        }
        for f in ["report.json", "report.md"] {
            let k = keys::backtest(date, f);
            if let Some(o) = bus.get(&k).await? {
                let stamp = o.sha256().to_string();
                bus.put(&keys::archived(&k, &stamp[..12]), o.bytes, PutMode::Overwrite).await?;
            }
        }
    }
    let mut laps = crate::laps::Laps::start("backtest start");
    let setup = setup(bus, cfg, date).await?;
    let Setup { scoring, predictor, store, days, first, last, inputs, .. } = &setup;
    let outcomes = Outcomes::new(store);
    laps.lap("setup");

    // The predictions the veto calibration reads, read and parsed on another worker beside the
    // scoring weights' weekly tables. As JSON only, without the contract's checks: the replay
    // never writes predictions, so the bus holds the same documents it would read through.
    let predictions = {
        let (bus, first, last) = (bus.clone(), *first, *last);
        tokio::spawn(async move {
            documents::<Predictions, _>(&bus, first, last, |b| {
                serde_json::from_slice(b).map_err(|e| Problems(vec![Problem::new("", format!("not valid JSON: {e}"))]))
            })
            .await
        })
    };

    // Scoring weights on the weekly research dates.
    // Each week's table is kept across runs under the digest of its inputs (`kept_weeks`).
    let weeks = replay::week_starts(days);
    let horizon = cfg.backtest.weights.horizon_days as usize;
    let keyer = kept_weeks::Keyer::new(store, &cfg.data, horizon);
    laps.lap("session chain");
    let week_keys = keyer.map(|k| k.keys(store, &weeks));
    laps.lap("week keys");
    let kept = match &week_keys {
        Some(k) => kept_weeks::load(bus, k).await,
        None => Default::default(),
    };
    laps.lap("kept weeks");
    let built = weights::weeks(store, &cfg.data, &weeks, scoring, &outcomes, horizon, kept);
    laps.lap("weeks built");
    if let (Some(k), false) = (&week_keys, opts.dry_run) {
        let fresh: Vec<_> = built.iter().filter(|w| w.2).map(|(d, w, _)| (*d, w)).collect();
        kept_weeks::save(bus, k, &fresh).await;
        kept_weeks::prune(bus, k).await;
    }
    let built: Vec<weights::Week> = built.into_iter().map(|(_, w, _)| w).collect();
    laps.lap("weeks kept");
    let wt = weights::decide(
        &built,
        scoring,
        &cfg.backtest.weights,
        cfg.backtest.holdout_fraction,
        cfg.backtest.gates.min_holdout_retention,
    );
    laps.lap("weights decided");

    // Veto calibration.
    let pred_docs: Vec<Predictions> = predictions.await.context("reading the predictions stopped")??;
    laps.lap("predictions");
    let vt =
        veto::calibrate(&pred_docs, &outcomes, predictor, cfg.backtest.holdout_fraction, cfg.backtest.veto_min_samples);
    laps.lap("veto");

    let mut s = undecided("scoring_weights", wt.gates.clone());
    if wt.promote && !opts.dry_run {
        let (tuned, evidence) = (vec![weights::TUNED.to_string()], wt.evidence(&cfg.backtest.weights));
        s.keys = writeback::write(bus, date, wt.proposed.clone(), tuned, evidence, inputs.clone()).await?;
        s.written = true;
    }
    let mut v = undecided("predictor_params", vt.gates.clone());
    if let (Some(p), false) = (vt.params(predictor), opts.dry_run) {
        v.keys = writeback::write(bus, date, p, vec![veto::TUNED.to_string()], vt.evidence(), inputs.clone()).await?;
        v.written = true;
    }
    laps.lap("write-back");
    laps.log();
    Ok(Started { t0, opts: opts.clone(), report_key, setup, outcomes, weights: wt, veto: vt, written: [s, v] })
}

impl Started {
    /// The rest of the run: the replay and the prepared days, the parameters in force simulated
    /// and graded, signal quality, the executor sweep (scored here or merged from shards) and the
    /// ensemble's grade, their write-back, and the report on the bus.
    pub async fn finish(self, bus: &Bus, cfg: &Config, source: SweepSource) -> anyhow::Result<Report> {
        let Started { t0, opts, report_key, setup: s, outcomes, weights: wt, veto: vt, written: [ws, wv] } = self;
        let date = opts.date;
        let mut laps = crate::laps::Laps::start("backtest finish");
        let Replayed { rep, prep, replay_s, prepare_s } = replayed(bus, cfg, &s, opts.progress, !opts.dry_run).await?;
        laps.lap("replay and prepare");
        let Setup { exec, store, first, last, mut notes, inputs, .. } = s;
        notes.extend(prep.notes.iter().cloned());

        // The parameters in force, in detail.
        let fill = FillModel::from_config(cfg);
        let sim = Simulator::new(&prep, fill, cfg.trading.paper_starting_cash_usd, cfg.trading.max_order_usd);
        let t_sim = Instant::now();
        let base = sim.run(&exec, true);
        let simulate_s = t_sim.elapsed().as_secs_f64();
        let bench = benchmark_returns(&prep);
        let tear = grade::tear_sheet(&base, &bench);
        laps.lap("simulate");

        // Signal quality.
        let sig_docs: Vec<Signals> =
            documents::<Signals, _>(&rep.bus, first, last, |b| signals::parse_lenient(b).map(|(d, _)| d)).await?;
        let sg = signal_grade::grade(
            &sig_docs,
            &outcomes,
            &cfg.backtest.grade_horizons,
            cfg.backtest.min_bucket,
            cfg.backtest.fdr_q,
        );
        laps.lap("signal grade");

        // Executor sweep.
        let grid_n = cfg.backtest.sweep.len();
        let pb = bar(opts.progress, grid_n, "sweep");
        let done = AtomicUsize::new(0);
        let sw = match source {
            SweepSource::Local => {
                let cache = keys::sweep_cache(0, 1);
                let prior = Checkpoint::load(bus, &cache, &sim, &mut notes).await;
                laps.lap("checkpoint load");
                let (sw, next) = sweep::sweep(&sim, &exec, &cfg.backtest, prior, &|| {
                    let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                    pb.set_position(k as u64);
                });
                laps.lap("sweep");
                if !opts.dry_run {
                    save_cache(bus, &cache, &next).await;
                }
                laps.lap("checkpoint save");
                sw
            }
            SweepSource::Shards(of) => {
                let mut shards = Vec::with_capacity(of);
                for i in 0..of {
                    let k = keys::sweep_shard(date, i, of);
                    let (r, _) = bus.get_json::<sweep::ShardResult>(&k).await?.with_context(|| {
                        format!("{k} is missing: run `backtester shard --date {date} --index {i} --of {of}` first")
                    })?;
                    shards.push(r);
                }
                sweep::decide(
                    &sim,
                    &exec,
                    &cfg.backtest.sweep,
                    &cfg.backtest.gates,
                    cfg.backtest.holdout_fraction,
                    shards,
                )
                .map_err(|e| anyhow::anyhow!("merging the sweep's {of} shards: {e}"))?
            }
        };
        pb.finish_and_clear();

        // The sizer without and with the ensemble, on top of what the sweep leaves in force.
        let after_sweep = sw.params.clone().unwrap_or_else(|| exec.clone());
        let en = crate::ensemble::grade(&sim, &after_sweep, &cfg.backtest);
        laps.lap("ensemble grade");

        // Write-back: the sweep's parameters, with the ensemble switch flipped when its own gates pass.
        let mut e = undecided("executor_params", sw.gates.clone());
        let mut ens = undecided("ensemble_sizing", en.gates.clone());
        let mut tuned: Vec<String> = Vec::new();
        let mut written = None;
        if let (Some(p), Some(ev)) = (sw.params.clone(), sw.evidence(&cfg.backtest.gates)) {
            tuned.extend(cfg.backtest.sweep.paths().map(String::from));
            written = Some((p, ev));
        }
        if let (Some(p), Some(ev)) = (en.params.clone(), en.evidence(&cfg.backtest.gates)) {
            tuned.push(crate::ensemble::PATH.to_string());
            written = Some((p, written.map_or(ev, |(_, sweep_ev)| sweep_ev)));
            ens.written = !opts.dry_run;
        }
        if let (Some((p, ev)), false) = (written, opts.dry_run) {
            e.keys = writeback::write(bus, date, p, tuned, ev, inputs).await?;
            e.written = true;
            ens.keys = if ens.written { e.keys.clone() } else { Vec::new() };
        }
        let research = WriteBack {
            name: "research_params".into(),
            written: false,
            keys: Vec::new(),
            why: vec![
                "not tuned by this version (population and filter rules are graded through signal quality only)".into(),
            ],
        };
        let wb = vec![e, ens, ws, wv, research];
        if opts.dry_run {
            notes.push("dry run: nothing written".into());
        }

        laps.lap("write-back");
        let risk = crate::risk_grade::grade(&base, &store);
        laps.lap("risk grade");
        let bar_events_per_s = if simulate_s > 0.0 { prep.universe_bars as f64 / simulate_s } else { f64::NAN };
        let mut report = Report {
            date,
            period: Some((first, last)),
            coverage: prep.coverage,
            replayed_weeks: rep.backfilled.clone(),
            fill_model: format!(
                "{:?}, slippage {} bps, commission {}/share (min {}) + {} bps, at most {:.0}% of a day's volume",
                cfg.backtest.fill,
                fill.costs.slippage_bps,
                fill.costs.commission_per_share_usd,
                fill.costs.commission_min_usd,
                fill.costs.commission_bps,
                fill.participation * 100.0
            ),
            tear_sheet: tear,
            benchmark: Summary::of(&bench, &bench),
            risk,
            blocked: base.blocked.clone(),
            refused_partial: (base.refused, base.partial),
            triggers: triggers(&base),
            signals: sg,
            sweep: sw,
            ensemble: en,
            weights: wt,
            veto: vt,
            write_back: wb,
            speed: Speed { replay_s, prepare_s, simulate_s, bar_events_per_s, sweep_s: 0.0, total_s: 0.0 },
            notes,
        };
        report.speed.sweep_s = report.sweep.seconds;
        report.speed.total_s = t0.elapsed().as_secs_f64();
        if !opts.dry_run {
            bus.put(&keys::backtest(date, "report.md"), report.markdown().into_bytes(), PutMode::Overwrite).await?;
            bus.put_json(&report_key, &report, PutMode::Overwrite).await?;
        }
        laps.lap("report");
        laps.log();
        Ok(report)
    }
}
