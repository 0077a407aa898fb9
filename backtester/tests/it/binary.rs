//! The `backtester` binary: the CLI on a directory bus and the same run under the Lambda Runtime API.

use std::time::Duration;

use ae_shared::bus::{Bus, keys};
use ae_shared::sim::{SimConfig, generate};
use ae_testkit::lambda::{Outcome, RuntimeApi};
use serde_json::json;

use crate::common::clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_lambda_handler_run_the_backtest() {
    let m = generate(&SimConfig::new(30, 130, 0.0, 5));
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let last = *m.sessions.last().unwrap();
    m.write_to(&bus, &ae_shared::config::Config::defaults().data, clock(last, 18, 0).as_ref()).await.unwrap();
    let date = last.next();
    let config = dir.path().join("bt.toml");
    std::fs::write(
        &config,
        "[llm]\napi_key_env = \"AE_TEST_NO_SUCH_KEY\"\n[backtest]\nwarmup_days = 60\nthreads = 2\n[[backtest.sweep]]\npath = \"risk.min_score\"\nvalues = [60.0, 70.0]\n",
    )
    .unwrap();
    let url = format!("file://{}", dir.path().join("bus").display());
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_backtester"))
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .env("ALPHA_ENGINE_CONFIG", &config)
            .env("BUS_URL", &url)
            .output()
            .unwrap()
    };
    // A date with too little history is a clear error.
    let o = cli(&["run", "--date", &m.sessions[70].to_string()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sessions to simulate"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The CLI: a dry run prints the report and writes nothing.
    let o = cli(&["run", "--date", &date.to_string(), "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("# Backtest") && out.contains("executor_params"), "{out}");
    assert!(bus.list("backtest/").await.unwrap().is_empty());
    // Under Lambda: the same run, written.
    let api = RuntimeApi::start(json!({"date": date.to_string()})).await;
    let child = api
        .command(env!("CARGO_BIN_EXE_backtester"), "backtester")
        .env("BUS_URL", &url)
        .env("ALPHA_ENGINE_CONFIG", &config)
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let (outcome, logs) = api.outcome(child, Duration::from_secs(120)).await;
    let Outcome::Response(rep) = outcome else { panic!("{outcome:?}\n{logs}") };
    assert_eq!(rep["date"], date.to_string());
    assert_eq!(rep["write_back"].as_array().unwrap().len(), 5);
    assert!(bus.head(&keys::backtest(date, "report.md")).await.unwrap().is_some());
    // A bad event is an error answer, not a crash.
    let api = RuntimeApi::start(json!({"date": "not-a-date"})).await;
    let child = api.command(env!("CARGO_BIN_EXE_backtester"), "backtester").env("BUS_URL", &url).spawn().unwrap();
    let (outcome, _) = api.outcome(child, Duration::from_secs(30)).await;
    let Outcome::Error(e) = outcome else { panic!("{outcome:?}") };
    assert!(e.contains("bad date"), "{e}");
}

/// One Lambda invocation of the backtester binary with `event` on the bus at `url`.
async fn invoke(
    event: serde_json::Value,
    url: &str,
    config: &std::path::Path,
    dir: &std::path::Path,
) -> serde_json::Value {
    let api = RuntimeApi::start(event.clone()).await;
    let child = api
        .command(env!("CARGO_BIN_EXE_backtester"), "backtester")
        .env("BUS_URL", url)
        .env("ALPHA_ENGINE_CONFIG", config)
        .current_dir(dir)
        .spawn()
        .unwrap();
    let (outcome, logs) = api.outcome(child, Duration::from_secs(180)).await;
    let Outcome::Response(rep) = outcome else { panic!("{event}: {outcome:?}\n{logs}") };
    rep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_fanned_out_in_two_lambda_shards_decides_as_one_process() {
    let m = generate(&SimConfig::new(30, 130, 0.05, 11));
    let dir = tempfile::tempdir().unwrap();
    let last = *m.sessions.last().unwrap();
    let date = last.next();
    let config = dir.path().join("bt.toml");
    std::fs::write(
        &config,
        "[llm]\napi_key_env = \"AE_TEST_NO_SUCH_KEY\"\n[backtest]\nwarmup_days = 60\nthreads = 2\n\
         [[backtest.sweep]]\npath = \"risk.min_score\"\nvalues = [55.0, 65.0, 75.0]\n\
         [[backtest.sweep]]\npath = \"risk.max_position_pct\"\nvalues = [0.04, 0.08]\n",
    )
    .unwrap();
    let mut buses = Vec::new();
    for name in ["one", "fanned"] {
        let bus = Bus::file(dir.path().join(name));
        m.write_to(&bus, &ae_shared::config::Config::defaults().data, clock(last, 18, 0).as_ref()).await.unwrap();
        buses.push((bus, format!("file://{}", dir.path().join(name).display())));
    }

    // One process.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_backtester"))
        .args(["run", "--date", &date.to_string()])
        .env("RUST_LOG", "warn")
        .env("ALPHA_ENGINE_CONFIG", &config)
        .env("BUS_URL", &buses[0].1)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The Step Functions flow, each step a Lambda invocation of the same binary: plan the shards,
    // run each item of the manifest (what the Distributed Map does), then merge and decide.
    let (fanned, url) = &buses[1];
    let plan = invoke(json!({"date": date.to_string(), "plan_shards": 2}), url, &config, dir.path()).await;
    assert_eq!(plan["shards"], 2);
    let (items, _) = fanned.get_json::<Vec<serde_json::Value>>(&keys::sweep_manifest(date)).await.unwrap().unwrap();
    assert_eq!(items.len(), 2);
    let mut scored = 0;
    for item in items {
        let r = invoke(item, url, &config, dir.path()).await;
        scored += r["points"].as_u64().unwrap();
    }
    let merged = invoke(json!({"date": date.to_string(), "merge_shards": 2}), url, &config, dir.path()).await;
    assert_eq!(merged["write_back"].as_array().unwrap().len(), 5);

    let report = |bus: &Bus| {
        let bus = bus.clone();
        async move {
            let (mut r, _) =
                bus.get_json::<serde_json::Value>(&keys::backtest(date, "report.json")).await.unwrap().unwrap();
            r["sweep"].as_object_mut().unwrap().remove("seconds");
            r["ensemble"].as_object_mut().unwrap().remove("seconds");
            r
        }
    };
    let (a, b) = (report(&buses[0].0).await, report(fanned).await);
    assert_eq!(
        scored,
        a["sweep"]["surface"]["rows"].as_array().unwrap().len() as u64,
        "the shards scored every valid point once"
    );
    assert!(scored >= 4, "most of the 6 declared points are valid: {scored}");
    assert!(
        a["sweep"]["pbo"]["probability"].is_number() && a["sweep"]["deflated"]["probability"].is_number(),
        "{}",
        a["sweep"]
    );
    assert_eq!(a["sweep"], b["sweep"], "the same points, objectives, deflated Sharpe, PBO, gates and decision");
    assert_eq!(a["write_back"][0], b["write_back"][0], "the same executor write-back decision");
    assert_eq!(a["ensemble"], b["ensemble"], "the same grading of the ensemble sizing on top of it");
    let params = |bus: &Bus| {
        let bus = bus.clone();
        async move {
            bus.get_json::<serde_json::Value>(&keys::config("executor_params"))
                .await
                .unwrap()
                .map(|(v, _)| v["params"].clone())
        }
    };
    assert_eq!(params(&buses[0].0).await, params(fanned).await, "the same parameters written back, or none on both");

    // A shard missing from the merge is named, and nothing is decided.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_backtester"))
        .args(["run", "--date", &date.to_string(), "--dry-run", "--merge-shards", "3"])
        .env("RUST_LOG", "warn")
        .env("ALPHA_ENGINE_CONFIG", &config)
        .env("BUS_URL", url)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shard-0-of-3.json is missing") && err.contains("backtester shard"), "{err}");
}
