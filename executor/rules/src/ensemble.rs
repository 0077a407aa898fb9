//! The ensemble: every view of a name — research's composite and sub-scores, the predictor's
//! `p_up`, and three price agents (momentum, short-term reversal, low volatility) — turned into one
//! expected alpha with a confidence.
//!
//! 1. Each view is standardised across the day's names with a robust z-score
//!    `(x − median) / (1.4826 · MAD)`, clipped at ±3 ([`panel`]).
//! 2. Each earlier day's views are graded against the forward return that followed them: a rank
//!    IC per view ([`grade`]); a view's skill is its mean daily IC over the trailing window, shrunk
//!    toward zero by `n / (n + shrink_days)`, and its weight is that over the sum of absolute shrunk
//!    ICs ([`skill`]). A view with negative skill gets a negative weight (it is used contrarian).
//! 3. A name's combined score `s = Σ w_k · z_k` becomes an expected alpha
//!    `μ = IC · spread · s · exp(−β · Var)`, with `IC` the weighted skill, `spread` the typical
//!    cross-sectional spread of forward returns and `Var` the weighted variance of the sign-aligned
//!    z-scores (the views' disagreement); each view's part of `μ` is recorded ([`combine`]).
//! 4. A fractional-Kelly weight `γ · μ / σ²` (σ from the ATR over the horizon), floored at zero and
//!    capped by the largest position, and `Φ(μ / σ)` for the sizer.
//!
//! Only days whose forward return is complete by the decision are graded: the caller passes graded
//! days, never today's.

use ae_core::contracts::ensemble::{
    EnsembleBook, NameEnsemble, PanelRow, ViewContribution, ViewKind, ViewPanel, ViewSkill,
};
use ae_core::contracts::params::EnsembleParams;
use ae_core::metrics::{mean, normal_cdf, quantile, rank_ic, std_sample};
use ae_core::types::Ticker;

use crate::view::{PredictionView, PriceAgents};

/// How many views there are.
pub const VIEWS: usize = ViewKind::ALL.len();

/// A robust z-score is clipped at this many (scaled) MADs.
const Z_CLIP: f64 = 3.0;

/// Scales a median absolute deviation to a standard deviation under normality.
const MAD_SCALE: f64 = 1.4826;

/// A name's raw views, in the order of [`ViewKind::ALL`].
pub type RawViews = [Option<f64>; VIEWS];

/// What research says about a name, as the ensemble reads it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResearchView {
    /// Composite score.
    pub score: Option<f64>,
    /// Quantitative sub-score.
    pub quant: Option<f64>,
    /// Qualitative sub-score.
    pub qual: Option<f64>,
}

/// The raw views of one name (non-finite values are no view).
pub fn raw_views(research: ResearchView, prediction: Option<&PredictionView>, market: &PriceAgents) -> RawViews {
    let views = [
        research.score,
        research.quant,
        research.qual,
        prediction.map(|p| p.p_up.get() - 0.5),
        market.ret_20d,
        market.ret_5d.map(|r| -r),
        market.atr_pct.map(|a| -a),
    ];
    views.map(|v| v.filter(|x| x.is_finite()))
}

/// Robust z-scores of `values` across names; a view with fewer than three values, or no spread,
/// says nothing (all `None`).
pub fn robust_z(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.len() < 3 {
        return vec![None; values.len()];
    }
    let median = quantile(&present, 0.5);
    let deviations: Vec<f64> = present.iter().map(|x| (x - median).abs()).collect();
    let scale = MAD_SCALE * quantile(&deviations, 0.5);
    if !(scale > 0.0 && scale.is_finite()) {
        return vec![None; values.len()];
    }
    values.iter().map(|v| v.map(|x| ((x - median) / scale).clamp(-Z_CLIP, Z_CLIP))).collect()
}

/// One day's panel: each view standardised across the day's names.
pub fn panel(date: ae_core::calendar::TradingDay, names: Vec<(Ticker, RawViews)>) -> ViewPanel {
    let columns: Vec<Vec<Option<f64>>> =
        (0..VIEWS).map(|k| robust_z(&names.iter().map(|(_, v)| v[k]).collect::<Vec<_>>())).collect();
    let rows = names
        .into_iter()
        .enumerate()
        .map(|(i, (ticker, _))| PanelRow { ticker, z: columns.iter().map(|c| c[i]).collect() })
        .collect();
    ViewPanel { date: Some(date), rows }
}

