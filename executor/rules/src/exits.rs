//! The exit manager, evaluated on every held position each morning.
//!
//! Research EXIT and REDUCE take precedence over everything. Then, in order: catastrophic gap and
//! loss floor (hard risk), the ATR trailing stop (suppressed while the name beats its sector by more
//! than the veto margin), the fixed fallback stop when there is no ATR, the profit-take, the
//! momentum exit, and time decay while research says HOLD. The first rule that fires decides.

use ae_core::contracts::common::SignalAction;
use ae_core::contracts::params::ExitParams;
use serde::{Deserialize, Serialize};

use crate::reason::Reason;
use crate::sells::sellable;
use crate::view::Holding;

/// What to do with a holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitAction {
    /// Keep it.
    Hold,
    /// Sell part of it.
    Reduce {
        /// Shares to sell.
        shares: u32,
    },
    /// Sell all of it that is not already being sold.
    Exit {
        /// Shares to sell.
        shares: u32,
    },
}

impl ExitAction {
    /// Shares to sell (0 for HOLD).
    pub fn shares(self) -> u32 {
        match self {
            ExitAction::Hold => 0,
            ExitAction::Reduce { shares } | ExitAction::Exit { shares } => shares,
        }
    }

    /// The signal action this corresponds to.
    pub fn signal(self) -> SignalAction {
        match self {
            ExitAction::Hold => SignalAction::Hold,
            ExitAction::Reduce { .. } => SignalAction::Reduce,
            ExitAction::Exit { .. } => SignalAction::Exit,
        }
    }
}

/// The exit manager's decision on one holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitDecision {
    /// What to do.
    pub action: ExitAction,
    /// The deciding rule first, then notes (e.g. a vetoed ATR exit).
    pub reasons: Vec<Reason>,
    /// The protective stop in force (ATR trail, or the fallback stop without ATR).
    pub stop: f64,
    /// The ATR multiple behind `stop` (0 for the fallback stop).
    pub atr_multiple: f64,
}

/// The ATR trailing stop (`high water − ATR × multiple`) or, without a usable ATR (absent, NaN,
/// infinite, not positive) or when the trail does not come out finite, the fallback stop.
pub fn protective_stop(h: &Holding, p: &ExitParams) -> (f64, f64) {
    let trail = h
        .market
        .usable_atr()
        .map(|atr| h.high_water.max(h.market.close) - atr * p.atr_multiple)
        .filter(|stop| stop.is_finite());
    match trail {
        Some(stop) => (stop, p.atr_multiple),
        None => (h.avg_cost * (1.0 - p.fallback_stop_pct.get()), 0.0),
    }
}

/// Shares a REDUCE sells: `fraction` of the position, at least one, never more than sellable;
/// a reduction that would sell everything is an exit.
pub fn reduce_shares(h: &Holding, fraction: f64) -> ExitAction {
    let free = sellable(h.shares, h.working_sells);
    let want = ((h.shares as f64) * fraction).floor().max(1.0) as u32;
    match want.min(free) {
        0 => ExitAction::Hold,
        n if n >= h.shares => ExitAction::Exit { shares: n },
        n => ExitAction::Reduce { shares: n },
    }
}

