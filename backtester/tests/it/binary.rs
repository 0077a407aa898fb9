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
    assert_eq!(rep["write_back"].as_array().unwrap().len(), 4);
    assert!(bus.head(&keys::backtest(date, "report.md")).await.unwrap().is_some());
    // A bad event is an error answer, not a crash.
    let api = RuntimeApi::start(json!({"date": "not-a-date"})).await;
    let child = api.command(env!("CARGO_BIN_EXE_backtester"), "backtester").env("BUS_URL", &url).spawn().unwrap();
    let (outcome, _) = api.outcome(child, Duration::from_secs(30)).await;
    let Outcome::Error(e) = outcome else { panic!("{outcome:?}") };
    assert!(e.contains("bad date"), "{e}");
}