/// One earlier day's views graded against the returns that followed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Graded {
    /// Rank IC per view (`None`: fewer than the minimum names had both a view and a return).
    pub ic: [Option<f64>; VIEWS],
    /// Cross-sectional standard deviation of the forward returns.
    pub spread: Option<f64>,
}

/// Grades `panel` against each name's forward return (`forward`), needing `min_names` names.
pub fn grade(panel: &ViewPanel, forward: impl Fn(&Ticker) -> Option<f64>, min_names: usize) -> Graded {
    let returns: Vec<Option<f64>> = panel.rows.iter().map(|r| forward(&r.ticker).filter(|x| x.is_finite())).collect();
    let all: Vec<f64> = returns.iter().flatten().copied().collect();
    let spread = (all.len() >= min_names).then(|| std_sample(&all)).filter(|s| s.is_finite());
    let mut ic = [None; VIEWS];
    for (k, slot) in ic.iter_mut().enumerate() {
        let (z, r): (Vec<f64>, Vec<f64>) = panel
            .rows
            .iter()
            .zip(&returns)
            .filter_map(|(row, r)| Some((row.z.get(k).copied().flatten()?, (*r)?)))
            .unzip();
        if z.len() >= min_names {
            *slot = Some(rank_ic(&z, &r)).filter(|x| x.is_finite());
        }
    }
    Graded { ic, spread }
}

/// Each view's skill over the graded days, and what the combination needs from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// Per view, in the order of [`ViewKind::ALL`].
    pub views: Vec<ViewSkill>,
    /// Days graded.
    pub graded_days: u32,
    /// Median cross-sectional spread of forward returns (0 without graded days).
    pub spread: f64,
}

/// The skill of each view over `graded` days (the trailing window, oldest first or not).
pub fn skill(graded: &[Graded], p: &EnsembleParams) -> Skill {
    let mut views: Vec<ViewSkill> = ViewKind::ALL
        .iter()
        .enumerate()
        .map(|(k, view)| {
            let ics: Vec<f64> = graded.iter().filter_map(|g| g.ic[k]).collect();
            let n = ics.len();
            let ic = if n == 0 { 0.0 } else { mean(&ics) };
            let se = (n >= 2).then(|| std_sample(&ics) / (n as f64).sqrt()).filter(|x| x.is_finite());
            let shrunk = ic * n as f64 / (n as f64 + p.shrink_days.max(0.0));
            ViewSkill { view: *view, ic, n_days: n as u32, std_error: se, shrunk_ic: shrunk, weight: 0.0 }
        })
        .collect();
    let total: f64 = views.iter().map(|v| v.shrunk_ic.abs()).sum();
    if total > 0.0 {
        for v in &mut views {
            v.weight = v.shrunk_ic / total;
        }
    }
    let spreads: Vec<f64> = graded.iter().filter_map(|g| g.spread).collect();
    let spread = if spreads.is_empty() { 0.0 } else { quantile(&spreads, 0.5) };
    Skill { views, graded_days: graded.len() as u32, spread }
}

