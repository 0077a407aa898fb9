//! Signal quality: did research's BUY names beat the benchmark? For each horizon, the share of
//! BUY signals (one per name per signals document) whose return from the as-of close beat the
//! benchmark's, overall, by score bucket and by sector, each with its sample size, a 95% Wilson
//! interval and an exact binomial p-value against a coin flip; Benjamini–Hochberg across every
//! bucket reported. Buckets smaller than the minimum are listed as such, without a rate. Plus
//! sub-score attribution: the rank IC of the quant and qualitative sub-scores and the composite
//! with the forward excess return, over every scored name.

use ae_shared::contracts::common::Rating;
use ae_shared::contracts::signals::Signals;
use ae_shared::metrics::{rank_ic, wilson_interval};
use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

use crate::outcomes::Outcomes;

/// One bucket at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// "all", "score 70-80", "sector Energy".
    pub bucket: String,
    /// Trading days ahead.
    pub horizon: u32,
    /// Matured BUY signals.
    pub n: u64,
    /// Those that beat the benchmark.
    pub beat: u64,
    /// beat / n (None below the minimum sample).
    pub rate: Option<f64>,
    /// 95% Wilson interval.
    pub interval: Option<(f64, f64)>,
    /// Two-sided exact binomial p-value against 0.5.
    pub p_value: Option<f64>,
    /// Significant after Benjamini–Hochberg at the configured FDR.
    pub significant: bool,
}

/// Rank IC of one score with the forward excess return.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// "quant", "qual", "composite".
    pub score: String,
    /// Trading days ahead.
    pub horizon: u32,
    /// Pairs.
    pub n: usize,
    /// Spearman correlation (NaN below 10 pairs).
    pub rank_ic: f64,
}

/// Signal quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalGrade {
    /// Signals documents graded.
    pub documents: usize,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// Sub-score attribution.
    pub attribution: Vec<Attribution>,
}

fn score_bucket(s: f64) -> &'static str {
    match s {
        x if x < 60.0 => "score <60",
        x if x < 70.0 => "score 60-70",
        x if x < 80.0 => "score 70-80",
        x if x < 90.0 => "score 80-90",
        _ => "score 90+",
    }
}

fn binomial_p(k: u64, n: u64) -> f64 {
    let b = Binomial::new(0.5, n).expect("valid");
    let lower = b.cdf(k);
    let upper = if k == 0 { 1.0 } else { 1.0 - b.cdf(k - 1) };
    (2.0 * lower.min(upper)).min(1.0)
}

/// Benjamini–Hochberg: which of `p` are discoveries at false discovery rate `q`.
pub fn benjamini_hochberg(p: &[f64], q: f64) -> Vec<bool> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut cutoff = None;
    for (rank, &i) in order.iter().enumerate() {
        if p[i] <= q * (rank + 1) as f64 / m as f64 {
            cutoff = Some(rank);
        }
    }
    let mut out = vec![false; m];
    if let Some(c) = cutoff {
        for &i in &order[..=c] {
            out[i] = true;
        }
    }
    out
}

/// Grades every signals document against realised returns.
pub fn grade(docs: &[Signals], out: &Outcomes, horizons: &[u32], min_bucket: u32, q: f64) -> SignalGrade {
    let mut buckets = Vec::new();
    let mut attribution = Vec::new();
    for &h in horizons {
        let mut tallies: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        let (mut quant, mut qual, mut comp) = (Vec::new(), Vec::new(), Vec::new());
        for doc in docs {
            let as_of = doc.date.prev();
            for e in &doc.universe {
                let Some(x) = out.excess(&e.ticker, as_of, h as usize) else { continue };
                quant.push((e.sub_scores.quant.get(), x));
                if let Some(q) = e.sub_scores.qual {
                    qual.push((q.get(), x));
                }
                if let Some(s) = e.score {
                    comp.push((s.get(), x));
                }
                if e.rating != Rating::Buy {
                    continue;
                }
                let win = u64::from(x > 0.0);
                let mut add = |k: String| {
                    let t = tallies.entry(k).or_default();
                    t.0 += 1;
                    t.1 += win;
                };
                add("all".into());
                if let Some(s) = e.score {
                    add(score_bucket(s.get()).into());
                }
                add(format!("sector {}", e.sector.name()));
            }
        }
        for (k, (n, beat)) in tallies {
            let enough = n >= min_bucket as u64;
            buckets.push(Bucket {
                bucket: k,
                horizon: h,
                n,
                beat,
                rate: enough.then(|| beat as f64 / n as f64),
                interval: enough.then(|| wilson_interval(beat, n, 0.95)),
                p_value: enough.then(|| binomial_p(beat, n)),
                significant: false,
            });
        }
        for (name, pairs) in [("quant", quant), ("qual", qual), ("composite", comp)] {
            let (a, b): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            let ic = if a.len() >= 10 { rank_ic(&a, &b) } else { f64::NAN };
            attribution.push(Attribution { score: name.into(), horizon: h, n: a.len(), rank_ic: ic });
        }
    }
    let tested: Vec<usize> = (0..buckets.len()).filter(|i| buckets[*i].p_value.is_some()).collect();
    let p: Vec<f64> = tested.iter().map(|i| buckets[*i].p_value.expect("tested")).collect();
    for (k, sig) in benjamini_hochberg(&p, q).into_iter().enumerate() {
        buckets[tested[k]].significant = sig;
    }
    SignalGrade { documents: docs.len(), buckets, attribution }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benjamini_hochberg_matches_the_textbook_step_up() {
        // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05; the largest p(k) <= k q / m is
        // 0.03 at k = 3 (0.029), so the three smallest are discoveries although 0.025 > 0.02.
        let p = [0.029, 0.001, 0.2, 0.025, 0.9];
        assert_eq!(benjamini_hochberg(&p, 0.05), vec![true, true, false, true, false]);
        assert_eq!(benjamini_hochberg(&[0.5, 0.6], 0.05), vec![false, false]);
    }

    #[test]
    fn binomial_p_is_two_sided_and_exact() {
        // 8 of 10 heads: P(X >= 8) = 56/1024; two-sided 112/1024.
        assert!((binomial_p(8, 10) - 112.0 / 1024.0).abs() < 1e-12);
        assert!((binomial_p(5, 10) - 1.0).abs() < 1e-12);
    }
}
