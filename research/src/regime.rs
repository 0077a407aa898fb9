//! The quant baseline: market regime and sector ratings from prices alone.
//!
//! **Regime** from the benchmark's trend (vs its 200-session average), its 20-session realized
//! volatility, and breadth (share of eligible names above their 50-session average, or with a
//! positive month while fewer than 50 bars exist):
//! bear when the trend is down and volatility exceeds 25% or breadth is below 40%; bull when the
//! trend is up, volatility is below 20% and breadth exceeds 55%; neutral otherwise.
//!
//! **Sector ratings** from relative strength (median 3-month return of the sector's names minus the
//! benchmark's; 1-month while history is short) and breadth: each sector's two measures are
//! z-scored across sectors and averaged; modifier = 1 + 0.15 × clamp(z, −2, 2), so 0.7..=1.3;
//! ≥ 1.05 is overweight, ≤ 0.95 underweight. A sector with fewer than 3 names is market-weight.

use std::collections::BTreeMap;

use ae_shared::contracts::common::{Regime, Sector, SectorRating};
use ae_shared::contracts::signals::SectorView;

use crate::snapshot::{NameView, Snapshot};

/// The quant view of the market.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantView {
    /// Regime.
    pub regime: Regime,
    /// The numbers behind it.
    pub evidence: String,
    /// Breadth (0..1), when measurable.
    pub breadth: Option<f64>,
    /// Sector ratings for all eleven sectors.
    pub sectors: BTreeMap<Sector, SectorView>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn above(n: &NameView) -> Option<bool> {
    n.vs_ma50.map(|v| v > 0.0).or(n.ret_21.map(|r| r > 0.0))
}

fn zscores(xs: &[Option<f64>]) -> Vec<Option<f64>> {
    let v: Vec<f64> = xs.iter().flatten().copied().collect();
    if v.len() < 2 {
        return xs.iter().map(|x| x.map(|_| 0.0)).collect();
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
    xs.iter().map(|x| x.map(|x| if sd > 0.0 { (x - m) / sd } else { 0.0 })).collect()
}

/// Computes the quant regime and sector ratings.
pub fn quant_view(snap: &Snapshot) -> QuantView {
    let eligible: Vec<&NameView> = snap.eligible().collect();
    let flags: Vec<bool> = eligible.iter().filter_map(|n| above(n)).collect();
    let breadth = (!flags.is_empty()).then(|| flags.iter().filter(|b| **b).count() as f64 / flags.len() as f64);
    let b = &snap.benchmark;
    let trend = b.vs_ma200;
    let vol = b.vol_20;
    let regime = match (trend, vol, breadth) {
        (Some(t), v, br) if t < 0.0 && (v.is_some_and(|v| v > 0.25) || br.is_some_and(|b| b < 0.40)) => Regime::Bear,
        (Some(t), Some(v), Some(br)) if t > 0.0 && v < 0.20 && br > 0.55 => Regime::Bull,
        _ => Regime::Neutral,
    };
    let fmt = |x: Option<f64>| x.map(|x| format!("{:+.1}%", x * 100.0)).unwrap_or_else(|| "n/a".into());
    let evidence = format!(
        "benchmark {} vs its 200-day average, 20-day volatility {}, breadth {} of {} names above their 50-day average",
        fmt(trend),
        vol.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "n/a".into()),
        breadth.map(|b| format!("{:.0}%", b * 100.0)).unwrap_or_else(|| "n/a".into()),
        flags.len()
    );

    // Sector relative strength and breadth.
    let use_63 = eligible.iter().filter(|n| n.ret_63.is_some()).count() * 2 > eligible.len();
    let (bench_ret, window) = if use_63 { (b.ret_63, "3-month") } else { (b.ret_21, "1-month") };
    let mut stats: Vec<(Sector, usize, Option<f64>, Option<f64>)> = Vec::new();
    for s in Sector::ALL {
        let members: Vec<&&NameView> = eligible.iter().filter(|n| n.sector == Some(s)).collect();
        let rets: Vec<f64> = members.iter().filter_map(|n| if use_63 { n.ret_63 } else { n.ret_21 }).collect();
        let rs = median(rets).zip(bench_ret).map(|(m, b)| m - b);
        let fl: Vec<bool> = members.iter().filter_map(|n| above(n)).collect();
        let br = (!fl.is_empty()).then(|| fl.iter().filter(|x| **x).count() as f64 / fl.len() as f64);
        stats.push((s, members.len(), rs, br));
    }
    let rated: Vec<bool> = stats.iter().map(|(_, n, rs, br)| *n >= 3 && rs.is_some() && br.is_some()).collect();
    let zr = zscores(&stats.iter().zip(&rated).map(|(s, ok)| if *ok { s.2 } else { None }).collect::<Vec<_>>());
    let zb = zscores(&stats.iter().zip(&rated).map(|(s, ok)| if *ok { s.3 } else { None }).collect::<Vec<_>>());
    let mut sectors = BTreeMap::new();
    for (i, (s, n, rs, br)) in stats.iter().enumerate() {
        let view = match (zr[i], zb[i]) {
            (Some(a), Some(bz)) => {
                let z = (a + bz) / 2.0;
                let modifier = ((1.0 + 0.15 * z.clamp(-2.0, 2.0)) * 100.0).round() / 100.0;
                let rating = if modifier >= 1.05 {
                    SectorRating::Overweight
                } else if modifier <= 0.95 {
                    SectorRating::Underweight
                } else {
                    SectorRating::MarketWeight
                };
                SectorView {
                    rating,
                    modifier,
                    rationale: format!(
                        "quant: {window} relative strength {} vs the benchmark, {} of {n} names above their 50-day average (z {z:+.2})",
                        fmt(*rs),
                        br.map(|b| format!("{:.0}%", b * 100.0)).unwrap_or_default()
                    ),
                }
            }
            _ => SectorView {
                rating: SectorRating::MarketWeight,
                modifier: 1.0,
                rationale: format!("quant: too few names with history to rate ({n})"),
            },
        };
        sectors.insert(*s, view);
    }
    QuantView { regime, evidence, breadth, sectors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_zscores() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![1.0, 2.0]), Some(1.5));
        assert_eq!(median(vec![]), None);
        let z = zscores(&[Some(1.0), None, Some(3.0)]);
        assert!((z[0].unwrap() + std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9 && z[1].is_none());
    }
}
