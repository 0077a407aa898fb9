//! One morning's plan, as a pure function of the account, research, predictions and market views:
//! exits for held positions first (never blocked by entry rules), then candidates in order of
//! research score, each sized and checked against the book as it will stand after everything
//! planned before it. The planner, the backtester and tests all call [`plan_day`].

use std::collections::BTreeMap;

use ae_core::contracts::common::{Conviction, SignalAction};
use ae_core::contracts::order_book::{
    BlockedEntry, EntryOrder, EntryTriggers, ExitOrder, SizingFactors, StopOrder, order_id,
};
use ae_core::contracts::params::ExecutorParams;
use ae_core::types::{Confidence, Score, Ticker, Usd};
use serde::{Deserialize, Serialize};

use crate::breakers::{BookTail, BreakerInputs, Breakers, Effect, evaluate, trims};
use crate::correlation::BookCorrelation;
use crate::drawdown::{DrawdownState, drawdown_state};
use crate::exits::{ExitAction, evaluate_exit};
use crate::reason::{Reason, codes};
use crate::risk::{Check, check_entry, max_position, prediction_fresh};
use crate::sizing::{SizingInputs, size};
use crate::view::{Book, Candidate, Context, Holding};

/// What was decided about one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecisionKind {
    /// Buy.
    Enter,
    /// Sell all.
    Exit,
    /// Sell part.
    Reduce,
    /// Keep (held) or nothing to do.
    Hold,
    /// An entry refused by the risk guard or the sizer.
    Reject,
}

/// The audit record of one decision: what was decided, with every input that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Symbol.
    pub ticker: Ticker,
    /// The decision.
    pub kind: DecisionKind,
    /// Shares bought or sold (0 for HOLD/REJECT).
    pub shares: u32,
    /// Protective stop, for positions.
    pub stop: Option<f64>,
    /// Reason codes, deciding rule first.
    pub reasons: Vec<Reason>,
    /// Research score.
    pub score: Option<f64>,
    /// Research conviction.
    pub conviction: Option<Conviction>,
    /// Predictor confidence.
    pub confidence: Option<f64>,
    /// Expected return (the predictor's alpha).
    pub mu_hat: Option<f64>,
    /// Risk (ATR as a share of price).
    pub sigma_hat: Option<f64>,
    /// Data-quality score.
    pub quality_score: f64,
    /// The risk checks, for entries.
    pub checks: Vec<Check>,
    /// The sizing, for entries.
    pub sizing: Option<SizingFactors>,
}

/// A risk event raised while planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEvent {
    /// Rule.
    pub rule: Reason,
    /// Symbol, if any.
    pub ticker: Option<Ticker>,
    /// With the numbers.
    pub detail: String,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Exits and reductions to send at the open.
    pub exits: Vec<ExitOrder>,
    /// Entries for the daemon to trigger.
    pub entries: Vec<EntryOrder>,
    /// Stops on positions kept.
    pub stops: Vec<StopOrder>,
    /// Entries the guard or the sizer refused (the shadow book).
    pub blocked: Vec<BlockedEntry>,
    /// One audit record per name considered.
    pub decisions: Vec<Decision>,
    /// Risk events.
    pub events: Vec<PlanEvent>,
    /// The circuit breakers' verdict this morning (`kill`: the caller sets the kill switch).
    pub breakers: Breakers,
}

/// The morning's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput<'a> {
    /// Date, regime, kill switch.
    pub ctx: Context,
    /// The account, holdings marked at the last close.
    pub book: &'a Book,
    /// What research says about each held name (absent: HOLD).
    pub research: &'a BTreeMap<Ticker, SignalAction>,
    /// Names research wants to enter.
    pub candidates: &'a [Candidate],
    /// Parameters.
    pub params: &'a ExecutorParams,
    /// What the circuit breakers read beyond the book.
    pub risk: RiskInputs,
}

