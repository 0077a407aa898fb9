//! The sweep resumed across weekly runs: each point resumed from last week's state gives the
//! result a cold sweep gives, to the bit, and a revised day before the resume point makes the
//! states unusable (every point starts again from the first day).

use ae_backtester::checkpoint::Checkpoint;
use ae_backtester::fill::FillModel;
use ae_backtester::run::{RunOptions, run};
use ae_backtester::sim::Simulator;
use ae_backtester::sweep::{self, SweepOutcome};
use ae_backtester::{prepare, replay};
use ae_shared::bus::keys;
use ae_shared::sim::{SimConfig, generate};
use ae_shared::store::PriceStore;

use crate::common::simulated_bus;

/// The outcome without what differs between a resumed and a cold sweep: the time and the count.
fn decided(s: &SweepOutcome) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("seconds");
    o.remove("resumed");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_resumed_from_last_weeks_states_equals_a_cold_sweep_and_a_revised_day_restarts_it() {
    let m = generate(&SimConfig::new(30, 140, 0.05, 23));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let last = *m.sessions.last().unwrap();

    // Two weekly runs on one bus: the second resumes every point from the first's states.
    let week1 = m.sessions[m.sessions.len() - 6];
    let week2 = last.next();
    let opts = |date| RunOptions { date, dry_run: false, force: false, progress: false };
    let r1 = run(&bus, &cfg, &opts(week1)).await.unwrap();
    assert_eq!(r1.sweep.resumed, 0, "nothing to resume on a fresh bus");
    assert!(bus.head(&keys::sweep_cache(0, 1)).await.unwrap().is_some(), "the states are kept on the bus");
    let r2 = run(&bus, &cfg, &opts(week2)).await.unwrap();
    let valid = r2.sweep.declared - r2.sweep.invalid;
    assert!(valid >= 20, "{valid}");
    assert_eq!(r2.sweep.resumed, valid, "every point resumed: {:?}", r2.notes);

    // The same week cold, on a bus without the states.
    let (_cold_dir, cold, cold_cfg) = simulated_bus(&m).await;
    let r3 = run(&cold, &cold_cfg, &opts(week2)).await.unwrap();
    assert_eq!(r3.sweep.resumed, 0);
    assert_eq!(decided(&r2.sweep), decided(&r3.sweep), "resumed and cold sweeps decide the same to the bit");

    // A day before the resume point revised (one bar's close): the states no longer fit.
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, week2, cfg.backtest.warmup_days);
    let rep = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
    let head =
        prepare::prepare(&rep.bus, &store, &cfg, &cfg.executor, &days[..days.len() - 5], &|_, _| {}).await.unwrap();
    let mut all = prepare::prepare(&rep.bus, &store, &cfg, &cfg.executor, &days, &|_, _| {}).await.unwrap();
    assert_eq!(
        head.digests[..],
        all.digests[..head.digests.len()],
        "a week later, the earlier days are prepared alike"
    );
    let fill = FillModel::from_config(&cfg);
    let cash = cfg.trading.paper_starting_cash_usd;
    let sim_head = Simulator::new(&head, fill, cash, cfg.trading.max_order_usd);
    let (_, states) = sweep::sweep(&sim_head, &cfg.executor, &cfg.backtest, None, &|| {});
    let d = all.days.iter_mut().find(|d| !d.bars.is_empty()).expect("a day with bars");
    let bar = d.bars.values_mut().next().unwrap();
    bar.close *= 1.0001;
    all.digests = prepare::digests(&all.sectors, &all.days);
    let sim_all = Simulator::new(&all, fill, cash, cfg.trading.max_order_usd);
    assert!(!states.fits(&sim_all), "a revised day makes last week's states unusable");
    let (revised, _) = sweep::sweep(&sim_all, &cfg.executor, &cfg.backtest, Some(states.clone()), &|| {});
    assert_eq!(revised.resumed, 0, "every point simulated from the first day");

    // The states survive their encoding.
    assert_eq!(Checkpoint::decode(&states.encode()).unwrap(), states);
    assert!(Checkpoint::decode(b"not a checkpoint").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_tables_kept_by_last_weeks_run_are_reused_and_tune_the_weights_as_a_cold_run() {
    let m = generate(&SimConfig::new(30, 160, 0.05, 29));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let last = *m.sessions.last().unwrap();
    let (week1, week2) = (m.sessions[m.sessions.len() - 6], last.next());
    let opts = |date, force| RunOptions { date, dry_run: false, force, progress: false };
    let kept = || async { bus.list("backtest/cache/weeks/").await.unwrap() };

    run(&bus, &cfg, &opts(week1, false)).await.unwrap();
    let first = kept().await;
    assert!(!first.is_empty(), "the matured weeks' tables are kept");
    let warm = run(&bus, &cfg, &opts(week2, false)).await.unwrap();
    let second = kept().await;
    // Last week's tables are found under the same keys: only the weeks matured since are added.
    assert!(second.len() >= first.len() && second.len() - first.len() <= 2, "{} then {}", first.len(), second.len());
    assert_eq!(warm.weights.weeks.0 + warm.weights.weeks.1, second.len(), "{:?}", warm.weights.weeks);

    // The same week on a fresh bus: every table built here, the same tuning to the bit.
    let (_cold_dir, cold, cold_cfg) = simulated_bus(&m).await;
    let fresh = run(&cold, &cold_cfg, &opts(week2, false)).await.unwrap();
    // (Debug prints every float exactly, and a NaN as itself.)
    assert_eq!(format!("{:?}", warm.weights), format!("{:?}", fresh.weights));

    // A kept table that is not one is built again, decides alike, and is repaired.
    let broken = second[0].key.clone();
    bus.put(&broken, b"junk".to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let again = run(&bus, &cfg, &opts(week2, true)).await.unwrap();
    assert_eq!(format!("{:?}", again.weights), format!("{:?}", fresh.weights));
    let repaired = bus.get(&broken).await.unwrap().unwrap();
    assert!(ae_backtester::kept_weeks::decode(&repaired.bytes).is_ok(), "the broken table was replaced");
}
