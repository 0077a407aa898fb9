//! A run in two parts, as the local schedule runs it beside the week's research and training:
//! `start` writes every document of the run that research and training read (the scoring
//! weights, the veto threshold), `finish` writes none of them, and the bus ends as one `run`
//! leaves it.

use std::collections::BTreeMap;

use ae_backtester::run::{RunOptions, SweepSource, run, start};
use ae_shared::bus::{Bus, keys};
use ae_shared::sim::{SimConfig, generate};

use crate::common::simulated_bus;

/// Every object under `prefix`, by key.
async fn objects(bus: &Bus, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for o in bus.list(prefix).await.unwrap() {
        out.insert(o.key.to_string(), bus.get(&o.key).await.unwrap().unwrap().bytes.to_vec());
    }
    out
}

/// A report without its timings.
fn timeless(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v.as_object_mut().unwrap().remove("speed");
    for part in ["sweep", "ensemble"] {
        v[part].as_object_mut().unwrap().remove("seconds");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_part_writes_what_research_and_training_read_and_the_rest_writes_none_of_it() {
    let m = generate(&SimConfig::new(40, 220, 0.4, 29));
    let date = m.sessions.last().unwrap().next();
    let opts = RunOptions { date, dry_run: false, force: false, progress: false };
    let open = |cfg: &mut ae_shared::config::Config| {
        // Gates opened wide so that both parts write back.
        cfg.backtest.weights.min_holdout_t = 0.0;
        cfg.backtest.weights.min_samples = 200;
        cfg.backtest.gates.min_trades = 0;
        cfg.backtest.gates.min_improvement = 0.0;
        cfg.backtest.gates.min_holdout_retention = -1e9;
        cfg.backtest.gates.max_pbo = 1.0;
        cfg.backtest.gates.min_deflated_sharpe = 0.0;
    };

    let (_dir, bus, mut cfg) = simulated_bus(&m).await;
    open(&mut cfg);
    let started = start(&bus, &cfg, &opts).await.unwrap();
    let after_start = objects(&bus, "config/").await;
    assert!(bus.head(&keys::backtest(date, "report.json")).await.unwrap().is_none(), "no report before the end");
    let report = started.finish(&bus, &cfg, SweepSource::Local).await.unwrap();
    let written = |name: &str| report.write_back.iter().find(|w| w.name == name).unwrap().written;
    assert!(written("scoring_weights") && written("executor_params"), "{:?}", report.write_back);
    assert!(after_start.contains_key(keys::config("scoring_weights").as_str()));

    // What research and training read is final after the first part.
    let after_finish = objects(&bus, "config/").await;
    for name in ["scoring_weights", "research_params", "predictor_params"] {
        let k = keys::config(name).to_string();
        assert_eq!(after_start.get(&k), after_finish.get(&k), "{k} changed after the first part");
    }
    for (k, v) in &after_finish {
        if after_start.get(k) != Some(v) {
            assert!(k.contains("executor_params"), "{k} written by the second part");
        }
    }

    // The same run in one go on the same inputs leaves the same documents.
    let (_one_dir, one, mut one_cfg) = simulated_bus(&m).await;
    open(&mut one_cfg);
    run(&one, &one_cfg, &opts).await.unwrap();
    assert_eq!(objects(&one, "config/").await, after_finish);
    let report_key = keys::backtest(date, "report.json");
    let in_one_go = one.get(&report_key).await.unwrap().unwrap().bytes;
    let in_two_parts = bus.get(&report_key).await.unwrap().unwrap().bytes;
    assert_eq!(timeless(&in_one_go), timeless(&in_two_parts));
}