/// What the circuit breakers read beyond the book and the context.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RiskInputs {
    /// NAV at the close before the loss window ([`BreakerInputs::window_start_nav`]).
    pub window_start_nav: Option<f64>,
    /// Sessions since a kill switch a breaker set was cleared.
    pub sessions_since_clear: Option<u32>,
    /// The book's one-day tail.
    pub tail: Option<BookTail>,
    /// The held names' correlation.
    pub correlation: Option<BookCorrelation>,
}

impl RiskInputs {
    /// The breakers' inputs in the morning: NAV is the last close, which is also the day's start.
    pub fn morning(&self, book: &Book, kill_switch: bool) -> BreakerInputs {
        BreakerInputs {
            nav: book.nav,
            day_start_nav: book.nav,
            window_start_nav: self.window_start_nav,
            peak_nav: book.peak_nav,
            kill_switch,
            sessions_since_clear: self.sessions_since_clear,
            tail: self.tail,
            correlation: self.correlation,
        }
    }
}

fn triggers(c: &Candidate, p: &ExecutorParams) -> EntryTriggers {
    let i = &p.intraday;
    EntryTriggers {
        pullback_pct: i.pullback_pct,
        vwap_discount_pct: i.vwap_discount_pct,
        support_level: c.market.support.filter(|s| *s > 0.0).map(Usd::saturating),
        support_pct: i.support_pct,
        close_enough_after: i.close_enough_after.clone(),
        close_enough_max_premium_pct: i.close_enough_max_premium_pct,
        expiry_time: i.expiry_time.clone(),
    }
}

fn held_after(h: &Holding, action: ExitAction) -> Holding {
    let mut h = h.clone();
    h.shares = h.shares.saturating_sub(action.shares());
    h
}

/// Plans the day, with the whole audit: a decision per name considered, the risk events, and a
/// readable reason for every blocked entry.
pub fn plan_day(input: &PlanInput<'_>) -> Plan {
    plan(input, true)
}

/// The orders [`plan_day`] plans, without its audit: the same exits, entries, stops, breakers and
/// blocked entries (each with its rule; the readable reason is left empty), and no decisions or
/// events. The simulator plans every day of thousands of grid points and reads only these.
pub fn plan_orders(input: &PlanInput<'_>) -> Plan {
    plan(input, false)
}

