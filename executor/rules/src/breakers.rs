//! Circuit breakers: pure rules over the account's losses, drawdown, tail risk and correlation.
//! The planner evaluates them each morning, the daemon's engine at every step with the NAV marked
//! at the tick, and the backtester's simulator exactly as the daemon does, so a backtest honours
//! them as live.
//!
//! | rule | when | effect |
//! |---|---|---|
//! | `DAILY_LOSS_SIZE_DOWN` | the day's loss from the previous close > 1.5% | entries × 0.7 |
//! | `DAILY_LOSS_HALT` | the day's loss > 2.5% | no new entries today |
//! | `WINDOW_LOSS_SIZE_DOWN` | the loss over the last 5 sessions (today included) > 4% | entries × 0.7 |
//! | `DRAWDOWN_KILL` | the drawdown from peak NAV ≥ 8% | the persistent kill switch |
//! | `VAR_LIMIT`, `CVAR_LIMIT` | the book's one-day 99% VaR / CVaR above its limit | entries × limit / figure |
//! | `RECOVERY_RAMP` | sessions since a breaker's kill switch was cleared | entries × 20% … 100% |
//! | `CORRELATION_ALERT` | the held names' mean pairwise correlation > 0.6 | an alert, with the effective number of bets |
//! | `POSITION_TRIM` | a position > 8% of NAV | trimmed to the position cap ([`trims`]) |
//!
//! Multipliers compound; every rule that fires is recorded with its value and limit. The numbers
//! are `executor.breakers` (bounded, sweepable).

use ae_core::contracts::order_book::BreakerLevels;
use ae_core::contracts::params::{BreakerParams, ExecutorParams};
use ae_core::tail_risk::{Tail, book_returns};
use ae_core::types::Ticker;
use serde::{Deserialize, Serialize};

use crate::correlation::{BookCorrelation, book_correlation};
use crate::reason::Reason;
use crate::view::Book;

/// What a fired breaker does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Entries are sized by this multiplier.
    SizeDown(f64),
    /// No new entries for the rest of the day.
    HaltToday,
    /// The persistent kill switch is set.
    Kill,
    /// An alert only.
    Alert,
}

/// One rule that fired, with what it compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    /// The rule.
    pub rule: Reason,
    /// The value tested.
    pub value: f64,
    /// The limit it passed.
    pub limit: f64,
    /// What it does.
    pub effect: Effect,
    /// A readable line with the numbers.
    pub detail: String,
}

/// The book's one-day tail the VaR limits read (losses as positive shares of NAV).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BookTail {
    /// One-day 99% VaR, a loss as a positive share of NAV.
    pub var_99: f64,
    /// One-day 99% CVaR, a loss as a positive share of NAV.
    pub cvar_99: f64,
    /// Sessions the figure rests on.
    pub n: usize,
}

/// Fewest sessions of revaluation a tail figure needs to be read by the limits.
pub const MIN_TAIL_SESSIONS: usize = 60;

/// Today's book (weights as shares of NAV with each name's daily returns, oldest first) revalued
/// over its last `p.var_days` sessions: the one-day 99% VaR and CVaR the limits read. `None` for
/// an empty book or fewer than [`MIN_TAIL_SESSIONS`] complete sessions.
pub fn book_tail(positions: &[(f64, &[f64])], p: &BreakerParams) -> Option<BookTail> {
    if positions.is_empty() {
        return None;
    }
    let history = book_returns(positions);
    let window = &history[history.len().saturating_sub(p.var_days as usize)..];
    if window.len() < MIN_TAIL_SESSIONS {
        return None;
    }
    let t = Tail::of(window, 0.01);
    Some(BookTail { var_99: (-t.var).max(0.0), cvar_99: (-t.cvar).max(0.0), n: t.n })
}

