//! Regression tests named after known failures of systems like this one.

use ae_executor::oms::{self, Sent};
use ae_rules::Reason;
use ae_rules::order::approve_sell;
use ae_rules::plan::DecisionKind;
use ae_shared::bus::{PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::contracts::common::{Direction, SignalAction};
use ae_shared::contracts::predictions::{Prediction, Predictions};
use ae_shared::contracts::signals::Signals;
use ae_shared::contracts::{self, Job, Lineage};
use ae_shared::types::{Confidence, Probability};

use crate::common::{Desk, day};

/// Signals for `d` from research, returned parsed.
async fn signals(desk: &Desk, d: ae_shared::TradingDay) -> Signals {
    desk.research(d).await;
    desk.bus.get_doc_required::<Signals>(&keys::signals(d)).await.unwrap().doc
}

#[tokio::test]
async fn a_buy_with_no_score_is_read_as_hold_and_never_entered() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    let s = signals(&desk, d).await;
    let victim =
        s.universe.iter().find(|e| e.signal == SignalAction::Enter).expect("research enters something").ticker.clone();
    let mut v: serde_json::Value = serde_json::to_value(&s).unwrap();
    for e in v["universe"].as_array_mut().unwrap() {
        if e["ticker"] == victim.as_str() {
            e["score"] = serde_json::Value::Null;
            e["rating"] = "BUY".into();
        }
    }
    // Strictly invalid (the validator names the entry) ...
    let bytes = serde_json::to_vec(&v).unwrap();
    let problems = contracts::parse::<Signals>(&bytes).unwrap_err();
    assert!(problems.to_string().contains("score"), "{problems}");
    desk.bus.put(&keys::signals(d), bytes, PutMode::Overwrite).await.unwrap();
    // ... read leniently by the planner: HOLD, with the reason logged, and never entered.
    let (book, plan, report) = desk.plan(d).await;
    assert!(book.entries.iter().all(|e| e.ticker != victim), "{victim} entered without a score");
    assert!(
        report.notes.iter().any(|n| n.contains(&format!("{victim}: BUY without a score read as HOLD"))),
        "{:?}",
        report.notes
    );
    assert!(plan.decisions.iter().all(|x| x.ticker != victim || x.kind != DecisionKind::Enter));
}

#[tokio::test]
async fn a_retry_loop_never_sells_more_than_is_held() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    desk.plan(d).await;
    desk.session(d).await.unwrap();
    let held = desk.ledger.positions().unwrap();
    let p = held.first().expect("the first session bought something").clone();
    let next = d.next();
    desk.broker.begin_day(next);
    desk.broker.set_quote(&p.ticker, p.avg_cost).unwrap();
    // A crash after the write-ahead record: the sell is recorded, never acknowledged.
    let first = approve_sell(
        &format!("{next}:{}:EXIT", p.ticker),
        &p.ticker,
        p.shares,
        p.shares,
        0,
        SignalAction::Exit,
        &[Reason::ResearchExit],
    )
    .unwrap();
    desk.ledger.write_ahead(&first, next, desk.clock.now()).unwrap();
    // The retry with the same id is recognised and not sent again.
    assert!(matches!(
        oms::send(&desk.ledger, &desk.broker, &first, next, desk.clock.as_ref()).await.unwrap(),
        Sent::AlreadyKnown { .. }
    ));
    // A retry under another id sees the working sell: nothing left to sell.
    let working = desk.ledger.working_sells(&p.ticker).unwrap();
    assert_eq!(working, p.shares);
    let again = approve_sell(
        &format!("{next}:{}:INTRADAY_TRAIL", p.ticker),
        &p.ticker,
        p.shares,
        p.shares,
        working,
        SignalAction::Exit,
        &[Reason::IntradayTrail],
    );
    assert_eq!(again.unwrap_err().reason, Reason::NothingToSell);
    // And a sell that slipped past every guard is refused by the broker, never a short.
    let rogue = approve_sell("rogue", &p.ticker, p.shares + 1, p.shares + 1, 0, SignalAction::Exit, &[]).unwrap();
    let sent = oms::send(&desk.ledger, &desk.broker, &rogue, next, desk.clock.as_ref()).await.unwrap();
    assert!(matches!(&sent, Sent::Rejected { reason } if reason.contains("no short")), "{sent:?}");
    use ae_executor::broker::Broker;
    assert_eq!(desk.broker.account().await.unwrap().shares_of(&p.ticker), p.shares);
}

#[tokio::test]
async fn an_order_book_dated_for_another_day_is_never_executed() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    desk.plan(d).await;
    let stale = desk.bus.get(&keys::order_book(d)).await.unwrap().unwrap();
    let tomorrow = d.next();
    desk.bus.put(&keys::order_book(tomorrow), stale.bytes.clone(), PutMode::Overwrite).await.unwrap();
    let err = desk.session(tomorrow).await.unwrap_err().to_string();
    assert!(err.contains("dated 2010-03-15") || err.contains("date"), "{err}");
    assert!(desk.ledger.orders_on(tomorrow).unwrap().is_empty(), "nothing was sent");
}

