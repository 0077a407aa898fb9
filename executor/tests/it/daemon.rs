//! The daemon against the local paper gateway, through the real `ibapi` client on loopback: a
//! replayed day end to end (and the same orders as the paper session), kills at random points,
//! dropped connections during fills, partial fills and rejects, the paper-account guard, and the
//! `executor daemon` binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use ae_executor::daemon::{self, DaemonOptions, DaemonReport, IbConnector};
use ae_executor::ledger::Ledger;
use ae_executor::notify::Notifier;
use ae_executor::session;
use ae_shared::TradingDay;
use ae_shared::clock::SimulatedClock;
use ae_shared::types::Ticker;
use ae_tws::gateway::{Gateway, GatewaySnapshot};
use rand::{Rng, SeedableRng};

use crate::common::{Desk, day};

/// The replayed day, after a week of paper trading so that positions exist to exit.
pub(crate) const D: &str = "2010-03-15";

/// A desk that traded the week before `D` on the paper broker and has `D`'s order book.
pub(crate) async fn desk_before_d() -> Desk {
    let mut desk = Desk::new().await;
    let mut d = day("2010-03-08");
    let mut first = true;
    while d < day(D) {
        desk.trade_day(d, first).await;
        first = false;
        d = d.next();
    }
    desk.research(day(D)).await;
    let (book, _, _) = desk.plan(day(D)).await;
    println!(
        "{D}: {} entries, {} urgent exits planned, {} held",
        book.entries.len(),
        book.urgent_exits.len(),
        desk.ledger.positions().unwrap().len()
    );
    desk
}

pub(crate) fn copy_ledger(desk: &Desk, name: &str) -> PathBuf {
    let src = PathBuf::from(&desk.cfg.trading.ledger_path);
    let dst = desk.dir.path().join(name);
    // The ledger runs in WAL mode: checkpoint into the main file through a fresh connection.
    let conn = rusqlite::Connection::open(&src).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    conn.execute_batch(&format!("VACUUM INTO '{}'", dst.display())).unwrap();
    dst
}

pub(crate) async fn gateway_for(desk: &Desk, ledger: &Path, account: &str) -> Gateway {
    let l = Ledger::open(ledger).unwrap();
    let mut cfg = ae_executor::gateway_day::config(&desk.store, day(D), &desk.cfg.trading, account);
    cfg.cash = l.cash().unwrap();
    cfg.positions = l.positions().unwrap().into_iter().map(|p| (p.ticker, (p.shares, p.avg_cost))).collect();
    Gateway::start("127.0.0.1:0", cfg).await.unwrap()
}

pub(crate) async fn clear_snapshots(desk: &Desk) {
    for o in desk.bus.list(&format!("executor/snapshots/{D}/")).await.unwrap() {
        desk.bus.delete(&o.key).await.unwrap();
    }
}

pub(crate) fn connector(desk: &Desk, gw: &Gateway) -> IbConnector {
    let mut cfg = desk.cfg.trading.ib.clone();
    // Tests replay a day in well under a second; the pacer has its own test.
    cfg.max_messages_per_sec = 50_000;
    IbConnector { address: gw.addr().to_string(), client_id: 2, cfg, live_confirmed: false }
}

pub(crate) fn options() -> DaemonOptions {
    DaemonOptions { date: day(D), poll: Duration::ZERO, book_wait: Duration::from_secs(5), reconnect_attempts: 20 }
}

pub(crate) async fn run_daemon(desk: &Desk, gw: &Gateway, ledger_path: &Path) -> anyhow::Result<DaemonReport> {
    run_daemon_with(desk, gw, ledger_path, options()).await
}

