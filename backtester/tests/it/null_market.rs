//! The market simulator: on a null market (no planted signal) the backtester must write nothing
//! back in at least 19 of 20 seeds; and no decision up to day t moves when every price after t
//! changes (look-ahead).

use std::path::Path;

use ae_backtester::fill::FillModel;
use ae_backtester::prepare;
use ae_backtester::replay;
use ae_backtester::run::{RunOptions, run};
use ae_backtester::sim::Simulator;
use ae_shared::bus::{Bus, keys};
use ae_shared::sim::{SimConfig, SimMarket, generate};
use ae_shared::store::PriceStore;
use ae_shared::store::bars::{Bar, DailyBars};
use ae_shared::types::Ticker;

use crate::common::{clock, config};

async fn sim_bus(m: &SimMarket, root: &Path) -> Bus {
    let bus = Bus::file(root.join("bus"));
    let last = *m.sessions.last().unwrap();
    m.write_to(&bus, &ae_shared::config::Config::defaults().data, clock(last, 18, 0).as_ref()).await.unwrap();
    bus
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_market_writes_nothing_back_in_at_least_19_of_20_seeds() {
    let mut written = Vec::new();
    let mut decided_by_statistics = 0;
    for seed in 0..20u64 {
        let dir = tempfile::tempdir().unwrap();
        let m = generate(&SimConfig::new(44, 160, 0.0, 1000 + seed));
        let bus = sim_bus(&m, dir.path()).await;
        let mut cfg = config(dir.path());
        cfg.backtest.warmup_days = 60;
        // Sample-size gates low enough that the statistical gates (improvement, holdout, deflated
        // Sharpe, PBO, holdout t) are the ones that have to say no.
        cfg.backtest.gates.min_trades = 5;
        cfg.backtest.weights.min_samples = 300;
        let date = m.sessions.last().unwrap().next();
        let r = run(&bus, &cfg, &RunOptions { date, dry_run: false, force: false, progress: false }).await.unwrap();
        assert!(bus.head(&keys::backtest(date, "report.md")).await.unwrap().is_some());
        assert!(r.sweep.declared == 24 && r.coverage.with_signals > 0, "seed {seed}: {:?}", r.coverage);
        let w: Vec<String> = r.write_back.iter().filter(|w| w.written).map(|w| w.name.clone()).collect();
        for name in ["executor_params", "scoring_weights", "predictor_params"] {
            let on_bus = bus.head(&keys::config(name)).await.unwrap().is_some();
            assert_eq!(on_bus, w.contains(&name.to_string()), "seed {seed}: {name} on the bus iff reported written");
        }
        let exec = r.write_back.iter().find(|w| w.name == "executor_params").unwrap();
        let weights = r.write_back.iter().find(|w| w.name == "scoring_weights").unwrap();
        if exec.why.iter().any(|y| y.starts_with("PASS trades"))
            && weights.why.iter().any(|y| y.starts_with("PASS samples"))
        {
            decided_by_statistics += 1;
        }
        if !w.is_empty() {
            written.push((seed, w));
        }
    }
    assert!(written.len() <= 1, "a null market promoted parameters in {} of 20 seeds: {written:?}", written.len());
    assert!(decided_by_statistics >= 10, "only {decided_by_statistics} of 20 seeds got past the sample-size gates");
}

/// Every price after `after` scaled by a factor of its own per name (0.6..1.8), so ranks,
/// percentiles, relative strength and correlations after `after` all change.
fn poisoned(m: &SimMarket, after: ae_shared::TradingDay) -> SimMarket {
    let mut rows: Vec<(Ticker, Bar)> = Vec::new();
    for (n, s) in m.bars.iter().enumerate() {
        let own = 0.6 + 1.2 * ((n as f64 * 0.618_033_988_75).fract());
        for i in 0..s.dates.len() {
            let k = if s.dates[i] > after { own * (1.0 + 0.01 * (i % 7) as f64) } else { 1.0 };
            rows.push((
                s.ticker.clone(),
                Bar {
                    date: s.dates[i],
                    open: s.open[i] * k,
                    high: s.high[i] * k,
                    low: s.low[i] * k,
                    close: s.close[i] * k,
                    volume: s.volume[i] * k,
                },
            ));
        }
    }
    let mut out = m.clone();
    out.bars = DailyBars::from_rows(rows).0;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_decision_up_to_day_t_moves_when_prices_after_t_change() {
    let m = generate(&SimConfig::new(44, 180, 0.0, 7));
    let t = m.sessions[150];
    let mut fills = Vec::new();
    for market in [m.clone(), poisoned(&m, t)] {
        let dir = tempfile::tempdir().unwrap();
        let bus = sim_bus(&market, dir.path()).await;
        let cfg = config(dir.path());
        let store = PriceStore::load(&bus).await.unwrap();
        let days: Vec<_> = m.sessions[60..].to_vec();
        let rep = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
        let prep = prepare::prepare(&rep.bus, &store, &cfg, &cfg.executor, &days, &|_, _| {}).await.unwrap();
        let sim = Simulator::new(&prep, FillModel::from_config(&cfg), 1e6, 1e6);
        let res = sim.run(&cfg.executor, true);
        fills.push(res.fills.into_iter().filter(|f| f.date <= t).collect::<Vec<_>>());
    }
    assert!(fills[0].len() >= 5, "the check needs trades before t: {}", fills[0].len());
    assert_eq!(fills[0], fills[1], "fills up to {t} changed when only prices after it did");
}
