//! The ledger's bookkeeping and the paper broker's refusals, through their public API.

use std::sync::Arc;

use ae_executor::broker::{Broker, BrokerError};
use ae_executor::ledger::{Fill, Ledger, WriteAhead};
use ae_executor::oms::{self, Sent};
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_rules::costs::CostModel;
use ae_rules::lifecycle::{OrderEvent, OrderState};
use ae_rules::order::approve_sell;
use ae_rules::{OrderPrice, Reason};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::contracts::common::{Side, SignalAction};
use ae_shared::types::Ticker;

use crate::common::day;

fn clock() -> Arc<SimulatedClock> {
    Arc::new(SimulatedClock::at_et(day("2010-03-15"), chrono::NaiveTime::from_hms_opt(9, 31, 0).unwrap()))
}

fn settings() -> PaperSettings {
    PaperSettings { account_id: "DU123".into(), starting_cash: 100_000.0, costs: CostModel::new(10.0, 0.005, 1.0) }
}

fn tk(s: &str) -> Ticker {
    Ticker::new(s).unwrap()
}

/// A sector map that knows no symbol.
fn no_sectors() -> ae_shared::store::SectorMap {
    ae_shared::store::SectorMap {
        schema_version: 1,
        source: "t".into(),
        note: String::new(),
        symbols: Default::default(),
    }
}

/// A paper account and its ledger in one fresh file under `dir`, on [`clock`].
fn desk(dir: &tempfile::TempDir) -> (Arc<SimulatedClock>, PaperBroker, Ledger) {
    let c = clock();
    let path = dir.path().join("trades.db");
    (c.clone(), PaperBroker::open(&path, settings(), c).unwrap(), Ledger::open(&path).unwrap())
}

fn buy(id: &str, t: &str, shares: u32) -> ae_rules::ApprovedOrder {
    let gate = ae_rules::order::EntryGate {
        today: day("2010-03-15"),
        book_date: day("2010-03-15"),
        kill_switch: false,
        nav: 1e6,
        cash_available: 1e6,
        held: 0,
        working_buys: 0,
        max_order_usd: 1e6,
        max_position: 1.0,
    };
    ae_rules::order::approve_entry(id, &tk(t), shares, 50.0, 50.0, Reason::Pullback, OrderPrice::Market, &gate).unwrap()
}

#[tokio::test]
async fn fills_move_cash_positions_and_realized_pnl_and_the_books_agree_with_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (c, broker, mut ledger) = desk(&dir);
    ledger.ensure_inception(day("2010-03-15"), 100_000.0).unwrap();
    let d = day("2010-03-15");
    broker.begin_day(d);
    broker.set_quote(&tk("AAA"), 50.0).unwrap();
    let sectors = no_sectors();
    assert!(matches!(
        oms::send(&ledger, &broker, &buy("d:AAA:ENTER", "AAA", 100), d, c.as_ref()).await.unwrap(),
        Sent::Acknowledged { .. }
    ));
    assert_eq!(oms::sync_fills(&mut ledger, &broker, d, &sectors).await.unwrap(), 1);
    assert_eq!(
        oms::sync_fills(&mut ledger, &broker, d, &sectors).await.unwrap(),
        0,
        "a known execution is not booked twice"
    );
    let pos = ledger.positions().unwrap();
    assert_eq!((pos[0].shares, (pos[0].avg_cost * 1e4).round() / 1e4), (100, 50.05), "filled at the quote plus 10 bp");
    // Sell 40 at 55: realized (55 × 0.999 − 50.05) × 40 − $1.
    broker.set_quote(&tk("AAA"), 55.0).unwrap();
    let sell =
        approve_sell("d:AAA:REDUCE", &tk("AAA"), 40, 100, 0, SignalAction::Reduce, &[Reason::ProfitTake]).unwrap();
    oms::send(&ledger, &broker, &sell, d, c.as_ref()).await.unwrap();
    oms::sync_fills(&mut ledger, &broker, d, &sectors).await.unwrap();
    let fills = ledger.fills_on(d).unwrap();
    let realized = fills[1].1.unwrap();
    assert!((realized - ((55.0 * 0.999 - 50.05) * 40.0 - 1.0)).abs() < 1e-6, "{realized}");
    let pos = ledger.positions().unwrap();
    assert!(pos[0].profit_taken && pos[0].shares == 60);
    let acct = broker.account().await.unwrap();
    assert!((acct.cash - ledger.cash().unwrap()).abs() < 1e-6, "ledger cash follows the broker's");
    assert_eq!(acct.shares_of(&tk("AAA")), 60);
    assert_eq!(ledger.order("d:AAA:REDUCE").unwrap().unwrap().state, OrderState::Filled);
    // CSV backups carry every order.
    let csv = ledger.trades_csv().unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.lines().next().unwrap().starts_with("order_id,date,ticker,side,intent,shares"));
}

