//! The tear sheet of a real simulated run against empyrical-reloaded, to 1e-9 relative.

use std::path::Path;
use std::process::Command;

use ae_backtester::fill::FillModel;
use ae_backtester::grade::tear_sheet;
use ae_backtester::prepare;
use ae_backtester::replay;
use ae_backtester::run::benchmark_returns;
use ae_backtester::sim::Simulator;
use ae_shared::store::PriceStore;
use serde_json::Value;

use crate::common::{config, day};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tear_sheet_metrics_agree_with_empyrical_on_the_simulated_returns() {
    let (dir, bus) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let cfg = config(dir.path());
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, day("2010-08-20"), 120);
    let rep = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
    let prep = prepare::prepare(&rep.bus, &store, &cfg, &cfg.executor, &days, &|_, _| {}).await.unwrap();
    let sim = Simulator::new(&prep, FillModel::from_config(&cfg), 1e6, 1e6);
    let res = sim.run(&cfg.executor, true);
    let bench = benchmark_returns(&prep);
    assert!(res.returns.iter().filter(|r| **r != 0.0).count() > 30, "a series that moves");
    let t = tear_sheet(&res, &bench);

    let input = dir.path().join("series.json");
    let output = dir.path().join("oracle.json");
    std::fs::write(&input, serde_json::json!({"returns": res.returns, "benchmark": bench}).to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/tearsheet.py");
    let out = Command::new(ae_testkit::python()).arg(&script).arg(&input).arg(&output).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let o: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    let s = &t.summary;
    for (name, ours) in [
        ("total_return", s.total_return),
        ("benchmark_total_return", s.benchmark_total_return),
        ("annual_return", s.annual_return),
        ("annual_volatility", s.annual_volatility),
        ("sharpe", s.sharpe),
        ("sortino", s.sortino),
        ("max_drawdown", s.max_drawdown),
        ("calmar", s.calmar),
        ("alpha", s.alpha),
        ("beta", s.beta),
    ] {
        let theirs = o[name].as_f64().unwrap_or_else(|| panic!("{name}: oracle missing"));
        assert!(
            (ours - theirs).abs() <= 1e-9 * ours.abs().max(theirs.abs()) + 1e-12,
            "{name}: ours {ours}, empyrical {theirs}"
        );
    }
}
