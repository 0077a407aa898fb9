//! Money safety on a bad day: the daemon against the TWS-protocol gateway (real `ibapi` client on
//! loopback) through the races and surprises a real broker produces. One named test per failure
//! the executor used to have; every one ends with the day completed, exits running and the ledger
//! equal to the broker.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ae_executor::daemon::DaemonReport;
use ae_executor::ledger::{Ledger, LedgerLock, RiskEventRow};
use ae_rules::lifecycle::OrderState;
use ae_shared::bus::keys;
use ae_shared::contracts::common::Side;
use ae_shared::contracts::kill_switch::{KillMode, KillSwitch, SetBy};
use ae_shared::types::Ticker;
use ae_tws::book::ErrorFault;
use ae_tws::gateway::{Gateway, GatewaySnapshot};

use crate::common::{Desk, day};
use crate::daemon::{D, check, clear_snapshots, copy_ledger, desk_before_d, gateway_for, orders, run_daemon};

/// A desk before D, its ledger copied as the base of every scenario, and the uninterrupted day.
struct Bed {
    desk: Desk,
    base: PathBuf,
    clean: BTreeMap<String, (OrderState, u32)>,
}

async fn bed() -> Bed {
    let desk = desk_before_d().await;
    let base = copy_ledger(&desk, "base.db");
    let path = fresh(&desk, &base, "clean");
    let gw = gateway_for(&desk, &path, "DU0000001").await;
    let r = run_daemon(&desk, &gw, &path).await.unwrap();
    assert!(r.completed);
    let clean = states(&path);
    println!("clean day: {clean:?}");
    Bed { desk, base, clean }
}

fn fresh(desk: &Desk, base: &Path, name: &str) -> PathBuf {
    let p = desk.dir.path().join(format!("{name}.db"));
    std::fs::copy(base, &p).unwrap();
    p
}

fn states(ledger: &Path) -> BTreeMap<String, (OrderState, u32)> {
    Ledger::open(ledger)
        .unwrap()
        .orders_on(day(D))
        .unwrap()
        .into_iter()
        .map(|o| (o.id, (o.state, o.filled_shares)))
        .collect()
}

fn events(ledger: &Path) -> Vec<RiskEventRow> {
    Ledger::open(ledger).unwrap().risk_events_on(day(D)).unwrap()
}

fn has_event(ledger: &Path, rule: &str) -> bool {
    events(ledger).iter().any(|e| e.rule == rule)
}

/// The ledger equals the broker: no order twice, no fill lost or invented, the same positions.
fn assert_books_agree(ledger: &Path, snap: &GatewaySnapshot) {
    let c = check(ledger, snap);
    assert_eq!(
        (c.duplicates, c.lost_fills, c.phantom_fills, c.position_breaks),
        (0, 0, 0, 0),
        "duplicates, lost fills, phantom fills, position breaks"
    );
}

/// Runs the daemon while `drive` acts on the gateway (holding and releasing its replay).
async fn run_with<F, Fut>(bed: &Bed, path: &Path, gw: &Gateway, drive: F) -> DaemonReport
where
    F: FnOnce(Gateway) -> Fut,
    Fut: Future<Output = ()>,
{
    clear_snapshots(&bed.desk).await;
    let (r, ()) = tokio::join!(run_daemon(&bed.desk, gw, path), drive(gw.clone()));
    let r = r.unwrap();
    assert!(r.completed, "the day always completes: {r:?}");
    r
}

/// Holds the replay before each moment from 2 on until `ready` says so; returns the moment (the
/// replay stays held) or `None` when the day ended first.
async fn hold_until(gw: &Gateway, ready: impl Fn(&GatewaySnapshot) -> bool) -> Option<usize> {
    for k in 2..=5 {
        gw.faults(|f, _| f.hold_before_moment = Some(k));
        tokio::select! {
            () = gw.wait_held() => {}
            () = tokio::time::sleep(Duration::from_secs(20)) => return None,
        }
        if ready(&gw.snapshot()) {
            return Some(k);
        }
        gw.release();
    }
    None
}