#[test]
fn the_ledger_books_every_execution_never_below_zero_never_beyond_the_order_and_the_audit_is_append_only() {
    let mut l = Ledger::in_memory().unwrap();
    l.ensure_inception(day("2010-03-15"), 10_000.0).unwrap();
    let c = clock();
    let d = day("2010-03-15");
    let o = buy("x:AAA:ENTER", "AAA", 10);
    assert_eq!(l.write_ahead(&o, d, c.now()).unwrap(), WriteAhead::New);
    assert!(matches!(l.write_ahead(&o, d, c.now()).unwrap(), WriteAhead::Existing(_)), "same id: never a second order");
    l.transition(o.id(), OrderEvent::Submit, Some("b1"), None, c.now()).unwrap();
    let fill = |id: &str, side, shares| Fill {
        exec_id: id.into(),
        order_id: o.id().into(),
        date: d,
        ticker: tk("AAA"),
        side,
        shares,
        price: 50.0,
        commission: 1.0,
        at: c.now(),
    };
    // An overfill is a fact: the order takes its 10, the extra share is an external order.
    let booked = l.record_fill(&fill("e1", Side::Buy, 11), None).unwrap();
    assert!(booked.new);
    assert!(booked.notes.iter().any(|(r, _)| *r == Reason::Overfill), "{booked:?}");
    let order = l.order(o.id()).unwrap().unwrap();
    assert_eq!((order.filled_shares, order.state), (10, OrderState::Filled), "filled never exceeds ordered");
    assert_eq!(l.positions().unwrap()[0].shares, 11, "the position is what the broker did");
    assert!(!l.record_fill(&fill("e1", Side::Buy, 11), None).unwrap().new, "a known execution is booked once");
    let s = approve_sell("x:AAA:EXIT", &tk("AAA"), 11, 11, 0, SignalAction::Exit, &[Reason::ResearchExit]).unwrap();
    l.write_ahead(&s, d, c.now()).unwrap();
    l.transition(s.id(), OrderEvent::Submit, None, None, c.now()).unwrap();
    let sell = Fill {
        exec_id: "e2".into(),
        order_id: s.id().into(),
        date: d,
        ticker: tk("AAA"),
        side: Side::Sell,
        shares: 11,
        price: 50.0,
        commission: 1.0,
        at: c.now(),
    };
    assert!(l.record_fill(&sell, None).unwrap().new);
    // A second sell of the same shares at the broker: booked, the position floors at zero, reported.
    let again = Fill { exec_id: "e3".into(), ..sell.clone() };
    let booked = l.record_fill(&again, None).unwrap();
    assert!(booked.notes.iter().any(|(r, _)| *r == Reason::SellBeyondLedger), "{booked:?}");
    assert!(l.positions().unwrap().is_empty(), "never below zero");
    // Terminal states do not move: a late cancel is a no-op.
    assert_eq!(l.transition(s.id(), OrderEvent::Cancel, None, None, c.now()).unwrap(), OrderState::Filled);
    assert!(l.transition(s.id(), OrderEvent::Submit, None, None, c.now()).is_err(), "never sent twice");
    // The audit cannot be rewritten.
    l.append_audit("cycle-1", c.now(), &[], &serde_json::json!({})).unwrap();
    assert!(l.try_rewrite_audit().is_ok(), "no rows yet: nothing to rewrite");
    let dec = ae_rules::plan::Decision {
        ticker: tk("AAA"),
        kind: ae_rules::plan::DecisionKind::Exit,
        shares: 10,
        stop: None,
        reasons: vec![Reason::ResearchExit],
        score: None,
        conviction: None,
        confidence: None,
        mu_hat: None,
        sigma_hat: None,
        quality_score: 1.0,
        checks: vec![],
        sizing: None,
    };
    l.append_audit("cycle-1", c.now(), &[dec], &serde_json::json!({})).unwrap();
    let err = l.try_rewrite_audit().unwrap_err().to_string();
    assert!(err.contains("append-only"), "{err}");
    assert_eq!(l.audit_of("cycle-1").unwrap().len(), 1);
}

#[test]
fn migrations_run_once_and_a_newer_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    assert_eq!(Ledger::open(&path).unwrap().schema_version().unwrap(), 3);
    assert_eq!(Ledger::open(&path).unwrap().schema_version().unwrap(), 3, "reopening does not migrate again");
    rusqlite_bump(&path);
    let err = Ledger::open(&path).err().unwrap().to_string();
    assert!(err.contains("newer than this build"), "{err}");
}

fn rusqlite_bump(path: &std::path::Path) {
    // A future build's ledger: schema version 99.
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
}

