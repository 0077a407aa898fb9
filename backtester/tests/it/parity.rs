//! The same weeks through the paper desk (research → planner → paper session on the daemon's
//! engine → EOD, with the ledger and the paper broker) and through the backtester's simulator:
//! the fills must be the same orders, shares, prices and commissions, and the simulator's
//! candidates carry the ensemble the planner recorded that morning.

use std::path::Path;

use ae_backtester::fill::FillModel;
use ae_backtester::prepare;
use ae_backtester::sim::Simulator;
use ae_executor::eod::{self, EodOptions};
use ae_executor::ledger::Ledger;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{self, PlanEnv, PlanOptions};
use ae_executor::session;
use ae_research::run::{RunOptions, run as research};
use ae_shared::calendar::et_instant;
use ae_shared::config::FillAt;
use ae_shared::contracts::common::Side;
use ae_shared::store::PriceStore;
use chrono::NaiveTime;

use crate::common::{clock, config, day};

/// The paper desk and the simulator over the same days, from the same configuration.
struct Both {
    bus: ae_shared::bus::Bus,
    ledger: Ledger,
    days: Vec<ae_shared::TradingDay>,
    res: ae_backtester::sim::SimResult,
    prep: prepare::Prepared,
    _dir: tempfile::TempDir,
}

async fn desk_and_simulator(
    first: ae_shared::TradingDay,
    last: ae_shared::TradingDay,
    tweak: impl Fn(&mut ae_shared::config::Config),
) -> Both {
    let (dir, bus) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let mut cfg = config(dir.path());
    tweak(&mut cfg);
    let clk = clock(first, 5, 0);
    let broker =
        PaperBroker::open(Path::new(&cfg.trading.ledger_path), PaperSettings::from_config(&cfg.trading), clk.clone())
            .unwrap();
    let mut ledger = Ledger::open(Path::new(&cfg.trading.ledger_path)).unwrap();
    let store = PriceStore::load(&bus).await.unwrap();
    let set = |d: ae_shared::TradingDay, h: u32, m: u32| {
        clk.set(et_instant(d.date(), NaiveTime::from_hms_opt(h, m, 0).unwrap()))
    };
    let mut days = Vec::new();
    let mut d = first;
    while d <= last {
        if d == first || d.is_first_of_week() {
            set(d, 5, 0);
            research(&bus, &cfg, clk.clone(), &RunOptions::new(d)).await.unwrap();
        }
        set(d, 9, 20);
        let env = PlanEnv { bus: &bus, cfg: &cfg, clock: clk.as_ref(), broker: &broker, store: &store };
        planner::plan(&env, &mut ledger, &PlanOptions { date: d, dry_run: false, force: false }).await.unwrap();
        session::run(&bus, &cfg, &clk, &broker, &mut ledger, &store, d).await.unwrap();
        set(d, 16, 5);
        let opts = EodOptions { date: d, dry_run: false, force: false };
        eod::run(&bus, &cfg, clk.as_ref(), &broker, &ledger, &store, &opts).await.unwrap();
        days.push(d);
        d = d.next();
    }

    let prep = prepare::prepare(&bus, &store, &cfg, &cfg.executor, &days, &|_, _| {}).await.unwrap();
    let mut fill = FillModel::from_config(&cfg);
    fill.at = FillAt::Intraday;
    fill.costs.slippage_bps = cfg.trading.paper_slippage_bps;
    fill.participation = 1.0; // the paper broker fills any size
    let sim = Simulator::new(&prep, fill, cfg.trading.paper_starting_cash_usd, cfg.trading.max_order_usd);
    let res = sim.run(&cfg.executor, true);
    Both { bus, ledger, days, res, prep, _dir: dir }
}

