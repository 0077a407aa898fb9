//! Same-sector correlation for the risk guard: the mean Pearson correlation of daily returns
//! between a candidate and each held name of its sector over the lookback.

use ae_core::contracts::common::Sector;
use ae_core::metrics::pearson_finite_pairs;
use ae_core::types::Ticker;
use serde::{Deserialize, Serialize};

use crate::view::Book;

/// Fewest overlapping returns for a pair to count.
pub const MIN_OVERLAP: usize = 10;

/// The held names a candidate's correlation is measured against: the other holdings of its sector.
pub fn sector_peers<'a>(
    book: &'a Book,
    ticker: &'a Ticker,
    sector: Option<Sector>,
) -> impl Iterator<Item = &'a Ticker> {
    book.holdings.iter().filter(move |h| h.sector == sector && &h.ticker != ticker).map(|h| &h.ticker)
}

/// Mean correlation of `candidate` with each series in `held`, all aligned by session (NaN where
/// a name has no return). `None` when the candidate has fewer than `lookback` returns or no pair
/// overlaps enough.
pub fn mean_correlation(candidate: &[f64], held: &[&[f64]], lookback: usize) -> Option<f64> {
    if candidate.iter().filter(|x| x.is_finite()).count() < lookback {
        return None;
    }
    let n = candidate.len();
    let start = n.saturating_sub(lookback);
    let mut sum = 0.0;
    let mut count = 0usize;
    for h in held {
        if h.len() != n {
            continue;
        }
        let (r, pairs) = pearson_finite_pairs(&candidate[start..n], &h[start..n]);
        if pairs < MIN_OVERLAP {
            continue;
        }
        if r.is_finite() {
            sum += r;
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// The held names' correlation: the mean pairwise Pearson correlation of their daily returns over
/// the lookback and the effective number of bets, `exp(entropy)` of the correlation matrix's
/// eigenvalues normalized to sum to one (n for uncorrelated names, 1 for one bet held n times).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BookCorrelation {
    /// Mean of the pairwise correlations.
    pub mean: f64,
    /// Effective number of independent bets.
    pub effective_bets: f64,
    /// Names with enough history to count.
    pub names: usize,
}

/// The correlation of `series` (each aligned by session, NaN where a name has no return) over
/// their last `lookback` sessions. Pairs need [`MIN_OVERLAP`] common returns; names with no such
/// pair are left out. `None` with fewer than two names left.
pub fn book_correlation(series: &[&[f64]], lookback: usize) -> Option<BookCorrelation> {
    let window: Vec<&[f64]> = series.iter().map(|s| &s[s.len().saturating_sub(lookback)..]).collect();
    let n = window.len();
    let mut r = vec![vec![f64::NAN; n]; n];
    for i in 0..n {
        r[i][i] = 1.0;
        for j in i + 1..n {
            let len = window[i].len().min(window[j].len());
            let (c, pairs) =
                pearson_finite_pairs(&window[i][window[i].len() - len..], &window[j][window[j].len() - len..]);
            if pairs >= MIN_OVERLAP && c.is_finite() {
                r[i][j] = c;
                r[j][i] = c;
            }
        }
    }
    let keep: Vec<usize> = (0..n).filter(|&i| (0..n).any(|j| j != i && r[i][j].is_finite())).collect();
    if keep.len() < 2 {
        return None;
    }
    // A pair without overlap counts as uncorrelated in the matrix (and not in the mean).
    let m: Vec<Vec<f64>> =
        keep.iter().map(|&i| keep.iter().map(|&j| if r[i][j].is_finite() { r[i][j] } else { 0.0 }).collect()).collect();
    let (mut sum, mut pairs) = (0.0, 0usize);
    for (a, &i) in keep.iter().enumerate() {
        for &j in &keep[a + 1..] {
            if r[i][j].is_finite() {
                sum += r[i][j];
                pairs += 1;
            }
        }
    }
    let eig: Vec<f64> = ae_core::metrics::symmetric_eigenvalues(m).into_iter().map(|e| e.max(0.0)).collect();
    let total: f64 = eig.iter().sum();
    let entropy: f64 = eig.iter().filter(|e| **e > 0.0).map(|e| e / total).map(|q| -q * q.ln()).sum();
    Some(BookCorrelation { mean: sum / pairs as f64, effective_bets: entropy.exp(), names: keep.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_over_pairs_that_overlap_enough() {
        let a: Vec<f64> = (0..60).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let same = a.clone();
        let opposite: Vec<f64> = a.iter().map(|x| -x).collect();
        let mut short = vec![f64::NAN; 60];
        short[55..].copy_from_slice(&a[55..]);
        assert!((mean_correlation(&a, &[&same], 60).unwrap() - 1.0).abs() < 1e-12);
        assert!(mean_correlation(&a, &[&same, &opposite], 60).unwrap().abs() < 1e-12);
        assert_eq!(mean_correlation(&a, &[&short], 60), None, "5 overlapping returns are too few");
        assert_eq!(mean_correlation(&a[..30], &[&same[..30]], 60), None, "candidate history shorter than the lookback");
        assert_eq!(mean_correlation(&a, &[], 60), None);
    }

    #[test]
    fn effective_bets_count_independent_names_once_and_clones_as_one() {
        // Three orthogonal (zero-correlation) series over 60 sessions, and a clone of the first.
        let s = |f: fn(usize) -> f64| (0..60).map(f).collect::<Vec<f64>>();
        let a = s(|i| if i % 2 == 0 { 1.0 } else { -1.0 });
        let b = s(|i| if (i / 2) % 2 == 0 { 1.0 } else { -1.0 });
        let c = s(|i| if (i / 4) % 2 == 0 { 1.0 } else { -1.0 });
        let independent = book_correlation(&[&a, &b, &c], 60).unwrap();
        assert!(independent.mean.abs() < 0.05 && (independent.effective_bets - 3.0).abs() < 0.05, "{independent:?}");
        let clones = book_correlation(&[&a, &a, &a], 60).unwrap();
        assert!((clones.mean - 1.0).abs() < 1e-12 && (clones.effective_bets - 1.0).abs() < 1e-9, "{clones:?}");
        let half = book_correlation(&[&a, &a, &b, &b], 60).unwrap();
        assert!((half.effective_bets - 2.0).abs() < 0.05, "two bets held twice: {half:?}");
        assert_eq!(book_correlation(&[&a], 60), None, "one name has no pair");
    }
}