/// One name's calibrated view from its panel row. `atr_pct` is its ATR as a share of price;
/// `max_position` caps the Kelly weight.
pub fn combine(
    row: &PanelRow,
    skill: &Skill,
    atr_pct: Option<f64>,
    max_position: f64,
    p: &EnsembleParams,
) -> NameEnsemble {
    let present: Vec<(usize, f64)> = (0..VIEWS)
        .filter_map(|k| Some((k, row.z.get(k).copied().flatten()?)))
        .filter(|(k, z)| z.is_finite() && skill.views[*k].weight != 0.0)
        .collect();
    let coverage: f64 = present.iter().map(|(k, _)| skill.views[*k].weight.abs()).sum();
    // The combination's skill: the views' shrunk ICs, weighted.
    let ic: f64 = skill.views.iter().map(|v| v.weight.abs() * v.shrunk_ic.abs()).sum();
    let disagreement = if coverage > 0.0 {
        let aligned = |k: usize, z: f64| skill.views[k].weight.signum() * z;
        let m: f64 =
            present.iter().map(|(k, z)| skill.views[*k].weight.abs() * aligned(*k, *z)).sum::<f64>() / coverage;
        present.iter().map(|(k, z)| skill.views[*k].weight.abs() * (aligned(*k, *z) - m).powi(2)).sum::<f64>()
            / coverage
    } else {
        0.0
    };
    let penalty = (-p.disagreement_beta * disagreement).exp();
    let scale = ic * skill.spread * penalty;
    let views: Vec<ViewContribution> = present
        .iter()
        .map(|(k, z)| {
            let weight = skill.views[*k].weight;
            ViewContribution { view: ViewKind::ALL[*k], z: *z, weight, contribution: scale * weight * z }
        })
        .collect();
    let mu: f64 = views.iter().map(|v| v.contribution).sum();
    let sigma = atr_pct.filter(|a| a.is_finite() && *a > 0.0).map(|a| a * f64::from(p.horizon_days.max(1)).sqrt());
    let kelly = sigma.map(|s| (p.kelly_fraction.get() * mu / (s * s)).clamp(0.0, max_position.max(0.0)));
    NameEnsemble {
        ticker: row.ticker.clone(),
        expected_alpha: mu,
        confidence: (penalty * coverage).clamp(0.0, 1.0),
        disagreement,
        kelly,
        p_outperform: sigma.map(|s| normal_cdf(mu / s)),
        views,
    }
}

