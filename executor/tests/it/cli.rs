//! The `executor` binary: dry runs write nothing, the three commands chain, errors say what to do.

use std::process::Command;

use ae_shared::bus::keys;

use crate::common::{Desk, day};

fn exe(desk: &Desk) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_executor"));
    c.arg("--bus")
        .arg(desk.bus.url().to_string())
        .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", desk.dir.path().join("cli.db"))
        .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", desk.dir.path().join("outbox"))
        .env("RUST_LOG", "warn");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_session_eod_from_the_command_line_and_dry_runs_write_nothing() {
    let desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    let out = exe(&desk).args(["plan", "--date", "2010-03-15", "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"urgent_exits\"") && text.contains("dry run: nothing written"), "{text}");
    assert!(desk.bus.get(&keys::order_book(d)).await.unwrap().is_none(), "a dry run writes no order book");
    let run = |args: &[&str]| {
        let out = exe(&desk).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["plan", "--date", "2010-03-15"]).contains("\"published\": \"written"));
    // The same plan again, same inputs: a no-op that says so.
    assert!(run(&["plan", "--date", "2010-03-15"]).contains("\"published\": \"unchanged"));
    run(&["session", "--date", "2010-03-15"]);
    run(&["eod", "--date", "2010-03-15"]);
    assert!(desk.bus.get(&keys::eod(d)).await.unwrap().is_some());
    assert!(desk.dir.path().join("outbox/2010-03-15-eod.eml").exists());
    assert!(run(&["eod", "--date", "2010-03-15"]).contains("not sent again"));
    // Planning the day again after trading is a different computation: refused, with the way out.
    let out = exe(&desk).args(["plan", "--date", "2010-03-15"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--force") || err.contains("other inputs"), "{err}");

    // The next morning's plan writes the book's risk state; `executor risk` prints it.
    run(&["plan", "--date", "2010-03-16"]);
    let text = run(&["risk", "--date", "2010-03-16"]);
    for part in ["Risk state 2010-03-16", "Factor model", "MCTR", "Historical", "MonteCarlo", "Parametric", "Stress"] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    let json: ae_shared::contracts::risk_state::RiskState =
        serde_json::from_str(&run(&["risk", "--date", "2010-03-16", "--json"])).unwrap();
    let d = json.decomposition.expect("a decomposition of a held book");
    let sum: f64 = d.positions.iter().map(|p| p.contribution).sum();
    assert!((sum - d.sigma).abs() < 1e-12, "MCTR contributions {sum} sum to σ {}", d.sigma);
    assert_eq!(json.tail.len(), 12, "three methods × 95/99% × 1/10 days");
    // Point in time: of the four historical windows only 2008 has happened by March 2010.
    let names: Vec<&str> = json.stress.iter().map(|s| s.scenario.name.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names[0].contains("2008"), "{names:?}");
    let out = exe(&desk).args(["risk", "--date", "2010-03-17"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("executor plan --date 2010-03-17"));
}

#[tokio::test]
async fn with_the_ib_broker_errors_say_what_to_do() {
    let desk = Desk::new().await;
    let ib = |args: &[&str]| {
        let out = exe(&desk)
            .env("ALPHA_ENGINE__TRADING__BROKER", "ib")
            .env("ALPHA_ENGINE__TRADING__IB__PORT", "1")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The planner reads the account from IB: an unreachable gateway is named, with the way out.
    let err = ib(&["plan", "--date", "2010-03-15"]);
    assert!(err.contains("IB Gateway at 127.0.0.1:1") && err.contains("is IB Gateway running"), "{err}");
    // The paper session never trades an IB configuration.
    let err = ib(&["session", "--date", "2010-03-15"]);
    assert!(err.contains("trading.broker = \"paper\""), "{err}");
}

#[tokio::test]
async fn a_missed_job_raises_an_alert_that_names_it() {
    let desk = Desk::new().await;
    let out = exe(&desk).args(["watchdog", "--date", "2010-03-15", "--expect", "order-book"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a missing order book is a failure of the morning");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("executor/order_books/2010-03-15.json is missing"), "{err}");
    let outbox: Vec<_> =
        std::fs::read_dir(desk.dir.path().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(outbox.len(), 1, "one alert email: {outbox:?}");
    let text = std::fs::read_to_string(&outbox[0]).unwrap();
    assert!(text.contains("executor plan did not run for 2010-03-15") && text.contains("CRITICAL"), "{text}");
    // Once: the watchdog firing again within the window sends nothing more.
    exe(&desk).args(["watchdog", "--date", "2010-03-15", "--expect", "order-book"]).output().unwrap();
    assert_eq!(std::fs::read_dir(desk.dir.path().join("outbox")).unwrap().count(), 1);
    // With the document there, all is well.
    desk.bus.put(&keys::eod(day("2010-03-15")), b"{}".to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let out = exe(&desk).args(["watchdog", "--date", "2010-03-15", "--expect", "eod"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_kill_switch_from_the_command_line_flatten_needs_a_terminal_and_clearing_a_reason() {
    let desk = Desk::new().await;
    let run = |args: &[&str]| exe(&desk).args(args).stdin(std::process::Stdio::null()).output().unwrap();
    let out = run(&["kill-switch", "set", "--mode", "flatten", "--reason", "test"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an operator at a terminal"));
    assert!(desk.bus.get(&keys::kill_switch()).await.unwrap().is_none(), "nothing set without confirmation");
    let out = run(&["kill-switch", "set", "--reason", "drawdown review"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: ae_shared::contracts::kill_switch::KillSwitch =
        desk.bus.get_doc_required(&keys::kill_switch()).await.unwrap().doc;
    assert_eq!(doc.mode, ae_shared::contracts::kill_switch::KillMode::Entries);
    assert!(!run(&["kill-switch", "clear"]).status.success(), "clearing needs --reason");
    let out = run(&["kill-switch", "clear", "--reason", "reviewed, resume"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(desk.bus.get(&keys::kill_switch()).await.unwrap().is_none());
    let history = desk.bus.list("executor/kill_switch/history/").await.unwrap();
    assert_eq!(history.len(), 1);
    let archived = String::from_utf8(desk.bus.get(&history[0].key).await.unwrap().unwrap().bytes.to_vec()).unwrap();
    assert!(archived.contains("reviewed, resume") && archived.contains("drawdown review"), "{archived}");
    // Set and clear each reached the operator.
    assert_eq!(std::fs::read_dir(desk.dir.path().join("outbox")).unwrap().count(), 2);
}
