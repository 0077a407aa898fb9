//! The local scheduler end to end, as operators run it: `alpha-engine local run` as a process over
//! two simulated weeks, once on a real S3 server on loopback and once on a directory, from the same
//! price store. Every document on the bus is valid; each job read what the previous ones wrote;
//! the backtester's write-back is picked up by the next week's planner; the EOD emails arrive at a
//! local SMTP server; both buses hold identical documents.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ae_shared::bus::Bus;
use ae_shared::contracts::DocKind;
use ae_testkit::S3Server;
use ae_testkit::smtp::{SmtpOptions, SmtpServer};
use serde_json::Value;

const CONFIG: &str = r#"
[llm]
api_key_env = "AE_TEST_NO_SUCH_KEY"

[backtest]
threads = 2

[[backtest.sweep]]
path = "risk.min_score"
values = [60.0, 70.0]
[[backtest.sweep]]
path = "exits.atr_multiple"
values = [2.0, 3.0]
[[backtest.sweep]]
path = "exits.reduce_on_gain_pct"
values = [0.15, 0.25]

# Gates opened wide so a write-back happens and the next week's jobs must pick it up.
[backtest.weights]
min_holdout_t = 0.0

[backtest.gates]
min_trades = 0
min_improvement = 0.0
min_holdout_retention = 0.0
max_pbo = 1.0
min_deflated_sharpe = 0.0
"#;

fn kind_of(key: &str) -> Option<DocKind> {
    ae_shared::bus::keys::contract_kind(&ae_shared::bus::Key::parse(key).ok()?)
}