/// A held name with a price on D, and its shares.
fn a_held_name(path: &Path, gw: &GatewaySnapshot) -> (Ticker, u32) {
    let l = Ledger::open(path).unwrap();
    let p = l.positions().unwrap().into_iter().find(|p| gw.positions.contains_key(&p.ticker)).expect("a held name");
    (p.ticker, p.shares)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_after_a_cancel_request_is_booked_and_the_day_goes_on() {
    let bed = bed().await;
    for drop in [false, true] {
        let path = fresh(&bed.desk, &bed.base, &format!("cancel-race-{drop}"));
        let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
        gw.faults(|_, o| {
            o.partial_fraction = Some(0.5);
            o.partial_rest_delay = 3;
            o.fill_on_cancel = true;
        });
        let bus = bed.desk.bus.clone();
        let r = run_with(&bed, &path, &gw, |gw| async move {
            // A buy half filled and still working: set the kill switch, which cancels it; the
            // rest fills before the cancel lands.
            let k = hold_until(&gw, |s| {
                s.orders.iter().any(|(r, st, f)| r.ends_with(":ENTER") && st == "Submitted" && *f > 0)
            })
            .await;
            assert!(k.is_some(), "a partly filled entry was working at some moment");
            let doc =
                KillSwitch::entries("test: stop entries", bed_now(), SetBy::Operator { name: "test".into() }, "0");
            ae_executor::kill_switch::set(&bus, &doc).await.unwrap();
            if drop {
                gw.faults(|f, _| f.drop_after_messages = Some(4));
            }
            gw.release();
        })
        .await;
        ae_executor::kill_switch::clear(&bed.desk.bus, "test", "scenario over", bed_now()).await.unwrap();
        let snap = gw.snapshot();
        assert_books_agree(&path, &snap);
        let l = Ledger::open(&path).unwrap();
        let raced: Vec<_> = l
            .orders_on(day(D))
            .unwrap()
            .into_iter()
            .filter(|o| o.side == Side::Buy && o.detail.as_deref().is_some_and(|d| d.contains("KILL_SWITCH_CANCEL")))
            .collect();
        assert!(!raced.is_empty(), "the working entry was asked to cancel: {r:?}");
        for o in &raced {
            assert_eq!((o.state, o.filled_shares), (OrderState::Filled, o.shares), "{}: the fill won the race", o.id);
        }
        assert!(has_event(&path, "KILL_SWITCH_CHANGED"));
        assert!(!r.kill_switch_changes.is_empty());
        println!("cancel race (drop {drop}): {} entries filled after their cancel request; {r:?}", raced.len());
    }
}

fn bed_now() -> chrono::DateTime<chrono::Utc> {
    ae_shared::calendar::et_instant(day(D).date(), chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_reported_after_the_close_expired_its_order_is_booked() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "late-fill");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    gw.faults(|_, o| {
        o.partial_fraction = Some(0.5);
        o.partial_rest_delay = 10;
        o.late_fill_at_close = true;
    });
    let r = run_with(&bed, &path, &gw, |_| async {}).await;
    assert_books_agree(&path, &gw.snapshot());
    assert!(has_event(&path, "LATE_FILL"), "{:?}", events(&path));
    let late: Vec<_> = states(&path).into_iter().filter(|(_, (s, _))| *s == OrderState::Filled).collect();
    assert!(!late.is_empty(), "{r:?}");
    println!("late fill at the close: booked on the expired order; {} filled", late.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_execution_is_booked_as_an_external_order() {
    let bed = bed().await;
    for drop in [false, true] {
        let path = fresh(&bed.desk, &bed.base, &format!("external-{drop}"));
        let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
        let (t, _) = a_held_name(&path, &gw.snapshot());
        let r = run_with(&bed, &path, &gw, |gw| async move {
            hold_until(&gw, |_| true).await.unwrap();
            gw.external_fill(7, &t, Side::Buy, 10);
            if drop {
                gw.faults(|f, _| f.drop_after_messages = Some(3));
            }
            gw.release();
        })
        .await;
        assert_books_agree(&path, &gw.snapshot());
        let l = Ledger::open(&path).unwrap();
        assert!(l.orders_on(day(D)).unwrap().iter().any(|o| o.is_external()), "{r:?}");
        assert!(has_event(&path, "EXTERNAL_EXECUTION"));
        println!("another client's fill (drop {drop}): booked as external; connections {}", r.connections);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_the_ledger_did_not_cause_is_adopted_and_a_short_is_reported() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "moved");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    let snap0 = gw.snapshot();
    let l = Ledger::open(&path).unwrap();
    let mut held: Vec<_> =
        l.positions().unwrap().into_iter().filter(|p| snap0.positions.contains_key(&p.ticker)).collect();
    assert!(held.len() >= 2, "two held names");
    let (a, b) = (held.remove(0), held.remove(0));
    let (ta, tb) = (a.ticker.clone(), b.ticker.clone());
    let r = run_with(&bed, &path, &gw, |gw| async move {
        hold_until(&gw, |_| true).await.unwrap();
        gw.adjust_position(&ta, 5); // a transfer in
        gw.adjust_position(&tb, -(b.shares as i64) - 3); // out beyond the position: short
        gw.faults(|f, _| f.drop_after_messages = Some(3));
        gw.release();
    })
    .await;
    let snap = gw.snapshot();
    assert_books_agree(&path, &snap);
    assert_eq!(snap.shorts.get(&b.ticker), Some(&3));
    assert!(has_event(&path, "POSITION_BREAK") && has_event(&path, "SHORT_POSITION"), "{:?}", events(&path));
    let l = Ledger::open(&path).unwrap();
    assert!(l.positions().unwrap().iter().all(|p| p.ticker != b.ticker), "the ledger holds 0 of the shorted name");
    assert!(l.position_adjustments().unwrap().len() >= 2);
    println!("positions moved outside: adopted and reported; {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_broker_error_is_retried_under_a_fresh_id_and_the_other_orders_go_on() {
    let bed = bed().await;
    // Once: the order is tried again at the next moment and goes through.
    let path = fresh(&bed.desk, &bed.base, "error-once");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    gw.faults(|_, o| o.error_orders = Some(ErrorFault { code: 10999, times: 1, ticker: None }));
    let r = run_with(&bed, &path, &gw, |_| async {}).await;
    assert_books_agree(&path, &gw.snapshot());
    let l = Ledger::open(&path).unwrap();
    let retried: Vec<_> = l.orders_on(day(D)).unwrap().into_iter().filter(|o| o.attempts == 1).collect();
    assert_eq!(retried.len(), 1, "{r:?}");
    assert_ne!(retried[0].state, OrderState::Rejected, "{:?}", retried[0]);
    assert_eq!(gw.snapshot().duplicate_ids_refused, 0, "the retry used a fresh id");
    // Every time: given up as rejected after the bounded attempts; every other order as in the clean day.
    let path = fresh(&bed.desk, &bed.base, "error-always");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    gw.faults(|_, o| o.error_orders = Some(ErrorFault { code: 10999, times: 99, ticker: None }));
    let r = run_with(&bed, &path, &gw, |_| async {}).await;
    assert_books_agree(&path, &gw.snapshot());
    let got = states(&path);
    let failed: Vec<_> =
        Ledger::open(&path).unwrap().orders_on(day(D)).unwrap().into_iter().filter(|o| o.attempts > 0).collect();
    assert!(!failed.is_empty(), "{r:?}");
    let bad = &failed[0].ticker;
    for o in &failed {
        assert_eq!(&o.ticker, bad);
        assert!(o.state == OrderState::Rejected || o.attempts < ae_executor::oms::MAX_ORDER_ATTEMPTS, "{o:?}");
    }
    for (id, want) in &bed.clean {
        if !id.contains(&format!(":{bad}:")) {
            assert_eq!(got.get(id), Some(want), "{id}: the other orders went on as in the clean day");
        }
    }
    println!(
        "an unknown broker error on {bad}: {} attempts, then {:?}; the others as in the clean day",
        failed[0].attempts, failed[0].state
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_id_is_never_used_twice_after_a_reconnect() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "lost");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    gw.faults(|f, _| f.lose_next_order = true);
    let r = run_with(&bed, &path, &gw, |_| async {}).await;
    let snap = gw.snapshot();
    assert_books_agree(&path, &snap);
    assert_eq!(snap.duplicate_ids_refused, 0, "no id reused after the reconnect: {r:?}");
    assert_eq!(states(&path), bed.clean, "every order ends as in the uninterrupted day");
    let floor = r.reconciled.iter().filter_map(|x| x.id_floor).max();
    assert!(floor.is_some(), "the id floor was raised above the recorded ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_is_read_at_every_step_and_flatten_sells_every_position() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "flatten");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    let bus = bed.desk.bus.clone();
    let r = run_with(&bed, &path, &gw, |gw| async move {
        hold_until(&gw, |_| true).await.unwrap();
        let doc = KillSwitch::new(
            KillMode::Flatten,
            "test: flatten",
            bed_now(),
            SetBy::Operator { name: "t".into() },
            true,
            "0",
        );
        ae_executor::kill_switch::set(&bus, &doc).await.unwrap();
        gw.release();
    })
    .await;
    ae_executor::kill_switch::clear(&bed.desk.bus, "test", "scenario over", bed_now()).await.unwrap();
    let snap = gw.snapshot();
    assert_books_agree(&path, &snap);
    let l = Ledger::open(&path).unwrap();
    let flat: Vec<_> =
        l.orders_on(day(D)).unwrap().into_iter().filter(|o| o.id.ends_with(":KILL_SWITCH_FLATTEN")).collect();
    assert!(!flat.is_empty(), "{r:?}");
    let priced: Vec<_> =
        snap.positions.keys().filter(|t| ae_executor::session::day_bar(&bed.desk.store, t, day(D)).is_some()).collect();
    assert!(priced.is_empty(), "every position with a price today was sold: {priced:?}");
    assert!(flat.iter().all(|o| o.side == Side::Sell));
    println!("flatten: {} positions sold at market after the kill switch was set mid-day", flat.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_earlier_days_are_settled_and_no_longer_block_exits() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "stale");
    {
        // A sell of every share of a held name, recorded on the 12th and never settled.
        let l = Ledger::open(&path).unwrap();
        let p = l.positions().unwrap().remove(0);
        let o = ae_rules::order::approve_sell(
            &format!("2010-03-12:{}:EXIT", p.ticker),
            &p.ticker,
            p.shares,
            p.shares,
            0,
            ae_shared::contracts::common::SignalAction::Exit,
            &[ae_rules::Reason::ResearchExit],
        )
        .unwrap();
        l.write_ahead(&o, day("2010-03-12"), bed_now()).unwrap();
        l.transition(o.id(), ae_rules::lifecycle::OrderEvent::Submit, Some("999999"), None, bed_now()).unwrap();
        assert_eq!(l.working_sells(&p.ticker).unwrap(), p.shares, "it blocks every exit of the name");
    }
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    let r = run_with(&bed, &path, &gw, |_| async {}).await;
    assert_eq!(r.settled.len(), 1, "{r:?}");
    assert!(has_event(&path, "STALE_ORDER"));
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.order(&r.settled[0]).unwrap().unwrap().state, OrderState::Expired);
    assert!(l.working_before(day(D)).unwrap().is_empty());
    assert_books_agree(&path, &gw.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_never_trade_one_ledger_or_one_account() {
    let bed = bed().await;
    let path = fresh(&bed.desk, &bed.base, "locked");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    let lock = LedgerLock::acquire(&path, "another daemon").unwrap();
    let err = run_daemon(&bed.desk, &gw, &path).await.unwrap_err().to_string();
    assert!(err.contains("held by another daemon") && err.contains("another daemon"), "{err}");
    assert!(gw.snapshot().orders.is_empty(), "nothing sent");
    drop(lock);
    // The account traded today by a daemon with another ledger: this one refuses to start.
    let first = fresh(&bed.desk, &bed.base, "first");
    let gw = gateway_for(&bed.desk, &first, "DU0000001").await;
    clear_snapshots(&bed.desk).await;
    run_daemon(&bed.desk, &gw, &first).await.unwrap();
    let second = fresh(&bed.desk, &bed.base, "second");
    clear_snapshots(&bed.desk).await;
    let err = run_daemon(&bed.desk, &gw, &second).await.unwrap_err().to_string();
    assert!(err.contains("another daemon with another ledger"), "{err}");
    assert!(orders(&second).is_empty(), "the second ledger sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_order_book_the_daemon_still_protects_what_is_held() {
    let bed = bed().await;
    let key = keys::order_book(day(D));
    let book = bed.desk.bus.get(&key).await.unwrap().unwrap();
    bed.desk.bus.delete(&key).await.unwrap();
    let path = fresh(&bed.desk, &bed.base, "no-book");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    let mut opts = crate::daemon::options();
    opts.book_wait = Duration::from_millis(200);
    clear_snapshots(&bed.desk).await;
    let r = crate::daemon::run_daemon_with(&bed.desk, &gw, &path, opts).await.unwrap();
    bed.desk.bus.put(&key, book.bytes.to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    assert!(r.completed && r.protective.is_some(), "{r:?}");
    assert!(has_event(&path, "NO_ORDER_BOOK"));
    let sent = orders(&path);
    assert!(sent.iter().all(|(_, side, _)| side == "Sell"), "no entries without a plan: {sent:?}");
    // The same intraday exits as the planned day fire on the protective book's stops.
    let exits = |m: &BTreeMap<String, (OrderState, u32)>| -> Vec<String> {
        m.keys().filter(|id| id.contains(":INTRADAY_")).cloned().collect()
    };
    assert_eq!(exits(&states(&path)), exits(&bed.clean), "exits still run");
    assert_books_agree(&path, &gw.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_snapshot_or_an_unreadable_entry_never_stops_the_day() {
    let bed = bed().await;
    // A snapshot that does not parse: the day restarts from the ledger.
    let path = fresh(&bed.desk, &bed.base, "corrupt-snap");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    clear_snapshots(&bed.desk).await;
    bed.desk
        .bus
        .put(&keys::daemon_snapshot(day(D), "latest"), b"{ not json".to_vec(), ae_shared::bus::PutMode::Overwrite)
        .await
        .unwrap();
    let r = crate::daemon::run_daemon(&bed.desk, &gw, &path).await.unwrap();
    assert!(r.completed);
    assert!(has_event(&path, "SNAPSHOT_UNREADABLE"));
    assert_eq!(states(&path), bed.clean);
    // An entry whose trigger time is 29:00: that entry is dropped (or the book refused and the
    // day protected), never the day.
    let key = keys::order_book(day(D));
    let original = bed.desk.bus.get(&key).await.unwrap().unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&original.bytes).unwrap();
    let entries = doc["entries"].as_array_mut().unwrap();
    assert!(!entries.is_empty());
    entries[0]["triggers"]["expiry_time"] = serde_json::json!("29:00");
    let bad_id = entries[0]["id"].as_str().unwrap().to_string();
    bed.desk.bus.put(&key, serde_json::to_vec(&doc).unwrap(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let path = fresh(&bed.desk, &bed.base, "bad-trigger");
    let gw = gateway_for(&bed.desk, &path, "DU0000001").await;
    clear_snapshots(&bed.desk).await;
    let mut opts = crate::daemon::options();
    opts.book_wait = Duration::from_millis(200);
    let r = crate::daemon::run_daemon_with(&bed.desk, &gw, &path, opts).await;
    bed.desk.bus.put(&key, original.bytes.to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let r = r.unwrap();
    assert!(r.completed, "{r:?}");
    assert!(has_event(&path, "BAD_ENTRY") || has_event(&path, "NO_ORDER_BOOK"), "{:?}", events(&path));
    assert!(!states(&path).contains_key(&bad_id), "the unreadable entry was never sent");
    assert_books_agree(&path, &gw.snapshot());
}
