//! Scoring-weight tuning with guardrails. At each weekly research date the research code's own
//! factor table is rebuilt point in time ([`Snapshot::build`] + [`factors::compute`]); each
//! factor's within-sector percentile is ranked against the forward sector-relative return. On the
//! training weeks, the target weights are proportional to the positive mean rank ICs; each weight
//! moves toward its target by at most `max_step`. The change is written only with enough samples
//! and when, on the holdout weeks, the composite's weekly rank IC with the new weights beats the
//! old one with a one-sided t statistic of at least `min_holdout_t` and keeps the configured share
//! of the training gain. The quant/qual split needs qualitative scores in the signals history.

use std::collections::{BTreeMap, HashMap};

use ae_research::factors::{self, FACTORS};
use ae_research::snapshot::{NameView, Snapshot};
use ae_shared::TradingDay;
use ae_shared::config::{DataConfig, WeightTuning};
use ae_shared::contracts::gate::{GateCheck, Gates};
use ae_shared::contracts::params::{Evidence, FactorWeights, HoldoutResult, OverfittingCheck, ScoringWeights};
use ae_shared::metrics::{group_demean, rank_ic};
use ae_shared::store::PriceStore;
use rayon::prelude::*;
use serde::Serialize;

use crate::outcomes::Outcomes;

/// The parameter path this step tunes (its write-back takes precedence there only).
pub const TUNED: &str = "factors";

/// One factor's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorIc {
    /// Factor.
    pub factor: String,
    /// Weeks with data (training).
    pub weeks: usize,
    /// Mean weekly rank IC (training).
    pub mean_ic: f64,
    /// Weight in force.
    pub before: f64,
    /// Proposed weight.
    pub after: f64,
}

/// The tuning's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsOutcome {
    /// Weeks with matured outcomes, training and holdout.
    pub weeks: (usize, usize),
    /// (name, week) samples in the training weeks.
    pub train_samples: u64,
    /// Per factor.
    pub factors: Vec<FactorIc>,
    /// Mean weekly composite rank IC: training before/after, holdout before/after.
    pub composite_ic: [f64; 4],
    /// One-sided t of the holdout weekly IC gain.
    pub holdout_t: f64,
    /// Whether every gate passed.
    pub promote: bool,
    /// Gates.
    pub gates: Vec<String>,
    /// Proposed weights.
    #[serde(skip)]
    pub proposed: ScoringWeights,
}

/// One research date's table: each eligible name's factor percentiles and its forward
/// sector-relative return (NaN where immature or missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// Percentile by factor, per eligible name.
    pub pct: Vec<BTreeMap<&'static str, f64>>,
    /// Forward sector-relative return, per eligible name.
    pub outcome: Vec<f64>,
}

fn weight_map(w: &FactorWeights) -> BTreeMap<String, f64> {
    serde_json::from_value(serde_json::to_value(w).expect("serializes")).expect("numbers")
}

/// The weekly composite's rank IC with the weights `w` (in name order, as a `BTreeMap<String, _>`
/// iterates: a name's factors, also in name order, find their weights walking forward).
fn composite_ic(week: &Week, w: &[(&str, f64)]) -> f64 {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (p, y) in week.pct.iter().zip(&week.outcome) {
        let (mut s, mut ws) = (0.0, 0.0);
        let mut at = 0;
        for (f, v) in p {
            while at < w.len() && w[at].0 < *f {
                at += 1;
            }
            let wf = w.get(at).filter(|(k, _)| k == f).map_or(0.0, |(_, x)| *x);
            s += wf * v;
            ws += wf;
        }
        if ws > 0.0 && y.is_finite() {
            a.push(s / ws);
            b.push(*y);
        }
    }
    if a.len() >= 10 { rank_ic(&a, &b) } else { f64::NAN }
}

