//! `executor/eod/{date}.json`: the end-of-day report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Side;
use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::types::{Bps, Fraction, Return, Ticker, Usd};

/// Tolerance, in dollars, between reported NAV and cash plus marked positions (also relative: 1 bp of NAV).
pub const NAV_TOLERANCE_USD: f64 = 1.0;

/// A held position at the close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionMark {
    /// Symbol.
    pub ticker: Ticker,
    /// Shares held.
    pub shares: u32,
    /// Average cost.
    pub avg_cost: Usd,
    /// Closing mark.
    pub mark: Usd,
    /// shares × mark.
    pub market_value: Usd,
    /// (mark − avg_cost) × shares.
    pub unrealized_pnl: Usd,
    /// market_value / NAV.
    pub weight: Fraction,
}

/// A fill today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FillReport {
    /// Deterministic order id.
    pub order_id: String,
    /// Symbol.
    pub ticker: Ticker,
    /// Side.
    pub side: Side,
    /// Shares filled.
    pub shares: u32,
    /// Fill price.
    pub price: Usd,
    /// The planner's reference price, when there was one.
    #[serde(default)]
    pub signal_price: Option<Usd>,
    /// Adverse slippage vs the reference price (positive = worse).
    #[serde(default)]
    pub slippage_bps: Option<Bps>,
    /// Commission paid.
    pub commission: Usd,
}

/// A risk event recorded today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskEvent {
    /// Rule or event code.
    pub rule: String,
    /// Symbol, if any.
    #[serde(default)]
    pub ticker: Option<Ticker>,
    /// What happened, with the numbers.
    pub detail: String,
}

/// An integrity check (a breach is reported, never hidden).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrityCheck {
    /// Check name (nav_matches_positions, ledger_matches_broker, ...).
    pub name: String,
    /// Passed?
    pub passed: bool,
    /// The numbers compared.
    pub detail: String,
}

/// Benchmark performance today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkDay {
    /// Which series: "SPY (total return)" from the vendor's bars, or the S&P 500 index (price
    /// return) as the historical proxy.
    pub name: String,
    /// Close.
    pub close: f64,
    /// Daily return.
    pub daily_return: Return,
}

/// Performance since inception.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cumulative {
    /// Inception day.
    pub since: TradingDay,
    /// Portfolio total return.
    pub portfolio: Return,
    /// Benchmark total return.
    pub benchmark: Return,
    /// portfolio − benchmark.
    pub alpha: f64,
}

/// The end-of-day report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EodReport {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// The trading day.
    pub date: TradingDay,
    /// Net asset value at the close.
    pub nav: Usd,
    /// Cash at the close.
    pub cash: Usd,
    /// Highest NAV so far.
    pub peak_nav: Usd,
    /// NAV / peak − 1 (≤ 0).
    #[schemars(range(max = 0.0))]
    pub drawdown: f64,
    /// Portfolio return today.
    pub daily_return: Return,
    /// Benchmark today.
    pub benchmark: BenchmarkDay,
    /// daily_return − benchmark.daily_return.
    pub alpha: f64,
    /// Since inception.
    pub cumulative: Cumulative,
    /// Realized P&L today.
    pub realized_pnl: Usd,
    /// Unrealized P&L on held positions.
    pub unrealized_pnl: Usd,
    /// Traded notional / NAV today.
    #[schemars(range(min = 0.0))]
    pub turnover: f64,
    /// Positions at the close.
    pub positions: Vec<PositionMark>,
    /// Fills today.
    pub fills: Vec<FillReport>,
    /// Mean adverse slippage of today's fills with a reference price.
    #[serde(default)]
    pub slippage_bps_mean: Option<Bps>,
    /// Risk events.
    pub risk_events: Vec<RiskEvent>,
    /// Integrity checks.
    pub integrity: Vec<IntegrityCheck>,
    /// Cash dividends accrued on an ex-date and not yet paid (part of NAV, as a broker's net
    /// liquidation counts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dividends_receivable: Option<Usd>,
    /// Cash dividends that went ex or were paid today.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dividends: Vec<DividendLine>,
    /// The morning's risk state headline (`risk/{date}/risk_state.json`), when the planner wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_headline: Option<String>,
    /// Today's return attributed to the risk model's factors, from the start-of-day book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<AttributionLine>,
}