fn predictions_for(d: ae_shared::TradingDay, rows: &[(&ae_shared::types::Ticker, f64, f64, bool)]) -> Predictions {
    let mut p = ae_testkit::fixtures::predictions();
    p.produced_by = Lineage::new(Job::Predictor, "0.1.0", Some(d), vec![]);
    p.date = d;
    p.excluded.clear();
    p.entries = rows
        .iter()
        .enumerate()
        .map(|(i, (t, p_up, alpha, veto))| {
            let pu = Probability::new(*p_up).unwrap();
            Prediction {
                ticker: (*t).clone(),
                p_up: pu,
                predicted_direction: if *p_up >= 0.5 { Direction::Up } else { Direction::Down },
                confidence: Confidence::from_p_up(pu),
                predicted_alpha: *alpha,
                rank: i as u32 + 1,
                gbm_veto: *veto,
                momentum_veto: false,
                price_data_age_days: 1,
                drivers: Vec::new(),
            }
        })
        .collect();
    p
}

#[tokio::test]
async fn stale_predictions_neither_veto_nor_size() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    let (fresh_book, _, _) = desk.plan(d).await;
    let target = fresh_book.entries.first().expect("an entry").ticker.clone();
    // A high-confidence DOWN veto, three sessions old.
    let old = d.offset(-3).unwrap();
    let doc = predictions_for(old, &[(&target, 0.05, -0.05, true)]);
    desk.bus.put(&keys::predictions(old), contracts::to_json_checked(&doc).unwrap(), PutMode::Overwrite).await.unwrap();
    desk.bus.delete(&keys::order_book(d)).await.unwrap();
    let (book, plan, report) = desk.plan(d).await;
    let e = book.entries.iter().find(|e| e.ticker == target).expect("a stale veto does not block");
    assert_eq!(e.sizing.confidence, 1.0, "a stale prediction does not size");
    assert!(e.reasons.contains(&"STALE_PREDICTIONS".to_string()), "{:?}", e.reasons);
    assert!(report.notes.iter().any(|n| n.contains("3 trading day(s) old")), "{:?}", report.notes);
    assert!(plan.blocked.iter().all(|b| b.rule != "GBM_VETO"));
    // The same prediction dated today vetoes.
    let today = predictions_for(d, &[(&target, 0.05, -0.05, true)]);
    desk.bus.put(&keys::predictions(d), contracts::to_json_checked(&today).unwrap(), PutMode::Overwrite).await.unwrap();
    desk.bus.delete(&keys::order_book(d)).await.unwrap();
    let (book, plan, _) = desk.plan(d).await;
    assert!(book.entries.iter().all(|e| e.ticker != target));
    assert!(plan.blocked.iter().any(|b| b.ticker == target && b.rule == "GBM_VETO"));
}

#[tokio::test]
async fn a_predicted_magnitude_is_never_used_as_a_direction() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    let (base, _, _) = desk.plan(d).await;
    let target = base.entries.first().expect("an entry").ticker.clone();
    // DOWN (p_up 0.3) with a large positive predicted magnitude: sized down, never up.
    let doc = predictions_for(d, &[(&target, 0.3, 0.08, false)]);
    desk.bus.put(&keys::predictions(d), contracts::to_json_checked(&doc).unwrap(), PutMode::Overwrite).await.unwrap();
    desk.bus.delete(&keys::order_book(d)).await.unwrap();
    let (book, _, _) = desk.plan(d).await;
    let e = book.entries.iter().find(|e| e.ticker == target).unwrap();
    assert!((e.sizing.confidence - (0.70 + 0.60 * 0.3)).abs() < 1e-9, "{}", e.sizing.confidence);
    assert!(e.sizing.confidence < 1.0);
    assert_eq!(e.predicted_direction, Some(Direction::Down));
}

#[tokio::test]
async fn a_nav_that_disagrees_with_its_positions_is_flagged_not_hidden() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    desk.plan(d).await;
    desk.session(d).await.unwrap();
    let p = desk.ledger.positions().unwrap().first().expect("something held").clone();
    // The broker's quote for one name is off by half (a bad tick): its NAV no longer matches
    // cash plus positions at the closing marks.
    desk.broker.set_quote(&p.ticker, p.avg_cost * 1.5).unwrap();
    let (report, summary) = desk.eod(d).await;
    let check = report.integrity.iter().find(|c| c.name == "nav_matches_positions").unwrap();
    assert!(!check.passed, "{check:?}");
    assert!(summary.breaches.iter().any(|b| b.starts_with("nav_matches_positions")));
    assert!(report.risk_events.iter().any(|e| e.rule == "INTEGRITY_NAV_MATCHES_POSITIONS"));
    // The report is on the bus and valid (the contract demands the flag).
    assert!(desk.bus.get_doc::<ae_shared::contracts::eod::EodReport>(&keys::eod(d)).await.unwrap().is_some());
    let eml = std::fs::read_to_string(desk.dir.path().join(format!("outbox/{d}-eod.eml"))).unwrap();
    assert!(eml.contains("INTEGRITY BREACH"), "the subject says so");
}

