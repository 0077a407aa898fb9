//! The risk guard for entries. Checks run in a fixed order and the first failure blocks; every
//! check is still evaluated and recorded for the audit. EXIT and REDUCE never come here: the exit
//! manager and the sell path bypass every entry rule.

use ae_core::contracts::common::{Conviction, Regime, SectorRating};
use ae_core::contracts::params::RiskParams;
use serde::{Deserialize, Serialize};

use crate::drawdown::DrawdownState;
use crate::reason::Reason;
use crate::view::{Book, Candidate, Context, DataQuality};

/// One rule's outcome, with the numbers it compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The rule.
    pub rule: Reason,
    /// Passed?
    pub passed: bool,
    /// The value tested, when the rule is numeric and the value known.
    pub value: Option<f64>,
    /// The limit it was tested against.
    pub limit: Option<f64>,
}

impl Check {
    fn new(rule: Reason, passed: bool, value: Option<f64>, limit: Option<f64>) -> Self {
        Self { rule, passed, value, limit }
    }

    /// A readable line: `MAX_SECTOR failed: 0.27 > 0.25`.
    pub fn describe(&self) -> String {
        let verdict = if self.passed { "passed" } else { "failed" };
        match (self.value, self.limit) {
            (Some(v), Some(l)) => format!("{} {verdict}: {} vs limit {}", self.rule, round(v), round(l)),
            (Some(v), None) => format!("{} {verdict}: {}", self.rule, round(v)),
            _ => format!("{} {verdict}", self.rule),
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// The guard's verdict on one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The first failing rule, if any.
    pub blocked_by: Option<Reason>,
}

impl Verdict {
    /// No rule failed.
    pub fn approved(&self) -> bool {
        self.blocked_by.is_none()
    }

    /// The blocking check.
    pub fn blocking(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }
}

/// Largest position weight in force for the regime.
pub fn max_position(p: &RiskParams, regime: Regime) -> f64 {
    if regime == Regime::Bear { p.bear_max_position_pct.get() } else { p.max_position_pct.get() }
}

/// Whether the prediction is fresh enough for the predictor's gates and sizing.
pub fn prediction_fresh(c: &Candidate, p: &RiskParams) -> bool {
    c.prediction.is_some_and(|x| x.age_days <= p.max_prediction_age_days)
}

/// How many checks [`check_entry`] makes (a backtest sweep checks millions of entries).
const ENTRY_CHECKS: usize = 17;

/// Evaluates every entry rule for `c` with a proposed position of `proposed_usd`.
pub fn check_entry(
    c: &Candidate,
    proposed_usd: f64,
    book: &Book,
    ctx: &Context,
    dd: &DrawdownState,
    p: &RiskParams,
) -> Verdict {
    let nav = book.nav;
    let w = |usd: f64| if nav > 0.0 { usd / nav } else { f64::INFINITY };
    let mut checks = Vec::with_capacity(ENTRY_CHECKS);
    checks.push(Check::new(Reason::KillSwitch, !ctx.kill_switch, None, None));
    checks.push(Check::new(Reason::StaleSignals, !ctx.signals_stale, Some(c.signal_age_days as f64), None));
    checks.push(Check::new(Reason::NavNonpositive, nav > 0.0, Some(nav), Some(0.0)));
    checks.push(Check::new(Reason::AlreadyHeld, book.holding(&c.ticker).is_none(), None, None));
    checks.push(Check::new(
        Reason::NoPrice,
        c.market.close > 0.0 && c.market.close.is_finite(),
        Some(c.market.close),
        None,
    ));
    checks.push(Check::new(
        Reason::DqBlocked,
        c.market.quality != DataQuality::Quarantined,
        Some(c.market.quality_score),
        None,
    ));
    let score = c.score.map(|s| s.get());
    checks.push(Check::new(
        Reason::MinScore,
        score.is_some_and(|s| s >= p.min_score.get()),
        score,
        Some(p.min_score.get()),
    ));
    let declining = c.conviction == Conviction::Declining;
    checks.push(Check::new(Reason::ConvictionDeclining, !(p.block_declining_conviction && declining), None, None));
    checks.push(Check::new(Reason::DrawdownHalt, !dd.halted, Some(dd.drawdown), Some(p.drawdown_breaker_pct.get())));
    let max_pos = max_position(p, ctx.regime);
    checks.push(Check::new(
        Reason::MaxPosition,
        w(proposed_usd) <= max_pos + 1e-9,
        Some(w(proposed_usd)),
        Some(max_pos),
    ));
    let bear_block =
        p.bear_blocks_underweight && ctx.regime == Regime::Bear && c.sector_rating == SectorRating::Underweight;
    checks.push(Check::new(Reason::BearUnderweight, !bear_block, None, None));
    let sector_w = c.sector.map(|s| w(book.sector_exposure(s) + proposed_usd));
    let max_sector = p.max_sector_pct.get();
    checks.push(Check::new(
        Reason::MaxSector,
        sector_w.is_none_or(|x| x <= max_sector + 1e-9),
        sector_w,
        Some(max_sector),
    ));
    let equity_w = w(book.equity() + proposed_usd);
    let max_equity = p.max_equity_pct.get();
    checks.push(Check::new(Reason::MaxEquity, equity_w <= max_equity + 1e-9, Some(equity_w), Some(max_equity)));
    let corr_ok = c.correlation.is_none_or(|r| r <= p.max_sector_correlation);
    checks.push(Check::new(Reason::Correlation, corr_ok, c.correlation, Some(p.max_sector_correlation)));
    let fresh = prediction_fresh(c, p);
    let vetoed = p.use_predictor_veto && fresh && c.prediction.is_some_and(|x| x.gbm_veto);
    checks.push(Check::new(Reason::GbmVeto, !vetoed, c.prediction.map(|x| x.confidence.get()), None));
    let gate = p.momentum_gate_return.get();
    checks.push(Check::new(
        Reason::MomentumGate,
        c.market.ret_20d.is_none_or(|r| r >= gate),
        c.market.ret_20d,
        Some(gate),
    ));
    let blackout =
        p.earnings_blackout_days > 0 && c.market.days_to_earnings.is_some_and(|d| d <= p.earnings_blackout_days);
    checks.push(Check::new(
        Reason::EarningsBlackout,
        !blackout,
        c.market.days_to_earnings.map(f64::from),
        Some(p.earnings_blackout_days as f64),
    ));
    debug_assert_eq!(checks.len(), ENTRY_CHECKS, "ENTRY_CHECKS counts every check: the vector is never grown");
    let blocked_by = checks.iter().find(|c| !c.passed).map(|c| c.rule);
    Verdict { checks, blocked_by }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drawdown::drawdown_state;
    use crate::testing::{book, candidate, ctx, holding, params, prediction};
    use ae_core::contracts::common::Sector;
    use ae_core::types::Score;

    type Setup = fn(&mut Candidate, &mut Book, &mut Context);

    #[test]
    fn the_risk_guard_table_first_failure_blocks() {
        let p = params().risk;
        // (name, setup, proposed dollars on a 1M book, expected blocking rule)
        let table: &[(&str, Setup, f64, Option<Reason>)] = &[
            ("clean candidate passes", |_, _, _| {}, 40_000.0, None),
            (
                "kill switch first",
                |c, _, x| {
                    x.kill_switch = true;
                    c.score = None
                },
                40_000.0,
                Some(Reason::KillSwitch),
            ),
            ("stale signals", |_, _, x| x.signals_stale = true, 40_000.0, Some(Reason::StaleSignals)),
            ("nav zero", |_, b, _| b.nav = 0.0, 40_000.0, Some(Reason::NavNonpositive)),
            (
                "already held",
                |_, b, _| b.holdings.push(holding("CAND", 10, 50.0, 50.0)),
                40_000.0,
                Some(Reason::AlreadyHeld),
            ),
            (
                "quarantined data",
                |c, _, _| c.market.quality = DataQuality::Quarantined,
                40_000.0,
                Some(Reason::DqBlocked),
            ),
            ("a BUY with no score never enters", |c, _, _| c.score = None, 40_000.0, Some(Reason::MinScore)),
            ("score 69.9 < 70", |c, _, _| c.score = Some(Score::new(69.9).unwrap()), 40_000.0, Some(Reason::MinScore)),
            (
                "declining conviction",
                |c, _, _| c.conviction = Conviction::Declining,
                40_000.0,
                Some(Reason::ConvictionDeclining),
            ),
            ("drawdown breaker", |_, b, _| b.peak_nav = 1_070_000.0, 40_000.0, Some(Reason::DrawdownHalt)),
            ("max position 5%", |_, _, _| {}, 50_001.0, Some(Reason::MaxPosition)),
            ("bear max position 2.5%", |_, _, x| x.regime = Regime::Bear, 30_000.0, Some(Reason::MaxPosition)),
            (
                "bear blocks underweight",
                |c, _, x| {
                    x.regime = Regime::Bear;
                    c.sector_rating = SectorRating::Underweight
                },
                20_000.0,
                Some(Reason::BearUnderweight),
            ),
            ("underweight outside bear passes", |c, _, _| c.sector_rating = SectorRating::Underweight, 20_000.0, None),
            (
                "sector cap 25%",
                |c, b, _| {
                    c.sector = Some(Sector::InformationTechnology);
                    for (i, t) in ["A1", "A2", "A3", "A4", "A5"].iter().enumerate() {
                        let mut h = holding(t, 470, 100.0, 100.0);
                        h.sector = Some(Sector::InformationTechnology);
                        let _ = i;
                        b.holdings.push(h);
                    }
                },
                40_000.0,
                Some(Reason::MaxSector),
            ),
            (
                "equity cap 90%",
                |_, b, _| {
                    for k in 0..18 {
                        let mut h = holding(&format!("E{k}"), 490, 100.0, 100.0);
                        h.sector = None;
                        b.holdings.push(h);
                    }
                },
                40_000.0,
                Some(Reason::MaxEquity),
            ),
            ("same-sector correlation 0.85", |c, _, _| c.correlation = Some(0.85), 40_000.0, Some(Reason::Correlation)),
            (
                "predictor veto",
                |c, _, _| {
                    let mut q = prediction(0.2);
                    q.gbm_veto = true;
                    c.prediction = Some(q)
                },
                40_000.0,
                Some(Reason::GbmVeto),
            ),
            (
                "a stale veto is not applied",
                |c, _, _| {
                    let mut q = prediction(0.2);
                    q.gbm_veto = true;
                    q.age_days = 2;
                    c.prediction = Some(q)
                },
                40_000.0,
                None,
            ),
            ("momentum gate −5%", |c, _, _| c.market.ret_20d = Some(-0.06), 40_000.0, Some(Reason::MomentumGate)),
            (
                "earnings tomorrow",
                |c, _, _| c.market.days_to_earnings = Some(1),
                40_000.0,
                Some(Reason::EarningsBlackout),
            ),
        ];
        for (name, setup, usd, want) in table {
            let mut c = candidate("CAND", 80.0, 50.0);
            let mut b = book(1_000_000.0, 1_000_000.0, vec![]);
            let mut x = ctx();
            setup(&mut c, &mut b, &mut x);
            b.cash = b.nav - b.equity();
            let dd = drawdown_state(b.nav, b.peak_nav, &p);
            let v = check_entry(&c, *usd, &b, &x, &dd, &p);
            assert_eq!(v.blocked_by, *want, "{name}: {:?}", v.blocking().map(Check::describe));
            assert_eq!(v.checks.len(), 17, "{name}: every check recorded");
        }
    }

    #[test]
    fn a_blocking_check_says_what_it_compared() {
        let p = params().risk;
        let mut c = candidate("CAND", 80.0, 50.0);
        c.market.ret_20d = Some(-0.0712);
        let b = book(1e6, 1e6, vec![]);
        let v = check_entry(&c, 1000.0, &b, &ctx(), &drawdown_state(1e6, 1e6, &p), &p);
        assert_eq!(v.blocking().unwrap().describe(), "MOMENTUM_GATE failed: -0.0712 vs limit -0.05");
    }
}
