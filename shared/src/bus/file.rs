//! The `file:///dir` backend: one file per key under a root directory.
//!
//! Writes go to a temporary file in the same directory, which is synced, then renamed into place,
//! and then the directory is synced: a reader never sees half an object, and once a put returns
//! the object survives a power cut (the file's data by the first sync, its name by the second;
//! directories a put creates are synced into their parents the same way). "Create only if absent"
//! uses a hard link, which the kernel refuses atomically when the target exists; "replace only if
//! unchanged" holds an exclusive lock on a sidecar lock file while it compares and renames. The
//! ETag is a content hash.
//!
//! A writer killed mid-put leaves either the old object or the new one, never a mix, plus at
//! worst a hidden temporary file (`.{name}.tmp-*`) that listings and reads ignore.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::etags::{self, Stamp};
use super::{BusError, Key, Object, ObjectMeta, PutMode};
use crate::crashpoint::{self, points};

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Objects stored as files under `root`.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> BusError {
    BusError::Io { op, path: path.display().to_string(), source }
}

/// The object's version tag: its MD5 in quotes, as S3 reports it for a single-part upload, so a
/// document's lineage reads the same on a directory bus and on S3.
pub(super) fn etag_of(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    format!("\"{}\"", hex::encode(Md5::digest(bytes)))
}

/// The object in the file at `path` (`None` when there is none). Its ETag is computed unless
/// this process put the file and it is still the file it put ([`etags`]).
fn read_object(path: &Path) -> Result<Option<Object>, BusError> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path, e)),
    };
    let before = f.metadata().ok().and_then(|m| Stamp::of(&m));
    let mut bytes = Vec::with_capacity(before.map(|s| s.size() as usize).unwrap_or(0));
    f.read_to_end(&mut bytes).map_err(|e| io("read", path, e))?;
    let after = f.metadata().ok().and_then(|m| Stamp::of(&m));
    let stamp = before.filter(|b| Some(*b) == after && b.size() == bytes.len() as u64);
    let etag = stamp.and_then(|s| etags::remembered(path, &s)).unwrap_or_else(|| etag_of(&bytes));
    Ok(Some(Object { bytes: Bytes::from(bytes), etag: Some(etag) }))
}

