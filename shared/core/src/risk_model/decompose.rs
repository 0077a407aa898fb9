//! A book's risk under the model: its daily σ split by factor group and by position (Euler
//! allocation: the positions' contributions sum to σ), and the normal tail σ implies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use super::{FactorGroup, RiskModel, RiskModelError};
use crate::tail_risk::Tail;

/// Factor variance split by group: each factor `k` carries `e_k · (F e)_k` (its own variance
/// and half of each covariance it shares), so the groups sum to the factor variance exactly and a
/// group that hedges another can be negative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupVariance {
    /// The market factor's part.
    pub market: f64,
    /// The sectors' part.
    pub sector: f64,
    /// The styles' part.
    pub style: f64,
}

/// One position's share of the book's risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PositionRisk {
    /// The name (index into the model).
    pub name: usize,
    /// Its weight, dollars over NAV, signed (negative: short).
    pub weight: f64,
    /// Marginal contribution to risk, `(Σ w)_i / σ`: σ's change per unit of weight.
    pub mctr: f64,
    /// `weight · mctr`; the contributions sum to σ.
    pub contribution: f64,
    /// `contribution / σ`; the shares sum to 1.
    pub risk_share: f64,
    /// Whether the risk share exceeds the model's `flag_ratio` times the position's share of the
    /// gross book (`|w_i| / Σ|w|`).
    pub flagged: bool,
    /// Whether the name's exposures were all known (false: the model filled neutral values).
    pub complete: bool,
}

/// A book's risk under the model, daily.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decomposition {
    /// Predicted daily standard deviation of the book's return.
    pub sigma: f64,
    /// `sigma²` = factor variance + specific variance.
    pub variance: f64,
    /// `eᵀ F e` with `e = Xᵀ w` the book's factor exposures.
    pub factor_variance: f64,
    /// `Σ_i w_i² d_i`.
    pub specific_variance: f64,
    /// Factor variance by group.
    pub by_group: GroupVariance,
    /// Factor variance by factor, `e_k (F e)_k`, in factor order.
    pub by_factor: Vec<f64>,
    /// The book's factor exposures `e`, in factor order (`e[0]` is the book's beta).
    pub exposures: Vec<f64>,
    /// The positions, in the order given.
    pub positions: Vec<PositionRisk>,
    /// Sessions the model's covariance rests on.
    pub n: usize,
}

/// The risk of the book `weights` (name index, dollars over NAV, signed) under `model`, with
/// `Σ = X F Xᵀ + D`. A name listed twice counts as one position of the summed weight for the
/// specific risk, each entry keeping its own contribution. Errors on an unknown name (one the
/// model has no exposures, specific variance or completeness for), a weight that is not finite,
/// or a book without risk (empty or zero weights).
pub fn decompose(model: &RiskModel, weights: &[(usize, f64)]) -> Result<Decomposition, RiskModelError> {
    let k = model.k();
    let mut e = vec![0.0; k];
    let mut by_name: BTreeMap<usize, f64> = BTreeMap::new();
    for &(i, w) in weights {
        let row = model.exposures.get(i).ok_or(RiskModelError::UnknownName(i))?;
        if i >= model.specific_variance.len() || i >= model.complete.len() {
            return Err(RiskModelError::UnknownName(i));
        }
        if !w.is_finite() {
            return Err(RiskModelError::BadWeight(i));
        }
        for (ek, x) in e.iter_mut().zip(row) {
            *ek += w * x;
        }
        *by_name.entry(i).or_default() += w;
    }
    let fe: Vec<f64> = model.covariance.iter().map(|row| row.iter().zip(&e).map(|(f, x)| f * x).sum()).collect();
    let by_factor: Vec<f64> = e.iter().zip(&fe).map(|(a, b)| a * b).collect();
    let mut by_group = GroupVariance { market: 0.0, sector: 0.0, style: 0.0 };
    for (j, v) in by_factor.iter().enumerate() {
        match model.group(j) {
            FactorGroup::Market => by_group.market += v,
            FactorGroup::Sector => by_group.sector += v,
            FactorGroup::Style => by_group.style += v,
        }
    }
    let factor_variance: f64 = by_factor.iter().sum();
    let specific_variance: f64 = by_name.iter().map(|(&i, w)| w * w * model.specific_variance[i]).sum();
    let variance = factor_variance + specific_variance;
    let sigma = variance.sqrt();
    if sigma.is_nan() || sigma <= 0.0 {
        return Err(RiskModelError::NoRisk);
    }
    let gross: f64 = weights.iter().map(|(_, w)| w.abs()).sum();
    let positions = weights
        .iter()
        .map(|&(i, w)| {
            let sigma_w: f64 = model.exposures[i].iter().zip(&fe).map(|(x, f)| x * f).sum::<f64>()
                + model.specific_variance[i] * by_name[&i];
            let mctr = sigma_w / sigma;
            let contribution = w * mctr;
            let risk_share = contribution / sigma;
            PositionRisk {
                name: i,
                weight: w,
                mctr,
                contribution,
                risk_share,
                flagged: risk_share > model.params.flag_ratio * w.abs() / gross,
                complete: model.complete[i],
            }
        })
        .collect();
    Ok(Decomposition {
        sigma,
        variance,
        factor_variance,
        specific_variance,
        by_group,
        by_factor,
        exposures: e,
        positions,
        n: model.n,
    })
}

