//! `scoring_weights`: how research combines its quant and qualitative scores, and the factor
//! weights inside the quant composite (tuned by the backtester's weight step).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Params;
use crate::contracts::{Checker, DocKind};
use crate::types::Fraction;

/// Weights of the within-sector factor percentiles in the quant composite (renormalised over the
/// factors that have data on a given run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorWeights {
    /// 12-1 month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_12_1: f64,
    /// 6-month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_6m: f64,
    /// 3-month momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum_3m: f64,
    /// Proximity to the 52-week high.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub high_52w: f64,
    /// Low realized volatility.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub low_volatility: f64,
    /// Short-term (1-month) reversal.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub reversal_1m: f64,
    /// Liquidity (average dollar volume).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub liquidity: f64,
    /// Distance from the next earnings date (farther is calmer).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub earnings_proximity: f64,
    /// Value (earnings, book and cash-flow yields).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub value: f64,
    /// Quality (profitability, leverage, Piotroski F, Altman Z).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub quality: f64,
    /// Growth (revenue and EPS growth).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub growth: f64,
    /// Estimate revisions.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub revisions: f64,
    /// Insider buying.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub insider: f64,
    /// Institutional flows.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub institutional: f64,
}

impl FactorWeights {
    /// (name, weight) pairs in declaration order.
    pub fn pairs(&self) -> [(&'static str, f64); 14] {
        // Every weight named (no `..`): a factor added here and not listed fails to build.
        let Self {
            momentum_12_1,
            momentum_6m,
            momentum_3m,
            high_52w,
            low_volatility,
            reversal_1m,
            liquidity,
            earnings_proximity,
            value,
            quality,
            growth,
            revisions,
            insider,
            institutional,
        } = *self;
        [
            ("momentum_12_1", momentum_12_1),
            ("momentum_6m", momentum_6m),
            ("momentum_3m", momentum_3m),
            ("high_52w", high_52w),
            ("low_volatility", low_volatility),
            ("reversal_1m", reversal_1m),
            ("liquidity", liquidity),
            ("earnings_proximity", earnings_proximity),
            ("value", value),
            ("quality", quality),
            ("growth", growth),
            ("revisions", revisions),
            ("insider", insider),
            ("institutional", institutional),
        ]
    }
}

/// How research combines its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringWeights {
    /// Weight of the quant composite (quant + qual = 1; missing qual → quant at full weight).
    pub quant: Fraction,
    /// Weight of the qualitative (LLM) score.
    pub qual: Fraction,
    /// Factor weights inside the quant composite.
    pub factors: FactorWeights,
}

impl Params for ScoringWeights {
    const NAME: &'static str = "scoring_weights";
    const KIND: DocKind = DocKind::ScoringWeights;
    fn check(&self, c: &mut Checker, p: &str) {
        let s = self.quant.get() + self.qual.get();
        if (s - 1.0).abs() > 1e-6 {
            c.push(format!("{p}quant"), format!("quant + qual = {s}, must be 1"));
        }
        if self.factors.pairs().iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            c.push(format!("{p}factors"), "at least one factor needs a positive weight");
        }
    }
}
