//! Research weeks the replay backfilled, kept across runs. A price store with history from before
//! research first ran has weeks without signals; the replay runs research on them
//! ([`crate::replay`]), every week again although a past week's signals change only when what that
//! research run read does. Each backfilled week's signals document is kept on the bus under a
//! digest of everything its run read (`backtest/cache/signals/{digest}.json`):
//!
//! - a chain over the weeks before it: each earlier week's own digest, or, for a week whose
//!   signals were on the bus, those documents' SHA-256 (research reads the earlier signals for its
//!   population and conviction);
//! - the store's session chain through the session before the week ([`SessionChain`]: every raw
//!   and benchmark bar research can read), the rest of the store ([`sessions::side_digest`]), and
//!   the whole earnings calendar;
//! - the research configuration files in force that week (the replay puts them in place), and,
//!   once for the run: the research, scoring and data configuration, [`FORMAT`] and this build
//!   ([`crate::checkpoint::build_id`]; without one nothing is kept or read).
//!
//! Research reading outside data (SEC or FRED configured) is not a function of these: then nothing
//! is kept. So a kept week is the document this run's research would write, to the byte (tested),
//! and a missing one is computed again.

use std::collections::HashSet;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::config::Config;
use ae_shared::store::PriceStore;
use ae_shared::store::sessions::{self, SessionChain};
use sha2::{Digest as _, Sha256};

use crate::prepare::Digest;

/// Bumped when what a kept week holds changes.
pub const FORMAT: u32 = 1;

/// The digests of one run's weeks.
pub struct Keyer {
    chain: SessionChain,
    prev: Digest,
}

impl Keyer {
    /// For research run on `store` with `cfg`; `None` when this build cannot be identified or
    /// research reads outside data.
    pub fn new(store: &PriceStore, cfg: &Config) -> Option<Self> {
        if cfg.providers.sec.enabled || cfg.providers.fred.enabled {
            return None;
        }
        let mut h = crate::checkpoint::build_hasher(FORMAT)?;
        for part in [serde_json::to_vec(&cfg.research), serde_json::to_vec(&cfg.scoring), serde_json::to_vec(&cfg.data)]
        {
            h.update(part.expect("the configuration serializes"));
        }
        for (t, dates) in &store.earnings.dates {
            h.update(t.as_str().as_bytes());
            for d in dates {
                h.update(d.to_string().as_bytes());
            }
            h.update([0]);
        }
        h.update(sessions::side_digest(store));
        Some(Self { chain: SessionChain::of(store), prev: h.finalize().into() })
    }

    /// Chains a signals document dated before the first week (research reads earlier signals).
    pub fn before(&mut self, bytes: &[u8]) {
        let mut h = Sha256::new();
        h.update(self.prev);
        h.update(Sha256::digest(bytes));
        self.prev = h.finalize().into();
    }

    /// The next week in order: `w`, the research configuration files in force (`config`, their
    /// bytes' digests), and the signals already on the bus that week (`None`: backfilled). Returns
    /// the week's digest, which every later week's chains.
    pub fn next(&mut self, w: TradingDay, config: &[Option<Digest>], on_bus: Option<&[Vec<u8>]>) -> Digest {
        let mut h = Sha256::new();
        h.update(self.prev);
        h.update(w.to_string().as_bytes());
        for c in config {
            match c {
                Some(d) => {
                    h.update([1]);
                    h.update(d);
                }
                None => h.update([0]),
            }
        }
        match on_bus {
            Some(docs) => {
                h.update([1]);
                for bytes in docs {
                    h.update(Sha256::digest(bytes));
                }
            }
            None => {
                h.update([0]);
                h.update(self.chain.through(w.prev()));
            }
        }
        self.prev = h.finalize().into();
        self.prev
    }
}

/// The kept signals under `digest`, if any (an unreadable object is logged and computed again).
pub async fn load(bus: &Bus, digest: &Digest) -> Option<Vec<u8>> {
    let key = keys::kept_signals(digest);
    match bus.get(&key).await {
        Ok(o) => o.map(|o| o.bytes.to_vec()),
        Err(e) => {
            tracing::warn!(%key, error = %e, "kept research week not read: research runs again");
            None
        }
    }
}

/// Keeps a backfilled week's signals; a failure costs only time next week, so it is logged.
pub async fn save(bus: &Bus, digest: &Digest, bytes: Vec<u8>) {
    let key = keys::kept_signals(digest);
    if let Err(e) = bus.put(&key, bytes, PutMode::Overwrite).await {
        tracing::warn!(%key, error = %e, "the backfilled research week was not kept: next week runs it again");
    }
}

/// Removes the kept weeks that are not among this run's `digests` (no later run reads them).
pub async fn prune(bus: &Bus, digests: &[Digest]) {
    let keep: HashSet<String> = digests.iter().map(hex::encode).collect();
    crate::kept_days::prune_under(bus, keys::prefix::KEPT_SIGNALS, ".json", keep).await;
}
