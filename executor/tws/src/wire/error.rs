//! What can go wrong reading, writing or decoding the wire.

use std::io;

use super::ids::{MAX_FRAME_LEN, MIN_SERVER_VERSION, SERVER_VERSION};

/// Failures of reading, writing or decoding the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed or closed mid-message.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A frame length above [`MAX_FRAME_LEN`].
    #[error("frame length {0} exceeds the maximum of {MAX_FRAME_LEN} bytes")]
    FrameTooLong(usize),
    /// The connection opened with something other than `API\0`.
    #[error("connection does not start with API\\0 (got {0:?})")]
    BadPrefix([u8; 4]),
    /// The client's version range could not be read.
    #[error("malformed client version range {0:?}")]
    BadVersionRange(String),
    /// The client's version range and ours do not meet.
    #[error("client offers versions {min}..{max}, the gateway speaks {MIN_SERVER_VERSION}..{SERVER_VERSION}")]
    UnsupportedVersion {
        /// The client's lowest version.
        min: i32,
        /// The client's highest version.
        max: i32,
    },
    /// A frame body too short to hold a message id.
    #[error("frame of {0} bytes cannot hold a message id")]
    ShortFrame(usize),
    /// A text-framed message where protobuf was expected.
    #[error("message id {0} is text-framed; only protobuf messages are supported")]
    NotProtobuf(i32),
    /// A message of another kind than the one asked for.
    #[error("expected message id {expected}, got {actual}")]
    UnexpectedMessage {
        /// The id asked for.
        expected: i32,
        /// The id that arrived.
        actual: i32,
    },
    /// The protobuf payload did not decode.
    #[error("protobuf decode failed: {0}")]
    Decode(#[from] prost::DecodeError),
}
