//! Same-sector correlation for the risk guard: the mean Pearson correlation of daily returns
//! between a candidate and each held name of its sector over the lookback.

use ae_core::contracts::common::Sector;
use ae_core::metrics::pearson;
use ae_core::types::Ticker;

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
        let (a, b): (Vec<f64>, Vec<f64>) =
            (start..n).filter(|&i| candidate[i].is_finite() && h[i].is_finite()).map(|i| (candidate[i], h[i])).unzip();
        if a.len() < MIN_OVERLAP {
            continue;
        }
        let r = pearson(&a, &b);
        if r.is_finite() {
            sum += r;
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
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
}
