//! The `predictor` binary: the CLI and the same handler under the Lambda Runtime API.

use std::time::Duration;

use ae_shared::bus::keys;
use ae_shared::config::Config;
use ae_shared::contracts::predictions::Predictions;
use ae_shared::sim::{SimConfig, generate};
use ae_testkit::lambda::{Outcome, RuntimeApi};
use serde_json::json;

use crate::{sim_bus, train_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_on_the_cli_and_infer_under_lambda() {
    let m = generate(&SimConfig::new(80, 360, 0.5, 13));
    let (dir, bus) = sim_bus(&m).await;
    let url = bus.url().to_string();
    let day = *m.sessions.last().unwrap();
    // CLI: a dry run prints the report and writes nothing.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predictor"))
        .args(["train", "--date", &day.to_string(), "--dry-run", "--bus", &url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["published"], "dry run: nothing written");
    assert!(bus.get(&keys::predictor_registry()).await.unwrap().is_none());
    // Train for real, then infer through the Lambda runtime.
    let r = train_on(&bus, &Config::defaults(), day).await;
    assert!(r.promoted, "{:?}", r.gates);
    let api = RuntimeApi::start(json!({"command": "infer", "date": day.to_string()})).await;
    let child = api.command(env!("CARGO_BIN_EXE_predictor"), "predictor-infer").env("BUS_URL", &url).spawn().unwrap();
    let (outcome, logs) = api.outcome(child, Duration::from_secs(60)).await;
    let Outcome::Response(rep) = outcome else { panic!("{outcome:?}\n{logs}") };
    assert_eq!(rep["model_version"], r.version.as_str());
    assert!(bus.get_doc::<Predictions>(&keys::predictions(day)).await.unwrap().is_some());
    // An unknown command is an error answer, not a crash.
    let api = RuntimeApi::start(json!({"command": "explode"})).await;
    let child = api.command(env!("CARGO_BIN_EXE_predictor"), "predictor").env("BUS_URL", &url).spawn().unwrap();
    let (outcome, _) = api.outcome(child, Duration::from_secs(30)).await;
    let Outcome::Error(e) = outcome else { panic!("{outcome:?}") };
    assert!(e.contains("unknown command"), "{e}");
    drop(dir);
}
