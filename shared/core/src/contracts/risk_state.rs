//! `risk/{date}/risk_state.json`: the book's risk each trading morning, written by the planner
//! with the order book — exposures, the factor model's decomposition and each position's marginal
//! contribution, VaR and CVaR three ways, the stress table, and the circuit breakers that fired.
//! Every figure carries the sample it rests on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Sector;
use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;
use crate::stress::StressResult;
use crate::types::{Ticker, Usd};

/// Exposure to one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectorExposure {
    /// The sector (`None`: names without one).
    pub sector: Option<Sector>,
    /// Net market value as a share of NAV.
    pub weight: f64,
}

/// The book's exposure to one factor of the risk model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorExposure {
    /// Factor name (`market`, a sector, `momentum`, `reversal`, `volatility`, `liquidity`).
    pub factor: String,
    /// Σ weight × exposure.
    pub exposure: f64,
}

/// Where the book stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exposures {
    /// Σ |market value| / NAV.
    pub gross: f64,
    /// Σ market value / NAV.
    pub net: f64,
    /// Cash / NAV.
    pub cash: f64,
    /// Σ weight × beta (the factor model's market exposure), when the model could be estimated.
    pub beta: Option<f64>,
    /// By sector, largest first.
    pub sectors: Vec<SectorExposure>,
    /// By factor of the risk model.
    pub factors: Vec<FactorExposure>,
}

/// One position's share of the book's risk (Euler: the contributions sum to σ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionRisk {
    /// Symbol.
    pub ticker: Ticker,
    /// Market value / NAV.
    pub weight: f64,
    /// Marginal contribution to the daily σ, ∂σ/∂w.
    pub mctr: f64,
    /// weight × MCTR.
    pub contribution: f64,
    /// contribution / σ.
    pub risk_share: f64,
    /// Its risk share is above the flag multiple of its share of the gross weight.
    pub flagged: bool,
}

/// The factor model's view of the book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decomposition {
    /// Predicted daily σ of the book's return.
    pub sigma: f64,
    /// Share of the variance from the factors.
    pub factor_share: f64,
    /// Share of the variance specific to the names.
    pub specific_share: f64,
    /// Variance shares by factor group (`market`, `sector`, `style`), summing to `factor_share`.
    pub groups: Vec<FactorExposure>,
    /// Sessions of cross-sections the model was estimated on.
    pub sessions: usize,
    /// Names in the last cross-section.
    pub names: usize,
    /// By position, largest contribution first.
    pub positions: Vec<PositionRisk>,
}

/// How a tail figure was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TailMethod {
    /// Today's book revalued over past sessions.
    Historical,
    /// Normal, with the factor model's σ.
    Parametric,
    /// Seeded block bootstrap of the revalued history.
    MonteCarlo,
}

/// One VaR/CVaR figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailFigure {
    /// Method.
    pub method: TailMethod,
    /// 0.95 or 0.99.
    pub confidence: f64,
    /// 1 or 10 sessions.
    pub horizon_days: u32,
    /// VaR as a return (negative: a loss).
    pub var: f64,
    /// CVaR as a return.
    pub cvar: f64,
    /// VaR in dollars (negative: a loss).
    pub var_usd: Usd,
    /// Observations, paths or sessions the figure rests on.
    pub n: usize,
}

/// The Monte Carlo P&L distribution over the longest horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonteCarlo {
    /// Paths.
    pub paths: usize,
    /// Sessions per path.
    pub horizon_days: u32,
    /// Block length, sessions.
    pub block: usize,
    /// Seed.
    pub seed: u64,
    /// Percentiles of the path return: (percent, return), 1 to 99.
    pub percentiles: Vec<(f64, f64)>,
}

/// A circuit breaker that fired at planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerFired {
    /// Rule code.
    pub rule: String,
    /// The value tested.
    pub value: f64,
    /// The limit it passed.
    pub limit: f64,
    /// What it does (`size_down × 0.70`, `halt_today`, `kill`, `alert`).
    pub effect: String,
    /// With the numbers.
    pub detail: String,
}

/// The risk state document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskState {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// The trading day (the book as of the previous close).
    pub date: TradingDay,
    /// NAV.
    pub nav: Usd,
    /// Exposures.
    pub exposures: Exposures,
    /// The factor model's decomposition (`None` when too little history to estimate it).
    pub decomposition: Option<Decomposition>,
    /// VaR and CVaR: historical, parametric, Monte Carlo × 95%/99% × 1/10 sessions.
    pub tail: Vec<TailFigure>,
    /// The Monte Carlo distribution.
    pub monte_carlo: Option<MonteCarlo>,
    /// Stress scenarios.
    pub stress: Vec<StressResult>,
    /// Breakers that fired this morning.
    pub breakers: Vec<BreakerFired>,
    /// Alerts for the operator (flagged positions, breakers, what could not be computed and why).
    pub alerts: Vec<String>,
}

impl RiskState {
    /// The one-line headline: σ, the 1-day 99% historical VaR, the worst stress, breakers.
    pub fn headline(&self) -> String {
        let var = self
            .tail
            .iter()
            .find(|t| t.method == TailMethod::Historical && t.horizon_days == 1 && (t.confidence - 0.99).abs() < 1e-9)
            .map(|t| format!("1-day 99% VaR {:.2}% ({} sessions)", -t.var * 100.0, t.n))
            .unwrap_or_else(|| "VaR: too little history".into());
        let sigma = self
            .decomposition
            .as_ref()
            .map(|d| format!("σ {:.2}%/day", d.sigma * 100.0))
            .unwrap_or_else(|| "σ: no model".into());
        let worst = self
            .stress
            .iter()
            .min_by(|a, b| a.pnl_of_nav.total_cmp(&b.pnl_of_nav))
            .map(|s| format!("worst stress {} {:.1}%", s.scenario.name, s.pnl_of_nav * 100.0))
            .unwrap_or_else(|| "no stress".into());
        let fired = if self.breakers.is_empty() {
            "no breaker fired".to_string()
        } else {
            format!("breakers: {}", self.breakers.iter().map(|b| b.rule.as_str()).collect::<Vec<_>>().join(", "))
        };
        format!("gross {:.0}%, {sigma}, {var}, {worst}; {fired}", self.exposures.gross * 100.0)
    }
}

impl Document for RiskState {
    const KIND: DocKind = DocKind::RiskState;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        if let Some(d) = &self.decomposition {
            let sum: f64 = d.positions.iter().map(|p| p.contribution).sum();
            if (sum - d.sigma).abs() > 1e-9_f64.max(1e-6 * d.sigma) {
                c.push("decomposition.positions", format!("contributions sum to {sum}, not σ {}", d.sigma));
            }
        }
        for (i, t) in self.tail.iter().enumerate() {
            if t.cvar > t.var + 1e-12 {
                c.push(
                    format!("tail[{i}].cvar"),
                    format!("{} is above the VaR {}: CVaR is the deeper loss", t.cvar, t.var),
                );
            }
        }
    }
}
