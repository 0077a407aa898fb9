//! The embedded year end to end: a report and a write-back decision on the bus; `--dry-run` writes
//! nothing; a re-run is refused without `--force`; a promoted parameter set is written with its
//! history and previous copy (gates opened wide to exercise the path).

use std::path::Path;

use ae_backtester::run::{RunOptions, run};
use ae_shared::bus::keys;
use ae_shared::contracts::params::ExecutorParamsDoc;

use crate::common::{config, day};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_year_gives_a_report_and_a_reasoned_write_back_decision() {
    let (dir, bus) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let mut cfg = config(dir.path());
    let date = day("2010-08-20");

    // Dry run: everything computed, nothing written.
    let opts = RunOptions { date, dry_run: true, force: false, progress: false };
    let dry = run(&bus, &cfg, &opts).await.unwrap();
    assert!(bus.list("backtest/").await.unwrap().is_empty() && bus.list("config/").await.unwrap().is_empty());
    assert!(bus.list("signals/").await.unwrap().is_empty(), "research replays never touch the shared bus");
    assert!(dry.replayed_weeks.len() >= 40, "{} weeks replayed", dry.replayed_weeks.len());
    assert!(dry.tear_sheet.trades >= 50, "{} trades", dry.tear_sheet.trades);
    assert_eq!(dry.tear_sheet.summary.n, 231);
    assert!(dry.write_back.iter().all(|w| !w.written && !w.why.is_empty()));
    assert!(dry.signals.buckets.iter().any(|b| b.bucket == "all" && b.horizon == 5 && b.n >= 500));
    // The risk grade: the morning VaR graded on the days that followed, and the period attributed.
    assert!(dry.risk.var.days >= 60 && dry.risk.var.kupiec.is_some(), "{:?}", dry.risk.var);
    let a = dry.risk.attribution.as_ref().expect("an attribution");
    assert!((a.explained() - a.total).abs() < 1e-12 && a.days >= 100, "{a:?}");

    // Real run with the default gates: a report, and every decision explained.
    let opts = RunOptions { date, dry_run: false, force: false, progress: false };
    let r = run(&bus, &cfg, &opts).await.unwrap();
    let md =
        String::from_utf8(bus.get(&keys::backtest(date, "report.md")).await.unwrap().unwrap().bytes.to_vec()).unwrap();
    assert!(
        md.contains("## Write-back")
            && md.contains("deflated Sharpe")
            && md.contains("probability of backtest overfitting")
    );
    assert!(bus.get(&keys::backtest(date, "report.json")).await.unwrap().is_some());
    assert_eq!(r.tear_sheet.summary, dry.tear_sheet.summary, "deterministic");
    let err = run(&bus, &cfg, &opts).await.unwrap_err().to_string();
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");

    // Gates opened wide: the best point is written with its evidence, dated history and the file
    // it replaces kept as _previous.
    ae_backtester::writeback::write(&bus, day("2010-08-13"), cfg.executor.clone(), Vec::new(), ev_seed(), Vec::new())
        .await
        .unwrap();
    cfg.backtest.gates.min_trades = 0;
    cfg.backtest.gates.min_improvement = 0.0;
    cfg.backtest.gates.min_holdout_retention = -1e9; // wide open: a holdout worse than the training is accepted here
    cfg.backtest.gates.max_pbo = 1.0;
    cfg.backtest.gates.min_deflated_sharpe = 0.0;
    // A grid whose points trade differently on this year (with the breakers, the demo grid's exit
    // settings tie the parameters in force).
    cfg.backtest.sweep = ae_shared::config::SweepGrid::of(&[
        ("risk.max_position_pct", &[0.04, 0.05, 0.06]),
        ("exits.time_decay_exit_days", &[10.0, 14.0, 20.0]),
    ]);
    let forced = RunOptions { date, dry_run: false, force: true, progress: false };
    let r2 = run(&bus, &cfg, &forced).await.unwrap();
    let e = r2.write_back.iter().find(|w| w.name == "executor_params").unwrap();
    assert_ne!(r2.sweep.best.as_ref().map(|b| &b.point), Some(&r2.sweep.baseline.point), "the grid has a better point");
    assert!(e.written, "{:?}", e.why);
    let doc: ExecutorParamsDoc = bus.get_doc_required(&keys::config("executor_params")).await.unwrap().doc;
    assert_eq!(
        Some(ae_backtester::sweep::Point::of(&cfg.backtest.sweep, &doc.params)),
        r2.sweep.best.as_ref().map(|b| b.point.clone())
    );
    let ev = doc.evidence.unwrap();
    assert!(ev.overfitting.is_some() && ev.holdout.is_some() && ev.n_samples > 0);
    assert!(bus.head(&keys::config_history(date, "executor_params")).await.unwrap().is_some());
    let prev: ExecutorParamsDoc = bus.get_doc_required(&keys::config_previous("executor_params")).await.unwrap().doc;
    assert_eq!(prev.updated_at, day("2010-08-13"), "the file in force before is kept as _previous");
    assert!(bus.list("archive/").await.unwrap().len() >= 2, "the forced re-run archived the old report");
}

fn ev_seed() -> ae_shared::contracts::params::Evidence {
    ae_shared::contracts::params::Evidence {
        n_samples: 1,
        metric: "seeded by the test".into(),
        before: 0.0,
        after: 0.0,
        holdout: None,
        overfitting: None,
        notes: Vec::new(),
    }
}