/// The document without wall-clock timings (the backtest report's speed section).
fn normalised(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["speed", "seconds"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

async fn documents(bus: &Bus) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for prefix in ["signals/", "predictor/", "executor/", "backtest/", "config/"] {
        for o in bus.list(prefix).await.unwrap() {
            let key = o.key.to_string();
            if !key.ends_with(".json") {
                continue;
            }
            let bytes = bus.get(&o.key).await.unwrap().unwrap().bytes;
            if let Some(kind) = kind_of(&key) {
                kind.validate(&bytes).unwrap_or_else(|p| panic!("{key} is invalid: {p}"));
            }
            out.insert(key, normalised(serde_json::from_slice(&bytes).unwrap()));
        }
    }
    out
}

fn local_run(env: &[(String, String)], dir: &Path) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alpha-engine"));
    c.args(["local", "run", "--from", "2010-03-01", "--to", "2010-03-12"]).current_dir(dir).env("RUST_LOG", "warn");
    for var in ["BUS_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE"] {
        c.env_remove(var);
    }
    c.envs(env.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "local run failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let rep: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["days"].as_array().unwrap().len(), 10);
    assert_eq!(rep["jobs"]["executor eod"], 10);
    assert_eq!(rep["jobs"]["research"], 2);
    assert_eq!(rep["jobs"]["backtester"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_weeks_of_the_schedule_over_s3_and_a_directory_give_the_same_valid_documents() {
    let server = S3Server::start().await;
    let smtp = SmtpServer::start(SmtpOptions::default());
    let (tmpl_dir, template) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("test.toml");
    std::fs::write(&config, CONFIG).unwrap();

    // The same price store on both buses.
    let s3 = server.bus("desk");
    let file_root = work.path().join("file-bus");
    let file = Bus::file(&file_root);
    for o in template.list("prices/").await.unwrap() {
        let bytes = template.get(&o.key).await.unwrap().unwrap().bytes;
        s3.put(&o.key, bytes.clone(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
        file.put(&o.key, bytes, ae_shared::bus::PutMode::Overwrite).await.unwrap();
    }
    drop(tmpl_dir);

    let common = |name: &str, url: String| -> Vec<(String, String)> {
        let d = work.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        vec![
            ("BUS_URL".into(), url),
            ("ALPHA_ENGINE_CONFIG".into(), config.display().to_string()),
            ("ALPHA_ENGINE__TRADING__LEDGER_PATH".into(), d.join("trades.db").display().to_string()),
            ("ALPHA_ENGINE__LLM__CACHE_PATH".into(), d.join("research.db").display().to_string()),
            ("ALPHA_ENGINE__MAIL__OUTBOX_DIR".into(), d.join("outbox").display().to_string()),
            ("ALPHA_ENGINE__MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
            ("ALPHA_ENGINE__MAIL__SMTP__PORT".into(), smtp.port.to_string()),
            ("ALPHA_ENGINE__MAIL__SMTP__SECURITY".into(), "none".into()),
        ]
    };
    let mut s3_env = common("s3-run", format!("s3://{}/desk", server.bucket));
    s3_env.extend([
        ("AWS_ENDPOINT_URL".into(), server.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".into(), server.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), server.secret_key.clone()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ]);
    let file_env = common("file-run", format!("file://{}", file_root.display()));
    let cwd = work.path().to_path_buf();
    {
        let (e, c) = (s3_env.clone(), cwd.clone());
        tokio::task::spawn_blocking(move || local_run(&e, &c)).await.unwrap();
        let (e, c) = (file_env.clone(), cwd.clone());
        tokio::task::spawn_blocking(move || local_run(&e, &c)).await.unwrap();
    }

    let a = documents(&s3).await;
    let b = documents(&file).await;
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same documents on both buses");
    for (k, v) in &a {
        assert_eq!(v, &b[k], "{k} differs between the S3 and the directory bus");
    }
    // Each job read what the previous ones wrote.
    let book = &a["executor/order_books/2010-03-10.json"];
    let inputs: Vec<&str> =
        book["produced_by"]["inputs"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert!(inputs.contains(&"signals/2010-03-08/signals.json"), "{inputs:?}");
    // The backtester ran on Saturday 2010-03-06 for Monday 2010-03-08 and wrote scoring weights
    // back; the second week's research read them.
    assert!(a.contains_key("backtest/2010-03-08/report.json"));
    let report = &a["backtest/2010-03-08/report.json"];
    let written: Vec<&str> = report["write_back"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["written"] == true)
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(written.contains(&"scoring_weights"), "{written:?}: {}", report["write_back"]);
    assert!(
        a.contains_key("config/scoring_weights.json")
            && a.contains_key("config/history/2010-03-08/scoring_weights.json")
    );
    let research_inputs = |k: &str| a[k]["produced_by"]["inputs"].to_string();
    assert!(research_inputs("signals/2010-03-08/signals.json").contains("config/scoring_weights.json"));
    assert!(!research_inputs("signals/2010-03-01/signals.json").contains("config/scoring_weights.json"));
    // EOD emails (10 a run) and research briefs (2 a run) arrived over SMTP.
    let messages = smtp.messages(Duration::from_secs(10));
    let eod = messages.iter().filter(|m| m.contains("2010-03-12") && m.contains("EOD")).count();
    assert_eq!(eod, 2, "one EOD email for the last day from each run");
    assert!(messages.len() >= 24, "{} messages", messages.len());
}

#[test]
fn the_demo_runs_the_schedule_and_says_where_everything_is() {
    let work = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_alpha-engine"))
        .args(["demo", "--dir", "demo", "--from", "2010-03-01", "--to", "2010-03-05"])
        .current_dir(work.path())
        .env_remove("RUST_LOG")
        .env_remove("BUS_URL")
        .env_remove("ALPHA_ENGINE_CONFIG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    for needle in [
        "alpha-engine demo: 5 trading days",
        "return",
        "Sharpe",
        "max drawdown",
        "fills",
        "predictor:",
        "backtester:",
        "files: bus",
        "emails",
        "logs ",
        "dashboard: bash .ci/alpha-engine dashboard --bus file://",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    // The terminal shows the summary, not the jobs' logs: those go to the demo's folder, and no
    // internal name reaches the user.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().count() <= 3 && !err.contains("INFO") && !err.contains("WARN"), "{err}");
    let log = std::fs::read_to_string(work.path().join("demo/demo.log")).unwrap();
    assert!(log.contains("quant-only run: no LLM key is configured"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in the log file");
    assert!(!format!("{out}{err}{log}").contains("ALPHA_ENGINE_DEMO"), "an internal name reached the user");
    let outbox = work.path().join("demo/outbox");
    let emails = std::fs::read_dir(&outbox).unwrap().count();
    assert!(emails >= 6, "research brief and 5 EOD emails in {}: {emails}", outbox.display());
    assert!(work.path().join("demo/bus/executor/eod/2010-03-05.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_through_the_ib_gateway_trades_as_the_paper_session_does() {
    let (tmpl_dir, template) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let work = tempfile::tempdir().unwrap();
    let mut eods = Vec::new();
    for broker in ["paper", "ib-gateway"] {
        let root = work.path().join(broker);
        let bus = Bus::file(root.join("bus"));
        for o in template.list("prices/").await.unwrap() {
            let bytes = template.get(&o.key).await.unwrap().unwrap().bytes;
            bus.put(&o.key, bytes, ae_shared::bus::PutMode::Overwrite).await.unwrap();
        }
        let root2 = root.clone();
        let o = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_alpha-engine"))
                .args(["local", "run", "--from", "2010-03-01", "--to", "2010-03-03", "--broker", broker])
                .current_dir(&root2)
                .env("RUST_LOG", "warn")
                .env("BUS_URL", format!("file://{}", root2.join("bus").display()))
                .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", root2.join("trades.db"))
                .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", root2.join("outbox"))
                .env("ALPHA_ENGINE__LLM__CACHE_PATH", root2.join("research.db"))
                .env("ALPHA_ENGINE__LLM__API_KEY_ENV", "AE_TEST_NO_SUCH_KEY")
                .env_remove("ALPHA_ENGINE_CONFIG")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(o.status.success(), "{broker}: {}", String::from_utf8_lossy(&o.stderr));
        let rep: Value = serde_json::from_slice(&o.stdout).unwrap();
        let job = if broker == "paper" { "executor session" } else { "executor daemon" };
        assert_eq!(rep["jobs"][job], 3, "{broker}: {rep}");
        let mut days = Vec::new();
        for d in ["2010-03-01", "2010-03-02", "2010-03-03"] {
            let key = ae_shared::bus::keys::eod(ae_shared::TradingDay::parse(d).unwrap());
            let v: Value = serde_json::from_slice(&bus.get(&key).await.unwrap().unwrap().bytes).unwrap();
            assert!(v["integrity"].as_array().unwrap().iter().all(|c| c["passed"] == true), "{broker} {d}: {v}");
            let fills: Vec<(String, u64, String)> = v["fills"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["order_id"].as_str().unwrap().to_string(),
                        f["shares"].as_u64().unwrap(),
                        format!("{:.6}", f["price"].as_f64().unwrap()),
                    )
                })
                .collect();
            days.push((format!("{:.2}", v["nav"].as_f64().unwrap()), fills));
        }
        eods.push(days);
    }
    assert!(!eods[0][0].1.is_empty(), "the first day trades");
    assert_eq!(eods[0], eods[1], "the IB gateway run fills and marks exactly as the paper session");
    drop(tmpl_dir);
}
