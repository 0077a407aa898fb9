//! The scoring-weight tuning's weekly tables kept across runs. Every week the tuning rebuilds the
//! research snapshot of every past research date, although a past week's table changes only when
//! the bars it read do. Each table is kept on the bus under a digest of everything it was built
//! from (`backtest/cache/weeks/{digest}.bin`, postcard):
//!
//! - the store's session chain through the last session its forward returns read
//!   ([`SessionChain`]: every raw and benchmark bar up to then), the rest of the store
//!   ([`sessions::side_digest`]: its first day, where the snapshot reads from, the splits its
//!   prices show and the sector map), and each name's next earnings date after the week's
//!   as-of session (what the snapshot reads of the calendar the nightly update revises);
//! - the data configuration and the horizon (not the factor weights in force: a table holds each
//!   factor's percentiles and the outcomes, which the weights do not change, so a weekly write-back
//!   of new weights keeps every table);
//! - [`FORMAT`] and this build ([`crate::checkpoint::build_id`]); without a build id nothing is
//!   kept or reused.
//!
//! A kept table is therefore the table this run would build, to the bit (tested), and a missing
//! or unreadable one is built again.

use std::collections::HashMap;

use ae_research::factors::FACTORS;
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::config::DataConfig;
use ae_shared::store::PriceStore;
use ae_shared::store::sessions::{self, SessionChain};
use futures::future::join_all;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::weights::Week;

/// Bumped when a kept table's layout or encoding changes.
pub const FORMAT: u32 = 1;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// A table as kept: factor names as text (read in place, not copied).
#[derive(Serialize, Deserialize)]
struct Kept<'a> {
    format: u32,
    #[serde(borrow)]
    pct: Vec<Vec<(&'a str, f64)>>,
    outcome: Vec<f64>,
}

/// Its bytes.
pub fn encode(w: &Week) -> Vec<u8> {
    let pct = w.pct.iter().map(|m| m.iter().map(|(k, v)| (*k, *v)).collect()).collect();
    postcard::to_stdvec(&Kept { format: FORMAT, pct, outcome: w.outcome.clone() }).expect("a table serializes")
}

/// From [`encode`]'s bytes; anything else (another format, a factor this build does not know,
/// rows that do not pair up) is an error.
pub fn decode(bytes: &[u8]) -> Result<Week, String> {
    let k: Kept<'_> = postcard::from_bytes(bytes).map_err(|e| format!("not a kept weekly table: {e}"))?;
    if k.format != FORMAT {
        return Err(format!("a kept weekly table of format {} (this build reads {FORMAT})", k.format));
    }
    if k.pct.len() != k.outcome.len() {
        return Err(format!("{} rows of percentiles for {} outcomes", k.pct.len(), k.outcome.len()));
    }
    let factor = |name: &str| FACTORS.iter().copied().find(|f| *f == name).ok_or(format!("unknown factor {name}"));
    let pct = k
        .pct
        .into_iter()
        .map(|row| row.into_iter().map(|(f, v)| Ok((factor(f)?, v))).collect::<Result<_, String>>())
        .collect::<Result<_, String>>()?;
    Ok(Week { pct, outcome: k.outcome })
}

/// What names a week's table in one run: everything but the week's own date and bars.
pub struct Keyer {
    chain: SessionChain,
    base: Digest,
    horizon: usize,
}

impl Keyer {
    /// For tables built from `store` with `data` over `horizon` sessions; `None` when this build
    /// cannot be identified.
    pub fn new(store: &PriceStore, data: &DataConfig, horizon: usize) -> Option<Self> {
        let mut h = crate::checkpoint::build_hasher(FORMAT)?;
        h.update(serde_json::to_vec(data).expect("the data configuration serializes"));
        h.update((horizon as u64).to_le_bytes());
        h.update(sessions::side_digest(store));
        Some(Self { chain: SessionChain::of(store), base: h.finalize().into(), horizon })
    }