#[tokio::test]
async fn the_kill_switch_stops_entries_but_not_exits() {
    let mut desk = Desk::new().await;
    let d = day("2010-03-15");
    desk.research(d).await;
    desk.plan(d).await;
    desk.session(d).await.unwrap();
    desk.eod(d).await;
    desk.bus.put(&keys::kill_switch(), b"{\"reason\":\"test\"}".to_vec(), PutMode::Overwrite).await.unwrap();
    // Research now says EXIT for one holding.
    let next = d.next();
    let mut s = desk.bus.get_doc_required::<Signals>(&keys::signals(d)).await.unwrap().doc;
    let held = desk.ledger.positions().unwrap()[0].ticker.clone();
    s.date = next;
    s.produced_by = Lineage::new(Job::Research, "0.1.0", Some(next), vec![]);
    for e in s.universe.iter_mut() {
        if e.ticker == held {
            e.signal = SignalAction::Exit;
        }
    }
    s.buy_candidates.retain(|t| *t != held);
    desk.bus.put(&keys::signals(next), contracts::to_json_checked(&s).unwrap(), PutMode::Overwrite).await.unwrap();
    let (book, _, report) = desk.plan(next).await;
    assert!(report.kill_switch);
    assert!(book.entries.is_empty());
    assert!(book.blocked.iter().all(|b| b.rule == "KILL_SWITCH" || b.rule == "ALREADY_HELD"), "{:?}", book.blocked);
    assert!(book.urgent_exits.iter().any(|x| x.ticker == held && x.action == SignalAction::Exit));
    let s = desk.session(next).await.unwrap();
    assert!(s.sent.iter().any(|id| id == &format!("{next}:{held}:EXIT")), "{s:?}");
}

/// The flash crash of 6 May 2010 sets the kill switch (a breaker); the operator clears it the next
/// morning; the plan then ramps entries from 20% and measures the drawdown from the NAV at the
/// clearing, so the same drawdown does not set the switch again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_breaker_kill_is_cleared_entries_ramp_and_the_high_water_mark_resets() {
    use ae_shared::contracts::kill_switch::{KillSwitch, SetBy};
    let mut desk = Desk::new().await;
    let mut d = day("2010-04-19");
    let mut first = true;
    while d <= day("2010-05-06") {
        desk.trade_day(d, first).await;
        first = false;
        d = d.next();
    }
    let kill: KillSwitch = desk.bus.get_doc_required(&keys::kill_switch()).await.unwrap().doc;
    assert_eq!(kill.set_by, SetBy::Breaker { rule: "DRAWDOWN_KILL".into() }, "{}", kill.reason);
    let next = day("2010-05-07");
    desk.set_time(next, 8, 0);
    ae_executor::kill_switch::clear(&desk.bus, "ops", "reviewed the crash", desk.clock.now()).await.unwrap().unwrap();
    let (book, plan, report) = desk.plan(next).await;
    let rules: Vec<Reason> = plan.events.iter().map(|e| e.rule).collect();
    assert!(rules.contains(&Reason::RecoveryRamp), "{rules:?}");
    assert!(!rules.contains(&Reason::DrawdownKill) && !rules.contains(&Reason::DrawdownHalt), "{rules:?}");
    let ramp = plan.breakers.fired.iter().find(|f| f.rule == Reason::RecoveryRamp).unwrap();
    assert_eq!(ramp.effect, ae_rules::breakers::Effect::SizeDown(0.2), "{}", ramp.detail);
    // The 5-session loss still sizes down too: the multipliers compound.
    let product: f64 = plan
        .breakers
        .fired
        .iter()
        .filter_map(|f| if let ae_rules::breakers::Effect::SizeDown(m) = f.effect { Some(m) } else { None })
        .product();
    assert!((plan.breakers.multiplier - product).abs() < 1e-12 && product <= 0.2 + 1e-12);
    assert!(desk.bus.get(&keys::kill_switch()).await.unwrap().is_none(), "not set again");
    for e in &book.entries {
        assert!((e.sizing.breakers - product).abs() < 1e-12, "{}: {}", e.ticker, e.sizing.breakers);
    }
    assert!(!report.kill_switch);
}
