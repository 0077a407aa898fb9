//! The raw bars of a set of committed chunks, decoded once per process. Every job loads the price
//! store, and when several run in one process (the local scheduler, the demo, a trading host that
//! plans, trades and reconciles the same day) each would otherwise fetch, hash, decode and merge
//! the same chunks again. A set is identified by its chunks' keys and SHA-256s as the manifest
//! commits them, so what is kept is exactly what a fresh load of that manifest decodes; a chunk
//! rewritten under the same key comes with a new hash in the manifest and is decoded afresh.
//!
//! At most [`MAX_SETS`] sets and [`MAX_ROWS`] rows in all are kept; the least recently used go
//! first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::bars::DailyBars;

/// Sets kept at once.
pub const MAX_SETS: usize = 4;

/// Rows kept in all (about 56 bytes each).
pub const MAX_ROWS: usize = 8_000_000;

/// The chunks of a load, `(key, sha256)` in the manifest's order.
pub type ChunkSet = Vec<(String, String)>;

static KEPT: Mutex<VecDeque<(ChunkSet, Arc<DailyBars>)>> = Mutex::new(VecDeque::new());

/// The bars decoded from `set`, when this process decoded them before.
pub fn kept(set: &ChunkSet) -> Option<Arc<DailyBars>> {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let i = kept.iter().position(|(s, _)| s == set)?;
    // The most recently used go last, the last to be dropped.
    let hit = kept.remove(i)?;
    let bars = hit.1.clone();
    kept.push_back(hit);
    Some(bars)
}

/// Keeps `bars`, decoded from `set`, making room by dropping the least recently used sets. Bars larger than
/// [`MAX_ROWS`] on their own are not kept.
pub fn keep(set: ChunkSet, bars: Arc<DailyBars>) {
    if bars.n_rows() > MAX_ROWS {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(s, _)| *s != set);
    while kept.len() >= MAX_SETS || kept.iter().map(|(_, b)| b.n_rows()).sum::<usize>() + bars.n_rows() > MAX_ROWS {
        kept.pop_front();
    }
    kept.push_back((set, bars));
}
