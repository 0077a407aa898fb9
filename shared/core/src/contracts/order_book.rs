//! `executor/order_books/{date}.json`: what the planner decided, for the daemon to execute.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Conviction, Direction, Regime, SignalAction, time_of_day};
use super::predictions::Driver;
use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::types::{Confidence, Fraction, Score, Ticker, Usd};

/// The deterministic id of a planned order: `{date}:{ticker}:{ACTION}`.
pub fn order_id(date: TradingDay, ticker: &Ticker, action: SignalAction) -> String {
    format!("{date}:{ticker}:{action}")
}

/// Conditions under which the daemon may enter (any one fires).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryTriggers {
    /// Enter on a pullback of this fraction from the intraday high.
    pub pullback_pct: Fraction,
    /// Enter when price is this fraction below session VWAP.
    pub vwap_discount_pct: Fraction,
    /// 20-day support (lowest low) at planning time.
    #[serde(default)]
    pub support_level: Option<Usd>,
    /// Enter within this fraction above support.
    pub support_pct: Fraction,
    /// From this New York time (`HH:MM`, 00:00..23:59), accept a price up to
    /// `close_enough_max_premium_pct` above the reference.
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub close_enough_after: String,
    /// Premium accepted after `close_enough_after`.
    pub close_enough_max_premium_pct: Fraction,
    /// New York time (`HH:MM`, 00:00..23:59) after which an untriggered entry is sent as a market order.
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub expiry_time: String,
}

impl EntryTriggers {
    /// The trigger times, by field name.
    pub fn times(&self) -> [(&'static str, &str); 2] {
        [("close_enough_after", &self.close_enough_after), ("expiry_time", &self.expiry_time)]
    }

    /// Pushes a located problem (`{at}.expiry_time: "29:00" is not a time of day ...`) for every
    /// trigger time that is not a time of day.
    pub fn check(&self, at: &str, c: &mut Checker) {
        for (name, v) in self.times() {
            if time_of_day(v).is_none() {
                c.push(format!("{at}.{name}"), format!("{v:?} is not a time of day (HH:MM, 00:00..23:59)"));
            }
        }
    }
}

/// The circuit breakers' reference levels for a day (the day's start is the book's `nav`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerLevels {
    /// NAV at the close before the loss window (today and the sessions before it).
    pub window_start_nav: Option<Usd>,
    /// Highest closing NAV before the day.
    pub peak_nav: Usd,
    /// The breakers' multiplier the plan sized entries with.
    pub planned_multiplier: f64,
}

fn one() -> f64 {
    1.0
}

/// Every factor that went into a position size (the sizer's audit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizingFactors {
    /// 1 / number of entries today.
    pub base_weight: Fraction,
    /// Sector rating multiplier.
    pub sector: f64,
    /// Conviction multiplier.
    pub conviction: f64,
    /// Price-target upside multiplier.
    pub upside: f64,
    /// Drawdown tier multiplier.
    pub drawdown: f64,
    /// Inverse-volatility (ATR) multiplier.
    pub atr: f64,
    /// Predictor confidence multiplier.
    pub confidence: f64,
    /// Signal age multiplier.
    pub staleness: f64,
    /// Share of the weight the earnings cap kept (1: the cap did not bind).
    pub earnings: f64,
    /// The circuit breakers' multiplier (1: none fired).
    #[serde(default = "one")]
    pub breakers: f64,
    /// Product of all factors times the base weight.
    pub raw_weight: f64,
    /// Weight after caps.
    pub final_weight: Fraction,
    /// Dollars to invest.
    pub dollars: Usd,
    /// Caps that bound the size (max_position, adv, ...).
    #[serde(default)]
    pub capped_by: Vec<String>,
}

/// A planned entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryOrder {
    /// `{date}:{ticker}:ENTER`.
    pub id: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Whole shares to buy.
    #[schemars(range(min = 1))]
    pub shares: u32,
    /// Price the size was computed at (last close).
    pub reference_price: Usd,
    /// ATR(14) at planning time.
    #[serde(default)]
    pub atr: Option<Usd>,
    /// Entry triggers.
    pub triggers: EntryTriggers,
    /// Sizing audit.
    pub sizing: SizingFactors,
    /// Research score.
    pub score: Score,
    /// Research conviction.
    pub conviction: Conviction,
    /// Predictor's direction, when a fresh prediction existed.
    #[serde(default)]
    pub predicted_direction: Option<Direction>,
    /// Predictor's confidence, when a fresh prediction existed.
    #[serde(default)]
    pub prediction_confidence: Option<Confidence>,
    /// Reason codes of the decision.
    pub reasons: Vec<String>,
    /// What drove the predictor's view of the name (its largest SHAP contributions), when the
    /// predictions in force give them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_drivers: Vec<Driver>,
}

