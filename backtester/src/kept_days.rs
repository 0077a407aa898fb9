//! Prepared days kept across runs. Every week the backtest period grows by a week, and its
//! earlier days read what they read last week: each is kept on the bus under a digest of its
//! inputs (`backtest/cache/days/{digest}.bin`, postcard) and read back instead of computed again.
//!
//! A day's digest chains the day before's with:
//!
//! - the store's session chain through the day ([`SessionChain`]: every raw and benchmark bar up
//!   to and including it, so the views before it and the bar it fills against);
//! - the signals in force (the document's SHA-256 and age) and the predictions in force (the
//!   document's SHA-256), and the names of interest with the next earnings date the calendar
//!   gives each;
//! - the day's corporate actions as the simulator reads them (the split ratios, vendor
//!   announcements included, and the dividends going ex), so the nightly update revising the
//!   documents elsewhere leaves the day's key as it was;
//! - and, once for the run: the executor parameters and data configuration, the store's side
//!   digest (first day, the splits its prices show, the sector map), [`FORMAT`] and this build
//!   ([`crate::checkpoint::build_id`]; without one nothing is kept or read).
//!
//! So a kept day is the day this run would compute, to the bit (tested). Its link of the digest
//! chain over the prepared days ([`DayInput::content_digest`], a function of the day and the day
//! before, both named by its digest) is kept with it: the chain of a run that reads its days is
//! the chain a cold run computes (tested), without serializing and hashing every view of every
//! day again each week (a twentieth of a simulated demo's CPU). A day altered on the bus after it
//! was kept is read back with the link it was kept with: the bus is the system's own store, and
//! a day that is not one (another format, a torn write) is computed again.

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::config::Config;
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::store::PriceStore;
use ae_shared::store::sessions::{self, SessionChain};
use ae_shared::types::Ticker;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};

use crate::prepare::{DayInput, Digest};
use crate::shared_returns::Window;

/// Bumped when a kept day's layout or encoding changes (3: its content digest kept with it).
pub const FORMAT: u32 = 3;

/// Days read from the bus at once.
const READS_AHEAD: usize = 16;

/// Where the prepared days are kept, and whether this run adds the days it computes.
#[derive(Clone, Copy)]
pub struct Keep<'a> {
    /// The bus of the kept days (the run's own, not a replay copy).
    pub bus: &'a Bus,
    /// Write the days computed (false on a dry run).
    pub write: bool,
}

/// A kept day: the day without its returns (and before the ensemble is attached), its windows
/// against the day before, and its [`DayInput::content_digest`] as prepared.
pub type Kept = (DayInput, Vec<(Ticker, Window)>, Digest);

/// Its bytes.
pub fn encode(day: &DayInput, windows: &[(Ticker, Window)], content: &Digest) -> Vec<u8> {
    seal(unsealed(day, windows), content)
}

/// [`encode`]'s bytes up to the content digest, which a day computed by this run has only once
/// every day is prepared ([`seal`] adds it). A postcard tuple is its fields' bytes one after the
/// other, so the two make [`encode`]'s bytes (tested).
pub(crate) fn unsealed(day: &DayInput, windows: &[(Ticker, Window)]) -> Vec<u8> {
    postcard::to_stdvec(&(FORMAT, day, windows)).expect("a prepared day serializes")
}

/// [`unsealed`] bytes with the day's content digest.
pub(crate) fn seal(mut bytes: Vec<u8>, content: &Digest) -> Vec<u8> {
    bytes.extend_from_slice(&postcard::to_stdvec(content).expect("a digest serializes"));
    bytes
}

/// From [`encode`]'s bytes; anything else (another format included) is an error.
pub fn decode(bytes: &[u8]) -> Result<Kept, String> {
    let (format, day, windows, content): (u32, DayInput, Vec<(Ticker, Window)>, Digest) =
        postcard::from_bytes(bytes).map_err(|e| format!("not a kept prepared day: {e}"))?;
    if format != FORMAT {
        return Err(format!("a kept prepared day of format {format} (this build reads {FORMAT})"));
    }
    Ok((day, windows, content))
}

/// What a day read, for its digest.
pub struct DayReads<'a> {
    /// The day.
    pub date: TradingDay,
    /// The signals document's SHA-256 and age, when signals are in force.
    pub signals: Option<(&'a str, u32)>,
    /// The predictions document's SHA-256, when predictions are in force.
    pub predictions: Option<&'a str>,
    /// Names of interest.
    pub interest: &'a [Ticker],
}

/// The digests of one run's days.
pub struct Keyer {
    chain: SessionChain,
    base: Digest,
}

