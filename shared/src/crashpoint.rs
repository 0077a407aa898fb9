//! Fault injection for tests: named points at which a process can be made to die on the spot.
//!
//! Every multi-step write sequence (the price store's append, the bus's put and its `latest`
//! pointer) calls [`hit`] between its steps. In production nothing is set and a hit costs one
//! atomic load. A test proves a sequence crash-safe by running the real binary with
//!
//! - `AE_CRASH_AT=<name>[:<nth>]` — the process aborts ([`std::process::abort`], no unwinding, no
//!   destructors, no flushing: as close to `kill -9` as a process can do to itself) at the `nth`
//!   hit of the point `name` (the first when `nth` is left out), after one line on stderr naming
//!   the point;
//! - `AE_CRASH_LOG=<file>` — every hit appends its name as a line to `file`, so a test can list the
//!   points an uninterrupted run passes through and then crash at each of them in turn.
//!
//! Both variables are read once per process. This is a test seam, not a feature: nothing an
//! operator does should ever set them.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable naming the point to die at: `<name>[:<nth>]`.
pub const CRASH_AT_ENV: &str = "AE_CRASH_AT";
/// The environment variable naming a file that records every point passed, one per line.
pub const CRASH_LOG_ENV: &str = "AE_CRASH_LOG";
/// What a process that died at a crash point writes on stderr before it aborts, followed by the
/// point's name and hit number.
pub const CRASH_MARKER: &str = "alpha-engine crash point reached, aborting:";

/// The points, named `{sequence}.after_{step}`: a crash there leaves the sequence's earlier steps
/// done and the later ones not.
pub mod points {
    /// File bus put: the temporary file is written and synced, not yet renamed (or linked) into place.
    pub const FILE_PUT_AFTER_TEMP: &str = "bus.file.put.after_temp";
    /// File bus put: the object is in place, its directory not yet synced.
    pub const FILE_PUT_AFTER_RENAME: &str = "bus.file.put.after_rename";
    /// Publishing a document: the dated object is written, `latest` not yet moved.
    pub const PUBLISH_AFTER_DATED: &str = "bus.publish.after_dated";
    /// Moving a pointer (`latest`, or a report that must never go back in time): the current
    /// object is read and checked, the conditional put not yet sent.
    pub const POINTER_AFTER_READ: &str = "bus.pointer.after_read";
    /// Price store append: the day's chunk is written, not yet referenced by the manifest.
    pub const APPEND_AFTER_CHUNK: &str = "store.append.after_chunk";
    /// Price store append: the manifest (bars and splits) is committed; the reports derived from
    /// it are not yet refreshed.
    pub const APPEND_AFTER_MANIFEST: &str = "store.append.after_manifest";
    /// Price store append: `prices/quality.json` is refreshed.
    pub const APPEND_AFTER_QUALITY: &str = "store.append.after_quality";
    /// Price store append: `prices/splits.json` is refreshed (compaction may follow).
    pub const APPEND_AFTER_SPLITS: &str = "store.append.after_splits";
    /// Compaction: the merged chunk is written, not yet referenced by the manifest.
    pub const COMPACT_AFTER_CHUNK: &str = "store.compact.after_chunk";
    /// Compaction: the manifest references the merged chunk; the folded chunks still exist.
    pub const COMPACT_AFTER_MANIFEST: &str = "store.compact.after_manifest";
    /// Compaction: one folded chunk is deleted (hit once per chunk).
    pub const COMPACT_AFTER_DELETE: &str = "store.compact.after_delete";

    /// Every point of the price store's append, in order (compaction included).
    pub const STORE_APPEND: &[&str] = &[
        APPEND_AFTER_CHUNK,
        APPEND_AFTER_MANIFEST,
        APPEND_AFTER_QUALITY,
        APPEND_AFTER_SPLITS,
        COMPACT_AFTER_CHUNK,
        COMPACT_AFTER_MANIFEST,
        COMPACT_AFTER_DELETE,
    ];

    /// Sending an order: written ahead (`pending`), the broker's id not yet reserved.
    pub const OMS_AFTER_WRITE_AHEAD: &str = "oms.after_write_ahead";
    /// Sending an order: the broker's id recorded with `submitted`, the order not yet sent.
    pub const OMS_AFTER_SUBMIT_RECORD: &str = "oms.after_submit_record";
    /// Sending an order: the broker acknowledged it, the ledger not yet told.
    pub const OMS_AFTER_ACK: &str = "oms.after_ack";
    /// Booking an execution: reported by the broker, not yet booked.
    pub const OMS_FILL_RECEIVED: &str = "oms.fill_received";
    /// Booking an execution: booked in the ledger.
    pub const OMS_AFTER_FILL_BOOKED: &str = "oms.after_fill_booked";

    /// Every point of the order path, in order.
    pub const ORDER_PATH: &[&str] =
        &[OMS_AFTER_WRITE_AHEAD, OMS_AFTER_SUBMIT_RECORD, OMS_AFTER_ACK, OMS_FILL_RECEIVED, OMS_AFTER_FILL_BOOKED];
}

#[derive(Debug)]
struct Setup {
    target: Option<(String, u32)>,
    log: Option<std::path::PathBuf>,
    hits: AtomicU32,
}

static SETUP: OnceLock<Option<Setup>> = OnceLock::new();

fn setup() -> Option<&'static Setup> {
    SETUP
        .get_or_init(|| {
            let target = std::env::var(CRASH_AT_ENV).ok().filter(|v| !v.is_empty()).map(|v| parse_target(&v));
            let log = std::env::var_os(CRASH_LOG_ENV).filter(|v| !v.is_empty()).map(Into::into);
            (target.is_some() || log.is_some()).then_some(Setup { target, log, hits: AtomicU32::new(0) })
        })
        .as_ref()
}

/// `name[:nth]` → (name, nth ≥ 1). A suffix that is not a positive number is part of the name.
fn parse_target(v: &str) -> (String, u32) {
    match v.rsplit_once(':') {
        Some((name, n)) => match n.parse::<u32>() {
            Ok(n) if n >= 1 => (name.to_string(), n),
            _ => (v.to_string(), 1),
        },
        None => (v.to_string(), 1),
    }
}

/// Marks the point `name` (a constant such as `"store.append.after_manifest"`): records it when
/// `AE_CRASH_LOG` is set, and aborts the process when `AE_CRASH_AT` names it and this is the
/// chosen hit. Does nothing (one atomic load) when neither is set.
pub fn hit(name: &str) {
    let Some(s) = setup() else {
        return;
    };
    if let Some(path) = &s.log {
        // Best effort: the log is a test aid, and a test that needs it checks it is complete.
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{name}");
        }
    }
    if let Some((target, nth)) = &s.target
        && target == name
    {
        let n = s.hits.fetch_add(1, Ordering::SeqCst) + 1;
        if n == *nth {
            eprintln!("{CRASH_MARKER} {name}:{n}");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_names_a_point_and_optionally_which_hit() {
        assert_eq!(parse_target("store.append.after_manifest"), ("store.append.after_manifest".into(), 1));
        assert_eq!(parse_target("bus.file.put.after_rename:3"), ("bus.file.put.after_rename".into(), 3));
        assert_eq!(parse_target("odd:name:0"), ("odd:name:0".into(), 1));
        assert_eq!(parse_target("odd:name"), ("odd:name".into(), 1));
    }
}