pub(crate) async fn run_daemon_with(
    desk: &Desk,
    gw: &Gateway,
    ledger_path: &Path,
    opts: DaemonOptions,
) -> anyhow::Result<DaemonReport> {
    let mut ledger = Ledger::open(ledger_path).unwrap();
    let clock = SimulatedClock::at_et(day(D), chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    daemon::run(
        &desk.bus,
        &desk.cfg,
        &connector(desk, gw),
        &mut ledger,
        &desk.store.sectors,
        session::split_ratios(&desk.store, day(D)),
        &opts,
        &Notifier::disabled(),
        &ae_shared::alerts::Alerter::log_only(),
        &clock,
        Arc::new(AtomicBool::new(false)),
    )
    .await
}

/// (order id, side, shares) of every order the ledger sent on `D`.
pub(crate) fn orders(ledger: &Path) -> BTreeSet<(String, String, u32)> {
    Ledger::open(ledger)
        .unwrap()
        .orders_on(day(D))
        .unwrap()
        .into_iter()
        .map(|o| (o.id, format!("{:?}", o.side), o.shares))
        .collect()
}

pub(crate) struct Check {
    pub duplicates: usize,
    pub lost_fills: usize,
    pub phantom_fills: usize,
    pub position_breaks: usize,
}

/// Compares the ledger with the gateway: orders sent twice, fills the ledger lacks (or has and the
/// broker does not), positions that differ.
pub(crate) fn check(ledger: &Path, gw: &GatewaySnapshot) -> Check {
    let l = Ledger::open(ledger).unwrap();
    let mut per_ref: BTreeMap<&str, usize> = BTreeMap::new();
    for (r, _, _) in &gw.orders {
        *per_ref.entry(r.as_str()).or_default() += 1;
    }
    let duplicates = per_ref.values().map(|n| n - 1).sum();
    let ledger_fills: BTreeSet<String> = l.fills_on(day(D)).unwrap().into_iter().map(|(f, _)| f.exec_id).collect();
    let broker_fills: BTreeSet<String> = gw.executions.iter().cloned().collect();
    let lp: BTreeMap<Ticker, u32> = l.positions().unwrap().into_iter().map(|p| (p.ticker, p.shares)).collect();
    Check {
        duplicates,
        lost_fills: broker_fills.difference(&ledger_fills).count(),
        phantom_fills: ledger_fills.difference(&broker_fills).count(),
        position_breaks: lp.len().max(gw.positions.len())
            - lp.iter().filter(|(t, n)| gw.positions.get(*t) == Some(*n)).count(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_day_through_the_tws_gateway_and_faults_never_double_or_lose_an_order() {
    let mut desk = desk_before_d().await;
    let base = copy_ledger(&desk, "before-d.db");

    // 1. The daemon through the gateway (real ibapi client) ...
    let clean = desk.dir.path().join("clean.db");
    std::fs::copy(&base, &clean).unwrap();
    let gw = gateway_for(&desk, &clean, "DU0000001").await;
    let report = run_daemon(&desk, &gw, &clean).await.unwrap();
    assert!(report.completed, "{report:?}");
    let snap = gw.snapshot();
    let c = check(&clean, &snap);
    assert_eq!((c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks), (0, 0, 0, 0));
    let daemon_orders = orders(&clean);
    assert!(!daemon_orders.is_empty() && !snap.executions.is_empty(), "a day with trading: {report:?}");
    let clean_messages = snap.messages;

    // 2. ... sends the same orders as the paper session on the same day (one engine, one fill model).
    let paper = desk.session(day(D)).await.unwrap();
    let paper_orders = orders(Path::new(&desk.cfg.trading.ledger_path));
    assert_eq!(daemon_orders, paper_orders, "daemon vs paper session; paper: {paper:?}");
    let fills = |p: &Path| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Ledger::open(p)
            .unwrap()
            .fills_on(day(D))
            .unwrap()
            .into_iter()
            .map(|(f, _)| (f.order_id, format!("{:.6}", f.price)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(fills(&clean), fills(Path::new(&desk.cfg.trading.ledger_path)), "same fill prices");
    println!(
        "parity: {} orders, {} fills, identical in the daemon (gateway) and the paper session",
        daemon_orders.len(),
        snap.executions.len()
    );

    // 3. Kill the daemon at random points of the day and restart it.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20100315);
    let trials = 24;
    let (mut dups, mut lost, mut breaks, mut resent) = (0, 0, 0, 0);
    for trial in 0..trials {
        clear_snapshots(&desk).await;
        let path = desk.dir.path().join(format!("kill-{trial}.db"));
        std::fs::copy(&base, &path).unwrap();
        let gw = gateway_for(&desk, &path, "DU0000001").await;
        let kill_at = rng.random_range(1..clean_messages);
        let killed = {
            let run = run_daemon(&desk, &gw, &path);
            let trigger = async {
                while gw.messages() < kill_at {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            };
            tokio::select! {
                r = run => { r.unwrap(); false }
                () = trigger => true,
            }
        };
        let second = run_daemon(&desk, &gw, &path).await.unwrap();
        assert!(second.completed);
        resent += second.reconciled.iter().map(|r| r.resent.len()).sum::<usize>();
        let c = check(&path, &gw.snapshot());
        println!(
            "kill point {trial:2}: after message {kill_at:3} of ~{clean_messages} (killed: {killed}): duplicates {}, lost fills {}, position breaks {}",
            c.duplicates, c.lost_fills, c.position_breaks
        );
        dups += c.duplicates;
        lost += c.lost_fills + c.phantom_fills;
        breaks += c.position_breaks;
    }
    println!(
        "fault injection: {trials} kill points, {dups} duplicate orders, {lost} lost fills, {breaks} position breaks, {resent} orders re-sent on reconnect"
    );
    assert_eq!((dups, lost, breaks), (0, 0, 0));

    // 4. Drop the connection right after a fill's execution report: recovered after reconnect.
    clear_snapshots(&desk).await;
    let path = desk.dir.path().join("drop.db");
    std::fs::copy(&base, &path).unwrap();
    let gw = gateway_for(&desk, &path, "DU0000001").await;
    gw.faults(|f, _| f.drop_after_next_fill = true);
    let r = run_daemon(&desk, &gw, &path).await.unwrap();
    assert!(r.connections >= 2, "the drop forced a reconnect: {r:?}");
    let c = check(&path, &gw.snapshot());
    assert_eq!((c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks), (0, 0, 0, 0));
    assert_eq!(orders(&path), daemon_orders, "nothing lost, nothing added");

    // 5. An order lost with the connection (recorded, never received): sent again once, same id.
    clear_snapshots(&desk).await;
    let path = desk.dir.path().join("lost.db");
    std::fs::copy(&base, &path).unwrap();
    let gw = gateway_for(&desk, &path, "DU0000001").await;
    gw.faults(|f, _| f.lose_next_order = true);
    let r = run_daemon(&desk, &gw, &path).await.unwrap();
    let resent: Vec<&String> = r.reconciled.iter().flat_map(|x| &x.resent).collect();
    assert_eq!(resent.len(), 1, "{r:?}");
    let c = check(&path, &gw.snapshot());
    assert_eq!((c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks), (0, 0, 0, 0));
    assert_eq!(orders(&path), daemon_orders);
    println!("an order lost with the connection: re-sent once on reconnect ({})", resent[0]);

    // 6. Partial fills and a reject end in the right states.
    clear_snapshots(&desk).await;
    let path = desk.dir.path().join("partial.db");
    std::fs::copy(&base, &path).unwrap();
    let gw = gateway_for(&desk, &path, "DU0000001").await;
    gw.faults(|_, o| {
        o.partial_fraction = Some(0.5);
        o.reject_next = 1;
    });
    run_daemon(&desk, &gw, &path).await.unwrap();
    let snap = gw.snapshot();
    let c = check(&path, &snap);
    assert_eq!((c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks), (0, 0, 0, 0));
    let l = Ledger::open(&path).unwrap();
    let by_ref: BTreeMap<String, (String, u32)> =
        snap.orders.iter().map(|(r, s, f)| (r.clone(), (s.clone(), *f))).collect();
    let mut states = BTreeMap::new();
    for o in l.orders_on(day(D)).unwrap() {
        let (status, filled) = by_ref.get(&o.id).cloned().unwrap_or(("never sent".into(), 0));
        let expected = match (status.as_str(), filled == o.shares, filled > 0) {
            ("Filled", _, _) => "filled",
            ("Inactive", _, _) => "rejected",
            ("Cancelled", _, _) => "expired",
            _ => "working",
        };
        assert_eq!(o.state.as_str(), expected, "{}: broker says {status} with {filled} filled", o.id);
        assert_eq!(o.filled_shares, filled, "{}", o.id);
        *states.entry(o.state.as_str()).or_insert(0) += 1;
    }
    assert_eq!(states.get("rejected"), Some(&1), "{states:?}");
    assert!(snap.executions.len() > daemon_orders.len(), "partial fills split executions: {states:?}");
    println!("partial fills and a reject: final states {states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_account_is_refused_before_anything_is_sent() {
    let mut desk = Desk::new().await;
    desk.research(day("2010-03-15")).await;
    desk.plan(day("2010-03-15")).await;
    let path = copy_ledger(&desk, "live.db");
    let mut l = Ledger::open(&path).unwrap();
    let g = ae_executor::gateway_day::config(&desk.store, day("2010-03-15"), &desk.cfg.trading, "U1234567");
    let gw = Gateway::start("127.0.0.1:0", g).await.unwrap();
    let clock = SimulatedClock::at_et(day("2010-03-15"), chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    let err = daemon::run(
        &desk.bus,
        &desk.cfg,
        &connector(&desk, &gw),
        &mut l,
        &desk.store.sectors,
        BTreeMap::new(),
        &DaemonOptions { date: day("2010-03-15"), ..options() },
        &Notifier::disabled(),
        &ae_shared::alerts::Alerter::log_only(),
        &clock,
        Arc::new(AtomicBool::new(false)),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("U1234567 is not a paper account"), "{err}");
    assert!(gw.snapshot().orders.is_empty(), "no order reached the broker");
    assert!(l.orders_on(day("2010-03-15")).unwrap().is_empty(), "nothing written ahead either");
    // Live mode configured but not confirmed at a terminal: still refused (the binary asks; a
    // test has no terminal).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .arg("--bus")
        .arg(desk.bus.url().to_string())
        .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", &path)
        .env("ALPHA_ENGINE__TRADING__IB__LIVE", "true")
        .args(["daemon", "--date", "2010-03-15", "--address", &gw.addr().to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no terminal to confirm"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_binary_runs_a_replayed_day_against_the_gateway() {
    let mut desk = Desk::new().await;
    let d: TradingDay = day("2010-03-15");
    desk.research(d).await;
    desk.plan(d).await;
    let path = copy_ledger(&desk, "cli-daemon.db");
    let l = Ledger::open(&path).unwrap();
    let mut g = ae_executor::gateway_day::config(&desk.store, d, &desk.cfg.trading, "DU0000001");
    g.cash = l.cash().unwrap();
    drop(l);
    let gw = Gateway::start("127.0.0.1:0", g).await.unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .arg("--bus")
        .arg(desk.bus.url().to_string())
        .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", &path)
        .env("RUST_LOG", "warn")
        .args(["daemon", "--date", "2010-03-15", "--poll-secs", "0", "--address", &gw.addr().to_string()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["completed"], true, "{stdout}");
    let snap = gw.snapshot();
    assert!(!snap.executions.is_empty(), "entries filled at the gateway: {stdout}");
    let c = check_on(&path, &snap, d);
    assert_eq!(c, (0, 0), "ledger fills and positions match the gateway");
    assert!(desk.bus.get(&ae_shared::bus::keys::daemon_snapshot(d, "latest")).await.unwrap().is_some());
}

pub(crate) fn check_on(ledger: &Path, gw: &GatewaySnapshot, d: TradingDay) -> (usize, usize) {
    let l = Ledger::open(ledger).unwrap();
    let lf: BTreeSet<String> = l.fills_on(d).unwrap().into_iter().map(|(f, _)| f.exec_id).collect();
    let bf: BTreeSet<String> = gw.executions.iter().cloned().collect();
    let lp: BTreeMap<Ticker, u32> = l.positions().unwrap().into_iter().map(|p| (p.ticker, p.shares)).collect();
    (lf.symmetric_difference(&bf).count(), usize::from(lp != gw.positions))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_broker_ib_plan_and_eod_read_the_account_from_the_gateway() {
    let desk = Desk::new().await;
    let d: TradingDay = day("2010-03-15");
    desk.research(d).await;
    let ledger = desk.dir.path().join("ib-reader.db");
    let mut g = ae_executor::gateway_day::config(&desk.store, d, &desk.cfg.trading, "DU0000001");
    g.cash = 250_000.0;
    let gw = Gateway::start("127.0.0.1:0", g).await.unwrap();
    let run = |args: Vec<String>| {
        let url = desk.bus.url().to_string();
        let ledger = ledger.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_executor"))
                .arg("--bus")
                .arg(url)
                .env("ALPHA_ENGINE__TRADING__BROKER", "ib")
                .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", &ledger)
                .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", ledger.with_extension("outbox"))
                .env("RUST_LOG", "warn")
                .args(args)
                .output()
                .await
                .unwrap()
        }
    };
    let addr = gw.addr().to_string();
    let plan = run(vec!["plan".into(), "--date".into(), d.to_string(), "--address".into(), addr.clone()]).await;
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let book: ae_shared::contracts::order_book::OrderBook =
        desk.bus.get_doc_required(&ae_shared::bus::keys::order_book(d)).await.unwrap().doc;
    assert!((book.nav.get() - 250_000.0).abs() < 1e-6, "the plan sized on the gateway's account: {}", book.nav.get());
    let eod = run(vec!["eod".into(), "--date".into(), d.to_string(), "--address".into(), addr]).await;
    assert!(eod.status.success(), "{}", String::from_utf8_lossy(&eod.stderr));
    let r: ae_shared::contracts::eod::EodReport =
        desk.bus.get_doc_required(&ae_shared::bus::keys::eod(d)).await.unwrap().doc;
    assert!((r.cash.get() - 250_000.0).abs() < 1e-6);
    // The paper session refuses an IB configuration rather than trading the wrong account.
    let s = run(vec!["session".into(), "--date".into(), d.to_string()]).await;
    assert!(!s.status.success() && String::from_utf8_lossy(&s.stderr).contains("paper broker only"));
}