fn mean(x: &[f64]) -> f64 {
    let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Moves `before` toward targets proportional to the positive training ICs of the factors in
/// `target_ic` (the active factors keep their current total). Each step is at most `max_step`, and
/// the steps sum to zero (the larger side is scaled down), so no weight moves more than
/// `max_step` and inactive factors are untouched.
pub fn step_toward(
    before: &BTreeMap<String, f64>,
    target_ic: &BTreeMap<String, f64>,
    max_step: f64,
) -> BTreeMap<String, f64> {
    let mut after = before.clone();
    let active_total: f64 = target_ic.keys().map(|f| before.get(f).copied().unwrap_or(0.0)).sum();
    let ic_total: f64 = target_ic.values().sum();
    if ic_total <= 0.0 {
        return after;
    }
    let mut steps: BTreeMap<&String, f64> = target_ic
        .iter()
        .map(|(f, ic)| {
            let goal = active_total * ic / ic_total;
            let old = before.get(f).copied().unwrap_or(0.0);
            (f, (goal - old).clamp(-max_step, max_step))
        })
        .collect();
    let up: f64 = steps.values().filter(|x| **x > 0.0).sum();
    let down: f64 = -steps.values().filter(|x| **x < 0.0).sum::<f64>();
    if up <= 0.0 || down <= 0.0 {
        return after;
    }
    let (k_up, k_down) = if up > down { (down / up, 1.0) } else { (1.0, up / down) };
    for x in steps.values_mut() {
        *x *= if *x > 0.0 { k_up } else { k_down };
    }
    for (f, x) in steps {
        let old = before.get(f).copied().unwrap_or(0.0);
        after.insert(f.clone(), (old + x).max(0.0));
    }
    after
}

/// Whether the week of research date `d` has matured: the benchmark's forward return over the
/// `horizon` is known.
pub fn matured(out: &Outcomes, d: TradingDay, horizon: usize) -> bool {
    out.bench(d.prev(), horizon).is_some()
}

/// The table of research date `d`, rebuilt point in time with the research code's own snapshot
/// and factors; `None` while its outcomes are immature.
pub fn week(
    store: &PriceStore,
    data: &DataConfig,
    d: TradingDay,
    current: &ScoringWeights,
    out: &Outcomes,
    horizon: usize,
) -> Option<Week> {
    if !matured(out, d, horizon) {
        return None;
    }
    let as_of = d.prev();
    let snap = Snapshot::build(store, d, data);
    let eligible: Vec<&NameView> = snap.eligible().collect();
    let table = factors::compute(&eligible, &BTreeMap::new(), &current.factors);
    let rets: Vec<f64> = eligible.iter().map(|n| out.ret(&n.ticker, as_of, horizon).unwrap_or(f64::NAN)).collect();
    let sectors: Vec<_> = eligible.iter().map(|n| n.sector).collect();
    let outcome = group_demean(&rets, &sectors);
    let pct = eligible
        .iter()
        .map(|n| table.scores.get(&n.ticker).map(|m| m.iter().map(|(k, v)| (*k, *v)).collect()).unwrap_or_default())
        .collect();
    Some(Week { pct, outcome })
}

/// The matured weeks of `dates` in date order, each taken from `kept` when it holds it, else
/// built by [`week`] (side by side); with whether it was built here.
#[allow(clippy::too_many_arguments)]
pub fn weeks(
    store: &PriceStore,
    data: &DataConfig,
    dates: &[TradingDay],
    current: &ScoringWeights,
    out: &Outcomes,
    horizon: usize,
    mut kept: HashMap<TradingDay, Week>,
) -> Vec<(TradingDay, Week, bool)> {
    // The kept tables move in; the others are built side by side.
    let found: Vec<(TradingDay, Option<Week>)> = dates.iter().map(|d| (*d, kept.remove(d))).collect();
    found
        .into_par_iter()
        .filter_map(|(d, k)| match k {
            Some(w) => matured(out, d, horizon).then_some((d, w, false)),
            None => week(store, data, d, current, out, horizon).map(|w| (d, w, true)),
        })
        .collect()
}

/// Tunes `current` on the matured `weeks` (oldest first).
pub fn decide(
    weeks: &[Week],
    current: &ScoringWeights,
    t: &WeightTuning,
    holdout_fraction: f64,
    min_retention: f64,
) -> WeightsOutcome {
    let (train, holdout) = weeks.split_at(crate::gate::train_len(weeks.len(), holdout_fraction));
    let train_samples: u64 = train.iter().map(|w| w.outcome.iter().filter(|y| y.is_finite()).count() as u64).sum();
    let before = weight_map(&current.factors);
    let mut factors_out = Vec::new();
    let mut target: BTreeMap<String, f64> = BTreeMap::new();
    // Each factor's weekly ICs, factors side by side (in FACTORS order, as before).
    let factor_ics: Vec<Vec<f64>> = FACTORS
        .par_iter()
        .map(|f| {
            train
                .iter()
                .map(|w| {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    for (p, y) in w.pct.iter().zip(&w.outcome) {
                        if let (Some(v), true) = (p.get(f), y.is_finite()) {
                            a.push(*v);
                            b.push(*y);
                        }
                    }
                    if a.len() >= 10 { rank_ic(&a, &b) } else { f64::NAN }
                })
                .collect()
        })
        .collect();
    for (&f, ics) in FACTORS.iter().zip(factor_ics) {
        let n = ics.iter().filter(|x| x.is_finite()).count();
        let m = mean(&ics);
        if n > 0 {
            target.insert(f.to_string(), m.max(0.0));
        }
        factors_out.push(FactorIc {
            factor: f.into(),
            weeks: n,
            mean_ic: m,
            before: before.get(f).copied().unwrap_or(0.0),
            after: before.get(f).copied().unwrap_or(0.0),
        });
    }
    let after = step_toward(&before, &target, t.max_step);
    for r in &mut factors_out {
        r.after = after.get(&r.factor).copied().unwrap_or(0.0);
    }
    let ic = |ws: &[Week], w: &BTreeMap<String, f64>| -> Vec<f64> {
        let w: Vec<(&str, f64)> = w.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        ws.par_iter().map(|x| composite_ic(x, &w)).collect()
    };
    let (tb, ta) = (ic(train, &before), ic(train, &after));
    let (hb, ha) = (ic(holdout, &before), ic(holdout, &after));
    let diffs: Vec<f64> = ha.iter().zip(&hb).map(|(a, b)| a - b).filter(|d| d.is_finite()).collect();
    let holdout_t = if diffs.len() >= 3 {
        let m = mean(&diffs);
        let sd = ae_shared::metrics::std_sample(&diffs);
        if sd > 0.0 { m / (sd / (diffs.len() as f64).sqrt()) } else { f64::NAN }
    } else {
        f64::NAN
    };
    let composite = [mean(&tb), mean(&ta), mean(&hb), mean(&ha)];
    let mut g = Gates::default();
    g.check(GateCheck::at_least("samples", train_samples as f64, f64::from(t.min_samples)).because(format!(
        "samples: {train_samples} scored (name, week) pairs in {} training weeks (minimum {})",
        train.len(),
        t.min_samples
    )));
    let changed = after.iter().any(|(k, v)| (v - before.get(k).copied().unwrap_or(0.0)).abs() > 1e-9);
    g.check(GateCheck::holds("change", changed).because(format!(
        "change: {}",
        if changed { "weights move (max step respected)" } else { "no factor with a positive training IC moves" }
    )));
    let gain = composite[1] - composite[0];
    let hold_gain = composite[3] - composite[2];
    let retention = if gain > 0.0 { hold_gain / gain } else { f64::NAN };
    g.check(GateCheck::at_least("holdout_retention", retention, min_retention).because(format!(
        "holdout: composite IC gain {hold_gain:+.4} on {} weeks vs {gain:+.4} in training (retention minimum {min_retention:.2})",
        holdout.len()
    )));
    g.check(
        GateCheck::at_least("holdout_t", holdout_t, t.min_holdout_t)
            .because(format!("significance: holdout t = {holdout_t:.2} (minimum {:.2})", t.min_holdout_t)),
    );
    g.note("quant/qual split: not tuned (needs qualitative sub-scores with outcomes; the LLM analysts supply them)");
    let (promote, gates) = (g.passed, g.lines);
    let mut proposed = current.clone();
    proposed.factors =
        serde_json::from_value(serde_json::to_value(&after).expect("map")).unwrap_or(current.factors.clone());
    WeightsOutcome {
        weeks: (train.len(), holdout.len()),
        train_samples,
        factors: factors_out,
        composite_ic: composite,
        holdout_t,
        promote,
        gates,
        proposed,
    }
}

impl WeightsOutcome {
    /// The evidence written with the weights.
    pub fn evidence(&self, t: &WeightTuning) -> Evidence {
        let [tb, ta, hb, ha] = self.composite_ic;
        Evidence {
            n_samples: self.train_samples,
            metric: format!(
                "mean weekly rank IC of the quant composite, {}-day sector-relative return",
                t.horizon_days
            ),
            before: tb,
            after: ta,
            holdout: Some(HoldoutResult {
                train: ta - tb,
                holdout: ha - hb,
                retention: if ta > tb { (ha - hb) / (ta - tb) } else { 0.0 },
                passed: self.promote,
            }),
            overfitting: Some(OverfittingCheck {
                method: "holdout_t".into(),
                value: if self.holdout_t.is_finite() { self.holdout_t } else { 0.0 },
                threshold: t.min_holdout_t,
                passed: self.holdout_t >= t.min_holdout_t,
            }),
            notes: self.gates.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_weight_moves_more_than_the_max_step_and_the_total_is_kept() {
        // The review's counterexample: 0.4 / 0.3 / 0.3 aiming at 1 / 0 / 0 with a 0.05 step.
        let before: BTreeMap<String, f64> =
            [("a", 0.4), ("b", 0.3), ("c", 0.3)].map(|(k, v)| (k.to_string(), v)).into();
        let target: BTreeMap<String, f64> =
            [("a", 0.9), ("b", 0.0), ("c", 0.0)].map(|(k, v)| (k.to_string(), v)).into();
        let after = step_toward(&before, &target, 0.05);
        for (k, v) in &after {
            assert!((v - before[k]).abs() <= 0.05 + 1e-12, "{k}: {} -> {v}", before[k]);
        }
        assert!((after.values().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(after["a"] > 0.4 && after["b"] < 0.3);
    }

    /// The composite as first written: each factor's weight looked up by name.
    fn composite_ic_by_lookup(week: &Week, w: &BTreeMap<String, f64>) -> f64 {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (p, y) in week.pct.iter().zip(&week.outcome) {
            let (mut s, mut ws) = (0.0, 0.0);
            for (f, v) in p {
                let wf = w.get(*f).copied().unwrap_or(0.0);
                s += wf * v;
                ws += wf;
            }
            if ws > 0.0 && y.is_finite() {
                a.push(s / ws);
                b.push(*y);
            }
        }
        if a.len() >= 10 { rank_ic(&a, &b) } else { f64::NAN }
    }

    #[test]
    fn the_composite_walks_to_each_factors_weight_as_a_lookup_by_name_finds_it() {
        // Names hold different subsets of the factors (one a NaN percentile), and the weights
        // lack some factors and name one no table has.
        let pct: Vec<BTreeMap<&'static str, f64>> = (0..40)
            .map(|i| {
                FACTORS
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| (i + j) % 3 != 0)
                    .map(|(j, f)| (*f, if i == 7 && j == 1 { f64::NAN } else { ((i * 7 + j * 13) % 17) as f64 / 17.0 }))
                    .collect()
            })
            .collect();
        let outcome: Vec<f64> = (0..40).map(|i| ((i * 11) % 23) as f64 / 23.0 - 0.5).collect();
        let week = Week { pct, outcome };
        let cases: [&[(&str, f64)]; 4] = [
            &[],
            &[("momentum_12_1", 1.0)],
            &[("aaa_not_a_factor", 5.0), ("growth", 0.3), ("low_volatility", 0.2), ("value", 0.5)],
            &[("insider", 0.1), ("momentum_3m", 0.4), ("quality", 0.2), ("reversal_1m", 0.3), ("zzz", 1.0)],
        ];
        for case in cases {
            let by_name: BTreeMap<String, f64> = case.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            let walked: Vec<(&str, f64)> = by_name.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let (got, want) = (composite_ic(&week, &walked), composite_ic_by_lookup(&week, &by_name));
            assert_eq!(got.to_bits(), want.to_bits(), "{case:?}: {got} vs {want}");
            assert!(got.is_finite() || case.is_empty(), "{case:?} scores the week");
        }
        // Every factor weighted: the NaN percentile reaches the composite the same way.
        let every: BTreeMap<String, f64> = FACTORS.iter().map(|f| (f.to_string(), 1.0)).collect();
        let walked: Vec<(&str, f64)> = every.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(composite_ic(&week, &walked).to_bits(), composite_ic_by_lookup(&week, &every).to_bits());
    }
}