#[tokio::test]
async fn the_paper_broker_refuses_what_a_broker_refuses() {
    let c = clock();
    let b = PaperBroker::in_memory(settings(), c.clone()).unwrap();
    let d = day("2010-03-15");
    b.begin_day(d);
    let no_quote = b.place(&buy("a", "AAA", 10), None).await.unwrap_err();
    assert!(matches!(&no_quote, BrokerError::Rejected { reason, .. } if reason.contains("no quote")), "{no_quote}");
    b.set_quote(&tk("AAA"), 50.0).unwrap();
    let too_big = b.place(&buy("b", "AAA", 5000), None).await.unwrap_err();
    assert!(
        matches!(&too_big, BrokerError::Rejected { reason, .. } if reason.contains("insufficient cash")),
        "{too_big}"
    );
    b.place(&buy("c", "AAA", 10), None).await.unwrap();
    let dup = b.place(&buy("c", "AAA", 10), None).await.unwrap_err();
    assert!(matches!(&dup, BrokerError::Rejected { reason, .. } if reason.contains("duplicate")), "{dup}");
    let short = approve_sell("s", &tk("AAA"), 20, 20, 0, SignalAction::Exit, &[]).unwrap();
    let e = b.place(&short, None).await.unwrap_err();
    assert!(matches!(&e, BrokerError::Rejected { reason, .. } if reason.contains("no short selling")), "{e}");
    // Yesterday's quote never fills today.
    b.begin_day(day("2010-03-16"));
    let stale =
        b.place(&approve_sell("t", &tk("AAA"), 10, 10, 0, SignalAction::Exit, &[]).unwrap(), None).await.unwrap_err();
    assert!(matches!(&stale, BrokerError::Rejected { reason, .. } if reason.contains("no quote")), "{stale}");
    assert_eq!(b.account().await.unwrap().shares_of(&tk("AAA")), 10);
}

/// A cash dividend by the one rule, in the ledger, the paper broker and the TWS-protocol gateway's
/// book alike: accrued on the shares held at the ex-date's open (none for a name bought later),
/// a receivable that counts in NAV until the pay date, then cash — once, however often the day
/// restarts.
#[tokio::test]
async fn a_dividend_reaches_cash_on_its_pay_date_in_the_ledger_the_paper_broker_and_the_gateway_alike() {
    use ae_rules::dividends::DividendEvent;
    use ae_tws::book::Book;
    let dir = tempfile::tempdir().unwrap();
    let (c, broker, mut ledger) = desk(&dir);
    ledger.ensure_inception(day("2010-03-15"), 100_000.0).unwrap();
    let d = day("2010-03-15");
    broker.begin_day(d);
    broker.set_quote(&tk("AAA"), 50.0).unwrap();
    let sectors = no_sectors();
    oms::send(&ledger, &broker, &buy("d:AAA:ENTER", "AAA", 100), d, c.as_ref()).await.unwrap();
    oms::sync_fills(&mut ledger, &broker, d, &sectors).await.unwrap();
    let cash0 = ledger.cash().unwrap();
    let mut book = Book::new("DU123", cash0, CostModel::new(10.0, 0.005, 1.0), c.now());
    book.positions.insert(tk("AAA"), (100, 50.05));

    let events = [
        DividendEvent { ticker: tk("AAA"), ex_date: ymd("2010-03-16"), pay_date: ymd("2010-03-18"), per_share: 0.25 },
        DividendEvent { ticker: tk("BBB"), ex_date: ymd("2010-03-16"), pay_date: ymd("2010-03-18"), per_share: 9.0 },
    ];
    fn ymd(s: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    for (today, receivable, cash) in [
        ("2010-03-16", 25.0, cash0), // ex-date: 100 × 0.25 owed, not yet cash
        ("2010-03-16", 25.0, cash0), // the day restarted: nothing twice
        ("2010-03-17", 25.0, cash0),
        ("2010-03-18", 0.0, cash0 + 25.0), // pay date
        ("2010-03-19", 0.0, cash0 + 25.0),
    ] {
        let t = day(today);
        ledger.accrue_dividends(t, &events).unwrap();
        ledger.pay_dividends(t).unwrap();
        broker.begin_day(t);
        broker.settle_dividends(t, &events).unwrap();
        book.settle_dividends(t.date(), &events);
        let acct = broker.account().await.unwrap();
        for (who, got_cash, got_receivable) in [
            ("ledger", ledger.cash().unwrap(), ledger.dividend_receivable().unwrap()),
            ("paper broker", acct.cash, acct.accrued_dividends),
            ("gateway", book.cash, book.accrued_dividend()),
        ] {
            assert!((got_cash - cash).abs() < 1e-9, "{who} {today}: cash {got_cash} vs {cash}");
            assert!((got_receivable - receivable).abs() < 1e-9, "{who} {today}: receivable {got_receivable}");
        }
        // The receivable is part of the account's value.
        assert!((acct.net_liquidation.unwrap() - (acct.cash + receivable + 100.0 * 50.0)).abs() < 1e-6);
    }
    let rows = ledger.dividends_on(day("2010-03-18")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].shares, rows[0].amount, rows[0].paid_on), (100, 25.0, Some(ymd("2010-03-18"))));
}

