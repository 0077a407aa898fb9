//! Memos of the executor's pure correlation rules, shared by every grid point of a sweep. On a
//! prepared day, two points that hold the same names get the same book correlation, and a
//! candidate measured against the same held peers gets the same mean correlation: each is
//! computed once per day by the executor's own functions ([`book_correlation`],
//! [`mean_correlation`]) and then read back, so a memoized run equals an unmemoized one to the
//! bit.
//!
//! A key is the lookback and the addresses of the day's return series. Each (day, name) has its
//! own series, fixed while the prepared days are borrowed, so a lookup neither hashes nor compares
//! tickers, and hashes the addresses with `FxHash` (SipHash guards against input no one here
//! chooses). The memo keeps at most [`MAX_ENTRIES`] results in all and computes past that.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ae_rules::correlation::{BookCorrelation, book_correlation, mean_correlation};
use rustc_hash::FxHashMap;

/// The most results the memo keeps over all days (about 200 bytes each).
pub const MAX_ENTRIES: usize = 500_000;

/// One day's memo.
#[derive(Debug, Default)]
struct Day {
    book: FxHashMap<Vec<usize>, Option<BookCorrelation>>,
    mean: FxHashMap<Vec<usize>, Option<f64>>,
}

/// The memo of a run or a sweep over prepared days.
#[derive(Debug)]
pub struct CorrelationMemo {
    days: Vec<Mutex<Day>>,
    entries: AtomicUsize,
}

fn key(lookback: usize, first: Option<&[f64]>, series: &[&[f64]]) -> Vec<usize> {
    let mut k = Vec::with_capacity(series.len() + 2);
    k.push(lookback);
    k.extend(first.map(|s| s.as_ptr() as usize));
    k.extend(series.iter().map(|s| s.as_ptr() as usize));
    k
}

impl CorrelationMemo {
    /// An empty memo over `days` prepared days.
    pub fn new(days: usize) -> Self {
        Self { days: (0..days).map(|_| Mutex::default()).collect(), entries: AtomicUsize::new(0) }
    }

    fn keep(&self) -> bool {
        self.entries.fetch_add(1, Ordering::Relaxed) < MAX_ENTRIES
    }

    /// [`book_correlation`] of the held names' `series` on day `day`.
    pub fn book(&self, day: usize, series: &[&[f64]], lookback: usize) -> Option<BookCorrelation> {
        let k = key(lookback, None, series);
        if let Some(v) = self.days[day].lock().expect("memo lock").book.get(&k) {
            return *v;
        }
        let v = book_correlation(series, lookback);
        if self.keep() {
            self.days[day].lock().expect("memo lock").book.insert(k, v);
        }
        v
    }

    /// [`mean_correlation`] of a candidate's series `own` with its held `peers` on day `day`.
    pub fn mean(&self, day: usize, own: &[f64], peers: &[&[f64]], lookback: usize) -> Option<f64> {
        let k = key(lookback, Some(own), peers);
        if let Some(v) = self.days[day].lock().expect("memo lock").mean.get(&k) {
            return *v;
        }
        let v = mean_correlation(own, peers, lookback);
        if self.keep() {
            self.days[day].lock().expect("memo lock").mean.insert(k, v);
        }
        v
    }
}