/// A planned exit or reduction, sent at the open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitOrder {
    /// `{date}:{ticker}:{EXIT|REDUCE}`.
    pub id: String,
    /// Symbol.
    pub ticker: Ticker,
    /// EXIT or REDUCE.
    pub action: SignalAction,
    /// Shares to sell (never more than held minus working sells).
    #[schemars(range(min = 1))]
    pub shares: u32,
    /// Reason codes (RESEARCH_EXIT, ATR_TRAIL, LOSS_FLOOR, ...).
    pub reasons: Vec<String>,
}

/// A stop the daemon watches for a held position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopOrder {
    /// Symbol.
    pub ticker: Ticker,
    /// Shares held.
    #[schemars(range(min = 1))]
    pub shares: u32,
    /// Average cost.
    pub entry_price: Usd,
    /// First day held.
    pub entry_date: TradingDay,
    /// Highest close since entry.
    pub high_water: Usd,
    /// ATR(14), when available.
    #[serde(default)]
    pub atr: Option<Usd>,
    /// ATR multiple in force.
    pub atr_multiple: f64,
    /// Stop price in force.
    pub stop_price: Usd,
}

/// An entry the risk guard blocked (the shadow book).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockedEntry {
    /// Symbol.
    pub ticker: Ticker,
    /// The first rule that blocked it.
    pub rule: String,
    /// Why, with the numbers.
    pub reason: String,
    /// What drove the predictor's view of the name (a vetoed name's always), when the predictions
    /// in force give them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_drivers: Vec<Driver>,
}

/// The order book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBook {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// The trading day this book is for; a daemon refuses a book for any other day.
    pub date: TradingDay,
    /// Net asset value at planning.
    pub nav: Usd,
    /// Cash at planning.
    pub cash: Usd,
    /// Regime in force.
    pub market_regime: Regime,
    /// Approved entries.
    pub entries: Vec<EntryOrder>,
    /// Exits and reductions to send at the open.
    pub urgent_exits: Vec<ExitOrder>,
    /// Stops on held positions.
    pub stops: Vec<StopOrder>,
    /// Blocked entries (shadow book).
    #[serde(default)]
    pub blocked: Vec<BlockedEntry>,
    /// The executor parameters in force when the plan was made: the daemon and the paper session
    /// trade the day with these, not with whatever is in force when they start (absent in a
    /// protective book, which is made without a plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<super::params::ExecutorParams>,
    /// The circuit breakers' reference levels for the day, so the daemon evaluates them at every
    /// step against the same NAVs the planner used (absent: a protective book, or an older one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakers: Option<BreakerLevels>,
    /// One calibrated view per name research ranked (absent: a protective book, or an older one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<super::ensemble::EnsembleBook>,
}

impl Document for OrderBook {
    const KIND: DocKind = DocKind::OrderBook;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        let mut ids = BTreeSet::new();
        let mut entered = BTreeSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            let want = order_id(self.date, &e.ticker, SignalAction::Enter);
            if e.id != want {
                c.push(format!("entries[{i}].id"), format!("{:?} is not the deterministic id {want:?}", e.id));
            }
            if !ids.insert(e.id.clone()) {
                c.push(format!("entries[{i}].id"), format!("{} appears more than once", e.id));
            }
            entered.insert(e.ticker.clone());
            if e.reference_price.get() <= 0.0 {
                c.push(format!("entries[{i}].reference_price"), "must be positive");
            }
            e.triggers.check(&format!("entries[{i}].triggers"), c);
        }
        for (i, x) in self.urgent_exits.iter().enumerate() {
            if !matches!(x.action, SignalAction::Exit | SignalAction::Reduce) {
                c.push(format!("urgent_exits[{i}].action"), format!("{} is not EXIT or REDUCE", x.action));
            }
            let want = order_id(self.date, &x.ticker, x.action);
            if x.id != want {
                c.push(format!("urgent_exits[{i}].id"), format!("{:?} is not the deterministic id {want:?}", x.id));
            }
            if !ids.insert(x.id.clone()) {
                c.push(format!("urgent_exits[{i}].id"), format!("{} appears more than once", x.id));
            }
            if entered.contains(&x.ticker) {
                c.push(format!("urgent_exits[{i}].ticker"), format!("{} is both entered and exited", x.ticker));
            }
        }
        for (i, s) in self.stops.iter().enumerate() {
            if s.entry_date > self.date {
                c.push(
                    format!("stops[{i}].entry_date"),
                    format!("{} is after the book date {}", s.entry_date, self.date),
                );
            }
        }
        if self.nav.get() <= 0.0 {
            c.push("nav", format!("{} must be positive", self.nav));
        }
    }
}