/// The tail and correlation of today's book: each holding's weight (market value / NAV) with its
/// daily returns (aligned by session, oldest first, from `returns`), revalued over
/// `breakers.var_days` sessions ([`book_tail`]) and correlated over `risk.correlation_days`
/// ([`crate::correlation::book_correlation`]). The planner and the simulator both call this.
pub fn book_risk<'a>(
    book: &Book,
    returns: impl Fn(&Ticker) -> Option<&'a [f64]>,
    p: &ExecutorParams,
) -> (Option<BookTail>, Option<BookCorrelation>) {
    book_risk_with(book, returns, p, book_correlation)
}

/// [`book_risk`] with the correlation computed by `correlate` (the held names' series and the
/// lookback), which must equal [`crate::correlation::book_correlation`]: the simulator passes a
/// memo of it shared by the grid points of a sweep.
pub fn book_risk_with<'a>(
    book: &Book,
    returns: impl Fn(&Ticker) -> Option<&'a [f64]>,
    p: &ExecutorParams,
    correlate: impl FnOnce(&[&'a [f64]], usize) -> Option<BookCorrelation>,
) -> (Option<BookTail>, Option<BookCorrelation>) {
    if book.nav <= 0.0 {
        return (None, None);
    }
    let held: Vec<(f64, &'a [f64])> =
        book.holdings.iter().filter_map(|h| returns(&h.ticker).map(|r| (h.market_value() / book.nav, r))).collect();
    let series: Vec<&'a [f64]> = held.iter().map(|(_, r)| *r).collect();
    (book_tail(&held, &p.breakers), correlate(&series, p.risk.correlation_days as usize))
}

/// NAV at the close before the loss window of `n` sessions ending today: the close `n` sessions
/// back among `closes` (closing NAVs before today, oldest first), or `starting_cash` when the
/// account began inside the window. The planner (from the ledger) and the simulator call this.
pub fn window_start_nav(closes: &[f64], n: usize, starting_cash: Option<f64>) -> Option<f64> {
    if n > 0 && closes.len() >= n { Some(closes[closes.len() - n]) } else { starting_cash }
}

/// What the breakers read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BreakerInputs {
    /// NAV now (the last close in the morning; marked at the tick intraday).
    pub nav: f64,
    /// NAV at the previous close (the day's reference).
    pub day_start_nav: f64,
    /// NAV at the close before the loss window (today and the `loss_window_days − 1` sessions
    /// before it); `None` without that much history.
    pub window_start_nav: Option<f64>,
    /// Highest closing NAV before today.
    pub peak_nav: f64,
    /// The kill switch is already set.
    pub kill_switch: bool,
    /// Sessions since a kill switch set by a breaker was cleared (0 on the day it was cleared).
    pub sessions_since_clear: Option<u32>,
    /// The book's tail, when there is enough history.
    pub tail: Option<BookTail>,
    /// The held names' correlation, when there are two or more with history.
    pub correlation: Option<BookCorrelation>,
}

/// The breakers' verdict.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Breakers {
    /// Multiplier for new entries (the product of every size-down).
    pub multiplier: f64,
    /// No new entries today.
    pub halted: bool,
    /// The kill switch must be set (it was not already).
    pub kill: bool,
    /// Every rule that fired, in the table's order.
    pub fired: Vec<Fired>,
}

impl Breakers {
    /// The loss breakers' share of the multiplier (the day's and the window's size-downs): the
    /// part the daemon re-evaluates at every step.
    pub fn loss_multiplier(&self) -> f64 {
        self.fired
            .iter()
            .filter(|f| matches!(f.rule, Reason::DailyLossSizeDown | Reason::WindowLossSizeDown))
            .filter_map(|f| if let Effect::SizeDown(m) = f.effect { Some(m) } else { None })
            .product()
    }

    /// New entries may be made (at `multiplier`).
    pub fn entries_allowed(&self) -> bool {
        !self.halted && !self.kill
    }
}

