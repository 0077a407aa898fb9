//! The bus: the one bucket the four jobs share, and the only way they talk.
//!
//! A [`Bus`] is opened from a URL — `s3://bucket/prefix` (AWS, or MinIO and friends through
//! `AWS_ENDPOINT_URL`) or `file:///dir` (the embedded default) — and offers the same behaviour on
//! both: raw get/put/list, typed documents that are validated on read *and* before write, Parquet,
//! and the publishing rules of the design:
//!
//! - dated objects are immutable: written with a conditional put; re-running a job for the same
//!   date with the same inputs is a no-op that says so ([`Published::Unchanged`]); a deliberate
//!   re-run (`force`) first archives the existing object under [`keys::archived`], then replaces it;
//! - a `latest` pointer is written only after its dated object, and never moved back to an
//!   older date: it is replaced only by a conditional put on the version that was read and checked,
//!   so two writers racing cannot move it backwards ([`Bus::put_pointer`]);
//! - every call goes through one [`RetryPolicy`] (transient errors only).
//!
//! Dated history (every signals document in a range, say) is read through [`Bus::dated`].

mod dated;
mod error;
mod etags;
mod file;
pub mod keys;
mod memory;
mod overlay;
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use serde::Serialize;

pub use dated::{Dated, DatedDocument, Lookup};
pub use error::BusError;
pub use file::FileStore;
pub use keys::Key;
pub use s3::{S3Settings, S3Store};

use crate::calendar::TradingDay;
use crate::clock::Clock;
use crate::contracts::{self, Document, InputRef};
use crate::crashpoint::{self, points};
use crate::retry::RetryPolicy;

pub use crate::contracts::lineage::sha256_hex;

/// Where the bus lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusUrl {
    /// `file:///absolute/dir`
    File(PathBuf),
    /// `s3://bucket/optional/prefix`
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix without leading or trailing `/` (may be empty).
        prefix: String,
    },
}

impl FromStr for BusUrl {
    type Err = BusError;
    fn from_str(s: &str) -> Result<Self, BusError> {
        if let Some(rest) = s.strip_prefix("file://") {
            if rest.is_empty() {
                return Err(BusError::Config(format!("{s:?}: a file bus needs a directory, e.g. file:///tmp/bus")));
            }
            let path = PathBuf::from(rest);
            let path = if path.is_absolute() {
                path
            } else {
                std::env::current_dir().map_err(|e| BusError::Config(e.to_string()))?.join(path)
            };
            return Ok(BusUrl::File(path));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_bucket {
                return Err(BusError::Config(format!(
                    "{s:?}: {bucket:?} is not a valid bucket name (3-63 lower-case letters, digits, '-', '.')"
                )));
            }
            let prefix = prefix.trim_matches('/').to_string();
            if !prefix.is_empty() {
                Key::parse(&prefix).map_err(|e| BusError::Config(e.to_string()))?;
            }
            return Ok(BusUrl::S3 { bucket: bucket.to_string(), prefix });
        }
        Err(BusError::Config(format!(
            "{s:?}: a bus URL starts with file:// or s3:// (e.g. file:///tmp/bus, s3://my-bucket/alpha)"
        )))
    }
}

impl fmt::Display for BusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusUrl::File(p) => write!(f, "file://{}", p.display()),
            BusUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            BusUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// An object's bytes and version tag.
#[derive(Debug, Clone)]
pub struct Object {
    /// Content.
    pub bytes: Bytes,
    /// Backend version tag (S3 ETag; a content hash on the file backend).
    pub etag: Option<String>,
}

impl Object {
    /// Hex SHA-256 of the content.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

/// A listing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: Key,
    /// Size in bytes.
    pub size: u64,
    /// Version tag when the backend reports one in listings.
    pub etag: Option<String>,
}

/// How a put treats an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if nothing is there (`If-None-Match: *`).
    IfAbsent,
    /// Replace only if the current version tag matches (`If-Match`).
    IfMatch(String),
}

