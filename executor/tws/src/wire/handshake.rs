//! The connection's opening: the client's `API\0` and version range, the gateway's version and
//! connection time.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::error::WireError;
use super::framing::{read_frame, write_frame};
use super::ids::{API_PREFIX, MIN_SERVER_VERSION, SERVER_VERSION};

/// What a client announces before the session starts: the server versions it can speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The lowest server version the client accepts.
    pub min_version: i32,
    /// The highest server version the client accepts.
    pub max_version: i32,
    /// Connect options after the range (`ibapi` sends none).
    pub options: String,
}

impl ClientHello {
    /// Parses the version text, `v213..226` optionally followed by a space and connect options; a
    /// single version (`v213`) is a range of one.
    ///
    /// # Errors
    /// [`WireError::BadVersionRange`] when the text is not such a range.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let bad = || WireError::BadVersionRange(text.to_owned());
        let rest = text.strip_prefix('v').ok_or_else(bad)?;
        let (range, options) = rest.split_once(' ').unwrap_or((rest, ""));
        let (min, max) = range.split_once("..").unwrap_or((range, range));
        let min_version: i32 = min.trim().parse().map_err(|_| bad())?;
        let max_version: i32 = max.trim().parse().map_err(|_| bad())?;
        if min_version > max_version {
            return Err(bad());
        }
        Ok(Self { min_version, max_version, options: options.trim().to_owned() })
    }

    /// The server version to answer with: the highest one both sides speak.
    ///
    /// # Errors
    /// [`WireError::UnsupportedVersion`] when the client's range lies outside
    /// [`MIN_SERVER_VERSION`]..=[`SERVER_VERSION`].
    pub fn negotiate(&self) -> Result<i32, WireError> {
        let version = self.max_version.min(SERVER_VERSION);
        if version < self.min_version || version < MIN_SERVER_VERSION {
            return Err(WireError::UnsupportedVersion { min: self.min_version, max: self.max_version });
        }
        Ok(version)
    }
}

/// Reads the client's opening: `API\0`, then a frame with its version range.
///
/// # Errors
/// [`WireError::BadPrefix`] for another opening, [`WireError::BadVersionRange`] for an unreadable
/// range, [`WireError::Io`] when the socket fails or closes first.
pub async fn read_client_hello<R: AsyncRead + Unpin>(reader: &mut R) -> Result<ClientHello, WireError> {
    let mut prefix = [0_u8; 4];
    reader.read_exact(&mut prefix).await?;
    if prefix != API_PREFIX {
        return Err(WireError::BadPrefix(prefix));
    }
    let body = read_frame(reader)
        .await?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the version range"))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| WireError::BadVersionRange(String::from_utf8_lossy(&body).into_owned()))?;
    ClientHello::parse(text)
}

/// The body of the handshake reply: `"{server_version}\0{connection_time}\0"`.
pub fn handshake_reply(server_version: i32, connection_time: &str) -> Vec<u8> {
    format!("{server_version}\0{connection_time}\0").into_bytes()
}

/// Writes the handshake reply as one frame.
///
/// # Errors
/// [`WireError::Io`] when the write fails.
pub async fn write_handshake_reply<W: AsyncWrite + Unpin>(
    writer: &mut W,
    server_version: i32,
    connection_time: &str,
) -> Result<(), WireError> {
    write_frame(writer, &handshake_reply(server_version, connection_time)).await
}

/// A connection time as the client reads it: `yyyymmdd hh:mm:ss UTC`.
pub fn format_connection_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y%m%d %H:%M:%S UTC").to_string()
}
