//! The content digest of the bars up to a day, for a job's lineage, computed once per content
//! and day in a process.
//!
//! Plan, EOD, inference, research, training and the backtester each name the bars they read by
//! this digest, and on one store each hashes the same sessions: about 19 MB of bytes for 300
//! names over 5 years, a third of a morning's plan. The digest is a digest of each series'
//! digest, so a series' hasher carries forward from one day to the next. The process keeps the
//! last [`KEPT_BARS`] bars it digested (copies), their series' hashers and their digests by day:
//! a store whose bars are the same bits reads its digest back, or feeds the hashers the bars
//! since; any other store, or the same store after any change to a bar, is digested again from
//! its first bar.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::bars::DailyBars;
use crate::calendar::TradingDay;

/// How many stores' bars the process keeps: a job's whole store, and inference's window of it.
pub const KEPT_BARS: usize = 2;

/// How many days' digests the process keeps for each.
pub const KEPT_DAYS: usize = 4;

/// Bars digested lately, each series' hasher after its bars up to a day, and the digests by day.
struct Kept {
    bars: Arc<DailyBars>,
    through: TradingDay,
    series: Vec<Series>,
    days: VecDeque<(TradingDay, String)>,
}

/// One series' hasher after its first `rows` bars.
#[derive(Clone)]
struct Series {
    rows: usize,
    hasher: Sha256,
}

/// The bars kept, the one used last at the back.
static KEPT: Mutex<VecDeque<Kept>> = Mutex::new(VecDeque::new());

/// [`digest`] of `bars` up to `as_of`, read back, or carried forward from an earlier day, when
/// the process digested the same bits lately. For large stores: the comparison reads every bar
/// once.
pub fn kept_digest(bars: &DailyBars, as_of: TradingDay) -> String {
    let kept = || KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    // The comparisons run outside the lock, on the kept copies' handles.
    let copies: Vec<Arc<DailyBars>> = kept().iter().rev().map(|k| k.bars.clone()).collect();
    if let Some(copy) = copies.iter().find(|c| same_bits(c, bars)) {
        let mut all = kept();
        // Still kept (another thread may have let it go meanwhile).
        if let Some(mut k) = all.iter().position(|k| Arc::ptr_eq(copy, &k.bars)).and_then(|i| all.remove(i)) {
            let digest = k.digest(bars, as_of);
            all.push_back(k);
            return digest;
        }
    }
    let mut series = vec![Series { rows: 0, hasher: Sha256::new() }; bars.n_tickers()];
    advance(&mut series, bars, as_of);
    let digest = finish(&series);
    let mut all = kept();
    all.push_back(Kept {
        bars: Arc::new(bars.clone()),
        through: as_of,
        series,
        days: VecDeque::from([(as_of, digest.clone())]),
    });
    while all.len() > KEPT_BARS {
        all.pop_front();
    }
    digest
}

impl Kept {
    /// The digest of its bars up to `as_of`: kept, carried forward, or computed again for a day
    /// before the hashers'.
    fn digest(&mut self, bars: &DailyBars, as_of: TradingDay) -> String {
        if let Some((_, d)) = self.days.iter().find(|(d, _)| *d == as_of) {
            return d.clone();
        }
        let digest = if as_of >= self.through {
            advance(&mut self.series, bars, as_of);
            self.through = as_of;
            finish(&self.series)
        } else {
            digest(bars, as_of)
        };
        self.days.push_back((as_of, digest.clone()));
        while self.days.len() > KEPT_DAYS {
            self.days.pop_front();
        }
        digest
    }
}

/// The hex SHA-256 of the SHA-256 of each series' bars up to `as_of`, in the series' order; a
/// series' bytes are, bar by bar, its ticker, a zero byte, the day's number, and its open, high,
/// low, close and volume (little-endian).
pub fn digest(bars: &DailyBars, as_of: TradingDay) -> String {
    let mut series = vec![Series { rows: 0, hasher: Sha256::new() }; bars.n_tickers()];
    advance(&mut series, bars, as_of);
    finish(&series)
}

/// Feeds each series' hasher its bars after those it has, up to `as_of`.
fn advance(series: &mut [Series], bars: &DailyBars, as_of: TradingDay) {
    let mut buf = Vec::new();
    for (k, s) in series.iter_mut().zip(bars.iter()) {
        let n = s.dates.partition_point(|d| *d <= as_of);
        // Each series' new bytes go to the hasher at once: one update per field of every bar was
        // most of the cost of a job's lineage.
        buf.clear();
        for i in k.rows..n {
            buf.extend_from_slice(s.ticker.as_str().as_bytes());
            buf.push(0);
            // The day as its number, not its text: formatting every date of every bar for each
            // job's lineage was 5% of the demo's time.
            buf.extend_from_slice(&chrono::Datelike::num_days_from_ce(&s.dates[i].date()).to_le_bytes());
            for v in [s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]] {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        k.hasher.update(&buf);
        k.rows = k.rows.max(n);
    }
}

/// The digest of the series' hashers as they stand.
fn finish(series: &[Series]) -> String {
    let mut h = Sha256::new();
    for s in series {
        h.update(s.hasher.clone().finalize());
    }
    hex::encode(h.finalize())
}

/// Whether `a` and `b` hold the same bars to the bit (`-0.0` is not `0.0` here, and a NaN equals
/// the same NaN: the digest sees bytes).
fn same_bits(a: &DailyBars, b: &DailyBars) -> bool {
    let floats = |x: &[f64], y: &[f64]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
    a.tickers == b.tickers
        && a.offsets == b.offsets
        && a.dates == b.dates
        && floats(&a.open, &b.open)
        && floats(&a.high, &b.high)
        && floats(&a.low, &b.low)
        && floats(&a.close, &b.close)
        && floats(&a.volume, &b.volume)
}
