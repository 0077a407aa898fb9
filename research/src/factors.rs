//! Within-sector factor percentiles (0–100, higher is better) and the quant composite.
//!
//! | factor | raw value | needs |
//! |---|---|---|
//! | momentum_12_1 | return from 252 to 21 sessions ago | 253 bars |
//! | momentum_6m / momentum_3m | 126 / 63-session return | 127 / 64 bars |
//! | high_52w | close / 252-session high | 252 bars |
//! | low_volatility | − 60-session realized volatility | 61 bars |
//! | reversal_1m | − 21-session return | 22 bars |
//! | liquidity | 20-session average dollar volume | 20 bars |
//! | earnings_proximity | days to the next earnings date (60 when none within 60 days) | earnings calendar |
//! | value | mean percentile of earnings yield, book/price, sales/price | SEC EDGAR company facts |
//! | quality | mean percentile of ROE, gross margin, Piotroski F, Altman Z | SEC EDGAR company facts |
//! | growth | mean percentile of revenue and EPS growth (year on year) | SEC EDGAR company facts |
//! | insider | distinct open-market buyers − sellers over 90 days | SEC Form 4 filings |
//! | revisions, institutional | — | no provider: always degenerate |
//!
//! A percentile is `(average rank − 1) / (n − 1) × 100` among the sector's names that have the value
//! (50 when only one has it). A factor that fewer than two names have, or with no dispersion, is
//! **degenerate**: reported, and left out of every composite — never filled with a fake value.
//! The quant composite is the weighted mean of a name's available factor percentiles (weights
//! renormalised over them), re-ranked within the sector so that it is itself a 0–100 sector
//! percentile: BUY at 70 means the top 30% of the sector, in any market.

use std::collections::BTreeMap;

use ae_shared::contracts::common::Sector;
use ae_shared::contracts::params::FactorWeights;
use ae_shared::metrics::average_ranks;
use ae_shared::types::Ticker;
use serde::Serialize;

use crate::fundamentals::Fundamentals;
use crate::snapshot::NameView;

/// Factor names in reporting order.
pub const FACTORS: [&str; 14] = [
    "momentum_12_1",
    "momentum_6m",
    "momentum_3m",
    "high_52w",
    "low_volatility",
    "reversal_1m",
    "liquidity",
    "earnings_proximity",
    "value",
    "quality",
    "growth",
    "revisions",
    "insider",
    "institutional",
];

/// Factor scores of the universe.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FactorTable {
    /// Percentile per factor per name (only factors the name has).
    pub scores: BTreeMap<Ticker, BTreeMap<&'static str, f64>>,
    /// Degenerate factors with the reason.
    pub degenerate: BTreeMap<&'static str, String>,
    /// Names with a value, per factor.
    pub coverage: BTreeMap<&'static str, usize>,
    /// Weighted mean of the factor percentiles per name.
    pub weighted: BTreeMap<Ticker, f64>,
    /// Quant composite per name: `weighted` re-ranked within the sector (0–100).
    pub composite: BTreeMap<Ticker, f64>,
}

/// Within-group percentile of `values` (None = no value). Group = sector.
fn percentiles(values: &[(Sector, Option<f64>)]) -> Vec<Option<f64>> {
    let mut out = vec![None; values.len()];
    let mut by_sector: BTreeMap<Sector, Vec<usize>> = BTreeMap::new();
    for (i, (s, v)) in values.iter().enumerate() {
        if v.is_some_and(f64::is_finite) {
            by_sector.entry(*s).or_default().push(i);
        }
    }
    for idx in by_sector.values() {
        if idx.len() == 1 {
            out[idx[0]] = Some(50.0);
            continue;
        }
        let xs: Vec<f64> = idx.iter().map(|i| values[*i].1.expect("filtered")).collect();
        let ranks = average_ranks(&xs);
        let n = xs.len() as f64;
        for (k, i) in idx.iter().enumerate() {
            out[*i] = Some((ranks[k] - 1.0) / (n - 1.0) * 100.0);
        }
    }
    out
}

fn raw_value(factor: &str, n: &NameView) -> Option<f64> {
    match factor {
        "momentum_12_1" => n.ret_12_1,
        "momentum_6m" => n.ret_126,
        "momentum_3m" => n.ret_63,
        "high_52w" => n.vs_high_252,
        "low_volatility" => n.vol_60.map(|v| -v),
        "reversal_1m" => n.ret_21.map(|r| -r),
        "liquidity" => n.adv_usd_20.filter(|a| *a > 0.0).map(f64::ln),
        "earnings_proximity" => Some(n.days_to_earnings.unwrap_or(60) as f64),
        _ => None,
    }
}

