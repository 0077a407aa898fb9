//! What can go wrong talking to the bus, phrased for the operator who has to fix it.

use crate::contracts::Problems;
use crate::retry::Transient;

/// A bus failure. Every variant names the key or bucket involved and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A required object is absent.
    #[error("{key}: not found on the bus ({url})")]
    NotFound {
        /// The key.
        key: String,
        /// The bus it was looked for on.
        url: String,
    },
    /// A conditional write lost: the object exists (if-none-match) or changed (if-match).
    #[error("{key}: the object already exists or changed since it was read (conditional write refused)")]
    PreconditionFailed {
        /// The key.
        key: String,
    },
    /// A dated object exists with different content; dated objects are immutable.
    #[error(
        "{key}: already written with different inputs ({detail}); dated objects are immutable — re-run with --force to archive it and replace it"
    )]
    DatedExists {
        /// The key.
        key: String,
        /// How the existing object differs.
        detail: String,
    },
    /// Credentials were refused.
    #[error(
        "{url}: access denied ({detail}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role) and the bucket policy"
    )]
    AccessDenied {
        /// The bus.
        url: String,
        /// The server's code and message.
        detail: String,
    },
    /// The bucket does not exist.
    #[error(
        "bucket {bucket:?} does not exist at {endpoint}; create it (e.g. `aws s3 mb s3://{bucket}`) or fix the bus URL"
    )]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// Where it was looked for.
        endpoint: String,
    },
    /// Throttling, a timeout, a dropped connection or a server error: worth retrying.
    #[error("{op} {key}: transient failure: {detail}")]
    Transient {
        /// The operation.
        op: &'static str,
        /// The key.
        key: String,
        /// What happened.
        detail: String,
    },
    /// A local file-system failure.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A document failed validation on read or before write.
    #[error("{key}: invalid document:\n{problems}")]
    Invalid {
        /// The key.
        key: String,
        /// Every problem found.
        problems: Problems,
    },
    /// Bytes that could not be decoded (Parquet, CSV).
    #[error("{key}: cannot decode: {detail}")]
    Decode {
        /// The key.
        key: String,
        /// What failed.
        detail: String,
    },
    /// A bus URL or client configuration that cannot work.
    #[error("bus configuration: {0}")]
    Config(String),
    /// Anything else the server said.
    #[error("{op} {key}: {detail}")]
    Other {
        /// The operation.
        op: &'static str,
        /// The key.
        key: String,
        /// What happened.
        detail: String,
    },
}

impl Transient for BusError {
    fn is_transient(&self) -> bool {
        match self {
            BusError::Transient { .. } => true,
            BusError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}
