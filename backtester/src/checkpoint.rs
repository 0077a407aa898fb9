//! The sweep's memory across weekly runs. Every week the backtest period grows by a week at its
//! end and, when nothing upstream was revised, its earlier days are prepared exactly as last week.
//! A grid point's simulation over those days is then already known: the state it ended in is
//! kept on the bus (`backtest/cache/sweep-{i}-of-{n}.bin`, postcard) and this week's run resumes from it,
//! simulating only the new days.
//!
//! A state is used only when the prepared days it covered have the same digest chain
//! ([`crate::prepare::Prepared::digests`]), the simulator is the same build with the same fill
//! model, cash and limits ([`Simulator::key`]), and the parameters are the same (their digest).
//! Anything else starts that point from the first day. Resumed or not, a point's result is the
//! same to the bit (tested); only the time differs.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ae_shared::bus::{Bus, Key, PutMode};
use ae_shared::contracts::params::ExecutorParams;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::sim::{SimState, Simulator};

/// Bumped when [`Checkpoint`]'s layout or encoding changes.
const FORMAT: u32 = 3;

/// Simulation states after the last day of a run, by grid point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`FORMAT`].
    pub format: u32,
    /// The simulator's [`Simulator::key`].
    pub simulator: String,
    /// Days covered.
    pub days: usize,
    /// The prepared days' digest chain after the last covered day (hex).
    pub chain: String,
    /// Each point's state, by [`params_key`].
    pub points: BTreeMap<String, SimState>,
}

/// Digest of a parameter set (its JSON).
pub fn params_key(p: &ExecutorParams) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(p).expect("parameters serialize")))
}

/// Identifies this binary: its path, size and modification time (a new build or deployment
/// changes them), or nothing when they cannot be read, in which case nothing is resumed.
pub fn build_id() -> Option<&'static str> {
    static ID: OnceLock<Option<String>> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(format!("{}|{}|{}", exe.display(), meta.len(), modified.as_nanos()))
    })
    .as_deref()
}

/// A hasher started with `format` and this build's id ([`build_id`]): the start of a key for
/// something this build computed and keeps on the bus. `None` when the build cannot be
/// identified, in which case nothing is kept or reused.
pub fn build_hasher(format: u32) -> Option<Sha256> {
    let build = build_id()?;
    let mut h = Sha256::new();
    h.update(format.to_le_bytes());
    h.update(build.as_bytes());
    Some(h)
}

impl Checkpoint {
    /// The states `points` reached at the last prepared day of `sim`.
    pub fn of(sim: &Simulator<'_>, points: impl IntoIterator<Item = (String, SimState)>) -> Self {
        let prep = sim.prepared();
        Self {
            format: FORMAT,
            simulator: sim.key().unwrap_or_default(),
            days: prep.days.len(),
            chain: prep.digests.last().map(hex::encode).unwrap_or_default(),
            points: points.into_iter().map(|(k, st)| (k, st.without_derived())).collect(),
        }
    }

    /// Whether `sim`'s prepared days begin with the days this checkpoint covered, prepared from
    /// the same inputs, and `sim` is the simulator that produced it.
    pub fn fits(&self, sim: &Simulator<'_>) -> bool {
        let prep = sim.prepared();
        self.format == FORMAT
            && self.days > 0
            && self.days <= prep.days.len()
            && sim.key().is_some_and(|k| k == self.simulator)
            && prep.digests.get(self.days - 1).is_some_and(|d| hex::encode(d) == self.chain)
    }

    /// The state of the parameters whose [`params_key`] is `key`, taken out of the checkpoint.
    pub fn take(&mut self, key: &str) -> Option<SimState> {
        self.points.remove(key)
    }

    /// Its bytes: postcard (floats as their 8 bytes, no field names), which encodes and decodes
    /// several times faster than CBOR for a state that is mostly daily series.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a checkpoint serializes")
    }

    /// From [`Checkpoint::encode`]'s bytes; anything else (an older format included) is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let c: Self = postcard::from_bytes(bytes).map_err(|e| format!("not a sweep checkpoint: {e}"))?;
        if c.format != FORMAT {
            return Err(format!("a sweep checkpoint of format {} (this build reads {FORMAT})", c.format));
        }
        Ok(c)
    }

    /// The checkpoint at `key` when there is one that fits `sim`; `None` (a cold start, noted in
    /// `notes`) when it is missing, unreadable or from other inputs.
    pub async fn load(bus: &Bus, key: &Key, sim: &Simulator<'_>, notes: &mut Vec<String>) -> Option<Self> {
        let obj = match bus.get(key).await {
            Ok(Some(o)) => o,
            Ok(None) => return None,
            Err(e) => {
                notes.push(format!("sweep cache {key} not read ({e}): every point simulated from the first day"));
                return None;
            }
        };
        match Self::decode(&obj.bytes) {
            Ok(c) if c.fits(sim) => Some(c),
            Ok(c) => {
                notes.push(format!(
                    "sweep cache {key} covers {} days prepared from other inputs or by another build: every point simulated from the first day",
                    c.days
                ));
                None
            }
            Err(e) => {
                notes.push(format!("sweep cache {key}: {e}: every point simulated from the first day"));
                None
            }
        }
    }

    /// Writes it to `key` (replacing last week's).
    pub async fn save(&self, bus: &Bus, key: &Key) -> Result<(), ae_shared::bus::BusError> {
        bus.put(key, self.encode(), PutMode::Overwrite).await.map(|_| ())
    }
}