fn plan(input: &PlanInput<'_>, audit: bool) -> Plan {
    let PlanInput { ctx, book, research, candidates, params, risk } = input;
    let mut plan =
        Plan { breakers: evaluate(&risk.morning(book, ctx.kill_switch), &params.breakers), ..Plan::default() };
    for f in plan.breakers.fired.iter().filter(|_| audit) {
        plan.events.push(PlanEvent { rule: f.rule, ticker: None, detail: f.detail.clone() });
    }
    // A breaker that sets the kill switch or halts the day stops entries as the kill switch does.
    let ctx = &Context { kill_switch: ctx.kill_switch || !plan.breakers.entries_allowed(), ..*ctx };
    let date = ctx.date;
    let dd: DrawdownState = drawdown_state(book.nav, book.peak_nav, &params.risk);
    if audit && dd.halted {
        plan.events.push(PlanEvent {
            rule: Reason::DrawdownHalt,
            ticker: None,
            detail: format!(
                "drawdown {:.2}% at or beyond the {:.2}% breaker: no new entries",
                dd.drawdown * 100.0,
                params.risk.drawdown_breaker_pct.get() * 100.0
            ),
        });
    } else if audit && dd.multiplier < 1.0 {
        plan.events.push(PlanEvent {
            rule: Reason::DrawdownThrottle,
            ticker: None,
            detail: format!("drawdown {:.2}%: entries sized × {}", dd.drawdown * 100.0, dd.multiplier),
        });
    }
    if ctx.kill_switch && audit {
        plan.events.push(PlanEvent {
            rule: Reason::KillSwitch,
            ticker: None,
            detail: "kill switch set: no new entries; exits proceed".into(),
        });
    }

    // Exits first, on every holding.
    let mut projected = Book { nav: book.nav, cash: book.cash, peak_nav: book.peak_nav, holdings: Vec::new() };
    for h in &book.holdings {
        let research_action = research.get(&h.ticker).copied().unwrap_or(SignalAction::Hold);
        let d = evaluate_exit(h, research_action, &params.exits);
        let kind = match d.action {
            ExitAction::Hold => DecisionKind::Hold,
            ExitAction::Reduce { .. } => DecisionKind::Reduce,
            ExitAction::Exit { .. } => DecisionKind::Exit,
        };
        if d.action.shares() > 0 {
            let action = d.action.signal();
            plan.exits.push(ExitOrder {
                id: order_id(date, &h.ticker, action),
                ticker: h.ticker.clone(),
                action,
                shares: d.action.shares(),
                reasons: codes(&d.reasons),
            });
        }
        let after = held_after(h, d.action);
        if after.shares > 0 {
            plan.stops.push(StopOrder {
                ticker: h.ticker.clone(),
                shares: after.shares,
                entry_price: Usd::saturating(h.avg_cost),
                entry_date: h.entry_date,
                high_water: Usd::saturating(h.high_water.max(h.market.close)),
                atr: h.market.usable_atr().map(Usd::saturating),
                atr_multiple: d.atr_multiple,
                stop_price: Usd::saturating(d.stop),
            });
            projected.holdings.push(after);
        }
        if !audit {
            continue;
        }
        plan.decisions.push(Decision {
            ticker: h.ticker.clone(),
            kind,
            shares: d.action.shares(),
            stop: Some(d.stop),
            reasons: d.reasons,
            score: None,
            conviction: None,
            confidence: None,
            mu_hat: None,
            sigma_hat: h.market.atr_pct(),
            quality_score: h.market.quality_score,
            checks: Vec::new(),
            sizing: None,
        });
    }

    // Positions grown past the trim share go back to the position cap (names already being sold
    // by the exit manager are left to it).
    let max_pos = max_position(&params.risk, ctx.regime);
    for t in trims(&projected, max_pos, &params.breakers) {
        if plan.exits.iter().any(|x| x.ticker == t.ticker) {
            continue;
        }
        let Some(h) = projected.holdings.iter_mut().find(|h| h.ticker == t.ticker) else { continue };
        h.shares -= t.shares;
        plan.exits.push(ExitOrder {
            id: order_id(date, &t.ticker, SignalAction::Reduce),
            ticker: t.ticker.clone(),
            action: SignalAction::Reduce,
            shares: t.shares,
            reasons: codes(&[Reason::PositionTrim]),
        });
        if let Some(stop) = plan.stops.iter_mut().find(|s| s.ticker == t.ticker) {
            stop.shares = h.shares;
        }
        if let Some(d) = plan.decisions.iter_mut().find(|d| d.ticker == t.ticker) {
            d.kind = DecisionKind::Reduce;
            d.shares = t.shares;
            d.reasons.insert(0, Reason::PositionTrim);
        }
        if audit {
            plan.events.push(PlanEvent {
                rule: Reason::PositionTrim,
                ticker: Some(t.ticker.clone()),
                detail: format!(
                    "{} is {:.2}% of NAV (above {:.2}%): {} shares sold back to the {:.2}% cap",
                    t.ticker,
                    t.weight * 100.0,
                    params.breakers.trim_position_pct.get() * 100.0,
                    t.shares,
                    max_pos * 100.0
                ),
            });
        }
    }

    // Entries, best research score first.
    let mut order: Vec<&Candidate> = candidates.iter().filter(|c| c.signal == SignalAction::Enter).collect();
    order.sort_by(|a, b| {
        let s = |c: &Candidate| c.score.map(Score::get).unwrap_or(-1.0);
        s(b).total_cmp(&s(a)).then_with(|| a.ticker.cmp(&b.ticker))
    });
    let n_enter = order.iter().filter(|c| book.holding(&c.ticker).is_none()).count().max(1);
    let mut cash_available = book.cash;
    for c in order {
        let fresh = prediction_fresh(c, &params.risk);
        let sized = size(
            c,
            &SizingInputs {
                n_enter,
                nav: book.nav,
                cash_available,
                drawdown_multiplier: dd.multiplier,
                breaker_multiplier: plan.breakers.multiplier,
                max_position: max_pos,
                prediction_fresh: fresh,
            },
            &params.sizing,
        );
        let verdict = check_entry(c, sized.factors.dollars.get(), &projected, ctx, &dd, &params.risk);
        let mut reasons = Vec::new();
        let blocked = verdict.blocked_by.or(sized.skipped);
        match blocked {
            Some(rule) => reasons.push(rule),
            None => reasons.push(Reason::Approved),
        }
        reasons.extend(sized.caps.iter().copied());
        if dd.multiplier < 1.0 && !dd.halted {
            reasons.push(Reason::DrawdownThrottle);
        }
        reasons.extend(plan.breakers.fired.iter().filter(|f| matches!(f.effect, Effect::SizeDown(_))).map(|f| f.rule));
        if c.prediction.is_none() {
            reasons.push(Reason::NoPrediction);
        } else if !fresh {
            reasons.push(Reason::StalePredictions);
        }
        let decision = |kind, shares| Decision {
            ticker: c.ticker.clone(),
            kind,
            shares,
            stop: None,
            reasons: reasons.clone(),
            score: c.score.map(Score::get),
            conviction: Some(c.conviction),
            confidence: c.prediction.map(|p| p.confidence.get()),
            mu_hat: c.prediction.map(|p| p.predicted_alpha),
            sigma_hat: c.market.atr_pct(),
            quality_score: c.market.quality_score,
            checks: verdict.checks.clone(),
            sizing: Some(sized.factors.clone()),
        };
        if let Some(rule) = blocked {
            if rule != Reason::AlreadyHeld {
                let detail = if audit {
                    verdict.blocking().map(Check::describe).unwrap_or_else(|| {
                        format!(
                            "{rule}: size {:.2} USD (minimum {})",
                            sized.factors.dollars.get(),
                            params.sizing.min_position_usd
                        )
                    })
                } else {
                    String::new()
                };
                plan.blocked.push(BlockedEntry {
                    ticker: c.ticker.clone(),
                    rule: rule.code().to_string(),
                    reason: detail,
                    model_drivers: Vec::new(),
                });
                if audit
                    && matches!(
                        rule,
                        Reason::GbmVeto
                            | Reason::MaxSector
                            | Reason::MaxEquity
                            | Reason::Correlation
                            | Reason::DqBlocked
                    )
                {
                    plan.events.push(PlanEvent {
                        rule,
                        ticker: Some(c.ticker.clone()),
                        detail: verdict.blocking().map(Check::describe).unwrap_or_default(),
                    });
                }
            }
            if audit {
                let kind = if rule == Reason::AlreadyHeld { DecisionKind::Hold } else { DecisionKind::Reject };
                plan.decisions.push(decision(kind, 0));
            }
            continue;
        }
        let dollars = sized.shares as f64 * c.market.close;
        cash_available -= dollars;
        projected.holdings.push(Holding {
            ticker: c.ticker.clone(),
            sector: c.sector,
            shares: sized.shares,
            working_sells: 0,
            avg_cost: c.market.close,
            entry_date: date,
            days_held: 0,
            high_water: c.market.close,
            profit_taken: false,
            decay_reduced: false,
            market: c.market.clone(),
        });
        let pred = c.prediction.filter(|_| fresh);
        plan.entries.push(EntryOrder {
            id: order_id(date, &c.ticker, SignalAction::Enter),
            ticker: c.ticker.clone(),
            shares: sized.shares,
            reference_price: Usd::saturating(c.market.close),
            atr: c.market.usable_atr().map(Usd::saturating),
            triggers: triggers(c, params),
            sizing: sized.factors.clone(),
            score: c.score.unwrap_or(Score::saturating(0.0)),
            conviction: c.conviction,
            predicted_direction: pred.map(|p| p.direction),
            prediction_confidence: pred.map(|p| Confidence::saturating(p.confidence.get())),
            reasons: codes(&reasons),
            model_drivers: Vec::new(),
        });
        if audit {
            plan.decisions.push(decision(DecisionKind::Enter, sized.shares));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{book, candidate, ctx, holding, params};
    use ae_core::contracts::common::Sector;

    #[test]
    fn exits_go_through_when_every_entry_rule_blocks() {
        let p = params();
        let mut b = book(1_000_000.0, 900_000.0, vec![holding("HELD", 1000, 100.0, 100.0)]);
        b.peak_nav = 1_200_000.0; // −16.7%: breaker
        let mut x = ctx();
        x.kill_switch = true;
        let research = BTreeMap::from([(b.holdings[0].ticker.clone(), SignalAction::Exit)]);
        let cands = [candidate("NEW", 90.0, 50.0)];
        let plan = plan_day(&PlanInput {
            ctx: x,
            book: &b,
            research: &research,
            candidates: &cands,
            params: &p,
            risk: RiskInputs::default(),
        });
        assert_eq!(plan.exits.len(), 1);
        assert_eq!((plan.exits[0].shares, plan.exits[0].id.as_str()), (1000, "2010-03-15:HELD:EXIT"));
        assert!(plan.entries.is_empty());
        assert_eq!(plan.blocked[0].rule, "KILL_SWITCH");
        let rules: Vec<Reason> = plan.events.iter().map(|e| e.rule).collect();
        assert!(rules.contains(&Reason::DrawdownHalt) && rules.contains(&Reason::KillSwitch));
    }

    #[test]
    fn later_candidates_see_earlier_approvals() {
        let p = params();
        let b = book(1_000_000.0, 1_000_000.0, vec![]);
        // Ten names in one sector, 5% each: the sector cap (25%) admits five.
        let cands: Vec<Candidate> = (0..10)
            .map(|i| {
                let mut c = candidate(&format!("S{i}"), 90.0 - i as f64, 50.0);
                c.sector = Some(Sector::Energy);
                c
            })
            .collect();
        let plan = plan_day(&PlanInput {
            ctx: ctx(),
            book: &b,
            research: &BTreeMap::new(),
            candidates: &cands,
            params: &p,
            risk: RiskInputs::default(),
        });
        let entered: Vec<&str> = plan.entries.iter().map(|e| e.ticker.as_str()).collect();
        assert_eq!(entered, ["S0", "S1", "S2", "S3", "S4"], "best scores first");
        assert!(plan.blocked.iter().all(|b| b.rule == "MAX_SECTOR"), "{:?}", plan.blocked);
        let invested: f64 = plan.entries.iter().map(|e| e.sizing.dollars.get()).sum();
        assert!(invested <= 250_000.0 + 1e-6);
        assert_eq!(plan.decisions.len(), 10);
        // Deterministic.
        let again = plan_day(&PlanInput {
            ctx: ctx(),
            book: &b,
            research: &BTreeMap::new(),
            candidates: &cands,
            params: &p,
            risk: RiskInputs::default(),
        });
        assert_eq!(plan.entries, again.entries);
    }

    #[test]
    fn a_non_finite_atr_is_no_atr_and_never_reaches_an_order_book() {
        use ae_core::contracts::common::Regime;
        use ae_core::contracts::order_book::OrderBook;
        use ae_core::contracts::{Job, Lineage, to_json_checked};
        struct Case {
            what: &'static str,
            atr: Option<f64>,
            // The ATR the stop and the entry carry; None: the fallback stop applies.
            usable: Option<f64>,
        }
        let cases = [
            // TC1: a usable ATR is kept and trails the stop.
            Case { what: "2.5", atr: Some(2.5), usable: Some(2.5) },
            // TC2: NaN (a gap in the bars) used to become -inf in the records.
            Case { what: "NaN", atr: Some(f64::NAN), usable: None },
            // TC3: +inf would put the trail at -inf.
            Case { what: "+inf", atr: Some(f64::INFINITY), usable: None },
            // TC4: -inf.
            Case { what: "-inf", atr: Some(f64::NEG_INFINITY), usable: None },
            // TC5: zero and negative ATRs are no ATR either.
            Case { what: "0", atr: Some(0.0), usable: None },
            Case { what: "-1", atr: Some(-1.0), usable: None },
            // TC6: absent.
            Case { what: "none", atr: None, usable: None },
        ];
        let p = params();
        for c in cases {
            let mut held = holding("HELD", 500, 100.0, 104.0);
            held.market.atr = c.atr;
            let mut cand = candidate("NEW", 90.0, 50.0);
            cand.market.atr = c.atr.map(|a| a / 2.0);
            let b = book(1_000_000.0, 950_000.0, vec![held]);
            let plan = plan_day(&PlanInput {
                ctx: ctx(),
                book: &b,
                research: &BTreeMap::new(),
                candidates: &[cand],
                params: &p,
                risk: RiskInputs::default(),
            });
            let (stop, entry) = (&plan.stops[0], &plan.entries[0]);
            assert_eq!(stop.atr.map(Usd::get), c.usable, "{}: stop ATR", c.what);
            assert_eq!(entry.atr.map(Usd::get), c.usable.map(|a| a / 2.0), "{}: entry ATR", c.what);
            let (want_stop, want_multiple) = match c.usable {
                Some(a) => (104.0 - a * p.exits.atr_multiple, p.exits.atr_multiple),
                None => (100.0 * (1.0 - p.exits.fallback_stop_pct.get()), 0.0),
            };
            assert!((stop.stop_price.get() - want_stop).abs() < 1e-9, "{}: stop {}", c.what, stop.stop_price);
            assert_eq!(stop.atr_multiple, want_multiple, "{}", c.what);
            assert!(entry.sizing.atr.is_finite() && entry.sizing.raw_weight.is_finite(), "{}", c.what);
            let d = plan.decisions.iter().find(|d| d.ticker.as_str() == "NEW").unwrap();
            assert!(d.sigma_hat.is_none_or(f64::is_finite), "{}", c.what);
            // The order book these records go into is valid: every number in it is finite.
            let ob = OrderBook {
                schema_version: 1,
                produced_by: Lineage::new(Job::Executor, "test", Some(ctx().date), vec![]),
                date: ctx().date,
                nav: Usd::saturating(b.nav),
                cash: Usd::saturating(b.cash),
                market_regime: Regime::Neutral,
                entries: plan.entries.clone(),
                urgent_exits: plan.exits.clone(),
                stops: plan.stops.clone(),
                blocked: plan.blocked.clone(),
                params: Some(p.clone()),
                breakers: None,
                ensemble: None,
            };
            if let Err(problems) = to_json_checked(&ob) {
                panic!("{}: the order book is invalid:\n{problems}", c.what);
            }
        }
    }

    #[test]
    fn held_names_are_not_entered_twice_and_get_a_stop() {
        let p = params();
        let b = book(1_000_000.0, 950_000.0, vec![holding("HELD", 500, 100.0, 100.0)]);
        let mut c = candidate("HELD", 90.0, 100.0);
        c.sector = Some(Sector::InformationTechnology);
        let plan = plan_day(&PlanInput {
            ctx: ctx(),
            book: &b,
            research: &BTreeMap::new(),
            candidates: &[c],
            params: &p,
            risk: RiskInputs::default(),
        });
        assert!(plan.entries.is_empty() && plan.blocked.is_empty());
        assert_eq!(plan.stops.len(), 1);
        assert!((plan.stops[0].stop_price.get() - (100.0 - 2.0 * 2.5)).abs() < 1e-9);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::testing::{book, candidate, ctx, holding, params, prediction};
    use ae_core::contracts::common::{Regime, Sector, SectorRating};
    use ae_core::types::Score;
    use proptest::prelude::*;

    fn arb_candidate(i: usize) -> impl Strategy<Value = Candidate> {
        (
            0.0..100.0f64,
            5.0..500.0f64,
            0usize..11,
            0.0..1.0f64,
            -0.2..0.2f64,
            0.001..0.08f64,
            1e4..1e9f64,
            any::<bool>(),
        )
            .prop_map(move |(score, px, sector, p_up, ret, atr, adv, veto)| {
                let mut c = candidate(&format!("C{i}"), score, px);
                c.sector = Some(Sector::ALL[sector]);
                c.score = Some(Score::new(score).unwrap());
                let mut q = prediction(p_up);
                q.gbm_veto = veto && p_up < 0.5;
                c.prediction = Some(q);
                c.market.ret_20d = Some(ret);
                c.market.atr = Some(px * atr);
                c.market.adv_usd = Some(adv);
                c.sector_rating =
                    [SectorRating::Overweight, SectorRating::MarketWeight, SectorRating::Underweight][sector % 3];
                c
            })
    }

    fn arb_holding(i: usize) -> impl Strategy<Value = Holding> {
        (1u32..5000, 5.0..300.0f64, 0.5..1.6f64, 0u32..6000, 0u32..30, 0usize..11, 0usize..4).prop_map(
            move |(shares, cost, move_, working, days, sector, research)| {
                let mut h = holding(&format!("H{i}"), shares, cost, cost * move_);
                h.working_sells = working.min(shares + 50); // may even exceed held: must still never oversell
                h.days_held = days;
                h.sector = Some(Sector::ALL[sector]);
                h.market.prev_close = Some(cost * move_ * 1.01);
                let _ = research;
                h
            },
        )
    }

    /// Candidates and a book of unique tickers (the first of a ticker kept), the book's peak NAV
    /// `peak` times its NAV, and research's action on each holding.
    fn arranged(
        cands: Vec<Candidate>,
        holds: Vec<Holding>,
        cash: f64,
        peak: f64,
        actions: &[usize],
    ) -> (Vec<Candidate>, Book, BTreeMap<Ticker, SignalAction>) {
        let mut seen = std::collections::BTreeSet::new();
        let cands: Vec<Candidate> = cands.into_iter().filter(|c| seen.insert(c.ticker.clone())).collect();
        let holds: Vec<Holding> = holds.into_iter().filter(|h| seen.insert(h.ticker.clone())).collect();
        let equity: f64 = holds.iter().map(Holding::market_value).sum();
        let b = Book { nav: equity + cash, cash, peak_nav: (equity + cash) * peak, holdings: holds };
        let all = [SignalAction::Hold, SignalAction::Enter, SignalAction::Exit, SignalAction::Reduce];
        let research = b.holdings.iter().zip(actions).map(|(h, a)| (h.ticker.clone(), all[*a])).collect();
        (cands, b, research)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The simulator's plan (orders only) is the live planner's plan without the audit.
        #[test]
        fn the_orders_plan_is_the_audited_plan_without_its_audit(
            cands in proptest::collection::vec((0usize..1000).prop_flat_map(arb_candidate), 0..25),
            holds in proptest::collection::vec((0usize..1000).prop_flat_map(arb_holding), 0..12),
            cash in 0.0..2e6f64,
            peak in 1.0..1.4f64,
            bear in any::<bool>(),
            kill in any::<bool>(),
            actions in proptest::collection::vec(0usize..4, 12),
        ) {
            let p = params();
            let (cands, b, research) = arranged(cands, holds, cash, peak, &actions);
            let mut x = ctx();
            x.kill_switch = kill;
            if bear { x.regime = Regime::Bear; }
            let input = PlanInput { ctx: x, book: &b, research: &research, candidates: &cands, params: &p, risk: RiskInputs::default() };
            let full = plan_day(&input);
            let orders = plan_orders(&input);
            prop_assert!(orders.decisions.is_empty() && orders.events.is_empty());
            let unexplained: Vec<BlockedEntry> =
                full.blocked.iter().map(|e| BlockedEntry { reason: String::new(), ..e.clone() }).collect();
            prop_assert_eq!(&orders.blocked, &unexplained);
            prop_assert_eq!(Plan { blocked: Vec::new(), ..orders }, Plan { blocked: Vec::new(), decisions: Vec::new(), events: Vec::new(), ..full });
        }

        #[test]
        fn plans_never_oversell_overspend_or_exceed_caps(
            cands in proptest::collection::vec((0usize..1000).prop_flat_map(arb_candidate), 0..25),
            holds in proptest::collection::vec((0usize..1000).prop_flat_map(arb_holding), 0..12),
            cash in 0.0..2e6f64,
            bear in any::<bool>(),
            actions in proptest::collection::vec(0usize..4, 12),
        ) {
            let p = params();
            let (cands, b, research) = arranged(cands, holds, cash, 1.01, &actions);
            let mut x = ctx();
            if bear { x.regime = Regime::Bear; }
            let plan = plan_day(&PlanInput { ctx: x, book: &b, research: &research, candidates: &cands, params: &p, risk: RiskInputs::default() });
            for e in &plan.exits {
                let h = b.holding(&e.ticker).unwrap();
                prop_assert!(e.shares <= h.shares.saturating_sub(h.working_sells), "{} sells {} of {} with {} working", e.ticker, e.shares, h.shares, h.working_sells);
                prop_assert!(e.shares > 0);
            }
            let spent: f64 = plan.entries.iter().map(|e| e.shares as f64 * e.reference_price.get()).sum();
            prop_assert!(spent <= cash + 1e-6, "spent {spent} of {cash}");
            let max_pos = if bear { p.risk.bear_max_position_pct.get() } else { p.risk.max_position_pct.get() };
            for e in &plan.entries {
                prop_assert!(b.holding(&e.ticker).is_none(), "entered a held name");
                prop_assert!(e.shares as f64 * e.reference_price.get() <= max_pos * b.nav + 1e-6);
                prop_assert!(e.sizing.dollars.get() >= p.sizing.min_position_usd.get());
                let c = cands.iter().find(|c| c.ticker == e.ticker).unwrap();
                prop_assert!(c.score.unwrap().get() >= p.risk.min_score.get());
                prop_assert!(!c.prediction.unwrap().gbm_veto);
                if let Some(adv) = c.market.adv_usd {
                    prop_assert!(e.sizing.dollars.get() <= p.sizing.adv_cap_pct.get() * adv + 1e-6);
                }
            }
            // Sector and equity caps hold for the book after the plan (entries add; exits only shrink).
            let entry_value: f64 = spent;
            let held_after: f64 = b.holdings.iter().map(|h| {
                let sold = plan.exits.iter().find(|e| e.ticker == h.ticker).map(|e| e.shares).unwrap_or(0);
                (h.shares - sold) as f64 * h.market.close
            }).sum();
            if !plan.entries.is_empty() {
                prop_assert!(held_after + entry_value <= p.risk.max_equity_pct.get() * b.nav + 1e-6);
            }
            prop_assert_eq!(plan.decisions.len(), b.holdings.len() + cands.iter().filter(|c| c.signal == SignalAction::Enter).count());
        }
    }

    #[test]
    fn an_oversized_position_is_trimmed_and_an_eight_percent_drawdown_kills() {
        let p = params();
        // 9% of NAV, 2% above its cost: the exit manager keeps it, the trim does not.
        let big = holding("BIG", 1_000, 88.0, 90.0);
        let b = book(1_000_000.0, 910_000.0, vec![big]);
        let cands = vec![candidate("NEW", 80.0, 50.0)];
        let plan = plan_day(&PlanInput {
            ctx: ctx(),
            book: &b,
            research: &BTreeMap::new(),
            candidates: &cands,
            params: &p,
            risk: RiskInputs::default(),
        });
        let trim = plan.exits.iter().find(|x| x.reasons == ["POSITION_TRIM"]).expect("a trim");
        assert_eq!((trim.shares, trim.action), (445, SignalAction::Reduce));
        assert_eq!(plan.stops[0].shares, 555, "the stop covers what is kept");
        assert!(!plan.breakers.kill && plan.entries.len() == 1);

        let mut fallen = b.clone();
        fallen.peak_nav = 1_090_000.0; // 8.26% below the peak
        let plan = plan_day(&PlanInput {
            ctx: ctx(),
            book: &fallen,
            research: &BTreeMap::new(),
            candidates: &cands,
            params: &p,
            risk: RiskInputs::default(),
        });
        assert!(plan.breakers.kill, "{:?}", plan.breakers);
        assert!(plan.events.iter().any(|e| e.rule == Reason::DrawdownKill));
        assert!(plan.entries.is_empty() && plan.blocked[0].rule == "KILL_SWITCH");
        assert!(!plan.exits.is_empty(), "exits are never blocked");
    }
}
