//! Reason codes: every decision carries the codes of the rules that made it.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident => $code:literal,)*) => {
        /// Why a rule decided what it decided (stable codes, written to the ledger and documents).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Reason {
            $($(#[$doc])* #[serde(rename = $code)] $name,)*
        }

        impl Reason {
            /// Every code, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];

            /// The stable code (`MIN_SCORE`).
            pub fn code(self) -> &'static str {
                match self {
                    $(Reason::$name => $code,)*
                }
            }

            /// Parses a code.
            pub fn from_code(code: &str) -> Option<Reason> {
                match code {
                    $($code => Some(Reason::$name),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    // --- risk guard (entries) ---
    /// The kill switch is set: no new entries.
    KillSwitch => "KILL_SWITCH",
    /// NAV is zero or negative.
    NavNonpositive => "NAV_NONPOSITIVE",
    /// The symbol's data is quarantined by governance.
    DqBlocked => "DQ_BLOCKED",
    /// Research score below the minimum (or missing).
    MinScore => "MIN_SCORE",
    /// Research conviction is declining.
    ConvictionDeclining => "CONVICTION_DECLINING",
    /// Drawdown reached the breaker: entries halted.
    DrawdownHalt => "DRAWDOWN_HALT",
    /// Drawdown band: entries sized down.
    DrawdownThrottle => "DRAWDOWN_THROTTLE",
    /// The position would exceed the largest allowed weight.
    MaxPosition => "MAX_POSITION",
    /// Bear regime and an underweight sector.
    BearUnderweight => "BEAR_UNDERWEIGHT",
    /// The sector would exceed its cap.
    MaxSector => "MAX_SECTOR",
    /// Total equity would exceed its cap.
    MaxEquity => "MAX_EQUITY",
    /// Too correlated with held names of the same sector.
    Correlation => "CORRELATION",
    /// The predictor vetoes the entry (high-confidence DOWN).
    GbmVeto => "GBM_VETO",
    /// 20-day return below the momentum gate.
    MomentumGate => "MOMENTUM_GATE",
    /// Earnings too close.
    EarningsBlackout => "EARNINGS_BLACKOUT",
    /// The signals in force are older than allowed.
    StaleSignals => "STALE_SIGNALS",
    /// Predictions are older than allowed: predictor gates and sizing skipped.
    StalePredictions => "STALE_PREDICTIONS",
    /// No prediction for this name: predictor gates and sizing skipped.
    NoPrediction => "NO_PREDICTION",
    /// Already held: no second entry.
    AlreadyHeld => "ALREADY_HELD",
    /// No usable price.
    NoPrice => "NO_PRICE",
    /// The size fell below the minimum position.
    BelowMinDollars => "BELOW_MIN_DOLLARS",
    /// Size capped at the share of average daily dollar volume.
    AdvCapped => "ADV_CAPPED",
    /// Size capped by available cash.
    CashCapped => "CASH_CAPPED",
    /// Size capped at the largest position.
    MaxPositionCapped => "MAX_POSITION_CAPPED",
    /// Size capped by the ATR volatility cap.
    AtrCapped => "ATR_CAPPED",
    /// Within the earnings window the size was capped at a share of the position cap.
    EarningsCapped => "EARNINGS_CAPPED",
    /// Size capped at the ensemble's fractional-Kelly weight (when the sizer uses the ensemble).
    KellyCapped => "KELLY_CAPPED",
    /// Every check passed.
    Approved => "APPROVED",
    // --- exit manager ---
    /// Research says EXIT.
    ResearchExit => "RESEARCH_EXIT",
    /// Research says REDUCE.
    ResearchReduce => "RESEARCH_REDUCE",
    /// One-day drop at or beyond the catastrophic gap.
    CatastrophicGap => "CATASTROPHIC_GAP",
    /// Loss from average cost at or beyond the floor.
    LossFloor => "LOSS_FLOOR",
    /// Close below the ATR trailing stop.
    AtrTrail => "ATR_TRAIL",
    /// ATR exit suppressed: the name beats its sector.
    SectorRelVeto => "SECTOR_REL_VETO",
    /// No ATR: close below the fixed fallback stop.
    FallbackStop => "FALLBACK_STOP",
    /// Unrealized gain reached the profit-take level.
    ProfitTake => "PROFIT_TAKE",
    /// 20-day momentum and RSI collapsed.
    MomentumExit => "MOMENTUM_EXIT",
    /// Held long enough under HOLD: reduce.
    TimeDecayReduce => "TIME_DECAY_REDUCE",
    /// Held too long under HOLD: exit.
    TimeDecayExit => "TIME_DECAY_EXIT",
    /// Nothing to do for this holding.
    Hold => "HOLD",
    // --- intraday exits ---
    /// Price below the intraday ATR trail.
    IntradayTrail => "INTRADAY_TRAIL",
    /// Up enough from entry: sell part.
    IntradayProfitHalf => "INTRADAY_PROFIT_HALF",
    /// Collapse from the intraday high.
    IntradayCollapse => "INTRADAY_COLLAPSE",
    // --- entry triggers ---
    /// Pullback from the intraday high.
    Pullback => "PULLBACK",
    /// Below session VWAP.
    VwapDiscount => "VWAP_DISCOUNT",
    /// Just above support.
    SupportBounce => "SUPPORT_BOUNCE",
    /// Afternoon, close enough to the reference price.
    CloseEnough => "CLOSE_ENOUGH",
    /// No trigger by the expiry time: market order.
    TimeExpiry => "TIME_EXPIRY",
    /// A daily fill model of the backtester: the planned entry at the open.
    AtOpen => "AT_OPEN",
    /// A daily fill model of the backtester: the planned entry at the close.
    AtClose => "AT_CLOSE",
    // --- pre-trade ---
    /// A sell was clamped to held minus working sells.
    SellClamped => "SELL_CLAMPED",
    /// Nothing left to sell (held minus working sells is zero).
    NothingToSell => "NOTHING_TO_SELL",
    /// Not enough cash for the order.
    InsufficientCash => "INSUFFICIENT_CASH",
    /// Order value above the per-order limit.
    OrderTooLarge => "ORDER_TOO_LARGE",
    /// The order book is dated for another day.
    WrongDay => "WRONG_DAY",
    /// The broker refused the order.
    OrderRejected => "ORDER_REJECTED",
    /// The broker answered an order with an error it did not classify, too many times: given up.
    BrokerError => "BROKER_ERROR",
    // --- circuit breakers ---
    /// The day's loss passed the size-down threshold: entries sized down.
    DailyLossSizeDown => "DAILY_LOSS_SIZE_DOWN",
    /// The day's loss passed the halt threshold: no new entries today.
    DailyLossHalt => "DAILY_LOSS_HALT",
    /// The loss over the window (5 sessions) passed its threshold: entries sized down.
    WindowLossSizeDown => "WINDOW_LOSS_SIZE_DOWN",
    /// The drawdown from peak reached the kill threshold: the kill switch is set.
    DrawdownKill => "DRAWDOWN_KILL",
    /// A position grew past its trim share of NAV: trimmed back to the position cap.
    PositionTrim => "POSITION_TRIM",
    /// The book's one-day 99% VaR is above its limit: entries scaled down.
    VarLimit => "VAR_LIMIT",
    /// The book's one-day 99% CVaR is above its limit: entries scaled down.
    CvarLimit => "CVAR_LIMIT",
    /// The held names' mean pairwise correlation is above the alert level.
    CorrelationAlert => "CORRELATION_ALERT",
    /// After a breaker's kill switch was cleared, entries ramp back to full size.
    RecoveryRamp => "RECOVERY_RAMP",
    // --- kill switch and protection ---
    /// The operator asked to flatten the book: every position sold at market.
    Flatten => "KILL_SWITCH_FLATTEN",
    /// The kill switch was set, changed or cleared.
    KillSwitchChanged => "KILL_SWITCH_CHANGED",
    /// The entries kill switch cancelled a working entry.
    KillSwitchCancel => "KILL_SWITCH_CANCEL",
    /// No order book for the day: the daemon protects what is held (exits and stops only).
    NoOrderBook => "NO_ORDER_BOOK",
    /// An entry of the order book could not be read (a trigger time, a price): dropped, the rest goes on.
    BadEntry => "BAD_ENTRY",
    // --- reconciliation (the broker's facts the ledger did not expect) ---
    /// An execution of an order the ledger does not know: booked as an external order.
    ExternalExecution => "EXTERNAL_EXECUTION",
    /// An execution that arrived after its order ended (cancelled, expired, rejected).
    LateFill => "LATE_FILL",
    /// More shares executed than the order asked for: the excess is booked as external.
    Overfill => "OVERFILL",
    /// A sell the ledger's position did not cover: booked, the ledger's position floors at zero.
    SellBeyondLedger => "SELL_BEYOND_LEDGER",
    /// The broker's position differs from the ledger's after booking every execution.
    PositionBreak => "POSITION_BREAK",
    /// The broker shows a short position in a long-only account.
    ShortPosition => "SHORT_POSITION",
    /// The broker reported an event the order's state does not allow: nothing changed, reported.
    OrderEventRefused => "ORDER_EVENT_REFUSED",
    /// An order of an earlier day was still working in the ledger: settled at the start of the day.
    StaleOrder => "STALE_ORDER",
}

impl Reason {
    /// A circuit breaker's rule ([`crate::breakers`]).
    pub fn is_breaker(self) -> bool {
        matches!(
            self,
            Reason::DailyLossSizeDown
                | Reason::DailyLossHalt
                | Reason::WindowLossSizeDown
                | Reason::DrawdownKill
                | Reason::PositionTrim
                | Reason::VarLimit
                | Reason::CvarLimit
                | Reason::CorrelationAlert
                | Reason::RecoveryRamp
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Codes as strings (for documents).
pub fn codes(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(|r| r.code().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
            assert_eq!(Reason::from_code(r.code()), Some(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{}\"", r.code()));
        }
    }
}
