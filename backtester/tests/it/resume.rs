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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_days_kept_by_last_weeks_run_are_read_back_as_the_days_a_cold_prepare_computes() {
    use ae_backtester::kept_days::{self, Keep};
    let m = generate(&SimConfig::new(30, 160, 0.05, 31));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, m.sessions.last().unwrap().next(), cfg.backtest.warmup_days);
    let rep = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
    let n = days.len();
    let keep = Some(Keep { bus: &bus, write: true });
    let prep = |days: &'static [_], keep| {
        let (rep, store, cfg) = (&rep, &store, &cfg);
        async move { prepare::prepare_kept(&rep.bus, store, cfg, &cfg.executor, days, keep, &|_, _| {}).await.unwrap() }
    };
    let days: &'static [_] = Box::leak(days.into_boxed_slice());
    let kept = || async { bus.list("backtest/cache/days/").await.unwrap() };

    // Last week's run keeps its days; this week's reads them and computes only the new ones.
    prep(&days[..n - 5], keep).await;
    assert_eq!(kept().await.len(), n - 5);
    let warm = prep(days, keep).await;
    assert_eq!(kept().await.len(), n, "the same keys a week later, plus the new days");
    let cold = prep(days, None).await;
    // The chain hashes every field the simulator reads (returns and bars to the bit), day by day.
    assert_eq!(warm.digests, cold.digests, "the digest chain (what the sweep's states are checked against)");
    assert_eq!(warm.days.len(), n);

    // The days are read, not computed again: a kept day altered on the bus comes back altered.
    let listed = kept().await;
    let (key, original) = {
        let mut found = None;
        for o in &listed {
            let bytes = bus.get(&o.key).await.unwrap().unwrap().bytes;
            let (day, _, _) = kept_days::decode(&bytes).unwrap();
            if day.date == days[3] {
                found = Some((o.key.clone(), bytes));
            }
        }
        found.expect("day 3 is kept")
    };
    let (mut day, windows, content) = kept_days::decode(&original).unwrap();
    assert_eq!(kept_days::encode(&day, &windows, &content), original.to_vec(), "a kept day's bytes, sealed");
    day.benchmark = Some(12345.0);
    bus.put(&key, kept_days::encode(&day, &windows, &content), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let read = prep(days, Some(Keep { bus: &bus, write: false })).await;
    assert_eq!(read.days[3].benchmark, Some(12345.0));
    // Its link of the chain is the one kept with it, not hashed again from the day read.
    assert_eq!(read.digests[3], cold.digests[3], "the content digest kept with the day");
    let relinked = [0xAB; 32];
    bus.put(&key, kept_days::encode(&day, &windows, &relinked), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let read = prep(days, Some(Keep { bus: &bus, write: false })).await;
    assert_ne!(read.digests[3], cold.digests[3], "a kept day's own digest is the chain's link");
    assert_ne!(read.digests.last(), cold.digests.last(), "and every link after it");

    // A kept day that is not one is computed again, alike, and repaired.
    bus.put(&key, b"junk".to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let again = prep(days, keep).await;
    assert_eq!(again.digests, cold.digests);
    let repaired = kept_days::decode(&bus.get(&key).await.unwrap().unwrap().bytes).unwrap();
    assert_eq!(repaired.0.date, days[3]);
    assert_eq!(prepare::digests(&again.sectors, &again.days), again.digests, "kept with the digest it has");

    // Parameters written back change every day's inputs: the days kept from the old ones are
    // removed, and only this run's remain.
    let mut other = cfg.executor.clone();
    other.exits.atr_period += 1;
    prepare::prepare_kept(&rep.bus, &store, &cfg, &other, days, keep, &|_, _| {}).await.unwrap();
    let now = kept().await;
    assert_eq!(now.len(), n);
    assert!(now.iter().all(|o| listed.iter().all(|l| l.key != o.key)), "none of the old days is left");
}

#[tokio::test]
async fn a_kept_days_key_moves_with_what_the_day_reads_and_not_with_nightly_revisions_elsewhere() {
    use ae_backtester::kept_days::{DayReads, Keyer};
    use ae_shared::store::corporate::VendorSplit;
    let m = generate(&SimConfig::new(30, 160, 0.05, 37));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, m.sessions.last().unwrap().next(), cfg.backtest.warmup_days);
    let names = store.raw.tickers[..5].to_vec();
    let keys = |s: &PriceStore| {
        let reads: Vec<DayReads<'_>> =
            days.iter().map(|&date| DayReads { date, signals: None, predictions: None, interest: &names }).collect();
        Keyer::new(s, &cfg, &cfg.executor).unwrap().keys(s, &reads)
    };
    let base = keys(&store);
    let k = days.len() / 2;

    // The nightly update moves the dividends' as-of and learns an earnings date of a name of no
    // interest: every day keeps its key, so production weeks reuse the kept days.
    let mut nightly = store.clone();
    nightly.dividends.as_of = Some(*days.last().unwrap());
    let other = store.raw.tickers[10].clone();
    nightly.earnings.dates.entry(other).or_default().push(days[k].date());
    assert_eq!(keys(&nightly), base);

    // A vendor split announced for a name of interest on day k: that day and every later one move.
    let mut split = store.clone();
    split.vendor_splits.push(VendorSplit { ticker: names[0].clone(), date: days[k].date(), ratio: 2.0 });
    let moved = keys(&split);
    assert_eq!(moved[..k], base[..k]);
    assert!(moved[k..].iter().zip(&base[k..]).all(|(a, b)| a != b));

    // So does a new earnings date of a name of interest on the day it is that name's next one
    // (and every later day, through the chain).
    let mut earnings = store.clone();
    let dates = earnings.earnings.dates.entry(names[1].clone()).or_default();
    dates.push(days[k].date());
    dates.sort();
    dates.dedup();
    let moved = keys(&earnings);
    assert!(moved[k..].iter().zip(&base[k..]).all(|(a, b)| a != b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn research_weeks_the_replay_backfilled_are_kept_and_read_back_as_the_documents_research_writes() {
    use ae_backtester::kept_days::Keep;
    let m = generate(&SimConfig::new(30, 160, 0.05, 37));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, m.sessions.last().unwrap().next(), cfg.backtest.warmup_days);
    let weeks = replay::week_starts(&days);
    let docs = |rep: replay::Replay| {
        let weeks = weeks.clone();
        async move {
            // The whole replay, its directory included (a field alone would be captured).
            let rep = rep;
            let mut out = Vec::new();
            for w in weeks {
                out.push(rep.bus.get(&keys::signals(w)).await.unwrap().map(|o| o.bytes.to_vec()));
            }
            (out, rep.backfilled)
        }
    };
    let kept = || async { bus.list(keys::prefix::KEPT_SIGNALS).await.unwrap() };
    let build = |days: &'static [_], write| {
        let (bus, cfg, store) = (&bus, &cfg, &store);
        async move {
            let keep = Keep { bus, write };
            replay::build_kept(bus, cfg, days, Some((keep, store)), &|_, _| {}).await.unwrap()
        }
    };
    let days: &'static [_] = Box::leak(days.into_boxed_slice());

    let (cold, backfilled) = docs(replay::build(&bus, &cfg, days, &|_, _| {}).await.unwrap()).await;
    assert_eq!(backfilled, weeks, "no signals on the bus: research runs on every week");
    // (Research may publish nothing on the first weeks of history.)
    let published = cold.iter().position(Option::is_some).expect("research published");
    assert!(cold[published..].iter().all(Option::is_some) && cold.len() - published >= 10, "{published}");
    assert!(kept().await.is_empty(), "a replay without a keeper keeps nothing");

    // Last week's run keeps the weeks it ran; this week's reads them back, to the byte.
    let short = &days[..days.len() - 5];
    build(short, true).await;
    let before = kept().await;
    assert_eq!(before.len(), replay::week_starts(short).len() - published, "the weeks research published");
    let (warm, _) = docs(build(days, true).await).await;
    assert_eq!(warm, cold, "kept weeks are the documents research writes");
    let after = kept().await;
    assert!(before.iter().all(|b| after.iter().any(|a| a.key == b.key)), "a week later the keys are the same");
    assert_eq!(after.len(), weeks.len() - published);

    // They are read, not computed again: a kept week altered on the bus comes back altered.
    let first_key = {
        let mut found = None;
        for o in &after {
            if bus.get(&o.key).await.unwrap().unwrap().bytes.as_ref() == cold[published].as_deref().unwrap() {
                found = Some(o.key.clone());
            }
        }
        found.expect("the first published week is kept")
    };
    let mut altered = cold[published].clone().unwrap();
    altered.extend_from_slice(b" ");
    bus.put(&first_key, altered.clone(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let (read, _) = docs(build(days, false).await).await;
    assert_eq!(read[published].as_deref(), Some(&altered[..]));
    assert_eq!(read[published + 1..], cold[published + 1..]);

    // A revised close before the last week changes what research read from there on: the weeks
    // before keep their keys, and the stale ones are removed.
    let mut revised = m.clone();
    let i = revised.bars.offsets[0] + revised.sessions.binary_search(&weeks[weeks.len() - 1].prev()).unwrap();
    revised.bars.close[i] *= 1.01;
    revised
        .write_to(
            &bus,
            &cfg.data,
            &ae_shared::clock::SimulatedClock::at_et(days[days.len() - 1], chrono::NaiveTime::MIN),
        )
        .await
        .unwrap();
    let store = PriceStore::load(&bus).await.unwrap();
    let keep = Keep { bus: &bus, write: true };
    replay::build_kept(&bus, &cfg, days, Some((keep, &store)), &|_, _| {}).await.unwrap();
    let now = kept().await;
    assert_eq!(now.len(), weeks.len() - published);
    let unchanged = now.iter().filter(|o| after.iter().any(|a| a.key == o.key)).count();
    assert_eq!(unchanged, now.len() - 1, "only the last week read the revised close");
}