fn fundamental_metrics(factor: &str, f: Option<&Fundamentals>) -> Vec<Option<f64>> {
    let Some(f) = f else { return vec![] };
    match factor {
        "value" => vec![f.earnings_yield, f.book_to_price, f.sales_to_price],
        "quality" => vec![f.roe, f.gross_margin, f.piotroski_f.map(f64::from), f.altman_z],
        "growth" => vec![f.revenue_growth, f.eps_growth],
        "insider" => vec![f.insider_net_buyers_90d.map(f64::from)],
        _ => vec![],
    }
}

fn is_degenerate(vals: &[Option<f64>]) -> Option<String> {
    let present: Vec<f64> = vals.iter().filter_map(|v| *v).filter(|v| v.is_finite()).collect();
    if present.len() < 2 {
        return Some(format!("{} name(s) have data", present.len()));
    }
    if present.iter().all(|v| *v == present[0]) {
        return Some("no dispersion (every name has the same value)".into());
    }
    None
}

/// Computes every factor over `names` (eligible, with a sector) and the composite with `weights`.
pub fn compute(
    names: &[&NameView],
    fundamentals: &BTreeMap<Ticker, Fundamentals>,
    weights: &FactorWeights,
) -> FactorTable {
    let mut t = FactorTable::default();
    let sectors: Vec<Sector> = names.iter().map(|n| n.sector.expect("eligible names have a sector")).collect();
    for factor in FACTORS {
        let pct: Vec<Option<f64>> = match factor {
            "value" | "quality" | "growth" | "insider" => {
                // Mean of the within-sector percentiles of each sub-metric the name has.
                let metrics: Vec<Vec<Option<f64>>> =
                    names.iter().map(|n| fundamental_metrics(factor, fundamentals.get(&n.ticker))).collect();
                let width = metrics.iter().map(Vec::len).max().unwrap_or(0);
                let mut sub: Vec<Vec<Option<f64>>> = Vec::new();
                for k in 0..width {
                    let column: Vec<Option<f64>> = metrics.iter().map(|m| m.get(k).copied().flatten()).collect();
                    if is_degenerate(&column).is_none() {
                        sub.push(percentiles(&sectors.iter().copied().zip(column).collect::<Vec<_>>()));
                    }
                }
                (0..names.len())
                    .map(|i| {
                        let v: Vec<f64> = sub.iter().filter_map(|c| c[i]).collect();
                        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                    })
                    .collect()
            }
            "revisions" | "institutional" => vec![None; names.len()],
            _ => {
                let raw: Vec<Option<f64>> = names.iter().map(|n| raw_value(factor, n)).collect();
                if let Some(why) = is_degenerate(&raw) {
                    t.degenerate.insert(factor, why);
                    t.coverage.insert(factor, raw.iter().flatten().count());
                    continue;
                }
                percentiles(&sectors.iter().copied().zip(raw).collect::<Vec<_>>())
            }
        };
        let covered = pct.iter().flatten().count();
        t.coverage.insert(factor, covered);
        if let Some(why) = is_degenerate(&pct) {
            let why = match factor {
                "revisions" | "institutional" => "no provider supplies this data".to_string(),
                "value" | "quality" | "growth" | "insider" if covered == 0 => {
                    "no fundamentals (SEC EDGAR provider disabled or returned nothing)".into()
                }
                _ => why,
            };
            t.degenerate.insert(factor, why);
            continue;
        }
        for (n, p) in names.iter().zip(pct) {
            if let Some(p) = p {
                t.scores.entry(n.ticker.clone()).or_default().insert(factor, p);
            }
        }
    }
    let w: BTreeMap<&str, f64> = weights.pairs().into_iter().collect();
    for (ticker, fs) in &t.scores {
        let (mut num, mut den) = (0.0, 0.0);
        for (f, p) in fs {
            let wf = w.get(f).copied().unwrap_or(0.0);
            num += wf * p;
            den += wf;
        }
        if den > 0.0 {
            t.weighted.insert(ticker.clone(), num / den);
        }
    }
    let ranked: Vec<(Sector, Option<f64>)> =
        names.iter().zip(&sectors).map(|(n, s)| (*s, t.weighted.get(&n.ticker).copied())).collect();
    for (n, p) in names.iter().zip(percentiles(&ranked)) {
        if let Some(p) = p {
            t.composite.insert(n.ticker.clone(), p);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_sector_with_average_ranks() {
        let it = Sector::InformationTechnology;
        let en = Sector::Energy;
        let p = percentiles(&[(it, Some(1.0)), (it, Some(3.0)), (it, Some(3.0)), (en, Some(-5.0)), (it, None)]);
        assert_eq!(p, vec![Some(0.0), Some(75.0), Some(75.0), Some(50.0), None]);
    }

    #[test]
    fn degenerate_needs_two_values_with_dispersion() {
        assert!(is_degenerate(&[Some(1.0), None]).is_some());
        assert!(is_degenerate(&[Some(1.0), Some(1.0)]).unwrap().contains("no dispersion"));
        assert!(is_degenerate(&[Some(1.0), Some(2.0)]).is_none());
    }
}
