//! Property tests of the ledger over random sequences of broker events (executions of known and
//! unknown orders, duplicates, overfills, sells beyond the position, cancels, expiries, late
//! fills): filled never exceeds ordered, no position goes below zero, cash and positions follow
//! every execution exactly once, and replaying every execution again changes nothing.

use std::collections::BTreeMap;

use ae_executor::ledger::{Fill, Ledger};
use ae_rules::lifecycle::OrderEvent;
use ae_rules::order::{EntryGate, approve_entry, approve_sell};
use ae_rules::{OrderPrice, Reason};
use ae_shared::contracts::common::{Side, SignalAction};
use ae_shared::types::Ticker;
use chrono::TimeZone;
use proptest::prelude::*;

use crate::common::day;

#[derive(Debug, Clone)]
enum Op {
    /// A new order written ahead and submitted.
    Order { buy: bool, ticker: usize, shares: u32 },
    /// An execution of order `order` (modulo the orders so far; none yet: unknown), or of an
    /// order the ledger does not know.
    Exec { order: Option<usize>, shares: u32, price: u32, duplicate_of_last: bool },
    /// A lifecycle event from the broker.
    Event { order: usize, event: usize },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0usize..2, 1u32..200).prop_map(|(buy, ticker, shares)| Op::Order { buy, ticker, shares }),
        (proptest::option::weighted(0.85, 0usize..50), 1u32..250, 10u32..100, proptest::bool::weighted(0.15))
            .prop_map(|(order, shares, price, duplicate_of_last)| Op::Exec { order, shares, price, duplicate_of_last }),
        (0usize..50, 0usize..5).prop_map(|(order, event)| Op::Event { order, event }),
    ]
}

const TICKERS: [&str; 2] = ["AAA", "BBB"];
const EVENTS: [OrderEvent; 5] =
    [OrderEvent::Ack, OrderEvent::CancelRequest, OrderEvent::Cancel, OrderEvent::Expire, OrderEvent::Reject];

/// Everything the ledger holds, for comparing before and after a replay.
fn dump(l: &Ledger) -> String {
    let d = day("2010-03-15");
    format!(
        "{:?}\n{:?}\n{:?}\n{:.6}",
        l.orders_on(d).unwrap(),
        l.fills_on(d).unwrap(),
        l.positions().unwrap(),
        l.cash().unwrap()
    )
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let d = day("2010-03-15");
    let at = chrono::Utc.with_ymd_and_hms(2010, 3, 15, 15, 0, 0).unwrap();
    let mut l = Ledger::in_memory().unwrap();
    l.ensure_inception(d, 1e7).unwrap();
    let mut ids: Vec<(String, usize, Side)> = Vec::new();
    let mut fills: Vec<Fill> = Vec::new();
    let (mut cash, mut pos) = (1e7f64, BTreeMap::<usize, i64>::new());
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Order { buy, ticker, shares } => {
                let t = Ticker::new(TICKERS[ticker]).unwrap();
                let id = format!("2010-03-15:{}:{i}", TICKERS[ticker]);
                let o = if buy {
                    let gate = EntryGate {
                        today: d,
                        book_date: d,
                        kill_switch: false,
                        nav: 1e9,
                        cash_available: 1e9,
                        held: 0,
                        working_buys: 0,
                        max_order_usd: 1e9,
                        max_position: 1.0,
                    };
                    approve_entry(&id, &t, shares, 50.0, 50.0, Reason::Pullback, OrderPrice::Market, &gate).unwrap()
                } else {
                    approve_sell(&id, &t, shares, shares, 0, SignalAction::Exit, &[Reason::ResearchExit]).unwrap()
                };
                l.write_ahead(&o, d, at).unwrap();
                l.transition(&id, OrderEvent::Submit, Some(&format!("{}", 1000 + i)), None, at).unwrap();
                ids.push((id, ticker, if buy { Side::Buy } else { Side::Sell }));
            }
            Op::Exec { order, shares, price, duplicate_of_last } => {
                let f = match (duplicate_of_last, fills.last()) {
                    (true, Some(last)) => last.clone(),
                    _ => {
                        let (order_id, ticker, side) = match order.filter(|_| !ids.is_empty()) {
                            Some(k) => {
                                let (id, t, s) = &ids[k % ids.len()];
                                (id.clone(), *t, *s)
                            }
                            None => (String::new(), i % 2, if i % 3 == 0 { Side::Sell } else { Side::Buy }),
                        };
                        Fill {
                            exec_id: format!("x{i}"),
                            order_id,
                            date: d,
                            ticker: Ticker::new(TICKERS[ticker]).unwrap(),
                            side,
                            shares,
                            price: price as f64,
                            commission: 1.0,
                            at,
                        }
                    }
                };
                let booked = l.record_fill(&f, None).unwrap();
                let fresh = !fills.iter().any(|x| x.exec_id == f.exec_id);
                prop_assert_eq!(booked.new, fresh, "an execution is booked exactly once");
                if fresh {
                    let k = TICKERS.iter().position(|t| *t == f.ticker.as_str()).unwrap();
                    let p = pos.entry(k).or_default();
                    let n = f.shares as f64 * f.price;
                    match f.side {
                        Side::Buy => {
                            *p += f.shares as i64;
                            cash -= n + f.commission;
                        }
                        Side::Sell => {
                            *p = (*p - f.shares as i64).max(0);
                            cash += n - f.commission;
                        }
                    }
                    fills.push(f);
                }
            }
            Op::Event { order, event } => {
                if let Some((id, _, _)) = ids.get(order % ids.len().max(1)) {
                    l.apply(id, EVENTS[event], None, at).unwrap();
                }
            }
        }
        for o in l.orders_on(d).unwrap() {
            prop_assert!(o.filled_shares <= o.shares, "{} filled {} of {}", o.id, o.filled_shares, o.shares);
        }
        let held: BTreeMap<usize, i64> = l
            .positions()
            .unwrap()
            .into_iter()
            .map(|p| (TICKERS.iter().position(|t| *t == p.ticker.as_str()).unwrap(), p.shares as i64))
            .collect();
        let model: BTreeMap<usize, i64> = pos.iter().filter(|(_, n)| **n > 0).map(|(k, n)| (*k, *n)).collect();
        prop_assert_eq!(held, model, "positions follow the executions, never below zero");
        prop_assert!((l.cash().unwrap() - cash).abs() < 1e-6, "cash {} vs {}", l.cash().unwrap(), cash);
    }
    // Replaying the whole execution log again (a restart re-reading the broker) changes nothing.
    let before = dump(&l);
    for f in &fills {
        prop_assert!(!l.record_fill(f, None).unwrap().new);
    }
    prop_assert_eq!(dump(&l), before);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_execution_is_booked_once_within_the_order_and_never_below_zero(ops in proptest::collection::vec(arb_op(), 1..60)) {
        run(ops)?;
    }
}