/// The morning's ensemble over `panel`'s names (`atr_pct` gives each name's ATR share).
pub fn book(
    panel: &ViewPanel,
    skill: &Skill,
    atr_pct: impl Fn(&Ticker) -> Option<f64>,
    max_position: f64,
    p: &EnsembleParams,
) -> EnsembleBook {
    EnsembleBook {
        horizon_days: p.horizon_days,
        graded_days: skill.graded_days,
        spread: skill.spread,
        skill: skill.views.clone(),
        names: panel.rows.iter().map(|r| combine(r, skill, atr_pct(&r.ticker), max_position, p)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::calendar::TradingDay;

    fn tk(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    fn day() -> TradingDay {
        TradingDay::parse("2024-03-04").unwrap()
    }

    /// A panel of `n` names where view `k` equals `values[k](i)`.
    fn raw(n: usize, f: impl Fn(usize, usize) -> Option<f64>) -> Vec<(Ticker, RawViews)> {
        (0..n).map(|i| (tk(&format!("N{i}")), std::array::from_fn(|k| f(i, k)))).collect()
    }

    /// A skill table with `weight(view)`, every view at `ic` over `days`, and `spread`.
    fn measured(weight: impl Fn(ViewKind) -> f64, ic: f64, days: u32, spread: f64) -> Skill {
        let views = ViewKind::ALL
            .iter()
            .map(|v| ViewSkill { view: *v, ic, n_days: days, std_error: None, shrunk_ic: ic, weight: weight(*v) })
            .collect();
        Skill { views, graded_days: days, spread }
    }

    #[test]
    fn robust_z_is_centred_on_the_median_scaled_by_the_mad_and_clipped() {
        let z = robust_z(&[Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(100.0), None]);
        // median 3, MAD 1 → scale 1.4826
        assert!((z[2].unwrap()).abs() < 1e-12);
        assert!((z[3].unwrap() - 1.0 / 1.4826).abs() < 1e-9);
        assert_eq!(z[4], Some(3.0), "an outlier is clipped");
        assert_eq!(z[5], None);
        assert_eq!(robust_z(&[Some(1.0), Some(1.0), Some(1.0)]), vec![None; 3], "no spread, no view");
        assert_eq!(robust_z(&[Some(1.0), Some(2.0)]), vec![None; 2], "too few names");
    }

    #[test]
    fn the_weight_goes_to_the_view_that_predicts_and_a_wrong_way_view_is_used_contrarian() {
        let p = EnsembleParams::default();
        // Forward return of name i is i; view 5 (reversal) ranks names the same way, view 4
        // (momentum) the opposite way, the rest are noise-free constants or absent.
        let names = raw(20, |i, k| match k {
            5 => Some(i as f64),
            4 => Some(-(i as f64) + if i % 3 == 0 { 0.5 } else { 0.0 }),
            0 => Some(((i * 7) % 20) as f64),
            _ => None,
        });
        let pnl = panel(day(), names);
        let graded: Vec<Graded> = (0..30).map(|_| grade(&pnl, |t| t.as_str()[1..].parse::<f64>().ok(), 5)).collect();
        let s = skill(&graded, &p);
        let w = |v: ViewKind| s.views.iter().find(|x| x.view == v).unwrap().weight;
        assert!(w(ViewKind::Reversal) > w(ViewKind::Research).abs(), "{s:?}");
        assert!(w(ViewKind::Momentum) < 0.0, "a view that ranks backwards gets a negative weight");
        assert_eq!(w(ViewKind::Quant), 0.0);
        let v = s.views.iter().find(|x| x.view == ViewKind::Reversal).unwrap();
        assert_eq!(v.n_days, 30);
        assert!((v.shrunk_ic - v.ic * 30.0 / 50.0).abs() < 1e-12, "shrunk by n / (n + 20)");
        // The best name gets the largest expected alpha, and the parts add up.
        let b = book(&pnl, &s, |_| Some(0.02), 0.05, &p);
        let best = b.names.iter().max_by(|a, b| a.expected_alpha.total_cmp(&b.expected_alpha)).unwrap();
        assert_eq!(best.ticker.as_str(), "N19");
        let parts: f64 = best.views.iter().map(|v| v.contribution).sum();
        assert!((parts - best.expected_alpha).abs() < 1e-15);
        assert!(best.p_outperform.unwrap() > 0.5 && best.kelly.unwrap() > 0.0);
        let worst = b.names.iter().min_by(|a, b| a.expected_alpha.total_cmp(&b.expected_alpha)).unwrap();
        assert_eq!(worst.kelly, Some(0.0), "a negative expected alpha gets no Kelly weight");
    }

    #[test]
    fn with_no_graded_days_every_weight_is_zero_and_nothing_is_expected() {
        let p = EnsembleParams::default();
        let pnl = panel(day(), raw(10, |i, _| Some(i as f64)));
        let s = skill(&[], &p);
        assert!(s.views.iter().all(|v| v.weight == 0.0 && v.n_days == 0 && v.std_error.is_none()));
        let b = book(&pnl, &s, |_| Some(0.02), 0.05, &p);
        assert!(b.names.iter().all(|n| n.expected_alpha == 0.0 && n.confidence == 0.0 && n.views.is_empty()));
        assert!(b.names.iter().all(|n| n.p_outperform == Some(0.5)));
    }

    #[test]
    fn disagreement_lowers_the_confidence_and_the_expected_alpha() {
        let p = EnsembleParams::default();
        let skill =
            measured(|v| if matches!(v, ViewKind::Research | ViewKind::Reversal) { 0.5 } else { 0.0 }, 0.1, 40, 0.03);
        let row = |a: f64, b: f64| PanelRow {
            ticker: tk("X"),
            z: (0..VIEWS).map(|k| [Some(a), None, None, None, None, Some(b), None][k]).collect(),
        };
        let agree = combine(&row(1.0, 1.0), &skill, None, 0.05, &p);
        let split = combine(&row(2.0, 0.0), &skill, None, 0.05, &p);
        assert_eq!(agree.disagreement, 0.0);
        assert!((split.disagreement - 1.0).abs() < 1e-12);
        assert!(split.confidence < agree.confidence);
        assert!(split.expected_alpha < agree.expected_alpha, "same combined score, penalised");
        assert_eq!((agree.kelly, agree.p_outperform), (None, None), "no ATR, no size hint");
        let missing = combine(&row(1.0, f64::NAN), &skill, None, 0.05, &p);
        assert!(missing.confidence <= 1.0 && missing.expected_alpha.is_finite());
    }

    #[test]
    fn the_kelly_weight_is_capped_by_the_largest_position() {
        let p = EnsembleParams::default();
        let skill = measured(|v| if v == ViewKind::Reversal { 1.0 } else { 0.0 }, 0.3, 100, 0.05);
        let row = PanelRow { ticker: tk("X"), z: (0..VIEWS).map(|k| (k == 5).then_some(3.0)).collect() };
        let e = combine(&row, &skill, Some(0.01), 0.05, &p);
        assert_eq!(e.kelly, Some(0.05));
        assert!(e.expected_alpha > 0.0 && e.p_outperform.unwrap() > 0.9);
    }
}
