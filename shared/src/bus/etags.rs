//! The directory bus's ETags of the files this process put. An ETag is the MD5 of the file's
//! bytes, as S3 reports it; the jobs of one process (the demo, the local scheduler) read what they
//! put again every day and every week, and hashing it again on every read cost more than reading
//! it. A put remembers its new file's identity (device, inode, size and modification time); a read
//! that finds the same identity before and after reading the bytes uses the remembered ETag.
//! Another writer's file has another identity: the bus replaces a file by renaming a new one into
//! place (a new inode), and a write in place moves the size or the modification time. The one
//! case not told apart is a write in place of the same size within the file system's timestamp
//! tick (a few milliseconds) of this process's put; nothing writes bus files in place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// The most files remembered; past it the memory starts again empty.
const MAX_FILES: usize = 200_000;

/// A file's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    len: u64,
    modified: SystemTime,
    dev: u64,
    ino: u64,
}

impl Stamp {
    /// The identity in `m`, when the platform reports a modification time.
    pub(super) fn of(m: &std::fs::Metadata) -> Option<Self> {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(Self { len: m.len(), modified: m.modified().ok()?, dev, ino })
    }

    /// The file's size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.len
    }
}

static SEEN: Mutex<Option<HashMap<PathBuf, (Stamp, String)>>> = Mutex::new(None);

/// The ETag remembered for `path` when the file still has identity `stamp`.
pub(super) fn remembered(path: &Path, stamp: &Stamp) -> Option<String> {
    let seen = SEEN.lock().expect("etag memory lock");
    seen.as_ref()?.get(path).filter(|(s, _)| s == stamp).map(|(_, e)| e.clone())
}

/// Forgets the file at `path` (deleted: a later file there may reuse its inode).
pub(super) fn forget(path: &Path) {
    if let Some(map) = SEEN.lock().expect("etag memory lock").as_mut() {
        map.remove(path);
    }
}

/// Remembers that the file at `path` with identity `stamp` has ETag `etag`.
pub(super) fn remember(path: &Path, stamp: Stamp, etag: &str) {
    let mut seen = SEEN.lock().expect("etag memory lock");
    let map = seen.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_FILES {
        map.clear();
    }
    map.insert(path.to_path_buf(), (stamp, etag.to_string()));
}