/// Every fill of the desk is a fill of the simulator: same orders, shares, prices, commissions.
fn assert_same_fills(both: &Both) -> usize {
    let Both { ledger, days, res, .. } = both;
    let mut compared = 0;
    for d in days {
        let mut desk: Vec<(String, String, u32, f64, f64)> = ledger
            .fills_on(*d)
            .unwrap()
            .into_iter()
            .map(|(f, _)| (f.order_id, f.ticker.to_string(), f.shares, f.price, f.commission))
            .collect();
        let mut ours: Vec<(String, String, u32, f64, f64)> = res
            .fills
            .iter()
            .filter(|f| f.date == *d)
            .map(|f| (f.order_id.clone(), f.ticker.to_string(), f.shares, f.price, f.commission))
            .collect();
        desk.sort_by(|a, b| a.0.cmp(&b.0));
        ours.sort_by(|a, b| a.0.cmp(&b.0));
        let ids = |v: &[(String, String, u32, f64, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&ours), ids(&desk), "{d}: the same orders fill");
        for (a, b) in ours.iter().zip(&desk) {
            assert_eq!((&a.1, a.2), (&b.1, b.2), "{d} {}: shares", a.0);
            assert!((a.3 - b.3).abs() <= 1e-9 * b.3, "{d} {}: price {} vs desk {}", a.0, a.3, b.3);
            assert!((a.4 - b.4).abs() <= 1e-9, "{d} {}: commission {} vs desk {}", a.0, a.4, b.4);
            compared += 1;
        }
    }
    assert_eq!(compared, res.fills.len());
    compared
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_fills_exactly_what_the_paper_desk_fills() {
    let both = desk_and_simulator(day("2010-03-01"), day("2010-04-30"), |_| {}).await;
    assert_same_fills(&both);
    let Both { bus, days, res, .. } = &both;
    let buys = res.fills.iter().filter(|f| f.side == Side::Buy).count();
    let sells = res.fills.iter().filter(|f| f.side == Side::Sell).count();
    assert!(buys >= 5 && sells >= 3, "a scenario with trades both ways: {buys} buys, {sells} sells");
    // And the NAV at the last close agrees with the desk's EOD report.
    let last = *days.last().unwrap();
    let eod: ae_shared::contracts::eod::EodReport =
        bus.get_doc_required(&ae_shared::bus::keys::eod(last)).await.unwrap().doc;
    let nav = *res.nav.last().unwrap();
    assert!((nav - eod.nav.get()).abs() < 0.01, "NAV {nav} vs desk EOD {}", eod.nav.get());
}

/// With the sizer on the ensemble, the simulator's candidates carry the line of the ensemble the
/// planner recorded that morning (the same views, graded against the same returns, over the same
/// window), and the fills are still the desk's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_sizes_with_the_ensemble_the_planner_recorded() {
    let on = |c: &mut ae_shared::config::Config| c.executor.sizing.ensemble = ae_shared::Fraction::saturating(1.0);
    let both = desk_and_simulator(day("2010-03-01"), day("2010-04-30"), on).await;
    assert_same_fills(&both);
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-6);
    let (mut compared, mut measured) = (0, 0);
    for d in &both.prep.days {
        let book: ae_shared::contracts::order_book::OrderBook =
            both.bus.get_doc_required(&ae_shared::bus::keys::order_book(d.date)).await.unwrap().doc;
        let Some(en) = book.ensemble else { continue };
        for c in &d.candidates {
            let planned = en.names.iter().find(|n| n.ticker == c.ticker).expect("the planner ranked it");
            let ours = c.ensemble.as_ref().unwrap_or_else(|| panic!("{} {}: no ensemble", d.date, c.ticker));
            assert!(
                near(ours.expected_alpha, planned.expected_alpha) && near(ours.confidence, planned.confidence),
                "{} {}: {ours:?} vs the planner's {planned:?}",
                d.date,
                c.ticker
            );
            let views = |e: &ae_shared::contracts::ensemble::NameEnsemble| {
                e.views.iter().map(|v| (v.view, v.z)).collect::<Vec<_>>()
            };
            assert_eq!(views(ours), views(planned), "{} {}", d.date, c.ticker);
            compared += 1;
            measured += usize::from(planned.views.iter().any(|v| v.weight != 0.0));
        }
    }
    println!("{compared} candidate-days compared, {measured} with measured skill");
    assert!(compared >= 20 && measured >= 10, "{compared} candidate-days compared, {measured} with measured skill");
}

/// The embedded data's May 2010 holds a real bad day: on 6 May (the flash crash) the book the
/// desk built from 19 April loses 4.65% and reaches an 8.6% drawdown. Both the paper session and
/// the simulator must halt entries and set the kill switch on that day, and every other breaker
/// must fire on the same days in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_fires_on_the_same_day_in_the_paper_session_and_in_the_simulator() {
    use std::collections::BTreeSet;
    let both = desk_and_simulator(day("2010-04-19"), day("2010-05-14"), |_| {}).await;
    assert_same_fills(&both);
    // The breakers the simulator records (a trim is an exit order, compared with the fills).
    let breaker = |code: &str| {
        ae_rules::Reason::from_code(code).is_some_and(|r| r.is_breaker() && r != ae_rules::Reason::PositionTrim)
    };
    let mut desk = BTreeSet::new();
    for d in &both.days {
        for e in both.ledger.risk_events_on(*d).unwrap() {
            if breaker(&e.rule) {
                desk.insert((d.to_string(), e.rule));
            }
        }
    }
    let sim: BTreeSet<(String, String)> =
        both.res.breakers.iter().map(|e| (e.date.to_string(), e.rule.clone())).collect();
    assert_eq!(sim, desk, "the same breakers on the same days");
    let crash = "2010-05-06".to_string();
    for rule in ["DAILY_LOSS_HALT", "DRAWDOWN_KILL"] {
        assert!(sim.contains(&(crash.clone(), rule.to_string())), "{rule} on the crash day: {sim:?}");
    }
    let halt = both.res.breakers.iter().find(|e| e.rule == "DAILY_LOSS_HALT").unwrap();
    assert!(halt.detail.starts_with("the day's loss 4."), "{}", halt.detail);
    // The desk's kill switch persists on the bus, set by the breaker; nothing entered after it.
    let kill: ae_shared::contracts::kill_switch::KillSwitch =
        both.bus.get_doc_required(&ae_shared::bus::keys::kill_switch()).await.unwrap().doc;
    assert_eq!(kill.set_by, ae_shared::contracts::kill_switch::SetBy::Breaker { rule: "DRAWDOWN_KILL".into() });
    let after_crash = both.res.fills.iter().filter(|f| f.side == Side::Buy && f.date > day("2010-05-06")).count();
    assert_eq!(after_crash, 0, "no entry while the kill switch is set");
}