impl FileStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.root.join(key.as_str())
    }

    pub(super) async fn get(&self, key: &Key) -> Result<Option<Object>, BusError> {
        let path = self.path(key);
        tokio::task::spawn_blocking(move || read_object(&path)).await.map_err(|e| BusError::Other {
            op: "get",
            key: key.to_string(),
            detail: e.to_string(),
        })?
    }

    pub(super) async fn head(&self, key: &Key) -> Result<Option<ObjectMeta>, BusError> {
        let path = self.path(key);
        // A file whose ETag this process remembers is not read again.
        if let Ok(m) = tokio::fs::metadata(&path).await
            && let Some(etag) = Stamp::of(&m).and_then(|s| etags::remembered(&path, &s))
        {
            return Ok(Some(ObjectMeta { key: key.clone(), size: m.len(), etag: Some(etag) }));
        }
        Ok(self.get(key).await?.map(|o| ObjectMeta { key: key.clone(), size: o.bytes.len() as u64, etag: o.etag }))
    }

    pub(super) async fn put(&self, key: &Key, bytes: Bytes, mode: &PutMode) -> Result<String, BusError> {
        let this = self.clone();
        let key = key.clone();
        let mode = mode.clone();
        tokio::task::spawn_blocking(move || this.put_blocking(&key, &bytes, &mode))
            .await
            .map_err(|e| BusError::Other { op: "put", key: String::new(), detail: e.to_string() })?
    }

    fn put_blocking(&self, key: &Key, bytes: &[u8], mode: &PutMode) -> Result<String, BusError> {
        let path = self.path(key);
        let dir = path.parent().expect("a key always has a file name");
        create_dir_durably(dir)?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{}",
            key.file_name(),
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // The new file's identity, which the rename or link keeps (another writer's file would
        // have another inode).
        let stamp = {
            let mut f = std::fs::File::create(&tmp).map_err(|e| io("write", &tmp, e))?;
            f.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
            f.sync_all().map_err(|e| io("sync", &tmp, e))?;
            f.metadata().ok().and_then(|m| Stamp::of(&m))
        };
        crashpoint::hit(points::FILE_PUT_AFTER_TEMP);
        let etag = etag_of(bytes);
        let result = match mode {
            PutMode::Overwrite => std::fs::rename(&tmp, &path).map_err(|e| io("rename", &path, e)),
            PutMode::IfAbsent => match std::fs::hard_link(&tmp, &path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(BusError::PreconditionFailed { key: key.to_string() })
                }
                Err(e) => Err(io("link", &path, e)),
            },
            PutMode::IfMatch(expected) => {
                let lock_path = dir.join(format!(".{}.lock", key.file_name()));
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| io("lock", &lock_path, e))?;
                lock.lock().map_err(|e| io("lock", &lock_path, e))?;
                let current = match std::fs::read(&path) {
                    Ok(b) => Some(etag_of(&b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(io("read", &path, e));
                    }
                };
                let r = if current.as_deref() == Some(expected.as_str()) {
                    std::fs::rename(&tmp, &path).map_err(|e| io("rename", &path, e))
                } else {
                    Err(BusError::PreconditionFailed { key: key.to_string() })
                };
                drop(lock);
                r
            }
        };
        if result.is_ok() {
            crashpoint::hit(points::FILE_PUT_AFTER_RENAME);
        }
        // The temporary file is gone after a rename; after a link (or a refusal) remove it.
        let _ = std::fs::remove_file(&tmp);
        result?;
        sync_dir(dir)?;
        if let Some(s) = stamp {
            etags::remember(&path, s, &etag);
        }
        Ok(etag)
    }

    pub(super) async fn delete(&self, key: &Key) -> Result<(), BusError> {
        let path = self.path(key);
        etags::forget(&path);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                let dir = path.parent().expect("a key always has a file name").to_path_buf();
                tokio::task::spawn_blocking(move || sync_dir(&dir)).await.map_err(|e| BusError::Other {
                    op: "delete",
                    key: key.to_string(),
                    detail: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("delete", &path, e)),
        }
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, BusError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            // Walk only the deepest directory the prefix names, not the whole bus.
            let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let start = if dir_part.is_empty() { root.clone() } else { root.join(dir_part) };
            walk(&root, &start, &prefix, &mut out)?;
            out.sort_by(|a: &ObjectMeta, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
        .map_err(|e| BusError::Other { op: "list", key: String::new(), detail: e.to_string() })?
    }
}

/// Syncs a directory, so the names created, renamed or removed in it are on disk.
fn sync_dir(dir: &Path) -> Result<(), BusError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("sync directory", dir, e))
}

/// Creates `dir` and any missing parents, syncing each new directory's parent so the new entries
/// survive a power cut along with the objects put in them.
fn create_dir_durably(dir: &Path) -> Result<(), BusError> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.is_dir()).collect();
    std::fs::create_dir_all(dir).map_err(|e| io("create directory", dir, e))?;
    for d in missing.iter().rev() {
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => sync_dir(p)?,
            _ => sync_dir(Path::new("."))?,
        }
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ObjectMeta>) -> Result<(), BusError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io("list", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue; // temporary and lock files
        }
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| io("list", &path, e))?;
        if ft.is_dir() {
            walk(root, &path, prefix, out)?;
        } else if ft.is_file() {
            let rel = path.strip_prefix(root).expect("walk stays under root");
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            if rel.starts_with(prefix) {
                let size = entry.metadata().map_err(|e| io("list", &path, e))?.len();
                if let Ok(key) = Key::parse(&rel) {
                    out.push(ObjectMeta { key, size, etag: None });
                }
            }
        }
    }
    Ok(())
}
