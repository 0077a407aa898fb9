//! Protobuf message bodies: the message id (+200) before the encoded message, and the traits that
//! tie each message type to its id.

use tokio::io::AsyncWrite;

use super::error::WireError;
use super::framing::write_frame;
use super::ids::PROTOBUF_ID_OFFSET;

/// Splits a frame body into the message id exactly as sent (protobuf ids still carry the +200)
/// and the payload.
///
/// # Errors
/// [`WireError::ShortFrame`] for a body shorter than 4 bytes.
pub fn split_message(body: &[u8]) -> Result<(i32, &[u8]), WireError> {
    let (id, payload) = body.split_first_chunk::<4>().ok_or(WireError::ShortFrame(body.len()))?;
    Ok((i32::from_be_bytes(*id), payload))
}

/// Splits a protobuf frame body into its message id (the +200 removed) and the protobuf payload.
///
/// # Errors
/// [`WireError::ShortFrame`] for a body shorter than 4 bytes, [`WireError::NotProtobuf`] for a
/// text-framed one.
pub fn split_protobuf(body: &[u8]) -> Result<(i32, &[u8]), WireError> {
    let (id, payload) = split_message(body)?;
    if id <= PROTOBUF_ID_OFFSET {
        return Err(WireError::NotProtobuf(id));
    }
    Ok((id - PROTOBUF_ID_OFFSET, payload))
}

/// A protobuf frame body: `msg_id + 200` as a big-endian `i32`, then the encoded message.
pub fn protobuf_body(msg_id: i32, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 4);
    body.extend_from_slice(&(msg_id + PROTOBUF_ID_OFFSET).to_be_bytes());
    body.extend_from_slice(payload);
    body
}

/// A message the gateway writes to the client.
pub trait ServerMessage: prost::Message + Default + Sized {
    /// Its message id (from [`out_id`](crate::wire::out_id)).
    const ID: i32;

    /// The frame body: id + 200, then the protobuf bytes.
    fn to_body(&self) -> Vec<u8> {
        protobuf_body(Self::ID, &self.encode_to_vec())
    }

    /// Decodes a frame body that must carry this message.
    ///
    /// # Errors
    /// [`WireError::UnexpectedMessage`] for another id, else as [`split_protobuf`] and
    /// [`WireError::Decode`].
    fn from_body(body: &[u8]) -> Result<Self, WireError> {
        decode_expected(Self::ID, body)
    }
}

/// A request the client sends to the gateway. Encoding is for tests and simulated clients; the
/// gateway decodes with [`Request::decode`](crate::wire::Request::decode).
pub trait ClientRequest: prost::Message + Default + Sized {
    /// Its message id (from [`in_id`](crate::wire::in_id)).
    const ID: i32;

    /// The frame body: id + 200, then the protobuf bytes.
    fn to_body(&self) -> Vec<u8> {
        protobuf_body(Self::ID, &self.encode_to_vec())
    }

    /// Decodes a frame body that must carry this request.
    ///
    /// # Errors
    /// [`WireError::UnexpectedMessage`] for another id, else as [`split_protobuf`] and
    /// [`WireError::Decode`].
    fn from_body(body: &[u8]) -> Result<Self, WireError> {
        decode_expected(Self::ID, body)
    }
}

fn decode_expected<M: prost::Message + Default>(expected: i32, body: &[u8]) -> Result<M, WireError> {
    let (actual, payload) = split_protobuf(body)?;
    if actual != expected {
        return Err(WireError::UnexpectedMessage { expected, actual });
    }
    Ok(M::decode(payload)?)
}

/// Writes `message` as one frame.
///
/// # Errors
/// [`WireError::Io`] when the write fails.
pub async fn write_message<W: AsyncWrite + Unpin, M: ServerMessage>(
    writer: &mut W,
    message: &M,
) -> Result<(), WireError> {
    write_frame(writer, &message.to_body()).await
}

macro_rules! message_ids {
    ($trait_name:ident: $($ty:ident => $id:expr),+ $(,)?) => {
        $(impl $trait_name for $ty {
            const ID: i32 = $id;
        })+
    };
}

pub(crate) use message_ids;