/// A return split by the risk model: the parts sum to `total`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionLine {
    /// Σ w β × the benchmark's return.
    pub market: f64,
    /// The sector factors.
    pub sector: f64,
    /// The style factors (momentum, reversal, volatility, liquidity).
    pub style: f64,
    /// The names' specific returns.
    pub specific: f64,
    /// What the start-of-day book does not explain: trades, costs, dividends, unmodelled names.
    pub trading: f64,
    /// Over a period, the compounded return minus the summed daily parts (0 for a day).
    pub compounding: f64,
    /// The return.
    pub total: f64,
    /// Sessions.
    pub days: usize,
}

/// A cash dividend in the day's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DividendLine {
    /// Symbol.
    pub ticker: Ticker,
    /// Ex-dividend date.
    pub ex_date: chrono::NaiveDate,
    /// Pay date.
    pub pay_date: chrono::NaiveDate,
    /// Shares held at the ex-date's open.
    pub shares: u32,
    /// Dollars.
    pub amount: Usd,
    /// Paid into cash (today or before), or still receivable.
    pub paid: bool,
}

impl EodReport {
    /// Cash plus marked positions plus dividends receivable.
    pub fn marked_nav(&self) -> Usd {
        self.cash
            + self.positions.iter().map(|p| p.market_value).sum::<Usd>()
            + self.dividends_receivable.unwrap_or(Usd::ZERO)
    }

    /// Whether NAV agrees with cash plus marked positions within tolerance.
    pub fn nav_agrees(&self) -> bool {
        let tol = NAV_TOLERANCE_USD.max(self.nav.get().abs() * 1e-4);
        (self.nav.get() - self.marked_nav().get()).abs() <= tol
    }
}

impl Document for EodReport {
    const KIND: DocKind = DocKind::Eod;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        let expect_alpha = self.daily_return.get() - self.benchmark.daily_return.get();
        if (self.alpha - expect_alpha).abs() > 1e-9 {
            c.push("alpha", format!("{} is not daily_return − benchmark.daily_return = {expect_alpha}", self.alpha));
        }
        let cum = self.cumulative.portfolio.get() - self.cumulative.benchmark.get();
        if (self.cumulative.alpha - cum).abs() > 1e-9 {
            c.push("cumulative.alpha", format!("{} is not portfolio − benchmark = {cum}", self.cumulative.alpha));
        }
        for (i, p) in self.positions.iter().enumerate() {
            let mv = p.shares as f64 * p.mark.get();
            if (p.market_value.get() - mv).abs() > 0.01 {
                c.push(
                    format!("positions[{i}].market_value"),
                    format!("{} is not shares × mark = {mv:.2}", p.market_value),
                );
            }
        }
        if let Some(a) = &self.attribution {
            let parts = a.market + a.sector + a.style + a.specific + a.trading + a.compounding;
            if (parts - a.total).abs() > 1e-9 {
                c.push("attribution", format!("the parts sum to {parts}, not the total {}", a.total));
            }
        }
        if self.peak_nav.get() + 1e-6 < self.nav.get() {
            c.push("peak_nav", format!("{} is below today's NAV {}", self.peak_nav, self.nav));
        }
        // A NAV that disagrees with its positions must be flagged, never hidden.
        let claimed_ok = self.integrity.iter().find(|i| i.name == "nav_matches_positions").map(|i| i.passed);
        if !self.nav_agrees() {
            if claimed_ok != Some(false) {
                c.push(
                    "integrity",
                    format!(
                        "NAV {} disagrees with cash + positions {} but no failed nav_matches_positions check is reported",
                        self.nav,
                        self.marked_nav()
                    ),
                );
            }
        } else if claimed_ok.is_none() {
            c.push("integrity", "the nav_matches_positions check is missing");
        }
    }
}