/// The normal tail of a zero-mean return with daily standard deviation `sigma_daily` over
/// `horizon_days` sessions (σ scaled by √h), at `cutoff` (1 − confidence): VaR = −z·σ√h and
/// CVaR = −σ√h·φ(z)/cutoff with `z` the standard normal's `1 − cutoff` quantile. Returns are
/// negative in the tail, as in [`Tail`]; `n` is the sample the σ rests on (the model's
/// [`RiskModel::n`]). `None` when `cutoff` is not in (0, 1) or `sigma_daily` is negative or not
/// finite.
pub fn parametric(sigma_daily: f64, cutoff: f64, horizon_days: usize, n: usize) -> Option<Tail> {
    if !(cutoff > 0.0 && cutoff < 1.0 && sigma_daily.is_finite() && sigma_daily >= 0.0) {
        return None;
    }
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - cutoff);
    let s = sigma_daily * (horizon_days as f64).sqrt();
    Some(Tail { cutoff, var: -z * s, cvar: -s * normal.pdf(z) / cutoff, n })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::risk_model::testdata;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Euler: for any book, the contributions add up to σ and the shares to 1, and σ² is the
        /// factor plus the specific variance, the groups adding up to the factor variance.
        #[test]
        fn euler_contributions_sum_to_sigma(
            book in prop::collection::vec((0usize..testdata::NAMES, -0.1f64..0.1), 1..15)
        ) {
            let model = testdata::model();
            prop_assume!(book.iter().any(|(_, w)| w.abs() > 1e-6));
            let d = decompose(model, &book).unwrap();
            let total: f64 = d.positions.iter().map(|p| p.contribution).sum();
            prop_assert!((total - d.sigma).abs() <= 1e-12 * d.sigma, "{total} vs {}", d.sigma);
            let shares: f64 = d.positions.iter().map(|p| p.risk_share).sum();
            prop_assert!((shares - 1.0).abs() < 1e-12);
            let groups = d.by_group.market + d.by_group.sector + d.by_group.style;
            prop_assert!((groups - d.factor_variance).abs() <= 1e-12 * d.variance);
            prop_assert!((d.sigma * d.sigma - d.factor_variance - d.specific_variance).abs() <= 1e-12 * d.variance);
        }
    }

    #[test]
    fn sigma_is_the_quadratic_form_of_the_full_covariance() {
        let model = testdata::model();
        let book = [(0, 0.05), (3, -0.04), (7, 0.02), (11, 0.03)];
        let d = decompose(model, &book).unwrap();
        // wᵀ (X F Xᵀ + D) w, entry by entry.
        let mut v = 0.0;
        for &(i, wi) in &book {
            for &(j, wj) in &book {
                let xi = &model.exposures[i];
                let xj = &model.exposures[j];
                let mut c: f64 = (0..model.k())
                    .flat_map(|a| (0..model.k()).map(move |b| (a, b)))
                    .map(|(a, b)| xi[a] * model.covariance[a][b] * xj[b])
                    .sum();
                if i == j {
                    c += model.specific_variance[i];
                }
                v += wi * wj * c;
            }
        }
        assert!((d.variance - v).abs() < 1e-15, "{} vs {v}", d.variance);
        assert_eq!(d.n, model.n);
    }

    #[test]
    fn a_position_with_outsized_risk_is_flagged() {
        // A single name held alone carries all the risk with all the gross: share 1 = 1 × weight
        // share, not flagged. A tiny hedge next to a big long barely matters; a name that
        // dominates the book's variance through its size relative to a diversified rest is.
        let model = testdata::model();
        let alone = decompose(model, &[(5, 0.05)]).unwrap();
        assert!((alone.positions[0].risk_share - 1.0).abs() < 1e-12 && !alone.positions[0].flagged);
        let mut book: Vec<(usize, f64)> = (0..20).map(|i| (i, if i % 2 == 0 { 0.01 } else { -0.01 })).collect();
        book.push((25, 0.04));
        let d = decompose(model, &book).unwrap();
        let big = d.positions.last().unwrap();
        let gross_share = 0.04 / (0.2 + 0.04);
        assert!(big.risk_share > 1.5 * gross_share, "{} vs {gross_share}", big.risk_share);
        assert!(big.flagged);
    }

    #[test]
    fn books_the_model_cannot_price_are_refused() {
        let model = testdata::model();
        assert_eq!(decompose(model, &[]), Err(RiskModelError::NoRisk));
        assert_eq!(decompose(model, &[(1, 0.0)]), Err(RiskModelError::NoRisk));
        assert_eq!(decompose(model, &[(testdata::NAMES, 0.1)]), Err(RiskModelError::UnknownName(testdata::NAMES)));
        assert_eq!(decompose(model, &[(1, f64::NAN)]), Err(RiskModelError::BadWeight(1)));
    }

    #[test]
    fn the_parametric_tail_is_the_normal_one() {
        struct Case {
            sigma: f64,
            cutoff: f64,
            horizon: usize,
            var: f64,
            cvar: f64,
        }
        let cases = [
            // TC1: 1% daily σ, 95%: z = 1.6449, φ(z)/0.05 = 2.0627.
            Case {
                sigma: 0.01,
                cutoff: 0.05,
                horizon: 1,
                var: -0.016_448_536_269_514_72,
                cvar: -0.020_627_128_075_074_25,
            },
            // TC2: 99% over 10 days scales by √10: z = 2.3263, φ(z)/0.01 = 2.6652.
            Case {
                sigma: 0.01,
                cutoff: 0.01,
                horizon: 10,
                var: -0.023_263_478_740_408_4 * 10f64.sqrt(),
                cvar: -0.026_652_142_203_458_0 * 10f64.sqrt(),
            },
        ];
        for c in cases {
            let t = parametric(c.sigma, c.cutoff, c.horizon, 120).unwrap();
            assert!((t.var - c.var).abs() < 1e-12 && (t.cvar - c.cvar).abs() < 1e-12, "{t:?}");
            assert!(t.cvar < t.var && t.var < 0.0 && t.n == 120);
        }
        assert_eq!(parametric(0.01, 0.0, 1, 1), None);
        assert_eq!(parametric(f64::NAN, 0.05, 1, 1), None);
    }
}