/// Evaluates one holding. `research` is what research says about it (HOLD when it is not covered).
pub fn evaluate_exit(h: &Holding, research: SignalAction, p: &ExitParams) -> ExitDecision {
    let (stop, atr_multiple) = protective_stop(h, p);
    let free = sellable(h.shares, h.working_sells);
    let exit = |reasons: Vec<Reason>| ExitDecision {
        action: if free > 0 { ExitAction::Exit { shares: free } } else { ExitAction::Hold },
        reasons,
        stop,
        atr_multiple,
    };
    let reduce = |reasons: Vec<Reason>| ExitDecision {
        action: reduce_shares(h, p.reduce_fraction.get()),
        reasons,
        stop,
        atr_multiple,
    };
    match research {
        SignalAction::Exit => return exit(vec![Reason::ResearchExit]),
        SignalAction::Reduce => return reduce(vec![Reason::ResearchReduce]),
        SignalAction::Enter | SignalAction::Hold => {}
    }
    let m = &h.market;
    let close = m.close;
    if !(close > 0.0 && close.is_finite()) {
        return ExitDecision { action: ExitAction::Hold, reasons: vec![Reason::NoPrice], stop, atr_multiple };
    }
    if let Some(prev) = m.prev_close.filter(|p| *p > 0.0)
        && close / prev - 1.0 <= -p.catastrophic_gap_pct.get()
    {
        return exit(vec![Reason::CatastrophicGap]);
    }
    if h.avg_cost > 0.0 && close / h.avg_cost - 1.0 <= -p.loss_floor_pct.get() {
        return exit(vec![Reason::LossFloor]);
    }
    let mut notes = Vec::new();
    if atr_multiple > 0.0 {
        if close < stop {
            let outperforming = m.sector_relative.is_some_and(|r| r > p.sector_relative_veto_pct.get());
            if outperforming {
                notes.push(Reason::SectorRelVeto);
            } else {
                return exit(vec![Reason::AtrTrail]);
            }
        }
    } else if close <= stop {
        return exit(vec![Reason::FallbackStop]);
    }
    if !h.profit_taken && h.avg_cost > 0.0 && close / h.avg_cost - 1.0 >= p.reduce_on_gain_pct.get() {
        let mut r = vec![Reason::ProfitTake];
        r.extend(notes);
        return reduce(r);
    }
    if let (Some(ret), Some(rsi)) = (m.ret_20d, m.rsi_14)
        && ret < p.momentum_exit_return.get()
        && rsi < p.momentum_exit_rsi
    {
        let mut r = vec![Reason::MomentumExit];
        r.extend(notes);
        return exit(r);
    }
    if research == SignalAction::Hold {
        if h.days_held >= p.time_decay_exit_days {
            let mut r = vec![Reason::TimeDecayExit];
            r.extend(notes);
            return exit(r);
        }
        if h.days_held >= p.time_decay_reduce_days && !h.decay_reduced {
            let mut r = vec![Reason::TimeDecayReduce];
            r.extend(notes);
            return reduce(r);
        }
    }
    let mut r = vec![Reason::Hold];
    r.extend(notes);
    ExitDecision { action: ExitAction::Hold, reasons: r, stop, atr_multiple }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{holding, params};
    use crate::view::Holding;

    type Setup = fn(&mut Holding);

    #[test]
    fn the_exit_cascade_table() {
        let p = params().exits;
        // (name, research, setup, expected action kind, expected deciding reason)
        let table: &[(&str, SignalAction, Setup, &str, Reason)] = &[
            ("nothing to do", SignalAction::Hold, |_| {}, "HOLD", Reason::Hold),
            (
                "research exit beats everything",
                SignalAction::Exit,
                |h| h.market.close = 200.0,
                "EXIT",
                Reason::ResearchExit,
            ),
            ("research reduce sells half", SignalAction::Reduce, |_| {}, "REDUCE", Reason::ResearchReduce),
            (
                "catastrophic gap",
                SignalAction::Enter,
                |h| {
                    h.market.prev_close = Some(100.0);
                    h.market.close = 84.0;
                    h.avg_cost = 80.0;
                    h.high_water = 100.0
                },
                "EXIT",
                Reason::CatastrophicGap,
            ),
            (
                "loss floor at −15%",
                SignalAction::Enter,
                |h| {
                    h.avg_cost = 100.0;
                    h.market.close = 85.0;
                    h.market.prev_close = Some(86.0);
                    h.high_water = 86.0;
                    h.market.atr = Some(0.1)
                },
                "EXIT",
                Reason::LossFloor,
            ),
            (
                "ATR trail: close below high water − 2.5 ATR",
                SignalAction::Enter,
                |h| {
                    h.high_water = 110.0;
                    h.market.atr = Some(2.0) /* stop 105 */;
                    h.market.close = 104.0;
                    h.market.prev_close = Some(105.0)
                },
                "EXIT",
                Reason::AtrTrail,
            ),
            (
                "ATR trail vetoed by sector outperformance",
                SignalAction::Enter,
                |h| {
                    h.high_water = 110.0;
                    h.market.atr = Some(2.0);
                    h.market.close = 104.0;
                    h.market.prev_close = Some(105.0);
                    h.market.sector_relative = Some(0.06)
                },
                "HOLD",
                Reason::Hold,
            ),
            (
                "fallback stop without ATR",
                SignalAction::Enter,
                |h| {
                    h.market.atr = None;
                    h.avg_cost = 100.0;
                    h.market.close = 89.5;
                    h.market.prev_close = Some(90.0);
                    h.high_water = 100.0
                },
                "EXIT",
                Reason::FallbackStop,
            ),
            (
                "profit take at +25%",
                SignalAction::Enter,
                |h| {
                    h.avg_cost = 100.0;
                    h.market.close = 126.0;
                    h.high_water = 126.0
                },
                "REDUCE",
                Reason::ProfitTake,
            ),
            (
                "no second profit take",
                SignalAction::Enter,
                |h| {
                    h.avg_cost = 100.0;
                    h.market.close = 126.0;
                    h.high_water = 126.0;
                    h.profit_taken = true
                },
                "HOLD",
                Reason::Hold,
            ),
            (
                "momentum exit",
                SignalAction::Enter,
                |h| {
                    h.market.ret_20d = Some(-0.16);
                    h.market.rsi_14 = Some(25.0)
                },
                "EXIT",
                Reason::MomentumExit,
            ),
            (
                "momentum needs both",
                SignalAction::Enter,
                |h| {
                    h.market.ret_20d = Some(-0.16);
                    h.market.rsi_14 = Some(35.0)
                },
                "HOLD",
                Reason::Hold,
            ),
            (
                "time decay reduce at 7 days under HOLD",
                SignalAction::Hold,
                |h| h.days_held = 7,
                "REDUCE",
                Reason::TimeDecayReduce,
            ),
            (
                "time decay reduce happens once",
                SignalAction::Hold,
                |h| {
                    h.days_held = 8;
                    h.decay_reduced = true
                },
                "HOLD",
                Reason::Hold,
            ),
            (
                "time decay exit at 14 days under HOLD",
                SignalAction::Hold,
                |h| h.days_held = 14,
                "EXIT",
                Reason::TimeDecayExit,
            ),
            (
                "no time decay while research says ENTER",
                SignalAction::Enter,
                |h| h.days_held = 30,
                "HOLD",
                Reason::Hold,
            ),
            (
                "exit of a position already being sold sells nothing more",
                SignalAction::Exit,
                |h| h.working_sells = 100,
                "HOLD",
                Reason::ResearchExit,
            ),
            (
                "exit sells what is not already being sold",
                SignalAction::Exit,
                |h| h.working_sells = 40,
                "EXIT",
                Reason::ResearchExit,
            ),
        ];
        for (name, research, setup, kind, reason) in table {
            let mut h = holding("AAA", 100, 100.0, 101.0);
            setup(&mut h);
            let d = evaluate_exit(&h, *research, &p);
            let got = match d.action {
                ExitAction::Hold => "HOLD",
                ExitAction::Reduce { .. } => "REDUCE",
                ExitAction::Exit { .. } => "EXIT",
            };
            assert_eq!((got, d.reasons[0]), (*kind, *reason), "{name}: {d:?}");
            assert!(d.action.shares() <= h.shares - h.working_sells.min(h.shares), "{name}: sells more than free");
        }
    }

    #[test]
    fn exit_sells_held_minus_working_and_reduce_rounds_down() {
        let p = params().exits;
        let mut h = holding("AAA", 101, 100.0, 100.0);
        assert_eq!(evaluate_exit(&h, SignalAction::Reduce, &p).action, ExitAction::Reduce { shares: 50 });
        h.working_sells = 40;
        assert_eq!(evaluate_exit(&h, SignalAction::Exit, &p).action, ExitAction::Exit { shares: 61 });
        let one = holding("AAA", 1, 100.0, 100.0);
        assert_eq!(
            evaluate_exit(&one, SignalAction::Reduce, &p).action,
            ExitAction::Exit { shares: 1 },
            "reducing one share is an exit"
        );
    }
}