impl Keyer {
    /// For days prepared from `store` with `cfg` and `params`; `None` when this build cannot be
    /// identified.
    pub fn new(store: &PriceStore, cfg: &Config, params: &ExecutorParams) -> Option<Self> {
        let mut h = crate::checkpoint::build_hasher(FORMAT)?;
        h.update(serde_json::to_vec(params).expect("parameters serialize"));
        h.update(serde_json::to_vec(&cfg.data).expect("the data configuration serializes"));
        h.update(sessions::side_digest(store));
        Some(Self { chain: SessionChain::of(store), base: h.finalize().into() })
    }

    /// The digest of each day of `store`, in order.
    pub fn keys(&self, store: &PriceStore, days: &[DayReads<'_>]) -> Vec<Digest> {
        let mut prev = self.base;
        days.iter()
            .map(|d| {
                let mut h = Sha256::new();
                h.update(prev);
                h.update(d.date.to_string().as_bytes());
                h.update(self.chain.through(d.date));
                match d.signals {
                    Some((sha, age)) => {
                        h.update([1]);
                        h.update(sha.as_bytes());
                        h.update(age.to_le_bytes());
                    }
                    None => h.update([0]),
                }
                match d.predictions {
                    Some(sha) => {
                        h.update([1]);
                        h.update(sha.as_bytes());
                    }
                    None => h.update([0]),
                }
                h.update((d.interest.len() as u64).to_le_bytes());
                for t in d.interest {
                    h.update(t.as_str().as_bytes());
                    let next = store.earnings.next_on_or_after(t.as_str(), d.date.date());
                    h.update(next.map(|n| n.to_string()).unwrap_or_default().as_bytes());
                    h.update([0]);
                }
                let splits = ae_executor::session::split_ratios(store, d.date);
                let dividends = ae_executor::session::dividend_events(store, d.date);
                h.update(serde_json::to_vec(&(splits, dividends)).expect("corporate actions serialize"));
                prev = h.finalize().into();
                prev
            })
            .collect()
    }
}

/// The kept days under `digests`, in order (`None` where missing or unreadable: computed again).
pub async fn load(bus: &Bus, digests: &[Digest]) -> Vec<Option<Kept>> {
    futures::stream::iter(digests.iter().copied())
        .map(|d| async move {
            let key = keys::prepared_day(&d);
            match bus.get(&key).await {
                Ok(Some(o)) => {
                    decode(&o.bytes).map_err(|e| tracing::warn!(%key, "{e}: the day is prepared again")).ok()
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(%key, error = %e, "kept prepared day not read: it is prepared again");
                    None
                }
            }
        })
        .buffered(READS_AHEAD)
        .collect()
        .await
}

/// Removes the kept days that are not among `digests` (this run's days): they were prepared from
/// other inputs (parameters written back since, a revised bar, another build) and no later run
/// reads them. A failure is logged: it costs only space.
pub async fn prune(bus: &Bus, digests: &[Digest]) {
    prune_under(bus, "backtest/cache/days/", ".bin", digests.iter().map(hex::encode).collect()).await;
}

/// Removes the objects under `prefix` named `{name}{ext}` whose name is not in `keep`.
pub(crate) async fn prune_under(bus: &Bus, prefix: &str, ext: &str, keep: std::collections::HashSet<String>) {
    let listed = match bus.list(prefix).await {
        Ok(l) => l,
        Err(e) => return tracing::warn!(prefix, error = %e, "kept objects not listed: none removed"),
    };
    let stale = listed.into_iter().filter(|o| {
        let name = o.key.as_str().strip_prefix(prefix).and_then(|n| n.strip_suffix(ext));
        name.is_some_and(|n| !keep.contains(n))
    });
    futures::stream::iter(stale)
        .map(|o| async move {
            if let Err(e) = bus.delete(&o.key).await {
                tracing::warn!(key = %o.key, error = %e, "a stale kept object was not removed");
            }
        })
        .buffer_unordered(READS_AHEAD)
        .collect::<Vec<()>>()
        .await;
}

/// Keeps the days computed in this run; a failure to write one costs only time next week, so it
/// is logged, not fatal.
pub async fn save(bus: &Bus, days: Vec<(Digest, Vec<u8>)>) {
    futures::stream::iter(days)
        .map(|(d, bytes)| async move {
            let key = keys::prepared_day(&d);
            // The key names the day's inputs and days are deterministic: overwriting repairs one.
            if let Err(e) = bus.put(&key, bytes, PutMode::Overwrite).await {
                tracing::warn!(%key, error = %e, "the prepared day was not kept: next week prepares it again");
            }
        })
        .buffer_unordered(READS_AHEAD)
        .collect::<Vec<()>>()
        .await;
}