/// Beyond a limit, past float noise: a loss of exactly the limit does not fire.
fn beyond(value: f64, limit: f64) -> bool {
    value > limit + 1e-12
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// Evaluates every breaker.
pub fn evaluate(x: &BreakerInputs, p: &BreakerParams) -> Breakers {
    let mut out = Breakers { multiplier: 1.0, ..Default::default() };
    let fire = |out: &mut Breakers, rule: Reason, value: f64, limit: f64, effect: Effect, detail: String| {
        match effect {
            Effect::SizeDown(m) => out.multiplier *= m,
            Effect::HaltToday => out.halted = true,
            Effect::Kill => out.kill = true,
            Effect::Alert => {}
        }
        out.fired.push(Fired { rule, value, limit, effect, detail });
    };
    let loss = |from: f64| if from > 0.0 { 1.0 - x.nav / from } else { 0.0 };
    let size_down = p.size_down_multiplier.get();
    let day = loss(x.day_start_nav);
    if beyond(day, p.daily_loss_halt_pct.get()) {
        let limit = p.daily_loss_halt_pct.get();
        fire(
            &mut out,
            Reason::DailyLossHalt,
            day,
            limit,
            Effect::HaltToday,
            format!("the day's loss {} is beyond {}: no new entries today", pct(day), pct(limit)),
        );
    } else if beyond(day, p.daily_loss_size_down_pct.get()) {
        let limit = p.daily_loss_size_down_pct.get();
        fire(
            &mut out,
            Reason::DailyLossSizeDown,
            day,
            limit,
            Effect::SizeDown(size_down),
            format!("the day's loss {} is beyond {}: entries × {size_down}", pct(day), pct(limit)),
        );
    }
    if let Some(start) = x.window_start_nav {
        let w = loss(start);
        let limit = p.window_loss_size_down_pct.get();
        if beyond(w, limit) {
            fire(
                &mut out,
                Reason::WindowLossSizeDown,
                w,
                limit,
                Effect::SizeDown(size_down),
                format!(
                    "the loss over {} sessions {} is beyond {}: entries × {size_down}",
                    p.loss_window_days,
                    pct(w),
                    pct(limit)
                ),
            );
        }
    }
    let peak = x.peak_nav.max(x.day_start_nav);
    let dd = if peak > 0.0 { (1.0 - x.nav / peak).max(0.0) } else { 0.0 };
    let kill_at = p.kill_drawdown_pct.get();
    if dd >= kill_at - 1e-12 && !x.kill_switch {
        fire(
            &mut out,
            Reason::DrawdownKill,
            dd,
            kill_at,
            Effect::Kill,
            format!(
                "drawdown {} from the peak NAV {peak:.2} reached {}: the kill switch is set until an operator clears it",
                pct(dd),
                pct(kill_at)
            ),
        );
    }
    if let Some(t) = x.tail {
        for (rule, figure, limit, name) in [
            (Reason::VarLimit, t.var_99, p.var_limit_pct.get(), "VaR"),
            (Reason::CvarLimit, t.cvar_99, p.cvar_limit_pct.get(), "CVaR"),
        ] {
            if beyond(figure, limit) {
                let m = limit / figure;
                fire(
                    &mut out,
                    rule,
                    figure,
                    limit,
                    Effect::SizeDown(m),
                    format!(
                        "the book's one-day 99% {name} {} (over {} sessions) is above {}: entries × {m:.2}",
                        pct(figure),
                        t.n,
                        pct(limit)
                    ),
                );
            }
        }
    }
    if let Some(k) = x.sessions_since_clear
        && k + 1 < p.recovery_days
    {
        // Tiers from `start` on the day of the clearing to 100% on session `recovery_days`.
        let start = p.recovery_start.get();
        let m = start + (1.0 - start) * k as f64 / (p.recovery_days - 1) as f64;
        fire(
            &mut out,
            Reason::RecoveryRamp,
            k as f64,
            p.recovery_days as f64,
            Effect::SizeDown(m),
            format!(
                "session {} of {} since a breaker's kill switch was cleared: entries × {m:.2}",
                k + 1,
                p.recovery_days
            ),
        );
    }
    if let Some(c) = x.correlation
        && beyond(c.mean, p.correlation_alert)
    {
        fire(
            &mut out,
            Reason::CorrelationAlert,
            c.mean,
            p.correlation_alert,
            Effect::Alert,
            format!(
                "the {} held names' mean pairwise correlation is {:.2} (above {:.2}): {:.1} effective bets",
                c.names, c.mean, p.correlation_alert, c.effective_bets
            ),
        );
    }
    out
}

/// The breakers during the day at `nav`, against the order book's reference levels (the day's
/// start is the book's NAV): the verdict and the size scale for entries made now (the loss
/// breakers' multiplier relative to the one the plan sized with, never above 1). The daemon's
/// engine and the simulator's daily fill models call this.
pub fn during_day(
    nav: f64,
    day_start_nav: f64,
    levels: &BreakerLevels,
    kill_switch: bool,
    p: &BreakerParams,
) -> (Breakers, f64) {
    let b = evaluate(
        &BreakerInputs {
            nav,
            day_start_nav,
            window_start_nav: levels.window_start_nav.map(|u| u.get()),
            peak_nav: levels.peak_nav.get(),
            kill_switch,
            ..Default::default()
        },
        p,
    );
    let planned = levels.planned_multiplier;
    let scale = if planned > 0.0 { (b.multiplier / planned).min(1.0) } else { 1.0 };
    (b, scale)
}

/// A position to trim back to the position cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trim {
    /// Symbol.
    pub ticker: Ticker,
    /// Shares to sell.
    pub shares: u32,
    /// The position's share of NAV before the trim.
    pub weight: f64,
}

