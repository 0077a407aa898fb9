//! Frames: a big-endian `u32` body length, then the body, in both directions.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::WireError;
use super::ids::MAX_FRAME_LEN;

/// Reads one frame body. `Ok(None)` when the peer closed the connection between frames.
///
/// # Errors
/// [`WireError::Io`] when the socket fails or closes inside a frame, [`WireError::FrameTooLong`]
/// for a length above [`MAX_FRAME_LEN`].
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, WireError> {
    let mut header = [0_u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        let read = reader.read(&mut header[filled..]).await?;
        if read == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a frame length").into());
        }
        filled += read;
    }
    let len = usize::try_from(u32::from_be_bytes(header)).map_err(|_| WireError::FrameTooLong(usize::MAX))?;
    if len > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(len));
    }
    let mut body = vec![0_u8; len];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// The frame for `body`: its length as a big-endian `u32`, then the body.
///
/// # Errors
/// [`WireError::FrameTooLong`] for a body above [`MAX_FRAME_LEN`].
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, WireError> {
    if body.len() > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(body.len()));
    }
    let len = u32::try_from(body.len()).map_err(|_| WireError::FrameTooLong(body.len()))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    Ok(frame)
}

/// Writes `body` as one frame (in a single write, so frames from one writer never interleave) and
/// flushes.
///
/// # Errors
/// [`WireError::FrameTooLong`] for a body above [`MAX_FRAME_LEN`], [`WireError::Io`] when the write
/// fails.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> Result<(), WireError> {
    let frame = encode_frame(body)?;
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}