    /// The digest of research date `d`'s table, which reads bars up to `horizon` sessions after
    /// the session before `d`.
    pub fn key(&self, store: &PriceStore, d: TradingDay) -> Option<Digest> {
        let as_of = d.prev();
        let last = as_of.offset(self.horizon as i64)?;
        let mut h = Sha256::new();
        h.update(self.base);
        h.update(d.to_string().as_bytes());
        h.update(self.chain.through(last));
        let after = as_of.date().succ_opt()?;
        for s in store.raw.iter() {
            h.update(s.ticker.as_str().as_bytes());
            let next = store.earnings.next_on_or_after(s.ticker.as_str(), after);
            h.update(next.map(|n| n.to_string()).unwrap_or_default().as_bytes());
            h.update([0]);
        }
        Some(h.finalize().into())
    }

    /// [`Keyer::key`] of each of `dates` (side by side), computed once for a run's reads, writes
    /// and pruning.
    pub fn keys(&self, store: &PriceStore, dates: &[TradingDay]) -> HashMap<TradingDay, Digest> {
        dates.par_iter().filter_map(|&d| self.key(store, d).map(|k| (d, k))).collect()
    }
}

/// The kept tables under `keys` ([`Keyer::keys`]) found on `bus` (a missing, unreadable or
/// foreign one is left out and built again). The reads run concurrently, then the tables are
/// decoded side by side.
pub async fn load(bus: &Bus, keys: &HashMap<TradingDay, Digest>) -> HashMap<TradingDay, Week> {
    let reads = keys.iter().map(|(&d, &k)| async move {
        let key = keys::weights_week(&k);
        match bus.get(&key).await {
            Ok(Some(o)) => Some((d, key, o.bytes)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(%key, error = %e, "kept weekly table not read: the week is built again");
                None
            }
        }
    });
    let read: Vec<_> = join_all(reads).await.into_iter().flatten().collect();
    read.into_par_iter()
        .filter_map(|(d, key, bytes)| {
            decode(&bytes).map(|w| (d, w)).inspect_err(|e| tracing::warn!(%key, "{e}: the week is built again")).ok()
        })
        .collect()
}

/// Removes the kept tables that are not under this run's `keys` (built from other inputs, which no
/// later run reads). A failure is logged: it costs only space.
pub async fn prune(bus: &Bus, keys: &HashMap<TradingDay, Digest>) {
    let keep = keys.values().map(hex::encode).collect();
    crate::kept_days::prune_under(bus, "backtest/cache/weeks/", ".bin", keep).await;
}

/// Keeps the tables built in this run; a failure to write one costs only time next week, so it
/// is logged, not fatal.
pub async fn save(bus: &Bus, keys: &HashMap<TradingDay, Digest>, built: &[(TradingDay, &Week)]) {
    let writes = built.iter().filter_map(|(d, w)| keys.get(d).map(|k| (*k, *w))).map(|(k, w)| async move {
        let key = keys::weights_week(&k);
        // The key names the table's inputs and tables are deterministic: overwriting repairs one.
        if let Err(e) = bus.put(&key, encode(w), PutMode::Overwrite).await {
            tracing::warn!(%key, error = %e, "the weekly table was not kept: next week builds it again");
        }
    });
    join_all(writes).await;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_table_reads_back_to_the_bit_and_foreign_bytes_are_refused() {
        let w = Week {
            pct: vec![BTreeMap::from([(FACTORS[0], 0.25), (FACTORS[1], f64::NAN)]), BTreeMap::new()],
            outcome: vec![-0.0125, f64::NAN],
        };
        let back = decode(&encode(&w)).unwrap();
        assert_eq!(back.pct.len(), 2);
        assert_eq!(back.pct[0][FACTORS[0]].to_bits(), 0.25f64.to_bits());
        assert!(back.pct[0][FACTORS[1]].is_nan() && back.outcome[1].is_nan());
        assert_eq!(back.outcome[0].to_bits(), (-0.0125f64).to_bits());
        assert!(decode(b"junk").is_err());
        let other = postcard::to_stdvec(&Kept { format: FORMAT + 1, pct: vec![], outcome: vec![] }).unwrap();
        assert!(decode(&other).unwrap_err().contains("format"));
        let unknown = Kept { format: FORMAT, pct: vec![vec![("no_such_factor", 0.5)]], outcome: vec![0.0] };
        assert!(decode(&postcard::to_stdvec(&unknown).unwrap()).unwrap_err().contains("unknown factor"));
        let ragged = Kept { format: FORMAT, pct: vec![], outcome: vec![0.0] };
        assert!(decode(&postcard::to_stdvec(&ragged).unwrap()).is_err());
    }
}