#[tokio::test]
async fn quotes_set_together_fill_orders_and_closes_raise_only_held_high_water_marks() {
    let dir = tempfile::tempdir().unwrap();
    let (c, broker, mut ledger) = desk(&dir);
    let d = day("2010-03-15");
    ledger.ensure_inception(d, 100_000.0).unwrap();
    assert!(broker.set_quotes([(&tk("AAA"), 50.0)]).is_err(), "no quote before a session day begins");
    broker.begin_day(d);
    broker.set_quotes([(&tk("AAA"), 50.0), (&tk("BBB"), 20.0)]).unwrap();
    assert_eq!((broker.quote(&tk("AAA")), broker.quote(&tk("BBB"))), (Some(50.0), Some(20.0)));
    let sectors = no_sectors();
    oms::send(&ledger, &broker, &buy("d:AAA:ENTER", "AAA", 100), d, c.as_ref()).await.unwrap();
    assert_eq!(oms::sync_fills(&mut ledger, &broker, d, &sectors).await.unwrap(), 1, "filled at the quote set");
    let high =
        |l: &Ledger| l.positions().unwrap().iter().map(|p| (p.ticker.to_string(), p.high_water)).collect::<Vec<_>>();
    let entry = high(&ledger)[0].1;
    // A lower close leaves the mark; a name not held gets none; a close that is not a number is
    // skipped; a higher close raises it.
    ledger.mark_high_waters([(&tk("AAA"), entry - 1.0), (&tk("BBB"), 99.0)]).unwrap();
    assert_eq!(high(&ledger), vec![("AAA".to_string(), entry)]);
    ledger.mark_high_waters([(&tk("AAA"), f64::NAN), (&tk("AAA"), 57.5)]).unwrap();
    assert_eq!(high(&ledger), vec![("AAA".to_string(), 57.5)]);
}

/// The paper broker books a fill (order, position, cash, execution) and a dividend payment
/// (cash, the accrual marked paid) each in one commit: a write that fails half way (here a
/// trigger refusing the last statement, as a full disk would) leaves the account as it was, and
/// the same call succeeds afterwards without booking anything twice.
#[tokio::test]
async fn a_paper_fill_or_dividend_payment_that_fails_half_way_changes_nothing() {
    use ae_rules::dividends::DividendEvent;
    let dir = tempfile::tempdir().unwrap();
    let (_, broker, _) = desk(&dir);
    let d = day("2010-03-15");
    broker.begin_day(d);
    broker.set_quote(&tk("AAA"), 50.0).unwrap();
    let side = rusqlite::Connection::open(dir.path().join("trades.db")).unwrap();
    let rows =
        |table: &str| -> i64 { side.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap() };
    let before = broker.account().await.unwrap();

    side.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON paper_executions BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    assert!(broker.place(&buy("a", "AAA", 100), None).await.is_err(), "the execution could not be written");
    let after = broker.account().await.unwrap();
    assert_eq!((after.cash, after.shares_of(&tk("AAA"))), (before.cash, 0), "no cash spent, no shares");
    assert_eq!((rows("paper_orders"), rows("paper_executions")), (0, 0), "no order left working");
    side.execute_batch("DROP TRIGGER refuse;").unwrap();
    broker.place(&buy("a", "AAA", 100), None).await.unwrap();
    assert_eq!(broker.account().await.unwrap().shares_of(&tk("AAA")), 100);
    assert_eq!((rows("paper_orders"), rows("paper_executions")), (1, 1));

    let ymd = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let events =
        [DividendEvent { ticker: tk("AAA"), ex_date: ymd("2010-03-16"), pay_date: ymd("2010-03-17"), per_share: 0.5 }];
    broker.settle_dividends(day("2010-03-16"), &events).unwrap();
    let cash = broker.account().await.unwrap().cash;
    side.execute_batch(
        "CREATE TRIGGER refuse BEFORE UPDATE OF paid ON paper_dividends BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    assert!(broker.settle_dividends(day("2010-03-17"), &events).is_err());
    assert_eq!(broker.account().await.unwrap().cash, cash, "not paid while not marked paid");
    side.execute_batch("DROP TRIGGER refuse;").unwrap();
    for _ in 0..2 {
        broker.settle_dividends(day("2010-03-17"), &events).unwrap();
        assert_eq!(broker.account().await.unwrap().cash, cash + 50.0, "paid once");
    }
}
