//! A digest chain over the store's sessions: link `k` covers every raw bar and benchmark bar of
//! the sessions up to the `k`-th, so whatever is computed from bars up to a session can be kept
//! under that session's link and found again while nothing up to it was revised. Appending later
//! sessions leaves the earlier links as they were; a revised bar changes its session's link and
//! every later one. The detected splits, the first day and the sector map are in [`side_digest`];
//! what a consumer reads of the documents the nightly update revises (dividends, vendor splits,
//! the earnings calendar) it keys itself, for the day it reads, so a revision elsewhere in them
//! leaves its keys as they were.

use sha2::{Digest as _, Sha256};

use super::PriceStore;
use super::bars::DailyBars;
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

/// Feeds every bar of `bars` into the hasher of its session, tickers in their (sorted) order.
fn feed(bars: &DailyBars, tag: u8, dates: &[TradingDay], hashers: &mut [Sha256]) {
    let mut buf = Vec::with_capacity(64);
    for s in bars.iter() {
        for i in 0..s.len() {
            let Ok(k) = dates.binary_search(&s.dates[i]) else { continue };
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
    pub fn of(store: &PriceStore) -> Self {
        let mut dates: Vec<TradingDay> = store.raw.dates.iter().chain(&store.benchmark.dates).copied().collect();
        dates.sort_unstable();
        dates.dedup();
        let mut hashers = vec![Sha256::new(); dates.len()];
        feed(&store.raw, 0, &dates, &mut hashers);
        feed(&store.benchmark, 1, &dates, &mut hashers);
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
