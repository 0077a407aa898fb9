//! A digest chain over the store's sessions: link `k` covers every raw bar and benchmark bar of
//! the sessions up to the `k`-th, so whatever is computed from bars up to a session can be kept
//! under that session's link and found again while nothing up to it was revised. Appending later
//! sessions leaves the earlier links as they were; a revised bar changes its session's link and
//! every later one. The detected splits, the first day and the sector map are in [`side_digest`];
//! what a consumer reads of the documents the nightly update revises (dividends, vendor splits,
//! the earnings calendar) it keys itself, for the day it reads, so a revision elsewhere in them
//! leaves its keys as they were.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use super::PriceStore;
use super::bars::DailyBars;
use super::lineage;
use crate::TradingDay;
use crate::bus::keys;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// The chain of a store's sessions ([`SessionChain::of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionChain {
    dates: Vec<TradingDay>,
    links: Vec<Digest>,
}

/// Feeds every bar of `bars` on `dates` (ascending, a run of the chain's sessions) into the
/// hasher of its session, tickers in their (sorted) order: each series' bars in the run are found
/// by two binary searches and aligned walking forward.
fn feed(bars: &DailyBars, tag: u8, dates: &[TradingDay], hashers: &mut [Sha256]) {
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else { return };
    let mut buf = Vec::with_capacity(64);
    for s in bars.iter() {
        let mut k = 0;
        for i in s.dates.partition_point(|d| d < first)..s.dates.partition_point(|d| d <= last) {
            // dates[k] ends at `last`, which is not before this bar's day.
            while dates[k] < s.dates[i] {
                k += 1;
            }
            if dates[k] != s.dates[i] {
                continue;
            }
            buf.clear();
            buf.push(tag);
            buf.extend_from_slice(&(s.ticker.as_str().len() as u32).to_le_bytes());
            buf.extend_from_slice(s.ticker.as_str().as_bytes());
            for v in [s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]] {
                buf.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            hashers[k].update(&buf);
        }
    }
}

/// Two ascending lists of sessions merged, each session once.
fn merged(a: &[TradingDay], b: &[TradingDay]) -> Vec<TradingDay> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x <= y => *x,
            (Some(x), None) => *x,
            (_, Some(y)) => *y,
            (None, None) => unreachable!("the loop runs while one has sessions left"),
        };
        while a.get(i) == Some(&next) {
            i += 1;
        }
        while b.get(j) == Some(&next) {
            j += 1;
        }
        out.push(next);
    }
    out
}

/// How many stores' chains the process keeps (the backtester keys its weekly tables, prepared
/// days and replayed signals on one store's chain).
const KEPT_CHAINS: usize = 2;

/// Chains computed lately, by the fingerprints of the raw bars and the benchmark they cover.
static KEPT: Mutex<VecDeque<((u128, u128), SessionChain)>> = Mutex::new(VecDeque::new());

/// A digest of what the store holds besides its bars and rarely revises: its first day, the splits
/// its prices show, and the sector map's SHA-256 as read.
pub fn side_digest(store: &PriceStore) -> Digest {
    let mut h = Sha256::new();
    h.update(store.manifest.first_day.to_string().as_bytes());
    for sp in &store.splits {
        h.update(format!("{} {} {}\n", sp.ticker, sp.date, sp.ratio).as_bytes());
    }
    for i in store.inputs.iter().filter(|i| i.key == keys::sectors().as_str()) {
        h.update(i.key.as_bytes());
        h.update(i.sha256.as_bytes());
    }
    h.finalize().into()
}

impl SessionChain {
    /// The chain over every session of `store`'s raw bars and benchmark.
    ///
    /// A process keeps the last [`KEPT_CHAINS`] chains by a fingerprint of every bar they cover
    /// ([`lineage::fingerprint`], a few milliseconds where the chain takes tens): bars with the
    /// same fingerprint read theirs back. The sessions are hashed in two runs side by side.
    pub fn of(store: &PriceStore) -> Self {
        let print = (lineage::fingerprint(&store.raw), lineage::fingerprint(&store.benchmark));
        let kept = || KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, chain)) = kept().iter().find(|(p, _)| *p == print) {
            return chain.clone();
        }
        let chain = Self::compute(store);
        let mut k = kept();
        k.push_back((print, chain.clone()));
        while k.len() > KEPT_CHAINS {
            k.pop_front();
        }
        chain
    }

    fn compute(store: &PriceStore) -> Self {
        let dates = merged(&store.raw.sessions(), &store.benchmark.sessions());
        let mut hashers = vec![Sha256::new(); dates.len()];
        let half = dates.len().div_ceil(2).max(1);
        std::thread::scope(|s| {
            for (d, h) in dates.chunks(half).zip(hashers.chunks_mut(half)) {
                s.spawn(move || {
                    feed(&store.raw, 0, d, h);
                    feed(&store.benchmark, 1, d, h);
                });
            }
        });
        let mut prev = Digest::default();
        let links = dates
            .iter()
            .zip(hashers)
            .map(|(d, h)| {
                let mut link = Sha256::new();
                link.update(prev);
                link.update(chrono::Datelike::num_days_from_ce(&d.date()).to_le_bytes());
                link.update(h.finalize());
                prev = link.finalize().into();
                prev
            })
            .collect();
        Self { dates, links }
    }

    /// The link of the last session on or before `day` (all zeros before the first session).
    pub fn through(&self, day: TradingDay) -> Digest {
        let n = self.dates.partition_point(|d| *d <= day);
        n.checked_sub(1).map(|k| self.links[k]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn two_session_lists_merge_sorted_once(
            a in proptest::collection::btree_set(0i64..300, 0..80),
            b in proptest::collection::btree_set(0i64..300, 0..80),
        ) {
            let start = TradingDay::parse("2008-01-02").unwrap();
            let days = |s: &std::collections::BTreeSet<i64>| -> Vec<TradingDay> {
                s.iter().map(|k| start.offset(*k).unwrap()).collect()
            };
            let (a, b) = (days(&a), days(&b));
            let mut want: Vec<TradingDay> = a.iter().chain(&b).copied().collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(merged(&a, &b), want);
        }
    }
}