/// What publishing a dated object did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Newly written.
    Written,
    /// Already there with the same inputs (documents) or the same bytes (other objects): nothing done.
    Unchanged,
    /// Forced: the previous object was archived at `archived_to`, then replaced.
    Replaced {
        /// Where the previous object now lives.
        archived_to: Key,
    },
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Published::Written => f.write_str("written"),
            Published::Unchanged => f.write_str("unchanged (already written with the same inputs; nothing to do)"),
            Published::Replaced { archived_to } => {
                write!(f, "replaced (previous version archived at {archived_to})")
            }
        }
    }
}

/// What [`Bus::put_pointer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointerMove {
    /// Written: the object was absent, described an earlier (or the same) day, or no day at all.
    Moved,
    /// The object already held exactly these bytes.
    Unchanged,
    /// Left alone: the object already describes a later day.
    KeptLater {
        /// The day the object describes.
        current: TradingDay,
    },
}

/// How many lost races [`Bus::put_pointer`] re-reads and retries before giving up. A race is lost
/// only when another writer succeeded, so this bounds the writers racing on one pointer at once.
const POINTER_RACES: usize = 32;

/// A validated document with the reference a consumer records in its lineage.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The document, known good.
    pub doc: T,
    /// Key and content hash, for `produced_by.inputs`.
    pub input: InputRef,
}

#[derive(Debug, Clone)]
enum Backend {
    File(FileStore),
    S3(S3Store),
    Overlay(overlay::Overlay),
}

/// A handle on the bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    backend: Arc<Backend>,
    url: BusUrl,
    retry: RetryPolicy,
}

impl Bus {
    /// Opens a bus from its URL; S3 settings come from the standard AWS environment.
    pub async fn open(url: &str) -> Result<Self, BusError> {
        let parsed: BusUrl = url.parse()?;
        let backend = match &parsed {
            BusUrl::File(p) => Backend::File(FileStore::new(p.clone())),
            BusUrl::S3 { bucket, prefix } => Backend::S3(S3Store::from_env(bucket, prefix).await?),
        };
        Ok(Self { backend: Arc::new(backend), url: parsed, retry: RetryPolicy::default() })
    }

