//! Simulator speed on the embedded year: one run with the parameters in force (bar-events/s,
//! a bar-event being one symbol-session of the universe over the simulated days), the prepare
//! step that precedes every sweep, and the full declared sweep (1,728 points by default) once.
//! Also one run over a simulated market of 200 names x 10 years, with its prepare step.

use std::path::Path;
use std::time::Instant;

use ae_backtester::fill::FillModel;
use ae_backtester::prepare::{self, Prepared};
use ae_backtester::replay;
use ae_backtester::sim::Simulator;
use ae_backtester::sweep;
use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::store::PriceStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn build(
    rt: &tokio::runtime::Runtime,
    bus: &Bus,
    cfg: &Config,
    run_date: TradingDay,
    warmup: u32,
) -> (PriceStore, Prepared) {
    rt.block_on(async {
        let store = PriceStore::load(bus).await.unwrap();
        let days = prepare::period(&store, run_date, warmup);
        let rep = replay::build(bus, cfg, &days, &|_, _| {}).await.unwrap();
        let t = Instant::now();
        let prep = prepare::prepare(&rep.bus, &store, cfg, &cfg.executor, &days, &|_, _| {}).await.unwrap();
        eprintln!(
            "prepare: {} days, {} universe bars in {:.2} s",
            days.len(),
            prep.universe_bars,
            t.elapsed().as_secs_f64()
        );
        (store, prep)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, bus) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let mut cfg = Config::defaults();
    cfg.mail.outbox_dir = tmp.path().join("outbox").display().to_string();
    cfg.llm.api_key_env = "AE_BENCH_NO_SUCH_KEY".into();
    let (_, prep) = build(&rt, &bus, &cfg, TradingDay::parse("2010-08-20").unwrap(), cfg.backtest.warmup_days);
    let sim = Simulator::new(&prep, FillModel::from_config(&cfg), 1e6, 1e6);
    let mut g = c.benchmark_group("simulator");
    g.throughput(criterion::Throughput::Elements(prep.universe_bars));
    g.bench_function("embedded year, parameters in force (elements = bar-events)", |b| {
        b.iter(|| sim.run(&cfg.executor, false))
    });
    g.finish();
    let t = Instant::now();
    cfg.backtest.threads = 0;
    let (s, _) = sweep::sweep(&sim, &cfg.executor, &cfg.backtest, None, &|| {});
    eprintln!(
        "sweep: {} points ({} invalid) over the embedded year in {:.1} s on {} threads",
        s.declared,
        s.invalid,
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    drop(dir);

    // A simulated market, 200 names x 10 years.
    let m = ae_shared::sim::generate(&ae_shared::sim::SimConfig::new(200, 2520, 0.0, 3));
    let sbus = Bus::file(tmp.path().join("sim"));
    let last = *m.sessions.last().unwrap();
    rt.block_on(m.write_to(
        &sbus,
        &cfg.data,
        &SimulatedClock::at_et(last, chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap()),
    ))
    .unwrap();
    let (_, sprep) = build(&rt, &sbus, &cfg, last.next(), 60);
    let ssim = Simulator::new(&sprep, FillModel::from_config(&cfg), 1e6, 1e6);
    let mut g = c.benchmark_group("simulator");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(sprep.universe_bars));
    g.bench_function("simulated market 200 x 2520, parameters in force", |b| b.iter(|| ssim.run(&cfg.executor, false)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
