//! The content digest of the bars up to a day, for a job's lineage, computed once per content
//! and day in a process.
//!
//! Plan, EOD, inference, research, training and the backtester each name the bars they read by
//! this digest, and on one store each hashes the same sessions: about 19 MB of bytes for 300
//! names over 5 years, a third of a morning's plan. The digest is a digest of each series'
//! digest, so a series' hasher carries forward from one day to the next. The process keeps, for
//! the last [`KEPT_BARS`] stores' bars it digested, a fingerprint of every bar (XXH3-128 over the
//! columns' bytes: a few milliseconds where the digest takes twenty, and no copy of the bars),
//! their series' hashers and their digests by day: bars with the same fingerprint read their
//! digest back, or feed the hashers the bars since; any other bars, or the same store after any
//! change to a bar, are digested again from their first bar. Two different stores' bars share a
//! fingerprint with a chance of about 2⁻¹²⁸.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use twox_hash::XxHash3_128;

use super::bars::DailyBars;
use crate::calendar::TradingDay;

/// How many stores' bars the process keeps digests of: a job's whole store, and inference's
/// window of it.
pub const KEPT_BARS: usize = 2;

/// How many days' digests the process keeps for each.
pub const KEPT_DAYS: usize = 4;

/// Bars digested lately: their fingerprint, each series' hasher after its bars up to a day, and
/// the digests by day.
struct Kept {
    print: u128,
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

/// The bars kept, the ones used last at the back.
static KEPT: Mutex<VecDeque<Kept>> = Mutex::new(VecDeque::new());

/// [`digest`] of `bars` up to `as_of`, read back, or carried forward from an earlier day, when
/// the process digested bars of the same fingerprint lately.
pub fn kept_digest(bars: &DailyBars, as_of: TradingDay) -> String {
    let kept = || KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let print = fingerprint(bars);
    {
        let mut all = kept();
        if let Some(mut k) = all.iter().position(|k| k.print == print).and_then(|i| all.remove(i)) {
            let digest = k.digest(bars, as_of);
            all.push_back(k);
            return digest;
        }
    }
    let series = hashers(bars, as_of);
    let digest = finish(&series);
    let mut all = kept();
    all.push_back(Kept { print, through: as_of, series, days: VecDeque::from([(as_of, digest.clone())]) });
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
    finish(&hashers(bars, as_of))
}

/// Each series' hasher after its bars up to `as_of`.
fn hashers(bars: &DailyBars, as_of: TradingDay) -> Vec<Series> {
    let mut series = vec![Series { rows: 0, hasher: Sha256::new() }; bars.n_tickers()];
    advance(&mut series, bars, as_of);
    series
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

/// XXH3-128 of every byte of the bars: the tickers (each with a zero byte), then each column's
/// length and values (the offsets, the days' numbers, the opens, highs, lows, closes and volumes;
/// little-endian).
pub(crate) fn fingerprint(b: &DailyBars) -> u128 {
    let mut h = XxHash3_128::new();
    for t in &b.tickers {
        h.write(t.as_str().as_bytes());
        h.write(&[0]);
    }
    let mut buf = Vec::with_capacity(WORDS_BUFFER);
    words(&mut h, &mut buf, b.offsets.len(), b.offsets.iter().map(|o| (*o as u64).to_le_bytes()));
    let day = |d: &TradingDay| i64::from(chrono::Datelike::num_days_from_ce(&d.date())).to_le_bytes();
    words(&mut h, &mut buf, b.dates.len(), b.dates.iter().map(day));
    for column in [&b.open, &b.high, &b.low, &b.close, &b.volume] {
        words(&mut h, &mut buf, column.len(), column.iter().map(|v| v.to_le_bytes()));
    }
    h.finish_128()
}

/// Bytes handed to the fingerprint's hasher at once.
const WORDS_BUFFER: usize = 4096;

/// Writes `len`, then `words`, to `h` through `buf`: the hasher takes bytes, the columns hold
/// numbers.
fn words(h: &mut XxHash3_128, buf: &mut Vec<u8>, len: usize, words: impl Iterator<Item = [u8; 8]>) {
    buf.extend_from_slice(&(len as u64).to_le_bytes());
    for w in words {
        buf.extend_from_slice(&w);
        if buf.len() >= WORDS_BUFFER {
            h.write(buf);
            buf.clear();
        }
    }
    h.write(buf);
    buf.clear();
}
