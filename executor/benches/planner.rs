//! The whole morning planner on the embedded data: 500 ENTER candidates (every name with a sector,
//! padded with the rest) over a book of 20 holdings — bus reads, point-in-time market views,
//! correlations, the rules, and the order book built (dry run: nothing written). Then the daemon's
//! tick-to-decision for 50 watched names on that book.

use std::path::Path;
use std::sync::Arc;

use std::collections::BTreeMap;

use ae_executor::engine::{AccountView, DayEngine, GateSettings, Tape};
use ae_executor::ledger::Ledger;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{PlanEnv, PlanOptions, plan};
use ae_shared::TradingDay;
use ae_shared::bus::{PutMode, keys};
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::contracts::common::{Conviction, Rating, Sector, SectorRating, SignalAction};
use ae_shared::contracts::signals::{SignalEntry, SubScores};
use ae_shared::contracts::{self, Job, Lineage};
use ae_shared::store::PriceStore;
use ae_shared::types::Score;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = std::env::temp_dir().join("ae-executor-bench");
    let (dir, bus) = ae_testkit::embedded::bus(&tmp);
    let d = TradingDay::parse("2010-03-15").unwrap();
    let store = rt.block_on(PriceStore::load(&bus)).unwrap();
    // Signals with every priced name as ENTER (score 75..95).
    let mut s = ae_testkit::fixtures::signals();
    s.date = d;
    s.produced_by = Lineage::new(Job::Research, "bench", Some(d), vec![]);
    s.universe = store
        .raw
        .iter()
        .filter(|x| x.dates.last().is_some_and(|l| *l >= d.prev()))
        .take(500)
        .enumerate()
        .map(|(i, x)| {
            let score = Score::new(75.0 + (i % 20) as f64).unwrap();
            SignalEntry {
                ticker: x.ticker.clone(),
                signal: SignalAction::Enter,
                score: Some(score),
                rating: Rating::Buy,
                conviction: Conviction::Stable,
                sector: store.sectors.sector(x.ticker.as_str()).unwrap_or(Sector::ALL[i % 11]),
                sector_rating: SectorRating::MarketWeight,
                price_target_upside: Some(0.12),
                thesis_summary: String::new(),
                sub_scores: SubScores { quant: score, qual: None },
                catalysts: vec![],
            }
        })
        .collect();
    s.buy_candidates = s.universe.iter().map(|e| e.ticker.clone()).collect();
    s.population.clear();
    let n = s.universe.len();
    rt.block_on(bus.put(&keys::signals(d), contracts::to_json_checked(&s).unwrap(), PutMode::Overwrite)).unwrap();
    let mut before = s.clone();
    before.date = d.prev();
    before.produced_by = Lineage::new(Job::Research, "bench", Some(d.prev()), vec![]);
    rt.block_on(bus.put(&keys::signals(d.prev()), contracts::to_json_checked(&before).unwrap(), PutMode::Overwrite))
        .unwrap();
    let mut cfg = Config::defaults();
    cfg.trading.ledger_path = dir.path().join("trades.db").display().to_string();
    let clock = Arc::new(SimulatedClock::at_et(d, chrono::NaiveTime::from_hms_opt(9, 20, 0).unwrap()));
    let broker =
        PaperBroker::open(Path::new(&cfg.trading.ledger_path), PaperSettings::from_config(&cfg.trading), clock.clone())
            .unwrap();
    let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path)).unwrap();
    // Holdings from a first plan and paper session the day before.
    let env = PlanEnv { bus: &bus, cfg: &cfg, clock: clock.as_ref(), broker: &broker, store: &store };
    let session_clock = SimulatedClock::at_et(d.prev(), chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap());
    rt.block_on(async {
        plan(&env, &mut ledger, &PlanOptions { date: d.prev(), dry_run: false, force: false }).await.unwrap();
        ae_executor::session::run(&bus, &cfg, &session_clock, &broker, &mut ledger, &store, d.prev()).await.unwrap();
    });
    let held = ledger.positions().unwrap().len();
    let opts = PlanOptions { date: d, dry_run: true, force: false };
    c.bench_function(&format!("planner: {n} ENTER candidates, {held} holdings, embedded data, dry run"), |b| {
        b.iter(|| rt.block_on(plan(&env, &mut ledger, &opts)).unwrap())
    });

    // The daemon's tick-to-decision: one moment of the session for 50 watched names (held names
    // first, then planned entries), through the same engine the daemon drives; no I/O.
    let (book, _, _) = rt.block_on(plan(&env, &mut ledger, &opts)).unwrap();
    let engine = DayEngine::new(
        d,
        book,
        cfg.executor.clone(),
        None,
        GateSettings::from_config(&cfg.trading),
        BTreeMap::new(),
        chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
    )
    .unwrap();
    let view = rt.block_on(AccountView::read(&broker, &ledger, d, &[])).unwrap();
    let held_names: Vec<_> = view.positions.iter().map(|p| p.ticker.clone()).collect();
    let names: Vec<_> = engine.watch_list(&held_names).into_iter().take(50).collect();
    let time = chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap();
    let mut tape = Tape::default();
    let ticks: BTreeMap<_, _> = names
        .iter()
        .filter_map(|t| {
            let s = store.raw.get(t.as_str())?;
            let i = s.dates.binary_search(&d).ok()?;
            Some((t.clone(), tape.observe(t, time, s.close[i] * 0.99)))
        })
        .collect();
    c.bench_function(&format!("daemon tick-to-decision: {} watched names", ticks.len()), |b| {
        b.iter_batched_ref(|| engine.clone(), |e| e.decide(&ticks, &view), criterion::BatchSize::SmallInput)
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