    /// A file bus rooted at `dir`.
    pub fn file(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            backend: Arc::new(Backend::File(FileStore::new(dir.clone()))),
            url: BusUrl::File(dir),
            retry: RetryPolicy::default(),
        }
    }

    /// An in-memory bus laid over `base`: everything is written to memory; a key under one of
    /// the `through` prefixes that the layer does not hold is read (and listed) from `base`, which
    /// is never written. A conditional put sees `base`'s object as a copy would, and deleting an
    /// object that is only below is refused. For a private copy of part of a bus that costs
    /// nothing to make and leaves nothing behind (the backtester's replay); its URL is `base`'s.
    /// Retries are one layer deep: the overlay retries each call with `base`'s policy and calls
    /// `base` without retrying.
    pub fn overlay(base: &Bus, through: &[&str]) -> Self {
        let through = through.iter().map(|p| p.to_string()).collect();
        let below = base.clone().with_retry(RetryPolicy::none());
        Self {
            backend: Arc::new(Backend::Overlay(overlay::Overlay { top: Default::default(), base: below, through })),
            url: base.url.clone(),
            retry: base.retry,
        }
    }

    /// An S3 bus with explicit settings.
    pub fn s3(bucket: &str, prefix: &str, settings: &S3Settings) -> Self {
        Self {
            backend: Arc::new(Backend::S3(S3Store::with_settings(bucket, prefix, settings))),
            url: BusUrl::S3 { bucket: bucket.into(), prefix: prefix.trim_matches('/').into() },
            retry: RetryPolicy::default(),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The bus URL.
    pub fn url(&self) -> &BusUrl {
        &self.url
    }

    /// Reads an object, or `None` when absent.
    pub async fn get(&self, key: &Key) -> Result<Option<Object>, BusError> {
        self.retry
            .run("get", || async {
                match &*self.backend {
                    Backend::File(s) => s.get(key).await,
                    Backend::S3(s) => s.get(key).await,
                    Backend::Overlay(s) => s.get(key).await,
                }
            })
            .await
    }

    /// Reads an object that must exist.
    pub async fn get_required(&self, key: &Key) -> Result<Object, BusError> {
        self.get(key).await?.ok_or_else(|| BusError::NotFound { key: key.to_string(), url: self.url.to_string() })
    }

    /// Size and version tag, or `None` when absent.
    pub async fn head(&self, key: &Key) -> Result<Option<ObjectMeta>, BusError> {
        self.retry
            .run("head", || async {
                match &*self.backend {
                    Backend::File(s) => s.head(key).await,
                    Backend::S3(s) => s.head(key).await,
                    Backend::Overlay(s) => s.head(key).await,
                }
            })
            .await
    }

    /// Writes an object; returns its new version tag.
    pub async fn put(&self, key: &Key, bytes: impl Into<Bytes>, mode: PutMode) -> Result<String, BusError> {
        let bytes: Bytes = bytes.into();
        self.retry
            .run("put", || async {
                match &*self.backend {
                    Backend::File(s) => s.put(key, bytes.clone(), &mode).await,
                    Backend::S3(s) => s.put(key, bytes.clone(), &mode).await,
                    Backend::Overlay(s) => s.put(key, bytes.clone(), &mode).await,
                }
            })
            .await
    }

    /// Deletes an object (absent is fine).
    pub async fn delete(&self, key: &Key) -> Result<(), BusError> {
        self.retry
            .run("delete", || async {
                match &*self.backend {
                    Backend::File(s) => s.delete(key).await,
                    Backend::S3(s) => s.delete(key).await,
                    Backend::Overlay(s) => s.delete(key).await,
                }
            })
            .await
    }

    /// Every object whose key starts with `prefix`, sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, BusError> {
        self.retry
            .run("list", || async {
                match &*self.backend {
                    Backend::File(s) => s.list(prefix).await,
                    Backend::S3(s) => s.list(prefix).await,
                    Backend::Overlay(s) => s.list(prefix).await,
                }
            })
            .await
    }

    /// Writes a dated (immutable) object.
    ///
    /// If the key is taken: identical bytes, or `same_inputs(existing)` true, is
    /// [`Published::Unchanged`]; otherwise `force` archives the old object and replaces it, and
    /// without `force` the write is refused with [`BusError::DatedExists`].
    pub async fn put_dated(
        &self,
        key: &Key,
        bytes: Bytes,
        force: bool,
        clock: &dyn Clock,
        same_inputs: impl Fn(&Object) -> Result<bool, String>,
    ) -> Result<Published, BusError> {
        match self.put(key, bytes.clone(), PutMode::IfAbsent).await {
            Ok(_) => return Ok(Published::Written),
            Err(BusError::PreconditionFailed { .. }) => {}
            Err(e) => return Err(e),
        }
        let existing = self.get_required(key).await?;
        if existing.bytes == bytes {
            return Ok(Published::Unchanged);
        }
        let detail = match same_inputs(&existing) {
            Ok(true) if !force => return Ok(Published::Unchanged),
            Ok(_) => "content differs".to_string(),
            Err(why) => why,
        };
        if !force {
            return Err(BusError::DatedExists { key: key.to_string(), detail });
        }
        let stamp = clock.now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
        let mut archived_to = keys::archived(key, &stamp);
        match self.put(&archived_to, existing.bytes.clone(), PutMode::IfAbsent).await {
            Ok(_) => {}
            Err(BusError::PreconditionFailed { .. }) => {
                // Replaced twice at the same instant (a simulated clock): keep both versions.
                archived_to = keys::archived(key, &format!("{stamp}-{}", &existing.sha256()[..8]));
                self.put(&archived_to, existing.bytes.clone(), PutMode::IfAbsent).await?;
            }
            Err(e) => return Err(e),
        }
        let etag = existing.etag.clone().unwrap_or_default();
        self.put(key, bytes, PutMode::IfMatch(etag)).await?;
        tracing::warn!(%key, %archived_to, "forced re-run: previous object archived and replaced");
        Ok(Published::Replaced { archived_to })
    }

    /// Reads and validates a document. Absent: `Ok(None)`. Invalid: [`BusError::Invalid`] with
    /// every problem located.
    pub async fn get_doc<T: Document>(&self, key: &Key) -> Result<Option<Loaded<T>>, BusError> {
        self.get_with(key, contracts::parse::<T>).await
    }

    /// Reads an object and turns it into a `T` with `parse`. Absent: `Ok(None)`. Refused by
    /// `parse`: [`BusError::Invalid`].
    async fn get_with<T>(
        &self,
        key: &Key,
        parse: impl Fn(&[u8]) -> Result<T, contracts::Problems>,
    ) -> Result<Option<Loaded<T>>, BusError> {
        let Some(obj) = self.get(key).await? else {
            return Ok(None);
        };
        let doc = parse(&obj.bytes).map_err(|problems| BusError::Invalid { key: key.to_string(), problems })?;
        Ok(Some(Loaded { doc, input: InputRef { key: key.to_string(), sha256: obj.sha256(), etag: obj.etag } }))
    }

    /// Reads and validates a document that must exist.
    pub async fn get_doc_required<T: Document>(&self, key: &Key) -> Result<Loaded<T>, BusError> {
        self.get_doc(key).await?.ok_or_else(|| BusError::NotFound { key: key.to_string(), url: self.url.to_string() })
    }

    /// Validates `doc` (a writer never writes an invalid document), writes it under the dated
    /// `key`, then — only after that succeeded — points `latest` at it unless `latest` already holds
    /// a later date.
    pub async fn publish_doc<T: Document>(
        &self,
        key: &Key,
        latest: Option<&Key>,
        doc: &T,
        force: bool,
        clock: &dyn Clock,
    ) -> Result<Published, BusError> {
        let bytes =
            contracts::to_json_checked(doc).map_err(|problems| BusError::Invalid { key: key.to_string(), problems })?;
        let lineage = doc.lineage().clone();
        let outcome = self
            .put_dated(key, bytes.clone(), force, clock, |existing| {
                let old: serde_json::Value = serde_json::from_slice(&existing.bytes).map_err(|e| e.to_string())?;
                let old_lineage: contracts::Lineage =
                    serde_json::from_value(old.get("produced_by").cloned().unwrap_or_default())
                        .map_err(|e| format!("existing lineage unreadable: {e}"))?;
                if old_lineage.same_inputs(&lineage) {
                    Ok(true)
                } else {
                    Err(format!(
                        "existing run {} used other inputs or version than run {}",
                        old_lineage.run_id, lineage.run_id
                    ))
                }
            })
            .await?;
        crashpoint::hit(points::PUBLISH_AFTER_DATED);
        if let Some(latest) = latest {
            let day_of = |b: &[u8]| {
                let v: serde_json::Value = serde_json::from_slice(b).ok()?;
                TradingDay::parse(v.get("date")?.as_str()?).ok()
            };
            if let PointerMove::KeptLater { current } = self.put_pointer(latest, bytes, doc.date(), day_of).await? {
                tracing::info!(%latest, %current, this = ?doc.date(), "latest already points at a later date; left as is");
            }
        }
        Ok(outcome)
    }

    /// Writes `bytes`, which describe day `day`, at `key` — a pointer such as `latest.json`, or a
    /// report that must never go back in time — unless the object there already describes a
    /// later day (as `day_of` reads it from the object's bytes; an object it cannot date is
    /// replaced). The write is a compare-and-swap: `If-None-Match: *` when the key was absent,
    /// `If-Match` on the version read otherwise; a writer that loses a race re-reads, re-checks
    /// the day and tries again, so concurrent writers leave the latest day in place whatever
    /// their order. Without `day` the object is replaced unless it already holds these bytes.
    pub async fn put_pointer(
        &self,
        key: &Key,
        bytes: Bytes,
        day: Option<TradingDay>,
        day_of: impl Fn(&[u8]) -> Option<TradingDay>,
    ) -> Result<PointerMove, BusError> {
        for _ in 0..POINTER_RACES {
            let mode = match self.get(key).await? {
                None => PutMode::IfAbsent,
                Some(current) => {
                    if current.bytes == bytes {
                        return Ok(PointerMove::Unchanged);
                    }
                    if let (Some(day), Some(current_day)) = (day, day_of(&current.bytes[..]))
                        && current_day > day
                    {
                        return Ok(PointerMove::KeptLater { current: current_day });
                    }
                    let etag = current.etag.ok_or_else(|| BusError::Other {
                        op: "put pointer",
                        key: key.to_string(),
                        detail: "the backend reported no version tag, so the pointer cannot be moved safely".into(),
                    })?;
                    PutMode::IfMatch(etag)
                }
            };
            crashpoint::hit(points::POINTER_AFTER_READ);
            match self.put(key, bytes.clone(), mode).await {
                Ok(_) => return Ok(PointerMove::Moved),
                Err(BusError::PreconditionFailed { .. }) => {
                    tracing::debug!(%key, "another writer moved the pointer first; re-reading");
                }
                Err(e) => return Err(e),
            }
        }
        Err(BusError::Other {
            op: "put pointer",
            key: key.to_string(),
            detail: format!("lost {POINTER_RACES} races in a row to other writers; try again"),
        })
    }

    /// Writes record batches as one Parquet object.
    pub async fn put_parquet(&self, key: &Key, batches: &[RecordBatch], mode: PutMode) -> Result<String, BusError> {
        let bytes =
            crate::parquet_io::encode(batches).map_err(|e| BusError::Decode { key: key.to_string(), detail: e })?;
        self.put(key, bytes, mode).await
    }

    /// Reads a Parquet object into record batches, or `None` when absent.
    pub async fn get_parquet(&self, key: &Key) -> Result<Option<(Vec<RecordBatch>, InputRef)>, BusError> {
        let Some(obj) = self.get(key).await? else {
            return Ok(None);
        };
        let batches = crate::parquet_io::decode(obj.bytes.clone())
            .map_err(|e| BusError::Decode { key: key.to_string(), detail: e })?;
        Ok(Some((batches, InputRef { key: key.to_string(), sha256: obj.sha256(), etag: obj.etag })))
    }

    /// Writes any serializable value as pretty JSON (for non-contract objects such as manifests).
    pub async fn put_json<T: Serialize>(&self, key: &Key, value: &T, mode: PutMode) -> Result<String, BusError> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| BusError::Decode { key: key.to_string(), detail: e.to_string() })?;
        self.put(key, bytes, mode).await
    }

    /// Reads a JSON object into any deserializable value (for non-contract objects).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, key: &Key) -> Result<Option<(T, InputRef)>, BusError> {
        let Some(obj) = self.get(key).await? else {
            return Ok(None);
        };
        let v = serde_json::from_slice(&obj.bytes)
            .map_err(|e| BusError::Decode { key: key.to_string(), detail: e.to_string() })?;
        Ok(Some((v, InputRef { key: key.to_string(), sha256: obj.sha256(), etag: obj.etag })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bus_urls() {
        assert_eq!(
            "s3://my-bucket/alpha/".parse::<BusUrl>().unwrap(),
            BusUrl::S3 { bucket: "my-bucket".into(), prefix: "alpha".into() }
        );
        assert_eq!(
            "s3://my-bucket".parse::<BusUrl>().unwrap(),
            BusUrl::S3 { bucket: "my-bucket".into(), prefix: "".into() }
        );
        assert_eq!("file:///tmp/x".parse::<BusUrl>().unwrap(), BusUrl::File("/tmp/x".into()));
        assert!("s3://Bad_Bucket".parse::<BusUrl>().is_err());
        assert!("http://x".parse::<BusUrl>().unwrap_err().to_string().contains("file:// or s3://"));
        assert!("s3://bucket/a/../b".parse::<BusUrl>().is_err());
    }
}
