//! The risk part of the tear sheet: the circuit breakers that fired in the simulation, the
//! coverage of the morning's one-day 99% VaR against the days that followed (Kupiec's test), and
//! the period's return attributed by the factor risk model to market, sectors, styles, specific
//! returns and trading.

use std::collections::BTreeMap;

use ae_shared::risk_model::{self, Attribution, ModelParams};
use ae_shared::store::PriceStore;
use ae_shared::store::risk_panel::RiskPanel;
use ae_shared::tail_risk::kupiec;
use serde::Serialize;

use crate::sim::{BreakerEvent, SimResult};

/// The VaR's coverage over the simulated days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarCoverage {
    /// Days with a predicted VaR.
    pub days: usize,
    /// Days whose return was below −VaR.
    pub exceedances: usize,
    /// Expected exceedances at 1%.
    pub expected: f64,
    /// Kupiec's likelihood ratio and p-value (a small p: the VaR's coverage is wrong).
    pub kupiec: Option<(f64, f64)>,
}

/// The risk grade of a detailed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskGrade {
    /// Breakers by rule.
    pub breaker_counts: BTreeMap<String, usize>,
    /// Every breaker event.
    pub breakers: Vec<BreakerEvent>,
    /// The 99% VaR's coverage.
    pub var: VarCoverage,
    /// The period's attribution (`None` when the model could not be estimated over the period).
    pub attribution: Option<Attribution>,
    /// Why the attribution is missing, when it is.
    pub note: Option<String>,
}

/// Grades `res` (a detailed run).
pub fn grade(res: &SimResult, store: &PriceStore) -> RiskGrade {
    let mut breaker_counts = BTreeMap::new();
    for e in &res.breakers {
        *breaker_counts.entry(e.rule.clone()).or_default() += 1;
    }
    let pairs: Vec<(f64, f64)> = res.var_99.iter().zip(&res.returns).filter_map(|(v, r)| v.map(|v| (v, *r))).collect();
    let exceedances = pairs.iter().filter(|(v, r)| *r < -v).count();
    let var = VarCoverage {
        days: pairs.len(),
        exceedances,
        expected: pairs.len() as f64 * 0.01,
        kupiec: kupiec(exceedances, pairs.len(), 0.01),
    };
    let (attribution, note) = match attribute(res, store) {
        Ok(a) => (Some(a), None),
        Err(why) => (None, Some(why)),
    };
    RiskGrade { breaker_counts, breakers: res.breakers.clone(), var, attribution, note }
}

/// Each simulated day's return attributed from that morning's book, summed over the sessions the
/// model fits (those before it has enough history are left out; `days` says how many count).
fn attribute(res: &SimResult, store: &PriceStore) -> Result<Attribution, String> {
    let (Some(first), Some(last)) = (res.dates.first(), res.dates.last()) else {
        return Err("no simulated days".into());
    };
    if res.weights.len() != res.dates.len() {
        return Err("the run kept no daily book".into());
    }
    let panel = RiskPanel::build(&store.adjusted_as_of(*last), store.benchmark_series(), &store.sectors);
    let Some(start) = panel.dates.iter().position(|d| d == first) else {
        return Err(format!("{first} is not in the price store's sessions"));
    };
    let params = ModelParams { window: panel.dates.len() - start, ..ModelParams::default() };
    let model = risk_model::estimate(&panel.panel(), &params).map_err(|e| format!("the risk model: {e}"))?;
    let index: BTreeMap<_, usize> = panel.tickers.iter().enumerate().map(|(i, t)| (t.clone(), i)).collect();
    let mut days = Vec::with_capacity(res.dates.len());
    for ((date, w), r) in res.dates.iter().zip(&res.weights).zip(&res.returns) {
        // The model fits a session once its names have the history their exposures need.
        let Some(fit) = model.days.iter().find(|f| panel.dates.get(f.session) == Some(date)) else { continue };
        let weights: Vec<(usize, f64)> = w.iter().filter_map(|(t, x)| index.get(t).map(|i| (*i, *x))).collect();
        days.push(risk_model::attribute(fit, &weights, *r).ok_or_else(|| format!("{date}: a malformed fit"))?);
    }
    if days.is_empty() {
        return Err(format!(
            "the risk model fits none of the {} sessions (too little history before them)",
            res.dates.len()
        ));
    }
    Attribution::sum(&days).ok_or_else(|| "no day to sum".into())
}