/// Positions above `trim_position_pct` of NAV, with the shares that bring each back to the
/// position cap in force (`max_position`), never more than is held beyond working sells.
pub fn trims(book: &Book, max_position: f64, p: &BreakerParams) -> Vec<Trim> {
    if book.nav <= 0.0 {
        return Vec::new();
    }
    book.holdings
        .iter()
        .filter_map(|h| {
            let price = h.market.close;
            let weight = h.market_value() / book.nav;
            if !(price > 0.0 && price.is_finite()) || weight <= p.trim_position_pct.get() {
                return None;
            }
            let keep = (max_position * book.nav / price).floor() as u32;
            let shares = h.shares.saturating_sub(keep).min(h.shares.saturating_sub(h.working_sells));
            (shares > 0).then(|| Trim { ticker: h.ticker.clone(), shares, weight })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{book, holding, params};

    fn at(nav: f64) -> BreakerInputs {
        BreakerInputs { nav, day_start_nav: 1_000_000.0, peak_nav: 1_000_000.0, ..Default::default() }
    }

    #[test]
    fn the_breaker_table() {
        let p = params().breakers;
        type Setup = fn(&mut BreakerInputs);
        // (name, setup, rules fired, multiplier, halted, kill)
        type Row<'a> = (&'a str, Setup, &'a [Reason], f64, bool, bool);
        let table: &[Row] = &[
            ("a flat day fires nothing", |_| {}, &[], 1.0, false, false),
            ("−1.5% exactly is not beyond", |x| x.nav = 985_000.0, &[], 1.0, false, false),
            ("−2% sizes down 30%", |x| x.nav = 980_000.0, &[Reason::DailyLossSizeDown], 0.7, false, false),
            ("−3% halts the day", |x| x.nav = 970_000.0, &[Reason::DailyLossHalt], 1.0, true, false),
            (
                "a 5-session loss of 4.5% sizes down",
                |x| {
                    x.window_start_nav = Some(1_047_120.0);
                    x.peak_nav = 1_047_120.0
                },
                &[Reason::WindowLossSizeDown],
                0.7,
                false,
                false,
            ),
            (
                "both losses compound",
                |x| {
                    x.nav = 980_000.0;
                    x.window_start_nav = Some(1_030_000.0);
                    x.peak_nav = 1_030_000.0
                },
                &[Reason::DailyLossSizeDown, Reason::WindowLossSizeDown],
                0.49,
                false,
                false,
            ),
            (
                "an 8% drawdown sets the kill switch",
                |x| x.peak_nav = 1_086_957.0,
                &[Reason::DrawdownKill],
                1.0,
                false,
                true,
            ),
            (
                "an 8% drawdown with the kill switch already set fires nothing new",
                |x| {
                    x.peak_nav = 1_100_000.0;
                    x.kill_switch = true
                },
                &[],
                1.0,
                false,
                false,
            ),
            (
                "VaR 5% over a 4% limit scales entries by 0.8",
                |x| x.tail = Some(BookTail { var_99: 0.05, cvar_99: 0.055, n: 250 }),
                &[Reason::VarLimit],
                0.8,
                false,
                false,
            ),
            (
                "VaR and CVaR both over compound",
                |x| x.tail = Some(BookTail { var_99: 0.05, cvar_99: 0.08, n: 250 }),
                &[Reason::VarLimit, Reason::CvarLimit],
                0.8 * 0.75,
                false,
                false,
            ),
            (
                "the ramp's first session is 20%",
                |x| x.sessions_since_clear = Some(0),
                &[Reason::RecoveryRamp],
                0.2,
                false,
                false,
            ),
            (
                "the ramp's fourth session is 80%",
                |x| x.sessions_since_clear = Some(3),
                &[Reason::RecoveryRamp],
                0.8,
                false,
                false,
            ),
            ("the ramp ends after 5 sessions", |x| x.sessions_since_clear = Some(5), &[], 1.0, false, false),
            (
                "a correlated book is an alert only",
                |x| x.correlation = Some(BookCorrelation { mean: 0.65, effective_bets: 2.1, names: 12 }),
                &[Reason::CorrelationAlert],
                1.0,
                false,
                false,
            ),
        ];
        for (name, setup, rules, m, halted, kill) in table {
            let mut x = at(1_000_000.0);
            setup(&mut x);
            let b = evaluate(&x, &p);
            let fired: Vec<Reason> = b.fired.iter().map(|f| f.rule).collect();
            assert_eq!(&fired, rules, "{name}");
            assert!((b.multiplier - m).abs() < 1e-9, "{name}: multiplier {}", b.multiplier);
            assert_eq!((b.halted, b.kill), (*halted, *kill), "{name}");
            assert_eq!(b.entries_allowed(), !halted && !kill, "{name}");
        }
    }

    #[test]
    fn a_fired_breaker_says_what_it_compared() {
        let b = evaluate(&at(970_000.0), &params().breakers);
        assert_eq!(b.fired[0].detail, "the day's loss 3.00% is beyond 2.50%: no new entries today");
        assert_eq!((b.fired[0].value, b.fired[0].limit), (1.0 - 0.97, 0.025));
    }

    #[test]
    fn an_oversized_position_is_trimmed_back_to_the_cap_never_below_what_is_sellable() {
        let p = params().breakers;
        // 1M NAV: 1,000 shares at $90 = 9% (> 8%) → keep floor(50,000 / 90) = 555, sell 445.
        let big = holding("BIG", 1_000, 50.0, 90.0);
        let fine = holding("FINE", 700, 50.0, 100.0);
        let b = book(1_000_000.0, 1_000_000.0, vec![big.clone(), fine]);
        assert_eq!(trims(&b, 0.05, &p), vec![Trim { ticker: big.ticker.clone(), shares: 445, weight: 0.09 }]);
        // 900 of the 1,000 shares already being sold: only 100 more can go.
        let mut selling = big.clone();
        selling.working_sells = 900;
        let b = book(1_000_000.0, 1_000_000.0, vec![selling]);
        assert_eq!(trims(&b, 0.05, &p)[0].shares, 100);
    }

    #[test]
    fn the_tail_needs_enough_sessions_and_reads_losses_as_positive() {
        let p = params().breakers;
        let r: Vec<f64> = (0..300).map(|i| if i % 50 == 0 { -0.06 } else { 0.001 }).collect();
        let t = book_tail(&[(0.5, &r)], &p).unwrap();
        assert_eq!(t.n, 250, "the last var_days sessions");
        assert!((t.var_99 - 0.03).abs() < 1e-3 && t.cvar_99 >= t.var_99, "{t:?}");
        assert_eq!(book_tail(&[(0.5, &r[..59])], &p), None);
        assert_eq!(book_tail(&[], &p), None);
    }
}
