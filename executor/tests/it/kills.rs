//! Process kills: the `executor daemon` binary against the TWS-protocol gateway over a replayed
//! day, killed (SIGKILL, or an abort at a named crash point) and restarted, over and over. Every
//! trial must end with 0 duplicate orders at the gateway, 0 lost fills, positions equal to the
//! broker's, and the set of orders sent equal to the uninterrupted run's.
//!
//! Seeded random kill points (by the gateway's count of client messages) plus every crash point of
//! the order path (`oms.after_write_ahead`, `oms.after_submit_record`, `oms.after_ack`,
//! `oms.fill_received`, `oms.after_fill_booked`). The test suite runs a CI-sized set (24 random
//! points, the crash points at the first, a middle and the last order); the full set (100 random
//! points, every crash point at every order) is `cargo nextest run -p ae-executor --run-ignored
//! only kills`. The binary paces itself at IB's 50 messages a second, as it would in production.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ae_executor::ledger::Ledger;
use ae_tws::gateway::Gateway;
use rand::{Rng, SeedableRng};

use crate::common::Desk;
use crate::daemon::{D, check, clear_snapshots, copy_ledger, desk_before_d, gateway_for, orders};

fn daemon_cmd(desk: &Desk, gw: &Gateway, ledger: &Path, crash_at: Option<&str>) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_executor"));
    c.arg("--bus")
        .arg(desk.bus.url().to_string())
        .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", ledger)
        .env("ALPHA_ENGINE__TRADING__IB__MAX_MESSAGES_PER_SEC", "50")
        .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", ledger.with_extension("outbox"))
        .env("RUST_LOG", "error")
        .args(["daemon", "--date", D, "--poll-secs", "0", "--book-wait-secs", "5", "--address", &gw.addr().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match crash_at {
        Some(p) => c.env("AE_CRASH_AT", p),
        None => c.env_remove("AE_CRASH_AT"),
    };
    c
}

/// How a trial ended: killed (or crashed) before the close, and the counts after the restart.
struct Trial {
    died: bool,
    duplicates: usize,
    lost: usize,
    breaks: usize,
    same_orders: bool,
}

async fn trial(desk: &Desk, base: &Path, name: &str, kill: Kill, clean: &BTreeSet<(String, String, u32)>) -> Trial {
    clear_snapshots(desk).await;
    let path = desk.dir.path().join(format!("{name}.db"));
    std::fs::copy(base, &path).unwrap();
    let gw = gateway_for(desk, &path, "DU0000001").await;
    let died = match kill {
        Kill::AtMessage(n) => {
            let mut child = daemon_cmd(desk, &gw, &path, None).spawn().unwrap();
            let reached = async {
                while gw.messages() < n {
                    tokio::time::sleep(Duration::from_micros(300)).await;
                }
            };
            tokio::select! {
                st = child.wait() => { assert!(st.unwrap().success(), "the uninterrupted run failed"); false }
                () = reached => { child.start_kill().unwrap(); child.wait().await.unwrap(); true }
            }
        }
        Kill::AtPoint(p) => {
            let out = daemon_cmd(desk, &gw, &path, Some(&p)).output().await.unwrap();
            !out.status.success()
        }
    };
    let out = daemon_cmd(desk, &gw, &path, None).output().await.unwrap();
    assert!(out.status.success(), "{name}: the restart failed: {}", String::from_utf8_lossy(&out.stderr));
    let snap = gw.snapshot();
    let c = check(&path, &snap);
    let adjusted = Ledger::open(&path).unwrap().position_adjustments().unwrap().len();
    Trial {
        died,
        duplicates: c.duplicates,
        lost: c.lost_fills + c.phantom_fills,
        breaks: c.position_breaks + adjusted,
        same_orders: &orders(&path) == clean,
    }
}

#[derive(Debug, Clone)]
enum Kill {
    AtMessage(u64),
    AtPoint(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_binary_killed_at_any_point_never_doubles_loses_or_breaks() {
    kill_campaign(24, &[1, 4, 8]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full size (about 10 minutes): 100 random kill points and every crash point at every order"]
async fn the_daemon_binary_killed_at_any_point_never_doubles_loses_or_breaks_full() {
    kill_campaign(100, &[1, 2, 3, 4, 5, 6, 7, 8]).await;
}

async fn kill_campaign(random: usize, at_orders: &[usize]) {
    let desk = desk_before_d().await;
    let base = copy_ledger(&desk, "kill-base.db");
    // The uninterrupted run, through the binary.
    clear_snapshots(&desk).await;
    let path = desk.dir.path().join("kill-clean.db");
    std::fs::copy(&base, &path).unwrap();
    let gw = gateway_for(&desk, &path, "DU0000001").await;
    let t0 = std::time::Instant::now();
    let out = daemon_cmd(&desk, &gw, &path, None).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let per_run = t0.elapsed();
    let clean = orders(&path);
    let messages = gw.messages();
    assert!(!clean.is_empty());
    let c = check(&path, &gw.snapshot());
    assert_eq!((c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks), (0, 0, 0, 0));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_100_315);
    let mut kills: Vec<Kill> = (0..random).map(|_| Kill::AtMessage(rng.random_range(1..messages))).collect();
    for point in ae_shared::crashpoint::points::ORDER_PATH {
        for k in at_orders.iter().filter(|k| **k <= clean.len()) {
            kills.push(Kill::AtPoint(format!("{point}:{k}")));
        }
    }
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut dups, mut lost, mut breaks, mut different, mut died) = (0, 0, 0, 0, 0);
    for (i, k) in kills.iter().enumerate() {
        let t = trial(&desk, &base, &format!("kill-{i}"), k.clone(), &clean).await;
        let kind = match k {
            Kill::AtMessage(_) => "random message".to_string(),
            Kill::AtPoint(p) => p.split(':').next().unwrap_or_default().to_string(),
        };
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += usize::from(t.died);
        died += usize::from(t.died);
        dups += t.duplicates;
        lost += t.lost;
        breaks += t.breaks;
        different += usize::from(!t.same_orders);
        if t.duplicates + t.lost + t.breaks > 0 || !t.same_orders {
            println!(
                "trial {i} ({k:?}): duplicates {}, lost fills {}, position breaks {}, same orders {}",
                t.duplicates, t.lost, t.breaks, t.same_orders
            );
        }
    }
    for (kind, (n, d)) in &by_kind {
        println!("kill points {kind}: {n} trials, {d} killed before the close");
    }
    println!(
        "process kills: {} trials ({died} killed mid-day, {messages} client messages in a clean day, {:.2} s per daemon run): {dups} duplicate orders, {lost} lost fills, {breaks} position breaks, {different} runs whose orders differ from the uninterrupted run",
        kills.len(),
        per_run.as_secs_f64()
    );
    assert_eq!((dups, lost, breaks, different), (0, 0, 0, 0));
    assert!(died >= random / 2, "most random points land before the close");
}
