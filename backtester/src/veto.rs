//! Veto threshold calibration. The predictor vetoes an entry when it predicts DOWN with at least
//! the threshold confidence. For each candidate threshold, the precision of the veto is the share
//! of vetoed names that then lagged the benchmark over the predictions' horizon. The threshold
//! with the best lower Wilson bound on the training days is proposed; it is written only when, on
//! the holdout days, it vetoes enough names and its lower bound is above a coin flip. Without
//! predictions on the bus there is nothing to calibrate, and the report says so.

use ae_shared::contracts::common::Direction;
use ae_shared::contracts::gate::{GateCheck, Gates};
use ae_shared::contracts::params::{Evidence, HoldoutResult, OverfittingCheck, PredictorParams};
use ae_shared::contracts::predictions::Predictions;
use ae_shared::metrics::wilson_interval;
use ae_shared::types::Fraction;
use serde::Serialize;

use crate::outcomes::Outcomes;

/// The parameter path the calibration tunes (its write-back takes precedence there only).
pub const TUNED: &str = "veto_confidence";

/// One threshold's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// Confidence threshold.
    pub threshold: f64,
    /// Vetoed (training).
    pub n: u64,
    /// Of which lagged the benchmark.
    pub correct: u64,
    /// Lower 95% Wilson bound of the precision.
    pub lower: f64,
}

/// The calibration's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VetoOutcome {
    /// Predictions documents read, training and holdout.
    pub documents: (usize, usize),
    /// Per threshold (training days).
    pub table: Vec<Threshold>,
    /// Threshold in force.
    pub current: f64,
    /// Proposed threshold.
    pub proposed: Option<f64>,
    /// Holdout: vetoed, correct, lower bound.
    pub holdout: Option<(u64, u64, f64)>,
    /// Whether every gate passed.
    pub promote: bool,
    /// Gates.
    pub gates: Vec<String>,
}

fn tally(docs: &[Predictions], out: &Outcomes, thr: f64) -> (u64, u64) {
    let (mut n, mut k) = (0, 0);
    for d in docs {
        let as_of = d.date.prev();
        for e in &d.entries {
            if e.predicted_direction != Direction::Down || e.confidence.get() < thr {
                continue;
            }
            let Some(x) = out.excess(&e.ticker, as_of, d.horizon_days as usize) else { continue };
            n += 1;
            k += u64::from(x < 0.0);
        }
    }
    (n, k)
}

/// Calibrates on `docs` (oldest first).
pub fn calibrate(
    docs: &[Predictions],
    out: &Outcomes,
    current: &PredictorParams,
    holdout_fraction: f64,
    min_samples: u32,
) -> VetoOutcome {
    // Only documents whose horizon has played out count, so the holdout is not left empty.
    let docs: Vec<Predictions> =
        docs.iter().filter(|d| out.bench(d.date.prev(), d.horizon_days as usize).is_some()).cloned().collect();
    let (train, holdout) = docs.split_at(crate::gate::train_len(docs.len(), holdout_fraction));
    let lo = current.veto_min.get();
    let hi = current.veto_max.get();
    let mut table = Vec::new();
    let mut t = (lo * 20.0).ceil() / 20.0;
    while t <= hi + 1e-9 {
        let (n, k) = tally(train, out, t);
        table.push(Threshold { threshold: t, n, correct: k, lower: wilson_interval(k, n, 0.95).0 });
        t += 0.05;
    }
    let best = table
        .iter()
        .filter(|r| r.n >= min_samples as u64 && r.lower.is_finite())
        .max_by(|a, b| a.lower.total_cmp(&b.lower))
        .map(|r| r.threshold);
    let mut g = Gates::default();
    g.check(
        GateCheck::at_least("predictions", docs.len() as f64, 1.0)
            .because(format!("predictions: {} documents with matured outcomes", docs.len())),
    );
    g.check(
        GateCheck::holds("training", best.is_some())
            .because(format!("training: a threshold with at least {min_samples} vetoes")),
    );
    let mut hold = None;
    if let Some(b) = best {
        let (n, k) = tally(holdout, out, b);
        let lower = wilson_interval(k, n, 0.95).0;
        hold = Some((n, k, lower));
        g.check(
            GateCheck::at_least("holdout_vetoes", n as f64, f64::from(min_samples))
                .because(format!("holdout: {n} vetoes at {b:.2} (minimum {min_samples})")),
        );
        g.check(
            GateCheck::holds("holdout_precision", lower > 0.5)
                .because(format!("holdout precision: {k}/{n}, lower 95% bound {lower:.3} (must be above 0.5)")),
        );
        g.check(
            GateCheck::holds("change", (b - current.veto_confidence.get()).abs() > 1e-9)
                .because(format!("change: {b:.2} vs {:.2} in force", current.veto_confidence.get())),
        );
    }
    VetoOutcome {
        documents: (train.len(), holdout.len()),
        table,
        current: current.veto_confidence.get(),
        proposed: best,
        holdout: hold,
        promote: g.passed && best.is_some(),
        gates: g.lines,
    }
}

impl VetoOutcome {
    /// The parameters to write.
    pub fn params(&self, current: &PredictorParams) -> Option<PredictorParams> {
        let b = self.proposed.filter(|_| self.promote)?;
        let mut p = current.clone();
        p.veto_confidence = Fraction::new(b).ok()?;
        Some(p)
    }

    /// The evidence written with them.
    pub fn evidence(&self) -> Evidence {
        let (n, k, lower) = self.holdout.unwrap_or((0, 0, f64::NAN));
        let train = self.proposed.and_then(|b| self.table.iter().find(|r| (r.threshold - b).abs() < 1e-9));
        Evidence {
            n_samples: train.map(|r| r.n).unwrap_or(0),
            metric: "veto precision (share of vetoed names that lagged the benchmark), lower 95% bound".into(),
            before: self
                .table
                .iter()
                .find(|r| (r.threshold - self.current).abs() < 1e-9)
                .map(|r| r.lower)
                .unwrap_or(0.0),
            after: train.map(|r| r.lower).unwrap_or(0.0),
            holdout: Some(HoldoutResult {
                train: train.map(|r| r.lower).unwrap_or(0.0),
                holdout: if lower.is_finite() { lower } else { 0.0 },
                retention: 0.0,
                passed: self.promote,
            }),
            overfitting: Some(OverfittingCheck {
                method: "holdout_wilson_lower".into(),
                value: if lower.is_finite() { lower } else { 0.0 },
                threshold: 0.5,
                passed: lower > 0.5,
            }),
            notes: {
                let mut v = self.gates.clone();
                v.push(format!("holdout: {k} of {n} vetoed names lagged"));
                v
            },
        }
    }
}
