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
